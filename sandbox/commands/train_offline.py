"""`python -m sandbox train-offline`: CQL or CQL-Prior from a dataset, evaluated online."""

from __future__ import annotations

import argparse
from pathlib import Path

from sandbox.arguments import FEATURE_CHOICES, add_prior_arguments
from sandbox.commands._common import run_trainer

NAME = "train-offline"
HELP = "train CQL or CQL-Prior from a dataset written by `collect` (same metrics, checkpoints and eval)"

DEFAULT_AGENT = "cql-prior"
# Offline runs count gradient steps, not env steps: fewer than online's, evaluated on fewer episodes.
OFFLINE_BASE = {"run": {"steps": 2000, "eval_episodes": 5}}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.registry import offline_agent_names

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", type=Path, help="dataset from `collect` (the same name, with or without .parquet)")
    source.add_argument("--resume", type=Path, metavar="RUN", help="continue this offline run")
    parser.add_argument("--agent", choices=offline_agent_names(), help=f"default {DEFAULT_AGENT}")
    parser.add_argument("--steps", type=int, help="gradient steps (default: the tuned default for the dataset's env)")
    parser.add_argument("--limit", type=int, help="use only the first N transitions (0 = all)")
    parser.add_argument("--beta", type=float, help="weight of the conservative penalty")
    parser.add_argument("--features", choices=FEATURE_CHOICES)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--eval-every", type=int)
    parser.add_argument("--eval-episodes", type=int)
    parser.add_argument("--checkpoint-every", type=int)
    parser.add_argument("--out", type=Path, help="run folder (default saves/runs/offline-<dataset>-<agent>-s<seed>)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the final metrics row as one JSON object")
    add_prior_arguments(parser, with_defaults=False)


def build_config(args: argparse.Namespace) -> "RunConfig":  # noqa: F821
    """The dataset's env and this command's budget, through `sandbox.arguments.config_from_args`: built-in <
    offline budget < the tuned defaults of the dataset's env for the agent < the dataset < flags."""
    from sandbox.arguments import config_from_args
    from sandbox.features.datasets import existing_dataset_path, read_dataset_info

    dataset = existing_dataset_path(args.dataset)
    info = read_dataset_info(dataset)
    read = {"run": {"dataset": str(dataset), "env": info.env, "env_kwargs": dict(info.env_kwargs)}}
    chosen = ("train-offline", {"run": {"agent": DEFAULT_AGENT}})  # --agent, a flag, wins over it
    return config_from_args(args, base=[("train-offline", OFFLINE_BASE)], experiment=[("--dataset", read), chosen])


def run(args: argparse.Namespace) -> int:
    from sandbox.engine.config import settings_line
    from sandbox.features.datasets import OfflineTrainer

    if args.resume:
        trainer = OfflineTrainer.resume(args.resume)
    else:
        config = build_config(args)
        if not args.json and not args.quiet:
            print(settings_line(config), flush=True)
        name = Path(config.run.dataset).stem
        out = args.out or Path("saves") / "runs" / f"offline-{name}-{config.run.agent}-s{config.run.seed}"
        trainer = OfflineTrainer(config, out)
        trainer.reset()
    return run_trainer(trainer, args)
