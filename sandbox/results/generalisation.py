"""Generalisation: does a Q learned with one LLM's prior still help on unseen tasks and with another LLM?

The paper's claim (Yan et al. 2025): the learned Q generalises to unseen tasks and to a
different LLM at test time. DQN-Prior (with the training prior, SmolLM2-135M by default)
and DQN train on household tasks of the *train* split; then each is evaluated greedily on
the train split and on the *unseen* split (object/receptacle pairs no train task asks
for), and DQN-Prior also acts with a different LLM's prior (Gemma-3-270M by default) while
its Q stays as trained. The LLM-only agent with each prior is the reference. Without the
`.[gemma]` extra the test-prior rows are skipped, and the report says so.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from sandbox.arguments import FEATURE_CHOICES, add_prior_arguments, prior_config_from_args
from sandbox.results.common import (
    Interval,
    Report,
    add_output_arguments,
    markdown_table,
    finished_report,
    mean_interval,
    output_stem,
    progress,
    pyplot,
    runs_folder,
    seeds_text,
    train_run,
    write_outputs,
)

HELP = "generalisation: Q trained with one LLM prior, evaluated on unseen household tasks and with another LLM"
NAME = "generalisation"
EXPERIMENT = "bench generalisation"  # the source of the values this report sets, in each run's config.toml
SPLITS = ("train", "unseen")
LEARNERS = ("dqn-prior", "dqn")
QUICK = {"seeds": 1, "steps": 600, "eval_episodes": 5, "n_games": 2}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default="household-pick-place-v0", help="a household env id (it has train/unseen splits)")
    parser.add_argument("--n-games", type=int, default=4, help="games per split (a reset picks one)")
    parser.add_argument("--games-dir", help="where generated games are cached (default saves/games)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3000, help="env steps of training on the train split")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--alpha", type=float, default=10.0)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--features", default="minilm", choices=FEATURE_CHOICES)
    parser.add_argument(
        "--test-prior-model", default="gemma-3-270m", help="the other LLM DQN-Prior acts with at test time"
    )
    add_prior_arguments(parser)
    add_output_arguments(
        parser, f"{QUICK['seeds']} seed, {QUICK['steps']} steps, {QUICK['n_games']} games per split, "
        f"{QUICK['eval_episodes']} eval episodes"
    )  # fmt: skip


def run(args: argparse.Namespace) -> Report:
    from sandbox.errors import SandboxError

    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if not args.env.startswith("household-"):
        raise SandboxError(f"--env must be a household env (household-…-v0: it has train/unseen splits), got {args.env!r}")
    if args.seeds < 1 or args.steps < 1 or args.n_games < 1:
        raise SandboxError("--seeds, --steps and --n-games must all be at least 1")
    plt = pyplot()
    prior_config = prior_config_from_args(args)
    skipped = test_prior_unavailable(args.test_prior_model)
    priors = [prior_config.model] + ([] if skipped else [args.test_prior_model])
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    with runs_folder(args.keep_runs) as root:
        for seed in range(args.seeds):
            for agent in LEARNERS:
                run_dir = train(args, prior_config, root / f"{agent}-s{seed}", agent, seed)
                for model in priors if agent == "dqn-prior" else [None]:
                    for split in SPLITS:
                        rows.append(evaluate_run(args, run_dir, agent, seed, split, model))
                        progress(args, describe_row(rows[-1]))
            for model in priors:
                for split in SPLITS:
                    rows.append(evaluate_llm(args, prior_config, seed, split, model))
                    progress(args, describe_row(rows[-1]))
    summary = summarise(rows)
    table = summary_table(summary)
    note = f"Skipped the test prior {args.test_prior_model}: {skipped}" if skipped else ""
    files = write_outputs(
        args.out_dir,
        output_stem(NAME, args.quick),
        {"": rows},
        plot(plt, summary),
        "Generalisation",
        describe(args, prior_config) + "\n\n" + note,
        table,
    )
    settings = {
        "env": args.env, "n_games": args.n_games, "seeds": args.seeds, "steps": args.steps,
        "eval_episodes": args.eval_episodes, "alpha": args.alpha, "k": args.k, "features": args.features,
        "train_prior": prior_config.model, "test_prior": args.test_prior_model, "quick": args.quick,
    }  # fmt: skip
    data = {
        "experiment": "generalisation",
        "settings": settings,
        "skipped": skipped,
        "summary": summary,
        "runs": rows,
    }
    return finished_report(data, files, started, f"{table}\n{note}" if note else table)


def test_prior_unavailable(model: str) -> str | None:
    """Why the test-time LLM cannot be loaded (e.g. the `.[gemma]` extra is missing), or None."""
    from agents.errors import PriorError
    from agents.prior import resolve_model_path

    if model == "uniform":
        return None
    try:
        resolve_model_path(model)
    except PriorError as error:
        return str(error)
    return None


def env_kwargs(args: argparse.Namespace, split: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"split": split, "n_games": args.n_games}
    if args.games_dir:
        kwargs["games_dir"] = args.games_dir
    return kwargs


def train(args: argparse.Namespace, prior_config: Any, folder: Path, agent: str, seed: int) -> Path:
    """DQN or DQN-Prior (by the paper's acting rule, as this report always trained it) on the train split."""
    from agents.configs import acting_rule
    from sandbox.engine.config import as_layer, build_config

    run = {
        "run": {"env": args.env, "env_kwargs": env_kwargs(args, "train"), "agent": agent, "seed": seed, "steps": args.steps,
                "eval_every": args.steps, "checkpoint_every": args.steps, "eval_episodes": args.eval_episodes},
        "dqn": {"features": args.features, "alpha": args.alpha, "k": args.k, "epsilon_decay_steps": max(1, args.steps // 2),
                **acting_rule("paper")},
        "prior": as_layer(prior_config),
    }  # fmt: skip
    train_run(build_config(experiment=[(EXPERIMENT, run)]), folder)
    return folder


def evaluate_run(
    args: argparse.Namespace, run_dir: Path, agent: str, seed: int, split: str, model: str | None
) -> dict[str, Any]:
    from sandbox.engine.runs import load_trained_agent, make_env_for
    from sandbox.engine.training import evaluate

    config, trained = load_trained_agent(run_dir, prior_model=model)
    env, family = make_env_for(config, args.env, env_kwargs(args, split))
    started = time.monotonic()
    result = evaluate(trained, env, family, episodes=args.eval_episodes, history=config.prior.history)
    return result_row(agent, seed, split, model, trained, result, started)


def evaluate_llm(args: argparse.Namespace, prior_config: Any, seed: int, split: str, model: str) -> dict[str, Any]:
    from dataclasses import replace

    from agents.registry import make_agent
    from envs import env_family, make_env
    from sandbox.engine.config import as_layer, build_config
    from sandbox.engine.training import evaluate

    config = replace(prior_config, model=model)
    agent = make_agent(build_config(experiment=[(EXPERIMENT, {"run": {"agent": "llm", "seed": seed}, "prior": as_layer(config)})]))
    env = make_env(args.env, **env_kwargs(args, split))
    started = time.monotonic()
    result = evaluate(agent, env, env_family(args.env), episodes=args.eval_episodes, history=config.history)
    return result_row("llm", seed, split, model, agent, result, started)


def result_row(
    agent: str, seed: int, split: str, model: str | None, actor: Any, result: Any, started: float
) -> dict[str, Any]:
    prior = getattr(actor, "prior", None)
    return {
        "agent": agent,
        "prior": model or "none",
        "split": split,
        "seed": seed,
        "success": result.success_rate,
        "return": result.mean_return,
        "llm_calls": prior.stats.llm_calls if prior is not None else 0,
        "wall_s": round(time.monotonic() - started, 1),
    }


def describe_row(row: dict[str, Any]) -> str:
    return f"{row['agent']:<10}prior {row['prior']:<13}{row['split']:<7}seed {row['seed']}  success {row['success']:.0%}"


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    summary = []
    for agent, model in dict.fromkeys((row["agent"], row["prior"]) for row in rows):
        entry: dict[str, Any] = {"agent": agent, "prior": model}
        for split in SPLITS:
            values = [row["success"] for row in rows if (row["agent"], row["prior"], row["split"]) == (agent, model, split)]
            interval = mean_interval(values, 0.0, 1.0)
            entry.update(interval.columns(f"{split}_success"))
            entry["seeds"] = interval.n
        summary.append(entry)
    return summary


def summary_table(summary: list[dict[str, Any]]) -> str:
    rows = [
        [row["agent"], row["prior"]]
        + [Interval.from_columns(row, f"{split}_success", row["seeds"]).percent() for split in SPLITS]
        for row in summary
    ]
    return markdown_table(["agent", "prior at test time", "train-split success", "unseen-split success"], rows)


def describe(args: argparse.Namespace, prior_config: Any) -> str:
    return (
        f"`{args.env}` with {args.n_games} games per split; DQN-Prior (α = {args.alpha}, k = {args.k}) and DQN train "
        f"{args.steps} env steps on the train split with the {prior_config.model} prior ({prior_config.mode} mode) and "
        f"{args.features} features; {args.eval_episodes} greedy episodes per evaluation, {seeds_text(args.seeds)}, mean "
        f"with the 95% Student-t interval. \"prior at test time\" is the LLM the agent consults while evaluated."
    )


def plot(plt: Any, summary: list[dict[str, Any]]) -> Any:
    figure, axes = plt.subplots(figsize=(7, 3.6))
    width = 0.38
    labels = [f"{row['agent']}\n{row['prior']}" for row in summary]
    for offset, split in ((-width / 2, "train"), (width / 2, "unseen")):
        positions = [index + offset for index in range(len(summary))]
        axes.bar(positions, [row[f"{split}_success"] for row in summary], width, label=f"{split} split")
    axes.set_xticks(range(len(summary)), labels, fontsize="small")
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("greedy success")
    axes.legend()
    return figure
