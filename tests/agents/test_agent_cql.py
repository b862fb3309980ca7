"""CQL's conservative penalty against a hand computation."""

from __future__ import annotations

import math

import pytest
import torch

from agents.cql import CQLAgent
from agents.decision import Transition
from agents.dqn import DQNConfig
from agents.qnet import logsumexp_per_group, q_values


def test_cql_loss_matches_hand_computation():
    agent = CQLAgent(DQNConfig(features="hash", cql_beta=5.0, gamma=0.9))
    transition = Transition(
        state_text="Task: t\nObservation: room 1",
        action="go east",
        reward=0.25,
        next_state_text="Task: t\nObservation: room 2",
        terminated=False,
        next_candidates=("go east", "wait"),
        candidates=("go east", "go west", "wait"),
    )
    with torch.no_grad():
        q_now = q_values(agent.q_net, agent.features, [transition.state_text] * 3, list(transition.candidates)).tolist()
        q_next = q_values(agent.target_net, agent.features, [transition.next_state_text] * 2, ["go east", "wait"]).tolist()
    target = 0.25 + 0.9 * max(q_next)
    q_data = q_now[0]
    expected = 0.5 * (q_data - target) ** 2 + 5.0 * (math.log(sum(math.exp(q) for q in q_now)) - q_data)
    loss, stats = agent.loss([transition])
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert stats["cql_penalty"] >= 0.0  # the data action is a candidate, so logsumexp ≥ Q(s, a_data)


def test_group_logsumexp_is_differentiable_and_exact():
    agent = CQLAgent(DQNConfig(features="hash"))
    groups = [("a", "b"), ("c",)]
    values = logsumexp_per_group(agent.q_net, agent.features, ["s1", "s2"], groups)
    with torch.no_grad():
        q1 = q_values(agent.q_net, agent.features, ["s1", "s1"], ["a", "b"])
        q2 = q_values(agent.q_net, agent.features, ["s2"], ["c"])
    assert values[0].item() == pytest.approx(torch.logsumexp(q1, 0).item(), rel=1e-6)
    assert values[1].item() == pytest.approx(q2.item(), rel=1e-6)
    values.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in agent.q_net.parameters())
    with pytest.raises(ValueError):
        logsumexp_per_group(agent.q_net, agent.features, ["s"], [()])
