"""Session-wide fixtures shared by the suites: TextWorld games, generated once.

Games live in saves/test-games (git-ignored) rather than a tmp dir, so they survive between
test sessions: the first run generates them (~10 s on 2 cores for the challenges, ~30 s more
for the household games), later runs find them cached.
"""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def tw_games(games_dir: Path) -> dict[str, Path]:
    """One game per challenge with its env id's default options and game_seed 0: challenge -> .z8 path."""
    from envs.games import CHALLENGES, challenge_settings, find_or_make_game

    return {
        challenge: find_or_make_game(challenge, challenge_settings(challenge), 0, games_dir).path
        for challenge in CHALLENGES
    }


@pytest.fixture(scope="session")
def household_games(games_dir: Path) -> dict[tuple[str, str], Path]:
    """One household game per (family, split) with game_seed 0: (family, split) -> .z8 path."""
    from envs.household import FAMILIES, SPLITS, find_or_make_household_game

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
