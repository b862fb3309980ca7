"""Replay files: one episode as JSON lines, written by play and training, read by the replay view.

A file holds, one JSON object per line:

1. a header: `{"kind": "episode", "schema": 1, "env", "env_kwargs", "agent", "episode",
   "seed", "source" ("play", "train" or "eval"), "step" (env steps when it began), "state"
   (the first state)}`;
2. one `{"kind": "step", ...}` per step: the state, the full decision (every candidate's
   prior, Q, likelihood and posterior, the LLM's raw proposals, the prior's cost, the acting
   settings it was made under: α, k, eval_k, the rules, the prior's mode and floor), its
   `telemetry` (see `agents.decision.Telemetry`), reward, score, max score and next state;
3. when the episode ended, `{"kind": "summary", ...}`: the episode's row of the metrics
   schema (`sandbox.engine.metrics`).

Training writes each finished episode whole, atomically. The UI appends each step as it
is played (so an unfinished episode can be replayed) and rewrites the file atomically,
summary included, when the episode ends; a reader ignores a last line cut short.
Files without a "schema" key (version 0, before telemetry and scores) still load, and so do
decisions written before they carried their settings (read back with `settings` None).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.decision import ActingSettings, Candidate, Decision, TextState, restored_breakdown
from agents.prior.types import PriorResult, Proposal
from sandbox.errors import SandboxError
from sandbox.engine.metrics import episode_metrics, finite
from sandbox.engine.session import StepRecord
from sandbox.engine.storage import atomic_write_text

SCHEMA_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _json_line(payload: dict[str, Any]) -> str:
    """One line of strict JSON: NaN and infinities become null."""
    return json.dumps(finite(payload), allow_nan=False)


def state_to_json(state: TextState) -> dict[str, Any]:
    return asdict(state)


def state_from_json(payload: dict[str, Any]) -> TextState:
    return TextState(
        family=payload["family"],
        task=payload["task"],
        observation=payload["observation"],
        actions=tuple(payload["actions"]),
        history=tuple((action, observation) for action, observation in payload["history"]),
        optimal=None if payload.get("optimal") is None else tuple(payload["optimal"]),
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
            "tokens_evaluated": result.tokens_evaluated,
        }
    return {
        "action": decision.action,
        "rule": decision.rule,
        "alpha": decision.alpha,
        "epsilon": decision.epsilon,
        "proposals": list(decision.proposals),
        "candidates": [asdict(candidate) for candidate in decision.candidates],
        "prior": prior,
        # The prior the agent acted on (see Decision.breakdown); with Q and α it gives back the whole breakdown.
        "acting_prior": decision.breakdown.prior.tolist() if decision.breakdown is not None else None,
        "settings": decision.settings.to_json() if decision.settings is not None else None,
    }


def decision_from_json(payload: dict[str, Any]) -> Decision:
    candidates = tuple(Candidate(**candidate) for candidate in payload["candidates"])
    prior = payload.get("prior")
    prior_result = None
    if prior is not None:
        prior_result = PriorResult(
            model=prior["model"],
            mode=prior["mode"],
            actions=tuple(candidate.action for candidate in candidates),
            probs=np.array([candidate.prior for candidate in candidates]),
            proposals=tuple(Proposal(**proposal) for proposal in prior["proposals"]),
            dropped=int(prior["dropped"]),
            fallback_uniform=bool(prior["fallback_uniform"]),
            cached=bool(prior["cached"]),
            ms=float(prior["ms"]),
            tokens_evaluated=int(prior.get("tokens_evaluated", 0)),
        )
    return Decision(
        action=payload["action"],
        candidates=candidates,
        rule=payload["rule"],
        alpha=payload["alpha"],
        epsilon=payload["epsilon"],
        proposals=tuple(payload["proposals"]),
        prior_result=prior_result,
        # The prior the agent acted on, with Q and α, gives back its Bayes rule exactly.
        breakdown=restored_breakdown(candidates, payload["alpha"], payload["proposals"], payload.get("acting_prior")),
        settings=ActingSettings.from_json(settings) if (settings := payload.get("settings")) is not None else None,
    )


def record_to_json(record: StepRecord) -> dict[str, Any]:
    return {
        "kind": "step",
        "episode": record.episode,
        "t": record.t,
        "state": state_to_json(record.state),
        "decision": decision_to_json(record.decision),
        "telemetry": record.decision.telemetry.to_json(),
        "reward": record.reward,
        "next_state": state_to_json(record.next_state),
        "terminated": record.terminated,
        "truncated": record.truncated,
        "won": record.won,
        "lost": bool(record.info.get("lost", False)),
        "score": record.info.get("score"),
        "max_score": record.info.get("max_score"),
        "episode_return": record.episode_return,
    }


def record_from_json(payload: dict[str, Any]) -> StepRecord:
    info = {key: payload[key] for key in ("won", "lost", "score", "max_score") if payload.get(key) is not None}
    return StepRecord(
        episode=int(payload["episode"]),
        t=int(payload["t"]),
        state=state_from_json(payload["state"]),
        decision=decision_from_json(payload["decision"]),
        reward=float(payload["reward"]),
        next_state=state_from_json(payload["next_state"]),
        terminated=bool(payload["terminated"]),
        truncated=bool(payload["truncated"]),
        info=info,
        episode_return=float(payload["episode_return"]),
    )


def header_json(
    *,
    env: str,
    env_kwargs: dict[str, Any],
    agent: str,
    episode: int,
    seed: int,
    source: str,
    step: int,
    state: TextState,
) -> dict[str, Any]:
    """The first line of a replay file: where the episode was played, and its first state."""
    return {
        "kind": "episode",
        "schema": SCHEMA_VERSION,
        "env": env,
        "env_kwargs": env_kwargs,
        "agent": agent,
        "episode": episode,
        "seed": seed,
        "source": source,
        "step": step,
        "state": state_to_json(state),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def episode_text(header: dict[str, Any], records: Sequence[StepRecord], *, finished: bool) -> str:
    lines = [_json_line(header)] + [_json_line(record_to_json(record)) for record in records]
    if finished and records:
        lines.append(_json_line({"kind": "summary", **episode_metrics(records)}))
    return "\n".join(lines) + "\n"


def write_episode(path: Path, header: dict[str, Any], records: Sequence[StepRecord]) -> None:
    """A finished episode, whole and atomically: a reader sees the old file or the new one.
    Not fsynced: training writes one per episode, and a replay is cheap to lose in a power cut."""
    atomic_write_text(path, episode_text(header, records, finished=True), durable=False)


class EpisodeRecorder:
    """The UI's recorder: appends each step to saves/episodes/<time>-<env>-<agent>-ep<N>.jsonl as it is
    played, and rewrites the file atomically with its summary when the episode ends. A file is created
    only once the episode has a step, so pressing "new episode" repeatedly leaves no empty files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path: Path | None = None
        self._header: dict[str, Any] | None = None
        self._records: list[StepRecord] = []

    def start(self, header: dict[str, Any]) -> None:
        self.path = None
        self._header = header
        self._records = []

    def add(self, record: StepRecord) -> None:
        if self._header is None:
            return
        if self.path is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            name = f"{stamp}-{self._header['env']}-{self._header['agent']}-ep{self._header['episode']:04d}"
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path = self.folder / f"{_UNSAFE.sub('_', name)}.jsonl"
            self._append(self._header)
        self._records.append(record)
        if record.done:
            write_episode(self.path, self._header, self._records)
        else:
            self._append(record_to_json(record))

    def _append(self, payload: dict[str, Any]) -> None:
        assert self.path is not None
        with open(self.path, "a", encoding="utf-8") as stream:
            stream.write(_json_line(payload) + "\n")


