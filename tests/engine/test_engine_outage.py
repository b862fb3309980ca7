"""A remote prior that goes away mid-run (#30): `train` waits for the server to come back, and when it
stays away past --prior-outage-wait it saves a checkpoint, says in one line how to resume, and the
resumed run is exactly the uninterrupted one.

The server is the project's `prior-server` on a tiny model, in a subprocess that dies (os._exit, as a
killed process) on a chosen /prior request: the kill point is fixed by the run's own requests, not by
timing. The replacement server starts on the same port once the first has died.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from benchmarks.synthetic_gguf import SHAPES, write_llama_gguf
from sandbox.engine.config import RunConfig
from sandbox.prior_service.outage import PriorUnavailable
from sandbox.engine.progress import TrainingProgress
from sandbox.engine.storage import load_checkpoint
from sandbox.engine.training import Trainer, latest_checkpoint
from tests.conftest import REPO
from tests.engine.test_engine_training import frozen_lake_config

pytestmark = pytest.mark.slow

DIE_ON_REQUEST = 5  # the /prior request the first server dies on (a state DQN-Prior draws at s' while learning)
# A server that dies on its Nth /prior request, before answering it: the client sees the connection drop.
DYING_SERVER = """
import os, sys
from sandbox.prior_service.server import PriorService
answer, count = PriorService.answer, [0]
def answer_or_die(self, settings, query):
    count[0] += 1
    if count[0] == int(os.environ["DIE_ON_REQUEST"]):
        os._exit(1)
    return answer(self, settings, query)
PriorService.answer = answer_or_die
from sandbox.cli import main
sys.exit(main(sys.argv[1:]))
"""
# Columns that depend on wall time or on where a cached answer came from, not on what was learnt.
COST_COLUMNS = {"wall_s", "llm_calls", "cache_hits"}
COST_COLUMNS |= {f"{prefix}{name}" for prefix in ("", "eval_") for name in ("ms_per_decision", "llm_calls_per_decision")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_llama_gguf(tmp_path_factory.mktemp("models") / "tiny-llama.gguf", SHAPES["tiny"])


class Servers:
    """Prior servers on one port, each started after the previous one has gone."""

    def __init__(self, model: Path) -> None:
        self.model = model
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.running: list[subprocess.Popen[str]] = []
        self.trains: list[subprocess.Popen[str]] = []  # ended with the servers, should a test fail midway

    def start(self, die_on_request: int | None = None) -> subprocess.Popen[str]:
        flags = ["prior-server", "--port", str(self.port), "--json", "--prior-model", str(self.model)]
        flags += ["--prior-cache", "none", "--threads", "1"]
        command = [sys.executable, "-c", DYING_SERVER, *flags] if die_on_request else [sys.executable, "-m", "sandbox", *flags]
        env = {**os.environ, "DIE_ON_REQUEST": str(die_on_request or 0), "PYTHONPATH": str(REPO)}
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        announced = json.loads(process.stdout.readline() or "{}")
        assert announced.get("url") == self.url, process.stderr.read()
        self.running.append(process)
        return process

    def stop(self) -> None:
        for process in self.trains:
            if process.poll() is None:
                process.kill()
                process.communicate()
        for process in self.running:
            if process.poll() is None:
                process.terminate()
            process.communicate(timeout=60)


@pytest.fixture
def servers(tiny_model: Path) -> Iterator[Servers]:
    running = Servers(tiny_model)
    yield running
    running.stop()


def train(servers: Servers, out: Path, *extra: str) -> subprocess.Popen[str]:
    flags = ["--env", "TextFrozenLake-v0", "--agent", "dqn-prior", "--features", "hash", "--steps", "120"]
    flags += ["--eval-every", "40", "--eval-episodes", "1", "--checkpoint-every", "100000", "--seed", "3"]
    flags += ["--prior-server", servers.url, "--prior-model", str(servers.model), "--prior-cache", "none"]
    command = [sys.executable, "-m", "sandbox", "train", *flags, "--quiet", "--out", str(out), *extra]
    servers.trains.append(subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return servers.trains[-1]


def learnt(path: Path) -> list[dict[str, str]]:
    """A log's rows without the columns that measure cost rather than learning."""
    with open(path, newline="") as stream:
        return [{key: value for key, value in row.items() if key not in COST_COLUMNS} for row in csv.DictReader(stream)]


def finished(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=600)
    return process.returncode, stderr


def reference_run(servers: Servers, tmp_path: Path) -> Path:
    """The same run with the server up throughout."""
    server = servers.start()
    out = tmp_path / "uninterrupted"
    code, stderr = finished(train(servers, out))
    assert code == 0, stderr
    server.terminate()
    server.communicate(timeout=60)
    return out


def assert_same_run(run: Path, reference: Path) -> None:
    assert learnt(run / "metrics.csv") == learnt(reference / "metrics.csv")
    assert learnt(run / "episodes.csv") == learnt(reference / "episodes.csv")
    assert [row["step"] for row in learnt(run / "metrics.csv")] == ["40", "80", "120"]


def test_a_server_killed_and_restarted_mid_run_is_waited_for_and_the_run_finishes(servers, tmp_path):
    reference = reference_run(servers, tmp_path)
    dying = servers.start(die_on_request=DIE_ON_REQUEST)
    out = tmp_path / "restarted"
    run = train(servers, out, "--prior-outage-wait", "300")
    dying.wait(timeout=300)  # killed by the run's own request
    assert dying.returncode == 1
    servers.start()  # back on the same port while the run waits
    code, stderr = finished(run)
    assert code == 0, stderr
    assert_same_run(out, reference)


