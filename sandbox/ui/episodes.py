"""Episodes played in the UI, recorded as JSON lines so they can be replayed step by step.

One file per episode under saves/episodes/: a header line (env, agent, seed, first
state), then one line per step with the state, the full decision (every candidate's
prior, Q, likelihood and posterior, and the LLM's raw proposals), the reward and the
next state. A file is only created once the episode has a step, so pressing "new
episode" repeatedly leaves no empty files behind.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.decision import Candidate, Decision, TextState
from agents.prior.types import PriorResult, Proposal
from sandbox.errors import SandboxError
from sandbox.session import StepRecord

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def state_to_json(state: TextState) -> dict[str, Any]:
    return asdict(state)


def state_from_json(payload: dict[str, Any]) -> TextState:
    return TextState(
        family=payload["family"],
        task=payload["task"],
        observation=payload["observation"],
        actions=tuple(payload["actions"]),
        history=tuple((action, observation) for action, observation in payload["history"]),
    )


def decision_to_json(decision: Decision) -> dict[str, Any]:
    result = decision.prior_result
    prior = None
    if result is not None:
        prior = {
            "model": result.model,
            "mode": result.mode,
            "proposals": [asdict(proposal) for proposal in result.proposals],
            "dropped": result.dropped,
            "fallback_uniform": result.fallback_uniform,
            "cached": result.cached,
            "ms": result.ms,
        }
    return {
        "action": decision.action,
        "rule": decision.rule,
        "alpha": decision.alpha,
        "epsilon": decision.epsilon,
        "proposals": list(decision.proposals),
        "candidates": [asdict(candidate) for candidate in decision.candidates],
        "prior": prior,
    }


def decision_from_json(payload: dict[str, Any]) -> Decision:
    candidates = tuple(Candidate(**candidate) for candidate in payload["candidates"])
    prior = payload.get("prior")
    prior_result = None
    if prior is not None:
        actions = tuple(candidate.action for candidate in candidates)
        prior_result = PriorResult(
            model=prior["model"],
            mode=prior["mode"],
            actions=actions,
            probs=np.array([candidate.prior for candidate in candidates]),
            proposals=tuple(Proposal(**proposal) for proposal in prior["proposals"]),
            dropped=int(prior["dropped"]),
            fallback_uniform=bool(prior["fallback_uniform"]),
            cached=bool(prior["cached"]),
            ms=float(prior["ms"]),
        )
    return Decision(
        action=payload["action"],
        candidates=candidates,
        rule=payload["rule"],
        alpha=payload["alpha"],
        epsilon=payload["epsilon"],
        proposals=tuple(payload["proposals"]),
        prior_result=prior_result,
    )


def record_to_json(record: StepRecord) -> dict[str, Any]:
    return {
        "kind": "step",
        "episode": record.episode,
        "t": record.t,
        "state": state_to_json(record.state),
        "decision": decision_to_json(record.decision),
        "reward": record.reward,
        "next_state": state_to_json(record.next_state),
        "terminated": record.terminated,
        "truncated": record.truncated,
        "won": record.won,
        "lost": bool(record.info.get("lost", False)),
        "episode_return": record.episode_return,
    }


def record_from_json(payload: dict[str, Any]) -> StepRecord:
    return StepRecord(
        episode=int(payload["episode"]),
        t=int(payload["t"]),
        state=state_from_json(payload["state"]),
        decision=decision_from_json(payload["decision"]),
        reward=float(payload["reward"]),
        next_state=state_from_json(payload["next_state"]),
        terminated=bool(payload["terminated"]),
        truncated=bool(payload["truncated"]),
        info={"won": bool(payload["won"]), "lost": bool(payload["lost"])},
        episode_return=float(payload["episode_return"]),
    )


class EpisodeRecorder:
    """Appends the current episode to saves/episodes/<time>-<env>-<agent>-ep<N>.jsonl."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path: Path | None = None
        self._header: dict[str, Any] | None = None

    def start(
        self, *, env: str, env_kwargs: dict[str, Any], agent: str, episode: int, seed: int, state: TextState
    ) -> None:
        self.path = None
        self._header = {
            "kind": "episode",
            "env": env,
            "env_kwargs": env_kwargs,
            "agent": agent,
            "episode": episode,
            "seed": seed,
            "state": state_to_json(state),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }

    def add(self, record: StepRecord) -> None:
        if self._header is None:
            return
        if self.path is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            name = f"{stamp}-{self._header['env']}-{self._header['agent']}-ep{self._header['episode']:04d}"
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path = self.folder / f"{_UNSAFE.sub('_', name)}.jsonl"
            self._write(self._header)
        self._write(record_to_json(record))

    def _write(self, payload: dict[str, Any]) -> None:
        assert self.path is not None
        with open(self.path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(payload) + "\n")


@dataclass(frozen=True)
class RecordedEpisode:
    """A replayable episode: where it was played and its steps in order."""

    path: Path
    env: str
    agent: str
    episode: int
    first_state: TextState
    steps: tuple[StepRecord, ...]


def load_episode(path: Path) -> RecordedEpisode:
    """Read an episode file; a damaged file is a one-line SandboxError naming it."""
    try:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        header = lines[0]
        if header.get("kind") != "episode":
            raise ValueError("first line is not an episode header")
        steps = tuple(record_from_json(line) for line in lines[1:] if line.get("kind") == "step")
        return RecordedEpisode(
            path=path,
            env=header["env"],
            agent=header["agent"],
            episode=int(header["episode"]),
            first_state=state_from_json(header["state"]),
            steps=steps,
        )
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise SandboxError(f"episode file {path} cannot be replayed ({error})") from error


def list_episodes(folder: Path) -> list[Path]:
    """Recorded episodes, newest first."""
    return sorted(folder.glob("*.jsonl"), reverse=True) if folder.is_dir() else []
