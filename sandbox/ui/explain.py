"""Read a Decision back as Bayes rule for the "why" panel and the lessons.

The agent already did the math: a Q-based decision carries its `breakdown` (the prior it
acted on, Q, α, likelihood, posterior), which this module reads as it is; entropies and
KL divergence come from `agents.bayes`. One new posterior is computed: Bayes rule with p_LLM itself.

Two priors meet here. p_LLM is the prior of Bayes rule. DQN-Prior acts instead on the share
of its k proposals per action, the paper's Monte Carlo estimate of p_LLM; so the panel shows
Bayes rule with p_LLM first (`exact`) and the agent's posterior from the estimate
(`breakdown`, the table's posterior column) beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents import bayes
from agents.decision import Candidate, Decision


@dataclass(frozen=True)
class Explanation:
    """Bayes rule for one decision; `breakdown` is None for agents without Q values (LLM, random, PPO)."""

    decision: Decision
    rows: tuple[Candidate, ...]  # the candidates the breakdown's arrays are aligned with
    prior: np.ndarray  # the prior the agent acted with: p_LLM, or its k-proposal estimate
    prior_label: str
    breakdown: bayes.Posterior | None  # Bayes rule with the prior the agent acted with
    chosen: int | None  # index of the taken action in `rows` (None: a typed command outside them)
    p_llm: np.ndarray  # the LLM's own prior over `rows` (uniform for agents without one)
    exact: bayes.Posterior | None  # Bayes rule with p_LLM itself (equals `breakdown` when the agent acts on p_LLM)

    @property
    def human(self) -> bool:
        return self.decision.rule == "human"

    @property
    def estimated(self) -> bool:
        """True when the agent acted on the k-proposal estimate of p_LLM rather than on p_LLM."""
        return bool(self.decision.proposals)

    @property
    def prior_entropy(self) -> float:
        return bayes.nats(bayes.entropy(self.prior))

    @property
    def p_llm_entropy(self) -> float:
        return bayes.nats(bayes.entropy(self.p_llm))

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
        """KL(agent's posterior ‖ p_LLM) in nats: how far Q (or a learned policy) moved the agent from the LLM;
        the same number as `Decision.telemetry.kl`, which replay files and metrics keep."""
        return bayes.nats(bayes.kl_divergence(self.acting, self.p_llm))

    @property
    def evidence(self) -> float:
        """Σ_a prior·likelihood: the normaliser that turns the products into the agent's posterior."""
        assert self.breakdown is not None
        return evidence(self.breakdown)

    @property
    def exact_evidence(self) -> float:
        """Σ_a p_LLM·likelihood: the normaliser of Bayes rule with p_LLM itself."""
        assert self.exact is not None
        return evidence(self.exact)


def evidence(posterior: bayes.Posterior) -> float:
    return float(np.sum(posterior.prior * posterior.likelihood))


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
    p_llm = np.array([row.prior for row in rows], dtype=np.float64)
    breakdown = decision.breakdown
    prior = breakdown.prior if breakdown is not None else p_llm
    label = f"share of k={len(decision.proposals)} proposals" if decision.proposals else "p_LLM"
    exact = breakdown
    if breakdown is not None and decision.proposals:
        exact = bayes.posterior(p_llm, breakdown.q_values, breakdown.alpha)
    chosen = next((i for i, row in enumerate(rows) if row.action == decision.action), None)
    return Explanation(decision, rows, prior, label, breakdown, chosen, p_llm, exact)
