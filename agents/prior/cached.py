"""`CachedPrior`: what every prior does around its backend, written once.

A backend only answers: it says what an answer depends on (`key_parts`) and computes one
(`answer`). Wherever its model runs (llama.cpp here, an OpenAI-compatible engine, the
project's prior server, the oracle, the uniform baseline), `CachedPrior` around it

- checks the query and the k asked for,
- gives sample mode its seed (the config's plus the run's, `sampling_seed`),
- looks the answer up in the exact cache and stores fresh ones (before the floor),
- counts the stats the UI, the progress bar and the `prior` commands show,
- mixes in the floor (ε of uniform mass) after the cache, so one stored answer serves every ε,
- serialises calls (a llama.cpp context or an HTTP connection is not thread-safe; the UI
  calls from workers).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from abc import ABC, abstractmethod
from typing import Any

from agents import bayes
from agents.errors import PriorError
from agents.prior.cache import PriorCache, cache_key, result_from_json, result_to_json
from agents.prior.config import MAX_SAMPLES, PriorConfig
from agents.prior.types import PriorQuery, PriorResult, PriorStats, check_actions

UNIFORM_MODE = "uniform"  # the mode of an answer that is uniform by construction (the floor leaves it alone)


@dataclasses.dataclass(frozen=True)
class PriorRequest:
    """One question to a backend, as `CachedPrior` settled it."""

    query: PriorQuery
    k: int  # completions sample mode draws (the config's k unless the caller asked for another)
    seed: int  # sample mode's seed: the config's plus the run's
    prompt: str | None = None  # an edited prompt read instead of the rendered one (backends with `reads_edited_prompts`)


class PriorBackend(ABC):
    """Answers p(a|s) and says what the answer depends on; nothing else (no cache, stats, seed or floor).

    `config` is the prior's live settings: the UI changes its k and mode, the prior server replaces it.
    """

    config: PriorConfig
    model_name: str
    gpu_layers: int = 0  # layers on a GPU, the output layer counted as one (0 where none or not visible)
    asks_model: bool = True  # a fresh answer is a language-model call (False: the oracle, the uniform prior)
    reads_edited_prompts: bool = False  # answers for a prompt the user edited (the UI's prompt editor)

    @abstractmethod
    def key_parts(self, request: PriorRequest) -> dict[str, Any]:
        """Everything the answer depends on (hashed into the cache key): the model's identity, the settings
        in force and the prompt; a request the backend cannot answer raises PriorError here, before any lookup."""

    @abstractmethod
    def answer(self, request: PriorRequest, cache: PriorCache | None) -> PriorResult:
        """A fresh answer, before the floor. `cache` may hold values the backend derives on the way (the
        content-free readings of PMI calibration); `cached=True` on the result says a cache elsewhere
        (the prior server's) answered, so it is counted as a cache hit."""

    def prompt_for(self, request: PriorRequest) -> str:
        """The prompt the model reads ("" for a prior that reads none)."""
        return ""

    def close(self) -> None:
        """Release the model or the connection."""


class CachedPrior:
    """A prior: its backend's answers, cached exactly, counted, seeded and floored (see the module doc)."""

    def __init__(self, backend: PriorBackend, cache: PriorCache | None, *, run_seed: int = 0) -> None:
        self.backend = backend
        self.run_seed = run_seed  # the seed of the run the prior serves, added to sample mode's seed
        self.stats = PriorStats()
        self._cache = cache  # None: answers are not worth storing (the uniform prior)
        self._lock = threading.Lock()

    @property
    def config(self) -> PriorConfig:
        return self.backend.config

    @config.setter
    def config(self, config: PriorConfig) -> None:
        self.backend.config = config

    @property
    def model_name(self) -> str:
        return self.backend.model_name

    @property
    def gpu_layers(self) -> int:
        return self.backend.gpu_layers

    @property
    def cache(self) -> PriorCache | None:
        """The exact answer cache (memory LRU + optional SQLite file)."""
        return self._cache

    @property
    def sampling_seed(self) -> int:
        """Sample mode's seed: the config's plus the run's (part of the cache key, so the cache stays exact)."""
        return self.config.seed + self.run_seed

    def __call__(self, query: PriorQuery, *, k: int | None = None, prompt: str | None = None) -> PriorResult:
        """p(a|s) over `query.actions`; sample mode draws `k` completions (default: the config's k; DQN-Prior
        asks for its k or eval_k); `prompt` replaces the rendered prompt (the UI's prompt editor)."""
        with self._lock:
            started = time.perf_counter()
            request = self._request(query, k, prompt)
            key = None
            if self._cache is not None:
                key = cache_key(self.backend.key_parts(request))
                stored = self._cache.get(key)
                if stored is not None:
                    return self._floored(self._hit(stored, started))
            result = self.backend.answer(request, self._cache)
            return self._floored(self._record(result, key, started))

    def answer_key(self, query: PriorQuery, *, k: int | None = None, prompt: str | None = None) -> str:
        """The cache key a call with these arguments looks up."""
        return cache_key(self.backend.key_parts(self._request(query, k, prompt)))

    def prompt_for(self, query: PriorQuery) -> str:
        """The prompt exactly as the model reads it."""
        with self._lock:
            return self.backend.prompt_for(PriorRequest(query, self.config.k, self.sampling_seed))

    def close(self) -> None:
        with self._lock:
            self.backend.close()
            if self._cache is not None:
                self._cache.close()

    def _request(self, query: PriorQuery, k: int | None, prompt: str | None) -> PriorRequest:
        """The call's arguments checked and settled: the k drawn and the seed it is drawn with."""
        check_actions(query.actions)
        if prompt is not None:
            if not self.backend.reads_edited_prompts:
                raise PriorError(f"the {self.model_name} prior cannot answer for an edited prompt")
            if not prompt.strip():
                raise PriorError("the edited prompt is empty; write the text the model should read")
        return PriorRequest(query, requested_k(self.config, k), self.sampling_seed, prompt)

    def _hit(self, stored: str, started: float) -> PriorResult:
        result = result_from_json(stored, ms=(time.perf_counter() - started) * 1000)
        self.stats.calls += 1
        self.stats.cache_hits += 1
        self.stats.last_ms = result.ms
        return result

    def _record(self, result: PriorResult, key: str | None, started: float) -> PriorResult:
        """Store a fresh answer (before the floor) and count it: a hit when a cache elsewhere answered, a
        language-model call when the backend asked one."""
        ms = (time.perf_counter() - started) * 1000
        result = dataclasses.replace(result, ms=ms)
        if key is not None:
            self._cache.put(key, result_to_json(result))
        stats = self.stats
        stats.calls += 1
        stats.last_ms = ms
        if result.cached:
            stats.cache_hits += 1
        elif self.backend.asks_model:
            stats.llm_calls += 1
            stats.llm_ms += ms
            stats.tokens_evaluated += result.tokens_evaluated
            stats.dropped_proposals += result.dropped
        return result

    def _floored(self, result: PriorResult) -> PriorResult:
        return with_floor(result, self.config.epsilon)


def requested_k(config: PriorConfig, k: int | None) -> int:
    """The k a call draws: the one asked for (DQN-Prior asks for its k, eval_k when greedy), by default the
    config's; PriorError in sample mode when it is out of range."""
    k = config.k if k is None else k
    if config.mode == "sample" and not 1 <= k <= MAX_SAMPLES:
        raise PriorError(f"k must be in 1..{MAX_SAMPLES}, got {k}")
    return k


def with_floor(result: PriorResult, epsilon: float) -> PriorResult:
    """Mix in the floor's uniform mass after the cache, so one stored answer serves every floor:
    changing ε (in the UI, or across an ablation) asks the model nothing new. A uniform answer is
    its own floor and is returned as it is."""
    if epsilon == 0 or result.mode == UNIFORM_MODE:
        return result
    return dataclasses.replace(result, probs=bayes.mix_uniform(result.probs, epsilon))
