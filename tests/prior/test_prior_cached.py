"""`CachedPrior`: a new backend gets the cache, the stats, the sampling seed and the floor without writing them.

The toy backend below answers fixed numbers and records every request it is asked; a cache hit is
proven by a backend whose `answer` must not run, never by timing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from agents.errors import PriorError
from agents.prior.cache import PriorCache, result_from_json
from agents.prior.cached import CachedPrior, PriorBackend, PriorRequest
from agents.prior.config import PriorConfig
from agents.prior.types import PriorQuery, PriorResult

QUERY = PriorQuery("textworld", "Find the key.", "A room.", ("look", "go north", "open door"))


class ToyBackend(PriorBackend):
    """Mass 0.5, 0.5, 0 on the three actions; 7 tokens and 1 dropped proposal per answer."""

    def __init__(self, config: PriorConfig, *, asks_model: bool = True, cached_elsewhere: bool = False) -> None:
        self.config = config
        self.model_name = "toy"
        self.asks_model = asks_model
        self.cached_elsewhere = cached_elsewhere  # as a prior server's reply says its own cache answered
        self.requests: list[PriorRequest] = []

    def key_parts(self, request: PriorRequest) -> dict[str, Any]:
        return {"toy": list(request.query.actions), "k": request.k, "seed": request.seed}

    def answer(self, request: PriorRequest, cache: PriorCache | None) -> PriorResult:
        self.requests.append(request)
        probs = np.array([0.5, 0.5, 0.0])
        return PriorResult(
            model="toy", mode="score", actions=request.query.actions, probs=probs, tokens_evaluated=7, dropped=1,
            cached=self.cached_elsewhere,
        )


def toy_prior(**settings: Any) -> tuple[CachedPrior, ToyBackend]:
    options = {key: settings.pop(key) for key in ("asks_model", "cached_elsewhere") if key in settings}
    run_seed = settings.pop("run_seed", 0)
    backend = ToyBackend(PriorConfig(model="toy", cache_path=None, **settings), **options)
    return CachedPrior(backend, PriorCache(None, 16), run_seed=run_seed), backend


def must_not_run(request: PriorRequest, cache: PriorCache | None) -> PriorResult:
    raise AssertionError("a cache hit reached the backend")


def test_a_cache_hit_never_calls_the_backend_and_returns_the_identical_answer() -> None:
    prior, backend = toy_prior()
    first = prior(QUERY)
    backend.answer = must_not_run  # type: ignore[method-assign]
    second = prior(QUERY)
    assert second.cached and not first.cached
    assert second.probs.tolist() == first.probs.tolist() == [0.5, 0.5, 0.0]


def test_stats_count_hits_and_model_calls_for_any_backend() -> None:
    prior, backend = toy_prior()
    prior(QUERY)
    prior(QUERY)
    prior(QUERY, k=2)  # another key: the backend answers again
    stats = prior.stats
    assert (stats.calls, stats.cache_hits, stats.llm_calls) == (3, 1, 2)
    assert (stats.tokens_evaluated, stats.dropped_proposals) == (14, 2)  # fresh answers only
    assert len(backend.requests) == 2


def test_a_backend_that_asks_no_model_makes_no_llm_calls() -> None:
    prior, _ = toy_prior(asks_model=False)
    prior(QUERY)
    prior(QUERY)
    assert (prior.stats.calls, prior.stats.cache_hits, prior.stats.llm_calls, prior.stats.tokens_evaluated) == (2, 1, 0, 0)


def test_an_answer_another_cache_held_counts_as_a_hit_not_a_model_call() -> None:
    prior, _ = toy_prior(cached_elsewhere=True)
    prior(QUERY)
    assert (prior.stats.calls, prior.stats.cache_hits, prior.stats.llm_calls, prior.stats.tokens_evaluated) == (1, 1, 0, 0)


def test_the_floor_is_mixed_in_after_the_cache_so_a_new_floor_asks_the_backend_nothing() -> None:
    prior, backend = toy_prior(epsilon=0.2)
    # (1 - 0.2)·p + 0.2/3, by hand: 0.4 + 1/15 and 0 + 1/15
    np.testing.assert_allclose(prior(QUERY).probs, [0.4 + 1 / 15, 0.4 + 1 / 15, 1 / 15], rtol=0, atol=1e-15)
    backend.answer = must_not_run  # type: ignore[method-assign]
    prior.config = replace(prior.config, epsilon=0.5)  # as Session.update_acting(floor=0.5) hands a new floor over
    again = prior(QUERY)
    assert again.cached
    np.testing.assert_allclose(again.probs, [0.25 + 1 / 6, 0.25 + 1 / 6, 1 / 6], rtol=0, atol=1e-15)
    stored = prior.cache.get(prior.answer_key(QUERY)) if prior.cache is not None else None
    assert stored is not None and result_from_json(stored, 0.0).probs.tolist() == [0.5, 0.5, 0.0]  # before the floor


def test_sample_mode_gets_the_config_seed_plus_the_run_seed_and_the_k_asked_for() -> None:
    prior, backend = toy_prior(mode="sample", k=4, seed=10, run_seed=3)
    prior(QUERY)
    prior(QUERY, k=2)
    assert [(request.k, request.seed) for request in backend.requests] == [(4, 13), (2, 13)]
    assert prior.sampling_seed == 13


def test_a_k_out_of_range_is_refused_before_the_backend_is_asked() -> None:
    prior, backend = toy_prior(mode="sample")
    with pytest.raises(PriorError, match="k must be in"):
        prior(QUERY, k=0)
    assert backend.requests == [] and prior.stats.calls == 0


def test_bad_queries_and_unreadable_edits_are_refused_before_the_backend_is_asked() -> None:
    prior, backend = toy_prior()
    with pytest.raises(PriorError, match="duplicates"):
        prior(PriorQuery("textworld", "t", "o", ("look", "look")))
    with pytest.raises(PriorError, match="edited prompt"):
        prior(QUERY, prompt="my own prompt")  # the toy backend reads no edited prompts
    assert backend.requests == []


def test_without_a_cache_every_call_asks_the_backend() -> None:
    backend = ToyBackend(PriorConfig(model="toy", cache_path=None))
    prior = CachedPrior(backend, cache=None)
    prior(QUERY)
    assert not prior(QUERY).cached and len(backend.requests) == 2
    assert (prior.stats.calls, prior.stats.cache_hits) == (2, 0)
