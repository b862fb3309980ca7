"""ScienceWorld under the env contract: the action filter, a gold path that wins, losing, splits, errors."""

from __future__ import annotations

import gymnasium
import pytest

from agents.prior import TEMPLATES, PriorQuery, render_prompt
from envs import EnvError, env_family, make_env
from envs import scienceworld_env
from envs.scienceworld_env import admissible_actions, object_kind

ENV_ID = "scienceworld-v0"
INFO_TYPES = {"admissible_commands": list, "task": str, "won": bool, "lost": bool, "score": int, "max_score": int}
TEMPLATES_BY_ID = {
    3: "look around",
    12: "reset task",
    0: "open OBJ",
    2: "go OBJ",
    4: "look at OBJ",
    9: "move OBJ to OBJ",
    10: "pour OBJ in OBJ",
    11: "focus on OBJ",
    13: "use OBJ on OBJ",
    16: "connect OBJ to OBJ",
    21: "pick up OBJ",
    22: "put down OBJ",
}
CLASSES = {
    0: "agent.Agent",
    132: "location.Room",
    140: "portal.Door",
    144: "substance.Air",
    10: "containers.MetalPot",
    44: "devices.Sink",
    47: "devices.Thermometer",
    61: "electricalcomponent.Anode",
    75: "electricalcomponent.Terminal",
    193: "substance.food.Orange",
}
KINDS = {type_id: object_kind(f"scienceworld.objects.{name}") for type_id, name in CLASSES.items()}
OBJECTS = {"kitchen": (1, 132), "door": (2, 140), "agent": (3, 0), "air": (4, 144), "pot": (5, 10), "sink": (6, 44)}
OBJECTS |= {"thermometer": (7, 47), "anode": (8, 61), "terminal": (9, 75), "orange": (10, 193)}


def valid(template_id: int, text: str, *names: str) -> dict:
    """One entry as ScienceWorld's get_valid_action_object_combinations_with_templates gives it."""
    return {
        "action": text,
        "template_id": template_id,
        "obj_ids": [OBJECTS[name][0] for name in names],
        "type_ids": [OBJECTS[name][1] for name in names],
    }


VALID = [
    valid(3, "look around"),
    valid(12, "reset task"),
    valid(100, "0"),  # an answer to an ambiguity question: a task-specific template
    valid(0, "open door to kitchen", "door"),
    valid(2, "go to kitchen", "kitchen"),
    valid(4, "look at kitchen", "kitchen"),
    valid(21, "pick up kitchen", "kitchen"),
    valid(11, "focus on agent", "agent"),
    valid(4, "look at air", "air"),
    valid(22, "put down orange", "orange"),
    valid(21, "pick up pot", "pot"),
    valid(9, "move orange to pot", "orange", "pot"),
    valid(9, "move pot to orange", "pot", "orange"),
    valid(9, "move orange to kitchen", "orange", "kitchen"),
    valid(10, "pour pot in sink", "pot", "sink"),
    valid(10, "pour orange in pot", "orange", "pot"),
    valid(13, "use thermometer on pot", "thermometer", "pot"),
    valid(13, "use orange on pot", "orange", "pot"),
    valid(16, "connect anode to terminal", "anode", "terminal"),
    valid(16, "connect terminal to anode", "terminal", "anode"),
    valid(16, "connect pot to terminal", "pot", "terminal"),
]


def test_the_filter_drops_nonsense_and_ranks_what_is_left() -> None:
    assert admissible_actions(VALID, TEMPLATES_BY_ID, KINDS, 100) == [
        "0",
        "look around",
        "go to kitchen",
        "open door to kitchen",
        "put down orange",  # carried: the orange
        "move orange to pot",
        "pick up pot",  # one object in view
        "look at kitchen",
        "pour pot in sink",  # two objects, the first not carried
        "use thermometer on pot",
        "connect anode to terminal",  # one of the pair's two orders
    ]


def test_the_filter_is_capped_and_independent_of_the_input_order() -> None:
    assert admissible_actions(VALID[::-1], TEMPLATES_BY_ID, KINDS, 4) == [
        "0",
        "look around",
        "go to kitchen",
        "open door to kitchen",
    ]
    assert admissible_actions(VALID[::-1], TEMPLATES_BY_ID, KINDS, 100) == admissible_actions(
        VALID, TEMPLATES_BY_ID, KINDS, 100
    )


