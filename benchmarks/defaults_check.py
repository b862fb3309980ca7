"""Do the tuned defaults learn? Issue 20's done-when, run exactly as a newcomer would.

Each check trains with no flags but --env and --agent (plus --seed, and --threads 1 for
llama.cpp), then evaluates the final agent greedily with `eval`; offline checks collect
200 random-policy episodes once and train from them with `train-offline`. Two runs at a
time (the machine is shared). Prints one row per run and a summary per check; --json
prints one JSON object instead.

    python benchmarks/defaults_check.py --out saves/defaults-check            # everything, 3 seeds
    python benchmarks/defaults_check.py --only frozenlake:ppo-prior --seeds 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PYTHON = sys.executable
TARGET = 0.9
CHECKS = {  # name: (env id, agent, offline)
    "frozenlake:dqn": ("TextFrozenLake-v0", "dqn", False),
    "frozenlake:dqn-prior": ("TextFrozenLake-v0", "dqn-prior", False),
    "frozenlake:ppo-prior": ("TextFrozenLake-v0", "ppo-prior", False),
    "coin-collector-5:dqn-prior": ("tw-coin-collector-v0", "dqn-prior", False),  # level 5 is the env's default
    "frozenlake:cql": ("TextFrozenLake-v0", "cql", True),
    "frozenlake:cql-prior": ("TextFrozenLake-v0", "cql-prior", True),
}


def sandbox(*arguments: str) -> dict:
    done = subprocess.run([PYTHON, "-m", "sandbox", *arguments, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`sandbox {' '.join(arguments)}` failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def one_run(name: str, seed: int, out: Path, dataset: Path) -> dict:
    env, agent, offline = CHECKS[name]
    run = out / f"{name.replace(':', '-')}-s{seed}"
    started = time.monotonic()
    if not (run / "checkpoints" / "latest").exists():
        if offline:
            sandbox("train-offline", "--dataset", str(dataset), "--agent", agent, "--seed", str(seed), "--threads", "1", "--out", str(run))
        else:
            sandbox("train", "--env", env, "--agent", agent, "--seed", str(seed), "--threads", "1", "--out", str(run))
    train_s = time.monotonic() - started
    result = sandbox("eval", "--run", str(run), "--episodes", "10")  # the run keeps its --threads 1
    return {"check": name, "seed": seed, "success": result["success_rate"], "train_s": round(train_s, 1), "run": str(run)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("saves/defaults-check"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=list(CHECKS), help="run only these checks")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    names = args.only or list(CHECKS)
    args.out.mkdir(parents=True, exist_ok=True)
    dataset = args.out / "lake-random200.parquet"
    if any(CHECKS[name][2] for name in names) and not dataset.is_file():
        sandbox("collect", "--env", "TextFrozenLake-v0", "--policy", "random", "--episodes", "200", "--threads", "1", "--out", str(dataset))
    jobs = [(name, seed) for name in names for seed in range(args.seeds)]
    started = time.monotonic()
    with ThreadPoolExecutor(args.parallel) as pool:
        rows = []
        for row in pool.map(lambda job: one_run(*job, args.out, dataset), jobs):
            rows.append(row)
            if not args.json:
                print(f"{row['check']:<28} seed {row['seed']}  greedy success {row['success']:.0%}  ({row['train_s']:.0f} s)", flush=True)
    summary = {
        name: {
            "seeds_at_target": sum(row["success"] >= TARGET for row in rows if row["check"] == name),
            "seeds": args.seeds,
            "successes": [row["success"] for row in rows if row["check"] == name],
        }
        for name in names
    }
    if args.json:
        print(json.dumps({"target": TARGET, "summary": summary, "runs": rows, "wall_s": round(time.monotonic() - started)}))
    else:
        print(f"\nseeds reaching {TARGET:.0%} greedy success (10 episodes), {time.monotonic() - started:.0f} s in all:")
        for name, item in summary.items():
            print(f"  {name:<28} {item['seeds_at_target']}/{item['seeds']}  {[f'{s:.0%}' for s in item['successes']]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
