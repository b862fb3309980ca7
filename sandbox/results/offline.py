"""Offline data efficiency: final success of CQL vs CQL-Prior as the dataset grows.

The paper's claim (Yan et al. 2025): with the LLM prior, offline RL needs over 90% fewer
samples for the same performance. The data must be of *mixed* quality for that question to
mean anything: on expert data a few episodes of behaviour cloning solve the task for both
agents, and on uniformly random data CQL's penalty cannot vanish (the data action is no
likelier than any other), so plain CQL barely learns at any size. For mixed-quality data
the behaviour policy is a DQN trained online, mixed with uniformly random actions: each
action is the DQN's greedy choice with probability 1 − ε, a random admissible action with
probability ε. Each seed collects its own dataset with that policy (one dataset, its prefixes
are the sizes), then trains CQL and CQL-Prior for the same number of gradient steps and
evaluates them greedily online.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from sandbox.arguments import FEATURE_CHOICES, add_prior_arguments, parse_key_values, prior_config_from_args
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

HELP = "offline data efficiency: CQL vs CQL-Prior final success over dataset sizes (log scale)"
NAME = "offline_data_efficiency"
EXPERIMENT = "bench offline"  # the source of the values this report sets, in each run's config.toml
AGENTS = ("cql", "cql-prior")
DEFAULT_ENV, DEFAULT_ENV_KWARGS = "tw-coin-collector-v0", {"level": 5}
QUICK = {"sizes": [100, 400, 1600], "seeds": 2, "eval_episodes": 5}
READINGS = {
    "first": "First size that reaches it",
    "stable": "Smallest size from which every larger one reaches it",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default=DEFAULT_ENV, help=f"environment id (default {DEFAULT_ENV}, level 5)")
    parser.add_argument("--env-arg", action="append", metavar="KEY=VALUE", help="environment option, repeatable")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[25, 50, 100, 200, 400, 800, 1600, 3200], help="dataset sizes (transitions)"
    )
    parser.add_argument("--seeds", type=int, default=5, help="datasets and training seeds per size")
    parser.add_argument("--steps", type=int, default=1000, help="gradient steps per offline run")
    parser.add_argument("--eval-episodes", type=int, default=10, help="greedy episodes for the final success")
    parser.add_argument("--beta", type=float, default=5.0, help="CQL penalty weight")
    parser.add_argument("--features", choices=FEATURE_CHOICES, default="hash")
    parser.add_argument("--behaviour-steps", type=int, default=800, help="online DQN steps that train the behaviour policy")
    parser.add_argument("--epsilon", type=float, default=0.75, help="share of random actions in the behaviour policy")
    parser.add_argument("--k", type=int, default=5, help="prior proposals stored per state in the datasets")
    parser.add_argument("--target", type=float, default=0.8, help="success a dataset size must reach (mean over seeds)")
    add_prior_arguments(parser)
    add_output_arguments(parser, f"sizes {QUICK['sizes']}, {QUICK['seeds']} seeds, {QUICK['eval_episodes']} eval episodes")


def run(args: argparse.Namespace) -> Report:
    from sandbox.errors import SandboxError

    if args.quick:
        args.sizes, args.seeds, args.eval_episodes = QUICK["sizes"], QUICK["seeds"], QUICK["eval_episodes"]
    if min(args.sizes) < 1 or args.seeds < 1 or args.steps < 1 or args.behaviour_steps < 1:
        raise SandboxError("--sizes, --seeds, --steps and --behaviour-steps must all be at least 1")
    env_kwargs = parse_key_values(args.env_arg) if args.env_arg is not None else (
        dict(DEFAULT_ENV_KWARGS) if args.env == DEFAULT_ENV else {}
    )
    sizes = sorted(set(args.sizes))
    plt = pyplot()
    prior_config = prior_config_from_args(args)
    started = time.monotonic()
    with runs_folder(args.keep_runs) as root:
        behaviour = train_behaviour(args, env_kwargs, prior_config, root / "behaviour")
        progress(args, f"behaviour: DQN after {args.behaviour_steps} steps, greedy success {behaviour['success']:.0%}")
        datasets, runs = [], []
        for seed in range(args.seeds):
            dataset = collect_dataset(args, env_kwargs, prior_config, root, seed, max(sizes))
            datasets.append(dataset)
            progress(args, f"seed {seed}: {dataset['transitions']} transitions, {dataset['episodes']} episodes, "
                           f"{dataset['successes']} won")
            for size in sizes:
                for agent in AGENTS:
                    runs.append(train_offline(args, env_kwargs, prior_config, root, Path(dataset["path"]), agent, size, seed))
                    progress(args, f"  {agent:<9} size {size:>5}  success {runs[-1]['final_success']:.0%}  "
                                   f"({runs[-1]['wall_s']:.0f} s)")
    summary = summarise(runs, sizes)
    needed = {agent: sizes_needed(summary, agent, args.target) for agent in AGENTS}
    ratios = {
        reading: needed["cql-prior"][reading] / needed["cql"][reading]
        if needed["cql"][reading] and needed["cql-prior"][reading]
        else None
        for reading in READINGS
    }
    settings = {
        "env": args.env, "env_kwargs": env_kwargs, "sizes": sizes, "seeds": args.seeds, "steps": args.steps,
        "eval_episodes": args.eval_episodes, "beta": args.beta, "features": args.features,
        "behaviour_steps": args.behaviour_steps, "epsilon": args.epsilon, "k": args.k, "target": args.target,
        "prior_model": prior_config.model, "prior_mode": prior_config.mode, "quick": args.quick,
    }  # fmt: skip
    headline = headline_text(needed, ratios, args.target, sizes)
    table = summary_table(summary, sizes)
    files = write_outputs(
        args.out_dir,
        output_stem(NAME, args.quick),
        {"": runs},
        plot(plt, summary, sizes, args),
        "Offline data efficiency: CQL vs CQL-Prior",
        describe(settings, behaviour, datasets) + "\n\n" + headline,
        table,
    )
    data = {
        "experiment": "offline",
        "settings": settings,
        "behaviour": behaviour,
        "datasets": [{key: value for key, value in d.items() if key != "path"} for d in datasets],
        "summary": summary,
        "sizes_needed": needed,
        "ratios": ratios,
        "runs": runs,
    }
    return finished_report(data, files, started, f"{table}\n{headline}\n")


def train_behaviour(args: argparse.Namespace, env_kwargs: dict[str, Any], prior_config: Any, folder: Path) -> dict[str, Any]:
    """The online DQN whose greedy policy, mixed with ε random actions, collects the data."""
    from sandbox.engine.config import as_layer, build_config

    steps = args.behaviour_steps
    behaviour = {
        "run": {"env": args.env, "env_kwargs": dict(env_kwargs), "agent": "dqn", "steps": steps, "eval_every": steps,
                "checkpoint_every": steps, "eval_episodes": args.eval_episodes},
        "dqn": {"features": args.features, "epsilon_decay_steps": max(1, steps // 2)},
        "prior": as_layer(prior_config),
    }  # fmt: skip
    rows = train_run(build_config(experiment=[(EXPERIMENT, behaviour)]), folder)[1]
    return {"run": str(folder), "steps": steps, "success": rows[-1]["eval_success"]}


def collect_dataset(
    args: argparse.Namespace, env_kwargs: dict[str, Any], prior_config: Any, root: Path, seed: int, transitions: int
) -> dict[str, Any]:
    from sandbox.features.datasets import DatasetInfo, collect

    path = root / f"data-s{seed}.parquet"
    info = DatasetInfo(
        env=args.env,
        env_kwargs=dict(env_kwargs),
        policy=str(root / "behaviour"),
        seed=seed,
        prior_model=prior_config.model,
        prior_mode=prior_config.mode,
        k=args.k,
        epsilon=args.epsilon,
    )
    info = collect(info, 1, path, prior_config, min_transitions=transitions)
    return {
        "seed": seed,
        "path": str(path),
        "transitions": info.transitions,
        "episodes": info.episodes,
        "successes": info.successes,
    }


def train_offline(
    args: argparse.Namespace, env_kwargs: dict[str, Any], prior_config: Any, root: Path, dataset: Path, agent: str,
    size: int, seed: int,
) -> dict[str, Any]:  # fmt: skip
    """CQL or CQL-Prior on the first `size` transitions of the dataset collected in `args.env`."""
    from sandbox.engine.config import as_layer, build_config

    run = {
        "run": {"env": args.env, "env_kwargs": dict(env_kwargs), "dataset": str(dataset), "dataset_limit": size,
                "agent": agent, "seed": seed, "steps": args.steps, "eval_every": args.steps,  # one evaluation: the final one
                "checkpoint_every": args.steps, "eval_episodes": args.eval_episodes},
        "dqn": {"cql_beta": args.beta, "features": args.features},
        "prior": as_layer(prior_config),
    }  # fmt: skip
    config = build_config(experiment=[(EXPERIMENT, run)])
    started = time.monotonic()
    final = train_run(config, root / f"{agent}-n{size}-s{seed}", offline=True)[1][-1]
    return {
        "agent": agent,
        "size": size,
        "seed": seed,
        "final_success": final["eval_success"],
        "final_return": final["eval_return"],
        "llm_calls": final["llm_calls"],
        "wall_s": round(time.monotonic() - started, 1),
    }


def summarise(runs: list[dict[str, Any]], sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for agent in AGENTS:
        for size in sizes:
            successes = [run["final_success"] for run in runs if run["agent"] == agent and run["size"] == size]
            interval = mean_interval(successes, 0.0, 1.0)
            rows.append({"agent": agent, "size": size, "seeds": interval.n, **interval.columns("success")})
    return rows


def sizes_needed(summary: list[dict[str, Any]], agent: str, target: float) -> dict[str, int | None]:
    """Two readings of "the data an agent needs" (None: not within the largest size).

    first:  the smallest size whose mean success reaches the target;
    stable: the smallest size from which every larger one reaches it too. Offline training on
            little data is unstable, so a lucky small size can precede a failing larger one.
    """
    rows = sorted((row for row in summary if row["agent"] == agent), key=lambda row: row["size"])
    reached = [row["success"] >= target - 1e-9 for row in rows]  # a mean of 0.4, 1 and 1 is 80%, not 79.99…%
    first = next((row["size"] for row, ok in zip(rows, reached) if ok), None)
    stable = None
    for row, ok in zip(reversed(rows), reversed(reached)):
        if not ok:
            break
        stable = row["size"]
    return {"first": first, "stable": stable}


def headline_text(
    needed: dict[str, dict[str, int | None]], ratios: dict[str, float | None], target: float, sizes: list[int]
) -> str:
    def reading(name: str) -> str:
        cql, prior, ratio = needed["cql"][name], needed["cql-prior"][name], ratios[name]
        text = f"CQL {cql or f'> {max(sizes)}'}, CQL-Prior {prior or f'> {max(sizes)}'}"
        if ratio is not None:
            change = f"{1 - ratio:.0%} fewer samples" if ratio <= 1 else f"{ratio:.3g}x as many samples"
            return f"{text} transitions (CQL-Prior / CQL = {ratio:.3g}: {change})"
        if prior and not cql:
            return f"{text} transitions (CQL-Prior / CQL < {prior / max(sizes):.3g})"
        return f"{text} transitions"

    return (
        f"Data needed for {target:.0%} mean success. {READINGS['first']}: {reading('first')}. "
        f"{READINGS['stable']}: {reading('stable')}. The paper reports over 90% fewer samples with the prior."
    )


def summary_table(summary: list[dict[str, Any]], sizes: list[int]) -> str:
    def cell(agent: str, size: int) -> str:
        row = next(row for row in summary if row["agent"] == agent and row["size"] == size)
        return Interval.from_columns(row, "success", row["seeds"]).percent()

    rows = [[size, cell("cql", size), cell("cql-prior", size)] for size in sizes]
    return markdown_table(["transitions", "CQL final success", "CQL-Prior final success"], rows)


def describe(settings: dict[str, Any], behaviour: dict[str, Any], datasets: list[dict[str, Any]]) -> str:
    won = sum(d["successes"] for d in datasets) / max(1, sum(d["episodes"] for d in datasets))
    options = ", ".join(f"{key}={value}" for key, value in settings["env_kwargs"].items())
    return (
        f"`{settings['env']}`{f' ({options})' if options else ''}; behaviour policy: a DQN trained online for "
        f"{settings['behaviour_steps']} steps (greedy success {behaviour['success']:.0%}) taking a uniformly random "
        f"admissible action with probability ε = {settings['epsilon']}, whose episodes won {won:.0%} of the time. "
        f"Each of {seeds_text(settings['seeds'])} collects its own dataset; a size is its first N transitions. "
        f"CQL and CQL-Prior (β = {settings['beta']}, {settings['features']} features, prior {settings['prior_model']} "
        f"in {settings['prior_mode']} mode, k = {settings['k']} proposals per state) train {settings['steps']} "
        f"gradient steps, then {settings['eval_episodes']} greedy episodes give the final success. Mean over seeds "
        f"with the 95% Student-t interval."
    )


def plot(plt: Any, summary: list[dict[str, Any]], sizes: list[int], args: argparse.Namespace) -> Any:
    figure, axes = plt.subplots(figsize=(6, 4))
    for agent, label in (("cql", "CQL"), ("cql-prior", "CQL-Prior")):
        rows = [row for row in summary if row["agent"] == agent]
        means = [row["success"] for row in rows]
        axes.plot(sizes, means, marker="o", label=label)
        if all(row["seeds"] > 1 for row in rows):
            axes.fill_between(sizes, [row["success_low"] for row in rows], [row["success_high"] for row in rows], alpha=0.2)
    axes.axhline(args.target, color="grey", linestyle="--", linewidth=1, label=f"target {args.target:.0%}")
    axes.set_xscale("log")
    axes.minorticks_off()
    axes.set_xticks(sizes, [str(size) for size in sizes])
    axes.set_ylim(-0.05, 1.05)
    axes.set_xlabel("dataset size (transitions)")
    axes.set_ylabel("final greedy success")
    axes.set_title(f"{args.env}, ε = {args.epsilon}, {seeds_text(args.seeds)} (95% CI)")
    axes.legend(loc="lower right")
    return figure
