"""The OpenAI-compatible prior against real vLLM (CPU, float32) on loopback: its scores are the
transformers scores of the same weights, near the in-process Q4_1 ones; greedy and seeded sampling
work; a DQN-Prior run survives vLLM being killed; the API key is written nowhere.

Run by `make test-engines` (see conftest.py); `make test` skips them.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.prior import LlamaPrior, PriorConfig, build_prior
from agents.prior.variants import options_in_force
from sandbox.prior_service.openai_backend import EngineClient
from sandbox.engine.storage import load_checkpoint
from sandbox.engine.training import latest_checkpoint
from tests.conftest import REPO
from tests.engines.conftest import API_KEY_ENV, SERVED_MODEL, VLLMServer, transformers_scores

pytestmark = pytest.mark.slow

TRANSFORMERS_TOLERANCE = 1e-3  # nats per action; measured: at most 4.9e-5 (ScienceWorld, 38 actions)
# In-process Q4_1 (llama.cpp quantises the activations to 8 bits inside each matmul) against the float32
# weights it was dequantised into: measured max |dp| 0.001-0.024 over the six families, plain and default
# variant, and 0.043 on TextWorld's treasure hunter (#30); 0.06 bounds quantisation, not a wrong prior
# (a prior that skips a lever or a shifted token moves p by 0.1-0.2).
Q4_TOLERANCE = 0.06
COST_COLUMNS = {"wall_s", "llm_calls", "cache_hits"}
COST_COLUMNS |= {f"{prefix}{name}" for prefix in ("", "eval_") for name in ("ms_per_decision", "llm_calls_per_decision")}


def remote_config(vllm: VLLMServer, **overrides: Any) -> PriorConfig:
    settings: dict[str, Any] = {
        "model": SERVED_MODEL, "server": vllm.url, "api_key_env": API_KEY_ENV, "cache_path": None,
        "memory_cache_size": 0, "templates_dir": None,
    }  # fmt: skip
    settings.update(overrides)
    return PriorConfig(**settings)


@pytest.fixture
def each_echo_asked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain and the default variant send the same echo requests (the levers act on the log-probs
    client-side): vLLM answers each once, the second prior gets the same reply."""
    post, replies = EngineClient.post, {}

    def once(client: EngineClient, path: str, body: dict) -> dict:
        if not body.get("echo"):
            return post(client, path, body)
        key = json.dumps([path, body], sort_keys=True)
        if key not in replies:
            replies[key] = post(client, path, body)
        return json.loads(json.dumps(replies[key]))

    monkeypatch.setattr(EngineClient, "post", once)


def test_score_mode_equals_float32_transformers_and_in_process_q4_on_every_family(vllm, family_queries, each_echo_asked_once):
    remote = {variant: build_prior(remote_config(vllm, variant=variant)) for variant in ("plain", "default")}
    local = {
        variant: LlamaPrior(PriorConfig(cache_path=None, templates_dir=None, n_threads=1, variant=variant))
        for variant in ("plain", "default")
    }
    plain_answers = {family: remote["plain"](query) for family, query in family_queries.items()}
    reference = transformers_scores([(plain_answers[f].prompt, q.actions) for f, q in family_queries.items()])
    moved_by_default = 0.0
    for (family, query), expected in zip(family_queries.items(), reference):
        plain = plain_answers[family]
        assert list(plain.token_counts) == expected["token_counts"], family
        np.testing.assert_allclose(plain.sequence_log_probs, expected["log_probs"], atol=TRANSFORMERS_TOLERANCE, rtol=0)
        assert np.max(np.abs(plain.probs - local["plain"](query).probs)) < Q4_TOLERANCE, family
        tuned = remote["default"](query)
        assert np.max(np.abs(tuned.probs - local["default"](query).probs)) < Q4_TOLERANCE, family
        reported = options_in_force(remote["default"].config, family)
        assert reported == options_in_force(local["default"].config, family)  # reported alike, applied alike
        moved_by_default = max(moved_by_default, float(np.max(np.abs(tuned.probs - plain.probs))))
    assert moved_by_default > Q4_TOLERANCE  # the tuned levers were applied over vLLM (#30 bug 1)
    for prior in (*remote.values(), *local.values()):
        prior.close()


def test_greedy_sample_mode_asks_once_and_seeded_sampling_repeats(vllm, family_queries):
    query = family_queries["textworld"]
    greedy = build_prior(remote_config(vllm, mode="sample", temperature=0.0, k=5))
    first, again = greedy(query), greedy(query)  # no cache: vLLM answers twice
    assert len(first.proposals) == 5 and len({proposal.text for proposal in first.proposals}) == 1
    assert first.proposals == again.proposals
    seeded = build_prior(remote_config(vllm, mode="sample", temperature=0.7, k=5, seed=11))
    assert seeded(query).proposals == seeded(query).proposals  # vLLM honours the request's seed
    greedy.close()
    seeded.close()


