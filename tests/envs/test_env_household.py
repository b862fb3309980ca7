"""Household tasks in TextWorld (every family, both splits) and the ALFWorld adapter's errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from envs import EnvError, household, make_env
from envs.household import FAMILIES, SPLITS, build_game, find_or_make_household_game, task_pairs, task_text

pytestmark = pytest.mark.slow  # plays generated games
INFO_TYPES = {"admissible_commands": list, "task": str, "won": bool, "lost": bool, "score": int, "max_score": int}


def household_id(family: str) -> str:
    return f"household-{family}-v0"


def metadata(game: Path) -> dict:
    """What the generator wrote into the game's .json: the task ("household") and the walkthrough."""
    return json.loads(game.with_suffix(".json").read_text())["metadata"]


@pytest.fixture
def make(games_dir: Path, household_games: dict[tuple[str, str], Path]):
    """make_env for a household family, on the session's cached games."""

    def _make(family: str, **kwargs):
        return make_env(household_id(family), games_dir=str(games_dir), **kwargs)

    return _make


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("family", FAMILIES)
def test_the_walkthrough_wins_every_family_in_both_splits(make, family: str, split: str) -> None:
    env = make(family, split=split)
    observation, info = env.reset(seed=0)
    assert {key: type(info[key]) for key in INFO_TYPES} == INFO_TYPES
    assert info["task"].startswith("Your task is to: ") and info["task"] in observation
    task = metadata(Path(info["game"]))["household"]
    assert (task["family"], task["split"]) == (family, split)
    assert task["object"] in info["task"] and task["place"] in info["task"]
    walkthrough = env.unwrapped.walkthrough()
    total = 0.0
    for number, command in enumerate(walkthrough, start=1):
        assert command in info["admissible_commands"], (command, info["admissible_commands"])
        observation, reward, terminated, truncated, info = env.step(command)
        total += reward
        assert terminated == (number == len(walkthrough)) and not truncated
    assert info["won"] and not info["lost"] and total == info["score"] == info["max_score"] == 1
    env.close()


def test_task_texts_read_like_alfworld() -> None:
    assert task_text("pick-place", "apple", "fridge") == "Your task is to: put an apple in the fridge."
    assert task_text("pick-two-place", "tomato", "countertop") == "Your task is to: put two tomatoes on the countertop."
    assert task_text("examine-in-light", "book", "desklamp") == "Your task is to: examine the book under the desklamp."
    assert task_text("clean-place", "mug", "cabinet") == "Your task is to: put a clean mug in the cabinet."
    assert task_text("heat-place", "egg", "diningtable") == "Your task is to: put a hot egg on the diningtable."
    assert task_text("cool-place", "apple", "sidetable") == "Your task is to: put a cool apple on the sidetable."


@pytest.mark.parametrize("family", FAMILIES)
def test_the_unseen_split_shares_no_object_receptacle_pair_with_train(
    family: str, household_games: dict[tuple[str, str], Path]
) -> None:
    train, unseen = task_pairs(family, "train"), task_pairs(family, "unseen")
    assert train and unseen and not train & unseen
    every_train_pair = set().union(*(task_pairs(other, "train") for other in FAMILIES))
    assert not every_train_pair & unseen  # held out of every family's training tasks
    for split in SPLITS:
        task = metadata(household_games[family, split])["household"]
        assert (task["object"], task["place"]) in task_pairs(family, split)


@pytest.mark.parametrize(
    ("family", "state"), [("clean-place", "It is clean."), ("heat-place", "It is hot."), ("cool-place", "It is cold.")]
)
def test_the_appliance_changes_the_object_in_the_game_and_in_its_logic(make, family: str, state: str) -> None:
    env = make(family)
    _, info = env.reset(seed=0)
    walkthrough = env.unwrapped.walkthrough()
    use = next(index for index, command in enumerate(walkthrough) if command.startswith(FAMILIES[family].verb + " "))
    for command in walkthrough[:use]:
        *_, info = env.step(command)
    thing = metadata(Path(info["game"]))["household"]["object"]
    assert walkthrough[use] in info["admissible_commands"]
    observation, *_, info = env.step(f"examine {thing}")
    assert state not in observation
    *_, info = env.step(walkthrough[use])
    assert walkthrough[use] not in info["admissible_commands"]  # the rule needs the old state
    observation, *_ = env.step(f"examine {thing}")
    assert state in observation


def test_examining_in_the_dark_does_not_count(make) -> None:
    env = make("examine-in-light")
    env.reset(seed=0)
    walkthrough = env.unwrapped.walkthrough()
    assert walkthrough[-2].startswith("turn on ") and walkthrough[-1].startswith("examine ")
    for command in walkthrough[:-2]:
        env.step(command)
    *_, terminated, _, info = env.step(walkthrough[-1])
    assert not terminated and not info["won"]
    env.step(walkthrough[-2])
    *_, terminated, _, info = env.step(walkthrough[-1])
    assert terminated and info["won"]


def test_seeded_resets_repeat_exactly(make) -> None:
    env = make("pick-two-place")
    first = env.reset(seed=3)
    env.step(env.unwrapped.walkthrough()[0])
    assert env.reset(seed=3) == first


def test_games_are_fixed_by_family_split_and_seed(
    games_dir: Path, household_games: dict[tuple[str, str], Path]
) -> None:
    again = build_game("heat-place", "unseen", 0)
    cached_metadata = metadata(household_games["heat-place", "unseen"])
    assert (again.metadata["walkthrough"], again.metadata["household"]) == (
        cached_metadata["walkthrough"],
        cached_metadata["household"],
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(household, "_make_game", lambda *args: pytest.fail("a cached game was compiled again"))
        cached = find_or_make_household_game("heat-place", "unseen", 0, games_dir)
    assert cached.cached and cached.path == household_games["heat-place", "unseen"]
    assert build_game("heat-place", "unseen", 1).metadata["household"] != again.metadata["household"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"split": "test"}, "option split must be one of 'train', 'unseen'"),
        ({"n_games": 0}, "option n_games must be 1 to"),
        ({"game_seed": -1}, "option game_seed must be 0 to"),
        ({"games_dir": 3}, "option games_dir must be a path"),
        ({"level": 1}, "unknown option level"),
        ({"max_episode_steps": 0}, "max_episode_steps must be at least 1"),
    ],
)
def test_bad_options_fail_in_one_line(kwargs: dict, expected: str, tmp_path: Path) -> None:
    kwargs.setdefault("games_dir", str(tmp_path))
    with pytest.raises(EnvError) as caught:
        make_env("household-clean-place-v0", **kwargs)
    message = str(caught.value)
    assert expected in message and message.startswith("household-clean-place-v0") and "\n" not in message
    assert not any(tmp_path.iterdir())


def test_default_step_limit_is_alfworlds(make) -> None:
    assert make("pick-place").spec.max_episode_steps == 50


def test_alfworld_without_the_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("alfworld", "alfworld.info", "alfworld.agents.environment.alfred_tw_env"):
        monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ImportError
    with pytest.raises(EnvError) as caught:
        make_env("alfworld-v0")
    message = str(caught.value)
    assert "pip install -e .[alfworld]" in message and "\n" not in message
    with pytest.raises(EnvError, match="option task must be one of 'pick-place'"):
        make_env("alfworld-v0", task="pick_and_place_simple")
