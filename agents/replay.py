"""A bounded replay buffer of text transitions that can be saved as JSON (never pickle)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from agents.decision import Transition


class ReplayBuffer:
    """Ring buffer: once full, the oldest transition is overwritten, so memory stays capped."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"replay capacity must be positive, got {capacity}")
        self.capacity = capacity
        self._items: list[Transition] = []
        self._next = 0

    def __len__(self) -> int:
        return len(self._items)

    def add(self, transition: Transition) -> None:
        if len(self._items) < self.capacity:
            self._items.append(transition)
        else:
            self._items[self._next] = transition
        self._next = (self._next + 1) % self.capacity

    def sample(self, batch_size: int, rng: np.random.Generator) -> list[Transition]:
        indices = rng.integers(0, len(self._items), size=batch_size)
        return [self._items[index] for index in indices]

    def to_json(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "next": self._next,
            "items": [asdict(item) for item in self._items],
        }

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> "ReplayBuffer":
        buffer = cls(int(payload["capacity"]))
        # Buffers saved before a field existed lack it: the field's default (nothing stored) stands in.
        sequences = ("next_candidates", "candidates", "next_actions", "next_log_prior")
        buffer._items = [
            Transition(**{**item, **{key: tuple(item[key]) for key in sequences if key in item}})
            for item in payload["items"]
        ]
        buffer._next = int(payload["next"])
        return buffer
