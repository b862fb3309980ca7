"""Real ALFWorld games (tests/fixtures/alfworld, one per task type): play, splits, bad files, the planner on demand."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from envs import EnvError, make_env
from envs.alfworld_env import DATA_ENV, TASK_TYPES, solvable_game_count
from envs.optimal import optimal_actions

pytestmark = pytest.mark.slow  # each game load runs TextWorld's PDDL translator (about a second)
FIXTURES = Path(__file__).parents[1] / "fixtures" / "alfworld"
SPLIT = "valid_train"
PICK_PLACE = next((FIXTURES / "json_2.1.1" / SPLIT).glob("pick_and_place_simple-*/*/game.tw-pddl"))


def make(task: str = "pick-place", **kwargs):
    return make_env("alfworld-v0", task=task, split=SPLIT, data_dir=str(FIXTURES), **kwargs)


def forbid_planning(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, any search by Fast Downward fails the test."""
    from textworld.envs.pddl.logic import PddlState

    def replan(self, infos):
        raise AssertionError("the planner ran")

    monkeypatch.setattr(PddlState, "replan", replan)


@pytest.mark.parametrize("task", TASK_TYPES)
def test_every_task_type_is_won_by_following_the_optimal_actions(task: str) -> None:
    env = make(task)
    observation, info = env.reset(seed=0)
    assert info["task"].startswith("Your task is to: ") and info["task"] in observation
    assert TASK_TYPES[task] in info["game"]
    base = env.unwrapped
    assert base.planner_calls == 0  # a reset plans nothing
    steps = 0
    while not info["won"]:
        optimal = optimal_actions(env)
        assert len(optimal) == 1 and optimal[0] in info["admissible_commands"]
        observation, reward, terminated, truncated, info = env.step(optimal[0])
        steps += 1
        assert steps < 50
    assert terminated and reward == 1.0 and info["score"] == info["max_score"] == 1
    assert optimal_actions(env) == ()
    assert base.planner_calls == 1  # the plan's rest is reused at every state along it
    env.close()


def test_a_reset_and_steps_never_run_the_planner(monkeypatch: pytest.MonkeyPatch) -> None:
    env = make()
    forbid_planning(monkeypatch)
    observation, info = env.reset(seed=0)
    for command in info["admissible_commands"][:3]:
        env.step(command)
    env.reset(seed=1)
    env.close()


def test_optimal_actions_from_any_state_are_planned_once_per_state(monkeypatch: pytest.MonkeyPatch) -> None:
    env = make()
    _, info = env.reset(seed=0)
    walkthrough = env.unwrapped.walkthrough()
    # Leave the plan at once: the first admissible command that is not its first step.
    detour = next(command for command in info["admissible_commands"] if command != walkthrough[0])
    _, _, _, _, info = env.step(detour)
    calls = env.unwrapped.planner_calls
    optimal = optimal_actions(env)
    assert env.unwrapped.planner_calls == calls + 1 and optimal[0] in info["admissible_commands"]
    forbid_planning(monkeypatch)
    assert optimal_actions(env) == optimal  # this state's plan is cached
    while not info["won"]:
        _, _, _, _, info = env.step(optimal_actions(env)[0])  # and its rest serves every later state
    assert info["won"]
    env.close()


def test_the_walkthrough_is_planned_from_the_start_only() -> None:
    env = make()
    _, info = env.reset(seed=0)
    env.step(info["admissible_commands"][0])
    with pytest.raises(EnvError, match="right after reset"):
        env.unwrapped.walkthrough()
    env.close()


@pytest.mark.parametrize("split", ["valid_seen", "seen"])
def test_alfworlds_split_names_and_their_aliases_pick_the_folder(tmp_path: Path, split: str) -> None:
    target = tmp_path / "json_2.1.1" / "valid_seen" / PICK_PLACE.parent.parent.name / PICK_PLACE.parent.name
    target.mkdir(parents=True)
    shutil.copy(PICK_PLACE, target / "game.tw-pddl")
    env = make_env("alfworld-v0", split=split, data_dir=str(tmp_path))
    _, info = env.reset(seed=0)
    assert info["game"] == str(target / "game.tw-pddl")
    env.close()
    with pytest.raises(EnvError, match=r"valid_unseen.*ALFWORLD_DATA"):
        make_env("alfworld-v0", split="unseen", data_dir=str(tmp_path))


def test_the_data_folder_defaults_to_alfworld_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_ENV, str(FIXTURES))
    env = make_env("alfworld-v0", split=SPLIT, task="heat-place")
    _, info = env.reset(seed=0)
    assert "pick_heat_then_place_in_recep" in info["game"] and info["game"].startswith(str(FIXTURES))
    env.close()


# ----- bad data: one line naming the file and the fault, when the pool is listed ----------------------


def _corrupt(text: str, fault: str) -> str:
    data = json.loads(text)
    if fault == "json":
        return text[: len(text) // 2]
    if fault == "pddl":
        data["pddl_problem"] = data["pddl_problem"].rstrip().removesuffix(")")
    elif fault == "grammar-key":
        del data["grammar"]
    elif fault == "solvable-key":
        del data["solvable"]
    elif fault == "grammar-text":
        data["grammar"] = data["grammar"].replace("::", "", 1)
    return json.dumps(data)


@pytest.fixture
def copied_pool(tmp_path: Path):
    """Three pick-place games (copies of the fixture), the second to be corrupted."""
    games = []
    for number in range(3):
        folder = tmp_path / "json_2.1.1" / SPLIT / f"pick_and_place_simple-Copy-{number}" / "trial_1"
        folder.mkdir(parents=True)
        shutil.copy(PICK_PLACE, folder / "game.tw-pddl")
        games.append(folder / "game.tw-pddl")
    return tmp_path, games


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("json", "not valid JSON (Unterminated string"),
        ("pddl", "its PDDL problem does not parse (ParseError: Missing ')')"),
        ("grammar-key", "a partial game, missing 'grammar'"),
        ("solvable-key", "a partial game, missing 'solvable'"),
        ("grammar-text", "its grammar does not parse"),
    ],
)
def test_a_bad_game_is_one_line_naming_the_file_before_any_episode(copied_pool, fault: str, expected: str) -> None:
    data_dir, games = copied_pool
    games[1].write_text(_corrupt(games[1].read_text(), fault))
    with pytest.raises(EnvError) as caught:
        make_env("alfworld-v0", split=SPLIT, data_dir=str(data_dir), n_games=3)
    message = str(caught.value)
    assert "\n" not in message and str(games[1]) in message and expected in message, message
    assert 'bad_games="skip"' in message


