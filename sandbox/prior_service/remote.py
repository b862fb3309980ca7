"""`RemotePrior`: the prior of a `python -m sandbox prior-server`, behind the same interface as `LlamaPrior`.

Selected by a prior config's `server = "http://HOST:PORT"`. At start it checks that the server
runs the model, n_ctx and prompt templates the config names; each call sends the query and the
current answer settings (the variant and its levers, mode, k, temperature, ...: the UI may change
them mid-session), so the answers are exactly those the same `LlamaPrior` gives in-process. A
server that goes away after answering is waited for (sandbox/prior_service/outage.py).

`RemotePrior` is a `CachedPrior` (agents/prior/cached.py) around `ServerPriorBackend`: a small
in-memory LRU in front of the server saves the round trip for states this worker has seen; the
server's own cache (memory + SQLite) is shared by every worker. A call counts as a cache hit when
this worker's LRU or the server's cache answered (the reply says which), an LLM call when the model
ran; times are what this worker waited (queueing behind other workers included). The floor is mixed
in here, after the cache, as for every prior: requests ask the server for the answer before it.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
from typing import Any
from urllib.parse import urlsplit

from agents.errors import PriorError
from agents.prior.cache import PriorCache, result_from_dict
from agents.prior.cached import CachedPrior, PriorBackend, PriorRequest
from agents.prior.config import PriorConfig, validate_config
from agents.prior.prompts import PromptTemplate, template_for
from agents.prior.templates import load_templates
from agents.prior.types import PriorResult
from sandbox.prior_service.outage import OutageWatch, ServerDown
from sandbox.prior_service.protocol import PROTOCOL, answer_settings, query_to_dict

REQUEST_TIMEOUT_S = 600.0  # a request may queue behind many workers' LLM calls
TRANSIENT_STATUSES = (502, 503, 504)  # a proxy in front of a server that is restarting
START_HINT = "start one with `python -m sandbox prior-server`"


def parse_server_url(url: str) -> tuple[str, int]:
    """(host, port) of an http://HOST:PORT address; PriorError naming the setting otherwise."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "http" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise PriorError(f"prior server {url!r} is not an address like http://127.0.0.1:8765")
    return parts.hostname, port


