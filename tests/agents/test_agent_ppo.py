"""PPO and PPO-Prior: the KL term, GAE and bootstrapping, the α limits, learning, checkpoints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from agents import bayes
from agents.decision import TextState
from agents.ppo import PPOAgent, PPOConfig, RolloutStep, continues_into_next, gae
from sandbox.engine.session import Session
from sandbox.engine.storage import load_checkpoint, save_checkpoint
from sandbox.engine.training import evaluate
from tests.agents.conftest import ChainEnv, ScriptedPrior

ACTIONS = ("go west", "wait", "go east")
EASTWARD = (0.1, 0.1, 0.8)


def room(n: int) -> TextState:
    return TextState(family="test", task="Reach room 4.", observation=f"You are in room {n}.", actions=ACTIONS)


def fast_config(**overrides) -> PPOConfig:
    return PPOConfig(**{"features": "hash", "rollout_steps": 32, **overrides})


def train(agent: PPOAgent, steps: int, env: ChainEnv | None = None) -> Session:
    session = Session(env or ChainEnv(), agent, family="test", seed=0)
    while session.total_steps < steps:
        if session.done:
            session.reset()
        session.step()
    return session


def kl_to_prior(agent: PPOAgent, prior: tuple[float, ...]) -> float:
    """Mean KL(π(·|s) ‖ p) over the chain's rooms."""
    return float(np.mean([bayes.kl_divergence(agent.policy(room(n), agent.prior(room(n))), prior) for n in (1, 2, 3)]))


# ----- the KL term -------------------------------------------------------------------


def test_masked_kl_and_entropy_match_hand_computation_on_padded_action_sets():
    # Row 0: π = (1/2, 1/2) against p = (1/4, 3/4), padded to three actions; row 1: three actions.
    log_p = torch.log(torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])).requires_grad_()
    log_q = torch.log(torch.tensor([[0.25, 0.75, 0.0], [0.5, 0.25, 0.25]]))
    mask = torch.tensor([[True, True, False], [True, True, True]])
    kl = bayes.masked_kl_divergence(log_p, log_q, mask)
    expected = [
        0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75),
        0.2 * math.log(0.2 / 0.5) + 0.3 * math.log(0.3 / 0.25) + 0.5 * math.log(0.5 / 0.25),
    ]
    assert kl.tolist() == pytest.approx(expected, rel=1e-6)
    assert kl[1].item() == pytest.approx(bayes.kl_divergence([0.2, 0.3, 0.5], [0.5, 0.25, 0.25]), rel=1e-6)
    entropy = bayes.masked_entropy(log_p, mask)
    assert entropy.tolist() == pytest.approx([math.log(2), bayes.entropy([0.2, 0.3, 0.5])], rel=1e-6)
    (kl.sum() + entropy.sum()).backward()
    assert torch.isfinite(log_p.grad).all()  # padding (log 0 = −inf) must not poison the gradient


def test_the_loss_adds_alpha_times_the_kl_from_the_policy_to_the_prior(eastward_prior):
    # One epoch of one minibatch: the stats are those of the loss before its only step, when
    # the untrained policy (zeroed last layer, no prior logits) is uniform.
    single_pass = {"prior_logits": False, "update_epochs": 1, "minibatches": 1, "rollout_steps": 4}
    losses = {}
    for alpha in (0.0, 2.0):
        agent = PPOAgent(fast_config(alpha=alpha, **single_pass), prior=eastward_prior)
        for n in (1, 2, 3, 1):
            agent.act(room(n))
            stats = agent.learn(room(n), "wait", 0.0, room(n), False)
        hand_kl = sum(1 / 3 * math.log((1 / 3) / p) for p in EASTWARD)
        assert stats["kl_prior"] == pytest.approx(hand_kl, rel=1e-5)
        losses[alpha] = stats["loss"]
    assert losses[2.0] - losses[0.0] == pytest.approx(2.0 * hand_kl, rel=1e-5)


def test_alpha_anneals_linearly_to_its_final_value(eastward_prior):
    agent = PPOAgent(fast_config(alpha=1.0, alpha_final=0.2, alpha_anneal_steps=100), prior=eastward_prior)
    assert agent.alpha == 1.0
    agent.env_steps = 50
    assert agent.alpha == pytest.approx(0.6)
    agent.env_steps = 500
    assert agent.alpha == pytest.approx(0.2)


# ----- GAE and bootstrapping ---------------------------------------------------------


def test_gae_matches_hand_computation_with_a_terminal_and_a_time_limit_cut():
    gamma, lam = 0.9, 0.8
    rewards = torch.tensor([0.0, 1.0, 0.0, 0.5])
    values = torch.tensor([0.2, 0.4, 0.1, 0.3])
    next_values = torch.tensor([0.4, 9.0, 0.7, 0.6])  # 9.0 sits behind a terminal: never used
    terminated = torch.tensor([0.0, 1.0, 0.0, 0.0])
    continues = torch.tensor([1.0, 0.0, 0.0, 0.0])  # step 2 was cut by the time limit, step 3 ends the rollout
    delta = [0.0 + 0.9 * 0.4 - 0.2, 1.0 - 0.4, 0.0 + 0.9 * 0.7 - 0.1, 0.5 + 0.9 * 0.6 - 0.3]
    expected = [delta[0] + gamma * lam * delta[1], delta[1], delta[2], delta[3]]
    advantages = gae(rewards, values, next_values, terminated, continues, gamma, lam)
    assert advantages.tolist() == pytest.approx(expected, rel=1e-6)