def cached_answers(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM prior_cache").fetchone()[0])
    except sqlite3.Error:
        return 0


def learnt(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as stream:
        return [{key: value for key, value in row.items() if key not in COST_COLUMNS} for row in csv.DictReader(stream)]


class Runs:
    """`train` DQN-Prior on Frozen Lake against vLLM; every run's output kept for the key check."""

    STEPS = 300

    def __init__(self, vllm: VLLMServer, root: Path) -> None:
        self.vllm = vllm
        self.root = root
        self.outputs: list[str] = []

    def start(self, name: str, cache: Path, *extra: str) -> subprocess.Popen[str]:
        flags = ["--env", "TextFrozenLake-v0", "--agent", "dqn-prior", "--features", "hash", "--steps", str(self.STEPS)]
        flags += ["--eval-every", "100", "--eval-episodes", "2", "--checkpoint-every", "100000", "--seed", "5"]
        flags += ["--prior-server", self.vllm.url, "--prior-model", SERVED_MODEL, "--prior-api-key-env", API_KEY_ENV]
        flags += ["--prior-cache", str(cache), "--out", str(self.root / name), "--quiet", *extra]
        return subprocess.Popen(
            [sys.executable, "-m", "sandbox", "train", *flags], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def finish(self, process: subprocess.Popen[str]) -> tuple[int, str]:
        stdout, stderr = process.communicate(timeout=3600)
        self.outputs += [stdout, stderr]
        return process.returncode, stderr

    def kill_vllm_once_answering(self, cache: Path, process: subprocess.Popen[str]) -> None:
        """Kill vLLM after it has answered the run a few times (a few states in: mid-run, new states ahead)."""
        while cached_answers(cache) < 3:
            assert process.poll() is None, process.communicate()
            time.sleep(0.2)
        self.vllm.kill()

    def reference(self, name: str, cache: Path) -> Path:
        """The uninterrupted run on a copy of the interrupted run's answers (vLLM's answers, not a re-draw)."""
        copy = self.root / f"{name}-answers.sqlite"
        shutil.copy(cache, copy)
        code, stderr = self.finish(self.start(name, copy))
        assert code == 0, stderr
        return self.root / name

    def assert_same(self, run: Path, reference: Path) -> None:
        assert learnt(run / "metrics.csv") == learnt(reference / "metrics.csv")
        assert learnt(run / "episodes.csv") == learnt(reference / "episodes.csv")
        assert [row["step"] for row in learnt(run / "metrics.csv")] == ["100", "200", "300"]


def test_train_against_vllm_survives_its_kill_and_never_writes_the_key(vllm, engine_key, engine_logs, tmp_path):
    runs = Runs(vllm, tmp_path)

    # Killed and restarted while the run waits (vLLM's start-up is far inside the wait): the run finishes.
    waited = tmp_path / "waited.sqlite"
    run = runs.start("waited", waited, "--prior-outage-wait", "1800")
    runs.kill_vllm_once_answering(waited, run)
    vllm.start()
    code, stderr = runs.finish(run)
    assert code == 0, stderr
    runs.assert_same(tmp_path / "waited", runs.reference("waited-reference", waited))

    # Killed and left down past the wait: a checkpoint and one line that says how to resume; resumed later.
    stopped = tmp_path / "stopped.sqlite"
    run = runs.start("stopped", stopped, "--prior-outage-wait", "5")
    runs.kill_vllm_once_answering(stopped, run)
    code, stderr = runs.finish(run)
    out = tmp_path / "stopped"
    assert code == 2 and stderr.count("\n") == 1 and "has not answered for" in stderr
    assert f"continue with `python -m sandbox train --resume {out}`" in stderr
    _, state = load_checkpoint(latest_checkpoint(out))
    assert 0 < state["session"]["total_steps"] < Runs.STEPS
    vllm.start()
    resumed = subprocess.run(
        [sys.executable, "-m", "sandbox", "train", "--resume", str(out), "--quiet"], cwd=REPO, capture_output=True, text=True
    )
    runs.outputs += [resumed.stdout, resumed.stderr]
    assert resumed.returncode == 0, resumed.stderr
    runs.assert_same(out, runs.reference("stopped-reference", stopped))

    # The key went only into environment variables and Authorization headers.
    written = [path for path in [*tmp_path.rglob("*"), *engine_logs.rglob("*")] if path.is_file()]
    assert written and not [path for path in written if engine_key.encode() in path.read_bytes()]
    assert not [output for output in runs.outputs if engine_key in output]
    print(f"vLLM start-ups: {', '.join(f'{seconds:.0f} s' for seconds in vllm.starts)}")
