"""The prior server and RemotePrior: in-process answers over HTTP, honest stats, a shared cache, clear errors."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from agents.errors import PriorError
from agents.prior import LlamaPrior, PriorConfig, UniformPrior, build_prior
from sandbox.prior_service.remote import RemotePrior
from sandbox.prior_service.server import PriorServer, PriorService, _Handler
from tests.prior.conftest import make_query

REPO = Path(__file__).resolve().parents[2]

QUERIES = [
    make_query(),
    make_query("You are in a kitchen. The coin is gone. A door leads north.", ("go north", "look", "inventory")),
    make_query(actions=("take coin", "go north", "look")),  # same prompt prefix as the first: the KV prefix is reused
    make_query(history=(("look", "A dark room."),), actions=("go east", "go west")),
]


@pytest.fixture
def start_server(tiny_config: Callable[..., PriorConfig]) -> Iterator[Callable[..., tuple[str, PriorService]]]:
    """Start prior servers on loopback (a free port each); all are stopped after the test."""
    running: list[tuple[PriorServer, threading.Thread]] = []

    def start(token: str | None = None, **overrides: object) -> tuple[str, PriorService]:
        service = PriorService(tiny_config(**overrides))
        server = PriorServer(("127.0.0.1", 0), service, token)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        running.append((server, thread))
        return server.url, service

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        server.service.close()
        thread.join()


def assert_same_answer(remote, local) -> None:
    assert remote.actions == local.actions
    np.testing.assert_array_equal(remote.probs, local.probs)
    if local.sequence_log_probs is None:
        assert remote.sequence_log_probs is None
    else:
        np.testing.assert_array_equal(remote.sequence_log_probs, local.sequence_log_probs)
    assert remote.token_counts == local.token_counts
    assert remote.proposals == local.proposals
    assert (remote.dropped, remote.fallback_uniform) == (local.dropped, local.fallback_uniform)
    assert remote.prompt == local.prompt


@pytest.mark.parametrize(
    "settings",
    [{"mode": "score"}, {"mode": "score", "length_norm": True, "temperature": 0.5}, {"mode": "sample", "k": 4, "epsilon": 0.1}],
)
def test_remote_prior_answers_exactly_what_the_in_process_prior_does(start_server, tiny_config, settings):
    url, _ = start_server(cache_path=None, memory_cache_size=0)
    local = LlamaPrior(tiny_config(cache_path=None, memory_cache_size=0, **settings))
    remote = RemotePrior(tiny_config(server=url, **settings))
    try:
        for query in QUERIES:
            remote_result, local_result = remote(query), local(query)
            assert_same_answer(remote_result, local_result)
            assert remote_result.tokens_evaluated == local_result.tokens_evaluated  # the same KV prefix reuse
            assert remote.prompt_for(query) == local.prompt_for(query)
        assert remote.gpu_layers == local.gpu_layers
        assert remote.model_name == local.model_name
    finally:
        local.close()
        remote.close()


@pytest.mark.parametrize("variant", ["pmi", "length-norm", "order-both"])
def test_the_server_applies_the_variant_the_client_names(start_server, tiny_config, variant):
    """#30: the variant a client reports is the one applied, over the prior server as in-process (the server
    used to apply its own default and drop the client's levers)."""
    url, _ = start_server(cache_path=None, memory_cache_size=0)
    local = build_prior(tiny_config(cache_path=None, memory_cache_size=0, variant=variant))
    remote = build_prior(tiny_config(server=url, variant=variant))
    plain = LlamaPrior(tiny_config(cache_path=None, memory_cache_size=0, variant="plain"))
    try:
        for query in QUERIES[:2]:
            remote_result, local_result = remote(query), local(query)
            assert_same_answer(remote_result, local_result)
            assert not np.array_equal(remote_result.probs, plain(query).probs)  # the variant changes the answer
    finally:
        for prior in (local, remote, plain):
            prior.close()


def test_settings_changed_after_start_go_with_each_request(start_server, tiny_config):
    """The UI changes mode and k on a live prior: the server must answer with the new settings."""
    url, _ = start_server()
    remote = RemotePrior(tiny_config(server=url))
    local = LlamaPrior(tiny_config(cache_path=None, mode="sample", k=3))
    try:
        assert remote(QUERIES[0]).mode == "score"
        remote.config.mode, remote.config.k = "sample", 3
        assert_same_answer(remote(QUERIES[0]), local(QUERIES[0]))
    finally:
        local.close()
        remote.close()


