"""Sweeps on a local Ray, with the trials' prior on a prior server: run folders identical to `train`, resume, skip."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from agents.prior import PriorConfig
from sandbox.cli import main
from sandbox.engine.config import load_config
from sandbox.errors import SandboxError
from sandbox.prior_service.server import PriorServer, PriorService
from sandbox.features.sweep import SUMMARY_FILE, comparable_config, expand, parse_sweep, run_sweep
from sandbox.engine.training import Trainer, latest_checkpoint
from tests.engine.test_engine_training import comparable, read_metrics
from tests.prior.conftest import write_tiny_gguf

pytestmark = pytest.mark.xdist_group("ray")  # under pytest-xdist, one worker starts the one local Ray


@pytest.fixture(scope="session")
def local_ray() -> Iterator[None]:
    """One local Ray for the whole test session: starting it costs seconds."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def prior_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, PriorService]]:
    """A prior server on loopback with the tiny random-weight model and a disk cache."""
    folder = tmp_path_factory.mktemp("sweep-prior")
    model = write_tiny_gguf(folder / "tiny.gguf")
    service = PriorService(PriorConfig(model=str(model), n_threads=1, cache_path=str(folder / "cache.sqlite")))
    server = PriorServer(("127.0.0.1", 0), service)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.url, service
    server.shutdown()
    server.server_close()
    service.close()
    thread.join()


def sweep_payload(grid: dict[str, Any], prior: dict[str, Any] | None = None) -> dict[str, Any]:
    """A quick Frozen Lake sweep (hashing features, 40 steps, an evaluation every 20)."""
    return {
        "grid": grid,
        "run": {"env": "TextFrozenLake-v0", "steps": 40, "eval_every": 20, "eval_episodes": 2, "checkpoint_every": 10},
        "dqn": {"features": "hash", "learning_starts": 8, "batch_size": 8, "epsilon_decay_steps": 30},
        "ppo": {"features": "hash"},
        "prior": prior or {"model": "uniform", "cache_path": "none"},
    }


def read_summary(out: Path) -> list[dict[str, str]]:
    with open(out / SUMMARY_FILE) as stream:
        return list(csv.DictReader(stream))


def test_two_trial_sweep_on_ray_with_a_prior_server_trains_like_train_and_resumes(local_ray, prior_server, tmp_path):
    url, service = prior_server
    model = service.config.model
    payload = sweep_payload({"agent": ["dqn-prior"], "seed": [0, 1], "alpha": [5.0]}, {"model": model, "server": url})
    sweep = parse_sweep(payload, "test sweep", name="two")
    out = tmp_path / "sweeps" / "two"
    fresh, partial = expand(sweep, out)
    assert fresh.name == "TextFrozenLake-v0-dqn-prior-a5-k5-s0" and partial.name.endswith("-s1")
    # The second trial was stopped part-way (as by Ctrl-C) before the sweep: the sweep resumes it.
    stopped = Trainer(partial.config, partial.run_dir)
    stopped.reset()
    stopped.run_epoch()
    stopped.save_checkpoint()
    stopped.close()
    stopped.agent.prior.close()
    llm_calls_before = service.prior.stats.llm_calls

    seen: list[str] = []
    rows = run_sweep(sweep, out, on_result=lambda row: seen.append(row["trial"]))

    assert [row["status"] for row in rows] == ["done", "resumed"]
    assert sorted(seen) == [fresh.name, partial.name]
    assert [row["step"] for row in rows] == [40, 40]
    assert service.prior.stats.llm_calls > llm_calls_before  # the Ray workers asked the shared server
    summary = read_summary(out)
    expected = [(fresh.name, "done", "40"), (partial.name, "resumed", "40")]
    assert [(row["trial"], row["status"], row["step"]) for row in summary] == expected
    assert float(summary[0]["eval_success"]) == rows[0]["eval_success"]
    for trial in (fresh, partial):
        assert comparable_config(load_config(trial.run_dir / "config.toml")) == comparable_config(trial.config)
        assert [int(row["step"]) for row in read_metrics(trial.run_dir)] == [20, 40]
        assert latest_checkpoint(trial.run_dir).name == "step_000000040"

    # A trial is exactly a `train` run: the same config trained in this process gives the same metrics.
    direct = Trainer(fresh.config, tmp_path / "direct")
    direct.reset()
    direct.run()
    direct.close()
    direct.agent.prior.close()
    assert comparable(tmp_path / "direct") == comparable(fresh.run_dir)

    # Run again: both trials are finished, so nothing trains and the summary still has their results.
    before = {trial.name: (trial.run_dir / "metrics.csv").stat().st_mtime_ns for trial in (fresh, partial)}
    again = run_sweep(sweep, out)
    assert [row["status"] for row in again] == ["skipped", "skipped"]
    assert [row["eval_success"] for row in again] == [row["eval_success"] for row in rows]
    assert before == {trial.name: (trial.run_dir / "metrics.csv").stat().st_mtime_ns for trial in (fresh, partial)}


