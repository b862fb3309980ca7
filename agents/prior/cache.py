"""The exact prior cache: the prior is fixed, so an answer, once computed, is reused forever.

A bounded in-memory LRU sits in front of an SQLite file (WAL, every write committed) so
several runs, and later sessions, share answers. Values are JSON, never pickle: a cache
file must not be able to run code. A corrupt file is moved aside with a warning and a
fresh one started; the cache never stops a run.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from agents.prior.types import PriorResult, Proposal

CACHE_FORMAT = 1  # bump when the meaning of a stored answer changes; old entries then simply miss


def cache_key(parts: dict[str, Any]) -> str:
    """SHA-256 over everything that determines the answer (model file, mode, parameters, prompt, actions)."""
    payload = json.dumps({"format": CACHE_FORMAT, **parts}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def result_to_dict(result: PriorResult) -> dict[str, Any]:
    """The answer part of a result (not its cost: ms, cached, tokens_evaluated), as JSON types."""
    return {
        "model": result.model,
        "mode": result.mode,
        "actions": list(result.actions),
        "probs": result.probs.tolist(),
        "sequence_log_probs": None if result.sequence_log_probs is None else result.sequence_log_probs.tolist(),
        "scores": None if result.scores is None else result.scores.tolist(),
        "token_counts": list(result.token_counts),
        "proposals": [[p.text, p.action, p.how] for p in result.proposals],
        "dropped": result.dropped,
        "fallback_uniform": result.fallback_uniform,
        "prompt": result.prompt,
    }


def result_to_json(result: PriorResult) -> str:
    return json.dumps(result_to_dict(result))


def result_from_json(text: str, ms: float) -> PriorResult:
    return result_from_dict(json.loads(text), ms)


def result_from_dict(data: dict[str, Any], ms: float) -> PriorResult:
    """A stored answer (marked cached; the prior server's client corrects that for fresh answers)."""
    log_probs = data["sequence_log_probs"]
    scores = data.get("scores")  # absent from answers stored before the levers
    return PriorResult(
        model=data["model"],
        mode=data["mode"],
        actions=tuple(data["actions"]),
        probs=np.asarray(data["probs"], dtype=np.float64),
        sequence_log_probs=None if log_probs is None else np.asarray(log_probs, dtype=np.float64),
        scores=None if scores is None else np.asarray(scores, dtype=np.float64),
        token_counts=tuple(data["token_counts"]),
        proposals=tuple(Proposal(text=t, action=a, how=h) for t, a, h in data["proposals"]),
        dropped=data["dropped"],
        fallback_uniform=data["fallback_uniform"],
        cached=True,
        ms=ms,
        prompt=data["prompt"],
    )


class PriorCache:
    """Key → JSON answer, in memory (LRU of `memory_size` entries) and optionally on disk."""

    def __init__(self, path: str | Path | None, memory_size: int) -> None:
        self.memory_size = memory_size
        self._memory: OrderedDict[str, str] = OrderedDict()
        self.path = Path(path) if path is not None else None
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self._db = self._open()

    def __len__(self) -> int:
        """Answers held in memory (at most `memory_size`); the disk cache is unbounded."""
        return len(self._memory)

    def get(self, key: str) -> str | None:
        value = self._memory.get(key)
        if value is not None:
            self._memory.move_to_end(key)
            return value
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT value FROM prior_cache WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as error:
            self._recover(error)
            return None
        if row is None:
            return None
        self._remember(key, row[0])
        return row[0]

    def put(self, key: str, value: str) -> None:
        self._remember(key, value)
        if self._db is None:
            return
        try:
            with self._db:  # commits, so another process (or a crash) never loses a written answer
                self._db.execute("INSERT OR REPLACE INTO prior_cache (key, value) VALUES (?, ?)", (key, value))
        except sqlite3.DatabaseError as error:
            self._recover(error)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _remember(self, key: str, value: str) -> None:
        if self.memory_size <= 0:
            return
        self._memory[key] = value
        self._memory.move_to_end(key)
        while len(self._memory) > self.memory_size:
            self._memory.popitem(last=False)

    def _open(self) -> sqlite3.Connection | None:
        assert self.path is not None
        try:
            return _connect(self.path)
        except sqlite3.DatabaseError as error:
            return self._replace(error)
        except OSError as error:  # its folder cannot be created
            warnings.warn(f"prior cache {self.path} unavailable ({error}); caching in memory only", stacklevel=3)
            return None

    def _recover(self, error: sqlite3.DatabaseError) -> None:
        """A read or write failed mid-run."""
        assert self._db is not None
        self._db.close()
        self._db = self._replace(error)

    def _replace(self, error: sqlite3.DatabaseError) -> sqlite3.Connection | None:
        """A corrupt file is moved aside for a fresh one; anything else (unwritable, locked) leaves memory only."""
        assert self.path is not None
        if not isinstance(error, sqlite3.OperationalError):
            self._move_aside(error)
            try:
                return _connect(self.path)
            except sqlite3.DatabaseError as reopen_error:
                error = reopen_error
        warnings.warn(f"prior cache {self.path} unavailable ({error}); caching in memory only", stacklevel=4)
        return None

    def _move_aside(self, error: sqlite3.DatabaseError) -> None:
        assert self.path is not None
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        warnings.warn(f"prior cache {self.path} is corrupt ({error}); moved it to {aside} and started a fresh one", stacklevel=4)
        if self.path.exists():
            self.path.replace(aside)
        for suffix in ("-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS prior_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("SELECT key FROM prior_cache LIMIT 1").fetchone()
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db

