"""What an agent decided and why, with every number the UI shows; and what it learns from."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np

from agents import bayes
from agents.prior.config import PRIOR_MODES
from agents.prior.types import PriorQuery, PriorResult

TextState = PriorQuery
"""A text state is exactly what the prior is asked about: family, task, observation, actions, history."""


def state_text(state: TextState) -> str:
    """The text the Q network sees for a state (the paper's "Task: …, Observation: …")."""
    return f"Task: {state.task}\nObservation: {state.observation}"


@dataclass(frozen=True)
class Candidate:
    """One admissible action with its part in Bayes rule."""

    action: str
    prior: float  # p_LLM(a|s) from the prior (uniform for agents without one)
    q_value: float | None  # Q(s,a), None for agents without a Q network
    likelihood: float | None  # exp(α·Q) normalised over the candidates, i.e. softmax(α·Q)
    posterior: float  # the probability the agent acted with (0 outside the proposals)
    proposal_count: int = 0  # how many of the k proposals mapped to this action


@dataclass(frozen=True)
class Telemetry:
    """What one decision cost and how far Q moved it from the LLM, in one place for the UI, replay files and metrics.

    The first four numbers come from the prior's answer, the last three from `agents.bayes`
    over the candidates' p_LLM column (uniform for agents without a prior) and the posterior
    the agent acted with.
    """

    llm_call: bool  # the language model computed this decision's prior (not the cache, not a uniform prior)
    cache_hit: bool | None  # None when no LLM prior was consulted
    tokens_evaluated: int  # tokens llama.cpp decoded for it (0 on a cache hit)
    ms: float  # time the prior took to answer, LLM call or cache lookup (0 without a prior)
    prior_entropy: float  # H(p_LLM) in nats
    posterior_entropy: float  # H(posterior) in nats
    kl: float  # KL(posterior ‖ p_LLM) in nats

    def to_json(self) -> dict[str, float | int | bool | None]:
        """JSON has no infinity: an infinite KL (posterior mass where the prior has none) is written as null."""
        payload = asdict(self)
        payload["kl"] = self.kl if math.isfinite(self.kl) else None
        return payload


@dataclass(frozen=True)
class Decision:
    """The chosen action and the full breakdown behind it."""

    action: str
    candidates: tuple[Candidate, ...]
    rule: str  # how the action was picked: "posterior-sample", "greedy", "epsilon-random", "prior-sample", "uniform", "human"
    alpha: float | None = None
    epsilon: float | None = None
    proposals: tuple[str, ...] = ()  # the k proposals (with duplicates): the support of acting and of the Bellman max
    prior_result: PriorResult | None = None
    # Bayes rule as the agent applied it, aligned with the agent's candidates (a typed command a person
    # adds comes after them): the prior it acted on (DQN-Prior: each action's share of the k proposals),
    # Q, α, likelihood and posterior. None for agents that do not act on p·exp(α·Q) (LLM, random, PPO).
    breakdown: bayes.Posterior | None = field(default=None, compare=False)

    def candidate(self, action: str) -> Candidate | None:
        return next((row for row in self.candidates if row.action == action), None)

    @cached_property
    def telemetry(self) -> Telemetry:
        result = self.prior_result
        consulted = result is not None and result.mode in PRIOR_MODES  # a uniform prior has mode "uniform"
        prior = np.array([row.prior for row in self.candidates], dtype=np.float64)
        posterior = np.array([row.posterior for row in self.candidates], dtype=np.float64)
        return Telemetry(
            llm_call=consulted and not result.cached,
            cache_hit=result.cached if consulted else None,
            tokens_evaluated=result.tokens_evaluated if result is not None else 0,
            ms=result.ms if result is not None else 0.0,
            prior_entropy=bayes.nats(bayes.entropy(prior)),
            posterior_entropy=bayes.nats(bayes.entropy(posterior)),
            kl=bayes.nats(bayes.kl_divergence(posterior, prior)),
        )


@dataclass(frozen=True)
class Transition:
    """(s, a, r, s', done) plus what the Bellman target at s' needs: the candidates its max runs over and,
    for the targets over every admissible action (`[dqn] target = "all"` or `"soft"`), those actions and
    the prior's log-probs over them (stored when acting computed them: the target asks no LLM)."""

    state_text: str
    action: str
    reward: float
    next_state_text: str
    terminated: bool
    next_candidates: tuple[str, ...]  # distinct actions: proposals at s' (DQN-Prior) or all admissible (DQN)
    candidates: tuple[str, ...] = ()  # the same at s: what CQL's logsumexp runs over
    next_actions: tuple[str, ...] = ()  # every admissible action at s' (targets "all" and "soft" only)
    next_log_prior: tuple[float, ...] = ()  # log p(a|s') over next_actions, floor mixed in (target "soft" only)
