"""The k proposals a prior offers at a state: the candidate set of DQN-Prior and CQL-Prior."""

from __future__ import annotations

import numpy as np

from agents.errors import AgentError
from agents.prior.types import PriorResult


def draw_proposals(result: PriorResult, k: int, rng: np.random.Generator) -> tuple[str, ...]:
    """k proposals, duplicates kept (they weight acting by prior mass).

    Sample mode: the LLM's own mapped completions — the prior must have been asked for k of
    them (`prior(state, k=k)`) — unless a prior floor gave mass to actions the LLM never
    proposed — then, as in score mode (and when every sample was dropped), k draws from the
    prior distribution, so the floor can reach every action.
    """
    if result.proposals and len(result.proposals) != k:
        raise AgentError(
            f"the prior drew {len(result.proposals)} completions but k={k} proposals were asked for; "
            "pass k to the prior (prior(state, k=k))"
        )
    mapped = tuple(proposal.action for proposal in result.proposals if proposal.action is not None)
    supported = {action for action, p in zip(result.actions, result.probs) if p > 0}
    if mapped and not result.fallback_uniform and set(mapped) == supported:
        return mapped
    draws = rng.choice(len(result.actions), size=k, p=result.probs)
    return tuple(result.actions[index] for index in draws)
