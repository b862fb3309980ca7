"""`OpenAIPrior`: p_LLM(a|s) from an OpenAI-compatible engine (vLLM, llama-cpp-python's server, ...).

Selected by a prior config's `server = "openai+http://HOST:PORT/v1"`, with `model` the id the
engine serves (its /v1/models). Prompts are rendered here, with the same templates as the
in-process prior; the engine only evaluates them, so 7B–70B models on a GPU box can be priors.

- Score mode: one /v1/completions request per state whose prompt is a list, prompt + " " +
  action for every admissible action, with echo, logprobs and max_tokens=1 (llama-cpp-python
  reads max_tokens=0 as "until the context is full"). The engine tokenises prompt and action
  together; an action's tokens are the echoed tokens whose text offsets fall inside it, and
  their log-probs are summed, then normalised exactly as in-process (`score_result`), with the
  options the prior's variant puts in force for the query's family (`for_family`): length
  normalisation, temperature and content-free calibration (PMI: the content-free prompt's
  log-probs, asked once per action set and cached). Engines that take one prompt per request
  (llama-cpp-python's server) get one request per action.
- Sample mode: n=k completions in one request, k as the call asks (engines that ignore n get the
  rest in further requests; greedy, temperature 0, asks for one and repeats it), seeded with the
  run's sampling seed (the config's seed plus the run's, as in-process), each cut after its first
  line and mapped as in-process (`sample_result`).

Before the first score, one probe checks that the engine returns prompt log-probs at all and
that they belong to the right tokens: two prompts differing only in their last word must get
the same distribution for that word's position (it depends on the words before it only).
llama-cpp-python's server fails this for models without a BOS token (its log-probs are
shifted by one token), which would otherwise silently give a wrong prior.

The API key is read from the environment variable the config names (`api_key_env`), never
from the config itself, and is sent only as the Authorization header.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from agents.errors import PriorError
from agents.prior.answers import answer_key_parts, sample_result, score_result
from agents.prior.cache import PriorCache, cache_key
from agents.prior.cached import CachedPrior, PriorBackend, PriorRequest
from agents.prior.config import PriorConfig, validate_config
from agents.prior.prompts import PromptTemplate, render_prompt, template_for
from agents.prior.scoring import Levers, content_free
from agents.prior.templates import load_templates
from agents.prior.types import PriorQuery, PriorResult
from agents.prior.variants import for_family
from sandbox.prior_service.outage import OutageWatch, ServerDown

SCHEME_PREFIX = "openai+"
REQUEST_TIMEOUT_S = 300.0  # a big batch of long prompts on a busy engine can take minutes
RETRIES = 3  # tries at first contact for failures that may pass (timeouts, dropped connections, 429/5xx)
BACKOFF_S = 0.5  # wait before the second try; doubled before each further one
TRANSIENT_STATUSES = (429, 502, 503, 504)
PROBE_PREFIX = "Here is a short sentence about"
PROBE_ENDINGS = (" cats", " 1987")  # unlike words: an off-by-one engine gives clearly different distributions
PROBE_TOLERANCE = 0.01  # nats; a correct engine gives the same numbers (up to GPU batching noise)
# Plain temperature/top-p sampling, as in-process: switch off the extras engines add by default
# (llama-cpp-python: top_k=40, min_p=0.05, repeat_penalty=1.1; top_k=0 is "off" for it and vLLM alike);
# each engine ignores the names of the others.
NEUTRAL_SAMPLING = {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0, "repetition_penalty": 1.0}
ENGINE_LEVERS = ("calibrate",)  # besides length-norm and temperature: the levers this prior applies itself
PROMPT_LOGPROBS_HINT = (
    "score mode needs log-probs of the prompt's tokens (echo=true with logprobs): vLLM returns them "
    "(keep --max-logprobs >= 1); llama-cpp-python's server needs --logits_all true; llama.cpp's llama-server "
    "does not return them (use --prior-mode sample with it)"
)


def is_openai_server(url: str) -> bool:
    return url.startswith(SCHEME_PREFIX)


@dataclass(frozen=True)
class EngineAddress:
    scheme: str  # "http" or "https"
    host: str
    port: int
    base_path: str  # e.g. "/v1"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.base_path}"


def parse_openai_url(url: str) -> EngineAddress:
    """openai+http(s)://HOST:PORT/PATH; PriorError naming the setting otherwise."""
    parts = urlsplit(url.removeprefix(SCHEME_PREFIX))
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not is_openai_server(url) or parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise PriorError(f"prior server {url!r} is not an address like openai+http://127.0.0.1:8000/v1")
    default_port = 443 if parts.scheme == "https" else 80
    return EngineAddress(parts.scheme, parts.hostname, port or default_port, parts.path.rstrip("/"))


