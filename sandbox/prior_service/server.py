"""The prior server: one llama.cpp model answering p_LLM(a|s) for many training workers over HTTP.

Why our own server, now that OpenAI-compatible engines can be priors too (`sandbox.prior_service.openai_backend`): it
serves `LlamaPrior` itself, so answers are the in-process answers bit for bit, with prompt-once
scoring, the KV prefix shared across consecutive states and one exact cache (memory LRU + SQLite)
shared by every worker. On a CPU it is the fast path: llama-cpp-python's OpenAI server takes one
prompt per request and formats echoed log-probs in Python, and llama.cpp's llama-server returns
none (docs/guides/llm-engines.md).

The wire format (endpoints, settings, query) is `sandbox.prior_service.protocol`, shared with the client.
With a token (`prior-server --token-env NAME`) every request must carry
`Authorization: Bearer <token>`, or gets HTTP 401.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agents.errors import PriorError
from agents.prior.cache import result_to_dict
from agents.prior.config import PriorConfig, validate_config
from agents.prior.priors import LlamaPrior
from agents.prior.templates import load_templates
from agents.prior.types import PriorQuery, PriorResult
from sandbox.prior_service.protocol import ANSWER_SETTINGS, PROTOCOL, query_from_dict

MAX_BODY_BYTES = 16 * 1024 * 1024
BODY_TIMEOUT_S = 30.0  # a request body must arrive within this (clients send it with the headers)


class PriorService:
    """The server's one model and cache; requests take turns, since a llama.cpp context is not thread-safe."""

    def __init__(self, config: PriorConfig) -> None:
        self.config = config
        self.prior = LlamaPrior(config)
        self.prior.load()  # a bad model fails at start-up, and the first request is not slow
        self._lock = threading.Lock()
        # The user templates the prior renders with (families without one use the built-in template).
        families = load_templates(config.templates_dir)
        self.templates = {family: dataclasses.asdict(self.prior.template(family)) for family in families}

    def info(self) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL,
            "model": self.config.model,
            "n_ctx": self.config.n_ctx,
            "gpu_layers": self.prior.gpu_layers,
            "templates": self.templates,
            "stats": dataclasses.asdict(self.prior.stats),
        }

    def answer(self, settings: Any, query: PriorQuery) -> PriorResult:
        config = self._configured(settings)
        with self._lock:
            self.prior.config = config
            return self.prior(query)

    def prompt(self, settings: Any, query: PriorQuery) -> str:
        config = self._configured(settings)
        with self._lock:
            self.prior.config = config
            return self.prior.prompt_for(query)

    def close(self) -> None:
        with self._lock:
            self.prior.close()

    def _configured(self, settings: Any) -> PriorConfig:
        if not isinstance(settings, dict) or set(settings) - set(ANSWER_SETTINGS):
            raise PriorError(f"the request's settings must be an object with keys among {', '.join(ANSWER_SETTINGS)}")
        try:
            config = dataclasses.replace(self.config, **settings)
        except TypeError as error:
            raise PriorError(f"bad prior settings in the request: {error}") from None
        validate_config(config)
        return config


class PriorServer(ThreadingHTTPServer):
    """A thread per connection (each worker keeps one open); the service serialises model access."""

    daemon_threads = True  # an idle keep-alive connection never holds up shutdown

    def __init__(self, address: tuple[str, int], service: PriorService, token: str | None = None) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self.token = token  # when set, every request must carry "Authorization: Bearer <token>"

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a worker's requests reuse one connection
    disable_nagle_algorithm = True  # small replies go out at once, not after the client's delayed ACK
    body_timeout_s = BODY_TIMEOUT_S
    server: PriorServer

    def do_GET(self) -> None:
        if not self._authorised():
            return
        if self.path != "/info":
            self._reply(404, {"error": f"no such endpoint {self.path}; use /info, /prior or /prompt"})
            return
        self._reply(200, self.server.service.info())

    def do_POST(self) -> None:
        if not self._authorised():
            return
        if self.path not in ("/prior", "/prompt"):
            self._reply(404, {"error": f"no such endpoint {self.path}; use /info, /prior or /prompt"})
            return
        data = self._read_body()
        if data is None:
            return
        service = self.server.service
        try:
            body = json.loads(data or b"null")
            if not isinstance(body, dict):
                raise PriorError("the request body must be a JSON object with settings and query")
            query = query_from_dict(body.get("query"))
            if self.path == "/prompt":
                self._reply(200, {"prompt": service.prompt(body.get("settings"), query)})
                return
            result = service.answer(body.get("settings"), query)
        except (PriorError, json.JSONDecodeError, UnicodeDecodeError) as error:
            self._reply(400, {"error": str(error)})
            return
        except Exception as error:  # a bug, not a bad request: keep serving the other workers, and say so
            traceback.print_exc(file=sys.stderr)
            self._reply(500, {"error": f"prior server failed: {error.__class__.__name__}: {error}"})
            return
        reply = {"result": result_to_dict(result), "cached": result.cached, "tokens_evaluated": result.tokens_evaluated}
        self._reply(200, reply)

    def _authorised(self) -> bool:
        """With a token set, refuse (HTTP 401) a request without it, before its body is read (the connection
        closes, so the unread body is never taken for the next request). Compared in constant time, as bytes:
        a header with non-ASCII characters is a wrong token, not a traceback."""
        token = self.server.token
        sent = self.headers.get("Authorization", "").encode("latin-1", errors="replace")  # as the header came
        if token is None or hmac.compare_digest(sent, f"Bearer {token}".encode()):
            return True
        self._refuse(
            401,
            "the prior server needs its token: put it in the environment variable --prior-api-key-env names "
            "(default OPENAI_API_KEY)",
        )
        return False

    def _read_body(self) -> bytes | None:
        """The request body, or None after an error reply: a Content-Length that is not a whole number
        of bytes in range, or a body that does not arrive in time, would otherwise end the connection
        with a traceback or hold this thread forever. The connection closes with the error, since the
        body's framing is lost."""
        header = self.headers.get("Content-Length") or "0"
        length = int(header) if header.isascii() and header.isdecimal() else -1
        if length < 0:
            return self._refuse(400, f"Content-Length must be a whole number of bytes, got {header!r}")
        if length > MAX_BODY_BYTES:
            return self._refuse(413, f"request body over {MAX_BODY_BYTES} bytes")
        self.connection.settimeout(self.body_timeout_s)  # only for the body: idle keep-alive connections may wait
        try:
            data = self.rfile.read(length)
        except TimeoutError:
            data = b""
        finally:
            self.connection.settimeout(None)
        if len(data) < length:
            return self._refuse(400, f"the body ended before its Content-Length of {length} bytes")
        return data

    def _refuse(self, status: int, message: str) -> None:
        self.close_connection = True
        self._reply(status, {"error": message})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per request would drown the terminal at thousands of requests a second."""
