"""ALFWorld's own text games (Shridhar et al. 2021) under this project's env contract.

ALFWorld is installed with the project (`make test`, or `pip install -e .[alfworld]`): the
`alfworld` package brings TextWorld's PDDL backend and its planner (Fast Downward). Its game
files are data: `data_dir`, else $ALFWORLD_DATA, else alfworld's default ~/.cache/alfworld,
laid out as ALFWorld releases them:

    <data_dir>/json_2.1.1/<split>/<task type>-*/trial_*/game.tw-pddl

with `split` one of ALFWorld's names (train, valid_train, valid_seen, valid_unseen; "seen"
and "unseen" are short aliases). The games, the object names ("apple 1") and the task text
come from ALFWorld itself (its `AlfredDemangler` wrapper); this module picks and checks the
games, speaks gymnasium's 5-tuple and fills `info`.

Every game of the pool is checked when the pool is listed, before any episode: a game file
that is not JSON, lacks a key, has PDDL or a grammar that does not parse is a one-line
EnvError naming the file (or, with bad_games="skip", left out and counted). Checking costs
about 0.5 s a game (mostly its grammar) and is done once per game and process.

Resets never run the planner. `optimal_actions()` asks it only when called: Fast Downward
plans from the current state and its first command is O. Plans are cached per state, and the
rest of a plan is kept for the state its first command leads to, so following the planner
costs one search per episode, and leaving its path one search per new state.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium

from envs.errors import EnvError
from envs.optimal import OptimalActionsUnknown, same_command
from envs.options import check_choice, check_int, check_path
from envs.text import ACTION_MAX_LENGTH, OBSERVATION_MAX_LENGTH, normalize_command, sanitize_text, text_space
from envs.textworld_env import MAX_POOL_SIZE

INSTALL_HINT = "pip install -e .[alfworld] (or make install)"
DATA_ENV = "ALFWORLD_DATA"
RELEASE = "json_2.1.1"
DATA_HINT = f"set data_dir or ${DATA_ENV} to the folder holding {RELEASE}/ (alfworld-download fetches it)"
# Our family names -> ALFWorld's task types (alfworld/agents/environment/alfred_tw_env.py).
TASK_TYPES = {
    "pick-place": "pick_and_place_simple",
    "examine-in-light": "look_at_obj_in_light",
    "clean-place": "pick_clean_then_place_in_recep",
    "heat-place": "pick_heat_then_place_in_recep",
    "cool-place": "pick_cool_then_place_in_recep",
    "pick-two-place": "pick_two_obj_and_place",
}
TASKS = (*TASK_TYPES, "all")
# ALFWorld's splits, by its own folder names; the short names are aliases kept from earlier versions.
SPLITS = ("train", "valid_train", "valid_seen", "valid_unseen")
SPLIT_ALIASES = {"seen": "valid_seen", "unseen": "valid_unseen"}
BAD_GAMES = ("error", "skip")
GAME_KEYS = ("pddl_domain", "pddl_problem", "grammar", "solvable")
_TASK_LINE = re.compile(r"Your task is to: *\S.*")


class BadGameFile(EnvError):
    """A game file that cannot be played; the message names the file and what is wrong with it."""


def _alfworld() -> Any:
    """ALFWorld's name demangler, or the EnvError saying what to install."""
    try:
        from alfworld.agents.environment.alfred_tw_env import AlfredDemangler
    except ImportError:
        raise EnvError(f"alfworld-v0 needs the alfworld package and its planner: {INSTALL_HINT}") from None
    return AlfredDemangler


def default_data_dir() -> Path:
    """$ALFWORLD_DATA, else alfworld's own default (~/.cache/alfworld), as its `alfworld-download` fills it."""
    return Path(os.environ.get(DATA_ENV) or Path.home() / ".cache" / "alfworld").expanduser()


def split_folder(data_dir: Path, split: str) -> Path:
    return data_dir / RELEASE / SPLIT_ALIASES.get(split, split)


def _grammar_problem(grammar: str) -> str | None:
    """Why TextWorld cannot parse this grammar, or None."""
    from textworld.envs.pddl.logic import _parse_and_convert

    try:
        _parse_and_convert(grammar, rule_name="pddlStart")
    except Exception as error:  # tatsu raises its own FailedParse family
        return f"its grammar does not parse ({_first_line(error)})"
    return None


