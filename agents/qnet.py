"""Q(s,a) from frozen text features: a small MLP head over [state, action, state⊙action]."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from agents.features import FeatureCache


class QHead(nn.Module):
    """The only trained part (paper: BERT CLS → 64 → 64 → 1, ReLU)."""

    def __init__(self, feature_dim: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = 3 * feature_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, state_vectors: torch.Tensor, action_vectors: torch.Tensor) -> torch.Tensor:
        joint = torch.cat([state_vectors, action_vectors, state_vectors * action_vectors], dim=-1)
        return self.mlp(joint).squeeze(-1)


def q_values(head: QHead, features: FeatureCache, state_texts: Sequence[str], actions: Sequence[str]) -> torch.Tensor:
    """Q for aligned (state text, action) pairs; texts are encoded once and cached."""
    return head(features.encode(state_texts), features.encode(actions))


def max_q_per_group(
    head: QHead,
    features: FeatureCache,
    state_texts: Sequence[str],
    candidate_groups: Sequence[Sequence[str]],
) -> torch.Tensor:
    """max_{a' in group i} Q(s'_i, a') for every i; 0 for an empty group (a terminal s')."""
    pair_states = [text for text, group in zip(state_texts, candidate_groups) for _ in group]
    pair_actions = [action for group in candidate_groups for action in group]
    result = torch.zeros(len(state_texts))
    if not pair_actions:
        return result
    group_ids = torch.tensor([index for index, group in enumerate(candidate_groups) for _ in group])
    values = q_values(head, features, pair_states, pair_actions)
    return result.scatter_reduce(0, group_ids, values, reduce="amax", include_self=False)


def logsumexp_per_group(
    head: QHead,
    features: FeatureCache,
    state_texts: Sequence[str],
    candidate_groups: Sequence[Sequence[str]],
) -> torch.Tensor:
    """log Σ_{a in group i} exp Q(s_i, a) for every i (differentiable: CQL's push-down term)."""
    if any(len(group) == 0 for group in candidate_groups):
        raise ValueError("every state needs at least one candidate action for the logsumexp")
    pair_states = [text for text, group in zip(state_texts, candidate_groups) for _ in group]
    pair_actions = [action for group in candidate_groups for action in group]
    group_ids = torch.tensor([index for index, group in enumerate(candidate_groups) for _ in group])
    values = q_values(head, features, pair_states, pair_actions)
    group_max = torch.full((len(state_texts),), float("-inf")).scatter_reduce(
        0, group_ids, values.detach(), reduce="amax", include_self=True
    )
    sums = torch.zeros(len(state_texts)).index_add(0, group_ids, torch.exp(values - group_max[group_ids]))
    return group_max + torch.log(sums)
