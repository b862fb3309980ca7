"""The k proposals a prior offers at a state (the candidate set of DQN-Prior and CQL-Prior), and the one
draw an agent keeps for the state it is about to act in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.decision import ActingSettings
from agents.errors import AgentError
from agents.prior.types import PriorQuery, PriorResult


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


DrawShape = tuple[int | None, str | None, float]  # what shapes a draw: (k drawn, the prior's mode, the prior floor)


@dataclass(frozen=True)
class Draw:
    """What the prior offered at one state: its answer and the proposals drawn from it, under `shape`."""

    state: PriorQuery
    shape: DrawShape
    answer: PriorResult | None  # None when restored from a checkpoint: asked again on use (it is cached exactly)
    proposals: tuple[str, ...]


def draw_shape(settings: ActingSettings, greedy: bool = False) -> DrawShape:
    """The settings a draw depends on: changing one of them (k, the prior's mode or floor) draws anew; α does not."""
    return settings.proposals_per_state(greedy), settings.prior_mode, settings.floor


class CurrentDraw:
    """The one place an agent keeps what the prior offered for the state about to be acted in, so deciding
    there again (the UI changing α), learning there and acting there see the same draw.

    A draw is found only for its state and its shape (`draw_shape`), so a new k, prior mode or floor draws
    anew without anyone clearing it; `forget` is for what the shape does not see (a new prompt template, a
    step that ended without learning).
    """

    def __init__(self) -> None:
        self.kept: Draw | None = None

    def find(self, state: PriorQuery, shape: DrawShape) -> Draw | None:
        kept = self.kept
        return kept if kept is not None and kept.shape == shape and kept.state == state else None

    def keep(self, draw: Draw) -> Draw:
        self.kept = draw
        return draw

    def forget(self) -> None:
        self.kept = None
