"""Sweeps: a grid of runs (env × agent × seed × α × k) trained as Ray tasks, one run folder per trial.

A trial is exactly a `python -m sandbox train` run: the same RunConfig, the same Trainer and the
same run folder (config.toml, metrics.csv, tb/, checkpoints/), so `eval --run`, resume and the
results scripts read it like any other. Ray runs on this machine by default, or on the cluster
at `address` unchanged (every node needs the project installed and the output folder on shared
storage). Rerunning a sweep continues it: finished trials are skipped, interrupted ones resume
from their last checkpoint. `summary.csv` (rewritten atomically after each trial) holds one row
per trial with its final evaluation.

The sweep file is a run config (`[run]`, `[dqn]`, `[ppo]`, `[prior]`) plus a `[grid]` table of
lists: `env` (ids, or tables `{id = "...", option = value}`), `agent`, `seed`, `alpha`, `k`.
A setting the file leaves out takes the tuned default of the trial's env and agent
(`sandbox/defaults/`), as `train` does without --config; each trial's config.toml says where
every value came from.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import re
import signal
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.engine.config import RunConfig, build_config, load_run_config, parse_config
from sandbox.errors import SandboxError
from sandbox.engine.storage import STATE_FILE, atomic_write_text

GRID_KEYS = ("env", "agent", "seed", "alpha", "k")
TRIAL_COLUMNS = ("trial", "status", "env", "env_kwargs", "agent", "seed", "alpha", "k")
SUMMARY_FILE = "summary.csv"
CANCEL_GRACE_S = 60.0  # after Ctrl-C, how long running trials get to save a checkpoint


@dataclass(frozen=True)
class Trial:
    """One grid point: its name (also its run folder's name) and its full run config."""

    name: str
    config: RunConfig
    run_dir: Path

    def describe(self) -> dict[str, Any]:
        run = self.config.run
        return {
            "trial": self.name,
            "env": run.env,
            "env_kwargs": json.dumps(run.env_kwargs, sort_keys=True),
            "agent": run.agent,
            "seed": run.seed,
            "alpha": trial_alpha(self.config),
            "k": self.config.dqn.k,
        }


@dataclass(frozen=True)
class Sweep:
    name: str
    base: RunConfig
    grid: dict[str, list[Any]]  # every key of GRID_KEYS, a non-empty list each (None: keep the config's value)
    text: str  # the sweep file, copied next to the trials
    payload: dict[str, Any]  # the file's own settings, layered over each trial's tuned defaults
    source: str = "sweep file"


def load_sweep(path: Path) -> Sweep:
    if not path.is_file():
        raise SandboxError(f"sweep file {path} does not exist; see docs/guides/sweeps.md for an example")
    try:
        text = path.read_text()
        payload = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SandboxError(f"sweep file {path} is not valid TOML: {error}") from error
    return parse_sweep(payload, str(path), name=path.stem, text=text)


def parse_sweep(payload: dict[str, Any], source: str, *, name: str, text: str = "") -> Sweep:
    """The base config and the grid; a grid key left out keeps the base config's value."""
    payload = dict(payload)
    grid = payload.pop("grid", None)
    if not isinstance(grid, dict) or not grid:
        raise SandboxError(f"{source} has no [grid] table; add lists to sweep over, e.g. seed = [0, 1, 2]")
    unknown = sorted(set(grid) - set(GRID_KEYS))
    if unknown:
        raise SandboxError(
            f"unknown key(s) {', '.join(unknown)} in [grid] of {source}; valid keys: {', '.join(GRID_KEYS)}"
        )
    base = parse_config(payload, source)
    defaults = {
        "env": [{"id": base.run.env, **base.run.env_kwargs}],
        "agent": [base.run.agent],
        "seed": [base.run.seed],
        "alpha": [None],  # [dqn] and [ppo] keep their own α (PPO's is a KL weight)
        "k": [None],
    }
    checked = {key: _grid_values(key, grid[key], source) if key in grid else defaults[key] for key in GRID_KEYS}
    checked["env"] = [_env_entry(entry, base, source) for entry in checked["env"]]
    return Sweep(name=name, base=base, grid=checked, text=text, payload=payload, source=f"sweep {source}")


def _grid_values(key: str, values: Any, source: str) -> list[Any]:
    where = f"[grid] {key} in {source}"
    if not isinstance(values, list) or not values:
        raise SandboxError(f"{where} must be a non-empty list, e.g. {key} = {_EXAMPLES[key]}")
    for value in values:
        if not _VALID[key](value):
            raise SandboxError(f"{where}: {value!r} is not {_KINDS[key]}")
    return [float(value) for value in values] if key == "alpha" else list(values)


_VALID: dict[str, Callable[[Any], bool]] = {
    "env": lambda v: isinstance(v, str) or (isinstance(v, dict) and isinstance(v.get("id"), str)),
    "agent": lambda v: isinstance(v, str),
    "seed": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "alpha": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "k": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
}
_KINDS = {
    "env": 'an env id or a table {id = "...", option = value}',
    "agent": "an agent name",
    "seed": "a whole number",
    "alpha": "a number",
    "k": "a whole number >= 1",
}
_EXAMPLES = {
    "env": '["TextFrozenLake-v0"]',
    "agent": '["dqn", "dqn-prior"]',
    "seed": "[0, 1, 2]",
    "alpha": "[1.0, 10.0]",
    "k": "[5]",
}


def _env_entry(entry: Any, base: RunConfig, source: str) -> dict[str, Any]:
    """{"id": ..., options...}: a bare id takes [run] env_kwargs, a table brings its own options."""
    from envs import env_family
    from envs.errors import EnvError

    entry = {"id": entry, **base.run.env_kwargs} if isinstance(entry, str) else dict(entry)
    try:
        env_family(entry["id"])
    except EnvError as error:  # an unknown id, with the valid ones
        raise SandboxError(f"[grid] env in {source}: {error}") from None
    return entry


def expand(sweep: Sweep, out_dir: Path) -> list[Trial]:
    """Every grid point as a trial config (the same overrides `train`'s flags make), validated up front."""
    from agents.prior.config import validate_config
    from agents.registry import agent_names, sections_for

    grid = sweep.grid
    for agent in grid["agent"]:
        if agent not in agent_names():
            raise SandboxError(f"[grid] agent {agent!r} cannot be swept; online agents: {', '.join(agent_names())}")
    trials = []
    for env, agent, alpha, k, seed in itertools.product(grid["env"], grid["agent"], grid["alpha"], grid["k"], grid["seed"]):
        # As `train`'s flags: α is DQN's posterior sharpness and PPO's KL weight, for every agent whose spec lists it.
        settings = {"seed": seed, **({"alpha": alpha} if alpha is not None else {}), **({"k": k} if k is not None else {})}
        point: dict[str, dict[str, Any]] = {
            "run": {
                "env": env["id"],
                "env_kwargs": {key: value for key, value in env.items() if key != "id"},
                "agent": agent,
                "seed": seed,
            },
            **sections_for(settings),
        }
        # The sweep file and the grid point are the experiment's own settings, over the trial's tuned defaults.
        config = build_config(experiment=[(sweep.source, sweep.payload), ("[grid]", point)])
        validate_config(config.prior)
        name = trial_name(config)
        trials.append(Trial(name, config, (out_dir / name).resolve()))
    names = [trial.name for trial in trials]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SandboxError(f"the grid lists a value twice: trial {repeated[0]} would run more than once")
    return trials


def trial_name(config: RunConfig) -> str:
    """Readable and unique per grid point, e.g. TextFrozenLake-v0-map_name4x4-dqn-prior-a10-k5-s0."""
    options = "".join(f"-{key}{value}" for key, value in sorted(config.run.env_kwargs.items()))
    run = config.run
    name = f"{run.env}{options}-{run.agent}-a{trial_alpha(config):g}-k{config.dqn.k}-s{run.seed}"
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", name)


def trial_alpha(config: RunConfig) -> float:
    """The α the trial's agent reads: PPO agents' KL weight, every other agent's posterior sharpness."""
    from agents.registry import agent_config

    return agent_config(config).alpha


# ----- where a trial stands --------------------------------------------------------------


def finished_row(trial: Trial) -> dict[str, Any] | None:
    """The final metrics row if the trial's latest checkpoint is at its step budget, else None."""
    from sandbox.engine.runs import latest_checkpoint

    if not trial.run_dir.is_dir():
        return None
    try:
        state = json.loads((latest_checkpoint(trial.run_dir) / STATE_FILE).read_text())
        done = int(state["session"]["total_steps"]) >= trial.config.run.steps
        metrics = state["trainer"]["metrics"]
    except (SandboxError, OSError, ValueError, KeyError, TypeError):
        return None  # no or damaged checkpoint: the trial runs, and resuming says what is wrong
    return dict(metrics[-1]) if done and metrics else None


def check_existing(trial: Trial) -> None:
    """A run folder from an earlier sweep must hold this trial's config, or resuming would train something else."""
    stored = trial.run_dir / "config.toml"
    if not stored.is_file():
        return
    if comparable_config(load_run_config(stored)) != comparable_config(trial.config):
        raise SandboxError(
            f"{trial.run_dir} holds a run with another config than trial {trial.name} of this sweep; "
            "move it away or pass another --out"
        )


def comparable_config(config: RunConfig) -> RunConfig:
    """The config as TOML reads it back, less the prompt templates' folder: a run records the copy of
    the templates it pinned into its own folder (see Trainer), not the folder the sweep named."""
    comparable = parse_config(tomllib.loads(config.to_toml()), "config")
    comparable.prior.templates_dir = None
    return comparable


# ----- one trial (a Ray task) ---------------------------------------------------------------


class _StopRequested(Exception):
    """Raised between two steps once the trial was asked to stop."""


def train_trial(config_text: str, run_dir: str) -> dict[str, Any]:
    """Train one trial to its step budget, resuming its checkpoint if it has one; returns the final metrics row.

    A user error comes back as a failed trial (one line). A cancelled trial (Ray's cancel
    interrupts the worker like Ctrl-C) finishes the step it is in, checkpoints and stops, so
    resuming it continues exactly. The prior is closed at the end, since Ray reuses the worker.
    """
    from sandbox.errors import user_error_types
    from sandbox.engine.runs import CHECKPOINTS, LATEST
    from sandbox.engine.training import Trainer

    stop = threading.Event()

    def between_steps(record: Any) -> None:
        if stop.is_set():
            raise _StopRequested

    directory = Path(run_dir)
    trainer = None
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        if (directory / CHECKPOINTS / LATEST).exists():
            trainer, status = Trainer.resume(directory), "resumed"
        else:
            config = parse_config(tomllib.loads(config_text), str(directory / "config.toml"))
            trainer, status = Trainer(config, directory), "done"
            trainer.reset()
        trainer.run(on_step=between_steps)
    except _StopRequested:
        trainer.save_checkpoint()
        status = "interrupted"
    except user_error_types() as error:
        return {"status": "failed", "error": str(error)}
    finally:
        signal.signal(signal.SIGINT, previous)
        if trainer is not None:
            trainer.close()
            prior = getattr(trainer.agent, "prior", None)
            if prior is not None:
                prior.close()
    return {"status": status, **(trainer.metrics[-1] if trainer.metrics else {})}


# ----- the sweep -------------------------------------------------------------------------------


def run_sweep(
    sweep: Sweep,
    out_dir: Path,
    *,
    address: str | None = None,
    max_concurrent: int | None = None,
    cpus_per_trial: float = 1.0,
    log_to_driver: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every unfinished trial on Ray; returns one summary row per trial, in grid order.

    Uses the Ray already initialised in this process if there is one (tests share one),
    else starts a local one (address None) or connects to the cluster at `address`.
    """
    try:
        import ray
    except ImportError:
        raise SandboxError("sweeps run on Ray, which is not installed: pip install -e '.[scale]'") from None

    trials = expand(sweep, out_dir)
    for trial in trials:
        check_existing(trial)
    if max_concurrent is not None and max_concurrent < 1:
        raise SandboxError(f"--max-concurrent must be at least 1, got {max_concurrent}")
    if not cpus_per_trial > 0:
        raise SandboxError(f"--cpus-per-trial must be > 0, got {cpus_per_trial}")
    out_dir.mkdir(parents=True, exist_ok=True)
    if sweep.text:
        atomic_write_text(out_dir / "sweep.toml", sweep.text)
    rows = {trial.name: {**trial.describe(), "status": "pending", "run": str(trial.run_dir)} for trial in trials}
    queue = []
    for trial in trials:
        final = finished_row(trial)
        if final is None:
            queue.append(trial)
        else:
            rows[trial.name].update(final, status="skipped")
            if on_result is not None:
                on_result(rows[trial.name])
    write_summary(out_dir, list(rows.values()))
    if not queue:
        return list(rows.values())

    started_ray = _connect(address, log_to_driver)
    # Workers are reused across trials (imports paid once); each trial seeds and builds everything afresh.
    task = ray.remote(num_cpus=cpus_per_trial)(train_trial)
    limit = max_concurrent or len(queue)
    pending: dict[Any, Trial] = {}

    def finish(ref: Any, outcome: dict[str, Any]) -> None:
        trial = pending.pop(ref)
        rows[trial.name].update(outcome)
        write_summary(out_dir, list(rows.values()))
        if on_result is not None:
            on_result(rows[trial.name])

    try:
        while queue or pending:
            while queue and len(pending) < limit:
                trial = queue.pop(0)
                pending[task.remote(trial.config.to_toml(), str(trial.run_dir))] = trial
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                finish(ref, _outcome(ref))
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref)  # interrupts the trial like Ctrl-C: it finishes its step and checkpoints
        if pending:
            ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=CANCEL_GRACE_S)
            for ref in ready:
                finish(ref, _outcome(ref))
        for ref in list(pending):
            finish(ref, {"status": "interrupted"})
        raise
    finally:
        if started_ray:
            ray.shutdown()
    return list(rows.values())


def _connect(address: str | None, log_to_driver: bool) -> bool:
    """Start or join Ray unless this process already has; True if this call did (and so shuts it down)."""
    import ray

    if ray.is_initialized():
        return False
    settings = {"logging_level": logging.WARNING, "log_to_driver": log_to_driver}
    try:
        if address:
            ray.init(address=address, **settings)
        else:
            ray.init(include_dashboard=False, **settings)
    except (ConnectionError, ValueError, RuntimeError) as error:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise SandboxError(
            f"cannot start {where} ({error}); "
            "check --address (ray://HOST:10001 or HOST:6379), or leave it out to run here"
        ) from None
    return True


def _outcome(ref: Any) -> dict[str, Any]:
    """A finished task's row; a crash is a failed trial with the error's last line, never the sweep's end."""
    import ray
    from ray.exceptions import RayTaskError, TaskCancelledError, WorkerCrashedError

    try:
        return ray.get(ref)
    except TaskCancelledError:
        return {"status": "interrupted"}
    except (RayTaskError, WorkerCrashedError) as error:
        lines = [line for line in str(error).strip().splitlines() if line.strip()]
        return {"status": "failed", "error": lines[-1] if lines else error.__class__.__name__}


def summary_columns() -> tuple[str, ...]:
    from sandbox.engine.training import METRIC_COLUMNS

    return TRIAL_COLUMNS + tuple(column for column in METRIC_COLUMNS if column not in TRIAL_COLUMNS) + ("run", "error")


def write_summary(out_dir: Path, rows: list[dict[str, Any]]) -> Path:
    """summary.csv: one row per trial (pending ones too), rewritten atomically so a reader never sees half."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=summary_columns(), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path = out_dir / SUMMARY_FILE
    atomic_write_text(path, buffer.getvalue())
    return path


def default_out_dir(sweep: Sweep) -> Path:
    return Path("saves") / "sweeps" / sweep.name