class EngineClient:
    """JSON over one kept-alive HTTP(S) connection, with one-line errors. At first contact a failure that may
    pass is tried RETRIES times; once the engine has answered, an outage is waited out (`OutageWatch`)."""

    def __init__(self, address: EngineAddress, api_key_env: str, outage_wait_s: float = 0.0) -> None:
        self.address = address
        self.api_key_env = api_key_env
        self._headers = {"Content-Type": "application/json"}
        api_key = os.environ.get(api_key_env)
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._connection: http.client.HTTPConnection | None = None
        self.watch = OutageWatch(address.url, outage_wait_s)
        self._answered = False  # the engine has answered once: from then on a failure is an outage to wait out

    def get(self, path: str) -> dict[str, Any]:
        return self._request("GET", path, None)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", path, body)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        if self._answered:
            return self.watch.call(lambda: self._attempt(method, path, data))
        for attempt in range(1, RETRIES + 1):
            if attempt > 1:
                time.sleep(BACKOFF_S * 2 ** (attempt - 2))
            try:
                return self._attempt(method, path, data)
            except ServerDown as down:
                failure = down.reason
        raise PriorError(
            f"the OpenAI-compatible server at {self.address.url} {failure} ({RETRIES} tries); is it running, "
            "and is --prior-server the address it serves (usually ending in /v1)?"
        )

    def _attempt(self, method: str, path: str, data: bytes | None) -> dict[str, Any]:
        """One request; ServerDown for a failure that may pass."""
        try:
            status, payload = self._send(method, self.address.base_path + path, data)
        except TimeoutError:
            raise ServerDown(f"did not answer within {REQUEST_TIMEOUT_S:.0f} s") from None
        except (ConnectionRefusedError, socket.gaierror) as error:
            raise ServerDown(f"cannot be reached ({error.strerror or error})") from None
        except (OSError, http.client.HTTPException) as error:  # dropped, reset, not HTTP
            raise ServerDown(f"dropped the connection ({error.__class__.__name__}: {error})") from None
        if status in TRANSIENT_STATUSES:
            raise ServerDown(f"answered HTTP {status} ({error_message(payload) or 'busy'})")
        self._answered = True
        return self._decode(status, payload, path)

    def _send(self, method: str, path: str, data: bytes | None) -> tuple[int, bytes]:
        if self._connection is None:
            cls = http.client.HTTPSConnection if self.address.scheme == "https" else http.client.HTTPConnection
            self._connection = cls(self.address.host, self.address.port, timeout=REQUEST_TIMEOUT_S)
        try:
            self._connection.request(method, path, body=data, headers=self._headers)
            response = self._connection.getresponse()
            return response.status, response.read()
        except BaseException:
            self.close()  # a half-used connection is never reused
            raise

    def _decode(self, status: int, payload: bytes, path: str) -> dict[str, Any]:
        url = self.address.url
        try:
            reply = json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError):
            reply = None
        if status in (401, 403):
            raise EngineRefused(
                status,
                f"the server at {url} refused the request (HTTP {status}): put its API key in the environment "
                f"variable {self.api_key_env} (or name another one with --prior-api-key-env)",
            )
        if status == 404 and path == "/models":
            raise PriorError(f"{url} has no /models endpoint; is it an OpenAI-compatible server (the address usually ends in /v1)?")
        if status != 200:
            message = error_message(payload) or "no message"
            raise EngineRefused(status, f"the OpenAI-compatible server at {url} answered HTTP {status}: {message}")
        if not isinstance(reply, dict):
            raise PriorError(f"{url} answered {path} without a JSON object; is it an OpenAI-compatible server?")
        return reply


