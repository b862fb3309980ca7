"""Property tests (hypothesis) for the posterior math: invariants that must hold for any input."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import bayes

finite = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)


@st.composite
def prior_and_q(draw):
    n = draw(st.integers(min_value=1, max_value=12))
    weights = np.array(draw(st.lists(st.floats(min_value=0, max_value=1), min_size=n, max_size=n)))
    if weights.sum() == 0:
        weights[draw(st.integers(0, n - 1))] = 1.0
    q = np.array(draw(st.lists(finite, min_size=n, max_size=n)))
    return weights / weights.sum(), q


@settings(max_examples=300, deadline=None)
@given(prior_and_q(), st.floats(min_value=0, max_value=100))
def test_posterior_is_a_distribution_supported_by_the_prior(case, alpha):
    prior, q = case
    result = bayes.posterior(prior, q, alpha)
    assert np.all(np.isfinite(result.posterior))
    assert abs(result.posterior.sum() - 1.0) < 1e-9
    assert np.all(result.posterior[prior == 0] == 0)
    assert abs(result.likelihood.sum() - 1.0) < 1e-9


@settings(max_examples=300, deadline=None)
@given(prior_and_q(), st.floats(min_value=0, max_value=20))
def test_posterior_is_proportional_to_prior_times_likelihood(case, alpha):
    prior, q = case
    result = bayes.posterior(prior, q, alpha)
    support = prior > 0
    # log q − log p − α·Q is the same constant (−log Z) on the prior's support.
    offset = result.log_posterior[support] - np.log(prior[support]) - alpha * q[support]
    assert np.allclose(offset, offset[0], atol=1e-6)


@settings(max_examples=200, deadline=None)
@given(prior_and_q(), st.floats(min_value=0, max_value=1))
def test_floor_keeps_a_distribution_and_gives_every_action_mass(case, epsilon):
    prior, _ = case
    floored = bayes.mix_uniform(prior, epsilon)
    assert abs(floored.sum() - 1.0) < 1e-9
    if epsilon > 0:
        assert np.all(floored >= epsilon / prior.size - 1e-12)


@settings(max_examples=200, deadline=None)
@given(prior_and_q())
def test_kl_is_non_negative_and_zero_on_itself(case):
    prior, q = case
    other = bayes.softmax(q)
    assert bayes.kl_divergence(other, prior) >= -1e-12
    assert abs(bayes.kl_divergence(prior, prior)) < 1e-12
    assert 0 <= bayes.entropy(prior) <= np.log(prior.size) + 1e-9
