"""What a prior is asked and what it answers; every prior (LLM or uniform) speaks these types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from agents.errors import PriorError
from agents.prior.config import PriorConfig


@dataclass(frozen=True)
class PriorQuery:
    """One text state: everything the prompt is built from."""

    family: str  # env family ("textworld", "frozenlake", ...) selects the prompt template
    task: str
    observation: str
    actions: tuple[str, ...]  # the admissible actions, in the env's order
    history: tuple[tuple[str, str], ...] = ()  # recent (action, observation it was taken at), oldest first
    # The env's optimal actions here, attached by the session only for a prior that reads them (the
    # oracle; see `reads_optimal_actions`). Never in a prompt or a cache key of a language model, and
    # not part of the state's identity.
    optimal: tuple[str, ...] | None = field(default=None, compare=False)


def check_actions(actions: tuple[str, ...]) -> None:
    if not actions:
        raise PriorError("the state has no admissible actions; a prior needs at least one")
    if len(set(actions)) != len(actions):
        raise PriorError("the admissible actions contain duplicates; each action must appear once")


@dataclass(frozen=True)
class Proposal:
    """One free-form LLM completion (sample mode) and what it mapped to."""

    text: str
    action: str | None  # the admissible action it maps to; None when dropped
    how: str  # "exact" | "normalised" | "fuzzy" | "dropped"


@dataclass(frozen=True)
class PriorResult:
    """p_LLM(a|s) over the query's actions, plus what it cost to get."""

    model: str
    mode: str
    actions: tuple[str, ...]
    probs: np.ndarray  # sums to 1, aligned with `actions`, floor already mixed in
    sequence_log_probs: np.ndarray | None = None  # score mode: Σ token log-probs per action (None when judged)
    scores: np.ndarray | None = None  # score mode: what `probs` normalises, softmax(scores / T) (agents/prior/scoring.py)
    token_counts: tuple[int, ...] = ()  # score mode: tokens per action
    proposals: tuple[Proposal, ...] = ()  # sample mode: the k completions
    dropped: int = 0  # sample mode: proposals that mapped to no action
    fallback_uniform: bool = False  # sample mode: every proposal dropped, uniform used instead
    cached: bool = False
    ms: float = 0.0
    tokens_evaluated: int = 0
    prompt: str = ""


@dataclass
class PriorStats:
    """Running counters, shown in progress bars and the UI status bar."""

    calls: int = 0
    cache_hits: int = 0
    llm_calls: int = 0  # queries the language model itself answered (0 for the uniform prior)
    llm_ms: float = 0.0
    tokens_evaluated: int = 0
    dropped_proposals: int = 0
    last_ms: float = 0.0

    @property
    def cache_misses(self) -> int:
        """Calls the model had to answer (the cache did not hold them)."""
        return self.calls - self.cache_hits

    @property
    def cache_hit_rate(self) -> float:
        return self.cache_hits / self.calls if self.calls else 0.0


class ActionPrior(Protocol):
    """The interface every prior offers (LLM-backed or uniform)."""

    config: PriorConfig
    model_name: str
    gpu_layers: int  # layers llama.cpp put on a GPU, the output layer counted as one; 0 on CPU-only builds
    stats: PriorStats

    def __call__(self, query: PriorQuery, *, k: int | None = None) -> PriorResult:
        """p_LLM over `query.actions`; sample mode draws `k` completions (default: the config's k)."""

    def prompt_for(self, query: PriorQuery) -> str: ...

    def close(self) -> None: ...


def reads_optimal_actions(prior: object | None) -> bool:
    """Whether `prior` reads `PriorQuery.optimal` (the oracle does, by a `reads_optimal_actions = True`
    attribute): the session then asks the env for its optimal actions at every state."""
    return bool(getattr(prior, "reads_optimal_actions", False))
