"""Text Overcooked: TWOSOME's salad kitchen, its rewards, words and shortest plans."""

from __future__ import annotations

import pytest

from envs import EnvError, make_env

TOMATO = "overcooked-tomato-salad-v0"
TOMATO_LETTUCE = "overcooked-tomato-lettuce-salad-v0"


def play(env, commands: list[str]) -> list[tuple[str, float, bool, bool, dict]]:
    return [env.step(command) for command in commands]


@pytest.mark.parametrize(("env_id", "plan_length", "chopped"), [(TOMATO, 6, 1), (TOMATO_LETTUCE, 10, 2)])
def test_the_walkthrough_is_a_shortest_plan_that_serves_the_salad(env_id: str, plan_length: int, chopped: int) -> None:
    env = make_env(env_id)
    _, info = env.reset(seed=0)
    walkthrough = env.unwrapped.walkthrough()
    assert len(walkthrough) == plan_length
    rewards = []
    for number, command in enumerate(walkthrough, start=1):
        assert command in info["admissible_commands"]
        _, reward, terminated, truncated, info = env.step(command)
        rewards.append(reward)
        assert terminated == (number == plan_length) and not truncated
    assert info["won"] and not info["lost"] and info["score"] == info["max_score"] == chopped + 1
    assert sorted(rewards) == sorted([0.199] * chopped + [0.999] + [-0.001] * (plan_length - chopped - 1))
    assert sum(rewards) == pytest.approx(0.2 * chopped + 1 - 0.001 * plan_length)


def test_every_macro_action_is_admissible_in_words_that_follow_the_state() -> None:
    env = make_env(TOMATO_LETTUCE)
    observation, info = env.reset(seed=0)
    assert info["task"] == (
        "Make a tomato-lettuce salad and serve it: a bowl containing only chopped tomato and chopped lettuce."
    )
    assert observation == (
        "There are two fixed cutting boards in the room. You notice a tomato, a lettuce, an onion and a bowl on"
        " different tables. Currently you don't have anything in hand."
    )
    assert info["admissible_commands"] == [
        "pick up the tomato",
        "pick up the lettuce",
        "pick up the onion",
        "take the empty bowl",
        "walk to the first cutting board",
        "walk to the second cutting board",
        "serve nothing",
        "chop nothing",
    ]
    *_, info = env.step("take the empty bowl")
    assert info["admissible_commands"][:6] == [
        "put the tomato in the bowl",
        "put the lettuce in the bowl",
        "put the onion in the bowl",
        "take the empty bowl",
        "put the bowl on the first cutting board",
        "put the bowl on the second cutting board",
    ]
    assert info["admissible_commands"][6] == "serve the dish"
    assert make_env(TOMATO).reset(seed=0)[1]["admissible_commands"] == [
        "pick up the tomato",
        "take the empty bowl",
        "walk to the cutting board",
        "serve nothing",
        "chop nothing",
    ]


def test_macro_names_are_understood_too() -> None:
    env = make_env(TOMATO_LETTUCE)
    env.reset(seed=0)
    commands = ["get tomato", "go to cutting board 1", "chop", "get lettuce", "go to cutting board 2", "Chop."]
    commands += ["get dish", "go to cutting board 1", "get lettuce", "deliver"]
    *_, (observation, reward, terminated, _, info) = play(env, commands)
    assert terminated and info["won"] and reward == 0.999
    assert observation.startswith(
        "You serve a bowl containing chopped tomato and lettuce: the tomato-lettuce salad is done!"
    )


def test_a_wrong_delivery_costs_and_sends_everything_back_unchopped() -> None:
    env = make_env(TOMATO_LETTUCE)
    env.reset(seed=0)
    results = play(env, ["pick up the tomato", "put the tomato on the first cutting board", "chop the tomato"])
    assert [reward for _, reward, *_ in results] == [-0.001, -0.001, 0.199]
    play(env, ["take the empty bowl", "put the bowl on the first cutting board"])
    observation, reward, terminated, _, info = env.step("serve the dish")
    # -0.1 for the wrong delivery and the thrown-away chopped tomato's +0.2 taken back, so the text says it all.
    assert reward == -0.301 and not terminated and not info["won"] and info["score"] == 0
    assert "the order is a tomato-lettuce salad" in observation
    assert "The reward for chopping the tomato is taken back." in observation
    assert "You notice a tomato, a lettuce, an onion and a bowl on different tables." in observation
    # The tomato is unchopped again; chopping it pays its subtask again (the loop cost 0.1 plus its steps).
    results = play(env, ["pick up the tomato", "put the tomato on the first cutting board", "chop the tomato"])
    assert [reward for _, reward, *_ in results] == [-0.001, -0.001, 0.199]
    assert results[-1][4]["score"] == 1  # one subtask done


