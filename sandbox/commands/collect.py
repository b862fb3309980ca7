"""`python -m sandbox collect`: record an offline dataset (Parquet) with the prior's proposals."""

from __future__ import annotations

import argparse
from pathlib import Path

from sandbox.arguments import add_env_arguments, add_prior_arguments, parse_key_values, print_json, prior_config_from_args

NAME = "collect"
HELP = "record transitions of a behaviour policy (random, llm or a trained RUN) with prior proposals at s and s'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_env_arguments(parser)
    parser.add_argument("--policy", default="random", help="random, llm, or a run folder whose agent acts")
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument(
        "--min-transitions", type=int, default=0, help="keep collecting whole episodes until at least this many transitions"
    )
    parser.add_argument(
        "--epsilon",
        type=float,
        default=0.0,
        help="llm or RUN policy: replace its greedy action by a random one with this probability (mixed-quality data)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=5, help="prior proposals stored per state")
    parser.add_argument("--out", type=Path, required=True, help="dataset file, e.g. saves/datasets/lake (.parquet is added when missing)")
    parser.add_argument("--json", action="store_true", help="print the dataset summary as one JSON object")
    add_prior_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from sandbox.features.datasets import DatasetInfo, collect, dataset_path
    from sandbox.errors import SandboxError

    if args.policy not in ("random", "llm") and not Path(args.policy).is_dir():
        raise SandboxError(f"--policy {args.policy!r} is neither random, llm, nor a run folder")
    out = dataset_path(args.out)
    prior_config = prior_config_from_args(args)
    info = DatasetInfo(
        env=args.env,
        env_kwargs=parse_key_values(args.env_arg),
        policy=args.policy,
        seed=args.seed,
        prior_model=prior_config.model,
        prior_mode=prior_config.mode,
        k=args.k,
        epsilon=args.epsilon,
    )

    def report(episode: int, episode_return: float) -> None:
        if not args.json:
            print(f"episode {episode}: return {episode_return:.3f}", flush=True)

    info = collect(info, args.episodes, out, prior_config, on_episode=report, min_transitions=args.min_transitions)
    if args.json:
        print_json({"path": str(out), **asdict(info)})
    else:
        print(f"{info.transitions} transitions from {info.episodes} episodes ({info.successes} won) → {out}")
    return 0
