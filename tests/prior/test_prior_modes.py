"""The two ways of getting p_LLM(a|s) and the uniform baseline, end to end on the tiny model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from agents import bayes
from agents.errors import PriorError
from agents.prior import LlamaPrior, PriorConfig, UniformPrior, build_prior
from agents.configs import DQNConfig, PPOConfig
from agents.prior.backend import Samples
from agents.registry import make_agent
from sandbox.engine.config import RunConfig, RunSettings
from tests.prior.conftest import make_query


def test_score_mode_is_a_distribution_from_the_summed_log_probs(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = LlamaPrior(tiny_config(temperature=2.0, length_norm=True))
    result = prior(make_query())
    assert result.mode == "score" and not result.cached
    assert result.probs.sum() == pytest.approx(1.0) and np.all(result.probs > 0)
    per_token = np.asarray(result.sequence_log_probs) / np.asarray(result.token_counts)  # length_norm
    weights = np.exp((per_token - per_token.max()) / 2.0)  # temperature 2
    np.testing.assert_allclose(result.probs, weights / weights.sum())
    assert result.prompt.endswith("\n>") and result.tokens_evaluated > 0
    prior.close()


def test_floor_epsilon_gives_every_action_mass(tiny_config: Callable[..., PriorConfig]) -> None:
    query = make_query()
    plain = LlamaPrior(tiny_config(cache_path=None))(query)
    floored = LlamaPrior(tiny_config(cache_path=None, epsilon=0.3))(query)
    assert plain.probs.min() < 1e-6  # the random model is sure of one action...
    assert floored.probs.min() >= 0.3 / len(query.actions)  # ...the floor still leaves mass on every other
    np.testing.assert_allclose(floored.probs, 0.7 * plain.probs + 0.3 / len(query.actions))


@pytest.mark.parametrize(
    ("texts", "mapped", "probs", "dropped"),
    [
        # "Take the coin." normalises to "take coin"; "go north\n> look" is cut at its first line;
        # "xyzzy" maps to nothing. Kept: go north once, take coin twice, of 3.
        (
            ["take coin", "Take the coin.", "xyzzy", "go north\n> look"],
            ["take coin", "take coin", None, "go north"],
            [1 / 3, 2 / 3, 0.0, 0.0, 0.0],
            1,
        ),
        # "look around" contains "look"; "qwerty" and "" map to nothing. Kept: look twice, of 2.
        (["look", "qwerty", "", "look around"], ["look", None, None, "look"], [0.0, 0.0, 1.0, 0.0, 0.0], 2),
    ],
)
def test_sample_mode_maps_proposals_and_counts_the_dropped(
    tiny_config: Callable[..., PriorConfig],
    texts: list[str],
    mapped: list[str | None],
    probs: list[float],
    dropped: int,
) -> None:
    prior = LlamaPrior(tiny_config(mode="sample", k=len(texts)))
    backend = prior._load()
    backend.sample = lambda *args, **kwargs: Samples(tuple(texts), 0)
    result = prior(make_query())  # actions: go north, take coin, look, inventory, open fridge
    assert [p.text for p in result.proposals] == texts
    assert [p.action for p in result.proposals] == mapped
    np.testing.assert_allclose(result.probs, probs)
    assert result.dropped == dropped and not result.fallback_uniform
    assert prior.stats.dropped_proposals == dropped


def test_sample_mode_falls_back_to_a_flagged_uniform_when_every_proposal_is_dropped(
    tiny_config: Callable[..., PriorConfig],
) -> None:
    prior = LlamaPrior(tiny_config(mode="sample", k=3, max_new_tokens=4))
    result = prior(make_query())  # random weights: gibberish that maps to nothing
    assert result.dropped == 3 and result.fallback_uniform
    assert all(p.action is None and p.how == "dropped" for p in result.proposals)
    np.testing.assert_allclose(result.probs, bayes.uniform(5))


def test_sample_mode_is_seeded(tiny_config: Callable[..., PriorConfig]) -> None:
    texts = [
        [p.text for p in LlamaPrior(tiny_config(mode="sample", k=3, seed=seed, cache_path=None))(make_query()).proposals]
        for seed in (1, 1, 2)
    ]
    assert texts[0] == texts[1] != texts[2]


def test_sample_mode_draws_the_k_a_caller_asks_for_each_cached_apart(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = LlamaPrior(tiny_config(mode="sample", k=3, max_new_tokens=2))
    assert len(prior(make_query()).proposals) == 3  # the config's k
    asked = prior(make_query(), k=7)
    assert len(asked.proposals) == 7 and not asked.cached
    assert prior(make_query(), k=7).cached and len(prior(make_query()).proposals) == 3
    with pytest.raises(PriorError, match="k must be in 1..255, got 0"):
        prior(make_query(), k=0)
    prior.close()


@pytest.mark.parametrize("agent", ["dqn-prior", "ppo-prior", "llm"])
def test_sample_mode_draws_with_the_run_seed_and_caches_each_seed_apart(
    tiny_config: Callable[..., PriorConfig], agent: str
) -> None:
    config = tiny_config(mode="sample", k=3, max_new_tokens=4)

    def proposals(run_seed: int) -> tuple[list[str], bool]:
        seeded = {"seed": run_seed, "features": "hash"}
        run = RunSettings(agent=agent, seed=run_seed)
        built = make_agent(RunConfig(run=run, dqn=DQNConfig(**seeded), ppo=PPOConfig(**seeded), prior=config))
        result = built.prior(make_query())
        built.prior.close()
        return [proposal.text for proposal in result.proposals], result.cached

    seed_0, seed_1 = proposals(0), proposals(1)
    assert seed_0[0] != seed_1[0]  # the prior's sampling varies with the run seed
    assert proposals(1) == (seed_1[0], True)  # and each seed's samples are cached under their own key


def test_oversized_prompt_drops_the_oldest_history_first(tiny_config: Callable[..., PriorConfig]) -> None:
    history = (("go west", "Old room. " * 14), ("go east", "Recent room. " * 3))
    query = make_query(observation="You are in a kitchen.", history=history)
    prior = LlamaPrior(tiny_config(n_ctx=256, history=2, list_actions=False))
    with pytest.warns(UserWarning, match="left out the 1 oldest history step"):
        result = prior(query)
    assert "Old room." not in result.prompt and "Recent room." in result.prompt
    assert "You are in a kitchen." in result.prompt


def test_oversized_observation_keeps_its_end(tiny_config: Callable[..., PriorConfig]) -> None:
    observation = "Start of a very long description. " + "Filler words here. " * 30 + "The coin is on the table."
    prior = LlamaPrior(tiny_config(n_ctx=256))
    with pytest.warns(UserWarning, match="character"):
        result = prior(make_query(observation=observation))
    assert "Start of a very long" not in result.prompt
    assert "Now:\n..." in result.prompt and "The coin is on the table." in result.prompt
    assert result.probs.sum() == pytest.approx(1.0)


def test_empty_and_duplicate_action_lists_are_prior_errors(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = LlamaPrior(tiny_config())
    with pytest.raises(PriorError, match="no admissible actions"):
        prior(make_query(actions=()))
    with pytest.raises(PriorError, match="duplicates"):
        prior(make_query(actions=("look", "look")))
    with pytest.raises(PriorError, match="no admissible actions"):
        UniformPrior()(make_query(actions=()))


@pytest.mark.parametrize(
    "overrides",
    [{"mode": "guess"}, {"temperature": 0.0}, {"k": 0}, {"top_p": 0.0}, {"epsilon": 1.5}, {"n_ctx": 8}],
)
def test_bad_settings_are_one_line_prior_errors(tiny_config: Callable[..., PriorConfig], overrides: dict) -> None:
    with pytest.raises(PriorError, match="bad prior settings") as raised:
        build_prior(tiny_config(**overrides))
    assert "\n" not in str(raised.value)


def test_uniform_prior_needs_no_model() -> None:
    prior = build_prior(PriorConfig(model="uniform"))
    assert isinstance(prior, UniformPrior) and prior.gpu_layers == 0
    result = prior(make_query())
    assert result.model == "uniform" and result.mode == "uniform"
    np.testing.assert_allclose(result.probs, bayes.uniform(5))
    assert prior.stats.calls == 1


def test_raising_k_after_loading_reloads_with_room_for_the_samples(tiny_config: Callable[..., PriorConfig]) -> None:
    prior = LlamaPrior(tiny_config(mode="sample", k=2, max_new_tokens=2))
    prior(make_query())
    assert len(prior(make_query(), k=20).proposals) == 20  # DQN-Prior asks for its own k (the UI's k knob sets it)
