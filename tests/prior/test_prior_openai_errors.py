"""The OpenAI-compatible prior's handling of engine replies, against a scripted engine on loopback.

Each reply reproduces what a real engine sends (vLLM's echo format, llama.cpp's llama-server
refusing echo, errors, stalls); the real-engine tests live in test_prior_openai.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from agents.errors import PriorError
from agents.prior import PriorConfig, build_prior
from agents.prior.variants import options_in_force
from sandbox.prior_service.openai_backend import OpenAIPrior, parse_openai_url
from sandbox.prior_service.outage import OutageWatch, PriorUnavailable
from tests.prior.conftest import make_query

MODEL = "org/model-7b"
Reply = tuple[int, dict[str, Any]]


def echo_choice(
    text: str,
    index: int,
    split: Callable[[str], list[str]] | None = None,
    value: Callable[[str], float] = lambda token: -0.5,
) -> dict[str, Any]:
    """vLLM's echo reply for `text`: word-level tokens (a space starts a token), log-prob `value(token)`
    each (-0.5 by default), the first null; then one generated token."""
    tokens = (split or (lambda t: [piece for piece in t.replace(" ", "\x00 ").split("\x00") if piece]))(text) + ["!"]
    offsets = [sum(len(t) for t in tokens[:i]) for i in range(len(tokens))]
    values = [None] + [value(token) for token in tokens[1:]]
    top = [None] + [{"x": -0.1, token: -0.5} for token in tokens[1:]]
    logprobs = {"tokens": tokens, "text_offset": offsets, "token_logprobs": values, "top_logprobs": top}
    return {"index": index, "text": text + "!", "logprobs": logprobs, "finish_reason": "length"}


class QuietServer(ThreadingHTTPServer):
    """A client that gave up (the stall test's timeout) leaves a broken pipe: expected, not printed."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ScriptedEngine:
    """Answers /v1/models with `model` and /v1/completions with `completions(body)`; records the requests.
    `port` 0 takes a free one; a stopped engine restarts on its old port with `ScriptedEngine(..., port=old.port)`."""

    def __init__(self, completions: Callable[[dict[str, Any]], Reply], model: str = MODEL, port: int = 0) -> None:
        self.completions = completions
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.connections: list[socket.socket] = []
        engine = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                engine.connections.append(self.connection)

            def do_GET(self) -> None:
                engine.requests.append((self.path, {}, dict(self.headers)))
                self.reply(200, {"object": "list", "data": [{"id": model, "object": "model", "root": "/models/7b"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                engine.requests.append((self.path, body, dict(self.headers)))
                self.reply(*engine.completions(body))

            def reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"openai+http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def kill(self) -> None:
        """Stop as a killed process does: the kept-alive connections die with it."""
        self.stop()
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


def vllm_like(body: dict[str, Any]) -> Reply:
    prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
    if body.get("echo"):
        return 200, {"choices": [echo_choice(text, i) for i, text in enumerate(prompts)], "usage": {"total_tokens": 7}}
    return 200, {"choices": [{"index": i, "text": " take coin\nand more"} for i in range(body["n"])]}


@pytest.fixture
def engine() -> Iterator[Callable[..., ScriptedEngine]]:
    started: list[ScriptedEngine] = []

    def start(completions: Callable[[dict[str, Any]], Reply], **options: Any) -> ScriptedEngine:
        started.append(ScriptedEngine(completions, **options))
        return started[-1]

    yield start
    for one in started:
        one.stop()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sandbox.prior_service.openai_backend.BACKOFF_S", 0.01)
    monkeypatch.setattr("sandbox.prior_service.outage.BACKOFF_START_S", 0.01)


def prior_for(engine: ScriptedEngine, **overrides: Any) -> OpenAIPrior:
    """A prior on the scripted engine; an outage after its first answer is waited out for 0.2 s."""
    settings: dict[str, Any] = {
        "model": MODEL, "server": engine.url, "cache_path": None, "templates_dir": None, "outage_wait_s": 0.2
    }
    settings.update(overrides)
    return OpenAIPrior(PriorConfig(**settings))


def test_score_mode_sends_every_action_in_one_request_and_sums_the_action_tokens(engine):
    scripted = engine(vllm_like)
    prior = prior_for(scripted)
    query = make_query(actions=("go north", "take the coin", "look"))
    result = prior(query)
    # the probe, then one request for the state, with every action after the same prompt
    (path, body, _), = [request for request in scripted.requests if request[0] == "/v1/completions"][1:]
    assert body["prompt"] == [result.prompt + " go north", result.prompt + " take the coin", result.prompt + " look"]
    assert body["echo"] is True and body["max_tokens"] == 1 and body["logprobs"] == 1
    assert result.token_counts == (2, 3, 1)
    np.testing.assert_allclose(result.sequence_log_probs, [-1.0, -1.5, -0.5])
    np.testing.assert_allclose(result.probs, np.exp([-1.0, -1.5, -0.5]) / np.exp([-1.0, -1.5, -0.5]).sum())
    assert prior.stats.tokens_evaluated == 7


def test_engines_that_take_one_prompt_per_request_get_one_request_per_action(engine):
    def one_prompt_only(body: dict[str, Any]) -> Reply:
        if isinstance(body["prompt"], list) and len(body["prompt"]) > 1:
            return 500, {"error": {"message": "", "type": "internal_server_error"}}  # llama-cpp-python's assert
        return vllm_like(body)

    scripted = engine(one_prompt_only)
    result = prior_for(scripted)(make_query(actions=("go north", "look")))
    assert result.token_counts == (2, 1)
    assert sum(path == "/v1/completions" for path, _, _ in scripted.requests) == 1 + 2 + 2  # list refused, probe, actions


def test_sample_mode_asks_for_k_completions_in_one_request_and_maps_their_first_lines(engine):
    scripted = engine(vllm_like)
    result = prior_for(scripted, mode="sample", k=4, temperature=0.7, seed=3)(make_query())
    (_, body, _), = [request for request in scripted.requests if request[0] == "/v1/completions"]
    assert (body["n"], body["temperature"], body["seed"], body["max_tokens"]) == (4, 0.7, 3, 10)
    assert [p.text for p in result.proposals] == [" take coin\n"] * 4
    assert result.probs[result.actions.index("take coin")] == 1.0


def test_sample_mode_draws_the_k_each_call_asks_for_with_the_run_seed_and_keys_on_both(engine, tmp_path):
    """As in-process (#18 bugs 1, 4): DQN-Prior asks for its own k; the seed is --prior-seed plus the run's,
    and both are in the cache key, so another k or another run never reuses a draw."""
    scripted = engine(vllm_like)
    settings = {"mode": "sample", "k": 4, "seed": 3, "cache_path": str(tmp_path / "cache.sqlite")}
    prior = build_prior(PriorConfig(model=MODEL, server=scripted.url, templates_dir=None, **settings), run_seed=5)
    assert isinstance(prior, OpenAIPrior) and prior.sampling_seed == 8

    def sent() -> list[tuple[int, int]]:
        return [(body["n"], body["seed"]) for path, body, _ in scripted.requests if path == "/v1/completions"]

    assert len(prior(make_query(), k=2).proposals) == 2 and sent() == [(2, 8)]
    assert prior(make_query(), k=2).cached and len(prior(make_query()).proposals) == 4  # the config's k by default
    assert sent() == [(2, 8), (4, 8)]
    other_run = build_prior(PriorConfig(model=MODEL, server=scripted.url, templates_dir=None, **settings), run_seed=6)
    assert not other_run(make_query(), k=2).cached and sent()[-1] == (2, 9)
    with pytest.raises(PriorError, match="k must be in 1..255, got 0"):
        prior(make_query(), k=0)
    prior.close()
    other_run.close()


def test_each_variant_keys_its_own_answers_over_the_engine(engine, tmp_path):
    """One disk cache, three variants: a variant never gets another variant's stored answer, its own it does."""
    scripted = engine(vllm_like)

    def prior(variant: str) -> OpenAIPrior:
        config = PriorConfig(model=MODEL, server=scripted.url, templates_dir=None, cache_path=str(tmp_path / "c.sqlite"))
        built = build_prior(dataclasses.replace(config, variant=variant))
        assert isinstance(built, OpenAIPrior)
        return built

    for variant in ("plain", "length-norm", "pmi"):
        first = prior(variant)
        assert not first(make_query()).cached, variant
        first.close()
    again = prior("length-norm")
    assert again(make_query()).cached
    again.close()


def test_engines_that_ignore_n_are_asked_again_with_seeds_after_the_run_seed(engine):
    def one_completion(body: dict[str, Any]) -> Reply:
        return 200, {"choices": [{"index": 0, "text": " look"}]}

    scripted = engine(one_completion)
    config = PriorConfig(model=MODEL, server=scripted.url, mode="sample", seed=3, cache_path=None, templates_dir=None)
    prior = build_prior(config, run_seed=5)
    assert len(prior(make_query(), k=3).proposals) == 3
    assert [(body["n"], body["seed"]) for path, body, _ in scripted.requests if path == "/v1/completions"] == [
        (3, 8),
        (2, 9),
        (1, 10),
    ]


def test_the_key_comes_from_the_named_environment_variable_as_a_bearer_token(engine, monkeypatch):
    monkeypatch.setenv("MY_ENGINE_KEY", "sk-secret")
    scripted = engine(vllm_like)
    prior_for(scripted, api_key_env="MY_ENGINE_KEY")
    assert scripted.requests[0][2]["Authorization"] == "Bearer sk-secret"
    monkeypatch.delenv("MY_ENGINE_KEY")
    prior_for(scripted, api_key_env="MY_ENGINE_KEY")
    assert "Authorization" not in scripted.requests[-1][2]


def test_an_engine_without_prompt_log_probs_is_told_which_option_it_needs(engine):
    def llama_server(body: dict[str, Any]) -> Reply:
        return 400, {"error": {"code": 400, "message": "Only no echo is supported", "type": "invalid_request_error"}}

    with pytest.raises(PriorError, match="Only no echo is supported.*llama-server does not return them") as error:
        prior_for(engine(llama_server))(make_query())
    assert "\n" not in str(error.value)

    def generated_only(body: dict[str, Any]) -> Reply:  # logprobs for the generated token only
        choice = {"index": 0, "text": body["prompt"][0] + "!", "logprobs": {"tokens": ["!"], "text_offset": [len(body["prompt"][0])], "token_logprobs": [-1.0], "top_logprobs": [{"!": -1.0}]}}
        return 200, {"choices": [dict(choice, index=i) for i in range(len(body["prompt"]))]}

    with pytest.raises(PriorError, match="log-probs for generated tokens only.*vLLM returns them"):
        prior_for(engine(generated_only))(make_query())


def test_a_token_spanning_the_prompt_and_the_action_is_refused(engine):
    def merged_boundary(body: dict[str, Any]) -> Reply:
        # ">" and the action's first word come back as one token: the action has no tokens of its own
        def split(text: str) -> list[str]:
            cut = text.rfind(">")
            return [text[:cut], text[cut:]] if cut > 0 and not text.endswith(">") else [text]

        prompts = body["prompt"]
        return 200, {"choices": [echo_choice(text, i, split) for i, text in enumerate(prompts)]}

    with pytest.raises(PriorError, match="do not line up with the action 'go north'"):
        prior_for(engine(merged_boundary))(make_query(actions=("go north", "look")))


def test_http_errors_are_one_line_with_the_engine_message(engine):
    scripted = engine(lambda body: (400, {"object": "error", "message": "This model's maximum context length is 2048 tokens"}))
    with pytest.raises(PriorError, match=r"answered HTTP 400: This model's maximum context length is 2048 tokens"):
        prior_for(scripted, mode="sample")(make_query())


def test_busy_engines_are_retried_with_backoff_and_then_reported(engine):
    calls = []

    def busy_once(body: dict[str, Any]) -> Reply:
        calls.append(time.monotonic())
        return (503, {"error": {"message": "busy"}}) if len(calls) == 1 else vllm_like(body)

    assert prior_for(engine(busy_once), mode="sample")(make_query()).proposals
    assert len(calls) == 2
    prior = prior_for(engine(lambda body: (503, {"error": {"message": "overloaded"}})), mode="sample")
    with pytest.raises(PriorUnavailable, match=r"has not answered for \d+ s \(answered HTTP 503 \(overloaded\)\)"):
        prior(make_query())
    prior.close()


def test_a_stalled_engine_is_given_up_on_after_the_outage_wait(engine, monkeypatch):
    monkeypatch.setattr("sandbox.prior_service.openai_backend.REQUEST_TIMEOUT_S", 0.2)

    def stall(body: dict[str, Any]) -> Reply:
        time.sleep(1.0)
        return vllm_like(body)

    prior = prior_for(engine(stall), mode="sample")
    with pytest.raises(PriorUnavailable, match=r"did not answer within 0 s\); --prior-outage-wait"):
        prior(make_query())
    prior.close()


def test_an_engine_unreachable_at_first_contact_fails_after_three_quick_tries(engine):
    stopped = engine(vllm_like)
    stopped.stop()
    with pytest.raises(PriorError, match=r"cannot be reached .*\(3 tries\); is it running") as error:
        prior_for(stopped)
    assert not isinstance(error.value, PriorUnavailable)


def test_an_engine_restarted_mid_run_is_waited_for_and_the_wait_is_reported(engine, monkeypatch):
    """The engine goes away after answering (killed); the prior waits, says so to its listener, and answers
    once the engine is back on its port. The restart happens in the wait's pause: no timing involved."""
    first = engine(vllm_like)
    prior = prior_for(first, mode="sample", outage_wait_s=60.0)
    heard: list[str | None] = []
    prior.outage.listener = heard.append
    restarted: list[ScriptedEngine] = []

    def restart_in_the_pause(seconds: float) -> None:
        if not restarted and len(heard) == 2:  # stay down for two tries, then come back
            restarted.append(engine(vllm_like, port=first.port))

    monkeypatch.setattr(OutageWatch, "sleep", staticmethod(restart_in_the_pause))
    first.kill()
    result = prior(make_query())
    assert result.proposals and restarted and [path for path, _, _ in restarted[0].requests] == ["/v1/completions"]
    assert all("prior server down" in message and "of 60 s" in message for message in heard[:2])
    assert "cannot be reached" in heard[1]  # the first try may meet the dropped connection instead
    assert heard[-1] is None and len(heard) == 3
    prior.close()


@pytest.mark.parametrize("family", ["textworld", "frozenlake"])
def test_the_tuned_default_variant_is_applied_and_is_the_variant_reported(engine, family):
    """#30 bug 1: the default variant's per-family settings (SmolLM2: length-norm at T = 2 on TextWorld,
    content-free calibration at T = 0.85 on Frozen Lake) apply over the engine, as `prior --json` reports.
    Each token's log-prob is -0.1 nats per character after a state, -0.3 after the content-free prompt
    ("N/A"), so every lever changes the answer."""

    def by_characters(body: dict[str, Any]) -> Reply:
        def choice(text: str, index: int) -> dict[str, Any]:
            per_char = 0.3 if "N/A" in text else 0.1
            return echo_choice(text, index, value=lambda token: -per_char * len(token.strip()))

        return 200, {"choices": [choice(text, i) for i, text in enumerate(body["prompt"])], "usage": {"total_tokens": 7}}

    scripted = engine(by_characters, model="smollm2-135m")
    prior = build_prior(PriorConfig(model="smollm2-135m", server=scripted.url, cache_path=None, templates_dir=None))
    actions = ("go north", "take the coin", "look")
    result = prior(make_query(family=family, actions=actions))
    chars = np.array([sum(len(word) for word in action.split()) for action in actions], dtype=float)
    words = np.array([len(action.split()) for action in actions], dtype=float)
    if family == "textworld":  # mean token log-prob, T = 2
        expected_scores, temperature = -0.1 * chars / words / 2.0, 2.0
    else:  # the state's log-prob less the content-free one, T = 0.85
        expected_scores, temperature = (-0.1 * chars + 0.3 * chars) / 0.85, 0.85
    expected = np.exp(expected_scores - expected_scores.max())
    np.testing.assert_allclose(result.probs, expected / expected.sum(), rtol=1e-9)
    reported = options_in_force(prior.config, family)
    assert reported["name"] == "default" and reported["temperature"] == temperature
    assert (reported["length_norm"], reported["calibrate"]) == ((True, False) if family == "textworld" else (False, True))
    prior.close()


def test_greedy_sample_mode_asks_once_and_repeats_the_answer(engine):
    """vLLM refuses n > 1 at temperature 0; greedy decoding has one answer, so k = 5 is one request of n = 1."""

    def vllm_greedy_check(body: dict[str, Any]) -> Reply:
        if body.get("temperature") == 0 and body.get("n", 1) > 1:
            return 400, {"object": "error", "message": f"n must be 1 when using greedy sampling, got {body['n']}"}
        return vllm_like(body)

    scripted = engine(vllm_greedy_check)
    prior = prior_for(scripted, mode="sample", temperature=0.0, k=5)
    result = prior(make_query())
    prior.close()
    assert [proposal.text for proposal in result.proposals] == [" take coin\n"] * 5
    assert [body["n"] for path, body, _ in scripted.requests if path == "/v1/completions"] == [1]


def test_an_engine_that_does_not_serve_the_model_names_what_it_serves_and_leaves_nothing_open(engine, tmp_path):
    import gc
    import warnings

    gc.collect()  # what earlier tests left for the collector is not this test's to report
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(PriorError, match=r"does not serve model 'other' \(it serves 'org/model-7b'\)") as refused:
            prior_for(engine(vllm_like), model="other", cache_path=str(tmp_path / "cache.sqlite"))
        del refused  # its traceback holds the half-built prior
        gc.collect()
    assert not [str(warning.message) for warning in caught if issubclass(warning.category, ResourceWarning)]


@pytest.mark.parametrize("url", ["openai+ftp://host/v1", "openai+http://:8000/v1", "openai+http://host:port/v1"])
def test_a_malformed_address_is_one_error(url):
    with pytest.raises(PriorError, match="is not an address like openai\\+http://127.0.0.1:8000/v1"):
        parse_openai_url(url)


def test_the_cli_reports_an_unreachable_engine_in_one_line_with_exit_code_2(tmp_path):
    import socket
    import subprocess
    import sys

    from tests.conftest import REPO

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "prior", "--env", "TextFrozenLake-v0", "--prior-cache", "none",
         "--prior-server", f"openai+http://127.0.0.1:{port}/v1", "--prior-model", MODEL],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: the OpenAI-compatible server at")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize("variant", ["judge", "order-both", "line", "chat", "few-shot", "guided"])
def test_a_lever_the_engine_path_cannot_apply_is_a_one_line_error_not_ignored(engine, variant):
    """The levers live in the in-process scorer; a remote prior that silently scored plainly would
    report a variant it never used."""
    with pytest.raises(PriorError, match=rf"prior variant '{variant}'.*--prior-variant plain"):
        build_prior(PriorConfig(model=MODEL, server=engine(vllm_like).url, cache_path=None, templates_dir=None, variant=variant))
