"""TextWorldExpress under the env contract: gold paths win, folds, pools, 5-tuple semantics, one-line errors."""

from __future__ import annotations

import gymnasium
import pytest

from agents.prior import TEMPLATES, PriorQuery, render_prompt
from envs import EnvError, env_family, make_env
from envs.textworld_express import GAME_TYPES

pytestmark = pytest.mark.slow  # starts JVMs
INFO_TYPES = {"admissible_commands": list, "task": str, "won": bool, "lost": bool, "score": float, "max_score": float}


def twx_id(game_type: str) -> str:
    return f"twx-{game_type}-v0"


@pytest.mark.parametrize("game_type", GAME_TYPES)
def test_the_gold_path_wins_every_game_type(jvm_env, game_type: str) -> None:
    env = jvm_env(twx_id(game_type))
    observation, info = env.reset(seed=0)
    assert observation and info["task"] and not info["won"] and info["score"] == 0.0
    assert {key: type(info[key]) for key in INFO_TYPES} == INFO_TYPES
    walkthrough = env.unwrapped.walkthrough()
    rewards = []
    for number, command in enumerate(walkthrough, start=1):
        assert command in info["admissible_commands"]
        observation, reward, terminated, truncated, info = env.step(command)
        assert observation in env.observation_space
        rewards.append(reward)
        assert terminated == (number == len(walkthrough)) and not truncated
    assert info["won"] and not info["lost"] and info["score"] == info["max_score"] == 1.0
    assert sum(rewards) == pytest.approx(1.0) and min(rewards) >= 0.0


def test_admissible_commands_are_the_games_valid_actions_sorted(jvm_env) -> None:
    env = jvm_env("twx-coin-collector-v0")
    _, info = env.reset(seed=0)
    commands = info["admissible_commands"]
    assert commands == sorted(commands) and "look around" in commands and "inventory" in commands
    assert any(command.startswith("move ") for command in commands)


def test_a_failed_game_is_lost_and_terminated(jvm_env) -> None:
    env = jvm_env("twx-simon-says-v0")
    observation, info = env.reset(seed=0)
    wrong = next(command for command in info["admissible_commands"] if command not in observation)
    _, reward, terminated, truncated, info = env.step(wrong)
    assert info["lost"] and not info["won"] and terminated and not truncated and reward < 0


def test_the_step_limit_truncates(jvm_env) -> None:
    env = jvm_env("twx-sorting-v0")
    assert env.spec.max_episode_steps == 100
    limited = gymnasium.wrappers.TimeLimit(env.unwrapped, max_episode_steps=2)
    limited.reset(seed=0)
    ends = [limited.step("look around")[2:4] for _ in range(2)]
    assert ends == [(False, False), (False, True)]


def test_nonsense_is_answered_in_words_and_changes_nothing(jvm_env) -> None:
    env = jvm_env("twx-coin-collector-v0")
    _, before = env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step("xyzzy\nplugh")
    assert "not sure what you mean" in observation and (reward, terminated, truncated) == (0.0, False, False)
    assert info["admissible_commands"] == before["admissible_commands"]
    with pytest.raises(EnvError, match="an action is a command string"):
        env.step(3)


def test_the_walkthrough_mid_episode_keeps_the_running_game() -> None:
    env = make_env("twx-cooking-v0", game_seed=1)
    env.reset(seed=0)
    taken = env.step("take cookbook")[4]
    assert env.unwrapped.walkthrough()  # regenerates the game with its gold path, then replays
    observation, _, _, _, info = env.step("read cookbook")
    assert "Ingredients:" in observation and info["inventory"] == taken["inventory"] and "cookbook" in info["inventory"]
    env.close()


def test_seeded_pools_and_folds() -> None:
    train = make_env("twx-arithmetic-v0", n_games=5)
    first = train.reset(seed=3)
    assert train.reset(seed=3) == first
    games = {train.reset(seed=seed)[1]["game"] for seed in range(20)}
    assert len(games) > 1 and all(game.endswith(tuple(f"train seed {n}" for n in range(5))) for game in games)
    train.close()
    dev = make_env("twx-arithmetic-v0", split="dev", game_seed=7)
    assert dev.reset(seed=0)[1]["game"].endswith("dev seed 10007")
    dev.close()


@pytest.mark.parametrize(
    ("env_id", "kwargs", "expected"),
    [
        ("twx-arithmetic-v0", {"num_locations": 3}, "unknown option num_locations"),
        ("twx-coin-collector-v0", {"num_locations": 12}, "option num_locations must be 1 to 11"),
        ("twx-commonsense-v0", {"num_items_to_put_away": 0}, "option num_items_to_put_away must be 1 to 4"),
        ("twx-cooking-v0", {"include_doors": 1}, "option include_doors must be true or false"),
        ("twx-cooking-v0", {"split": "valid"}, "option split must be one of 'train', 'dev', 'test'"),
        ("twx-sorting-v0", {"game_seed": -1}, "option game_seed must be at least 0"),
        ("twx-sorting-v0", {"game_seed": 999, "n_games": 2}, "game_seed + n_games must be at most 1000"),
    ],
)
def test_bad_options_fail_in_one_line(env_id: str, kwargs: dict, expected: str) -> None:
    with pytest.raises(EnvError) as caught:
        make_env(env_id, **kwargs)
    message = str(caught.value)
    assert expected in message and message.startswith(env_id) and "valid options:" in message and "\n" not in message


def test_the_family_has_its_own_prompt() -> None:
    family = env_family("twx-cooking-v0")
    query = PriorQuery(family=family, task="Your task is to find the coin.", observation="A room.", actions=("look",))
    prompt = render_prompt(query)
    assert prompt.startswith(TEMPLATES[family].intro + "Your task is to find the coin.\n")


def test_close_ends_the_jvm_and_leaves_no_pipe_open() -> None:
    env = make_env("twx-coin-collector-v0")
    java = env.unwrapped._twx._gateway.java_process
    env.close()
    assert java.poll() is not None and java.stdin.closed