def test_the_run_seed_and_a_k_asked_for_in_the_call_go_with_the_request(start_server, tiny_config):
    url, _ = start_server()
    remote = RemotePrior(tiny_config(server=url, mode="sample", k=2), run_seed=3)
    run_seed_0 = RemotePrior(tiny_config(server=url, mode="sample", k=2))
    local = LlamaPrior(tiny_config(cache_path=None, mode="sample", k=2), run_seed=3)
    try:
        assert_same_answer(remote(QUERIES[0], k=5), local(QUERIES[0], k=5))
        assert len(remote(QUERIES[0], k=5).proposals) == 5 and len(remote(QUERIES[0]).proposals) == 2
        assert remote(QUERIES[1]).proposals != run_seed_0(QUERIES[1]).proposals
    finally:
        local.close()
        remote.close()
        run_seed_0.close()


def test_stats_count_model_calls_and_cache_hits_like_the_in_process_prior(start_server, tiny_config):
    url, service = start_server()
    first = RemotePrior(tiny_config(server=url))
    miss = first(QUERIES[0])
    assert not miss.cached and miss.tokens_evaluated > 0
    hit = first(QUERIES[0])  # this worker's LRU
    assert hit.cached
    assert (first.stats.calls, first.stats.llm_calls, first.stats.cache_hits) == (2, 1, 1)
    assert first.stats.tokens_evaluated == miss.tokens_evaluated and first.stats.llm_ms >= miss.ms > 0

    second = RemotePrior(tiny_config(server=url, memory_cache_size=0))  # no LRU of its own: every call asks the server
    shared = second(QUERIES[0])  # answered by the server's cache, filled by the first worker
    assert shared.cached
    np.testing.assert_array_equal(shared.probs, miss.probs)
    second(QUERIES[0])
    assert (second.stats.calls, second.stats.llm_calls, second.stats.cache_hits) == (2, 0, 2)
    assert (service.prior.stats.calls, service.prior.stats.llm_calls) == (3, 1)
    first.close()
    second.close()


def test_concurrent_workers_take_turns_on_the_model_and_get_the_in_process_answers(start_server, tiny_config):
    """Four workers at once, half of them with other settings: each gets exactly its in-process answers."""
    url, service = start_server(cache_path=None, memory_cache_size=0)
    settings = [{}, {"length_norm": True, "temperature": 0.5}]
    expected = []
    for extra in settings:
        reference = LlamaPrior(tiny_config(cache_path=None, memory_cache_size=0, **extra))
        expected.append([reference(query) for query in QUERIES])
        reference.close()
    answers: dict[int, list] = {}
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        prior = RemotePrior(tiny_config(server=url, memory_cache_size=0, **settings[index % 2]))
        order = QUERIES[index:] + QUERIES[:index]  # every worker in another order
        try:
            answers[index] = [(query, prior(query)) for query in order * 3]
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)
        finally:
            prior.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    for index, pairs in answers.items():
        for query, result in pairs:
            assert_same_answer(result, expected[index % 2][QUERIES.index(query)])
    assert service.prior.stats.llm_calls == 4 * 3 * len(QUERIES)


@pytest.mark.parametrize("refusal", ["another n_ctx", "no token"])
def test_a_client_the_server_refuses_leaves_no_connection_open(start_server, tiny_config, monkeypatch, refusal):
    """A refused handshake (a setting that does not match, a missing token) closes the client's socket,
    rather than leaving it to the garbage collector's ResourceWarning."""
    import gc
    import warnings

    url, _ = start_server(token="s3cret-token" if refusal == "no token" else None)
    monkeypatch.delenv("PRIOR_TOKEN", raising=False)
    config = tiny_config(server=url, api_key_env="PRIOR_TOKEN", n_ctx=1024 if refusal == "another n_ctx" else 512)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(PriorError) as refused:
            RemotePrior(config)
        del refused  # its traceback holds the half-built client
        gc.collect()
    assert not [warning for warning in caught if issubclass(warning.category, ResourceWarning)]


def test_client_errors_are_one_line_prior_errors(start_server, tiny_config):
    url, _ = start_server()
    with pytest.raises(PriorError, match="serves model .* but this run asks for 'smollm2-135m'"):
        RemotePrior(dataclasses.replace(tiny_config(server=url), model="smollm2-135m"))
    with pytest.raises(PriorError, match="n_ctx=512 but this run asks for n_ctx=1024"):
        RemotePrior(tiny_config(server=url, n_ctx=1024))
    with pytest.raises(PriorError, match="not an address like http://"):
        RemotePrior(tiny_config(server="localhost:8765"))
    with pytest.raises(PriorError, match="prior server at .* cannot be reached .*prior-server"):
        RemotePrior(tiny_config(server="http://127.0.0.1:1"))
    remote = RemotePrior(tiny_config(server=url))
    with pytest.raises(PriorError, match="no admissible actions"):
        remote(make_query(actions=()))
    remote.close()


