"""The OpenAI-compatible prior against a real engine: llama-cpp-python's own server on loopback.

Each engine is `python -m llama_cpp.server` (the `server` extra) in a subprocess, started once
per session. Score mode is compared on the tiny test model: llama-cpp-python's server returns
correct prompt log-probs only for models with a BOS token, which the tiny model has and
SmolLM2 has not (its log-probs come shifted by one token; the prior must refuse them, tested
below). Sample mode is compared on the embedded SmolLM2, greedy, behind an API key.
"""

from __future__ import annotations

import copy
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from agents.errors import PriorError
from agents.prior import LlamaPrior, PriorConfig, PriorQuery, build_prior
from agents.prior.mapping import first_line
from agents.prior.models import resolve_model_path
from sandbox.prior_service.openai_backend import EngineClient, OpenAIPrior
from sandbox.prior_service.outage import PriorUnavailable
from tests.conftest import REPO
from tests.family_states import first_state_queries

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("llama-cpp-server")]  # one worker starts the engines

API_KEY_ENV = "SANDBOX_TEST_ENGINE_KEY"
SECRET = "sk-test-4f1c9e-never-written-anywhere"
ENGINE_START_TIMEOUT_S = 120
MAX_ACTIONS = 8


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Engine:
    """One `python -m llama_cpp.server` on loopback; `stop()` ends it (the tests of a stopped server call it)."""

    def __init__(self, model: Path, api_key: str | None = None) -> None:
        self.model = str(model)
        self.port = free_port()
        self.url = f"openai+http://127.0.0.1:{self.port}/v1"
        command = [sys.executable, "-m", "llama_cpp.server", "--model", self.model, "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "2048"]
        command += ["--logits_all", "true", "--verbose", "false"]
        if api_key:
            command += ["--api_key", api_key]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._wait_ready(api_key)

    def _wait_ready(self, api_key: str | None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        deadline = time.monotonic() + ENGINE_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.process.stderr.read()[-2000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/v1/models", headers=headers)
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server on port {self.port} not ready within {ENGINE_START_TIMEOUT_S} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def tiny_engine(tiny_gguf: Path) -> Iterator[Engine]:
    engine = Engine(tiny_gguf)
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def smollm_engine() -> Iterator[Engine]:
    engine = Engine(resolve_model_path("smollm2-135m"), api_key=SECRET)
    yield engine
    engine.stop()


@pytest.fixture
def with_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, SECRET)


@pytest.fixture(scope="session")
def family_queries(games_dir: Path) -> dict[str, PriorQuery]:
    """The first state of one env per family, as the agents query it."""
    return first_state_queries(games_dir, MAX_ACTIONS)


def config(engine: Engine, tmp_path: Path, **overrides: object) -> PriorConfig:
    settings: dict[str, object] = {
        "model": engine.model,
        "server": engine.url,
        "api_key_env": API_KEY_ENV,
        "cache_path": str(tmp_path / "remote_cache.sqlite"),
        "templates_dir": None,
    }
    settings.update(overrides)
    return PriorConfig(**settings)  # type: ignore[arg-type]


def local(model: str, **overrides: object) -> LlamaPrior:
    settings: dict[str, object] = {"model": model, "n_threads": 1, "cache_path": None, "templates_dir": None}
    settings.update(overrides)
    return LlamaPrior(PriorConfig(**settings))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def echo_replies() -> dict[str, dict]:
    return {}


@pytest.fixture
def each_echo_asked_once(echo_replies: dict[str, dict], monkeypatch: pytest.MonkeyPatch) -> dict[str, dict]:
    """The engine's echo of a prompt is the same request whatever score lever is set (the levers act on
    the log-probs it returns, client-side), so the engine answers each once for all the settings below
    and later ones are given the same reply; the server's per-token log-prob loop costs seconds a prompt."""
    post = EngineClient.post

    def once(client: EngineClient, path: str, body: dict) -> dict:
        if not body.get("echo"):
            return post(client, path, body)
        key = json.dumps([client.address.url, path, body], sort_keys=True)
        if key not in echo_replies:
            echo_replies[key] = post(client, path, body)
        return copy.deepcopy(echo_replies[key])

    monkeypatch.setattr(EngineClient, "post", once)
    return echo_replies


@pytest.mark.parametrize(
    "settings",
    [{}, {"length_norm": True, "temperature": 0.5}, {"epsilon": 0.1}],
    ids=["plain", "length-norm-temperature", "floor"],
)
def test_score_mode_equals_the_in_process_prior_on_every_family(
    tiny_engine, family_queries, tmp_path, settings, each_echo_asked_once
):
    asked = len(each_echo_asked_once)
    remote = build_prior(config(tiny_engine, tmp_path, **settings))
    in_process = local(tiny_engine.model, **settings)
    assert isinstance(remote, OpenAIPrior)
    try:
        for family, query in family_queries.items():
            got, want = remote(query), in_process(query)
            assert got.actions == want.actions, family
            np.testing.assert_allclose(got.probs, want.probs, atol=1e-3, err_msg=family)
            np.testing.assert_allclose(got.sequence_log_probs, want.sequence_log_probs, atol=1e-2, err_msg=family)
            assert got.token_counts == want.token_counts, family
            assert got.prompt == want.prompt and got.mode == "score" and not got.cached
        assert asked in (0, len(each_echo_asked_once))  # a later setting asked nothing the first had not
    finally:
        remote.close()
        in_process.close()


def test_sample_mode_equals_the_in_process_prior_on_every_family(smollm_engine, family_queries, tmp_path, with_key):
    """Greedy (temperature 0): every one of the k completions is the in-process greedy one, so the mapped
    priors agree. In-process k=1: its k>1 completions decode side by side in one batch, and llama.cpp's
    batch-dependent rounding can tip a near-tie between them; one at a time is what the engine does.
    Each draws the k its call asks for (as DQN-Prior asks for its own k), not the config's."""
    remote = build_prior(config(smollm_engine, tmp_path, mode="sample", k=5, temperature=0.0))
    in_process = local("smollm2-135m", mode="sample", k=5, temperature=0.0)
    try:
        for family, query in family_queries.items():
            got, want = remote(query, k=3), in_process(query, k=1)
            np.testing.assert_allclose(got.probs, want.probs, atol=1e-3, err_msg=family)
            (greedy,) = want.proposals
            assert len(got.proposals) == 3 and got.dropped == 3 * want.dropped, family
            assert all((p.action, p.how) == (greedy.action, greedy.how) for p in got.proposals), family
            if greedy.action is not None:  # a dropped completion is noise: near-ties in it may tip either way
                assert {first_line(p.text) for p in got.proposals} == {first_line(greedy.text)}, family
    finally:
        remote.close()
        in_process.close()


def test_answers_are_cached_under_the_served_model_and_counted(tiny_engine, family_queries, tmp_path):
    query = family_queries["frozenlake"]
    first = build_prior(config(tiny_engine, tmp_path))
    fresh = first(query)
    again = first(query)
    assert not fresh.cached and again.cached
    np.testing.assert_array_equal(again.probs, fresh.probs)
    stats = first.stats
    assert (stats.calls, stats.cache_hits, stats.llm_calls) == (2, 1, 1) and stats.tokens_evaluated > 0
    first.close()
    second = build_prior(config(tiny_engine, tmp_path))  # a new worker reads the same disk cache
    assert second(query).cached and second.stats.llm_calls == 0
    second.close()
    in_process = LlamaPrior(PriorConfig(model=tiny_engine.model, n_threads=1, cache_path=str(tmp_path / "remote_cache.sqlite"), templates_dir=None))
    assert not in_process(query).cached  # the key names the engine's model, not the local file
    in_process.close()


def test_smollm2_prompt_log_probs_from_this_engine_are_refused_as_shifted(smollm_engine, family_queries, tmp_path, with_key):
    prior = build_prior(config(smollm_engine, tmp_path))
    with pytest.raises(PriorError, match="belong to the wrong tokens.*BOS"):
        prior(family_queries["frozenlake"])
    prior.close()


def test_a_model_the_engine_does_not_serve_is_one_error_naming_what_it_serves(tiny_engine, tmp_path):
    with pytest.raises(PriorError, match=r"does not serve model 'llama-70b' \(it serves '.*tiny-llama.gguf'\)"):
        build_prior(config(tiny_engine, tmp_path, model="llama-70b"))


def test_a_missing_or_wrong_key_is_refused_with_the_variable_to_set(smollm_engine, tmp_path, monkeypatch):
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    with pytest.raises(PriorError, match=f"HTTP 401.*environment variable {API_KEY_ENV}") as error:
        build_prior(config(smollm_engine, tmp_path))
    assert SECRET not in str(error.value)


def test_an_unreachable_port_is_one_error_line(tmp_path, monkeypatch):
    monkeypatch.setattr("sandbox.prior_service.openai_backend.BACKOFF_S", 0.01)
    url = f"openai+http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(PriorError, match=r"server at http://127\.0\.0\.1:\d+/v1 cannot be reached .*3 tries") as error:
        build_prior(PriorConfig(model="any", server=url, cache_path=None))
    assert "\n" not in str(error.value)


def test_a_server_stopped_mid_run_is_waited_for_then_one_error_line(tiny_gguf, family_queries, tmp_path, monkeypatch):
    monkeypatch.setattr("sandbox.prior_service.outage.BACKOFF_START_S", 0.01)
    engine = Engine(tiny_gguf)
    prior = build_prior(config(engine, tmp_path, cache_path=None, outage_wait_s=0.5))
    prior(family_queries["frozenlake"])
    engine.stop()
    with pytest.raises(PriorUnavailable, match="has not answered for .*(cannot be reached|dropped the connection)") as error:
        prior(family_queries["overcooked"])
    assert "\n" not in str(error.value)
    prior.close()


def test_train_and_prior_cli_run_against_the_engine_and_never_write_the_key(smollm_engine, tmp_path, with_key):
    """The key is sent to the engine (which refuses requests without it) but lands in no file or output."""
    out = tmp_path / "run"
    common = ["--prior-server", smollm_engine.url, "--prior-model", smollm_engine.model, "--prior-api-key-env", API_KEY_ENV]
    common += ["--prior-mode", "sample", "--prior-cache", str(tmp_path / "cache.sqlite")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    train = subprocess.run(
        [sys.executable, "-m", "sandbox", "train", "--env", "TextFrozenLake-v0", "--agent", "dqn-prior", "--steps", "12",
         "--eval-every", "6", "--eval-episodes", "1", "--features", "hash", "--out", str(out), "--json", "--k", "2", *common],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert train.returncode == 0, train.stderr[-2000:]
    prior = subprocess.run(
        [sys.executable, "-m", "sandbox", "prior", "--env", "TextFrozenLake-v0", "--json", "--prior-k", "2", *common],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert prior.returncode == 0, prior.stderr[-2000:]
    payload = json.loads(prior.stdout)
    assert payload["mode"] == "sample" and len(payload["proposals"]) == 2 and sum(payload["probs"]) == pytest.approx(1)
    config_text = (out / "config.toml").read_text()
    assert f'api_key_env = "{API_KEY_ENV}"' in config_text and smollm_engine.url in config_text
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.parent.name == "episodes" for path in written)  # replay files were written, and searched
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
    for stream in (train.stdout, train.stderr, prior.stdout, prior.stderr):
        assert SECRET not in stream


def test_bench_prior_quality_through_the_engine_equals_in_process(tiny_engine, tmp_path, capsys, monkeypatch):
    from sandbox.cli import main
    from sandbox.results import prior_quality
    from sandbox.results.prior_quality import Game

    games = [Game("lake", "TextFrozenLake-v0", {"desc": ["SFF", "FHF", "FFG"]}), Game("kitchen", "overcooked-tomato-salad-v0", {})]
    monkeypatch.setattr(prior_quality, "_games", lambda quick, splits=prior_quality.SPLITS: games)
    reports = []
    for server in ([], ["--prior-server", tiny_engine.url]):
        argv = ["bench", "prior-quality", "--quick", "--priors", tiny_engine.model, "--threads", "1", *server]
        assert main([*argv, "--out-dir", str(tmp_path / str(len(reports))), "--json"]) == 0
        reports.append({(row["family"], row["prior"]): row for row in json.loads(capsys.readouterr().out)["rows"]})
    in_process, remote = reports
    assert set(remote) == set(in_process) and len(remote) == 3  # two families and overall
    for key, row in remote.items():
        assert row["skill"] == pytest.approx(in_process[key]["skill"], abs=1e-3), key
        assert row["top1"] == pytest.approx(in_process[key]["top1"], abs=1e-3), key
