"""`python -m sandbox sweep CONFIG`: a grid of training runs (env × agent × seed × α × k) on Ray."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sandbox.arguments import print_json

NAME = "sweep"
HELP = "train a grid of runs (env × agent × seed × α × k) on local Ray or a Ray cluster; rerun to resume"

STATUS_FAILED = "failed"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", type=Path, help="sweep TOML: [grid] lists plus [run]/[dqn]/[ppo]/[prior] settings")
    parser.add_argument("--out", type=Path, help="folder of the trials' run folders (default saves/sweeps/<file name>)")
    parser.add_argument(
        "--address", help="Ray cluster to run on (ray://HOST:10001, HOST:6379 or auto); default: a local Ray"
    )
    parser.add_argument("--max-concurrent", type=int, help="trials running at once (default: as many as Ray has CPUs)")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs Ray reserves per trial (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object: each trial's status and final metrics")


def run(args: argparse.Namespace) -> int:
    from sandbox.features.sweep import SUMMARY_FILE, default_out_dir, load_sweep, run_sweep

    sweep = load_sweep(args.config)
    out_dir = args.out or default_out_dir(sweep)
    where = f"the Ray cluster at {args.address}" if args.address else "local Ray"
    if not args.json:
        print(f"sweep {sweep.name} on {where} → {out_dir}", flush=True)
    try:
        rows = run_sweep(
            sweep,
            out_dir,
            address=args.address,
            max_concurrent=args.max_concurrent,
            cpus_per_trial=args.cpus_per_trial,
            log_to_driver=not args.json,  # with --json, stdout holds exactly one JSON object
            on_result=None if args.json else print_trial,
        )
    except KeyboardInterrupt:
        print(f"interrupted: running trials saved checkpoints; rerun the same command to resume ({out_dir})")
        return 130
    failed = [row for row in rows if row["status"] == STATUS_FAILED]
    if args.json:
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        summary = str(out_dir / SUMMARY_FILE)
        print_json({"sweep": sweep.name, "out": str(out_dir), "summary": summary, "counts": counts, "trials": rows})
    else:
        print(f"summary: {out_dir / SUMMARY_FILE}")
        if failed:
            print(f"{len(failed)} trial(s) failed; fix the cause and rerun the same command", file=sys.stderr)
    return 1 if failed else 0


def print_trial(row: dict[str, Any]) -> None:
    if row["status"] == STATUS_FAILED:
        print(f"  {row['trial']}: failed: {row.get('error', '')}", flush=True)
        return
    success = row.get("eval_success")
    result = "no evaluation yet" if success is None else f"eval_success {success:.2f} at step {row.get('step')}"
    print(f"  {row['trial']}: {row['status']}, {result}", flush=True)
