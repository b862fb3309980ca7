"""Headless training and evaluation over the session engine.

`Trainer` is steppable like Tianshou's: `reset()` builds (or resumes) everything,
then each `run_epoch()` trains up to the next evaluation point, evaluates greedily,
logs one metrics row (CSV + TensorBoard) and checkpoints when due. A CLI loops
over epochs with a progress bar; a UI can call `run_epoch()` from a worker.

Exact resume: episode i always resets with seed `seed + i`, checkpoints are taken at
episode ends, and they carry every RNG state, the replay buffer and the counters, so
a resumed run continues the same trajectory as an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.base import Agent
from agents.registry import build_agent
from agents.replay import ReplayBuffer
from sandbox.config import RunConfig, load_config
from sandbox.errors import SandboxError
from sandbox.session import Session, StepRecord
from sandbox.storage import atomic_write_text, load_checkpoint, save_checkpoint

METRIC_COLUMNS = (
    "step",
    "episodes",
    "eval_success",
    "eval_return",
    "eval_steps",
    "train_success",
    "loss",
    "epsilon",
    "llm_calls",
    "cache_hits",
    "wall_s",
)
EVAL_SEED = 1_000_000  # evaluation episodes use their own seeds, disjoint from training's
CHECKPOINTS = "checkpoints"
LATEST = "latest"


@dataclass(frozen=True)
class EvalResult:
    success_rate: float
    mean_return: float
    mean_steps: float
    episodes: int


def make_env_for(config: RunConfig, env_id: str | None = None, env_kwargs: dict[str, Any] | None = None):
    from envs import env_family, make_env

    env_id = env_id or config.run.env
    kwargs = config.run.env_kwargs if env_kwargs is None else env_kwargs
    return make_env(env_id, **kwargs), env_family(env_id)


def evaluate(
    agent: Agent,
    env: Any,
    family: str,
    *,
    episodes: int,
    history: int = 0,
    seed: int = EVAL_SEED,
    on_step: Callable[[StepRecord], None] | None = None,
) -> EvalResult:
    """Greedy episodes with a private RNG, so evaluating never perturbs training."""
    session = Session(
        env, agent, family=family, seed=seed, history_length=history, learn=False, act_rng=np.random.default_rng(seed)
    )
    successes, returns, lengths = [], [], []
    for _ in range(episodes):
        records = session.run_episode(greedy=True, on_step=on_step)
        successes.append(float(bool(records and records[-1].won)))
        returns.append(session.episode_return)
        lengths.append(len(records))
    return EvalResult(
        success_rate=float(np.mean(successes)),
        mean_return=float(np.mean(returns)),
        mean_steps=float(np.mean(lengths)),
        episodes=episodes,
    )


class Trainer:
    """Trains one agent on one env into a run folder: config.toml, metrics.csv, tb/, checkpoints/."""

    def __init__(self, config: RunConfig, run_dir: Path) -> None:
        self.config = config
        self.run_dir = run_dir
        self.session: Session | None = None
        self.agent: Agent | None = None
        self.metrics: list[dict[str, float]] = []
        self._recent_wins: deque[float] = deque(maxlen=20)
        self._losses: list[float] = []
        self._last_epsilon = float("nan")
        self._next_checkpoint = config.run.checkpoint_every
        self._started = time.monotonic()
        self._elapsed_before = 0.0
        self._writer = None

    # ----- lifecycle ------------------------------------------------------------------

    @classmethod
    def resume(cls, run_dir: Path) -> "Trainer":
        config = load_config(run_dir / "config.toml")
        trainer = cls(config, run_dir)
        trainer.reset(resume=True)
        return trainer

    def reset(self, resume: bool = False) -> None:
        # Tiny MLP heads: torch's thread hand-offs cost more than they save, and llama.cpp needs the cores.
        torch.set_num_threads(1)
        if not resume and (self.run_dir / CHECKPOINTS / LATEST).exists():
            raise SandboxError(f"{self.run_dir} already holds a run; resume it with --resume or pick another --out")
        self._build()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resume:
            self._restore()
        else:
            atomic_write_text(self.run_dir / "config.toml", self.config.to_toml())
            atomic_write_text(self.run_dir / "metrics.csv", ",".join(METRIC_COLUMNS) + "\n")
        self._started = time.monotonic()

    def _build(self) -> None:
        """Env, eval env, agent and session (the online loop's parts)."""
        run = self.config.run
        env, self.family = make_env_for(self.config)
        self.eval_env, _ = make_env_for(self.config)
        self.agent = build_agent(run.agent, self.config.dqn, self.config.prior, self.config.ppo)
        self.session = Session(env, self.agent, family=self.family, seed=run.seed, history_length=self.config.prior.history)

    @property
    def steps_done(self) -> int:
        return self.session.total_steps if self.session else 0

    @property
    def finished(self) -> bool:
        return self.steps_done >= self.config.run.steps

    # ----- one epoch = train to the next eval point, evaluate, log, checkpoint --------

    def run_epoch(self, on_step: Callable[[StepRecord], None] | None = None) -> dict[str, float]:
        assert self.session is not None, "call reset() first"
        run = self.config.run
        target = min(run.steps, (self.steps_done // run.eval_every + 1) * run.eval_every)
        while self.steps_done < target:
            if self.session.done:
                self.session.reset()
            record = self.session.step()
            self._track(record)
            if on_step is not None:
                on_step(record)
            if record.done and self.steps_done >= self._next_checkpoint:
                self.save_checkpoint()
        row = self._evaluate_and_log()
        if self.finished:
            self.save_checkpoint()
        return row

    def _track(self, record: StepRecord) -> None:
        if "loss" in record.learn_stats:
            self._losses.append(record.learn_stats["loss"])
        self._last_epsilon = record.learn_stats.get("epsilon", self._last_epsilon)
        if record.done:
            self._recent_wins.append(float(record.won))

    def _evaluate_and_log(self) -> dict[str, float]:
        run = self.config.run
        result = evaluate(
            self.agent, self.eval_env, self.family, episodes=run.eval_episodes, history=self.config.prior.history
        )
        prior = getattr(self.agent, "prior", None)
        stats = prior.stats if prior is not None else None
        row = {
            "step": self.steps_done,
            "episodes": self.session.episode if self.session else 0,
            "eval_success": result.success_rate,
            "eval_return": result.mean_return,
            "eval_steps": result.mean_steps,
            "train_success": float(np.mean(self._recent_wins)) if self._recent_wins else 0.0,
            "loss": float(np.mean(self._losses)) if self._losses else float("nan"),
            "epsilon": self._last_epsilon,
            "llm_calls": stats.llm_calls if stats else 0,
            "cache_hits": stats.cache_hits if stats else 0,
            "wall_s": round(self._elapsed_before + time.monotonic() - self._started, 2),
        }
        self._losses.clear()
        self.metrics.append(row)
        self._append_metrics(row)
        return row

    def _append_metrics(self, row: dict[str, float]) -> None:
        with open(self.run_dir / "metrics.csv", "a", newline="") as stream:
            csv.DictWriter(stream, fieldnames=METRIC_COLUMNS).writerow(row)
        writer = self._tensorboard()
        for key in METRIC_COLUMNS[2:]:
            writer.add_scalar(key, row[key], global_step=int(row["step"]))
        writer.flush()

    def _tensorboard(self):
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.run_dir / "tb"))
        return self._writer

    def run(self, on_epoch: Callable[[dict[str, float]], None] | None = None, on_step=None) -> list[dict[str, float]]:
        while not self.finished:
            row = self.run_epoch(on_step=on_step)
            if on_epoch is not None:
                on_epoch(row)
        return self.metrics

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    # ----- checkpoints ----------------------------------------------------------------

    def save_checkpoint(self) -> Path:
        """Atomic: the new checkpoint folder appears whole, then `latest` is switched to it."""
        assert self.agent is not None, "call reset() first"
        tensors, agent_state = self.agent.state_dict()
        prior = getattr(self.agent, "prior", None)
        state = {
            "agent": agent_state,
            "session": self._progress_state(),
            "trainer": {
                "recent_wins": list(self._recent_wins),
                "losses": list(self._losses),  # since the last evaluation: its row averages them
                "last_epsilon": self._last_epsilon,
                "next_checkpoint": self._next_checkpoint_after(self.steps_done),
                "elapsed_s": self._elapsed_before + time.monotonic() - self._started,
                "metrics": self.metrics,
            },
            "prior_stats": asdict(prior.stats) if prior is not None else None,
        }
        root = self.run_dir / CHECKPOINTS
        folder = root / f"step_{self.steps_done:09d}"
        save_checkpoint(folder, tensors, state)
        atomic_write_text(root / LATEST, folder.name + "\n")
        self._next_checkpoint = state["trainer"]["next_checkpoint"]
        for old in sorted(root.glob("step_*"))[:-3]:
            for item in old.iterdir():
                item.unlink()
            old.rmdir()
        return folder

    def _progress_state(self) -> dict[str, Any]:
        return {
            "episode": self.session.episode,
            "total_steps": self.session.total_steps,
            "episode_actions": [] if self.session.done else list(self.session.episode_actions),
        }

    def _restore_progress(self, progress: dict[str, Any]) -> None:
        """Counters, and — for a checkpoint taken mid-episode — the episode itself, replayed."""
        self.session.episode = int(progress["episode"])
        self.session.total_steps = int(progress["total_steps"])
        if progress["episode_actions"]:
            self.session.episode -= 1
            self.session.reset()
            self.session.replay_actions(progress["episode_actions"])

    def _next_checkpoint_after(self, step: int) -> int:
        every = self.config.run.checkpoint_every
        return (step // every + 1) * every

    def _restore(self) -> None:
        latest = latest_checkpoint(self.run_dir)
        tensors, state = load_checkpoint(latest)
        self.agent.load_state_dict(tensors, state["agent"])
        self._restore_progress(state["session"])
        trainer = state["trainer"]
        self._recent_wins.extend(trainer["recent_wins"])
        self._losses = list(trainer["losses"])
        self._last_epsilon = float(trainer["last_epsilon"])
        self._next_checkpoint = int(trainer["next_checkpoint"])
        self._elapsed_before = float(trainer["elapsed_s"])
        self.metrics = [dict(row) for row in trainer["metrics"]]
        prior = getattr(self.agent, "prior", None)
        if prior is not None and state.get("prior_stats"):
            for key, value in state["prior_stats"].items():
                setattr(prior.stats, key, value)
        # metrics.csv may hold rows logged after this checkpoint: rewrite it to match.
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS)
        writer.writeheader()
        writer.writerows(self.metrics)
        atomic_write_text(self.run_dir / "metrics.csv", buffer.getvalue())


class OfflineTrainer(Trainer):
    """CQL / CQL-Prior from a fixed dataset: an epoch is `eval_every` gradient steps, then an
    online greedy evaluation in the dataset's env. Metrics, checkpoints and resume as online."""

    def _build(self) -> None:
        from sandbox.datasets import load_dataset

        run = self.config.run
        if not run.dataset:
            raise SandboxError("offline training needs a dataset: pass --dataset saves/datasets/NAME.parquet")
        info, transitions = load_dataset(
            Path(run.dataset), use_prior=run.agent.endswith("-prior"), limit=run.dataset_limit or None
        )
        if not transitions:
            raise SandboxError(f"dataset {run.dataset} holds no transitions")
        run.env, run.env_kwargs = info.env, dict(info.env_kwargs)
        self.eval_env, self.family = make_env_for(self.config)
        self.agent = build_agent(run.agent, self.config.dqn, self.config.prior)
        self.agent.buffer = ReplayBuffer(len(transitions))
        for transition in transitions:
            self.agent.buffer.add(transition)
        self.dataset_size = len(transitions)

    @property
    def steps_done(self) -> int:
        return self.agent.updates if self.agent else 0

    def run_epoch(self, on_step: Callable[[StepRecord], None] | None = None) -> dict[str, float]:
        assert self.agent is not None, "call reset() first"
        run = self.config.run
        target = min(run.steps, (self.steps_done // run.eval_every + 1) * run.eval_every)
        while self.steps_done < target:
            self._losses.append(self.agent.update()["loss"])
            if self.steps_done >= self._next_checkpoint:
                self.save_checkpoint()
        row = self._evaluate_and_log()
        if self.finished:
            self.save_checkpoint()
        return row

    def _progress_state(self) -> dict[str, Any]:
        return {"updates": self.steps_done, "dataset_size": self.dataset_size}

    def _restore_progress(self, progress: dict[str, Any]) -> None:
        if int(progress["dataset_size"]) != self.dataset_size:
            raise SandboxError(
                f"the dataset now holds {self.dataset_size} transitions but the run was trained on "
                f"{progress['dataset_size']}; resume with the same dataset"
            )


def latest_checkpoint(run_dir: Path) -> Path:
    pointer = run_dir / CHECKPOINTS / LATEST
    if not pointer.is_file():
        raise SandboxError(f"{run_dir} has no checkpoint; is it a run folder written by `python -m sandbox train`?")
    return run_dir / CHECKPOINTS / pointer.read_text().strip()


def load_trained_agent(run_dir: Path) -> tuple[RunConfig, Agent]:
    """Rebuild a run's agent from its config and latest checkpoint (for eval, the UI, demos)."""
    config = load_config(run_dir / "config.toml")
    agent = build_agent(config.run.agent, config.dqn, config.prior, config.ppo)
    tensors, state = load_checkpoint(latest_checkpoint(run_dir))
    agent.load_state_dict(tensors, state["agent"])
    return config, agent