def test_sweep_command_reports_a_failed_trial_without_stopping_the_others(local_ray, tmp_path, capsys):
    grid = {"agent": ["dqn"], "env": ["TextFrozenLake-v0", {"id": "TextFrozenLake-v0", "map_name": "9x9"}]}
    config = tmp_path / "grid.toml"
    config.write_text(tomli_w.dumps(sweep_payload(grid)))
    assert main(["sweep", str(config), "--out", str(tmp_path / "out"), "--max-concurrent", "1", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"done": 1, "failed": 1}
    good, bad = report["trials"]
    assert good["status"] == "done" and good["step"] == 40 and 0.0 <= good["eval_success"] <= 1.0
    assert bad["trial"] == "TextFrozenLake-v0-map_name9x9-dqn-a10-k5-s0"
    assert bad["status"] == "failed" and "map_name" in bad["error"] and "\n" not in bad["error"]
    assert [row["status"] for row in read_summary(tmp_path / "out")] == ["done", "failed"]
    assert (tmp_path / "out" / "sweep.toml").read_text() == config.read_text()  # what the trials were made from


def test_the_grid_sets_what_train_flags_set_and_leaves_the_rest_to_the_config(tmp_path):
    payload = sweep_payload({"agent": ["dqn-prior", "ppo-prior"], "env": [{"id": "TextFrozenLake-v0", "map_name": "8x8"}]})
    payload["ppo"]["alpha"] = 0.1  # PPO's KL weight: not the DQN agents' α = 10
    dqn, ppo = expand(parse_sweep(payload, "grid.toml", name="alpha"), tmp_path)
    assert (dqn.config.dqn.alpha, ppo.config.ppo.alpha) == (10.0, 0.1)
    assert (dqn.name, ppo.name) == (
        "TextFrozenLake-v0-map_name8x8-dqn-prior-a10-k5-s0",
        "TextFrozenLake-v0-map_name8x8-ppo-prior-a0.1-k5-s0",
    )
    assert dqn.config.run.env_kwargs == {"map_name": "8x8"} and dqn.run_dir == (tmp_path / dqn.name).resolve()
    payload["grid"] = {"alpha": [1, 3], "k": [2], "seed": [4]}
    trials = expand(parse_sweep(payload, "grid.toml", name="alpha"), tmp_path)
    assert [(t.config.dqn.alpha, t.config.ppo.alpha, t.config.dqn.k, t.config.run.seed) for t in trials] == [
        (1.0, 1.0, 2, 4),
        (3.0, 3.0, 2, 4),
    ]
    assert all(t.config.dqn.seed == t.config.ppo.seed == 4 for t in trials)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({}, "has no \\[grid\\] table"),
        ({"seeds": [0]}, "unknown key\\(s\\) seeds in \\[grid\\]"),
        ({"seed": 3}, "must be a non-empty list"),
        ({"alpha": ["high"]}, "'high' is not a number"),
        ({"k": [0]}, "0 is not a whole number >= 1"),
        ({"env": ["NoSuchEnv-v0"]}, "unknown env id 'NoSuchEnv-v0'"),
        ({"agent": ["cql"]}, "agent 'cql' cannot be swept"),
        ({"seed": [1, 1]}, "lists a value twice"),
    ],
)
def test_bad_sweep_files_are_one_line_errors_before_anything_runs(grid, message, tmp_path):
    with pytest.raises(SandboxError, match=message):
        expand(parse_sweep(sweep_payload(grid), "grid.toml", name="bad"), tmp_path)


def test_a_run_folder_with_another_config_is_not_overwritten_or_resumed(tmp_path):
    sweep = parse_sweep(sweep_payload({"agent": ["dqn"]}), "grid.toml", name="clash")
    (trial,) = expand(sweep, tmp_path)
    trial.config.run.steps = 20
    trainer = Trainer(trial.config, trial.run_dir)  # an earlier sweep with another step budget
    trainer.reset()
    trainer.close()
    with pytest.raises(SandboxError, match="holds a run with another config"):
        run_sweep(sweep, tmp_path)


def test_sweep_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "missing.toml")]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid]\nseed = [0]\n[nonsense]\n")
    assert main(["sweep", str(bad)]) == 2
    assert "unknown section [nonsense]" in capsys.readouterr().err


def test_a_cancelled_trial_stops_between_steps_and_resumes_exactly(tmp_path, monkeypatch):
    """Ray cancels a running trial the way Ctrl-C interrupts (`_thread.interrupt_main`), at any moment:
    the trial finishes its step, checkpoints, and a rerun continues as if it had never stopped."""
    import _thread

    from sandbox.engine.session import Session
    from sandbox.features.sweep import train_trial

    sweep = parse_sweep(sweep_payload({"agent": ["dqn"]}), "grid.toml", name="cancel")
    (trial,) = expand(sweep, tmp_path / "sweep")
    straight = Trainer(trial.config, tmp_path / "straight")
    straight.reset()
    straight.run()
    straight.close()

    step = Session.step

    def step_then_cancel(self, *args, **kwargs):
        record = step(self, *args, **kwargs)
        if self.total_steps == 23:
            _thread.interrupt_main()  # what ray.cancel does in the worker
        return record

    monkeypatch.setattr(Session, "step", step_then_cancel)
    stopped = train_trial(trial.config.to_toml(), str(trial.run_dir))
    monkeypatch.setattr(Session, "step", step)
    assert stopped["status"] == "interrupted"
    assert latest_checkpoint(trial.run_dir).name == "step_000000023"
    finished = train_trial(trial.config.to_toml(), str(trial.run_dir))
    assert finished["status"] == "resumed" and finished["step"] == 40
    assert comparable(trial.run_dir) == comparable(tmp_path / "straight")
