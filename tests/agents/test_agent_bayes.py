"""The Bayes module against hand-computed cases."""

import math

import numpy as np
import pytest

from agents import bayes


def test_posterior_matches_hand_computation():
    # prior (0.5, 0.3, 0.2), Q (1, 0, 0), α = 1: weights 0.5e, 0.3, 0.2
    e = math.e
    total = 0.5 * e + 0.3 + 0.2
    result = bayes.posterior([0.5, 0.3, 0.2], [1.0, 0.0, 0.0], alpha=1.0)
    np.testing.assert_allclose(result.posterior, [0.5 * e / total, 0.3 / total, 0.2 / total], rtol=1e-12)
    np.testing.assert_allclose(result.likelihood, [e / (e + 2), 1 / (e + 2), 1 / (e + 2)], rtol=1e-12)
    assert result.greedy_index() == 0


def test_alpha_zero_returns_the_prior_and_large_alpha_the_argmax_q():
    prior = [0.7, 0.2, 0.1]
    np.testing.assert_allclose(bayes.posterior(prior, [0.0, 5.0, 1.0], alpha=0.0).posterior, prior)
    sharp = bayes.posterior(prior, [0.0, 5.0, 1.0], alpha=100.0).posterior
    assert sharp[1] == pytest.approx(1.0)


def test_zero_prior_mass_stays_zero_whatever_q_says():
    result = bayes.posterior([0.0, 1.0], [1e6, 0.0], alpha=10.0)
    assert result.posterior[0] == 0.0
    assert result.posterior[1] == 1.0


def test_large_q_values_do_not_overflow():
    result = bayes.posterior([0.5, 0.5], [1000.0, 999.0], alpha=10.0)
    assert np.all(np.isfinite(result.posterior))
    assert result.posterior.sum() == pytest.approx(1.0)


def test_prior_from_sequence_log_probs_with_temperature_and_length_norm():
    log_probs = [math.log(0.2), math.log(0.05)]
    np.testing.assert_allclose(bayes.prior_from_sequence_log_probs(log_probs), [0.8, 0.2])
    # temperature 2 takes square roots of the weights
    np.testing.assert_allclose(
        bayes.prior_from_sequence_log_probs(log_probs, temperature=2.0),
        np.sqrt([0.2, 0.05]) / np.sqrt([0.2, 0.05]).sum(),
    )
    # length normalisation: -4 over 4 tokens equals -1 over 1 token
    np.testing.assert_allclose(bayes.prior_from_sequence_log_probs([-4.0, -1.0], token_counts=[4, 1]), [0.5, 0.5])
    with pytest.raises(ValueError):
        bayes.prior_from_sequence_log_probs(log_probs, temperature=0.0)


def test_empirical_prior_counts_duplicates_and_ignores_dropped():
    probs = bayes.empirical_prior(["go east", None, "go east", "go north", None], ["go north", "go east", "go west"])
    np.testing.assert_allclose(probs, [1 / 3, 2 / 3, 0.0])
    assert bayes.empirical_prior([None, None], ["a", "b"]) is None


def test_uniform_floor_gives_every_action_mass():
    floored = bayes.mix_uniform([1.0, 0.0, 0.0, 0.0], epsilon=0.2)
    np.testing.assert_allclose(floored, [0.85, 0.05, 0.05, 0.05])
    with pytest.raises(ValueError):
        bayes.mix_uniform([1.0], epsilon=1.5)


def test_entropy_and_kl():
    assert bayes.entropy([0.5, 0.5]) == pytest.approx(math.log(2))
    assert bayes.entropy([1.0, 0.0]) == 0.0
    assert bayes.kl_divergence([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert bayes.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert bayes.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
