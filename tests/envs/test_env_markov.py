"""The text an agent sees determines the dynamics, in every deterministic env family.

A Q function reads only the text (task, observation, admissible actions): if two visits show
identical text but the same action pays differently, something the text never shows decides
the reward, and Q learns nonsense (Overcooked once paid each ingredient's chop only once per
episode, without saying so). Random walks over several seeds record, for every text seen, what
each action taken there gave; a second visit must agree.

Where the text is meant to be the whole state (Frozen Lake, Overcooked) the next text must agree
too. The TextWorld-based families (TextWorld, household, TextWorldExpress, ScienceWorld) show the
game's feedback to the last command, which by design leaves out most of the world (after
"inventory" the room is not described): there the same text and action can lead to different
next texts, and only the reward and the episode's end are checked. TextWorldExpress's sorting
game pays by a score the text never shows (a misplaced item costs more or less by what is in the
box already): a known, strict failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
import pytest

from envs import make_env
from envs.household import FAMILIES as HOUSEHOLD_FAMILIES
from envs.overcooked import RECIPES
from envs.textworld_express import GAME_TYPES as TWX_GAME_TYPES

WALK_SEEDS = (0, 1, 2)
WALK_STEPS = 200  # per seed; an episode restarts when it ends or after EPISODE_STEPS
GAME_WALK_STEPS = 100  # the TextWorld-based games are slower per step; 100 still revisits dozens of texts
EPISODE_STEPS = 40
Text = tuple[str, str, tuple[str, ...]]  # (task, observation, admissible actions)


def text_of(observation: str, info: dict[str, Any]) -> Text:
    return info.get("task", ""), observation, tuple(info["admissible_commands"])


def check_text_determines_dynamics(env: gymnasium.Env, steps: int = WALK_STEPS, next_text: bool = True) -> int:
    """Random walks from WALK_SEEDS; a repeated (text, action) must give the same reward, episode end and (with
    `next_text`) next text. Returns how many (text, action) pairs were seen twice, so a test can insist the
    walks revisited some."""
    seen: dict[tuple[Text, str], tuple[float, Text, bool]] = {}
    repeats = 0
    for seed in WALK_SEEDS:
        rng = np.random.default_rng(seed)
        observation, info = env.reset(seed=seed)
        text, episode_steps = text_of(observation, info), 0
        for _ in range(steps):
            action = text[2][int(rng.integers(len(text[2])))]
            observation, reward, terminated, _, info = env.step(action)
            outcome = (round(float(reward), 6), text_of(observation, info), bool(terminated))
            earlier = seen.setdefault((text, action), outcome)
            if earlier is not outcome:
                repeats += 1
                checked = slice(None) if next_text else slice(0, 3, 2)  # (reward, next text, end) or (reward, end)
                assert earlier[checked] == outcome[checked], (
                    f"the same text and action {action!r} gave {outcome[0]} and {outcome[1][1]!r}, "
                    f"but earlier {earlier[0]} and {earlier[1][1]!r}; text: {text[1]!r}"
                )
            text, episode_steps = outcome[1], episode_steps + 1
            if terminated or episode_steps >= EPISODE_STEPS or not text[2]:
                observation, info = env.reset(seed=seed)
                text, episode_steps = text_of(observation, info), 0
    return repeats


def overcooked(recipe: str) -> Callable[..., gymnasium.Env]:
    return lambda **_: make_env(f"overcooked-{recipe}-v0")


ENVS: dict[str, Callable[..., gymnasium.Env]] = {
    "frozenlake-4x4": lambda **_: make_env("TextFrozenLake-v0", map_name="4x4", is_slippery=False),
    "frozenlake-8x8": lambda **_: make_env("TextFrozenLake-v0", map_name="8x8", is_slippery=False),
    **{f"overcooked-{recipe}": overcooked(recipe) for recipe in RECIPES},
}


@pytest.mark.parametrize("name", list(ENVS))
def test_text_determines_dynamics(name):
    env = ENVS[name]()
    assert check_text_determines_dynamics(env) > 0, "the walks never came back to a text: the check checked nothing"
    env.close()


@pytest.mark.parametrize("challenge", ["tw-coin-collector-v0", "tw-treasure-hunter-v0", "tw-cooking-v0"])
def test_textworld_text_determines_the_reward(challenge, games_dir):
    env = make_env(challenge, games_dir=str(games_dir))
    assert check_text_determines_dynamics(env, GAME_WALK_STEPS, next_text=False) > 0
    env.close()


@pytest.mark.parametrize("family", list(HOUSEHOLD_FAMILIES))
def test_household_text_determines_the_reward(family, games_dir):
    env = make_env(f"household-{family}-v0", games_dir=str(games_dir))
    assert check_text_determines_dynamics(env, GAME_WALK_STEPS, next_text=False) > 0
    env.close()


TWX_HIDDEN_SCORE = pytest.mark.xfail(
    strict=True, reason="TextWorldExpress sorting pays a misplaced item by the hidden score (see the module doc)"
)


@pytest.mark.parametrize(
    "game_type", [pytest.param(name, marks=TWX_HIDDEN_SCORE) if name == "sorting" else name for name in TWX_GAME_TYPES]
)
def test_textworld_express_text_determines_the_reward(game_type, jvm_env):
    env = jvm_env(f"twx-{game_type}-v0")
    assert check_text_determines_dynamics(env, GAME_WALK_STEPS, next_text=False) > 0


def test_scienceworld_text_determines_the_reward(jvm_env):
    env = jvm_env("scienceworld-v0")
    assert check_text_determines_dynamics(env, steps=30, next_text=False) > 0


def test_alfworld_text_determines_the_reward():
    from envs.errors import EnvError

    try:
        env = make_env("alfworld-v0")
    except EnvError as error:  # not installed, or its data not downloaded
        pytest.skip(f"ALFWorld is not available here: {error}")
    assert check_text_determines_dynamics(env, GAME_WALK_STEPS, next_text=False) > 0
    env.close()


def test_the_check_catches_a_reward_the_text_does_not_show():
    """A chop that pays only the first time, the text the same both times: the check must object."""

    class PaysOnce(gymnasium.Env):
        def reset(self, *, seed=None, options=None):
            self.paid = False  # hidden: the text never says it
            return "A tomato is on the board.", {"admissible_commands": ["chop"], "task": "chop"}

        def step(self, action):
            reward, self.paid = (0.0 if self.paid else 1.0), True
            return "A tomato is on the board.", reward, False, False, {"admissible_commands": ["chop"], "task": "chop"}

    with pytest.raises(AssertionError, match="the same text and action 'chop' gave 0.0"):
        check_text_determines_dynamics(PaysOnce(), steps=3)