def _pddl_reader() -> Any:
    """Fast Downward's PDDL reader. Its package reads sys.argv when first imported (as TextWorld's
    `pddl2sas` arranges, it is given a domain and a task), so sys.argv is set for that and restored."""
    import sys

    argv = sys.argv
    sys.argv = ["translate.py", "domain", "task"]
    try:
        from fast_downward.translate.pddl_parser import lisp_parser, parsing_functions
    finally:
        sys.argv = argv
    return lisp_parser, parsing_functions


def _pddl_problem(domain: str, problem: str) -> str | None:
    """Why Fast Downward's PDDL reader rejects the domain or the problem, or None (the reader `reset` uses)."""
    lisp_parser, parsing_functions = _pddl_reader()
    parsed = []
    for name, text in (("domain", domain), ("problem", problem)):
        try:
            parsed.append(lisp_parser.parse_nested_list(text.splitlines(keepends=True)))
        except Exception as error:  # its ParseError, or StopIteration on empty text
            return f"its PDDL {name} does not parse ({_first_line(error)})"
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints a warning per repeated fact, as TextWorld hides
            parsing_functions.parse_task(*parsed)
    except (Exception, SystemExit) as error:  # the translator exits on some malformed tasks
        return f"its PDDL domain and problem do not form a task ({_first_line(error)})"
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def read_game(path: Path) -> dict[str, Any]:
    """The game's JSON with ALFWorld's keys checked; BadGameFile says which file and what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BadGameFile(f"{path}: cannot read it ({error.strerror})") from None
    except UnicodeDecodeError:
        raise BadGameFile(f"{path}: not UTF-8 text, so not an ALFWorld game file") from None
    except json.JSONDecodeError as error:
        raise BadGameFile(f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None
    if not isinstance(data, dict):
        raise BadGameFile(f"{path}: holds a JSON {type(data).__name__}, not an ALFWorld game object")
    missing = [key for key in GAME_KEYS if key not in data]
    if missing:
        raise BadGameFile(f"{path}: a partial game, missing {', '.join(map(repr, missing))}")
    if not isinstance(data["solvable"], bool):
        raise BadGameFile(f"{path}: 'solvable' must be true or false, got {data['solvable']!r}")
    wrong = [key for key in GAME_KEYS[:3] if not isinstance(data[key], str) or not data[key].strip()]
    if wrong:
        raise BadGameFile(f"{path}: {', '.join(map(repr, wrong))} must be non-empty text")
    return data


def check_game(path: Path, data: dict[str, Any]) -> None:
    """Parse what `reset` will parse (PDDL domain and problem, the grammar): a BadGameFile now, not mid-run.

    The grammar is most of the cost (about half a second; each game has its own), so a game
    that passed is not parsed again in this process (by its content: a changed file is).
    """
    digest = hashlib.sha256("\0".join(data[key] for key in GAME_KEYS[:3]).encode()).digest()
    if digest in _PASSED:
        return
    problem = _pddl_problem(data["pddl_domain"], data["pddl_problem"]) or _grammar_problem(data["grammar"])
    if problem:
        raise BadGameFile(f"{path}: {problem}")
    _PASSED.add(digest)


_PASSED: set[bytes] = set()  # digests of the games whose check passed


def _candidates(root: Path, task: str) -> list[Path]:
    """The split's game files of `task` in sorted path order, less the trials ALFWorld's loader skips."""
    prefix = "*" if task == "all" else f"{TASK_TYPES[task]}-*"
    candidates = [
        path
        for path in sorted(root.glob(f"{prefix}/*/game.tw-pddl"))
        if "movable" not in path.parent.parent.name and "Sliced" not in path.parent.parent.name
    ]
    if not candidates:
        raise EnvError(f"no ALFWorld {task} games in {root} (expected {prefix}/trial_*/game.tw-pddl): {DATA_HINT}")
    return candidates


def solvable_game_count(data_dir: Path, split: str, task: str) -> int:
    """How many games of `task` the split offers a pool (its readable games marked solvable), without
    checking their PDDL and grammar: what a caller needs to size `n_games` before making the env."""
    count = 0
    for path in _candidates(split_folder(data_dir, split), task):
        with contextlib.suppress(BadGameFile):
            count += read_game(path)["solvable"]
    return count


def game_files(
    data_dir: Path, split: str, task: str, first_game: int, n_games: int, bad_games: str = "error"
) -> tuple[list[Path], list[str]]:
    """Games first_game..+n_games-1 of the split's solvable games of `task`, in sorted path order, each checked;
    and the one-line reasons of the games left out (empty unless bad_games="skip").

    As ALFWorld's own loader, it skips the "movable" and "Sliced" trials it does not support,
    and the games it marks unsolvable.
    """
    root = split_folder(data_dir, split)
    candidates = _candidates(root, task)
    chosen: list[Path] = []
    skipped: list[str] = []
    seen = 0
    for path in candidates:
        try:
            data = read_game(path)
            if not data["solvable"]:
                continue
            if seen >= first_game:
                check_game(path, data)
        except BadGameFile as error:
            if bad_games == "error":
                raise EnvError(f"bad ALFWorld game {error} (bad_games=\"skip\" leaves such games out)") from None
            skipped.append(str(error))
            continue
        if seen >= first_game:
            chosen.append(path)
            if len(chosen) == n_games:
                return chosen, skipped
        seen += 1
    raise EnvError(
        f"alfworld-v0: {root} has {seen} solvable {task} games"
        + (f" ({len(skipped)} bad ones left out)" if skipped else "")
        + f"; first_game + n_games must be at most {seen}"
    )


def _load_game(env: Any, path: Path) -> None:
    """Hand TextWorld the game's data (given its path, it would open the file and never close it)."""
    data = read_game(path)
    try:
        env.load(data)
    except Exception as error:  # what the checks cannot foresee still names the file, in one line
        raise BadGameFile(f"{path}: TextWorld cannot load it ({_first_line(error)})") from None


