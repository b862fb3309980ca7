"""ms per prior query through each backend: in-process, this project's prior server, and two
OpenAI-compatible engines (llama-cpp-python's server; vLLM on the CPU), with the same model and the
same states.

    .venv/bin/python benchmarks/prior_backends.py --threads 1             # minutes: the engine's echo is slow
    .venv/bin/python benchmarks/prior_backends.py --threads 1 --repeats 3 --json
    .venv/bin/python benchmarks/prior_backends.py --threads 1 --backends in_process,project_server,vllm

vLLM rows need `make test-engines` to have built .venv-engines and the float32 Hugging Face copy of
the model (saves/engines/); vLLM is started four times, float32 and bfloat16, each with prefix caching
on and off (--enforce-eager, 1 GiB KV cache; 30-110 s of start-up each on a 2-core CPU).

Rows: a score-mode query over 10 candidate actions, and a sample-mode query (k=5, 10 new
tokens). "cold" queries are all different (each repeat changes the observation's last words,
so no cache answers, and every backend may reuse the prompt prefix it evaluated last);
"cached" repeats a query already answered (the in-process and OpenAI priors' memory cache;
the project server's cache, reached over HTTP, since its client keeps no LRU here). Medians.
Ratios are against in-process, measured in the same run; one JSON object is printed.

SmolLM2 has no BOS token, and llama-cpp-python's server returns prompt log-probs shifted by one
token for such models (the OpenAI prior refuses them). The engine is therefore started with
`tokenizer.ggml.add_bos_token` switched on: it reads one BOS token more than the in-process
prior, which changes its scores a little and its time not measurably, and makes them line up.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.prior import LlamaPrior, PriorConfig, PriorQuery, build_prior  # noqa: E402
from agents.prior.models import resolve_model_path  # noqa: E402
from sandbox.results.prior import QUERY  # noqa: E402  (the 10-candidate TextWorld state of prior_throughput)

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 180
VLLM_START_TIMEOUT_S = 900
BACKENDS = ("in_process", "project_server", "openai_llama_cpp_server", "vllm")


def varied(query: PriorQuery, index: int) -> PriorQuery:
    """The same state with a different last sentence: a cache miss sharing the prompt's prefix."""
    return dataclasses.replace(query, observation=f"{query.observation} You have been here {index + 2} times.")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running(command: list[str], ready: Callable[[subprocess.Popen], str], env: dict[str, str] | None = None) -> Iterator[str]:
    """A server subprocess; yields what `ready` returns once it answers, stops it (SIGINT) afterwards."""
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, **(env or {})}
    )
    try:
        yield ready(process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def project_server(threads: int) -> list[str]:
    return [sys.executable, "-m", "sandbox", "prior-server", "--port", "0", "--json", "--threads", str(threads),
            "--prior-cache", "none", "--templates-dir", "none"]


def announced_url(process: subprocess.Popen) -> str:
    line = process.stdout.readline()
    if not line:
        raise RuntimeError("the prior server exited before announcing itself")
    return json.loads(line)["url"]


def engine(model: str, port: int, threads: int) -> list[str]:
    return [sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1", "--port", str(port),
            "--n_threads", str(threads), "--n_threads_batch", str(threads), "--n_ctx", "2048", "--logits_all", "true",
            "--verbose", "false", "--kv_overrides", "tokenizer.ggml.add_bos_token=bool:true"]


def engine_ready(port: int) -> Callable[[subprocess.Popen], str]:
    def wait(process: subprocess.Popen) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("llama_cpp.server exited at start (is the `server` extra installed?)")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/v1/models")
                if connection.getresponse().status == 200:
                    return f"openai+http://127.0.0.1:{port}/v1"
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"llama_cpp.server not ready within {START_TIMEOUT_S} s")

    return wait


VLLM_API_KEY = "sk-benchmark-loopback"  # vLLM on loopback for this run only


def vllm(python: str, model: str, port: int, dtype: str, prefix_caching: bool) -> list[str]:
    return [python, "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--served-model-name", "smollm2-135m",
            "--host", "127.0.0.1", "--port", str(port), "--enforce-eager", "--dtype", dtype, "--max-model-len", "2048",
            "--enable-prefix-caching" if prefix_caching else "--no-enable-prefix-caching"]


def vllm_ready(port: int) -> Callable[[subprocess.Popen], str]:
    def wait(process: subprocess.Popen) -> str:
        deadline = time.monotonic() + VLLM_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("vLLM exited at start; run `make test-engines` first (it builds .venv-engines)")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/v1/models", headers={"Authorization": f"Bearer {VLLM_API_KEY}"})
                if connection.getresponse().status == 200:
                    return f"openai+http://127.0.0.1:{port}/v1"
            except OSError:
                pass
            time.sleep(1.0)
        raise RuntimeError(f"vLLM not ready within {VLLM_START_TIMEOUT_S} s")

    return wait


