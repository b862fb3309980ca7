"""ALFWorld's own text games (Shridhar et al. 2021) under this project's env contract.

ALFWorld is an optional extra: it needs the `alfworld` package (which brings TextWorld's
PDDL backend and its planner) and its game files, fetched once by `alfworld-download` into
$ALFWORLD_DATA (alfworld's default: ~/.cache/alfworld). Without them `make_env("alfworld-v0")`
fails with a one-line EnvError saying what to install. The games, the object names
("apple 1") and the task text come from ALFWorld itself (its `AlfredDemangler` wrapper);
this module only picks the games, speaks gymnasium's 5-tuple and fills `info`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium

from envs.errors import EnvError
from envs.options import check_choice, check_int, check_path
from envs.text import ACTION_MAX_LENGTH, OBSERVATION_MAX_LENGTH, normalize_command, sanitize_text, text_space
from envs.textworld_env import MAX_POOL_SIZE

INSTALL_HINT = "pip install alfworld, then run alfworld-download"
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
# ALFWorld's splits: train, eval in distribution (seen scenes), eval out of distribution.
SPLITS = {"train": "train", "seen": "valid_seen", "unseen": "valid_unseen"}
_TASK_LINE = re.compile(r"Your task is to: *\S.*")


def _alfworld() -> tuple[Any, Path]:
    """ALFWorld's name demangler and its data folder, or the EnvError saying what to install."""
    try:
        from alfworld.agents.environment.alfred_tw_env import AlfredDemangler
        from alfworld.info import ALFWORLD_DATA
    except ImportError:
        raise EnvError(f"alfworld-v0 needs the alfworld package and its game files: {INSTALL_HINT}") from None
    return AlfredDemangler, Path(ALFWORLD_DATA)


def _solvable(game_file: Path) -> bool:
    """ALFWorld marks each game file solvable or not when it generates it (its loader skips the rest)."""
    return bool(json.loads(game_file.read_text()).get("solvable", False))


def game_files(data_dir: Path, split: str, task: str, first_game: int, n_games: int) -> list[Path]:
    """Games first_game..+n_games-1 of the split's solvable games of `task`, in sorted path order.

    As ALFWorld's own loader, it skips the "movable" and "Sliced" trials it does not support.
    """
    root = data_dir / "json_2.1.1" / SPLITS[split]
    prefix = "*" if task == "all" else f"{TASK_TYPES[task]}-*"
    candidates = [
        path
        for path in sorted(root.glob(f"{prefix}/*/game.tw-pddl"))
        if "movable" not in path.parent.parent.name and "Sliced" not in path.parent.parent.name
    ]
    if not candidates:
        raise EnvError(f"no ALFWorld games in {root}: run alfworld-download (it fills $ALFWORLD_DATA)")
    chosen: list[Path] = []
    seen = 0
    for path in candidates:
        if not _solvable(path):
            continue
        if seen >= first_game:
            chosen.append(path)
            if len(chosen) == n_games:
                return chosen
        seen += 1
    raise EnvError(
        f"alfworld-v0: {split} has {seen} solvable {task} games; first_game + n_games must be at most {seen}"
    )


class AlfWorldEnv(gymnasium.Env[str, str]):
    """A pool of ALFWorld games played with TextWorld's PDDL backend; `reset` picks one with `np_random`."""

    metadata = {"render_modes": []}

    def __init__(self, game_paths: Sequence[Path]) -> None:
        import textworld

        demangler, _ = _alfworld()
        self.game_paths = tuple(game_paths)
        self.observation_space = text_space(OBSERVATION_MAX_LENGTH)
        self.action_space = text_space(ACTION_MAX_LENGTH, min_length=1)
        infos = textworld.EnvInfos(admissible_commands=True, won=True, extras=["walkthrough"])
        # One TextWorld env reloads the chosen game: ALFWorld pools hold thousands of games.
        self._env = textworld.start(str(self.game_paths[0]), request_infos=infos, wrappers=[demangler(shuffle=False)])
        self._loaded = self.game_paths[0]
        self._state: Any = None
        self._task = ""

    def _load(self, path: Path) -> None:
        if path != self._loaded:
            self._env.load(str(path))
            self._loaded = path

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if len(self.game_paths) > 1:
            self._load(self.game_paths[int(self.np_random.integers(len(self.game_paths)))])
        self._state = self._env.reset()
        observation = sanitize_text(self._state.feedback.strip())
        match = _TASK_LINE.search(observation)  # the whole line, as the household games' objective
        self._task = match.group().strip() if match else ""
        return observation, self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._state is None:
            raise EnvError("call reset() before step()")
        was_won = bool(self._state["won"])
        self._state, _, _ = self._env.step(normalize_command(action))
        won = bool(self._state["won"])
        reward = float(won and not was_won)
        return sanitize_text(self._state.feedback.strip()), reward, won, False, self._info()

    def walkthrough(self) -> list[str] | None:
        """The PDDL planner's plan from the current game's start (ALFWorld's "planner" expert)."""
        if self._state is None:
            self._state = self._env.reset()  # no episode is running yet, so nothing is lost
        return list(self._state.get("extra.walkthrough") or []) or None

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
) -> AlfWorldEnv:
    """Entry point of alfworld-v0: ALFWorld's solvable `task` games first_game..+n_games-1 of `split`.

    `task` is one of our household family names (or "all"); the paper trains on pick-place.
    """
    check_choice("split", split, SPLITS)
    check_choice("task", task, TASKS)
    check_int("first_game", first_game, 0)
    check_int("n_games", n_games, 1, MAX_POOL_SIZE)
    folder = Path(check_path("data_dir", data_dir)) if data_dir is not None else None
    _, default_folder = _alfworld()
    return AlfWorldEnv(game_files(folder or default_folder, split, task, first_game, n_games))
