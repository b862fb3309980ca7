"""`python -m sandbox watch RUN`: follow a run that `train` is writing, in the UI's learning dashboard.

Read-only: it polls the run folder's metrics.csv, episodes.csv and episodes/ and never writes
or loads a model, so it can watch a headless run on the same machine (over ssh, in tmux).
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "watch"
HELP = "follow a training run live from its folder: plots, metrics and recent episodes (read-only)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="run folder written by `train` (e.g. saves/runs/lake)")
    parser.add_argument("--interval", type=float, default=1.0, metavar="S", help="seconds between rereads (default 1)")


def run(args: argparse.Namespace) -> int:
    from sandbox.errors import SandboxError
    from sandbox.ui.watch import WatchApp

    if args.interval <= 0:
        raise SandboxError(f"--interval must be more than 0 seconds, got {args.interval}")
    WatchApp(args.run, interval=args.interval).run()
    return 0