def test_bad_games_skip_leaves_them_out_and_counts_them(copied_pool) -> None:
    data_dir, games = copied_pool
    games[0].write_text("{")
    partial = json.loads(games[2].read_text())
    del partial["solvable"]
    games[2].write_text(json.dumps(partial))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = make_env("alfworld-v0", split=SPLIT, data_dir=str(data_dir), bad_games="skip")
    lines = [str(warning.message) for warning in caught if warning.category is UserWarning]
    assert len(lines) == 1 and lines[0].startswith("alfworld-v0: left out 1 bad game(s); the first: ")
    assert str(games[0]) in lines[0] and "not valid JSON" in lines[0]
    assert env.unwrapped.game_paths == (games[1],) and len(env.unwrapped.skipped_games) == 1
    env.close()
    # Listing a pool of two reads on past the good game, to the partial one, and counts both bad games.
    with pytest.raises(EnvError, match=r"has 1 solvable pick-place games \(2 bad ones left out\)"):
        make_env("alfworld-v0", split=SPLIT, data_dir=str(data_dir), bad_games="skip", n_games=2)


def test_unsolvable_games_are_left_out_as_alfworld_does(copied_pool) -> None:
    data_dir, games = copied_pool
    data = json.loads(games[0].read_text())
    games[0].write_text(json.dumps({**data, "solvable": False}))
    env = make_env("alfworld-v0", split=SPLIT, data_dir=str(data_dir), n_games=2)
    assert env.unwrapped.game_paths == tuple(games[1:])
    env.close()


def test_the_solvable_count_leaves_out_unsolvable_and_unreadable_games(copied_pool) -> None:
    data_dir, games = copied_pool
    assert solvable_game_count(data_dir, SPLIT, "pick-place") == 3
    games[0].write_text(json.dumps({**json.loads(games[0].read_text()), "solvable": False}))
    games[2].write_text("{")
    assert solvable_game_count(data_dir, SPLIT, "pick-place") == 1
    with pytest.raises(EnvError, match="no ALFWorld heat-place games"):
        solvable_game_count(data_dir, SPLIT, "heat-place")


def test_a_missing_data_folder_says_where_it_looked_and_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(EnvError) as caught:
        make_env("alfworld-v0", data_dir=str(tmp_path / "nowhere"))
    message = str(caught.value)
    assert "\n" not in message and "nowhere/json_2.1.1/train" in message and "ALFWORLD_DATA" in message


def test_a_dead_end_where_the_planner_finds_no_plan_has_no_optimal_action(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bench run died on such a state mid-training; the oracle there must be uniform, not stop the run."""
    from textworld.envs.pddl.logic import PddlState

    env = make()
    _, info = env.reset(seed=0)
    assert optimal_actions(env) != ()
    env.step(next(a for a in info["admissible_commands"] if a.startswith("go to")))  # a new state, planned afresh
    monkeypatch.setattr(PddlState, "replan", lambda self, infos: [])
    assert optimal_actions(env) == ()
    env.close()


def test_a_checked_game_is_not_parsed_again_until_it_changes(copied_pool, monkeypatch: pytest.MonkeyPatch) -> None:
    from envs import alfworld_env

    data_dir, games = copied_pool
    make_env("alfworld-v0", split=SPLIT, data_dir=str(data_dir)).close()

    def must_not_parse(grammar: str) -> str | None:
        raise AssertionError("a checked game was parsed again")

    monkeypatch.setattr(alfworld_env, "_grammar_problem", must_not_parse)
    make_env("alfworld-v0", split=SPLIT, data_dir=str(data_dir)).close()
    games[0].write_text(_corrupt(games[0].read_text(), "grammar-text"))  # changed: checked again
    with pytest.raises(AssertionError, match="parsed again"):
        make_env("alfworld-v0", split=SPLIT, data_dir=str(data_dir))


def test_a_game_textworld_cannot_load_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from textworld.envs import PddlEnv

    def broken_load(self, data):
        raise KeyError("pddl_problem")

    monkeypatch.setattr(PddlEnv, "load", broken_load)
    with pytest.raises(EnvError) as caught:
        make()
    message = str(caught.value)
    assert "\n" not in message and str(PICK_PLACE) in message and "TextWorld cannot load it (KeyError" in message


def test_the_planner_cost_benchmark_times_a_search_from_the_start_and_one_off_the_plan() -> None:
    import subprocess
    import sys

    repo = Path(__file__).parents[2]
    command = [sys.executable, "benchmarks/alfworld_planner_cost.py", "--tasks", "pick-place", "examine-in-light", "--json"]
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [row["task"] for row in report["rows"]] == ["pick-place", "examine-in-light"]
    for game in report["games"]:  # the fixture games' plans, walked by test_every_task_type_is_won_…
        assert game["plan_length"] == 4 and game["start_search_s"] > 0 and game["off_plan_search_s"] > 0
