"""GPU offload: ms per prior query with n_gpu_layers 0 (CPU) and -1 (every layer on the GPU), in one run.

    .venv/bin/python benchmarks/gpu_offload.py --shape tinyllama-1.1b --threads 16 --json   # the device run
    .venv/bin/python benchmarks/gpu_offload.py --shape tiny --threads 1 --repeats 2         # a quick check

Writes a random-weight llama-architecture GGUF of the chosen shape (benchmarks/synthetic_gguf.py;
random weights cost the same compute as trained ones), then times, through the prior's own backend
(agents/prior/backend.py, which LlamaPrior calls):
  score cold         a 150-token prompt from an empty KV cache, then 10 candidate actions
  score next state   the next state's prompt after this one's: the first 100 tokens reused from the
                     KV cache, 50 new ones evaluated, then the 10 candidates
  sample             k=5 completions of 10 tokens each after the cold prompt
  prompt tokens/s    the 150-token prompt alone, from an empty cache
Each figure is the median of --repeats after one untimed warm-up. Token ids are drawn at random:
to a random-weight model any tokens cost the same. gpu_speedup is CPU ms / GPU ms, measured
in the same run. On a llama-cpp-python without GPU offload (a CPU-only build) it runs the CPU
half and says why it skips the rest.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.prior.backend import LlamaBackend  # noqa: E402
from agents.prior.models import gpu_offload_supported  # noqa: E402
from benchmarks.synthetic_gguf import DTYPES, SHAPES, write_llama_gguf  # noqa: E402

PROMPT_TOKENS = 150
SHARED_WITH_NEXT_STATE = 100  # the template, task and history a game's next prompt keeps; the observation changes
# Tokens per candidate action: short commands ("look", "go north", "take the coin from the table").
CANDIDATE_LENGTHS = (1, 2, 2, 2, 3, 3, 3, 4, 4, 6)
K, MAX_NEW_TOKENS = 5, 10
N_CTX = 512
FIRST_ORDINARY_TOKEN = 3  # after <unk>, <s>, </s>
MEASURES = ("score_cold_ms", "score_next_state_ms", "sample_ms")


@dataclasses.dataclass(frozen=True)
class Workload:
    prompt: list[int]
    next_prompt: list[int]
    candidates: list[list[int]]


def make_workload(n_vocab: int, seed: int) -> Workload:
    rng = np.random.default_rng(seed)

    def tokens(count: int) -> list[int]:
        return [int(t) for t in rng.integers(FIRST_ORDINARY_TOKEN, n_vocab, size=count)]

    bos = 1
    prompt = [bos, *tokens(PROMPT_TOKENS - 1)]
    next_prompt = prompt[:SHARED_WITH_NEXT_STATE] + tokens(PROMPT_TOKENS - SHARED_WITH_NEXT_STATE)
    return Workload(prompt, next_prompt, [tokens(length) for length in CANDIDATE_LENGTHS])


def median_ms(run: Callable[[], None], prepare: Callable[[], None], repeats: int) -> float:
    """Median wall time of `run` over `repeats`, each after an untimed `prepare`, after one warm-up."""
    times = []
    for attempt in range(repeats + 1):
        prepare()
        started = time.perf_counter()
        run()
        if attempt:
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(model: Path, n_gpu_layers: int, threads: int, work: Workload, repeats: int) -> tuple[dict, np.ndarray]:
    started = time.perf_counter()
    backend = LlamaBackend(model, n_ctx=N_CTX, n_threads=threads, n_gpu_layers=n_gpu_layers, max_sequences=K + 1)
    load_s = time.perf_counter() - started
    try:
        log_probs = backend.score(work.prompt, work.candidates).log_probs
        prompt_ms = median_ms(lambda: backend.score(work.prompt, [[FIRST_ORDINARY_TOKEN]]), backend.reset, repeats)
        figures = {
            "n_gpu_layers": n_gpu_layers,
            "gpu_layers": backend.gpu_layers,
            "weights_mib": backend.placement.weights_mib,  # by llama.cpp buffer: where the weights went
            "gpu_weights_mib": backend.placement.gpu_weights_mib,
            "load_s": round(load_s, 2),
            "score_cold_ms": median_ms(lambda: backend.score(work.prompt, work.candidates), backend.reset, repeats),
            "score_next_state_ms": median_ms(
                lambda: backend.score(work.next_prompt, work.candidates),
                lambda: (backend.reset(), backend.score(work.prompt, work.candidates)),
                repeats,
            ),
            "sample_ms": median_ms(
                lambda: backend.sample(
                    work.prompt, k=K, temperature=1.0, top_p=1.0, max_new_tokens=MAX_NEW_TOKENS, seed=0
                ),
                backend.reset,
                repeats,
            ),
            "prompt_tokens_per_s": round(PROMPT_TOKENS / (prompt_ms / 1000), 1),
        }
    finally:
        backend.close()
    return {key: round(value, 2) if isinstance(value, float) else value for key, value in figures.items()}, log_probs


def run(shape_name: str, dtype: str, threads: int, repeats: int, seed: int, folder: Path) -> dict:
    shape = SHAPES[shape_name]
    started = time.perf_counter()
    model = write_llama_gguf(folder / f"random-{shape_name}-{dtype}.gguf", shape, dtype=dtype, seed=seed)
    write_s = time.perf_counter() - started
    work = make_workload(shape.n_vocab, seed)
    report: dict = {
        "shape": shape_name,
        "dims": dataclasses.asdict(shape),
        "params_millions": round(shape.n_params / 1e6, 1),
        "dtype": dtype,
        "model_mib": round(model.stat().st_size / 2**20, 1),
        "write_s": round(write_s, 1),
        "threads": threads,
        "repeats": repeats,
        "prompt_tokens": PROMPT_TOKENS,
        "next_state_new_tokens": PROMPT_TOKENS - SHARED_WITH_NEXT_STATE,
        "candidates": len(CANDIDATE_LENGTHS),
        "k": K,
        "max_new_tokens": MAX_NEW_TOKENS,
        "gpu_offload_supported": gpu_offload_supported(),
    }
    report["cpu"], cpu_log_probs = measure(model, 0, threads, work, repeats)
    if not report["gpu_offload_supported"]:
        report.update(
            gpu=None,
            gpu_speedup=None,
            max_abs_log_prob_diff=None,
            skipped="this llama-cpp-python is a CPU-only build (llama_supports_gpu_offload() is false), so "
            "n_gpu_layers=-1 would run on the CPU too; build it with CMAKE_ARGS=-DGGML_CUDA=on (or -DGGML_METAL=on)",
        )
        return report
    report["gpu"], gpu_log_probs = measure(model, -1, threads, work, repeats)
    report["gpu_speedup"] = {
        name.removesuffix("_ms"): round(report["cpu"][name] / report["gpu"][name], 2) for name in MEASURES
    }
    report["gpu_speedup"]["prompt_tokens_per_s"] = round(
        report["gpu"]["prompt_tokens_per_s"] / report["cpu"]["prompt_tokens_per_s"], 2
    )
    report["max_abs_log_prob_diff"] = round(float(np.max(np.abs(gpu_log_probs - cpu_log_probs))), 4)
    report["skipped"] = None
    return report


def print_table(report: dict) -> None:
    print(
        f"{report['shape']} ({report['params_millions']}M parameters, {report['dtype']}, {report['model_mib']} MiB), "
        f"{report['threads']} threads, median of {report['repeats']}"
    )
    print(f"{'':22}{'CPU':>12}{'GPU':>12}{'speedup':>10}")
    for name in (*MEASURES, "prompt_tokens_per_s", "gpu_layers"):
        gpu = report["gpu"][name] if report["gpu"] else "-"
        speedup = report["gpu_speedup"].get(name.removesuffix("_ms"), "") if report["gpu_speedup"] else ""
        print(f"{name:22}{report['cpu'][name]:>12}{gpu:>12}{speedup:>10}")
    if report["skipped"]:
        print(f"GPU half skipped: {report['skipped']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=SHAPES, default="tinyllama-1.1b", help="model shape (default: tinyllama-1.1b)")
    parser.add_argument("--dtype", choices=DTYPES, default="f16", help="weight matrices' type (default: f16)")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp CPU threads (default: 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (default: 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", default=None, help="where to write the model (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.threads < 1 or args.repeats < 1:
        parser.error("--threads and --repeats must be at least 1")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.model_dir) if args.model_dir else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        report = run(args.shape, args.dtype, args.threads, args.repeats, args.seed, folder)
    if args.json:
        print(json.dumps(report))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
