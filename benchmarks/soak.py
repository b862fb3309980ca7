"""Soak: over a long training run, memory stays flat once the caps have filled.

    .venv/bin/python benchmarks/soak.py                        # both modes, 50,000 steps each, a table
    .venv/bin/python benchmarks/soak.py --steps 20000 --json   # one JSON object
    .venv/bin/python benchmarks/soak.py --mode dqn-prior --prior-model path/to/model.gguf

What grows with a run is capped, and each cap is a config setting: the replay buffer
(`[dqn] buffer_size`), the text-feature cache (`[dqn] feature_cache_size`) and the prior's
in-memory LRU (`[prior] memory_cache_size`; the SQLite file behind it grows on disk, not in
RAM). Modes:

- `dqn`: DQN on hashing features, no prior;
- `dqn-prior`: the same agent with an LLM prior on llama.cpp, by default the tests' tiny
  random-weight GGUF (instant, so the run measures the sandbox, not the model). Every prior
  call goes through LlamaPrior's exact cache (memory LRU, then SQLite, then the model), and
  the prompt shows the last two steps, so prompts vary enough to fill the LRU and evict.

The caps are set small (below) so that all of them fill, and evict, within the warm-up.
Each mode runs in a fresh process, so one mode's peak cannot hide in another's. Resident
memory (VmRSS) and its peak so far (VmHWM) are read from /proc/self/status (Linux) every
`--sample-every` steps; the verdict is end / warm-up for both.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODES = ("dqn", "dqn-prior")
REPLAY_CAP, FEATURE_CAP, PRIOR_MEMORY_CAP = 2000, 32, 32


def memory_mb() -> tuple[float, float]:
    """(resident, peak resident) of this process in MiB."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024  # reported in kB
    return values["VmRSS"], values["VmHWM"]


