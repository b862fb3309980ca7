"""Session-wide fixtures shared by the suites: TextWorld games, generated once.

Games live in saves/test-games (git-ignored) rather than a tmp dir, so they survive between
test sessions: the first run generates them (~10 s on 2 cores for the challenges, ~30 s more
for the household games), later runs find them cached. Under pytest-xdist each worker has its
own session; a lock per set of games makes one worker generate the set while the other waits
for it rather than generating it too.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_GAMES_DIR = REPO / "saves" / "test-games"


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread: the tests' tiny networks run faster without thread hand-offs on 2 cores."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def games_dir() -> Path:
    """The games cache the tests share; pass it as `games_dir=str(games_dir)` to TextWorld envs."""
    TEST_GAMES_DIR.mkdir(parents=True, exist_ok=True)
    return TEST_GAMES_DIR


@contextmanager
def games_lock(games_dir: Path, name: str) -> Iterator[None]:
    """Held while one test process finds or makes the set of games `name`; another waits its turn."""
    with open(games_dir / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def tw_games(games_dir: Path) -> dict[str, Path]:
    """One game per challenge with its env id's default options and game_seed 0: challenge -> .z8 path."""
    from envs.games import CHALLENGES, challenge_settings, find_or_make_game

    with games_lock(games_dir, "challenges"):
        return {
            challenge: find_or_make_game(challenge, challenge_settings(challenge), 0, games_dir).path
            for challenge in CHALLENGES
        }


@pytest.fixture(scope="session")
def household_games(games_dir: Path) -> dict[tuple[str, str], Path]:
    """One household game per (family, split) with game_seed 0: (family, split) -> .z8 path."""
    from envs.household import FAMILIES, SPLITS, find_or_make_household_game

    with games_lock(games_dir, "household"):
        return {
            (family, split): find_or_make_household_game(family, split, 0, games_dir).path
            for family in FAMILIES
            for split in SPLITS
        }


@pytest.fixture(scope="session")
def questless_game(household_games: dict[tuple[str, str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pick-place train game with its quests cut from the .json: a game file with a walkthrough
    but nothing to plan for, as a user's hand-made game might be."""
    import json
    import shutil

    source = household_games[("pick-place", "train")]
    target = tmp_path_factory.mktemp("questless") / source.name
    shutil.copy(source, target)
    data = json.loads(source.with_suffix(".json").read_text())
    data["quests"] = []
    target.with_suffix(".json").write_text(json.dumps(data))
    return target