def test_a_server_that_stays_down_stops_the_run_with_a_checkpoint_that_resumes_with_nothing_lost(servers, tmp_path):
    reference = reference_run(servers, tmp_path)
    dying = servers.start(die_on_request=DIE_ON_REQUEST)
    out = tmp_path / "stopped"
    code, stderr = finished(train(servers, out, "--prior-outage-wait", "1"))
    assert dying.wait(timeout=60) == 1
    assert code == 2 and stderr.count("\n") == 1 and stderr.startswith("error: the prior server at ")
    assert "has not answered for" in stderr and f"continue with `python -m sandbox train --resume {out}`" in stderr
    _, state = load_checkpoint(latest_checkpoint(out))
    stopped_at = state["session"]["total_steps"]
    assert f"checkpoint saved at step {stopped_at} " in stderr and 0 < stopped_at < 120
    assert state["session"]["unlearned"] is not None  # it died while DQN-Prior drew at s': the step waits to be learnt
    with open(out / "episodes.csv", newline="") as stream:
        assert all(int(row["step"]) <= stopped_at for row in csv.DictReader(stream))

    servers.start()  # the server is back: resume
    resumed = subprocess.run(
        [sys.executable, "-m", "sandbox", "train", "--resume", str(out), "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(out, reference)


def test_ctrl_c_while_waiting_for_the_server_saves_and_the_run_resumes(servers, tmp_path):
    reference = reference_run(servers, tmp_path)
    dying = servers.start(die_on_request=DIE_ON_REQUEST)
    out = tmp_path / "interrupted"
    run = train(servers, out, "--prior-outage-wait", "3600")
    assert dying.wait(timeout=300) == 1  # the run is waiting for the server now (at most 8 s between tries)
    run.send_signal(signal.SIGINT)
    stdout, _ = run.communicate(timeout=120)
    assert run.returncode == 130 and f"interrupted: checkpoint saved to {out / 'checkpoints'}" in stdout
    servers.start()
    resumed = subprocess.run(
        [sys.executable, "-m", "sandbox", "train", "--resume", str(out), "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(out, reference)


def test_resuming_a_run_stopped_before_its_first_checkpoint_says_so(tmp_path):
    out = tmp_path / "never-saved"
    out.mkdir()
    (out / "config.toml").write_text('[run]\nenv = "TextFrozenLake-v0"\n')
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "train", "--resume", str(out)], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "stopped before its first checkpoint, so there is nothing to resume" in done.stderr
    assert f"--config {out / 'config.toml'} --out {out}" in done.stderr


def test_the_progress_bar_shows_the_wait_and_clears_it_when_the_server_is_back():
    trainer = SimpleNamespace(config=SimpleNamespace(run=SimpleNamespace(steps=100)), steps_done=40)
    progress = TrainingProgress(trainer, enabled=True)  # type: ignore[arg-type]
    progress.console.file = io.StringIO()
    progress.show_outage("prior server down (cannot be reached): waiting for it, 3 of 300 s")
    (task,) = progress._progress.tasks
    assert "prior server down (cannot be reached): waiting for it, 3 of 300 s" in task.fields["status"]
    progress.show_outage(None)
    assert task.fields["status"] == ""


class FailsOnce:
    """The run's prior, but its `call`-th query raises PriorUnavailable (a server that stayed away), once."""

    def __init__(self, prior: Any, call: int) -> None:
        self.prior, self.call, self.calls = prior, call, 0

    def __call__(self, query: Any, **options: Any) -> Any:
        self.calls += 1
        if self.calls == self.call:
            raise PriorUnavailable("the prior server at http://127.0.0.1:1 has not answered for 300 s")
        return self.prior(query, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.prior, name)


def frozen_lake_run(steps: int = 160) -> RunConfig:
    config = frozen_lake_config(steps, agent="dqn-prior")
    config.run.eval_every = 40
    config.run.env_kwargs = {"max_episode_steps": 6}  # short episodes: many end truncated, DQN-Prior drawing at s'
    config.run.checkpoint_every = 100_000  # the only checkpoint is the one the outage writes
    return config


# Where each call fails (measured): 1 the first state (acting), 23 a truncated episode's end (learning at
# s'), 48 an evaluation, 57 a later episode's first state; the others learning mid-episode.
@pytest.mark.parametrize("failing_call", [1, 2, 9, 23, 48, 57, 88, 131])
def test_a_checkpoint_written_when_the_prior_gave_up_resumes_into_the_uninterrupted_run(tmp_path, failing_call):
    """Wherever the prior fails (acting on an episode's first state, learning at s' mid-episode or at a
    truncated end, evaluating), the checkpoint `train` writes then resumes into exactly the run without it."""
    reference = Trainer(frozen_lake_run(), tmp_path / "reference")
    reference.reset()
    reference.run()
    reference.close()
    trainer = Trainer(frozen_lake_run(), tmp_path / "run")
    trainer.reset()
    trainer.agent.prior = FailsOnce(trainer.agent.prior, failing_call)
    with pytest.raises(PriorUnavailable):
        trainer.run()
    trainer.save_checkpoint()  # what `train` does before its one-line error
    trainer.close()
    resumed = Trainer.resume(tmp_path / "run")
    resumed.run()
    resumed.close()
    for log in ("metrics.csv", "episodes.csv"):
        assert learnt(tmp_path / "run" / log) == learnt(tmp_path / "reference" / log), log
