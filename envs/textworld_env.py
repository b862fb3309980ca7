"""TextWorld games as gymnasium envs, written on TextWorld's core API.

TextWorld's own gym wrapper returns gym's old 4-tuple; this env speaks gymnasium's 5-tuple:
`terminated` when the game is won, lost or over, `truncated` only from gymnasium's TimeLimit.
`textworld` is imported lazily (it takes ~1 s) so that `import envs` stays instant.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium

from envs.errors import EnvError
from envs.games import challenge_settings, find_or_make_game
from envs.optimal import OptimalActionsUnknown, next_walkthrough_command
from envs.options import check_int, check_path
from envs.text import ACTION_MAX_LENGTH, OBSERVATION_MAX_LENGTH, normalize_command, sanitize_text, text_space
from envs.textworld_plans import WinningPlanner

MAX_POOL_SIZE = 1000

# Interpreter commands that would restart, quit or rewind the game behind the env's back
# (after "restart" + "y" TextWorld's admissible commands no longer match the room).
_META_COMMANDS = frozenset(
    {"quit", "q", "restart", "restore", "save", "undo", "script", "unscript", "transcript", "noscript"}
)
_META_REPLY = "That command is not available here; the environment's reset() starts the game over."
_Z_MACHINE_SUFFIX = re.compile(r"\.z[1-8]$")
_PROMPT_AND_STATUS = re.compile(r"\n+>[^\n]*$")
# The opening ASCII-art title: leading lines without a single letter. It costs ~580
# prompt tokens on every first step and tells neither the prior nor the Q-network anything.
_LEADING_ART = re.compile(r"\A(?:[^A-Za-z\n]*\n)+")


def _request_infos() -> Any:
    import textworld

    return textworld.EnvInfos(
        admissible_commands=True,
        objective=True,
        won=True,
        lost=True,
        score=True,
        max_score=True,
        description=True,
        inventory=True,
        policy_commands=True,
        extras=["walkthrough"],
    )


def _corrupt(path: Path, reason: str) -> EnvError:
    return EnvError(f"game file {path} is corrupt ({reason}); regenerate it with tw-make or make-game")


def check_z_machine_file(path: Path) -> None:
    """Check a story file's header, length and checksum before Jericho loads it.

    Jericho aborts the whole process ("Fatal error: Story file read error") on a truncated
    file, so a bad file must be caught here rather than by catching an exception later.
    """
    data = path.read_bytes()
    if len(data) < 64 or not 1 <= data[0] <= 8:
        raise _corrupt(path, "not a Z-machine story file")
    version = data[0]
    scale = 2 if version <= 3 else 4 if version <= 5 else 8
    declared_length = int.from_bytes(data[0x1A:0x1C], "big") * scale
    if not 64 <= declared_length <= len(data):
        raise _corrupt(path, f"header says {declared_length} bytes, file has {len(data)}")
    checksum = int.from_bytes(data[0x1C:0x1E], "big")
    if checksum and sum(data[0x40:declared_length]) % 0x10000 != checksum:
        raise _corrupt(path, "checksum mismatch")


def resolve_game_file(path: str | Path) -> Path:
    """The playable .z8 for a user's game path (a .z8, or the .json tw-make writes beside it)."""
    game_path = Path(path).expanduser()
    if game_path.suffix == ".ulx":
        raise EnvError(f"{game_path}: Glulx (.ulx) games are not supported by TextWorld 1.7; make a .z8 with tw-make")
    if game_path.suffix == ".json":
        game_path = game_path.with_suffix(".z8")
        if not game_path.is_file():
            raise EnvError(f"no game file {game_path} next to {path}: the .json alone has no game text")
    elif not _Z_MACHINE_SUFFIX.search(game_path.name):
        raise EnvError(f"{game_path}: not a TextWorld game; give a .z8 (or its .json) made by tw-make")
    if not game_path.is_file():
        raise EnvError(f"game file not found: {game_path}")
    if not game_path.with_suffix(".json").is_file():
        raise EnvError(
            f"{game_path} has no {game_path.with_suffix('.json').name} beside it;"
            " TextWorld needs the .json that tw-make writes with every game"
        )
    check_z_machine_file(game_path)
    return game_path


