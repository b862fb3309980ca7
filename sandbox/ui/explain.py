"""Read a Decision back as Bayes rule for the "why" panel and the lessons.

The agent already did the math: a Q-based decision carries its `breakdown` (the prior it
acted on, Q, α, likelihood, posterior), which this module reads as it is; entropies and
KL divergence come from `agents.bayes`. Only `alpha_sweep` computes new posteriors: the
same prior and Q under other values of α.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents import bayes
from agents.decision import Candidate, Decision


@dataclass(frozen=True)
class Explanation:
    """Bayes rule for one decision; `breakdown` is None for agents without Q values (LLM, random, PPO)."""

    decision: Decision
    rows: tuple[Candidate, ...]  # the candidates the breakdown's arrays are aligned with
    prior: np.ndarray  # the prior the agent acted with
    prior_label: str
    breakdown: bayes.Posterior | None
    chosen: int | None  # index of the taken action in `rows` (None: a typed command outside them)

    @property
    def human(self) -> bool:
        return self.decision.rule == "human"

    @property
    def prior_entropy(self) -> float:
        return bayes.nats(bayes.entropy(self.prior))

    @property
    def uniform_entropy(self) -> float:
        """The most uncertain a prior over these actions can be, for scale."""
        return bayes.nats(bayes.entropy(bayes.uniform(len(self.rows))))

    @property
    def acting(self) -> np.ndarray:
        """What the agent acted with: the posterior over Q, else its own column (a policy π, or the prior)."""
        if self.breakdown is not None:
            return self.breakdown.posterior
        return np.array([row.posterior for row in self.rows], dtype=np.float64)

    @property
    def follows_prior(self) -> bool:
        """True for agents that act on the prior itself (the LLM agent, the random agent)."""
        return bool(np.allclose(self.acting, self.prior))

    @property
    def posterior_entropy(self) -> float:
        return bayes.nats(bayes.entropy(self.acting))

    @property
    def kl(self) -> float:
        """KL(posterior ‖ prior) in nats: how far Q (or a learned policy) moved the agent from the prior."""
        return bayes.nats(bayes.kl_divergence(self.acting, self.prior))

    @property
    def evidence(self) -> float:
        """Σ_a prior·likelihood: the normaliser that turns the products into the posterior."""
        assert self.breakdown is not None
        return float(np.sum(self.breakdown.prior * self.breakdown.likelihood))


def agent_rows(decision: Decision) -> tuple[Candidate, ...]:
    """The candidates the agent chose among: without the row a typed non-admissible command adds."""
    if any(row.q_value is not None for row in decision.candidates):
        return tuple(row for row in decision.candidates if row.q_value is not None)
    if decision.prior_result is not None:
        return tuple(row for row in decision.candidates if row.action in decision.prior_result.actions)
    return tuple(row for row in decision.candidates if row.prior > 0)  # uniform: every admissible row has mass


def explain(decision: Decision) -> Explanation:
    """DQN-Prior acted on each action's share of the k proposals (its estimate of p_LLM), other agents on p_LLM."""
    rows = agent_rows(decision)
    breakdown = decision.breakdown
    if breakdown is not None:
        prior = breakdown.prior
    else:
        prior = np.array([row.prior for row in rows], dtype=np.float64)
    label = f"share of k={len(decision.proposals)}" if decision.proposals else "p_LLM"
    chosen = next((i for i, row in enumerate(rows) if row.action == decision.action), None)
    return Explanation(decision, rows, prior, label, breakdown, chosen)


def alpha_sweep(decision: Decision, alphas: Sequence[float]) -> tuple[Explanation, list[bayes.Posterior]]:
    """The posterior on one state for several α: the same prior and Q, only the sharpness changes."""
    explanation = explain(decision)
    if explanation.breakdown is None:
        return explanation, []
    q = explanation.breakdown.q_values
    return explanation, [bayes.posterior(explanation.prior, q, alpha) for alpha in alphas]