def test_the_server_renders_with_its_templates_and_clients_must_name_the_same(start_server, tiny_config, tmp_path):
    templates = tmp_path / "prompts"
    templates.mkdir()
    (templates / "textworld.toml").write_text('intro = "Find the coin, quickly.\\n"\n')
    url, _ = start_server(templates_dir=str(templates))
    with pytest.raises(PriorError, match="renders textworld prompts with other templates than this run's"):
        RemotePrior(tiny_config(server=url, templates_dir=None))
    remote = RemotePrior(tiny_config(server=url, templates_dir=str(templates)))
    local = LlamaPrior(tiny_config(cache_path=None, templates_dir=str(templates)))
    try:
        assert remote.prompt_for(QUERIES[0]).startswith("Find the coin, quickly.")
        assert_same_answer(remote(QUERIES[0]), local(QUERIES[0]))
    finally:
        remote.close()
        local.close()


def test_server_rejects_malformed_requests_with_400_and_a_message(start_server):
    url, _ = start_server()
    host, port = url.removeprefix("http://").split(":")
    query = {"family": "x", "task": "", "observation": "", "actions": ["a"]}
    bad_bodies = {
        b"not json": "Expecting value",
        json.dumps({"settings": {}, "query": {"family": "textworld"}}).encode(): "text fields",
        json.dumps({"settings": {"k": 0}, "query": query}).encode(): "k must be",
        json.dumps({"settings": {"model": "other"}, "query": query}).encode(): "keys among",
    }
    for body, message in bad_bodies.items():
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("POST", "/prior", body=body)
        response = connection.getresponse()
        reply = json.loads(response.read())
        connection.close()
        assert response.status == 400
        assert message in reply["error"]


def test_build_prior_uses_the_server_when_one_is_set(start_server, tiny_config):
    url, _ = start_server()
    prior = build_prior(tiny_config(server=url))
    assert isinstance(prior, RemotePrior)
    prior.close()
    assert isinstance(build_prior(PriorConfig(model="uniform", server=url)), UniformPrior)  # nothing to ask a model


def test_without_the_sandbox_clients_a_server_address_is_a_one_line_error(monkeypatch, tiny_config):
    """The clients live in sandbox.prior_service, which registers them; the agents' build_prior names what is
    missing instead of falling back to a local model."""
    monkeypatch.setattr("agents.prior.priors.SERVER_PRIORS", {})
    with pytest.raises(PriorError, match="no client for the prior server 'http://127.0.0.1:1' is registered; import sandbox"):
        build_prior(tiny_config(server="http://127.0.0.1:1"))


