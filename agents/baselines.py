"""Agents that do not learn: the pure LLM agent (acts from the prior) and the random agent."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.base import restore_rng, rng_state
from agents.configs import DQNConfig
from agents.decision import ActingSettings, Decision, TextState, acting_settings, decide
from agents.errors import AgentError
from agents.prior.types import ActionPrior


class _NonLearner:
    """Shared by agents that keep no weights: learning is a no-op, the state is the RNG."""

    name: str
    rng: np.random.Generator
    acting: ActingSettings

    def learn(
        self, state: TextState, action: str, reward: float, next_state: TextState, terminated: bool
    ) -> dict[str, float]:
        return {}

    def forget_proposals(self) -> None:
        """Nothing to forget: no draw is kept between decisions (the LLM agent asks its exactly cached prior each time)."""

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {}, {"agent": self.name, "rng": rng_state(self.rng)}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        restore_rng(self.rng, meta["rng"])


class LLMAgent(_NonLearner):
    """Acts from p_LLM(a|s) alone: argmax when greedy, else a sample."""

    name = "llm"

    def __init__(self, prior: ActionPrior, seed: int = 0, greedy: bool = False) -> None:
        self.prior = prior
        self.always_greedy = greedy
        self.config = DQNConfig(seed=seed)  # the section it is registered with; only the seed counts
        self.acting = acting_settings("prior", self.config, prior)
        self.rng = np.random.default_rng(seed)

    @classmethod
    def from_config(cls, config: DQNConfig, prior: ActionPrior | None) -> "LLMAgent":
        """How `agents.registry.make_agent` builds it: only the config's seed counts."""
        agent = cls(prior, seed=config.seed)
        agent.config = config
        return agent

    def act(self, state: TextState, *, greedy: bool = False, rng: np.random.Generator | None = None) -> Decision:
        if not state.actions:
            raise AgentError("the state has no admissible actions to choose from")
        rng = self.rng if rng is None else rng
        return decide(state, self.prior(state), self.acting, rng=rng, greedy=greedy or self.always_greedy)


class RandomAgent(_NonLearner):
    """Uniform over the admissible actions: the floor every learner must beat."""

    name = "random"
    prior = None

    def __init__(self, seed: int = 0) -> None:
        self.config = DQNConfig(seed=seed)  # the section it is registered with; only the seed counts
        self.acting = acting_settings("prior", self.config, None)
        self.rng = np.random.default_rng(seed)

    @classmethod
    def from_config(cls, config: DQNConfig, prior: ActionPrior | None) -> "RandomAgent":
        """How `agents.registry.make_agent` builds it: only the config's seed counts."""
        agent = cls(seed=config.seed)
        agent.config = config
        return agent

    def act(self, state: TextState, *, greedy: bool = False, rng: np.random.Generator | None = None) -> Decision:
        if not state.actions:
            raise AgentError("the state has no admissible actions to choose from")
        rng = self.rng if rng is None else rng
        return decide(state, None, self.acting, rng=rng)
