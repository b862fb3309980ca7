"""The Bayes math of LLM-prior RL, in one place.

    q(a|s)  ∝  p_LLM(a|s) · exp(α·Q(s,a))

Everything here works in log space on NumPy arrays indexed like the candidate
actions, so the agents (acting, Bellman targets) and the UI's explanation panel
(prior × likelihood → posterior, with the actual numbers) share one
implementation. Zero prior mass stays exactly zero posterior mass.

The policy-based agents need the same KL and entropy differentiably, on batches of
states whose action sets differ in size: `masked_kl_divergence` and `masked_entropy`
take padded torch log-probs and a mask. They use only tensor methods, so importing
this module (as the UI does) never loads torch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

FloatArray = np.ndarray


def log_softmax(logits: Sequence[float] | FloatArray) -> FloatArray:
    """Normalise log-weights; -inf entries stay -inf (their probability is exactly 0)."""
    values = np.asarray(logits, dtype=np.float64)
    if values.size == 0:
        raise ValueError("cannot normalise an empty set of actions")
    top = np.max(values)
    if not np.isfinite(top):
        raise ValueError("every action has zero weight; nothing to normalise")
    shifted = values - top
    return shifted - np.log(np.sum(np.exp(shifted)))


def softmax(logits: Sequence[float] | FloatArray) -> FloatArray:
    return np.exp(log_softmax(logits))


def prior_from_sequence_log_probs(
    sequence_log_probs: Sequence[float] | FloatArray,
    temperature: float = 1.0,
    token_counts: Sequence[int] | None = None,
) -> FloatArray:
    """Exact-scoring prior: normalise each action's summed token log-prob over the admissible set.

    With `token_counts` the score is the mean token log-prob (length normalisation), so
    long commands are not penalised merely for having more tokens.
    """
    if temperature <= 0:
        raise ValueError(f"prior temperature must be > 0, got {temperature}")
    scores = np.asarray(sequence_log_probs, dtype=np.float64)
    if token_counts is not None:
        scores = scores / np.maximum(np.asarray(token_counts, dtype=np.float64), 1.0)
    return softmax(scores / temperature)


def empirical_prior(mapped_proposals: Sequence[str | None], actions: Sequence[str]) -> FloatArray | None:
    """Sampling prior: frequency of each action among the k mapped proposals (duplicates count).

    Dropped (unmappable) proposals are `None` and simply do not count. Returns None when
    every proposal was dropped, so the caller can fall back to a *flagged* uniform.
    """
    counts = Counter(action for action in mapped_proposals if action is not None)
    kept = sum(counts.values())
    if kept == 0:
        return None
    return np.array([counts.get(action, 0) / kept for action in actions], dtype=np.float64)


def uniform(n_actions: int) -> FloatArray:
    if n_actions <= 0:
        raise ValueError("cannot build a prior over zero actions")
    return np.full(n_actions, 1.0 / n_actions)


def mix_uniform(probs: Sequence[float] | FloatArray, epsilon: float) -> FloatArray:
    """Prior floor: (1-ε)·p + ε/|A|, so no admissible action has zero prior mass."""
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"prior floor epsilon must be in [0, 1], got {epsilon}")
    values = np.asarray(probs, dtype=np.float64)
    return (1.0 - epsilon) * values + epsilon / values.size


@dataclass(frozen=True)
class Posterior:
    """Every term of Bayes rule for one state, aligned with the candidate actions."""

    prior: FloatArray  # p_LLM(a|s)
    q_values: FloatArray  # Q(s,a)
    alpha: float
    likelihood: FloatArray  # exp(α·Q) normalised over the candidates, i.e. softmax(α·Q)
    posterior: FloatArray  # ∝ prior · exp(α·Q)
    log_posterior: FloatArray

    def greedy_index(self) -> int:
        return int(np.argmax(self.log_posterior))

    @property
    def evidence(self) -> float:
        """Σ_a prior·likelihood: the normaliser that turns the products into the posterior."""
        return float(np.sum(self.prior * self.likelihood))

    @property
    def posterior_entropy(self) -> float:
        return nats(entropy(self.posterior))

    @property
    def kl(self) -> float:
        """KL(posterior ‖ prior) in nats: how far Q moved belief from this prior."""
        return nats(kl_divergence(self.posterior, self.prior))


def posterior(
    prior: Sequence[float] | FloatArray,
    q_values: Sequence[float] | FloatArray,
    alpha: float,
) -> Posterior:
    """q(a|s) ∝ p_LLM(a|s)·exp(α·Q(s,a)), computed in log space for stability."""
    prior_array = np.asarray(prior, dtype=np.float64)
    q_array = np.asarray(q_values, dtype=np.float64)
    if prior_array.shape != q_array.shape:
        raise ValueError(f"prior has {prior_array.size} actions but Q has {q_array.size}")
    with np.errstate(divide="ignore"):
        log_prior = np.log(prior_array)
    log_post = log_softmax(log_prior + alpha * q_array)
    return Posterior(
        prior=prior_array,
        q_values=q_array,
        alpha=float(alpha),
        likelihood=softmax(alpha * q_array),
        posterior=np.exp(log_post),
        log_posterior=log_post,
    )


def soft_value(
    prior: Sequence[float] | FloatArray, q_values: Sequence[float] | FloatArray, alpha: float
) -> float:
    """The KL-regularised state value V(s) = (1/α)·log Σ_a p(a|s)·exp(α·Q(s,a)).

    It is the value of the posterior q ∝ p·exp(α·Q) under the objective the posterior maximises,
    E_q[Q] − (1/α)·KL(q ‖ p), so it lies between E_p[Q] (α → 0) and the max of Q over the prior's
    support (α → ∞): the soft Bellman backup of G-learning (Fox et al. 2016).
    """
    if alpha <= 0:
        raise ValueError(f"the soft backup's alpha must be > 0, got {alpha}")
    prior_array = np.asarray(prior, dtype=np.float64)
    q_array = np.asarray(q_values, dtype=np.float64)
    with np.errstate(divide="ignore"):
        weighted = np.log(prior_array) + alpha * q_array
    top = np.max(weighted)
    return float((top + np.log(np.sum(np.exp(weighted - top)))) / alpha)


def soft_values_per_group(
    log_prior: "torch.Tensor", q_values: "torch.Tensor", group_ids: "torch.Tensor", n_groups: int, alpha: float
) -> "torch.Tensor":
    """`soft_value` for a batch: (1/α)·log Σ_{a in group i} p(a)·exp(α·Q(a)) for each group i.

    The inputs are flat, one entry per (state, action) pair, `group_ids` naming each pair's state;
    a group without pairs (a terminal s') is 0. Max-shifted per group, so a large α does not overflow.
    """
    if alpha <= 0:
        raise ValueError(f"the soft backup's alpha must be > 0, got {alpha}")
    result = q_values.new_zeros(n_groups)
    if q_values.numel() == 0:
        return result
    weighted = log_prior + alpha * q_values
    top = q_values.new_full((n_groups,), float("-inf")).scatter_reduce(
        0, group_ids, weighted, reduce="amax", include_self=True
    )
    sums = q_values.new_zeros(n_groups).index_add(0, group_ids, (weighted - top[group_ids]).exp())
    present = sums > 0
    return result.masked_scatter(present, (top[present] + sums[present].log()) / alpha)


def soft_alpha(start: float, end: float, anneal_steps: int, step: int) -> float:
    """The soft backup's α_t: linear from `start` to `end` over `anneal_steps` env steps, then `end`.

    G-learning's schedule: a small α early backs up E_p[Q], where the prior's guess is all there
    is; a large α later backs up (nearly) the max, so a wrong prior's early pull washes out.
    """
    fraction = 1.0 if anneal_steps <= 0 else min(1.0, step / anneal_steps)
    return start + fraction * (end - start)


def nats(value: float) -> float:
    """An entropy or KL divergence as shown and logged: ≥ 0, without rounding noise or -0.0."""
    return max(value, 0.0) + 0.0


def entropy(probs: Sequence[float] | FloatArray) -> float:
    """Shannon entropy in nats (0·log 0 = 0)."""
    values = np.asarray(probs, dtype=np.float64)
    nonzero = values[values > 0]
    return float(-np.sum(nonzero * np.log(nonzero)))


def kl_divergence(p: Sequence[float] | FloatArray, q: Sequence[float] | FloatArray) -> float:
    """KL(p ‖ q) in nats; infinite when p puts mass where q has none."""
    p_array = np.asarray(p, dtype=np.float64)
    q_array = np.asarray(q, dtype=np.float64)
    support = p_array > 0
    if np.any(q_array[support] == 0):
        return float("inf")
    return float(np.sum(p_array[support] * (np.log(p_array[support]) - np.log(q_array[support]))))


def masked_kl_divergence(log_p: "torch.Tensor", log_q: "torch.Tensor", mask: "torch.Tensor") -> "torch.Tensor":
    """Row-wise KL(p ‖ q) over padded action sets (rows: states; `mask` marks real actions).

    Padding is replaced by 0 *before* the product: 0·(−inf) would be NaN in the forward
    pass and, even when masked afterwards, NaN in the backward pass.
    """
    log_p = log_p.masked_fill(~mask, 0.0)
    log_q = log_q.masked_fill(~mask, 0.0)
    return (log_p.exp() * (log_p - log_q)).masked_fill(~mask, 0.0).sum(dim=-1)


def masked_entropy(log_p: "torch.Tensor", mask: "torch.Tensor") -> "torch.Tensor":
    """Row-wise Shannon entropy in nats over padded action sets (see `masked_kl_divergence`)."""
    log_p = log_p.masked_fill(~mask, 0.0)
    return -(log_p.exp() * log_p).masked_fill(~mask, 0.0).sum(dim=-1)


def skill_prior(optimal: Sequence[bool], skill: float) -> FloatArray:
    """The oracle's prior over A given which actions are optimal (O) and a skill S in [-1, 1].

    S >= 0: mass S spread evenly over O, the rest uniform over A, so `prior_skill` measures
    exactly S. S < 0: mass |S| over A \\ O, the rest uniform (a confidently wrong prior;
    at S = -1 nothing is left on O). Without an O (or with every action in it) there is
    nothing to prefer: uniform.
    """
    if not -1.0 <= skill <= 1.0:
        raise ValueError(f"skill must be in [-1, 1], got {skill}")
    mask = np.asarray(optimal, dtype=bool)
    favoured = mask if skill >= 0 else ~mask
    base = uniform(mask.size)
    if not favoured.any() or favoured.all():
        return base
    return abs(skill) * favoured / favoured.sum() + (1.0 - abs(skill)) * base


def prior_skill(probs: Sequence[float] | FloatArray, optimal: Sequence[bool]) -> float:
    """(p(O) − u) / (1 − u) with u = |O|/|A|: 0 for uniform, 1 with all mass on O, < 0 worse than uniform.

    Undefined (NaN) when O is empty or every action is optimal: such a state tells priors apart in nothing.
    """
    mask = np.asarray(optimal, dtype=bool)
    u = mask.sum() / mask.size
    if u in (0.0, 1.0):
        return float("nan")
    return float((np.asarray(probs, dtype=np.float64)[mask].sum() - u) / (1.0 - u))
