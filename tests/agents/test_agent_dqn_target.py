"""DQN's bootstrap comes from the target network, and a sync moves the target by exactly τ.

The networks are set to known weights (zero weights, a chosen output bias: Q is that constant
everywhere), so each expected number is worked out by hand here, not by the code under test.
"""

from __future__ import annotations

import pytest
import torch

from agents.decision import TextState
from agents.dqn import DQNAgent, DQNConfig
from agents.qnet import QHead

ACTIONS = ("go west", "wait", "go east")


def room(n: int) -> TextState:
    return TextState(family="test", task="Reach room 4.", observation=f"You are in room {n}.", actions=ACTIONS)


def agent_without_updates(**overrides: object) -> DQNAgent:
    """Plain DQN (every admissible action is a candidate at s'), one transition per batch, no automatic updates."""
    settings = {"features": "hash", "batch_size": 1, "learning_starts": 10**6, "gamma": 0.9, **overrides}
    return DQNAgent(DQNConfig(**settings))  # type: ignore[arg-type]


@torch.no_grad()
def set_constant_q(head: QHead, value: float) -> None:
    """Every weight 0 and the output bias `value`: Q(s, a) = value for every state and action."""
    for parameter in head.parameters():
        parameter.zero_()
    head.mlp[-1].bias.fill_(value)


@torch.no_grad()
def fill_parameters(head: QHead, value: float) -> None:
    for parameter in head.parameters():
        parameter.fill_(value)


def flat(head: QHead) -> torch.Tensor:
    return torch.cat([parameter.detach().flatten() for parameter in head.parameters()]).clone()


@pytest.mark.parametrize(("terminated", "target"), [(False, 1.0 + 0.9 * 2.0), (True, 1.0)])
def test_the_bootstrap_reads_the_target_network_not_the_online_one(terminated: bool, target: float) -> None:
    agent = agent_without_updates()
    agent.learn(room(1), "go east", 1.0, room(2), terminated)
    set_constant_q(agent.q_net, 0.5)  # Q_online ≡ 0.5: the prediction, and the wrong bootstrap
    set_constant_q(agent.target_net, 2.0)  # Q_target ≡ 2.0: y = r + γ·2.0 = 2.8 (y = r = 1 at a terminal s')
    loss = agent.update()["loss"]
    assert loss == pytest.approx(0.5 * (0.5 - target) ** 2)  # 2.645; from the online net it would be 0.45125


def test_a_soft_sync_moves_the_target_a_fraction_tau_towards_the_online_network() -> None:
    agent = agent_without_updates(target_tau=0.25, target_every=1)
    agent.learn(room(1), "go east", 1.0, room(2), False)
    fill_parameters(agent.target_net, 2.0)
    before = flat(agent.q_net)
    agent.update()  # one gradient step on the online net, then the sync
    online = flat(agent.q_net)
    assert not torch.equal(online, before)  # the sync averages in the online weights after the step
    torch.testing.assert_close(flat(agent.target_net), 0.75 * 2.0 + 0.25 * online)


def test_the_target_is_synced_every_target_every_updates_and_a_hard_sync_copies() -> None:
    agent = agent_without_updates(target_every=3)  # target_tau = 1: a hard copy
    agent.learn(room(1), "go east", 1.0, room(2), False)
    fill_parameters(agent.target_net, 2.0)
    for _ in range(2):
        agent.update()
        assert torch.all(flat(agent.target_net) == 2.0)  # updates 1 and 2: the target stays put
    agent.update()
    torch.testing.assert_close(flat(agent.target_net), flat(agent.q_net))  # update 3: a copy of the online net
