"""`python -m sandbox prior-server`: one llama.cpp prior shared by many training workers over HTTP."""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from sandbox.arguments import none_or, print_json
from sandbox.errors import SandboxError

if TYPE_CHECKING:
    from agents.prior.config import PriorConfig
    from sandbox.prior_service.server import PriorServer

NAME = "prior-server"
HELP = "serve the LLM prior over HTTP so many workers share one model, its GPU and its cache (Ctrl-C stops it)"

DEFAULT_PORT = 8765


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.prior.config import PriorConfig

    defaults = PriorConfig()
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free one)")
    parser.add_argument(
        "--prior-model",
        default=defaults.model,
        help="smollm2-135m (embedded default), gemma-3-270m, or a path to a .gguf file; clients must name the same",
    )
    parser.add_argument(
        "--n-gpu-layers", type=int, default=defaults.n_gpu_layers, help="llama.cpp layers to offload (-1 = all)"
    )
    parser.add_argument("--n-ctx", type=int, default=defaults.n_ctx, help="context size; clients must ask for the same")
    parser.add_argument("--threads", type=int, default=defaults.n_threads)
    parser.add_argument(
        "--prior-cache", default=defaults.cache_path, help="SQLite file of the exact prior cache ('none' disables it)"
    )
    parser.add_argument("--memory-cache-size", type=int, default=defaults.memory_cache_size, help="LRU entries kept")
    parser.add_argument(
        "--templates-dir",
        default=defaults.templates_dir,
        help="prompt templates (<family>.toml) the server renders every client's prompts with ('none': built-in only)",
    )
    parser.add_argument(
        "--token-env",
        metavar="NAME",
        help="environment variable holding a token every client must send (their --prior-api-key-env names "
        "the variable holding it on their side); default: no authentication",
    )
    parser.add_argument("--json", action="store_true", help="announce the server as one JSON object (url, model, ...)")


def run(args: argparse.Namespace) -> int:
    from agents.prior.config import PriorConfig
    from agents.prior.priors import UNIFORM_MODEL
    from sandbox.prior_service.server import PriorServer, PriorService

    if args.prior_model == UNIFORM_MODEL:
        raise SandboxError("the uniform prior needs no server: workers compute it themselves; pass a model")
    if not 0 <= args.port <= 65535:
        raise SandboxError(f"--port must be in 0..65535, got {args.port}")
    token = None
    if args.token_env is not None:
        token = os.environ.get(args.token_env)
        if not token:
            raise SandboxError(f"--token-env {args.token_env}: that environment variable is empty; put the token in it")
        if not (token.isascii() and token.isprintable()):
            raise SandboxError(
                f"--token-env {args.token_env}: the token must be printable ASCII (it travels in an HTTP header)"
            )
    config = PriorConfig(
        model=args.prior_model,
        n_gpu_layers=args.n_gpu_layers,
        n_ctx=args.n_ctx,
        n_threads=args.threads,
        cache_path=none_or(args.prior_cache),
        memory_cache_size=args.memory_cache_size,
        templates_dir=none_or(args.templates_dir),
    )
    service = PriorService(config)
    try:
        server = PriorServer((args.host, args.port), service, token)
    except OSError as error:
        service.close()
        reason = error.strerror or error
        raise SandboxError(f"cannot listen on {args.host}:{args.port} ({reason}); pick another --port") from None
    announce(server, config, args.json)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill PID` stops it as gracefully as Ctrl-C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
        service.close()  # waits for a request in flight, then closes the model and the cache file
    stats = service.prior.stats
    print(
        f"prior server stopped: {stats.calls} queries, {stats.llm_calls} answered by the model, "
        f"{stats.cache_hits} from the cache",
        file=sys.stderr,
    )
    return 0


def announce(server: "PriorServer", config: "PriorConfig", as_json: bool) -> None:
    """One line (or JSON object) saying where the server is; flushed, since scripts wait for it."""
    gpu_layers = server.service.prior.gpu_layers
    if as_json:
        print_json(
            {
                "url": server.url,
                "model": config.model,
                "n_ctx": config.n_ctx,
                "gpu_layers": gpu_layers,
                "cache": config.cache_path,
                "pid": os.getpid(),
            }
        )
    else:
        print(
            f"prior server on {server.url}: {config.model}, {gpu_layers} GPU layers, "
            f"cache {config.cache_path or 'memory only'}\n"
            f"point workers at it with --prior-server {server.url} (or [prior] server = \"{server.url}\"); "
            "Ctrl-C or SIGTERM stops it"
        )
    if not _is_loopback(server.server_address[0]) and server.token is None:
        print(
            f"note: the server has no authentication (--token-env adds a token); anyone who can reach {server.url} "
            "can use it",
            file=sys.stderr,
        )
    sys.stdout.flush()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