class AlfWorldEnv(gymnasium.Env[str, str]):
    """A pool of ALFWorld games played with TextWorld's PDDL backend; `reset` picks one with `np_random`."""

    metadata = {"render_modes": []}

    def __init__(self, game_paths: Sequence[Path], skipped_games: Sequence[str] = ()) -> None:
        import textworld
        from textworld.envs import PddlEnv

        demangler = _alfworld()
        self.game_paths = tuple(game_paths)
        self.skipped_games = tuple(skipped_games)  # one line each: the file and what is wrong with it
        self.observation_space = text_space(OBSERVATION_MAX_LENGTH)
        self.action_space = text_space(ACTION_MAX_LENGTH, min_length=1)
        # No "walkthrough" extra: TextWorld would run the planner at every reset.
        infos = textworld.EnvInfos(admissible_commands=True, won=True)
        # One TextWorld env reloads the chosen game: ALFWorld pools hold thousands of games.
        self._env = demangler(shuffle=False)(PddlEnv(infos))
        _load_game(self._env, self.game_paths[0])
        self._loaded = self.game_paths[0]
        self._state: Any = None
        self._task = ""
        self._moves = 0
        self._walkthroughs: dict[Path, list[str]] = {}
        self._plans: dict[tuple[Path, bytes], tuple[str, ...]] = {}  # state -> the planner's plan from it
        self.planner_calls = 0  # searches run (a cached or inherited plan costs none)

    def _load(self, path: Path) -> None:
        if path != self._loaded:
            _load_game(self._env, path)
            self._loaded = path

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if len(self.game_paths) > 1:
            self._load(self.game_paths[int(self.np_random.integers(len(self.game_paths)))])
        self._state = self._env.reset()
        self._moves = 0
        observation = sanitize_text(self._state.feedback.strip())
        match = _TASK_LINE.search(observation)  # the whole line, as the household games' objective
        self._task = match.group().strip() if match else ""
        return observation, self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._state is None:
            raise EnvError("call reset() before step()")
        command = normalize_command(action)
        plan = self._plans.get(self._state_key()) if self._plans else None
        was_won = bool(self._state["won"])
        self._state, _, _ = self._env.step(command)
        self._moves += 1
        if plan and same_command(command, plan[0]):
            # The rest of a plan is a plan from the state its first command leads to: no new search there.
            self._plans.setdefault(self._state_key(), plan[1:])
        won = bool(self._state["won"])
        reward = float(won and not was_won)
        return sanitize_text(self._state.feedback.strip()), reward, won, False, self._info()

    def walkthrough(self) -> list[str] | None:
        """The planner's plan from the current game's start (ALFWorld's "planner" expert), computed once per game.

        Before any reset it resets to the pool's first game; mid-episode it is known only if it
        was asked for at the episode's start.
        """
        if self._state is None:
            self.reset()  # no episode is running yet, so nothing is lost
        if self._loaded not in self._walkthroughs:
            if self._moves:
                raise EnvError("the walkthrough is planned from a game's start: ask for it right after reset()")
            self._walkthroughs[self._loaded] = list(self._plan())
        return list(self._walkthroughs[self._loaded]) or None

    def optimal_actions(self, along_walkthrough: bool = False) -> tuple[str, ...]:
        """O here, from any state: the admissible command the planner's plan from this state starts with.

        Empty where nothing wins from here: after a win, and at a dead end, where the planner finds no
        plan. The game's rules are the PDDL domain the planner searches, so no plan means no sequence
        of commands wins (seen in valid_train: holding a teddybear that no receptacle in reach
        accepts). No action is optimal there, so the oracle prior is uniform and a skill measurement
        leaves the state out.
        """
        if self._state is None:
            raise EnvError("call reset() before asking for optimal actions")
        if self._state["won"]:
            return ()
        plan = self._plan()
        if not plan:
            return ()
        admissible = list(self._state["admissible_commands"] or [])
        matches = tuple(action for action in admissible if same_command(action, plan[0]))
        if not matches:
            raise OptimalActionsUnknown(f"{self._loaded}: the planner's next command {plan[0]!r} is not admissible here")
        return matches

    def _pddl(self) -> Any:
        return self._env.unwrapped

    def _state_key(self) -> tuple[Path, bytes]:
        """The game and a digest of its true facts (a few hundred of them: the digest keeps the cache small)."""
        facts = "\n".join(sorted(map(str, self._pddl()._pddl_state.facts)))
        return self._loaded, hashlib.blake2b(facts.encode(), digest_size=16).digest()

    def _plan(self) -> tuple[str, ...]:
        """Fast Downward's plan from the current state, searched once per state."""
        key = self._state_key()
        if key not in self._plans:
            pddl = self._pddl()
            self._plans[key] = tuple(pddl._pddl_state.replan(pddl._entity_infos))
            self.planner_calls += 1
        return self._plans[key]

    def close(self) -> None:
        self._env.close()
        self._state = None

    def _info(self) -> dict[str, Any]:
        won = bool(self._state["won"])
        return {
            "admissible_commands": list(self._state["admissible_commands"] or []),
            "task": self._task,
            "won": won,
            "lost": False,
            "score": int(won),
            "max_score": 1,
            "game": str(self._loaded),
        }