class EngineRefused(PriorError):
    """The engine answered with an HTTP error (after any retries)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def error_message(payload: bytes) -> str:
    """The message of an error reply ({"error": {"message"}}, {"message"} or {"detail"}), on one line."""
    try:
        reply = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return payload[:200].decode("utf-8", errors="replace").strip().replace("\n", " ")
    if isinstance(reply, dict):
        inner = reply.get("error", reply)
        message = inner.get("message") or inner.get("detail") if isinstance(inner, dict) else inner
        if message:
            return str(message).strip().replace("\n", " ")[:300]
    return ""


def choices_of(reply: dict[str, Any], expected: int, url: str) -> list[dict[str, Any]]:
    choices = reply.get("choices")
    if not isinstance(choices, list) or not all(isinstance(choice, dict) for choice in choices):
        raise PriorError(f"the server at {url} answered without a list of choices")
    return sorted(choices, key=lambda choice: int(choice.get("index", 0)))[:expected]


@dataclass(frozen=True)
class EchoedTokens:
    offsets: list[int]  # where each token starts in the echoed text
    log_probs: list[float | None]
    top: list[dict[str, float] | None]  # each position's most likely tokens (with the actual one)


def echoed_tokens(choice: dict[str, Any], sent: str, url: str) -> EchoedTokens:
    """The per-token log-probs of an echoed prompt; PriorError when the engine returned none."""
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict) or not logprobs.get("text_offset"):
        raise PriorError(f"the server at {url} returned no log-probs for the prompt; {PROMPT_LOGPROBS_HINT}")
    text = choice.get("text")
    if not isinstance(text, str) or not text.startswith(sent):
        raise PriorError(
            f"the server at {url} did not echo the prompt (its text does not start with it); {PROMPT_LOGPROBS_HINT}"
        )
    offsets, values = logprobs["text_offset"], logprobs.get("token_logprobs") or []
    top = logprobs.get("top_logprobs") or [None] * len(offsets)
    if len(values) != len(offsets) or len(top) != len(offsets):
        raise PriorError(f"the server at {url} returned log-probs whose lists differ in length; its reply is malformed")
    if not any(offset < len(sent) for offset in offsets):
        raise PriorError(f"the server at {url} returned log-probs for generated tokens only; {PROMPT_LOGPROBS_HINT}")
    return EchoedTokens(list(offsets), list(values), list(top))


def continuation_log_prob(tokens: EchoedTokens, prompt: str, continuation: str, url: str) -> tuple[float, int]:
    """Σ log-probs of the tokens spelling `continuation` right after `prompt`, and how many there are.

    The engine tokenised prompt + continuation as one text; a token spanning the boundary means the
    continuation has no tokens of its own, and the reply is refused rather than guessed at.
    """
    start, end = len(prompt), len(prompt) + len(continuation)
    inside = [index for index, offset in enumerate(tokens.offsets) if start <= offset < end]
    if not inside or tokens.offsets[inside[0]] != start:
        raise PriorError(
            f"the tokens the server at {url} returned do not line up with the action {continuation.strip()!r}: "
            "a token spans the end of the prompt and the start of the action"
        )
    values = [tokens.log_probs[index] for index in inside]
    if any(value is None or not math.isfinite(value) for value in values):
        raise PriorError(f"the server at {url} returned no log-prob for a token of the action; {PROMPT_LOGPROBS_HINT}")
    return float(sum(values)), len(values)  # type: ignore[arg-type]


def first_line_of(text: str) -> str:
    """A completion up to its first line break after any leading blank space (what in-process sampling keeps)."""
    leading = len(text) - len(text.lstrip())
    end = text.find("\n", leading)
    return text if end < 0 else text[: end + 1]


class OpenAIPriorBackend(PriorBackend):
    """p_LLM(a|s) from an OpenAI-compatible engine, answering as the llama.cpp backend does (see the module doc)."""

    def __init__(self, config: PriorConfig) -> None:
        check_engine_levers(config)
        self.config = config
        self.model_name = config.model
        address = parse_openai_url(config.server)
        self.server = address.url
        self._client = EngineClient(address, config.api_key_env, config.outage_wait_s)
        self.watch = self._client.watch  # an outage after the first answer is waited out (sandbox/prior_service/outage.py)
        self._templates = load_templates(config.templates_dir)
        try:
            self._identity = self._check_model()
        except PriorError:
            self._client.close()  # a refused prior never lives on to close its connection
            raise
        self._probed = False  # the probe runs before the first score
        self._one_prompt_per_request = False  # learnt from the probe (llama-cpp-python's server)

    def key_parts(self, request: PriorRequest) -> dict[str, Any]:
        query = request.query
        in_force = for_family(self.config, query.family)  # the variant may tune the options per family
        check_engine_levers(in_force, query.family)
        changed = Levers.of(in_force).changed() if in_force.mode == "score" else None
        levers = {"levers": changed} if changed else {}  # absent for the plain prior, as in-process
        template = self.template(query.family)
        return answer_key_parts(in_force, query, template, self._identity, k=request.k, seed=request.seed, levers=levers)

    def answer(self, request: PriorRequest, cache: PriorCache | None) -> PriorResult:
        query = request.query
        template = self.template(query.family)
        prompt = self._prompt(query, template)
        if self.config.mode == "score":
            return self._score(query, prompt, for_family(self.config, query.family), template, cache)
        return self._sample(query, prompt, request.k, request.seed)

    def prompt_for(self, request: PriorRequest) -> str:
        """The prompt the engine reads (in chat sample mode: the user message it wraps in its chat template)."""
        return self._prompt(request.query, self.template(request.query.family))

    def template(self, family: str) -> PromptTemplate:
        return self._templates.get(family) or template_for(family)

    def close(self) -> None:
        self._client.close()

    # -- the two modes ---------------------------------------------------------

    def _score(
        self, query: PriorQuery, prompt: str, in_force: PriorConfig, template: PromptTemplate, cache: PriorCache | None
    ) -> PriorResult:
        """The actions' log-probs after `prompt`, combined with the options in force for the family."""
        if not self._probed:
            self._probe()
        log_probs, counts, tokens_evaluated = self._action_log_probs(prompt, query.actions)
        calibration = None
        if in_force.calibrate:
            calibration, calibration_tokens = self._content_free_values(query, template, in_force, cache)
            tokens_evaluated += calibration_tokens
        return score_result(
            self.model_name,
            query,
            in_force,
            log_probs,
            counts,
            calibration,
            tokens_evaluated=tokens_evaluated,
            prompt=prompt,
        )

    def _action_log_probs(self, prompt: str, actions: tuple[str, ...]) -> tuple[np.ndarray, tuple[int, ...], int]:
        """Σ log-probs of each action's tokens after `prompt`, their token counts and the tokens evaluated."""
        continuations = [f" {action}" for action in actions]
        texts = [prompt + continuation for continuation in continuations]
        choices, tokens_evaluated = self._echo(texts)
        scored = [
            continuation_log_prob(echoed_tokens(choice, text, self.server), prompt, continuation, self.server)
            for choice, text, continuation in zip(choices, texts, continuations)
        ]
        return np.array([log_prob for log_prob, _ in scored]), tuple(count for _, count in scored), tokens_evaluated

    def _content_free_values(
        self, query: PriorQuery, template: PromptTemplate, in_force: PriorConfig, cache: PriorCache | None
    ) -> tuple[np.ndarray, int]:
        """The actions' values after the content-free prompt (PMI calibration), normalised as the state's are;
        cached once per action set, since that prompt holds no state."""
        free = content_free(query)
        prompt = render_prompt(free, self.config.list_actions, self.config.history, template=template)
        key = cache_key(
            {"content_free": [prompt, list(query.actions)], "model": self._identity, "length_norm": in_force.length_norm}
        )
        stored = cache.get(key) if cache is not None else None
        if stored is not None:
            return np.asarray(json.loads(stored), dtype=np.float64), 0
        log_probs, counts, tokens_evaluated = self._action_log_probs(prompt, query.actions)
        values = log_probs / (np.maximum(np.asarray(counts, dtype=np.float64), 1.0) if in_force.length_norm else 1.0)
        if cache is not None:
            cache.put(key, json.dumps(values.tolist()))
        return values, tokens_evaluated

    def _sample(self, query: PriorQuery, prompt: str, k: int, seed: int) -> PriorResult:
        """k completions; greedy (temperature 0) asks for one and repeats it k times: greedy decoding has one
        answer, and vLLM refuses n > 1 at temperature 0 ("n must be 1 when using greedy sampling")."""
        config = self.config
        greedy = config.temperature == 0
        wanted = 1 if greedy else k
        texts: list[str] = []
        tokens_evaluated = 0
        while len(texts) < wanted:  # engines that ignore n answer one completion per request
            body: dict[str, Any] = {
                "model": config.model,
                "n": wanted - len(texts),
                "max_tokens": config.max_new_tokens,
                "temperature": config.temperature,
                "top_p": config.top_p,
                "seed": seed + len(texts),
                **NEUTRAL_SAMPLING,
            }
            if config.chat:
                body["messages"] = [{"role": "user", "content": prompt}]
                reply = self._client.post("/chat/completions", body)
                choices = choices_of(reply, wanted - len(texts), self.server)
                new = [str((choice.get("message") or {}).get("content") or "") for choice in choices]
            else:
                reply = self._client.post("/completions", {**body, "prompt": prompt})
                new = [str(choice.get("text") or "") for choice in choices_of(reply, wanted - len(texts), self.server)]
            if not new:
                raise PriorError(f"the server at {self.server} answered a sample request with no completions")
            texts += [first_line_of(text) for text in new]
            tokens_evaluated += usage_tokens(reply)
        if greedy:
            texts *= k
        return sample_result(self.model_name, query, texts, tokens_evaluated=tokens_evaluated, prompt=prompt)

    # -- helpers -----------------------------------------------------------------

    def _prompt(self, query: PriorQuery, template: PromptTemplate) -> str:
        """Rendered as in-process, untrimmed: the engine's context limit applies (an HTTP 400 names it)."""
        config = self.config
        chat = config.mode == "sample" and config.chat
        return render_prompt(query, config.list_actions, config.history, chat=chat, template=template)

    def _check_model(self) -> dict[str, Any]:
        """The served model's identity for the cache key; PriorError when the engine does not serve it."""
        reply = self._client.get("/models")
        served = [entry for entry in reply.get("data") or [] if isinstance(entry, dict) and "id" in entry]
        for entry in served:
            if entry["id"] == self.config.model:
                return {"engine": "openai", "model": entry["id"], "root": entry.get("root")}
        names = ", ".join(repr(entry["id"]) for entry in served) or "nothing"
        raise PriorError(
            f"the server at {self.server} does not serve model {self.config.model!r} (it serves {names}); "
            "pass --prior-model with one of those names"
        )

    def _echo(self, texts: list[str]) -> tuple[list[dict[str, Any]], int]:
        """Each text's echoed completion, in as few requests as the engine allows."""
        size = 1 if self._one_prompt_per_request else len(texts)
        choices: list[dict[str, Any]] = []
        tokens_evaluated = 0
        for begin in range(0, len(texts), size):
            batch = texts[begin : begin + size]
            reply = self._client.post(
                "/completions",
                {"model": self.config.model, "prompt": batch, "max_tokens": 1, "echo": True, "logprobs": 1, "temperature": 0},
            )
            got = choices_of(reply, len(batch), self.server)
            if len(got) != len(batch):
                raise PriorError(
                    f"the server at {self.server} answered {len(got)} choices for {len(batch)} prompts; "
                    "its reply does not line up with the request"
                )
            choices += got
            tokens_evaluated += usage_tokens(reply)
        return choices, tokens_evaluated

    def _probe(self) -> None:
        """Learn whether the engine takes a list of prompts, and check its prompt log-probs (see the module doc)."""
        texts = [PROBE_PREFIX + ending for ending in PROBE_ENDINGS]
        try:
            choices, _ = self._echo(texts)
        except EngineRefused as refused:
            if refused.status in (401, 403):
                raise
            self._one_prompt_per_request = True  # llama-cpp-python's server answers a list of prompts with HTTP 500
            try:
                choices, _ = self._echo(texts)
            except EngineRefused as error:
                raise PriorError(f"{error}; {PROMPT_LOGPROBS_HINT}") from None
        distributions = []
        for choice, text in zip(choices, texts):
            tokens = echoed_tokens(choice, text, self.server)
            position = [index for index, offset in enumerate(tokens.offsets) if offset >= len(PROBE_PREFIX)]
            top = tokens.top[position[0]] if position else None
            if not top:
                raise PriorError(f"the server at {self.server} returned no top log-probs for the prompt; {PROMPT_LOGPROBS_HINT}")
            distributions.append(max(top.values()))
        if abs(distributions[0] - distributions[1]) > PROBE_TOLERANCE:
            raise PriorError(
                f"the prompt log-probs of the server at {self.server} belong to the wrong tokens (shifted by one: a "
                "token's log-prob depends on the token itself); llama-cpp-python's server does this for models without "
                "a BOS token: score with vLLM, this project's prior-server or in-process, or use --prior-mode sample"
            )
        self._probed = True


