"""Read a Decision back as Bayes rule for the "why" panel and the lessons.

The agent already did the math: `agents.decision.decide` made the Decision, and the Decision
carries every number the panel shows (the prior it acted on, Q, α, likelihood, posterior,
entropies, KL, and Bayes rule with p_LLM itself). This module only names them for the panel;
it computes nothing (tests/test_architecture.py holds the UI to that).

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
    """Bayes rule for one decision, as the decision carries it; `breakdown` is None for agents without Q values."""

    decision: Decision

    @property
    def rows(self) -> tuple[Candidate, ...]:
        """The candidates the breakdown's arrays are aligned with."""
        return self.decision.rows

    @property
    def prior(self) -> np.ndarray:
        """The prior the agent acted with: p_LLM, or its k-proposal estimate."""
        return self.decision.acting_prior

    @property
    def prior_label(self) -> str:
        return f"share of k={len(self.decision.proposals)} proposals" if self.decision.proposals else "p_LLM"

    @property
    def breakdown(self) -> bayes.Posterior | None:
        """Bayes rule with the prior the agent acted with."""
        return self.decision.breakdown

    @property
    def exact(self) -> bayes.Posterior | None:
        """Bayes rule with p_LLM itself (the breakdown when the agent acts on p_LLM)."""
        return self.decision.exact

    @property
    def chosen(self) -> int | None:
        """Index of the taken action in `rows` (None: a typed command outside them)."""
        return next((i for i, row in enumerate(self.rows) if row.action == self.decision.action), None)

    @property
    def p_llm(self) -> np.ndarray:
        return self.decision.p_llm

    @property
    def human(self) -> bool:
        return self.decision.rule == "human"

    @property
    def estimated(self) -> bool:
        """True when the agent acted on the k-proposal estimate of p_LLM rather than on p_LLM."""
        return bool(self.decision.proposals)

    @property
    def prior_entropy(self) -> float:
        return self.decision.acting_prior_entropy

    @property
    def p_llm_entropy(self) -> float:
        return self.decision.p_llm_entropy

    @property
    def uniform_entropy(self) -> float:
        return self.decision.uniform_entropy

    @property
    def acting(self) -> np.ndarray:
        return self.decision.acting

    @property
    def follows_prior(self) -> bool:
        return self.decision.follows_prior

    @property
    def posterior_entropy(self) -> float:
        return self.decision.posterior_entropy

    @property
    def kl(self) -> float:
        """KL(agent's posterior ‖ p_LLM): `Decision.kl`, the number replay files and metrics keep as telemetry."""
        return self.decision.kl

    @property
    def evidence(self) -> float:
        """Σ_a prior·likelihood: the normaliser that turns the products into the agent's posterior."""
        assert self.breakdown is not None
        return self.breakdown.evidence

    @property
    def exact_evidence(self) -> float:
        """Σ_a p_LLM·likelihood: the normaliser of Bayes rule with p_LLM itself."""
        assert self.exact is not None
        return self.exact.evidence


def explain(decision: Decision) -> Explanation:
    return Explanation(decision)
