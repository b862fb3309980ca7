"""The interface every agent offers to the session engine (and so to the UI and the trainer)."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch

from agents.decision import Decision, TextState
from agents.prior.types import ActionPrior


class Agent(Protocol):
    name: str
    prior: ActionPrior | None  # the LLM prior the agent consults, if any

    def act(self, state: TextState, *, greedy: bool = False, rng: np.random.Generator | None = None) -> Decision:
        """Choose an action; `rng` lets the UI preview a decision without consuming the agent's randomness."""

    def learn(
        self, state: TextState, action: str, reward: float, next_state: TextState, terminated: bool
    ) -> dict[str, float]:
        """Record one transition and maybe update; returns stats to log (empty for non-learners)."""

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Tensors (saved with safetensors) and JSON-able state, enough for an exact resume."""

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None: ...


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    return rng.bit_generator.state


def restore_rng(rng: np.random.Generator, state: dict[str, Any]) -> None:
    rng.bit_generator.state = state
