"""`python -m sandbox train-offline`: CQL or CQL-Prior from a dataset, evaluated online."""

from __future__ import annotations

import argparse
from pathlib import Path

from sandbox.arguments import FEATURE_CHOICES, add_prior_arguments
from sandbox.commands._common import run_trainer

NAME = "train-offline"
HELP = "train CQL or CQL-Prior from a dataset written by `collect` (same metrics, checkpoints and eval)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.registry import OFFLINE_AGENT_NAMES

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", type=Path, help="Parquet dataset from `collect`")
    source.add_argument("--resume", type=Path, metavar="RUN", help="continue this offline run")
    parser.add_argument("--agent", choices=OFFLINE_AGENT_NAMES, default="cql-prior")
    parser.add_argument("--steps", type=int, default=2000, help="gradient steps")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N transitions (0 = all)")
    parser.add_argument("--beta", type=float, default=5.0, help="weight of the conservative penalty")
    parser.add_argument("--features", choices=FEATURE_CHOICES, default="minilm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--out", type=Path, help="run folder (default saves/runs/offline-<dataset>-<agent>-s<seed>)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the final metrics row as one JSON object")
    add_prior_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from sandbox.arguments import prior_config_from_args
    from sandbox.config import RunConfig
    from sandbox.datasets import OfflineTrainer

    if args.resume:
        trainer = OfflineTrainer.resume(args.resume)
    else:
        config = RunConfig()
        config.run.agent, config.run.steps, config.run.seed = args.agent, args.steps, args.seed
        config.run.dataset, config.run.dataset_limit = str(args.dataset), args.limit
        config.run.eval_every, config.run.eval_episodes = args.eval_every, args.eval_episodes
        config.run.checkpoint_every = args.checkpoint_every
        config.dqn.cql_beta, config.dqn.features, config.dqn.seed = args.beta, args.features, args.seed
        config.prior = prior_config_from_args(args)
        out = args.out or Path("saves") / "runs" / f"offline-{args.dataset.stem}-{args.agent}-s{args.seed}"
        trainer = OfflineTrainer(config, out)
        trainer.reset()
    return run_trainer(trainer, args)
