"""Small, fast stand-ins for agent tests: a text chain env and a scripted prior.

The real envs and the real llama.cpp prior have their own suites; here the agents'
own logic is under test, so its inputs are kept exact and instant.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pytest

from agents.prior.config import PriorConfig
from agents.prior.types import PriorQuery, PriorResult, PriorStats, Proposal


class ChainEnv(gym.Env):
    """Rooms 1..n in a row; "go east" moves on, reaching room n wins (+1)."""

    ACTIONS = ("go west", "wait", "go east")

    def __init__(self, length: int = 4, max_steps: int = 12) -> None:
        self.length = length
        self.max_steps = max_steps
        self.observation_space = gym.spaces.Text(max_length=200)
        self.action_space = gym.spaces.Text(max_length=50)

    def _info(self) -> dict:
        won = self.room == self.length
        return {
            "admissible_commands": list(self.ACTIONS),
            "task": f"Reach room {self.length}.",
            "won": won,
            "lost": False,
            "score": int(won),
            "max_score": 1,
        }

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.room, self.steps = 1, 0
        return f"You are in room {self.room}.", self._info()

    def step(self, action: str):
        self.steps += 1
        if action == "go east":
            self.room += 1
        elif action == "go west":
            self.room = max(1, self.room - 1)
        info = self._info()
        reward = 1.0 if info["won"] else 0.0
        return f"You are in room {self.room}.", reward, info["won"], self.steps >= self.max_steps, info


class ScriptedPrior:
    """An ActionPrior whose answer is a function of the query: score-mode probs or sample-mode proposals.

    Sample mode draws k completions (the config's k unless the caller asks for another): the
    scripted ones, repeated as often as needed. Every call's k is recorded in `asked_k`.
    """

    def __init__(
        self,
        probs: Callable[[PriorQuery], list[float]] | None = None,
        proposals: Callable[[PriorQuery], list[str | None]] | None = None,
    ) -> None:
        self.config = PriorConfig(model="scripted", mode="sample" if proposals else "score")
        self.model_name = "scripted"
        self.gpu_layers = 0
        self.stats = PriorStats()
        self._probs = probs
        self._proposals = proposals
        self.asked_k: list[int | None] = []

    def __call__(self, query: PriorQuery, *, k: int | None = None) -> PriorResult:
        self.stats.calls += 1
        self.asked_k.append(k)
        if self._proposals is not None:
            script = self._proposals(query)
            k = self.config.k if k is None else k
            mapped = (script * k)[:k]
            kept = [a for a in mapped if a is not None]
            probs = np.array([kept.count(a) / len(kept) for a in query.actions])
            proposals = tuple(Proposal(text=a or "???", action=a, how="exact" if a else "dropped") for a in mapped)
            return PriorResult("scripted", "sample", query.actions, probs, proposals=proposals)
        return PriorResult("scripted", "score", query.actions, np.asarray(self._probs(query), dtype=float))

    def prompt_for(self, query: PriorQuery) -> str:
        return query.observation

    def close(self) -> None:
        pass


@pytest.fixture
def chain_env() -> ChainEnv:
    return ChainEnv()


@pytest.fixture
def eastward_prior() -> ScriptedPrior:
    """A helpful prior: most mass on the action that makes progress."""
    return ScriptedPrior(probs=lambda q: [0.1 if a != "go east" else 0.8 for a in q.actions])