@pytest.mark.slow
def test_the_gold_path_wins(jvm_env) -> None:
    env = jvm_env(ENV_ID)
    observation, info = env.reset(seed=0)
    assert observation.startswith("This room is called") and info["task"].startswith("Your task is to")
    assert {key: type(info[key]) for key in INFO_TYPES} == INFO_TYPES
    walkthrough = env.unwrapped.walkthrough()
    total = 0.0
    for command in walkthrough:
        observation, reward, terminated, truncated, info = env.step(command)
        assert observation in env.observation_space and not truncated
        total += reward
        if terminated:
            break
    assert info["won"] and not info["lost"] and info["score"] == info["max_score"] == 100
    assert total == pytest.approx(1.0)


@pytest.mark.slow
def test_the_action_list_is_capped_unique_and_the_same_for_the_same_state(jvm_env) -> None:
    env = jvm_env(ENV_ID)
    _, info = env.reset(seed=0)
    commands = info["admissible_commands"]
    assert len(commands) == len(set(commands)) <= 100 and commands[:2] == ["look around", "inventory"]
    assert "reset task" not in commands and not any("agent" in command for command in commands)
    assert env.reset(seed=1)[1]["admissible_commands"] == commands


@pytest.mark.slow
def test_focusing_on_the_wrong_thing_loses(jvm_env) -> None:
    env = jvm_env(ENV_ID)
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step("focus on picture")
    assert info["lost"] and not info["won"] and info["score"] < 0 and reward < 0 and terminated and not truncated


@pytest.mark.slow
def test_meta_commands_and_nonsense_change_nothing(jvm_env) -> None:
    env = jvm_env(ENV_ID)
    _, before = env.reset(seed=0)
    observation, reward, terminated, _, info = env.step("reset task")
    assert "reset()" in observation and (reward, terminated) == (0.0, False) and info == before
    observation, reward, terminated, _, info = env.step("xyzzy")
    assert observation == "No known action matches that input." and (reward, terminated) == (0.0, False)
    with pytest.raises(EnvError, match="an action is a command string"):
        env.step(None)


@pytest.mark.slow
def test_the_step_limit_truncates(jvm_env) -> None:
    env = jvm_env(ENV_ID)
    assert env.spec.max_episode_steps == 100
    limited = gymnasium.wrappers.TimeLimit(env.unwrapped, max_episode_steps=1)
    limited.reset(seed=0)
    assert limited.step("look around")[2:4] == (False, True)


@pytest.mark.slow
def test_the_walkthrough_mid_episode_keeps_the_running_episode_and_pools_are_seeded() -> None:
    env = make_env(ENV_ID, task="lifespan-longest-lived", split="dev", n_variations=2)
    first = env.reset(seed=0)
    door = next(command for command in first[1]["admissible_commands"] if command.startswith("open door"))
    env.step(door)
    opened = env.step("look around")[0]
    assert env.unwrapped.walkthrough()  # reloads the task with its gold path, then replays
    assert env.step("look around")[0] == opened and "(that is open)" in opened
    assert env.reset(seed=0) == first
    games = {env.reset(seed=seed)[1]["game"] for seed in range(4)}
    assert len(games) == 2 and all(game.endswith("(dev)") for game in games)
    env.close()


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"task": "boil-water"}, "option task must be one of 'boil',"),
        ({"split": "valid"}, "option split must be one of 'train', 'dev', 'test'"),
        ({"simplifications": "easy,fast"}, "option simplifications must be one of 'easy',"),
        ({"simplifications": ["easy"]}, "option simplifications must be a comma-separated string"),
        ({"max_actions": 0}, "option max_actions must be at least 1"),
        ({"variant": 1}, "unknown option variant"),
        pytest.param({"variation": 14}, "variation + n_variations must be at most 14", marks=pytest.mark.slow),
    ],
)
def test_bad_options_fail_in_one_line(kwargs: dict, expected: str) -> None:
    with pytest.raises(EnvError) as caught:
        make_env(ENV_ID, **kwargs)
    message = str(caught.value)
    assert expected in message and message.startswith(ENV_ID) and "valid options:" in message and "\n" not in message


def test_the_family_has_its_own_prompt() -> None:
    family = env_family(ENV_ID)
    query = PriorQuery(family=family, task="Your task is to boil water.", observation="A room.", actions=("wait",))
    assert render_prompt(query).startswith(TEMPLATES[family].intro + "Your task is to boil water.\n")


@pytest.mark.slow
def test_a_refused_option_ends_the_jvm_it_started() -> None:
    started = []
    real = scienceworld_env._scienceworld()

    def recording(**kwargs):  # the real simulator, remembered so the test can look at its JVM
        started.append(real(**kwargs))
        return started[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scienceworld_env, "_scienceworld", lambda: recording)
        with pytest.raises(EnvError):
            make_env(ENV_ID, variation=14)
    java = started[0]._gateway.java_process
    assert java.poll() is not None and java.stdin.closed