def test_serving_food_without_the_bowl_is_a_wrong_delivery() -> None:
    env = make_env(TOMATO)
    env.reset(seed=0)
    *_, (observation, reward, _, _, info) = play(env, ["pick up the tomato", "serve the dish"])
    assert reward == -0.101 and "You notice a tomato and a bowl on different tables." in observation
    *_, (_, reward, _, _, _) = play(env, ["take the empty bowl", "serve the dish"])
    assert reward == -0.101


def test_only_the_recipes_ingredients_pay_for_chopping() -> None:
    env = make_env(TOMATO_LETTUCE)
    env.reset(seed=0)
    commands = ["pick up the onion", "put the onion on the second cutting board", "chop"]
    *_, (observation, reward, _, _, info) = play(env, commands)
    assert observation.startswith("You chop the onion.") and reward == -0.001 and info["score"] == 0


def test_actions_that_cannot_act_cost_a_step_and_say_why() -> None:
    env = make_env(TOMATO)
    observation, _ = env.reset(seed=0)
    cases = {
        "chop nothing": "There is no cutting board in front of you.",
        "serve nothing": "You walk to the serving counter with nothing to serve.",
        "walk to the cutting board": "You walk to the cutting board.",
    }
    for command, expected in cases.items():
        text, reward, terminated, truncated, _ = env.step(command)
        assert text.startswith(expected) and (reward, terminated, truncated) == (-0.001, False, False)
    play(env, ["pick up the tomato", "put the tomato on the cutting board"])
    text, *_ = env.step("pick up the tomato")
    assert text.startswith("You go to the cutting board; the tomato on it is not chopped yet.")


@pytest.mark.parametrize("command", ["xyzzy", "", "take the moon\nand stars", "é" * 500])
def test_nonsense_is_answered_in_words_and_changes_nothing(command: str) -> None:
    env = make_env(TOMATO)
    observation, before = env.reset(seed=0)
    text, reward, terminated, truncated, info = env.step(command)
    assert text.startswith("That is not an action here. You can: pick up the tomato,") and text.endswith(observation)
    assert text in env.observation_space and (reward, terminated, truncated) == (-0.001, False, False)
    assert info == before
    with pytest.raises(EnvError, match="an action is a command string"):
        env.step(3)


def test_seeded_resets_repeat_and_a_served_order_stays_done() -> None:
    env = make_env(TOMATO)
    first = env.reset(seed=5)
    play(env, env.unwrapped.walkthrough())
    text, reward, terminated, _, info = env.unwrapped.step("pick up the tomato")
    assert "reset() starts a new order" in text and reward == 0.0 and terminated and info["won"]
    assert env.reset(seed=5) == first == env.reset(seed=6)


def test_step_limit_is_30_by_default_and_configurable() -> None:
    assert make_env(TOMATO).spec.max_episode_steps == 30
    assert make_env(TOMATO_LETTUCE, max_episode_steps=50).spec.max_episode_steps == 50
    env = make_env(TOMATO, max_episode_steps=3)
    env.reset(seed=0)
    ends = [result[2:4] for result in play(env, ["chop nothing"] * 3)]
    assert ends == [(False, False), (False, False), (False, True)]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [({"recipe": "tomato-salad"}, "unknown option recipe"), ({"max_episode_steps": 0}, "must be at least 1")],
)
def test_bad_options_fail_in_one_line(kwargs: dict, expected: str) -> None:
    with pytest.raises(EnvError) as caught:
        make_env(TOMATO, **kwargs)
    message = str(caught.value)
    assert expected in message and message.startswith(TOMATO) and "\n" not in message
