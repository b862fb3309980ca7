"""The interface every agent offers to the session engine (and so to the UI and the trainer)."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch

from agents.decision import ActingSettings, Decision, TextState
from agents.prior.types import ActionPrior, PriorResult


class Agent(Protocol):
    """What the session, the trainer, the UI and the commands use of an agent, and nothing more."""

    name: str
    prior: ActionPrior | None  # the LLM prior the agent consults, if any
    config: Any  # the user's settings: an instance of its registry spec's config class, never written to
    acting: ActingSettings  # how it acts now: built from `config`, then replaced only by `Session.update_acting`

    def act(self, state: TextState, *, greedy: bool = False, rng: np.random.Generator | None = None) -> Decision:
        """Choose an action; `rng` lets the UI preview a decision without consuming the agent's randomness."""

    def learn(
        self, state: TextState, action: str, reward: float, next_state: TextState, terminated: bool
    ) -> dict[str, float]:
        """Record one transition and maybe update; returns stats to log (empty for non-learners)."""

    def forget_proposals(self) -> None:
        """Drop what was drawn from (or asked of) the prior for the current state, so the next decision asks
        again: after what `acting` does not show changed (a prompt template), or a step ended without learning."""

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Tensors (saved with safetensors) and JSON-able state, enough for an exact resume."""

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None: ...


class PolicyAgent(Agent, Protocol):
    """An agent that acts from a learned policy (its spec's `acts_on` is "policy")."""

    def policy(self, state: TextState, prior_result: PriorResult | None) -> np.ndarray:
        """π(·|s) over `state.actions`, given the prior's answer there (what the prompt editor re-scores)."""


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    return rng.bit_generator.state


def restore_rng(rng: np.random.Generator, state: dict[str, Any]) -> None:
    rng.bit_generator.state = state


def training_tensors(
    modules: dict[str, torch.nn.Module], optimizer: torch.optim.Optimizer
) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    """Named modules' weights, the optimizer's slots and torch's RNG as flat tensors (for
    safetensors), plus the optimizer's param groups (JSON) — a checkpoint without pickle."""
    tensors = {f"{name}.{key}": value for name, module in modules.items() for key, value in module.state_dict().items()}
    optimizer_state = optimizer.state_dict()
    for param_id, slots in optimizer_state["state"].items():
        for slot, value in slots.items():
            tensors[f"optimizer.{param_id}.{slot}"] = torch.as_tensor(value)
    tensors["torch_rng"] = torch.get_rng_state()
    return tensors, optimizer_state["param_groups"]


def load_training_tensors(
    tensors: dict[str, torch.Tensor],
    modules: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer,
    param_groups: list[dict[str, Any]],
) -> None:
    """The inverse of `training_tensors`."""

    def section(prefix: str) -> dict[str, torch.Tensor]:
        return {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}

    for name, module in modules.items():
        module.load_state_dict(section(f"{name}."))
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in section("optimizer.").items():
        param_id, slot = key.split(".", 1)
        slots.setdefault(int(param_id), {})[slot] = value
    optimizer.load_state_dict({"state": slots, "param_groups": param_groups})
    torch.set_rng_state(tensors["torch_rng"])
