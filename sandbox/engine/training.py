"""Headless training and evaluation over the session engine.

`Trainer` is steppable like Tianshou's: `reset()` builds (or resumes) everything,
then each `run_epoch()` trains up to the next evaluation point, evaluates greedily,
logs one metrics row (CSV + TensorBoard) and checkpoints when due. Every finished
training episode adds a row to episodes.csv, and the newest episodes (training and
evaluation) are kept as replay files in episodes/. A CLI loops
over epochs with a progress bar; a UI can call `run_epoch()` from a worker.

Exact resume: episode i always resets with seed `seed + i`, checkpoints are taken at
episode ends, and they carry every RNG state, the replay buffer and the counters, so
a resumed run continues the same trajectory as an uninterrupted one.
"""

from __future__ import annotations

import copy
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.base import Agent
from agents.prior.templates import load_templates, template_path
from agents.registry import make_agent
from sandbox.engine.config import RunConfig, load_run_config
from sandbox.errors import SandboxError
from sandbox.engine.metrics import EPISODE_FIELDS, EpisodeTally, episode_metrics, finite, summarise
from sandbox.engine.replay_files import header_json, prune_episodes, record_from_json, record_to_json, write_episode
from sandbox.engine.runs import (
    CHECKPOINTS,
    LATEST,
    latest_checkpoint,
    make_env_for,
    prior_stats,
    read_csv_rows,
    restore_prior_stats,
    rewrite_csv,
    save_run_checkpoint,
)
from sandbox.engine.session import Session, StepRecord
from sandbox.engine.storage import append_csv_row, atomic_write_text, load_checkpoint, remove_temporaries, restoring_checkpoint

# metrics.csv: one row per greedy evaluation; the eval_ columns are the metrics schema's means.
METRIC_COLUMNS = (
    "step",
    "episodes",
    *(f"eval_{field}" for field in EPISODE_FIELDS),
    "train_success",
    "loss",
    "epsilon",
    "llm_calls",
    "cache_hits",
    "wall_s",
)
# episodes.csv: one row per finished training episode, in the same schema.
EPISODE_COLUMNS = ("episode", "step", *EPISODE_FIELDS)
EPISODES = "episodes"  # replay files of the newest training and evaluation episodes
PROMPTS = "prompts"  # the prompt templates the run started with (see Trainer._pin_prompt_templates)
EVAL_SEED = 1_000_000  # evaluation episodes use their own seeds, disjoint from training's
CODE_VERSION_FILE = "code_version.json"


def record_code_version(run_dir: Path, step: int) -> None:
    """Add the code running now to the run's `code_version.json`: one entry when it starts, and one more
    each time it resumes under another code version, with the step it went on from."""
    from sandbox.engine.provenance import code_version

    path = run_dir / CODE_VERSION_FILE
    entries = json.loads(path.read_text()) if path.is_file() else []
    if not entries or entries[-1]["id"] != code_version()["id"]:
        entries.append({"from_step": step, **code_version()})
        atomic_write_text(path, json.dumps(entries, indent=1) + "\n")


@dataclass(frozen=True)
class EvalResult:
    """Means over greedy episodes of each field of the metrics schema (`sandbox.engine.metrics`)."""

    metrics: dict[str, float]
    episodes: int

    @property
    def success_rate(self) -> float:
        return self.metrics["success"]

    @property
    def mean_return(self) -> float:
        return self.metrics["return"]

    @property
    def mean_steps(self) -> float:
        return self.metrics["steps"]


def evaluate(
    agent: Agent,
    env: Any,
    family: str,
    *,
    episodes: int,
    history: int = 0,
    seed: int = EVAL_SEED,
    on_step: Callable[[StepRecord], None] | None = None,
    on_episode: Callable[[int, list[StepRecord]], None] | None = None,
) -> EvalResult:
    """Greedy episodes with a private RNG, so evaluating never perturbs training.

    Episode i (from 0) resets with seed `seed + i`; `on_episode(i, records)` sees each one whole.
    """
    session = Session(
        env, agent, family=family, seed=seed, history_length=history, learn=False, act_rng=np.random.default_rng(seed)
    )
    rows = []
    for index in range(episodes):
        records = session.run_episode(greedy=True, on_step=on_step)
        rows.append(episode_metrics(records))
        if on_episode is not None:
            on_episode(index, records)
    return EvalResult(metrics=summarise(rows), episodes=episodes)


