"""What an agent decided and why, with every number the UI shows; and what it learns from.

`decide` is the one place an action is chosen from what an agent knows at a state (its Q values,
its policy, or the prior alone): every agent's `act` calls it, and the explanation panel, the
prompt editor and replay files read the numbers the Decision it returns carries (prior, proposal
share, Q, likelihood, posterior, entropies, KL, the rule) instead of recomputing them. Only this
module and `agents.bayes` compute a posterior (tests/test_architecture.py scans for any other).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from agents import bayes
from agents.configs import ACTING_FIELDS, EXPLORATION_RULES, GREEDY_RULES
from agents.errors import AgentError
from agents.prior.config import PRIOR_MODES
from agents.prior.types import ActionPrior, PriorQuery, PriorResult

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
    settings: ActingSettings | None = None  # the settings it was made under (None: a decision stored before they were)

    def candidate(self, action: str) -> Candidate | None:
        return next((row for row in self.candidates if row.action == action), None)

    @cached_property
    def telemetry(self) -> Telemetry:
        result = self.prior_result
        consulted = result is not None and result.mode in PRIOR_MODES  # a uniform prior has mode "uniform"
        return Telemetry(
            llm_call=consulted and not result.cached,
            cache_hit=result.cached if consulted else None,
            tokens_evaluated=result.tokens_evaluated if result is not None else 0,
            ms=result.ms if result is not None else 0.0,
            prior_entropy=self.p_llm_entropy,
            posterior_entropy=self.posterior_entropy,
            kl=self.kl,
        )

    # ----- the numbers the decision was made from, over the rows the agent chose among ----------
    # A row a person typed (not admissible) has no prior and no posterior mass, so it changes no sum.

    @cached_property
    def rows(self) -> tuple[Candidate, ...]:
        """The candidates the agent chose among: without the row a typed non-admissible command adds."""
        if any(row.q_value is not None for row in self.candidates):
            return tuple(row for row in self.candidates if row.q_value is not None)
        if self.prior_result is not None:
            return tuple(row for row in self.candidates if row.action in self.prior_result.actions)
        return tuple(row for row in self.candidates if row.prior > 0)  # uniform: every admissible row has mass

    @cached_property
    def p_llm(self) -> np.ndarray:
        """The LLM's own prior over `rows` (uniform for agents without one)."""
        return np.array([row.prior for row in self.rows], dtype=np.float64)

    @cached_property
    def acting_prior(self) -> np.ndarray:
        """The prior the agent acted on: DQN-Prior's share of its k proposals (the paper's estimate of p_LLM), else p_LLM."""
        return self.breakdown.prior if self.breakdown is not None else self.p_llm

    @cached_property
    def acting(self) -> np.ndarray:
        """What the agent acted with over `rows`: the posterior over Q, a learned policy π, or the prior itself."""
        return np.array([row.posterior for row in self.rows], dtype=np.float64)

    @cached_property
    def exact(self) -> bayes.Posterior | None:
        """Bayes rule with p_LLM itself; the agent's own `breakdown` when it acted on p_LLM (no proposals)."""
        if self.breakdown is None or not self.proposals:
            return self.breakdown
        return bayes.posterior(self.p_llm, self.breakdown.q_values, self.breakdown.alpha)

    @property
    def follows_prior(self) -> bool:
        """True for agents that act on the prior itself (the LLM agent, the random agent)."""
        return bool(np.allclose(self.acting, self.acting_prior))

    @cached_property
    def p_llm_entropy(self) -> float:
        """H(p_LLM) in nats."""
        return bayes.nats(bayes.entropy(self.p_llm))

    @cached_property
    def acting_prior_entropy(self) -> float:
        """H of the prior the agent acted on, in nats."""
        return bayes.nats(bayes.entropy(self.acting_prior))

    @cached_property
    def uniform_entropy(self) -> float:
        """The most uncertain a prior over these rows can be, for scale."""
        return bayes.nats(bayes.entropy(bayes.uniform(len(self.rows))))

    @cached_property
    def posterior_entropy(self) -> float:
        """H of what the agent acted with, in nats."""
        return bayes.nats(bayes.entropy(self.acting))

    @cached_property
    def kl(self) -> float:
        """KL(what the agent acted with ‖ p_LLM) in nats: how far Q (or a learned policy) moved it from the LLM."""
        return bayes.nats(bayes.kl_divergence(self.acting, self.p_llm))

    @cached_property
    def pull(self) -> float:
        """Q's pull: KL(posterior under p_LLM ‖ p_LLM) in nats (0 without Q values)."""
        return self.exact.kl if self.exact is not None else 0.0

    @cached_property
    def sampling_noise(self) -> float:
        """KL(share of the k proposals ‖ p_LLM) in nats: 0 when the agent acts on p_LLM itself."""
        return bayes.nats(bayes.kl_divergence(self.acting_prior, self.p_llm))

    def alpha_sweep(self, alphas: Sequence[float]) -> list[bayes.Posterior]:
        """Bayes rule with p_LLM and this decision's Q at each α (what the α lesson shows); [] without Q."""
        if self.breakdown is None:
            return []
        return [bayes.posterior(self.p_llm, self.breakdown.q_values, alpha) for alpha in alphas]


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


