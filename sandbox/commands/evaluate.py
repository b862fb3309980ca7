"""`python -m sandbox eval`: greedy evaluation of a trained run, optionally on another env."""

from __future__ import annotations

import argparse
from pathlib import Path

from sandbox.arguments import parse_key_values, print_json

NAME = "eval"
HELP = "evaluate a trained run greedily (success rate, return, steps, normalised score, invalid actions, LLM cost)"
NEW_FIELDS = ("normalised_score", "invalid_action_rate", "llm_calls_per_decision", "ms_per_decision")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", type=Path, required=True, help="run folder written by `train`")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--env", help="evaluate on another env id (e.g. an unseen game); default: the run's env")
    parser.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE", help="environment option, repeatable")
    parser.add_argument("--seed", type=int, help="first evaluation seed (default: the trainer's eval seeds)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from sandbox.errors import SandboxError
    from sandbox.engine.runs import load_trained_agent, make_env_for
    from sandbox.engine.training import EVAL_SEED, evaluate

    if args.episodes < 1:
        raise SandboxError(f"--episodes must be at least 1, got {args.episodes}")
    config, agent = load_trained_agent(args.run)
    env_kwargs = parse_key_values(args.env_arg) if (args.env_arg or args.env) else None
    env, family = make_env_for(config, args.env, env_kwargs)
    result = evaluate(
        agent,
        env,
        family,
        episodes=args.episodes,
        history=config.prior.history,
        seed=EVAL_SEED if args.seed is None else args.seed,
    )
    # The first three keys keep their names from before the metrics schema; the rest are its fields.
    payload = {
        "success_rate": result.success_rate,
        "mean_return": result.mean_return,
        "mean_steps": result.mean_steps,
        **{field: result.metrics[field] for field in NEW_FIELDS},
        "episodes": result.episodes,
    }
    if args.json:
        print_json(payload)
    else:
        env_name = args.env or config.run.env
        print(
            f"{config.run.agent} on {env_name}: success {result.success_rate:.0%}, "
            f"mean return {result.mean_return:.3f}, mean steps {result.mean_steps:.1f} over {result.episodes} episodes; "
            f"normalised score {result.metrics['normalised_score']:.2f}, "
            f"invalid actions {result.metrics['invalid_action_rate']:.0%}, "
            f"LLM calls/decision {result.metrics['llm_calls_per_decision']:.2f}, "
            f"{result.metrics['ms_per_decision']:.1f} ms/decision"
        )
    return 0
