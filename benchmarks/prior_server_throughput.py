"""Env steps/s of 1, 2 and 4 training workers sharing one prior server, against one in-process worker.

    .venv/bin/python benchmarks/prior_server_throughput.py --steps 40          # minutes on 2 CPU cores
    .venv/bin/python benchmarks/prior_server_throughput.py --cache --json      # with the exact cache on

Every worker is its own process running the same training loop (`Session.step()` with a
DQN-Prior agent on hashing features), as a sweep's trials do. The baseline is one worker with
the prior in-process (`LlamaPrior`); the others ask one `python -m sandbox prior-server`
(`RemotePrior`) with the same model and thread count. By default the cache is off, so every
step costs an LLM call: the case a shared server is for. Throughput is all workers' steps over
the wall time from the common start to the last worker's end; ratios are against the baseline
measured in the same run. The model serves one request at a time, so past the point where it
is busy all the time more workers add no steps/s, and on a machine with few cores the workers'
own CPU competes with llama.cpp's threads.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.engine.config import RunConfig, parse_config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WAIT_S = 600.0  # how long workers wait for each other at the start line


def worker(config_text: str, steps: int, seed: int, barrier: Any, results: Any) -> None:
    """One training worker: a warm-up step (imports, connection, model load) outside the timing, then `steps`."""
    import torch

    from agents.registry import make_agent
    from sandbox.engine.session import Session
    from sandbox.engine.runs import make_env_for

    torch.set_num_threads(1)
    config = parse_config(tomllib.loads(config_text), "benchmark")
    env, family = make_env_for(config)
    agent = make_agent(config)
    session = Session(env, agent, family=family, seed=seed)

    session.play()
    stats = agent.prior.stats
    warm_up = (stats.llm_calls, stats.cache_hits)
    barrier.wait()
    started = time.monotonic()  # system-wide on Linux: comparable between the workers
    for _ in range(steps):
        session.play()
    ended = time.monotonic()
    llm_calls, cache_hits = stats.llm_calls - warm_up[0], stats.cache_hits - warm_up[1]
    results.put({"started": started, "ended": ended, "steps": steps, "llm_calls": llm_calls, "cache_hits": cache_hits})
    agent.prior.close()


def measure(config: RunConfig, workers: int, steps: int) -> dict[str, Any]:
    """Start `workers` processes (each its own seed), release them together, and count steps over the wall time."""
    context = mp.get_context("spawn")  # a clean process, as a Ray worker or a second terminal would be
    barrier, results = context.Barrier(workers, timeout=WAIT_S), context.Queue()
    arguments = [(config.to_toml(), steps, seed, barrier, results) for seed in range(workers)]
    processes = [context.Process(target=worker, args=args) for args in arguments]
    for process in processes:
        process.start()
    rows = []
    while len(rows) < workers:
        try:
            rows.append(results.get(timeout=1.0))
        except queue.Empty:
            if any(process.exitcode not in (None, 0) for process in processes):
                for process in processes:
                    process.kill()
                raise SystemExit("a worker failed; its traceback is above") from None
    for process in processes:
        process.join()
    seconds = max(row["ended"] for row in rows) - min(row["started"] for row in rows)
    total = sum(row["steps"] for row in rows)
    return {
        "workers": workers,
        "steps": total,
        "seconds": round(seconds, 2),
        "steps_per_s": total / seconds,
        "llm_calls": sum(row["llm_calls"] for row in rows),
        "cache_hits": sum(row["cache_hits"] for row in rows),
    }


def start_server(args: argparse.Namespace, cache: str) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "sandbox", "prior-server", "--port", "0", "--json"]
    command += ["--prior-model", args.prior_model, "--threads", str(args.threads)]
    command += ["--n-gpu-layers", str(args.n_gpu_layers), "--prior-cache", cache]
    if not args.cache:
        command += ["--memory-cache-size", "0"]
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    if not line:
        raise SystemExit("the prior server did not start; run the command above by hand to see why")
    return server, json.loads(line)["url"]


def base_config(args: argparse.Namespace, cache: str) -> RunConfig:
    config = RunConfig()
    config.run.env, config.run.agent = args.env, "dqn-prior"
    config.dqn.features = "hash"
    config.dqn.learning_starts = config.dqn.batch_size = 16
    config.prior.model, config.prior.n_threads = args.prior_model, args.threads
    config.prior.n_gpu_layers = args.n_gpu_layers
    config.prior.cache_path = cache if args.cache else None
    if not args.cache:
        config.prior.memory_cache_size = 0
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="timed env steps per worker")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="worker counts sharing the server")
    parser.add_argument("--env", default="TextFrozenLake-v0")
    parser.add_argument("--prior-model", default="smollm2-135m")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads, in-process and in the server alike")
    parser.add_argument("--n-gpu-layers", type=int, default=0)
    parser.add_argument("--cache", action="store_true", help="exact prior cache on (a fresh one per setup)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        local = base_config(args, str(Path(folder) / "in-process.sqlite"))
        results = [{"setup": "in-process", **measure(local, 1, args.steps)}]
        server, url = start_server(args, str(Path(folder) / "server.sqlite") if args.cache else "none")
        try:
            remote = base_config(args, "")
            remote.prior.server = url
            remote.prior.cache_path = None  # the server holds the cache; a worker keeps only its memory LRU
            for workers in args.workers:
                results.append({"setup": "server", **measure(remote, workers, args.steps)})
        finally:
            server.terminate()
            server.wait(timeout=60)
    baseline = results[0]["steps_per_s"]
    for row in results:
        row["ratio"] = row["steps_per_s"] / baseline
    settings = {
        "env": args.env,
        "prior_model": args.prior_model,
        "threads": args.threads,
        "cache": args.cache,
        "steps_per_worker": args.steps,
        "cpu_count": os.cpu_count(),
        "load_average_before": round(load_before, 2),
    }
    if args.json:
        print(json.dumps({"benchmark": "prior_server_throughput", "settings": settings, "results": results}))
        return 0
    print(f"{args.env}, {args.prior_model} ({args.threads} threads), cache {'on' if args.cache else 'off'}, "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} at start")
    print(f"{'setup':<12} {'workers':>7} {'steps':>6} {'s':>7} {'steps/s':>8} {'ratio':>6} {'llm calls':>9}")
    for row in results:
        print(
            f"{row['setup']:<12} {row['workers']:>7} {row['steps']:>6} {row['seconds']:>7.1f} "
            f"{row['steps_per_s']:>8.2f} {row['ratio']:>6.2f} {row['llm_calls']:>9}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
