"""Kill safety: `train` killed with SIGKILL (or stopped with Ctrl-C) at any moment leaves a run
folder whose every file is valid, loses at most one checkpoint interval, and `train --resume`
continues it into exactly the run an uninterrupted process produces."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from sandbox.cli import main
from sandbox.engine.config import load_config
from sandbox.engine.storage import TEMP_SUFFIX, is_complete_checkpoint, load_checkpoint
from sandbox.engine.training import CHECKPOINTS, EPISODE_COLUMNS, EPISODES, LATEST, METRIC_COLUMNS, Trainer, latest_checkpoint
from tests.conftest import REPO
from tests.engine.test_engine_training import frozen_lake_config

STEPS, CHECKPOINT_EVERY = 500, 40
EPISODE_LIMIT = 30  # TextFrozenLake-v0 4x4; checkpoints fall at the first episode end after each interval
FLAGS = [
    "--env", "TextFrozenLake-v0", "--agent", "dqn", "--features", "hash", "--steps", str(STEPS),
    "--eval-every", "50", "--eval-episodes", "1", "--checkpoint-every", str(CHECKPOINT_EVERY),
    "--prior-cache", "none", "--quiet",
]  # fmt: skip
COMPARED = [column for column in METRIC_COLUMNS if column != "wall_s"]
KILL_DELAY_SEED = 7  # the kills' delays after a checkpoint: the same moments on every run, so a failure reproduces


def rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """A CSV with exactly these columns and no row cut short."""
    with open(path, newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == columns, path
        found = list(reader)
    for row in found:
        assert None not in row and all(value is not None for value in row.values()), f"{path}: partial row {row}"
    return found


def check_run_folder(run_dir: Path) -> tuple[int, int]:
    """Every file parses; returns (step of the checkpoint a resume starts from, furthest step logged)."""
    load_config(run_dir / "config.toml")
    metrics = rows(run_dir / "metrics.csv", METRIC_COLUMNS)
    for row in metrics:
        [float(row[column]) for column in METRIC_COLUMNS]
    episodes = rows(run_dir / "episodes.csv", EPISODE_COLUMNS)
    for path in (run_dir / EPISODES).glob("*.jsonl"):
        [json.loads(line) for line in path.read_text().splitlines()]
    for path in (run_dir / "tb").glob("events.out.tfevents.*"):
        list(EventFileLoader(str(path)).Load())  # TensorBoard's reader; it skips a record cut short
    for folder in (run_dir / CHECKPOINTS).glob("step_*"):
        if is_complete_checkpoint(folder):
            load_checkpoint(folder)
    _, state = load_checkpoint(latest_checkpoint(run_dir))
    logged = [int(row["step"]) for row in metrics + episodes]
    return int(state["session"]["total_steps"]), max(logged, default=0)


def start(*flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sandbox", "train", *flags],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_new_checkpoint(run_dir: Path, process: subprocess.Popen[str], after: str | None) -> str:
    pointer = run_dir / CHECKPOINTS / LATEST
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, f"train exited early: {process.communicate()}"
        current = pointer.read_text() if pointer.is_file() else None
        if current and current != after:
            return current
        time.sleep(0.005)
    raise AssertionError("no new checkpoint within 120 s")


def stop(process: subprocess.Popen[str], number: int) -> tuple[int, str, str]:
    process.send_signal(number)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


@pytest.mark.slow  # four `train` processes: tens of seconds on 2 cores
def test_sigkill_at_any_moment_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    assert main(["train", *FLAGS, "--out", str(tmp_path / "straight")]) == 0
    run_dir = tmp_path / "killed"
    chance = random.Random(KILL_DELAY_SEED)
    process = start(*FLAGS, "--out", str(run_dir))
    pointer = wait_for_new_checkpoint(run_dir, process, None)
    code, _, _ = stop(process, signal.SIGKILL)  # 1: the moment the first checkpoint exists
    assert code == -signal.SIGKILL
    resumed_from, logged = check_run_folder(run_dir)
    assert logged - resumed_from <= CHECKPOINT_EVERY + EPISODE_LIMIT

    for _ in range(2):  # 2, 3: a random moment — mid-step, mid-evaluation or mid-write
        process = start("--resume", str(run_dir), "--quiet")
        pointer = wait_for_new_checkpoint(run_dir, process, pointer)
        delay = chance.uniform(0.0, 0.3)
        time.sleep(delay)
        code, _, err = stop(process, signal.SIGKILL)
        assert code == -signal.SIGKILL, f"finished before the kill {delay:.3f} s after a checkpoint: {err}"
        resumed_from, logged = check_run_folder(run_dir)
        assert logged - resumed_from <= CHECKPOINT_EVERY + EPISODE_LIMIT, f"killed {delay:.3f} s after a checkpoint"
        pointer = (run_dir / CHECKPOINTS / LATEST).read_text()

    process = start("--resume", str(run_dir), "--quiet")  # 4: Ctrl-C saves where it stands
    wait_for_new_checkpoint(run_dir, process, pointer)
    time.sleep(chance.uniform(0.0, 0.3))
    code, out, err = stop(process, signal.SIGINT)
    assert code == 130 and "interrupted: checkpoint saved" in out, err
    resumed_from, logged = check_run_folder(run_dir)
    assert resumed_from >= logged  # nothing lost

    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
    for folder in (run_dir, run_dir / CHECKPOINTS, run_dir / EPISODES):
        assert not [item.name for item in folder.iterdir() if item.name.endswith(TEMP_SUFFIX)]
    straight = tmp_path / "straight"
    assert [{k: row[k] for k in COMPARED} for row in rows(run_dir / "metrics.csv", METRIC_COLUMNS)] == [
        {k: row[k] for k in COMPARED} for row in rows(straight / "metrics.csv", METRIC_COLUMNS)
    ]
    assert rows(run_dir / "episodes.csv", EPISODE_COLUMNS) == rows(straight / "episodes.csv", EPISODE_COLUMNS)


class Killed(BaseException):
    """Stands in for SIGKILL inside the process: nothing catches it."""


def comparable(run_dir: Path) -> list[dict[str, str]]:
    return [{k: row[k] for k in COMPARED} for row in rows(run_dir / "metrics.csv", METRIC_COLUMNS)]


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """frozen_lake_config() trained without interruption."""
    trainer = Trainer(frozen_lake_config(), tmp_path_factory.mktemp("straight") / "run")
    trainer.reset()
    trainer.run()
    trainer.close()
    return trainer.run_dir


@pytest.mark.parametrize("kill_at_rename", [1, 2, 3])
def test_a_kill_at_each_rename_of_a_checkpoint_write_leaves_a_resumable_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, straight_run: Path, kill_at_rename: int
) -> None:
    # Re-saving a step that already has a checkpoint (Ctrl-C right after a periodic one) is the
    # write with three renames: the old folder aside, the new one in, then the `latest` pointer.
    config = frozen_lake_config()
    config.run.steps = 120
    trainer = Trainer(config, tmp_path / "run")
    trainer.reset()
    trainer.run()
    real_replace, calls = os.replace, []

    def replace(source: str | Path, target: str | Path) -> None:
        calls.append(target)
        if len(calls) >= kill_at_rename:  # killed: this rename and any later one never happen
            raise Killed
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Killed):
        trainer.save_checkpoint()
    monkeypatch.setattr(os, "replace", real_replace)

    saved = load_config(tmp_path / "run" / "config.toml")
    saved.run.steps = 240
    (tmp_path / "run" / "config.toml").write_text(saved.to_toml())
    def leftovers() -> list[Path]:
        return [item for item in (tmp_path / "run" / CHECKPOINTS).iterdir() if item.name.endswith(TEMP_SUFFIX)]

    assert bool(leftovers()) == (kill_at_rename == 2)  # the old folder, renamed aside, its name taken by nothing
    resumed = Trainer.resume(tmp_path / "run")
    assert 120 - resumed.steps_done <= config.run.checkpoint_every + EPISODE_LIMIT
    assert not leftovers()
    resumed.run()
    assert comparable(tmp_path / "run") == comparable(straight_run)


def test_a_kill_between_a_checkpoint_and_the_evaluation_at_its_step_is_evaluated_on_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One step east wins this lake, so every step ends an episode and checkpoints (every 10 steps)
    # land on evaluation points; the checkpoint is written before that evaluation runs.
    def config():
        made = frozen_lake_config(steps=40)
        made.run.env_kwargs = {"desc": ["SG"]}
        made.run.eval_every = made.run.checkpoint_every = 10
        return made

    straight = Trainer(config(), tmp_path / "straight")
    straight.reset()
    straight.run()

    trainer = Trainer(config(), tmp_path / "run")
    trainer.reset()
    evaluate_and_log = trainer._evaluate_and_log

    def killed_at_step_20() -> dict[str, float]:
        if trainer.steps_done == 20:
            raise Killed
        return evaluate_and_log()

    monkeypatch.setattr(trainer, "_evaluate_and_log", killed_at_step_20)
    with pytest.raises(Killed):
        trainer.run()
    assert latest_checkpoint(tmp_path / "run").name == "step_000000020"

    resumed = Trainer.resume(tmp_path / "run")
    resumed.run()
    assert [row["step"] for row in comparable(tmp_path / "run")] == ["10", "20", "30", "40"]
    assert comparable(tmp_path / "run") == comparable(tmp_path / "straight")