def make_alfworld_env(
    split: str = "train",
    task: str = "pick-place",
    first_game: int = 0,
    n_games: int = 1,
    data_dir: str | os.PathLike[str] | None = None,
    bad_games: str = "error",
) -> AlfWorldEnv:
    """Entry point of alfworld-v0: ALFWorld's solvable `task` games first_game..+n_games-1 of `split`.

    `task` is one of our household family names (or "all"); the paper trains on pick-place.
    `data_dir` defaults to $ALFWORLD_DATA, else ~/.cache/alfworld. bad_games="skip" leaves
    unreadable games out (counted in the env's `skipped_games` and a warning) instead of failing.
    """
    check_choice("split", split, (*SPLITS, *SPLIT_ALIASES))
    check_choice("task", task, TASKS)
    check_int("first_game", first_game, 0)
    check_int("n_games", n_games, 1, MAX_POOL_SIZE)
    check_choice("bad_games", bad_games, BAD_GAMES)
    folder = Path(check_path("data_dir", data_dir)) if data_dir is not None else default_data_dir()
    _alfworld()
    paths, skipped = game_files(folder, split, task, first_game, n_games, bad_games)
    if skipped:
        warnings.warn(f"alfworld-v0: left out {len(skipped)} bad game(s); the first: {skipped[0]}", stacklevel=2)
    return AlfWorldEnv(paths, skipped)
