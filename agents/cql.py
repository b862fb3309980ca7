"""CQL and CQL-Prior: offline Q-learning from a fixed dataset of text transitions.

    L = ½(Q(s,a) − y)²  +  β·[ logsumexp_{a ∈ C(s)} Q(s,a) − Q(s,a_data) ]

C(s) is every admissible action for CQL, and only the prior's proposals at s for
CQL-Prior (METHOD.md); the target y maxes over the candidates stored at s' the same
way. Everything else — features, Q head, target network, acting, checkpoints — is
DQN's, so this file holds only the conservative penalty.
"""

from __future__ import annotations

import torch

from agents.decision import Transition
from agents.dqn import DQNAgent, DQNConfig
from agents.prior.types import ActionPrior
from agents.qnet import logsumexp_per_group


class CQLAgent(DQNAgent):
    def __init__(self, config: DQNConfig, prior: ActionPrior | None = None) -> None:
        super().__init__(config, prior)
        self.name = "cql-prior" if prior is not None else "cql"

    def loss(self, batch: list[Transition]) -> tuple[torch.Tensor, dict[str, float]]:
        td, predicted = self.td_loss(batch)
        pushed_down = logsumexp_per_group(self.q_net, self.features, [t.state_text for t in batch], [t.candidates for t in batch])
        penalty = torch.mean(pushed_down - predicted)
        loss = td + self.config.cql_beta * penalty
        return loss, {
            "loss": float(loss.detach()),
            "td_loss": float(td.detach()),
            "cql_penalty": float(penalty.detach()),
            "q_mean": float(predicted.detach().mean()),
        }