class OpenAIPrior(CachedPrior):
    """p_LLM(a|s) from an OpenAI-compatible engine: the interface, cache and stats of `LlamaPrior`.

    `run_seed` is the seed of the run the prior serves: sample mode draws with `config.seed + run_seed`
    (`sampling_seed`), as `LlamaPrior` does.
    """

    backend: OpenAIPriorBackend

    def __init__(self, config: PriorConfig, *, run_seed: int = 0) -> None:
        validate_config(config)
        backend = OpenAIPriorBackend(config)
        super().__init__(backend, PriorCache(config.cache_path, config.memory_cache_size), run_seed=run_seed)
        self.server = backend.server
        self.outage = backend.watch  # waits out an outage after the first answer (sandbox/prior_service/outage.py)

    def template(self, family: str) -> PromptTemplate:
        return self.backend.template(family)


def check_engine_levers(config: PriorConfig, family: str | None = None) -> None:
    """PriorError when the options in force need a lever only the in-process prior applies (judge, chat
    scoring, ...): scoring plainly instead would report a variant that was never applied."""
    if config.mode != "score":
        return  # sample mode has no levers (chat is a sample option the engine serves)
    unsupported = set(Levers.of(config).changed()) - set(ENGINE_LEVERS)
    if unsupported:
        where = f" for {family}" if family else ""
        raise PriorError(
            f"prior variant {config.variant!r} needs {', '.join(sorted(unsupported))}{where}, which only the in-process "
            "prior applies; an OpenAI-compatible engine applies length-norm, calibration (pmi) and the temperature: "
            "use --prior-variant plain, length-norm or pmi"
        )


def usage_tokens(reply: dict[str, Any]) -> int:
    usage = reply.get("usage")
    return int(usage.get("total_tokens") or 0) if isinstance(usage, dict) else 0
