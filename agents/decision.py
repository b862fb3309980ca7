"""What an agent decided and why, with every number the UI shows; and what it learns from."""

from __future__ import annotations

from dataclasses import dataclass

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
class Decision:
    """The chosen action and the full breakdown behind it."""

    action: str
    candidates: tuple[Candidate, ...]
    rule: str  # how the action was picked: "posterior-sample", "greedy", "epsilon-random", "prior-sample", "uniform", "human"
    alpha: float | None = None
    epsilon: float | None = None
    proposals: tuple[str, ...] = ()  # the k proposals (with duplicates): the support of acting and of the Bellman max
    prior_result: PriorResult | None = None

    def candidate(self, action: str) -> Candidate | None:
        return next((row for row in self.candidates if row.action == action), None)


@dataclass(frozen=True)
class Transition:
    """(s, a, r, s', done) plus the candidates at s' that the Bellman max runs over."""

    state_text: str
    action: str
    reward: float
    next_state_text: str
    terminated: bool
    next_candidates: tuple[str, ...]  # distinct actions: proposals at s' (DQN-Prior) or all admissible (DQN)
    candidates: tuple[str, ...] = ()  # the same at s: what CQL's logsumexp runs over
