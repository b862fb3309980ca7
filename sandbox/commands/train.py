"""`python -m sandbox train`: headless training with progress, metrics, checkpoints and exact resume."""

from __future__ import annotations

import argparse
from pathlib import Path

from sandbox.arguments import FEATURE_CHOICES, add_prior_arguments
from sandbox.commands._common import run_trainer

NAME = "train"
HELP = "train an agent headless (progress bar, periodic greedy eval, metrics.csv, TensorBoard, checkpoints)"

def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.configs import EXPLORATION_RULES, GREEDY_RULES, TARGET_RULES
    from agents.registry import agent_names

    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", type=Path, help="TOML config file (see sandbox/presets/)")
    source.add_argument("--preset", help="a named preset from sandbox/presets/, e.g. frozenlake-dqn-prior")
    source.add_argument("--resume", type=Path, metavar="RUN", help="continue the run in this folder exactly where it stopped")
    parser.add_argument("--env", help="environment id (default TextFrozenLake-v0)")
    parser.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE", help="environment option, repeatable")
    parser.add_argument("--agent", choices=agent_names())
    parser.add_argument("--steps", type=int, help="environment steps to train for")
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--alpha",
        type=float,
        help="DQN agents: posterior sharpness α in p_LLM·exp(α·Q); PPO agents: KL weight α·KL(π‖p_LLM)",
    )
    parser.add_argument("--k", type=int, help="prior proposals per state")
    parser.add_argument("--explore", choices=EXPLORATION_RULES)
    parser.add_argument(
        "--acting", metavar="RULE",
        help="DQN agents' acting rule: paper (the paper's greedy and target), default, or GREEDY+TARGET, e.g. map+soft",
    )  # fmt: skip
    parser.add_argument("--greedy", choices=GREEDY_RULES, help="DQN agents' evaluation: argmax Q, or the posterior's mode")
    parser.add_argument("--target", choices=TARGET_RULES, help="DQN agents' Bellman backup at s'")
    parser.add_argument("--features", choices=FEATURE_CHOICES, help="text features for Q, or for PPO's actor and critic")
    parser.add_argument("--eval-every", type=int)
    parser.add_argument("--eval-episodes", type=int)
    parser.add_argument("--checkpoint-every", type=int)
    parser.add_argument(
        "--keep-episodes",
        type=int,
        metavar="N",
        help="replay files kept in RUN/episodes/: the newest N training and N evaluation episodes (default 20; 0: none)",
    )
    parser.add_argument("--out", type=Path, help="run folder (default saves/runs/<env>-<agent>-s<seed>)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the final metrics row as one JSON object")
    # Unset prior flags stay None so that a config file's values win unless a flag is given.
    add_prior_arguments(parser, with_defaults=False)


def default_run_dir(config) -> Path:
    return Path("saves") / "runs" / f"{config.run.env}-{config.run.agent}-s{config.run.seed}"


def run(args: argparse.Namespace) -> int:
    from sandbox.engine.training import Trainer

    if args.resume:
        trainer = Trainer.resume(args.resume)
    else:
        from sandbox.arguments import config_from_args
        from sandbox.engine.config import settings_line

        config = config_from_args(args)
        if not args.json and not args.quiet:
            print(settings_line(config), flush=True)
        trainer = Trainer(config, args.out or default_run_dir(config))
        trainer.reset()
    return run_trainer(trainer, args)