def soak_config(mode: str, args: argparse.Namespace, folder: Path):
    from sandbox.engine.config import RunConfig

    config = RunConfig()
    run = config.run
    run.env, run.env_kwargs, run.agent = "TextFrozenLake-v0", {"map_name": "8x8"}, mode
    run.steps, run.seed = args.steps, 0
    run.eval_every, run.eval_episodes = max(1, args.steps // 10), 2
    run.checkpoint_every = max(1, args.steps // 10)
    config.dqn.features, config.dqn.train_every = "hash", args.train_every
    config.dqn.buffer_size, config.dqn.feature_cache_size = REPLAY_CAP, FEATURE_CAP
    if mode == "dqn-prior":
        prior = config.prior
        prior.model = args.prior_model if args.prior_model != "tiny" else str(tiny_model(folder))
        prior.history, prior.n_threads, prior.memory_cache_size = 2, 1, PRIOR_MEMORY_CAP
        prior.cache_path = str(folder / "prior_cache.sqlite")
    return config


def tiny_model(folder: Path) -> Path:
    from tests.prior.conftest import write_tiny_gguf  # the test suite's random-weight model (needs `gguf`)

    return write_tiny_gguf(folder / "tiny.gguf")


def fill(agent: Any) -> dict[str, list[int]]:
    """How full each cap is: [entries, cap]."""
    caps = {
        "replay": [len(agent.buffer), agent.buffer.capacity],
        "features": [len(agent.features), agent.features.capacity],
    }
    if agent.prior is not None:
        caps["prior_memory"] = [len(agent.prior.cache), agent.prior.cache.memory_size]
    return caps


def soak(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """One mode, in this process: train and sample memory every `sample_every` steps."""
    from sandbox.engine.training import Trainer

    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="soak-") as temp:
        folder = Path(temp)
        trainer = Trainer(soak_config(mode, args, folder), folder / "run")
        trainer.reset()
        started = time.perf_counter()

        def sample(_record: Any = None) -> None:
            if trainer.steps_done % args.sample_every and not trainer.finished:
                return
            rss, peak = memory_mb()
            samples.append(
                {
                    "step": trainer.steps_done,
                    "rss_mb": round(rss, 1),
                    "peak_mb": round(peak, 1),
                    "s": round(time.perf_counter() - started, 1),
                    **fill(trainer.agent),
                }
            )

        trainer.run(on_step=sample)
        trainer.close()
        seconds = time.perf_counter() - started
        prior = trainer.agent.prior
        files = [folder / name for name in ("prior_cache.sqlite", "prior_cache.sqlite-wal")]
        disk_mb = round(sum(path.stat().st_size for path in files if path.exists()) / 2**20, 2) if prior else None
    warm = next(row for row in samples if row["step"] >= args.warmup)
    end = samples[-1]
    return {
        "steps": trainer.steps_done,
        "seconds": round(seconds, 1),
        "warmup_step": warm["step"],
        "rss_warmup_mb": warm["rss_mb"],
        "rss_end_mb": end["rss_mb"],
        "rss_end_over_warmup": round(end["rss_mb"] / warm["rss_mb"], 3),
        "peak_warmup_mb": warm["peak_mb"],
        "peak_end_mb": end["peak_mb"],
        "peak_end_over_warmup": round(end["peak_mb"] / warm["peak_mb"], 3),
        "caps": fill(trainer.agent),
        "prior_llm_calls": prior.stats.llm_calls if prior is not None else 0,
        "prior_cache_hits": prior.stats.cache_hits if prior is not None else 0,
        "prior_cache_file_mb": disk_mb,
        "samples": samples,
    }


def in_fresh_process(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--mode", mode, "--json", "--steps", str(args.steps), "--warmup", str(args.warmup),
        "--sample-every", str(args.sample_every), "--train-every", str(args.train_every),
        "--prior-model", args.prior_model,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"soak {mode} failed:\n{done.stderr}")
    return json.loads(done.stdout)["modes"][mode]


def print_table(mode: str, result: dict[str, Any]) -> None:
    print(f"\n{mode}: {result['steps']} steps in {result['seconds']} s")
    caps = list(result["caps"])
    print(f"{'step':>7} {'rss MiB':>8} {'peak MiB':>9} {'s':>7}  " + "  ".join(f"{name:>16}" for name in caps))
    for row in result["samples"]:
        fills = "  ".join(f"{f'{row[name][0]}/{row[name][1]}':>16}" for name in caps)
        print(f"{row['step']:>7} {row['rss_mb']:>8.1f} {row['peak_mb']:>9.1f} {row['s']:>7.1f}  {fills}")
    print(
        f"warm-up (step {result['warmup_step']}) -> end: rss {result['rss_warmup_mb']} -> {result['rss_end_mb']} MiB "
        f"(x{result['rss_end_over_warmup']}), peak {result['peak_warmup_mb']} -> {result['peak_end_mb']} MiB "
        f"(x{result['peak_end_over_warmup']})"
    )
    if result["prior_cache_file_mb"] is not None:
        print(
            f"prior: {result['prior_llm_calls']} model calls, {result['prior_cache_hits']} cache hits, "
            f"SQLite file and WAL {result['prior_cache_file_mb']} MiB (on disk)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=(*MODES, "all"), default="all")
    parser.add_argument("--steps", type=int, default=50_000, help="training steps per mode")
    parser.add_argument("--warmup", type=int, help="step where warm-up ends (default: a fifth of --steps)")
    parser.add_argument("--sample-every", type=int, help="steps between memory samples (default: --steps / 50)")
    parser.add_argument("--train-every", type=int, default=4, help="env steps per gradient step (DQN's usual 4)")
    parser.add_argument("--prior-model", default="tiny", help="dqn-prior's model: tiny (random weights), a name or a .gguf")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.steps < 10:
        parser.error("--steps must be at least 10")
    args.warmup = args.warmup if args.warmup is not None else args.steps // 5
    args.sample_every = args.sample_every or max(1, args.steps // 50)

    modes = MODES if args.mode == "all" else (args.mode,)
    results = {mode: in_fresh_process(mode, args) if args.mode == "all" else soak(mode, args) for mode in modes}
    if args.json:
        print(json.dumps({"benchmark": "soak", "steps": args.steps, "warmup": args.warmup, "modes": results}))
        return 0
    for mode, result in results.items():
        print_table(mode, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
