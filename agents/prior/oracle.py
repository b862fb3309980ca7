"""The oracle prior: a prior whose quality is set by hand, `--prior-model oracle:skill=S`.

At each state it reads the env's optimal actions O (attached to the query by the session,
see `PriorQuery.optimal`) and answers `bayes.skill_prior`: for S >= 0 mass S on O and the
rest uniform, so its skill is exactly S; for S < 0 mass |S| on the other actions. It speaks
the LLM prior's interface (score mode; sample mode as k seeded draws from that distribution;
the exact cache; the floor; stats), asks no language model (`llm_calls` stays 0, its answers'
mode is "oracle"), and so every agent, the UI, `bench` and `sweep` use it unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any

import numpy as np

from agents import bayes
from agents.errors import PriorError
from agents.prior.cache import PriorCache, cache_key
from agents.prior.cached import CachedPrior, PriorBackend, PriorRequest
from agents.prior.config import PriorConfig
from agents.prior.types import PriorQuery, PriorResult, Proposal

ORACLE_MODEL = "oracle"
ORACLE_MODE = "oracle"  # the answers' mode: like "uniform", no language model was consulted
_SPEC = re.compile(r"^oracle(?::skill=(?P<skill>[^,\s]+))?$")
SPEC_HINT = "write it as oracle:skill=S with S in [-1, 1], e.g. --prior-model oracle:skill=0.5"


def is_oracle_model(model: str) -> bool:
    return model == ORACLE_MODEL or model.startswith(f"{ORACLE_MODEL}:")


def oracle_skill(model: str) -> float:
    """S from "oracle:skill=S" ("oracle" alone is skill 1); a one-line PriorError otherwise."""
    match = _SPEC.match(model)
    if match is None:
        raise PriorError(f"bad oracle prior {model!r}: {SPEC_HINT}")
    if match["skill"] is None:
        return 1.0
    try:
        skill = float(match["skill"])
    except ValueError:
        raise PriorError(f"bad oracle skill {match['skill']!r}: {SPEC_HINT}") from None
    if not -1.0 <= skill <= 1.0:
        raise PriorError(f"oracle skill must be in [-1, 1], got {skill:g}: {SPEC_HINT}")
    return skill


class OraclePriorBackend(PriorBackend):
    """p(a|s) from the env's optimal actions and a skill dial; no language model. Its answers are cached in
    memory only: they cost microseconds."""

    asks_model = False

    def __init__(self, config: PriorConfig) -> None:
        self.config = config
        self.skill = oracle_skill(config.model)
        self.model_name = f"{ORACLE_MODEL}:skill={self.skill:g}"

    def key_parts(self, request: PriorRequest) -> dict[str, Any]:
        query = request.query
        return {
            "model": self.model_name,
            "mode": self.config.mode,
            "actions": list(query.actions),
            "optimal": [bool(flag) for flag in self._optimal_mask(query)],
            # Sample mode draws per state (as an LLM reading the observation would), score mode's answer
            # depends on the actions and O alone.
            **(
                {"k": request.k, "seed": request.seed, "task": query.task, "observation": query.observation}
                if self.config.mode == "sample"
                else {}
            ),
        }

    def answer(self, request: PriorRequest, cache: PriorCache | None) -> PriorResult:
        """The skill-S distribution; sample mode draws `request.k` proposals from it."""
        probs = bayes.skill_prior(self._optimal_mask(request.query), self.skill)
        result = PriorResult(model=self.model_name, mode=ORACLE_MODE, actions=request.query.actions, probs=probs)
        return self._sampled(result, request) if self.config.mode == "sample" else result

    def _optimal_mask(self, query: PriorQuery) -> np.ndarray:
        if query.optimal is None:
            raise PriorError(
                "the oracle prior needs the env's optimal actions at each state and this state carries none;"
                " run it in a session (train, play, bench), which asks the env for them"
            )
        unknown = sorted(set(query.optimal) - set(query.actions))
        if unknown:
            raise PriorError(f"the optimal actions {', '.join(map(repr, unknown))} are not among the state's actions")
        chosen = set(query.optimal)
        return np.array([action in chosen for action in query.actions], dtype=bool)

    def _sampled(self, result: PriorResult, request: PriorRequest) -> PriorResult:
        """k draws from the oracle's distribution, seeded by the state (through its cache key), and their
        empirical frequency: the same answer every time the state comes back, as a cached LLM's samples are."""
        state = int(hashlib.sha256(cache_key(self.key_parts(request)).encode()).hexdigest()[:15], 16)
        rng = np.random.default_rng([request.seed, state])
        draws = rng.choice(len(result.actions), size=request.k, p=result.probs)
        proposals = tuple(Proposal(result.actions[i], result.actions[i], "exact") for i in draws)
        probs = bayes.empirical_prior([proposal.action for proposal in proposals], result.actions)
        return dataclasses.replace(result, probs=probs, proposals=proposals)


class OraclePrior(CachedPrior):
    """The oracle behind the interface, cache, stats and floor of every prior."""

    reads_optimal_actions = True  # the session attaches O to every query it makes
    backend: OraclePriorBackend

    def __init__(self, config: PriorConfig, *, run_seed: int = 0) -> None:
        backend = OraclePriorBackend(config)
        super().__init__(backend, PriorCache(None, config.memory_cache_size), run_seed=run_seed)

    @property
    def skill(self) -> float:
        return self.backend.skill
