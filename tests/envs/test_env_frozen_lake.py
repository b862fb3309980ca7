"""Text Frozen Lake: gymnasium's dynamics, told in words, with the 5-tuple contract."""

from __future__ import annotations

import pytest

from envs import EnvError, make_env
from envs.frozen_lake import TASK

WIN_4X4 = ["go south", "go south", "go east", "go south", "go east", "go east"]


def play(env, commands: list[str]):
    """Step through `commands`; the last transition."""
    result = None
    for command in commands:
        result = env.step(command)
    return result


def test_reset_describes_position_neighbours_and_goal() -> None:
    env = make_env("TextFrozenLake-v0")
    observation, info = env.reset(seed=0)
    assert "row 1, column 1 (the start) of a 4x4 frozen lake" in observation
    assert "To the north: the edge of the lake." in observation
    assert "To the south: frozen ice." in observation
    assert "The goal is 3 rows south and 3 columns east of you." in observation
    assert info == {
        "admissible_commands": ["go south", "go east"],
        "task": TASK,
        "won": False,
        "lost": False,
        "score": 0,
        "max_score": 1,
    }


def test_admissible_moves_keep_a_fixed_order() -> None:
    env = make_env("TextFrozenLake-v0")
    env.reset(seed=0)
    _, _, _, _, info = play(env, ["go south", "go south", "go east"])
    assert info["admissible_commands"] == ["go north", "go south", "go east", "go west"]


@pytest.mark.parametrize(("map_name", "length"), [("4x4", 6), ("8x8", 14)])
def test_the_walkthrough_is_a_shortest_path_that_wins(map_name: str, length: int) -> None:
    env = make_env("TextFrozenLake-v0", map_name=map_name)
    env.reset(seed=0)
    walkthrough = env.unwrapped.walkthrough()
    assert len(walkthrough) == length
    observation, reward, terminated, truncated, info = play(env, walkthrough)
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["won"] and not info["lost"] and info["score"] == info["max_score"] == 1
    assert "You reach the goal" in observation and "You are at the goal." in observation


def test_a_known_path_wins_the_4x4_lake() -> None:
    env = make_env("TextFrozenLake-v0")
    env.reset(seed=0)
    assert env.unwrapped.walkthrough() == WIN_4X4
    _, reward, terminated, _, info = play(env, WIN_4X4)
    assert reward == 1.0 and terminated and info["won"]


def test_stepping_into_a_hole_loses() -> None:
    env = make_env("TextFrozenLake-v0")
    env.reset(seed=0)
    observation, reward, terminated, truncated, info = play(env, ["go east", "go south"])
    assert (reward, terminated, truncated) == (0.0, True, False)
    assert info["lost"] and not info["won"] and info["score"] == 0
    assert "fall into a hole" in observation and "(in a hole)" in observation


def test_unknown_command_leaves_the_state_but_counts_as_a_step() -> None:
    env = make_env("TextFrozenLake-v0", max_episode_steps=3)
    first, _ = env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step("dance a jig")
    assert observation.startswith("That is not a move here. You can go south or go east.")
    assert observation.endswith(first) and (reward, terminated, truncated) == (0.0, False, False)
    observation, *_ = env.step("go north")
    assert observation.startswith("That is not a move here: to the north is the edge of the lake.")
    *_, terminated, truncated, info = env.step("")
    assert (terminated, truncated) == (False, True) and not info["won"]


@pytest.mark.parametrize("command", ["south", "s", "  GO   South ", "move south", "walk south"])
def test_people_may_write_moves_loosely(command: str) -> None:
    env = make_env("TextFrozenLake-v0")
    env.reset(seed=0)
    observation, *_ = env.step(command)
    assert observation.startswith("You go south.")


def test_truncated_at_the_step_limit_not_terminated() -> None:
    env = make_env("TextFrozenLake-v0")
    env.reset(seed=0)
    for step in range(1, 31):
        _, _, terminated, truncated, _ = env.step("go south" if step % 2 else "go north")
        assert not terminated and truncated == (step == 30)


def test_misleading_swaps_the_words_not_the_dynamics() -> None:
    honest = make_env("TextFrozenLake-v0")
    misleading = make_env("TextFrozenLake-v0", misleading=True)
    honest.reset(seed=0)
    observation, _ = misleading.reset(seed=0)
    assert "To the south: dangerous-looking ice." in observation
    assert misleading.unwrapped.walkthrough() == honest.unwrapped.walkthrough()
    observation, *_ = misleading.step("go east")
    assert "To the south: safe-looking ice." in observation
    _, _, terminated, _, info = misleading.step("go south")
    assert terminated and info["lost"]


def test_slippery_ice_is_deterministic_given_the_seed() -> None:
    env = make_env("TextFrozenLake-v0", is_slippery=True)

    def episode(seed: int) -> list[str]:
        env.reset(seed=seed)
        return [env.step("go east")[0] for _ in range(10)]

    assert episode(7) == episode(7)
    texts = "\n".join(episode(7) + episode(8))
    assert "slippery" in texts or "slip" in texts


def test_seeded_resets_repeat_exactly() -> None:
    env = make_env("TextFrozenLake-v0", is_slippery=True, map_name="8x8")
    assert env.reset(seed=3) == env.reset(seed=3)


def test_custom_map_and_an_unreachable_goal() -> None:
    env = make_env("TextFrozenLake-v0", desc=["SFH", "FHG"])
    observation, info = env.reset(seed=0)
    assert "of a 2x3 frozen lake" in observation and info["admissible_commands"] == ["go south", "go east"]
    assert env.unwrapped.walkthrough() is None
    reachable = make_env("TextFrozenLake-v0", desc=["SFF", "FHG"])
    assert reachable.unwrapped.walkthrough() == ["go east", "go east", "go south"]


def test_a_non_string_action_is_a_clear_error() -> None:
    env = make_env("TextFrozenLake-v0")
    env.reset(seed=0)
    with pytest.raises(EnvError, match="an action is a command string, got int 3"):
        env.unwrapped.step(3)