class Trainer:
    """Trains one agent on one env into a run folder: config.toml, metrics.csv, episodes.csv,
    episodes/, tb/, checkpoints/."""

    def __init__(self, config: RunConfig, run_dir: Path) -> None:
        self.config = copy.deepcopy(config)  # the run pins settings into its copy; the caller's stays as given
        self.run_dir = run_dir
        self.session: Session | None = None
        self.agent: Agent | None = None
        self.metrics: list[dict[str, float]] = []
        self._recent_wins: deque[float] = deque(maxlen=20)
        self._losses: list[float] = []
        self._last_epsilon = float("nan")
        self._tally = EpisodeTally()  # the running episode's counts for its episodes.csv row
        self._episode_records: list[StepRecord] = []  # the running episode, for its replay file
        self._next_checkpoint = config.run.checkpoint_every
        self._started = time.monotonic()
        self._elapsed_before = 0.0
        self._writer = None
        self._purge_step: int | None = None  # resumed: TensorBoard hides events logged after the checkpoint

    # ----- lifecycle ------------------------------------------------------------------

    @classmethod
    def resume(cls, run_dir: Path) -> "Trainer":
        latest_checkpoint(run_dir)  # a folder with nothing to resume says so before the env and agent are built
        config = load_run_config(run_dir / "config.toml")
        trainer = cls(config, run_dir)
        trainer.reset(resume=True)
        return trainer

    def reset(self, resume: bool = False) -> None:
        # Tiny MLP heads: torch's thread hand-offs cost more than they save, and llama.cpp needs the cores.
        torch.set_num_threads(1)
        if not resume and (self.run_dir / CHECKPOINTS / LATEST).exists():
            raise SandboxError(f"{self.run_dir} already holds a run; resume it with --resume or pick another --out")
        if self.config.run.keep_episodes < 0:
            raise SandboxError(f"keep_episodes must be 0 (record none) or more, got {self.config.run.keep_episodes}")
        if not resume:
            self._pin_prompt_templates()
        self._build()
        if resume:
            self._restore()
        else:
            atomic_write_text(self.run_dir / "config.toml", self.config.to_toml())
            atomic_write_text(self.run_dir / "metrics.csv", ",".join(METRIC_COLUMNS) + "\n")
            atomic_write_text(self.run_dir / "episodes.csv", ",".join(EPISODE_COLUMNS) + "\n")
        record_code_version(self.run_dir, self.steps_done)
        self._started = time.monotonic()

    def _pin_prompt_templates(self) -> None:
        """Copy the user's prompt templates into the run, so that a template saved later in
        the UI cannot change the prompts of a run that resumes or is re-evaluated."""
        source = self.config.prior.templates_dir
        templates = load_templates(source)  # also checks them, before anything is written
        if not templates:
            self.config.prior.templates_dir = None
            return
        for family in templates:
            text = template_path(source, family).read_text(encoding="utf-8")
            atomic_write_text(template_path(self.run_dir / PROMPTS, family), text)
        self.config.prior.templates_dir = str(self.run_dir / PROMPTS)

    def _build(self) -> None:
        """Env, eval env, agent and session (the online loop's parts)."""
        run = self.config.run
        env, self.family = make_env_for(self.config)
        self.eval_env, _ = make_env_for(self.config, env_kwargs={**run.env_kwargs, **run.eval_env_kwargs})
        self.agent = make_agent(self.config)
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
        target = self._epoch_target()
        while self.session.unlearned is not None or self.steps_done < target:
            # A step whose learning was cut off (its prior's server went away) is finished first.
            record = self.session.finish_step() if self.session.unlearned is not None else self.session.play()
            self._track(record)
            if on_step is not None:
                on_step(record)
            if record.done and self.steps_done >= self._next_checkpoint:
                self.save_checkpoint()
        row = self._evaluate_and_log()
        if self.finished:
            self.save_checkpoint()
        return row

    def _epoch_target(self) -> int:
        """The evaluation point after the last logged row. A checkpoint taken at an evaluation
        point precedes that evaluation, so a run killed in between evaluates first on resume."""
        run = self.config.run
        logged = int(self.metrics[-1]["step"]) if self.metrics else 0
        return min(run.steps, (logged // run.eval_every + 1) * run.eval_every)

    def _track(self, record: StepRecord) -> None:
        if "loss" in record.learn_stats:
            self._losses.append(record.learn_stats["loss"])
        self._last_epsilon = record.learn_stats.get("epsilon", self._last_epsilon)
        self._tally.add(record)
        if self.config.run.keep_episodes:
            self._episode_records.append(record)
        if record.done:
            self._recent_wins.append(float(record.won))
            self._log_episode(record)

    def _log_episode(self, last: StepRecord) -> None:
        """episodes.csv and TensorBoard get the episode's metrics; episodes/ its replay file."""
        row = {"episode": last.episode, "step": self.steps_done, **self._tally.metrics(last)}
        self._tally = EpisodeTally()
        append_csv_row(self.run_dir / "episodes.csv", EPISODE_COLUMNS, row)
        writer = self._tensorboard()
        for field in EPISODE_FIELDS:
            writer.add_scalar(f"episode/{field}", row[field], global_step=self.steps_done)
        records, self._episode_records = self._episode_records, []
        if records and records[0].t == 1:  # not an episode a resume re-entered halfway: its first steps are gone
            name = f"train-ep{last.episode:07d}.jsonl"
            seed = self.session.seed + last.episode - 1
            self._record(name, "train", last.episode, seed, self.steps_done - last.t, records)

    def _record(self, name: str, source: str, episode: int, seed: int, step: int, records: list[StepRecord]) -> None:
        """Write one replay file into episodes/ and keep only the newest `keep_episodes` of its source."""
        run = self.config.run
        header = header_json(
            env=run.env,
            env_kwargs=run.env_kwargs,
            agent=run.agent,
            episode=episode,
            seed=seed,
            source=source,
            step=step,
            state=records[0].state,
        )
        write_episode(self.run_dir / EPISODES / name, header, records)
        prune_episodes(self.run_dir / EPISODES, f"{source}-*.jsonl", run.keep_episodes)

    def _evaluate_and_log(self) -> dict[str, float]:
        run = self.config.run

        def record(index: int, records: list[StepRecord]) -> None:
            name = f"eval-step{self.steps_done:09d}-{index + 1:03d}.jsonl"
            self._record(name, "eval", index + 1, EVAL_SEED + index, self.steps_done, records)

        result = evaluate(
            self.agent,
            self.eval_env,
            self.family,
            episodes=run.eval_episodes,
            history=self.config.prior.history,
            on_episode=record if run.keep_episodes else None,
        )
        prior = getattr(self.agent, "prior", None)
        stats = prior.stats if prior is not None else None
        row = {
            "step": self.steps_done,
            "episodes": self.session.episode if self.session else 0,
            **{f"eval_{field}": value for field, value in result.metrics.items()},
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
        append_csv_row(self.run_dir / "metrics.csv", METRIC_COLUMNS, row)
        writer = self._tensorboard()
        for key in METRIC_COLUMNS[2:]:
            writer.add_scalar(key, row[key], global_step=int(row["step"]))
        writer.flush()

    def _tensorboard(self):
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.run_dir / "tb"), purge_step=self._purge_step)
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
        state = {
            "agent": agent_state,
            "session": self._progress_state(),
            "trainer": {
                "recent_wins": list(self._recent_wins),
                "losses": list(self._losses),  # since the last evaluation: its row averages them
                "last_epsilon": self._last_epsilon,
                "episode_tally": asdict(self._tally),  # a checkpoint mid-episode carries its counts so far
                "next_checkpoint": self._next_checkpoint_after(self.steps_done),
                "elapsed_s": self._elapsed_before + time.monotonic() - self._started,
                "metrics": self.metrics,
            },
            "prior_stats": prior_stats(self.agent.prior),
        }
        folder = save_run_checkpoint(self.run_dir, self.steps_done, tensors, state)
        self._next_checkpoint = state["trainer"]["next_checkpoint"]
        return folder

    def _progress_state(self) -> dict[str, Any]:
        """The session's counters, the running episode's actions and a step still to learn from (`unlearned`).

        An episode just reset, no step taken yet (a prior that failed on its first state), is saved as not
        started: the resumed run resets into it with the same seed."""
        session = self.session
        fresh = not session.done and session.t == 0
        unlearned = session.unlearned
        return {
            "episode": session.episode - 1 if fresh else session.episode,
            "total_steps": session.total_steps,
            "episode_actions": [] if session.done else list(session.episode_actions),
            "unlearned": None if unlearned is None else finite(record_to_json(unlearned)),
        }

    def _restore_progress(self, progress: dict[str, Any]) -> None:
        """Counters, and — for a checkpoint taken mid-episode — the episode itself, replayed; then the step
        whose learning was cut off, to be finished first."""
        self.session.episode = int(progress["episode"])
        self.session.total_steps = int(progress["total_steps"])
        if progress["episode_actions"]:
            self.session.episode -= 1
            self.session.reset()
            self.session.replay_actions(progress["episode_actions"])
        if progress.get("unlearned"):  # checkpoints from before unlearned steps have none
            record = record_from_json(progress["unlearned"])
            if progress["episode_actions"]:  # the episode goes on: the env's whole info, replayed
                record = replace(record, info=self.session.info)
            self.session.unlearned = record

    def _next_checkpoint_after(self, step: int) -> int:
        every = self.config.run.checkpoint_every
        return (step // every + 1) * every

    def _restore(self) -> None:
        for folder in (self.run_dir, self.run_dir / CHECKPOINTS, self.run_dir / EPISODES):
            remove_temporaries(folder)  # left by a kill mid-write; never read
        latest = latest_checkpoint(self.run_dir)
        tensors, state = load_checkpoint(latest)
        with restoring_checkpoint(latest, self.agent.name, state):
            self._restore_state(tensors, state)
        self._purge_step = self.steps_done + 1

    def _restore_state(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        self.agent.load_state_dict(tensors, state["agent"])
        self._restore_progress(state["session"])
        trainer = state["trainer"]
        self._recent_wins.extend(trainer["recent_wins"])
        self._losses = list(trainer["losses"])
        self._last_epsilon = float(trainer["last_epsilon"])
        self._tally = EpisodeTally(**trainer.get("episode_tally", {}))  # checkpoints before the tally: none
        self._next_checkpoint = int(trainer["next_checkpoint"])
        self._elapsed_before = float(trainer["elapsed_s"])
        self.metrics = [dict(row) for row in trainer["metrics"]]
        restore_prior_stats(self.agent.prior, state.get("prior_stats"))
        # The logs may hold rows written after this checkpoint: rewrite them to match it.
        rewrite_csv(self.run_dir / "metrics.csv", METRIC_COLUMNS, self.metrics)
        self._truncate_episodes_csv()

    def _truncate_episodes_csv(self) -> None:
        """Keep the rows of the episodes the checkpoint had finished (runs from before episodes.csv get one)."""
        finished = self.session.episode - (0 if self.session.done else 1) if self.session else 0
        path = self.run_dir / "episodes.csv"
        rows = [row for row in read_csv_rows(path) if row.get("episode") and int(row["episode"]) <= finished]
        rewrite_csv(path, EPISODE_COLUMNS, rows)
