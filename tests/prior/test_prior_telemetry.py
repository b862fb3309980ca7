"""A decision's telemetry on a real llama.cpp prior (the tiny model): an LLM call, then a cache hit."""

from __future__ import annotations

import pytest

from agents import bayes
from agents.baselines import LLMAgent
from agents.prior import LlamaPrior
from tests.prior.conftest import make_query


def test_telemetry_counts_the_llm_call_then_the_cache_hit(tiny_config) -> None:
    prior = LlamaPrior(tiny_config())
    agent = LLMAgent(prior, seed=0)
    state = make_query()
    try:
        first = agent.act(state, greedy=True).telemetry
        second = agent.act(state, greedy=True).telemetry
        assert prior.stats.llm_calls == 1 and prior.stats.cache_hits == 1
        probs = prior(state).probs
    finally:
        prior.close()
    assert (first.llm_call, first.cache_hit) == (True, False)
    assert first.tokens_evaluated > 0 and first.ms > 0
    assert (second.llm_call, second.cache_hit, second.tokens_evaluated) == (False, True, 0)
    assert first.prior_entropy == pytest.approx(bayes.entropy(probs))
    assert first.posterior_entropy == pytest.approx(first.prior_entropy)  # the LLM agent acts on p_LLM itself
    assert first.kl == pytest.approx(0.0, abs=1e-12)
