"""Run folders: where a run's env, agent and checkpoints come from and go to.

A run folder (written by `python -m sandbox train` or `train-offline`) holds config.toml,
metrics.csv, episodes.csv, episodes/, tb/ and checkpoints/step_N/ with a `latest` pointer.
The trainers, `eval`, `collect`, the sweeps and the UI read and write it through these
functions, so none of them needs another's module to open a run.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from agents.base import Agent
from agents.prior.types import ActionPrior
from agents.registry import make_agent
from sandbox.engine.config import RunConfig, load_run_config
from sandbox.errors import SandboxError
from sandbox.engine.storage import (
    atomic_write_text,
    is_complete_checkpoint,
    load_checkpoint,
    restoring_checkpoint,
    save_checkpoint,
)

CHECKPOINTS = "checkpoints"
LATEST = "latest"
KEEP_CHECKPOINTS = 3  # the newest step_N folders kept; older ones are deleted after each save


def make_env_for(config: RunConfig, env_id: str | None = None, env_kwargs: dict[str, Any] | None = None):
    """The run's env (or another id / options) and its family, which picks the prompt template."""
    from envs import env_family, make_env

    env_id = env_id or config.run.env
    kwargs = config.run.env_kwargs if env_kwargs is None else env_kwargs
    return make_env(env_id, **kwargs), env_family(env_id)


def latest_checkpoint(run_dir: Path) -> Path:
    root = run_dir / CHECKPOINTS
    pointer = root / LATEST
    if not pointer.is_file():
        if (run_dir / "config.toml").is_file():  # a run folder whose run was stopped before it saved anything
            raise SandboxError(
                f"{run_dir} stopped before its first checkpoint, so there is nothing to resume or load; start it "
                f"afresh with `python -m sandbox train --config {run_dir / 'config.toml'} --out {run_dir}`"
            )
        raise SandboxError(f"{run_dir} has no checkpoint; is it a run folder written by `python -m sandbox train`?")
    folder = root / pointer.read_text().strip()
    if not folder.exists():
        # Killed while a checkpoint of the same step was being replaced: take the newest whole one.
        whole = [item for item in sorted(root.glob("step_*")) if is_complete_checkpoint(item)]
        if whole:
            return whole[-1]
    return folder


def save_run_checkpoint(run_dir: Path, step: int, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> Path:
    """Atomic: the new checkpoint folder appears whole, then `latest` is switched to it; the
    oldest folders beyond KEEP_CHECKPOINTS go last."""
    root = run_dir / CHECKPOINTS
    folder = root / f"step_{step:09d}"
    save_checkpoint(folder, tensors, state)
    atomic_write_text(root / LATEST, folder.name + "\n")
    for old in sorted(root.glob("step_*"))[:-KEEP_CHECKPOINTS]:
        for item in old.iterdir():
            item.unlink()
        old.rmdir()
    return folder


def load_trained_agent(run_dir: Path, prior_model: str | None = None) -> tuple[RunConfig, Agent]:
    """Rebuild a run's agent from its config and latest checkpoint (for eval, the UI, demos).

    `prior_model` swaps the LLM the agent consults for another (its Q stays): the
    generalisation test of a Q trained with one LLM's prior acting with another's.
    """
    config = load_run_config(run_dir / "config.toml")
    if prior_model is not None:
        config.prior.model = prior_model
    agent = make_agent(config)
    folder = latest_checkpoint(run_dir)
    tensors, state = load_checkpoint(folder)
    with restoring_checkpoint(folder, agent.name, state):
        agent.load_state_dict(tensors, state["agent"])
    return config, agent


def prior_stats(prior: ActionPrior | None) -> dict[str, Any] | None:
    """The prior's call counters as a checkpoint stores them (None without a prior)."""
    return asdict(prior.stats) if prior is not None else None


def restore_prior_stats(prior: ActionPrior | None, saved: dict[str, Any] | None) -> None:
    """Put a checkpoint's prior counters back, so LLM calls and cache hits count on from where they were."""
    if prior is None or not saved:
        return
    for key, value in saved.items():
        setattr(prior.stats, key, value)


def rewrite_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """Replace a CSV log with `rows` (atomically): a resumed run's logs then match its checkpoint."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """A CSV log's rows (none when the file does not exist, e.g. a run from before that log)."""
    if not path.is_file():
        return []
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))
