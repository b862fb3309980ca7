"""`python -m sandbox train-offline`: CQL or CQL-Prior from a dataset, evaluated online."""

from __future__ import annotations

import argparse
from pathlib import Path

from sandbox.arguments import FEATURE_CHOICES, add_prior_arguments
from sandbox.commands._common import run_trainer

NAME = "train-offline"
HELP = "train CQL or CQL-Prior from a dataset written by `collect` (same metrics, checkpoints and eval)"

# CLI flag → (config section, field); a flag left out takes the tuned default for the dataset's env.
OVERRIDES = {
    "agent": ("run", "agent"),
    "steps": ("run", "steps"),
    "seed": ("run", "seed"),
    "limit": ("run", "dataset_limit"),
    "eval_every": ("run", "eval_every"),
    "eval_episodes": ("run", "eval_episodes"),
    "checkpoint_every": ("run", "checkpoint_every"),
    "beta": ("dqn", "cql_beta"),
    "features": ("dqn", "features"),
}
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


def build_config(args: argparse.Namespace):
    """Built-in defaults < the tuned defaults of the dataset's env for the agent < flags."""
    from sandbox.commands.train import PRIOR_FLAGS, flag_layers
    from sandbox.engine.config import defaults_layer, seeded_config
    from sandbox.features.datasets import existing_dataset_path, read_dataset_info

    dataset = existing_dataset_path(args.dataset)
    info = read_dataset_info(dataset)
    agent = args.agent or DEFAULT_AGENT
    layers = [
        ("train-offline", OFFLINE_BASE),
        ("--dataset", {"run": {"dataset": str(dataset), "env": info.env, "env_kwargs": dict(info.env_kwargs)}}),
    ]
    tuned = defaults_layer(info.env, agent)
    if tuned is not None:
        layers.append(tuned)
    layers.append(("--agent" if args.agent else "train-offline", {"run": {"agent": agent}}))
    for flag, (section, name) in OVERRIDES.items():
        value = getattr(args, flag, None)
        if value is not None and flag != "agent":
            layers.append((f"--{flag.replace('_', '-')}", {section: {name: value}}))
    prior_flags = argparse.Namespace(**{flag: getattr(args, flag, None) for flag in (*PRIOR_FLAGS, "prior_mode")})
    layers.extend(flag_layers(prior_flags))
    return seeded_config(layers)


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