class TextWorldEnv(gymnasium.Env[str, str]):
    """One or a pool of TextWorld games; `reset` picks the pool's game with `np_random`.

    Each game's TextWorld environment is started on first use and kept, since starting one
    costs ~0.1-0.4 s (Jericho plus TextWorld's game metadata) and pools are reset often.
    """

    metadata = {"render_modes": []}

    def __init__(self, game_paths: Sequence[str | Path]) -> None:
        if not game_paths:
            raise EnvError("a TextWorld env needs at least one game file")
        self.game_paths = tuple(resolve_game_file(path) for path in game_paths)
        self.observation_space = text_space(OBSERVATION_MAX_LENGTH)
        self.action_space = text_space(ACTION_MAX_LENGTH, min_length=1)
        self._games: dict[Path, Any] = {}
        self._walkthroughs: dict[Path, list[str]] = {}
        self._planners: dict[Path, WinningPlanner] = {}
        self._game_path = self.game_paths[0]
        self._score = 0
        self._started = False
        self._state: Any = None  # the game state TextWorld last returned
        self._commands: list[str] = []  # this episode's commands, to follow the walkthrough

    def _game(self, path: Path) -> Any:
        if path not in self._games:
            import textworld
            from jericho import UnsupportedGameWarning

            try:
                with warnings.catch_warnings():
                    # Jericho only knows Infocom-era games; TextWorld tracks score and wins itself.
                    warnings.simplefilter("ignore", UnsupportedGameWarning)
                    self._games[path] = textworld.start(str(path), request_infos=_request_infos())
            except Exception as error:  # a bad .json surfaces as KeyError, JSONDecodeError, ...
                raise EnvError(f"cannot load game {path} with its .json: {type(error).__name__}: {error}") from None
        return self._games[path]

    def _reset_game(self, path: Path) -> Any:
        state = self._game(path).reset()
        self._walkthroughs.setdefault(path, list(state.get("extra.walkthrough") or state["policy_commands"] or []))
        return state

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if len(self.game_paths) > 1:
            self._game_path = self.game_paths[int(self.np_random.integers(len(self.game_paths)))]
        state = self._reset_game(self._game_path)
        self._score = state["score"]
        self._started = True
        self._state = state
        self._commands = []
        return self._observation(state["feedback"]), self._info(state)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise EnvError("call reset() before step()")
        command = normalize_command(action)
        game = self._game(self._game_path)
        if command.lower() in _META_COMMANDS:
            state = game.state
            return _META_REPLY, 0.0, bool(state["won"] or state["lost"]), False, self._info(state)
        state, _, done = game.step(command)
        self._state = state
        self._commands.append(command)
        reward = float(state["score"] - self._score)
        self._score = state["score"]
        terminated = bool(state["won"] or state["lost"] or done)
        return self._observation(state["feedback"]), reward, terminated, False, self._info(state)

    def walkthrough(self) -> list[str] | None:
        """The current game's walkthrough from its start (before any reset: the pool's first game).

        TextWorld's challenges store one in the game's metadata; otherwise it is the winning
        policy TextWorld computes from the initial state.
        """
        if self._game_path not in self._walkthroughs:
            self._reset_game(self._game_path)  # no episode is running yet, so nothing is lost
        return list(self._walkthroughs[self._game_path]) or None

    def optimal_actions(self, along_walkthrough: bool = False) -> tuple[str, ...]:
        """O here: the next command of TextWorld's winning policy (`policy_commands`) where the game
        has one, else every command that starts a shortest winning plan (envs/textworld_plans.py).

        A game neither can plan for knows only its walkthrough: with `along_walkthrough`, its
        next command while the episode has followed it."""
        if not self._started:
            raise EnvError("call reset() before asking for optimal actions")
        state = self._state
        if state["won"] or state["lost"]:
            return ()
        admissible = list(state["admissible_commands"] or [])
        policy = list(state["policy_commands"] or [])
        if policy:
            matches = tuple(action for action in admissible if action.lower() == policy[0].lower())
            if not matches:
                raise OptimalActionsUnknown(
                    f"{self._game_path.name}: TextWorld's winning policy goes on with {policy[0]!r},"
                    " which is not among the admissible commands"
                )
            return matches
        try:
            first = self._planner(state["game"]).first_commands(state["_game_progression"])
        except OptimalActionsUnknown as error:
            if along_walkthrough:
                return next_walkthrough_command(self.walkthrough(), self._commands, admissible, self._game_path.name)
            raise OptimalActionsUnknown(
                f"{self._game_path.name} has no winning policy (TextWorld's policy_commands is empty) and {error}"
            ) from None
        if first is None:
            raise OptimalActionsUnknown(f"{self._game_path.name}: no sequence of commands wins the game from here")
        return tuple(action for action in admissible if action in first)

    def _planner(self, game: Any) -> WinningPlanner:
        """The current game's search for shortest winning plans, kept with its memo."""
        if self._game_path not in self._planners:
            self._planners[self._game_path] = WinningPlanner(game)
        return self._planners[self._game_path]

    def close(self) -> None:
        for game in self._games.values():
            game.close()
        self._games.clear()
        self._started = False

    @staticmethod
    def _observation(text: str | None) -> str:
        # Drop the title art and the interpreter's trailing prompt and status line
        # ("> ... -= Kitchen =-0/1") that follow the intro.
        return sanitize_text(_PROMPT_AND_STATUS.sub("", _LEADING_ART.sub("", text or "").rstrip()))

    def _info(self, state: Any) -> dict[str, Any]:
        return {
            "admissible_commands": list(state["admissible_commands"] or []),
            "task": sanitize_text(state["objective"] or ""),
            "won": bool(state["won"]),
            "lost": bool(state["lost"]),
            "score": state["score"],
            "max_score": state["max_score"],
            "description": sanitize_text((state["description"] or "").strip()),
            "inventory": sanitize_text((state["inventory"] or "").strip()),
            "game": str(self._game_path),
        }


def make_challenge_env(
    challenge: str,
    game_seed: int = 0,
    n_games: int = 1,
    games_dir: str | os.PathLike[str] | None = None,
    **settings: Any,
) -> TextWorldEnv:
    """Entry point of the generated-game ids: a pool of games with seeds game_seed..+n_games-1."""
    checked = challenge_settings(challenge, **settings)
    check_int("n_games", n_games, 1, MAX_POOL_SIZE)
    if games_dir is not None:
        games_dir = check_path("games_dir", games_dir)
    paths = [
        find_or_make_game(challenge, checked, seed, games_dir).path for seed in range(game_seed, game_seed + n_games)
    ]
    return TextWorldEnv(paths)


def game_file_env(path: str | os.PathLike[str]) -> TextWorldEnv:
    """Entry point of tw-game-file-v0: a game a user already has."""
    return TextWorldEnv([check_path("path", path)])
