"""`agents.decision.decide`: each way of acting, with every number checked against a hand computation.

State: three actions; p_LLM = (0.5, 0.3, 0.2); four proposals (west, west, wait, west), so the share
DQN-Prior acts on is (0.75, 0.25, 0); Q = (0, 1, 5); α = 0.5. By hand (e = exp(α) = exp(0.5)):
  agent's posterior  = (0.75, 0.25e, 0) / (0.75 + 0.25e)
  exact posterior    = (0.5, 0.3e, 0.2e⁵) / (0.5 + 0.3e + 0.2e⁵)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.decision import ActingSettings, TextState, decide, prior_shift, redecide
from agents.prior.types import PriorResult

ACTIONS = ("go west", "wait", "go east")
STATE = TextState(family="test", task="Reach room 4.", observation="You are in room 1.", actions=ACTIONS)
P_LLM = np.array([0.5, 0.3, 0.2])
PROPOSALS = ("go west", "go west", "wait", "go west")
Q = np.array([0.0, 1.0, 5.0])
ALPHA = 0.5  # not 1, so that α applied twice shows
E = math.exp(ALPHA)
AGENT_POSTERIOR = [0.75 / (0.75 + 0.25 * E), 0.25 * E / (0.75 + 0.25 * E), 0.0]
EXACT_EVIDENCE = 0.5 + 0.3 * E + 0.2 * E**5
EXACT_POSTERIOR = [0.5 / EXACT_EVIDENCE, 0.3 * E / EXACT_EVIDENCE, 0.2 * E**5 / EXACT_EVIDENCE]


def answer(probs=P_LLM) -> PriorResult:
    return PriorResult("scripted", "score", ACTIONS, np.array(probs, dtype=np.float64))


def on_q(**settings) -> ActingSettings:
    return ActingSettings("q", **{"alpha": ALPHA, **settings})


def decide_on_q(settings: ActingSettings, *, greedy: bool = False, seed: int = 0, epsilon: float = 0.0):
    rng = np.random.default_rng(seed)
    return decide(STATE, answer(), settings, rng=rng, greedy=greedy, q_values=Q, proposals=PROPOSALS, epsilon=epsilon)


def entropy_by_hand(p) -> float:
    return -sum(x * math.log(x) for x in p if x > 0)


def test_the_posterior_decision_carries_every_number_it_was_made_from() -> None:
    decision = decide_on_q(on_q())
    assert decision.rule == "posterior-sample" and decision.alpha == ALPHA and decision.epsilon is None
    assert decision.acting_prior == pytest.approx([0.75, 0.25, 0.0])
    assert decision.p_llm == pytest.approx(P_LLM)
    assert [row.q_value for row in decision.candidates] == pytest.approx(Q)
    likelihood = np.array([1.0, E, E**5]) / (1.0 + E + E**5)
    assert [row.likelihood for row in decision.candidates] == pytest.approx(likelihood)
    assert [row.posterior for row in decision.candidates] == pytest.approx(AGENT_POSTERIOR)
    assert [row.proposal_count for row in decision.candidates] == [3, 1, 0]
    assert decision.breakdown.evidence == pytest.approx(0.75 * likelihood[0] + 0.25 * likelihood[1])
    assert decision.posterior_entropy == pytest.approx(entropy_by_hand(AGENT_POSTERIOR))
    assert decision.p_llm_entropy == pytest.approx(entropy_by_hand(P_LLM))
    kl = sum(q * math.log(q / p) for q, p in zip(AGENT_POSTERIOR, P_LLM) if q > 0)
    assert decision.kl == pytest.approx(kl)
    assert decision.telemetry.kl == decision.kl  # one number, kept by replay files and shown by the panel
    assert decision.exact.posterior == pytest.approx(EXACT_POSTERIOR)
    assert decision.pull == pytest.approx(sum(q * math.log(q / p) for q, p in zip(EXACT_POSTERIOR, P_LLM)))
    assert decision.sampling_noise == pytest.approx(0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.3))


def test_the_posterior_is_sampled_with_the_callers_rng_only() -> None:
    for seed in range(20):
        expected = np.random.default_rng(seed).choice(3, p=AGENT_POSTERIOR)
        assert decide_on_q(on_q(), seed=seed).action == ACTIONS[expected]


def test_greedy_rules_argmax_q_over_the_proposals_or_the_posteriors_mode() -> None:
    # Best Q among the proposals is "wait" (go east has Q 5 but no proposal); the mode is "go west" (0.75 > 0.25e ≈ 0.41).
    assert decide_on_q(on_q(greedy="q"), greedy=True).action == "wait"
    assert decide_on_q(on_q(greedy="map"), greedy=True).action == "go west"


def test_epsilon_greedy_explores_only_the_proposals() -> None:
    settings = on_q(explore="epsilon")
    assert decide_on_q(settings, epsilon=0.0).action == "wait"
    explored = [decide_on_q(settings, epsilon=1.0, seed=seed) for seed in range(30)]
    assert {decision.rule for decision in explored} == {"epsilon-random"}
    assert {decision.action for decision in explored} == {"go west", "wait"}
    assert all(decision.epsilon == 1.0 for decision in explored)


def test_acting_on_a_policy_or_on_the_prior_alone() -> None:
    policy = np.array([0.1, 0.9, 0.0])
    greedy = decide(STATE, answer(), ActingSettings("policy", alpha=0.5), rng=np.random.default_rng(0), greedy=True, policy=policy)
    assert greedy.action == "wait" and greedy.rule == "greedy" and greedy.alpha == 0.5
    assert greedy.kl == pytest.approx(0.1 * math.log(0.1 / 0.5) + 0.9 * math.log(0.9 / 0.3))
    llm = decide(STATE, answer(), ActingSettings("prior"), rng=np.random.default_rng(0), greedy=True)
    assert llm.action == "go west" and llm.follows_prior and llm.kl == 0.0
    uniform = decide(STATE, None, ActingSettings("prior"), rng=np.random.default_rng(3))
    assert uniform.rule == "uniform" and uniform.action == ACTIONS[np.random.default_rng(3).integers(3)]
    assert uniform.p_llm == pytest.approx([1 / 3] * 3)


def test_acting_on_q_without_an_alpha_is_refused() -> None:
    with pytest.raises(ValueError, match="alpha"):
        ActingSettings("q")
    with pytest.raises(ValueError, match="acts_on"):
        ActingSettings("vibes")


def test_redeciding_under_another_prior_keeps_the_action_and_q_and_uses_the_exact_prior() -> None:
    decision = decide_on_q(on_q())
    again = redecide(decision, STATE, answer())
    assert again.action == decision.action and again.rule == decision.rule and again.proposals == ()
    assert [row.posterior for row in again.candidates] == pytest.approx(EXACT_POSTERIOR)
    moved = redecide(decision, STATE, answer([0.2, 0.3, 0.5]))
    evidence = 0.2 + 0.3 * E + 0.5 * E**5
    assert [row.posterior for row in moved.candidates] == pytest.approx([0.2 / evidence, 0.3 * E / evidence, 0.5 * E**5 / evidence])
    assert prior_shift(again, moved) == pytest.approx(0.2 * math.log(0.2 / 0.5) + 0.5 * math.log(0.5 / 0.2))