def time_backend(make: Callable[[dict], object], repeats: int, modes: tuple[str, ...] = ("score", "sample")) -> dict[str, float]:
    """Median ms of cold and cached score and sample queries through one backend."""
    timings: dict[str, float] = {}
    for mode, settings in (("score", {"mode": "score"}), ("sample", {"mode": "sample", "k": 5, "max_new_tokens": 10})):
        if mode not in modes:
            continue
        prior = make(settings)
        prior(varied(QUERY, -1))  # warm-up: model load, first buffers, connection, the engine's probe
        cold = []
        for index in range(repeats):
            started = time.perf_counter()
            result = prior(varied(QUERY, index))
            cold.append((time.perf_counter() - started) * 1000)
            assert not result.cached
        cached = []
        for _ in range(max(repeats, 5)):
            started = time.perf_counter()
            result = prior(varied(QUERY, 0))
            cached.append((time.perf_counter() - started) * 1000)
            assert result.cached
        timings[mode] = round(statistics.median(cold), 2)
        timings[f"{mode}_cached"] = round(statistics.median(cached), 3)
        prior.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads, the same for every backend")
    parser.add_argument("--repeats", type=int, default=2, help="cold queries per row (median reported)")
    parser.add_argument("--json", action="store_true", help="only the JSON object (it is printed either way)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help=f"comma-separated, of {', '.join(BACKENDS)}")
    parser.add_argument("--vllm-python", default=str(REPO / ".venv-engines" / "bin" / "python"))
    parser.add_argument("--vllm-model", default=str(REPO / "saves" / "engines" / "smollm2-135m-f32"))
    args = parser.parse_args()
    backends = args.backends.split(",")
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or "in_process" not in backends:
        sys.exit(f"--backends: unknown {', '.join(unknown)}" if unknown else "--backends needs in_process (the baseline)")
    if "vllm" in backends and not (Path(args.vllm_python).is_file() and Path(args.vllm_model).is_dir()):
        sys.exit(f"no vLLM at {args.vllm_python} with {args.vllm_model}; `make test-engines` builds both")
    model = str(resolve_model_path("smollm2-135m"))
    base = {"n_threads": args.threads, "cache_path": None, "templates_dir": None, "variant": "plain"}

    def in_process(settings: dict) -> LlamaPrior:
        return LlamaPrior(PriorConfig(**base, **settings))

    ms = {"in_process": time_backend(in_process, args.repeats)}
    if "project_server" in backends:
        with running(project_server(args.threads), announced_url) as url:
            ms["project_server"] = time_backend(
                lambda settings: build_prior(PriorConfig(**base, **settings, server=url, memory_cache_size=0)), args.repeats
            )
    if "openai_llama_cpp_server" in backends:
        port = free_port()
        with running(engine(model, port, args.threads), engine_ready(port)) as url:
            ms["openai_llama_cpp_server"] = time_backend(
                lambda settings: build_prior(PriorConfig(**base, **settings, model=model, server=url)), args.repeats
            )
    if "vllm" in backends:
        os.environ["SANDBOX_BENCHMARK_VLLM_KEY"] = VLLM_API_KEY
        for dtype in ("float32", "bfloat16"):
            for prefix_caching in (True, False):
                port = free_port()
                command = vllm(args.vllm_python, args.vllm_model, port, dtype, prefix_caching)
                with running(command, vllm_ready(port), env={"VLLM_API_KEY": VLLM_API_KEY, "VLLM_CPU_KVCACHE_SPACE": "1"}) as url:
                    name = f"vllm_{dtype}_{'prefix_cache' if prefix_caching else 'no_prefix_cache'}"
                    modes = ("score", "sample") if dtype == "float32" and prefix_caching else ("score",)
                    ms[name] = time_backend(
                        lambda settings: build_prior(
                            PriorConfig(**base, **settings, server=url, api_key_env="SANDBOX_BENCHMARK_VLLM_KEY")
                        ),
                        args.repeats,
                        modes,
                    )
    baseline = ms["in_process"]
    ratios = {name: {row: round(value / baseline[row], 2) for row, value in rows.items()} for name, rows in ms.items()}
    print(json.dumps({"model": "smollm2-135m", "threads": args.threads, "repeats": args.repeats,
                      "candidates": len(QUERY.actions), "ms": ms, "ratio_vs_in_process": ratios}))


if __name__ == "__main__":
    main()
