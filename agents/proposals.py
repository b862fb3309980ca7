"""The k proposals a prior offers at a state: the candidate set of DQN-Prior and CQL-Prior."""

from __future__ import annotations

import numpy as np

from agents.prior.types import PriorResult


def draw_proposals(result: PriorResult, k: int, rng: np.random.Generator) -> tuple[str, ...]:
    """Sample mode: the LLM's own mapped completions. Score mode (or every sample dropped):
    k draws from the prior distribution. Duplicates are kept: they weight acting by prior mass."""
    mapped = tuple(proposal.action for proposal in result.proposals if proposal.action is not None)
    if mapped and not result.fallback_uniform:
        return mapped
    draws = rng.choice(len(result.actions), size=k, p=result.probs)
    return tuple(result.actions[index] for index in draws)
