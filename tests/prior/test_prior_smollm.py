"""The real default model (SmolLM2-135M): exact scores with KV reuse, and seeded samples. Kept short: ~1 s each."""

from __future__ import annotations

import numpy as np
import pytest

from agents.prior import LlamaPrior, PriorConfig
from tests.prior.conftest import make_query

pytestmark = pytest.mark.slow


def test_kv_reuse_matches_naive_scoring_within_1e_4(default_prior: LlamaPrior) -> None:
    queries = [
        make_query("You are in a kitchen. A coin lies on the table.", actions=("take coin", "look", "go north")),
        make_query("You are in a kitchen. A door leads north.", actions=("go north", "take key", "eat apple")),
    ]
    backend = default_prior._load()
    for query in queries:  # the second query reuses the first one's prompt prefix in the KV cache
        result = default_prior(query)
        assert result.probs.sum() == pytest.approx(1.0)
        naive = backend.score_naive(
            backend.tokenize_prompt(result.prompt), [backend.tokenize_action(a) for a in query.actions]
        )
        np.testing.assert_allclose(result.sequence_log_probs, naive, atol=1e-4, rtol=0)


def test_prefix_shared_with_the_previous_query_is_not_evaluated_again(default_prior: LlamaPrior) -> None:
    first = default_prior(make_query("You are in the hallway."))
    second = default_prior(make_query("You are in the cellar."))
    assert second.tokens_evaluated < first.tokens_evaluated


def test_sample_mode_is_reproducible_and_accounts_for_every_proposal() -> None:
    config = PriorConfig(mode="sample", k=4, max_new_tokens=6, seed=3, n_threads=1, cache_path=None, memory_cache_size=0)
    prior = LlamaPrior(config)
    first, second = prior(make_query()), prior(make_query())
    prior.close()
    assert first.proposals == second.proposals and len(first.proposals) == 4
    assert first.dropped == sum(p.action is None for p in first.proposals)
    assert first.probs.sum() == pytest.approx(1.0)
