"""Read a Decision back as Bayes rule, through agents.bayes, for the "why" panel and the lessons.

The agent already did the math; this module only picks out the arrays it used (the
prior it acted with, Q, α) and asks `agents.bayes` for the posterior, entropies and
KL divergence, so what the panel shows is exactly what the agent computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents import bayes
from agents.decision import Candidate, Decision


def nats(value: float) -> float:
    """Entropies and KL divergences are ≥ 0: drop rounding noise and -0.0, so they print as 0.00."""
    return max(value, 0.0) + 0.0


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
        return nats(bayes.entropy(self.prior))

    @property
    def uniform_entropy(self) -> float:
        """The most uncertain a prior over these actions can be, for scale."""
        return nats(bayes.entropy(bayes.uniform(len(self.rows))))

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
        return nats(bayes.entropy(self.acting))

    @property
    def kl(self) -> float:
        """KL(posterior ‖ prior) in nats: how far Q (or a learned policy) moved the agent from the prior."""
        return nats(bayes.kl_divergence(self.acting, self.prior))

    @property
    def evidence(self) -> float:
        """Σ_a prior·likelihood: the normaliser that turns the products into the posterior."""
        assert self.breakdown is not None
        return float(np.sum(self.breakdown.prior * self.breakdown.likelihood))


def acting_prior(decision: Decision, rows: Sequence[Candidate]) -> tuple[np.ndarray, str]:
    """DQN-Prior acts on the share of the k proposals per action (its estimate of p_LLM); others on p_LLM."""
    if decision.proposals:
        counts = np.array([row.proposal_count for row in rows], dtype=np.float64)
        return counts / len(decision.proposals), f"share of k={len(decision.proposals)}"
    return np.array([row.prior for row in rows], dtype=np.float64), "p_LLM"


def agent_rows(decision: Decision) -> tuple[Candidate, ...]:
    """The candidates the agent chose among: without the row a typed non-admissible command adds."""
    if any(row.q_value is not None for row in decision.candidates):
        return tuple(row for row in decision.candidates if row.q_value is not None)
    if decision.prior_result is not None:
        return tuple(row for row in decision.candidates if row.action in decision.prior_result.actions)
    return tuple(row for row in decision.candidates if row.prior > 0)  # uniform: every admissible row has mass


def explain(decision: Decision) -> Explanation:
    rows = agent_rows(decision)
    prior, label = acting_prior(decision, rows)
    breakdown = None
    if rows and rows[0].q_value is not None and decision.alpha is not None:
        q = np.array([row.q_value for row in rows], dtype=np.float64)
        breakdown = bayes.posterior(prior, q, decision.alpha)
    chosen = next((i for i, row in enumerate(rows) if row.action == decision.action), None)
    return Explanation(decision, rows, prior, label, breakdown, chosen)


def alpha_sweep(decision: Decision, alphas: Sequence[float]) -> tuple[Explanation, list[bayes.Posterior]]:
    """The posterior on one state for several α: the same prior and Q, only the sharpness changes."""
    explanation = explain(decision)
    if explanation.breakdown is None:
        return explanation, []
    q = explanation.breakdown.q_values
    return explanation, [bayes.posterior(explanation.prior, q, alpha) for alpha in alphas]