class ServerPriorBackend(PriorBackend):
    """Asks a prior server; the answer (and whether the server's cache held it) is the server's."""

    def __init__(self, config: PriorConfig) -> None:
        self.config = config
        self.server = config.server.rstrip("/")
        self._host, self._port = parse_server_url(config.server)
        self._connection: http.client.HTTPConnection | None = None
        token = os.environ.get(config.api_key_env)  # the server's token, if it has one; never stored
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self.watch = OutageWatch(self.server, config.outage_wait_s)  # waits out an outage after the first answer
        self._answered = False
        try:
            info = self._request("GET", "/info")
            self._check(info)
        except PriorError:
            self.close()  # a refused client never lives on to close its connection
            raise
        self.model_name = config.model
        self.gpu_layers = int(info["gpu_layers"])

    def key_parts(self, request: PriorRequest) -> dict[str, Any]:
        """Everything the server's answer depends on; history beyond what the prompt shows does not count."""
        query = query_to_dict(request.query)
        shown = self.config.history
        query["history"] = query["history"][-shown:] if shown else []
        return {"server": self.server, "model": self.config.model, **self._settings(request), "query": query}

    def answer(self, request: PriorRequest, cache: PriorCache | None) -> PriorResult:
        reply = self._request("POST", "/prior", {"settings": self._settings(request), "query": query_to_dict(request.query)})
        return dataclasses.replace(
            result_from_dict(reply["result"], 0.0),
            cached=bool(reply["cached"]),
            tokens_evaluated=int(reply["tokens_evaluated"]),
        )

    def prompt_for(self, request: PriorRequest) -> str:
        """The prompt exactly as the server's model reads it."""
        body = {"settings": self._settings(request), "query": query_to_dict(request.query)}
        return str(self._request("POST", "/prompt", body)["prompt"])

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- helpers ---------------------------------------------------------------

    def _settings(self, request: PriorRequest) -> dict[str, Any]:
        """The answer settings a request sends: the config's, with the run's sampling seed and the k asked
        for. The floor is left to this side (`CachedPrior`): the server answers before it (ε = 0)."""
        settings = answer_settings(self.config)
        settings.update(seed=request.seed, k=request.k, epsilon=0.0)
        return settings

    def _check(self, info: dict[str, Any]) -> None:
        """The server must run the model, context size and prompt templates this config names, or the
        run's config.toml would lie."""
        if info.get("protocol") != PROTOCOL:
            raise PriorError(
                f"{self.server} is not a prior server of this version (protocol {info.get('protocol')}, "
                f"expected {PROTOCOL}); {START_HINT}"
            )
        if info["model"] != self.config.model:
            raise PriorError(
                f"the prior server at {self.server} serves model {info['model']!r} but this run asks for "
                f"{self.config.model!r}; set the prior model to {info['model']!r} "
                f"or start a server with --prior-model {self.config.model}"
            )
        if info["n_ctx"] != self.config.n_ctx:
            raise PriorError(
                f"the prior server at {self.server} has n_ctx={info['n_ctx']} but this run asks for "
                f"n_ctx={self.config.n_ctx}; make them equal (prior-server --n-ctx)"
            )
        mine = load_templates(self.config.templates_dir)
        theirs = {family: PromptTemplate(**pieces) for family, pieces in info["templates"].items()}
        differ = sorted(
            family
            for family in set(mine) | set(theirs)
            if mine.get(family, template_for(family)) != theirs.get(family, template_for(family))
        )
        if differ:
            raise PriorError(
                f"the prior server at {self.server} renders {', '.join(differ)} prompts with other templates than "
                f"this run's ({self.config.templates_dir or 'built-in'}); start the server with --templates-dir "
                "holding the same templates"
            )

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request; once the server has answered, an outage is waited out (`OutageWatch`), before that a
        server that cannot be reached is a one-line error at once."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        if self._answered:
            return self.watch.call(lambda: self._attempt(method, path, data))
        try:
            return self._attempt(method, path, data)
        except ServerDown as down:
            raise PriorError(f"the prior server at {self.server} {down.reason}; {START_HINT}") from None

    def _attempt(self, method: str, path: str, data: bytes | None) -> dict[str, Any]:
        """The request on the kept-alive connection, reconnecting once if the server closed it (answers are
        pure); ServerDown for a failure that may pass."""
        headers = {**self._auth, **({"Content-Type": "application/json"} if data is not None else {})}
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self._host, self._port, timeout=REQUEST_TIMEOUT_S)
            try:
                self._connection.request(method, path, body=data, headers=headers)
                response = self._connection.getresponse()
                status, payload = response.status, response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                self._connection.close()
                self._connection = None
                if attempt == 2:
                    raise ServerDown(f"dropped the connection ({error})") from None
            except TimeoutError:
                self._connection.close()
                self._connection = None
                raise ServerDown(f"did not answer within {REQUEST_TIMEOUT_S:.0f} s") from None
            except (OSError, http.client.HTTPException) as error:  # refused, unreachable, not HTTP
                self._connection.close()
                self._connection = None
                raise ServerDown(f"cannot be reached ({error})") from None
        if status in TRANSIENT_STATUSES:
            raise ServerDown(f"answered HTTP {status}")
        self._answered = True
        try:
            reply = json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise PriorError(f"{self.server} answered HTTP {status} without JSON; is it a prior server?") from None
        if status != 200:
            message = reply.get("error") if isinstance(reply, dict) else None
            raise PriorError(message or f"the prior server at {self.server} answered HTTP {status}")
        return reply


class RemotePrior(CachedPrior):
    """p_LLM(a|s) from a prior server: same results, stats and interface as an in-process `LlamaPrior`.
    Its cache is this worker's in-memory LRU (the server keeps the shared one)."""

    backend: ServerPriorBackend

    def __init__(self, config: PriorConfig, *, run_seed: int = 0) -> None:
        validate_config(config)
        backend = ServerPriorBackend(config)
        super().__init__(backend, PriorCache(None, config.memory_cache_size), run_seed=run_seed)
        self.server = backend.server
        self.outage = backend.watch