# ----- deciding ---------------------------------------------------------------------------------

ACTING_WAYS = ("q", "policy", "prior")  # the posterior over Q, a learned policy, the prior alone (AgentSpec.acts_on)


@dataclass(frozen=True)
class ActingSettings:
    """How an agent acts, as one frozen value: what `decide` and the agent's draw of proposals read.

    An agent builds its first one from its config (`acting_settings`); after that the session owns it:
    a UI knob makes a new one (`Session.update_acting`), the user's config is never written to, and each
    Decision carries the one it was made under, so replay files and forks say how every step was decided.
    """

    acts_on: str  # one of ACTING_WAYS
    alpha: float | None = None  # "q": the posterior's inverse temperature on Q; "policy": the KL weight it was trained with
    k: int | None = None  # "q": proposals drawn from the prior per state (all admissible actions without a prior)
    eval_k: int | None = None  # "q": proposals per state when acting greedily (the paper uses up to 15 at test)
    explore: str = "posterior"  # "q" with a prior: sample the posterior, or "epsilon"-greedy over the proposals
    greedy: str = "q"  # "q" at evaluation: argmax Q over the proposals ("q") or the posterior's mode ("map")
    prior_mode: str | None = None  # the prior's mode, "score" or "sample"; None for agents without a prior
    floor: float = 0.0  # the prior floor: uniform mass the prior mixes into p_LLM, so no action has zero prior

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem is not None:
            raise AgentError(f"bad acting settings: {problem}")

    def _problem(self) -> str | None:
        if self.acts_on not in ACTING_WAYS:
            return f"acts_on must be one of {', '.join(ACTING_WAYS)}, got {self.acts_on!r}"
        if self.acts_on == "q" and self.alpha is None:
            return "acting on Q needs an alpha"
        if self.acts_on != "q" and (self.k is not None or self.eval_k is not None):
            return f"k and eval_k count proposals for acting on Q; acting on {self.acts_on!r} draws none"
        if self.acts_on == "prior" and self.alpha is not None:
            return "acting on the prior alone has no alpha"
        if self.alpha is not None and not self.alpha >= 0:
            return f"alpha must be >= 0, got {self.alpha}"
        for name in ("k", "eval_k"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                return f"{name} (proposals per state) must be a whole number >= 1, got {value!r}"
        if self.explore not in EXPLORATION_RULES:
            return f"explore must be one of {', '.join(EXPLORATION_RULES)}, got {self.explore!r}"
        if self.greedy not in GREEDY_RULES:
            return f"greedy must be one of {', '.join(GREEDY_RULES)}, got {self.greedy!r}"
        if self.prior_mode is not None and self.prior_mode not in PRIOR_MODES:
            return f"prior_mode must be one of {', '.join(PRIOR_MODES)}, got {self.prior_mode!r}"
        if not 0.0 <= self.floor <= 1.0:
            return f"floor (prior floor) must be in [0, 1], got {self.floor}"
        return None

    def proposals_per_state(self, greedy: bool) -> int | None:
        """The k a decision draws: eval_k when acting greedily, else k."""
        return self.eval_k if greedy and self.eval_k is not None else self.k

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> "ActingSettings":
        return cls(**payload)


def acting_settings(acts_on: str, config: Any, prior: ActionPrior | None) -> ActingSettings:
    """An agent's acting settings at construction: the fields ACTING_FIELDS names for its way of acting, read
    from its config, and the mode and floor of its prior's own config."""
    from_config = {name: getattr(config, name) for name in ACTING_FIELDS[acts_on]}
    if prior is not None:
        from_config |= {"prior_mode": prior.config.mode, "floor": prior.config.epsilon}
    return ActingSettings(acts_on, **from_config)


def decide(
    state: TextState,
    prior_answer: PriorResult | None,
    settings: ActingSettings,
    *,
    rng: np.random.Generator,
    greedy: bool = False,
    q_values: np.ndarray | None = None,
    proposals: Sequence[str] = (),
    epsilon: float = 0.0,
    policy: np.ndarray | None = None,
) -> Decision:
    """The action at `state` and every number behind it, for each way of acting (`settings.acts_on`):

    - "q": the posterior ∝ (share of the k `proposals`)·exp(α·Q) over `q_values`, sampled, or ε-greedy
      over the proposals (with `epsilon`); without a prior the proposals are every admissible action.
    - "policy": the learned π(·|s) given as `policy`, sampled.
    - "prior": the prior's answer alone, sampled; uniform (the random agent) when there is none.

    `greedy` takes the most likely action instead (for "q", by `settings.greedy`). Randomness comes from `rng` only.
    """
    if settings.acts_on == "q":
        assert q_values is not None and settings.alpha is not None, "acting on Q needs Q values and an alpha"
        return _decide_on_q(state, prior_answer, settings, q_values, tuple(proposals), epsilon, greedy, rng)
    if settings.acts_on == "policy":
        assert policy is not None, "acting on a policy needs the policy"
        return _decide_on_policy(state, prior_answer, settings, policy, greedy, rng)
    return _decide_on_prior(state, prior_answer, settings, greedy, rng)


def _decide_on_q(
    state: TextState,
    prior_answer: PriorResult | None,
    settings: ActingSettings,
    q: np.ndarray,
    proposals: tuple[str, ...],
    epsilon: float,
    greedy: bool,
    rng: np.random.Generator,
) -> Decision:
    has_prior = prior_answer is not None
    acting_prior = bayes.empirical_prior(proposals, state.actions)
    breakdown = bayes.posterior(acting_prior, q, settings.alpha)
    support = np.flatnonzero(acting_prior > 0)
    best_in_support = int(support[np.argmax(q[support])])
    if greedy:
        # "map": the posterior's mode, argmax log p̂ + α·Q (zero prior mass stays out of reach).
        index = breakdown.greedy_index() if settings.greedy == "map" else best_in_support
        rule = "greedy"
    elif has_prior and settings.explore == "posterior":
        index, rule = int(rng.choice(len(state.actions), p=breakdown.posterior)), "posterior-sample"
    elif rng.random() < epsilon:
        index, rule = int(rng.choice(support)), "epsilon-random"
    else:
        index, rule = best_in_support, "greedy"
    full_prior = prior_answer.probs if has_prior else bayes.uniform(len(state.actions))
    counts = Counter(proposals)
    candidates = tuple(
        Candidate(
            action=action,
            prior=float(full_prior[i]),
            q_value=float(q[i]),
            likelihood=float(breakdown.likelihood[i]),
            posterior=float(breakdown.posterior[i]) if has_prior else float(i == index),
            proposal_count=counts.get(action, 0) if has_prior else 0,
        )
        for i, action in enumerate(state.actions)
    )
    return Decision(
        action=state.actions[index],
        candidates=candidates,
        rule=rule,
        alpha=settings.alpha,
        epsilon=None if rule == "posterior-sample" or greedy else epsilon,
        proposals=proposals if has_prior else (),
        prior_result=prior_answer,
        breakdown=breakdown,
        settings=settings,
    )


def _decide_on_policy(
    state: TextState,
    prior_answer: PriorResult | None,
    settings: ActingSettings,
    policy: np.ndarray,
    greedy: bool,
    rng: np.random.Generator,
) -> Decision:
    if greedy:
        index, rule = int(np.argmax(policy)), "greedy"
    else:
        index, rule = int(rng.choice(len(state.actions), p=policy)), "policy-sample"
    shown_prior = prior_answer.probs if prior_answer is not None else bayes.uniform(len(state.actions))
    candidates = tuple(
        Candidate(action, prior=float(shown_prior[i]), q_value=None, likelihood=None, posterior=float(policy[i]))
        for i, action in enumerate(state.actions)
    )
    return Decision(
        action=state.actions[index],
        candidates=candidates,
        rule=rule,
        alpha=settings.alpha if prior_answer is not None else None,
        prior_result=prior_answer,
        settings=settings,
    )


def _decide_on_prior(
    state: TextState, prior_answer: PriorResult | None, settings: ActingSettings, greedy: bool, rng: np.random.Generator
) -> Decision:
    if prior_answer is None:  # the random agent: uniform, drawn as an integer
        probs = bayes.uniform(len(state.actions))
        index, rule = int(rng.integers(len(state.actions))), "uniform"
    else:
        probs = prior_answer.probs
        if greedy:
            index, rule = int(np.argmax(probs)), "greedy"
        else:
            index, rule = int(rng.choice(len(state.actions), p=probs)), "prior-sample"
    candidates = tuple(
        Candidate(action=a, prior=float(p), q_value=None, likelihood=None, posterior=float(p))
        for a, p in zip(state.actions, probs)
    )
    return Decision(
        action=state.actions[index], candidates=candidates, rule=rule, prior_result=prior_answer, settings=settings
    )


def redecide(
    decision: Decision, state: TextState, prior_answer: PriorResult, *, policy: np.ndarray | None = None
) -> Decision:
    """`decision` redone with another prior answer (the prompt editor's what-if): same action, rule and Q.

    The posterior is Bayes rule with the answer's p_LLM over every admissible action (not an estimate from
    k proposals, whose noise would blur the comparison); a policy agent's `policy` is π under that answer;
    an agent without Q values or policy acts on the prior itself.
    """
    rows = {row.action: row for row in decision.candidates}
    q_values = [rows[action].q_value for action in state.actions]
    likelihood: list[float | None] = [rows[action].likelihood for action in state.actions]
    breakdown = None
    if policy is not None:
        posterior = policy
    elif decision.alpha is not None and all(q is not None for q in q_values):
        breakdown = bayes.posterior(prior_answer.probs, np.array(q_values, dtype=np.float64), decision.alpha)
        posterior, likelihood = breakdown.posterior, breakdown.likelihood.tolist()
    else:
        posterior = prior_answer.probs
    candidates = tuple(
        Candidate(
            action=action,
            prior=float(prior_answer.probs[i]),
            q_value=q_values[i],
            likelihood=likelihood[i],
            posterior=float(posterior[i]),
        )
        for i, action in enumerate(state.actions)
    )
    return replace(
        decision, candidates=candidates, proposals=(), prior_result=prior_answer, breakdown=breakdown
    )


def restored_breakdown(
    candidates: Sequence[Candidate], alpha: float | None, proposals: Sequence[str], acting_prior: Sequence[float] | None
) -> bayes.Posterior | None:
    """A stored decision's Bayes rule from the prior it acted on, its Q values and α (exactly the agent's numbers).

    Without `acting_prior` (files written before it was stored) the prior is rebuilt as the agent formed
    it: the share of the k proposals, or p_LLM when there were none. None for decisions without Q values.
    """
    rows = [candidate for candidate in candidates if candidate.q_value is not None]
    if not rows or alpha is None:
        return None
    if acting_prior is None:
        actions = [row.action for row in rows]
        acting_prior = bayes.empirical_prior(proposals, actions) if proposals else [row.prior for row in rows]
    return bayes.posterior(acting_prior, [row.q_value for row in rows], alpha)


def prior_shift(before: Decision, after: Decision) -> float:
    """KL(after's p_LLM ‖ before's) in nats, over the same candidates: how far a new prompt moved the prior."""
    return bayes.nats(
        bayes.kl_divergence([row.prior for row in after.candidates], [row.prior for row in before.candidates])
    )