@dataclass(frozen=True)
class RecordedEpisode:
    """A replayable episode: where it was played and its steps in order."""

    path: Path
    env: str
    agent: str
    episode: int
    source: str  # "play", "train" or "eval"
    step: int  # env steps before it began (training); 0 for play
    first_state: TextState
    steps: tuple[StepRecord, ...]

    @property
    def finished(self) -> bool:
        return bool(self.steps) and self.steps[-1].done

    def metrics(self) -> dict[str, float] | None:
        """The episode's row of the metrics schema (None before its first step)."""
        return episode_metrics(self.steps) if self.steps else None


def load_episode(path: Path) -> RecordedEpisode:
    """Read a replay file; a damaged or unknown file is a one-line SandboxError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        if lines and not text.endswith("\n"):
            lines = lines[:-1]  # a step still being appended
        payloads = [json.loads(line) for line in lines if line.strip()]
        header = payloads[0]
        if header.get("kind") != "episode":
            raise ValueError("the first line is not an episode header")
        if int(header.get("schema", 0)) > SCHEMA_VERSION:
            raise ValueError(f"schema {header['schema']} is newer than this sandbox reads ({SCHEMA_VERSION})")
        steps = tuple(record_from_json(line) for line in payloads[1:] if line.get("kind") == "step")
        return RecordedEpisode(
            path=path,
            env=header["env"],
            agent=header["agent"],
            episode=int(header["episode"]),
            source=str(header.get("source", "play")),
            step=int(header.get("step", 0)),
            first_state=state_from_json(header["state"]),
            steps=steps,
        )
    except (OSError, UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError) as error:
        raise SandboxError(f"{path} is not a replay file that can be opened ({error})") from error


def list_episodes(folder: Path, pattern: str = "*.jsonl") -> list[Path]:
    """Replay files in a folder, newest first (names start with a time or a zero-padded counter)."""
    return sorted(folder.glob(pattern), reverse=True) if folder.is_dir() else []


def prune_episodes(folder: Path, pattern: str, keep: int) -> None:
    """Delete all but the newest `keep` files matching `pattern` (training keeps the disk bounded)."""
    for old in list_episodes(folder, pattern)[keep:]:
        old.unlink(missing_ok=True)
