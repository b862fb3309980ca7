"""The oracle prior (`--prior-model oracle:skill=S`): its distribution by hand, its skill as measured,
its errors, and its skill-1 agent winning from every start state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gymnasium.envs.toy_text.frozen_lake import MAPS

from agents import bayes
from agents.dqn import DQNConfig
from agents.errors import PriorError
from agents.prior import PriorConfig, PriorQuery, build_prior
from agents.prior.oracle import OraclePrior
from agents.registry import make_agent
from envs import make_env
from sandbox.engine.config import RunConfig, RunSettings
from sandbox.errors import SandboxError
from sandbox.engine.session import Session

ACTIONS = ("go north", "go south", "go east", "go west")


def query(optimal: tuple[str, ...] | None = ("go east",), observation: str = "here") -> PriorQuery:
    return PriorQuery(family="frozenlake", task="t", observation=observation, actions=ACTIONS, optimal=optimal)


def oracle(spec: str, **settings) -> OraclePrior:
    prior = build_prior(PriorConfig(model=spec, **settings))
    assert isinstance(prior, OraclePrior)
    return prior


def test_skill_half_by_hand() -> None:
    # 4 actions, O = {east}: east gets 0.5 + 0.5/4 = 0.625, every other 0.5/4 = 0.125.
    probs = oracle("oracle:skill=0.5")(query()).probs
    np.testing.assert_allclose(probs, [0.125, 0.125, 0.625, 0.125])


def test_skill_zero_is_exactly_uniform() -> None:
    probs = oracle("oracle:skill=0")(query(("go east", "go west"))).probs
    assert np.array_equal(probs, bayes.uniform(4))


def test_negative_skill_puts_mass_off_the_optimal_actions() -> None:
    probs = oracle("oracle:skill=-1")(query(("go east", "go south"))).probs
    np.testing.assert_allclose(probs, [0.5, 0.0, 0.0, 0.5])
    probs = oracle("oracle:skill=-0.5")(query()).probs  # 0.5 over 3 others + 0.5/4 uniform
    np.testing.assert_allclose(probs, [0.5 / 3 + 0.125, 0.5 / 3 + 0.125, 0.125, 0.5 / 3 + 0.125])


@pytest.mark.parametrize("skill", [0.0, 0.25, 0.5, 0.75, 0.9, 1.0])
@pytest.mark.parametrize("optimal", [("go east",), ("go east", "go north"), ("go east", "go north", "go west")])
def test_skill_s_measures_as_s(skill: float, optimal: tuple[str, ...]) -> None:
    result = oracle(f"oracle:skill={skill}")(query(optimal))
    mask = [action in optimal for action in ACTIONS]
    assert bayes.prior_skill(result.probs, mask) == pytest.approx(skill, abs=1e-12)


def test_prior_skill_by_hand() -> None:
    # |A| = 4, O = {a0}: u = 1/4; p(O) = 0.4 gives (0.4 - 0.25) / 0.75 = 0.2.
    assert bayes.prior_skill([0.4, 0.2, 0.2, 0.2], [True, False, False, False]) == pytest.approx(0.2)
    assert bayes.prior_skill([0.0, 0.5, 0.5, 0.0], [True, False, False, False]) == pytest.approx(-1 / 3)
    assert np.isnan(bayes.prior_skill([0.5, 0.5], [True, True]))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("oracle:skill=2", "oracle skill must be in \\[-1, 1\\], got 2"),
        ("oracle:skill=high", "bad oracle skill 'high'"),
        ("oracle:strength=1", "bad oracle prior 'oracle:strength=1'"),
    ],
)
def test_bad_specs_are_one_line_errors(spec: str, message: str) -> None:
    with pytest.raises(PriorError, match=message) as error:
        build_prior(PriorConfig(model=spec))
    assert "\n" not in str(error.value)


def test_a_query_without_optimal_actions_is_refused() -> None:
    with pytest.raises(PriorError, match="needs the env's optimal actions"):
        oracle("oracle")(query(None))
    with pytest.raises(PriorError, match="'go up' are not among"):
        oracle("oracle")(query(("go up",)))


def test_cache_floor_and_no_llm() -> None:
    prior = oracle("oracle:skill=1", epsilon=0.2)
    first, second = prior(query()), prior(query())
    np.testing.assert_allclose(first.probs, [0.05, 0.05, 0.85, 0.05])
    assert second.cached and np.array_equal(first.probs, second.probs)
    assert (prior.stats.calls, prior.stats.cache_hits, prior.stats.llm_calls, prior.stats.tokens_evaluated) == (2, 1, 0, 0)


def test_sample_mode_draws_k_proposals_per_state() -> None:
    prior = oracle("oracle:skill=0.5", mode="sample", k=200)
    result = prior(query())
    assert len(result.proposals) == 200 and result.dropped == 0
    assert result.probs[2] == pytest.approx(0.625, abs=0.1)  # k draws estimate the skill-0.5 distribution
    assert np.array_equal(prior(query()).probs, result.probs)  # the same state: the same draws
    assert not np.array_equal(prior(query(observation="elsewhere")).probs, result.probs)


def oracle_agent(name: str, **dqn: object):
    """An agent consulting the skill-1 oracle, built as every run builds its agent."""
    config = RunConfig(run=RunSettings(agent=name), dqn=DQNConfig(features="hash", **dqn))
    config.prior = PriorConfig(model="oracle:skill=1")
    return make_agent(config)


def test_sample_mode_draws_the_k_asked_for_with_the_run_seed() -> None:
    prior = oracle("oracle:skill=0.5", mode="sample", k=5)
    assert len(prior(query(), k=12).proposals) == 12 and len(prior(query()).proposals) == 5
    other_run = build_prior(PriorConfig(model="oracle:skill=0.5", mode="sample", k=5), run_seed=1)
    assert other_run(query(), k=12).proposals != prior(query(), k=12).proposals
    agent = oracle_agent("dqn-prior", k=5, eval_k=15)
    Session(make_env("TextFrozenLake-v0"), agent, family="frozenlake").update_acting(prior_mode="sample")  # the UI's mode switch
    assert len(agent.act(query(), greedy=True).proposals) == 15 and len(agent.act(query(observation="b")).proposals) == 5


def test_telemetry_says_no_llm_call() -> None:
    agent = oracle_agent("llm")
    env = make_env("TextFrozenLake-v0")
    session = Session(env, agent, family="frozenlake", learn=False)
    session.reset(seed=0)
    decision = session.decide(greedy=True)
    assert decision.telemetry.llm_call is False and decision.telemetry.cache_hit is None
    assert decision.action in session.state.optimal


def start_maps(rows: list[str]) -> list[list[str]]:
    """The lake with its start moved onto every safe cell that is not a goal."""
    plain = [row.replace("S", "F") for row in rows]
    return [
        [line if r != row else line[:col] + "S" + line[col + 1 :] for r, line in enumerate(plain)]
        for row, line in enumerate(plain)
        for col, tile in enumerate(line)
        if tile == "F"
    ]


def run_greedy(env_id: str, family: str, episodes: int = 1, **options) -> list[bool]:
    agent = oracle_agent("dqn-prior", alpha=0.0)
    session = Session(make_env(env_id, **options), agent, family=family, learn=False)
    return [session.run_episode(greedy=True, seed=seed)[-1].won for seed in range(episodes)]


@pytest.mark.parametrize("map_name", ["4x4", "8x8"])
def test_skill_one_greedy_wins_from_every_start_state_of_frozen_lake(map_name: str) -> None:
    starts = start_maps(list(MAPS[map_name]))
    assert len(starts) == "".join(MAPS[map_name]).count("F") + 1  # every ice cell and the old start
    for desc in starts:
        assert run_greedy("TextFrozenLake-v0", "frozenlake", desc=desc) == [True], desc


@pytest.mark.parametrize("challenge", ["coin-collector", "treasure-hunter", "cooking"])
def test_skill_one_greedy_wins_textworld_games(challenge: str, tw_games: dict[str, Path]) -> None:
    assert run_greedy("tw-game-file-v0", "textworld", path=str(tw_games[challenge])) == [True]


@pytest.mark.parametrize("recipe", ["tomato-salad", "tomato-lettuce-salad"])
def test_skill_one_greedy_wins_overcooked(recipe: str) -> None:
    assert run_greedy(f"overcooked-{recipe}-v0", "overcooked") == [True]


@pytest.mark.parametrize("split", ["train", "unseen"])
def test_skill_one_greedy_wins_household_pick_place(split: str, games_dir: Path) -> None:
    # No TextWorld policy here: O comes from the search for shortest winning plans, from every state.
    agent = oracle_agent("dqn-prior", alpha=0.0)
    for game_seed in (0, 1):
        env = make_env("household-pick-place-v0", split=split, game_seed=game_seed, games_dir=str(games_dir))
        steps = Session(env, agent, family="household", learn=False).run_episode(greedy=True, seed=0)
        taken = [step.decision.action for step in steps]
        assert steps[-1].won and len(taken) == len(env.unwrapped.walkthrough()), (game_seed, taken)


def test_an_env_that_cannot_name_its_optimal_actions_stops_with_one_line(questless_game: Path) -> None:
    agent = oracle_agent("llm")
    env = make_env("tw-game-file-v0", path=str(questless_game))
    with pytest.raises(SandboxError, match="optimal actions are unknown: .* has no winning policy") as error:
        Session(env, agent, family="household").reset(seed=0)
    assert "\n" not in str(error.value)