def test_prior_server_command_serves_the_cli_shares_its_disk_cache_and_stops_on_sigterm(tiny_gguf, tmp_path):
    cache = tmp_path / "shared.sqlite"
    command = [sys.executable, "-m", "sandbox", "prior-server", "--port", "0", "--json"]
    command += ["--prior-model", str(tiny_gguf), "--prior-cache", str(cache), "--threads", "1"]

    def serve() -> tuple[subprocess.Popen, dict]:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return process, json.loads(process.stdout.readline())

    def ask(url: str) -> dict:
        flags = ["--env", "TextFrozenLake-v0", "--prior-model", str(tiny_gguf), "--prior-server", url, "--json"]
        prior_command = [sys.executable, "-m", "sandbox", "prior", *flags]
        done = subprocess.run(prior_command, cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    process, announced = serve()
    try:
        assert announced["model"] == str(tiny_gguf) and announced["pid"] == process.pid
        first = ask(announced["url"])
        assert not first["cached"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0 and "prior server stopped: 1 queries, 1 answered by the model" in stderr

    process, announced = serve()  # a new server on the same cache file answers from it
    try:
        again = ask(announced["url"])
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.communicate(timeout=60)
    assert again["cached"] and again["probs"] == first["probs"]


def test_prior_server_command_errors_are_one_line(tmp_path, tiny_gguf):
    from sandbox.cli import main

    busy = socket_in_use()
    try:
        port = str(busy.getsockname()[1])
        assert main(["prior-server", "--prior-model", str(tiny_gguf), "--prior-cache", "none", "--port", port]) == 2
    finally:
        busy.close()
    assert main(["prior-server", "--prior-model", "uniform"]) == 2
    assert main(["prior-server", "--prior-model", str(tmp_path / "missing.gguf")]) == 2


def test_a_server_with_a_token_refuses_clients_without_it(tiny_config, monkeypatch):
    service = PriorService(tiny_config(cache_path=None))
    server = PriorServer(("127.0.0.1", 0), service, token="s3cret-token")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        monkeypatch.delenv("PRIOR_TOKEN", raising=False)
        with pytest.raises(PriorError, match="needs its token: put it in the environment variable"):
            RemotePrior(tiny_config(server=server.url, api_key_env="PRIOR_TOKEN"))
        monkeypatch.setenv("PRIOR_TOKEN", "wrong")
        with pytest.raises(PriorError, match="needs its token"):
            RemotePrior(tiny_config(server=server.url, api_key_env="PRIOR_TOKEN"))
        monkeypatch.setenv("PRIOR_TOKEN", "s3cret-token")
        remote = RemotePrior(tiny_config(server=server.url, api_key_env="PRIOR_TOKEN"))
        assert remote(make_query()).probs.sum() == pytest.approx(1.0)
        remote.close()
    finally:
        server.shutdown()
        server.server_close()
        service.close()
        thread.join()


def test_prior_server_command_refuses_an_empty_token_variable(tiny_gguf, monkeypatch):
    from sandbox.cli import main

    monkeypatch.delenv("PRIOR_TOKEN", raising=False)
    assert main(["prior-server", "--prior-model", str(tiny_gguf), "--token-env", "PRIOR_TOKEN"]) == 2
    monkeypatch.setenv("PRIOR_TOKEN", "clé secrète")  # could never travel in an HTTP header as sent
    assert main(["prior-server", "--prior-model", str(tiny_gguf), "--token-env", "PRIOR_TOKEN"]) == 2


def socket_in_use():
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    return busy


def raw_post(url: str, content_length: str, body: bytes = b"", authorization: bytes | None = None) -> tuple[int, dict]:
    """A POST /prior with Content-Length (and Authorization) headers as given, on a raw socket (http.client
    would fix them up)."""
    import socket

    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = f"POST /prior HTTP/1.1\r\nHost: {host}\r\nContent-Length: {content_length}\r\n".encode()
        if authorization is not None:
            head += b"Authorization: " + authorization + b"\r\n"
        sock.sendall(head + b"\r\n" + body)
        response = http.client.HTTPResponse(sock)
        response.begin()  # a server thread blocked on the body would leave this to time out
        return response.status, json.loads(response.read())


@pytest.mark.parametrize(
    ("content_length", "status", "message"),
    [("abc", 400, "Content-Length"), ("-5", 400, "Content-Length"), ("1.5", 400, "Content-Length"),
     (str(10**12), 413, "over")],
)
def test_bad_content_length_is_a_clean_error_reply_and_the_server_keeps_serving(
    start_server, capfd, content_length, status, message
):
    url, _ = start_server()
    reply_status, reply = raw_post(url, content_length)
    assert reply_status == status and message in reply["error"]
    assert "Traceback" not in capfd.readouterr().err
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "/info")
    assert connection.getresponse().status == 200
    connection.close()


def test_a_body_shorter_than_its_content_length_times_out_with_400_instead_of_holding_a_thread(
    start_server, monkeypatch
):
    monkeypatch.setattr(_Handler, "body_timeout_s", 0.2)
    url, _ = start_server()
    status, reply = raw_post(url, "100", b'{"settings": {}')
    assert status == 400 and "Content-Length" in reply["error"]


@pytest.mark.parametrize(
    "authorization", [None, b"Bearer wrong", "Bearer s3cr\u00e9t".encode("latin-1")], ids=["none", "wrong", "non-ascii"]
)
def test_a_token_server_refuses_before_reading_the_body_and_keeps_serving(start_server, capfd, authorization):
    """Without the token the reply is 401 whatever the body's framing (it is never read: the connection
    closes); a header with non-ASCII bytes is a wrong token, not a traceback."""
    url, _ = start_server(token="s3cret-token")
    status, reply = raw_post(url, "abc", authorization=authorization)
    assert status == 401 and "needs its token" in reply["error"]
    assert "Traceback" not in capfd.readouterr().err
    status, reply = raw_post(url, "abc", authorization=b"Bearer s3cret-token")  # the token, then the body's checks
    assert status == 400 and "Content-Length" in reply["error"]