def test_the_gae_chain_breaks_at_terminals_time_limits_and_the_rollout_end():
    def step(state: str, next_state: str, terminated: bool = False) -> RolloutStep:
        return RolloutStep(state, ACTIONS, 2, 0.0, next_state, terminated)

    steps = [step("a", "b"), step("b", "c", terminated=True), step("a", "b"), step("x", "y"), step("y", "z")]
    assert continues_into_next(steps) == [True, False, False, True, False]


def test_time_limit_cuts_found_by_the_agent_match_the_episode_ends():
    # The prior's logits make the agent walk east; room 4 is out of reach in two steps, so
    # every episode is cut by the time limit in room 3 and the next one starts in room 1.
    east_only = ScriptedPrior(probs=lambda q: [0.0, 0.0, 1.0])
    agent = PPOAgent(fast_config(rollout_steps=1000, prior_logits=True), prior=east_only)
    train(agent, 12, env=ChainEnv(length=4, max_steps=2))
    assert {step.action_index for step in agent.rollout} == {2}
    assert not any(step.terminated for step in agent.rollout)
    assert continues_into_next(agent.rollout) == [True, False] * 6


# ----- the α limits ------------------------------------------------------------------


def test_prior_logits_start_the_policy_exactly_at_the_prior(eastward_prior):
    agent = PPOAgent(fast_config(prior_logits=True), prior=eastward_prior)
    np.testing.assert_allclose(agent.policy(room(1), eastward_prior(room(1))), EASTWARD, rtol=1e-6)
    assert PPOAgent(fast_config()).policy(room(1)).tolist() == pytest.approx([1 / 3] * 3)


def test_large_alpha_holds_the_policy_at_the_prior_where_zero_alpha_leaves_it(eastward_prior):
    # Reward pulls π from p = (0.1, 0.1, 0.8) towards always "go east"; only α stops it.
    held = PPOAgent(fast_config(alpha=100.0, lr=1e-3, prior_logits=True), prior=eastward_prior)
    free = PPOAgent(fast_config(alpha=0.0, lr=1e-3, prior_logits=True), prior=eastward_prior)
    for agent in (held, free):
        train(agent, 320)
    assert kl_to_prior(held, EASTWARD) < 1e-3
    assert kl_to_prior(free, EASTWARD) > 0.05
    assert free.policy(room(1), eastward_prior(room(1)))[2] > 0.9


def test_alpha_zero_without_prior_logits_is_plain_ppo(eastward_prior):
    plain = PPOAgent(fast_config())
    regularised = PPOAgent(fast_config(alpha=0.0, prior_logits=False), prior=eastward_prior)
    for agent in (plain, regularised):
        train(agent, 100)  # three updates
    assert plain.updates == regularised.updates == 3
    for a, b in zip(plain.trainable, regularised.trainable, strict=True):
        assert torch.equal(a, b)


# ----- acting and learning -----------------------------------------------------------


def test_decision_shows_the_policy_as_posterior_and_p_llm_as_prior(eastward_prior):
    agent = PPOAgent(fast_config(prior_logits=True), prior=eastward_prior)
    decision = agent.act(room(1))
    assert decision.rule == "policy-sample"
    assert [c.posterior for c in decision.candidates] == pytest.approx(EASTWARD)
    assert [c.prior for c in decision.candidates] == pytest.approx(EASTWARD)
    assert all(c.q_value is None and c.likelihood is None for c in decision.candidates)
    assert decision.alpha == agent.config.alpha and decision.prior_result is not None
    greedy = agent.act(room(1), greedy=True)
    assert (greedy.rule, greedy.action) == ("greedy", "go east")
    plain = PPOAgent(fast_config()).act(room(1))
    assert [c.prior for c in plain.candidates] == pytest.approx([1 / 3] * 3) and plain.alpha is None


def test_a_command_outside_the_admissible_actions_is_not_stored():
    agent = PPOAgent(fast_config())
    stats = agent.learn(room(1), "dance", 0.0, room(1), False)
    assert agent.rollout == [] and stats["rollout_size"] == 0.0
    assert agent.env_steps == 1


def test_short_run_learns_the_chain():
    agent = PPOAgent(fast_config())
    assert evaluate(agent, ChainEnv(), "test", episodes=2).success_rate == 0.0  # greedy on a tie: "go west"
    train(agent, 192)  # six updates: enough for every seed tried (0-4)
    result = evaluate(agent, ChainEnv(), "test", episodes=3)
    assert result.success_rate == 1.0
    assert result.mean_steps == 3.0  # the shortest path


# ----- checkpoints -------------------------------------------------------------------


def test_checkpoint_round_trip_mid_rollout_continues_identically(tmp_path, eastward_prior):
    agent = PPOAgent(fast_config(), prior=eastward_prior)
    train(agent, 45)  # one update and 13 transitions of the next rollout
    assert agent.updates == 1 and len(agent.rollout) == 13
    save_checkpoint(tmp_path / "ckpt", *agent.state_dict())
    restored = PPOAgent(fast_config(seed=99), prior=eastward_prior)
    restored.load_state_dict(*load_checkpoint(tmp_path / "ckpt"))
    assert restored.rollout == agent.rollout

    def carry_on(resumed: PPOAgent) -> list[str]:
        """Sample three actions, then learn 19 transitions: the second update happens."""
        actions = [resumed.act(room(n)).action for n in (1, 2, 3)]
        for n in range(19):
            resumed.learn(room(1 + n % 3), "go east", float(n % 3 == 2), room(2 + n % 3), n % 3 == 2)
        return actions

    assert carry_on(agent) == carry_on(restored)
    assert agent.updates == restored.updates == 2
    for a, b in zip(agent.trainable, restored.trainable, strict=True):
        assert torch.equal(a, b)
