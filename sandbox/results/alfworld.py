"""The paper's ALFWorld experiment on ALFWorld's own games: train on valid_train, evaluate on valid_seen.

Per ALFWorld task type (pick-place first, as the paper), each agent trains on a pool of
`valid_train` games through the same Trainer as `python -m sandbox train`, and every greedy
evaluation plays games of `valid_seen` (ALFWorld's in-distribution evaluation split; nothing
is tuned on it). Agents: DQN, DQN-Prior with the default prior (SmolLM2-135M) and with the
oracle prior at skill S = 0.5 and 0.9 (a prior of known quality: mass S on the planner's next
command), the LLM alone and a random policy. Reported per task type and agent, over seeds, as
`bench sample-efficiency` reports them: success rate (final and over the run, 95% intervals),
env steps to 90% of the best agent's final success, LLM calls and minutes per run.

Every finished run leaves `result.json` in its run folder: with `--keep-runs DIR` a killed run
resumes where it stopped, and `--kept-only` reports what has finished so far. The data is
$ALFWORLD_DATA (or `--data-dir`), laid out as ALFWorld's release: json_2.1.1/<split>/….
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from sandbox.arguments import add_prior_arguments, prior_config_from_args
from sandbox.results import sample_efficiency as efficiency
from sandbox.results.common import (
    Finished,
    Report,
    add_kept_only_argument,
    add_output_arguments,
    check_kept_only,
    compute_text,
    evaluation_lines,
    finished_report,
    kept_or_run,
    output_stem,
    prior_settings,
    pyplot,
    runs_folder,
    write_outputs,
)

HELP = "ALFWorld: DQN, DQN-Prior (LLM and oracle priors), LLM-only, random; train valid_train, evaluate valid_seen"
NAME = "alfworld"
TASKS = ("pick-place", "examine-in-light", "clean-place", "heat-place", "cool-place", "pick-two-place")
# Agent label -> (the agent, the prior it uses: None for the run's --prior-model).
AGENTS = {
    "dqn": ("dqn", None),
    "dqn-prior": ("dqn-prior", None),
    "dqn-prior-oracle-0.5": ("dqn-prior", "oracle:skill=0.5"),
    "dqn-prior-oracle-0.9": ("dqn-prior", "oracle:skill=0.9"),
    "llm": ("llm", None),
    "random": ("random", None),
}
QUICK = {"tasks": ["pick-place"], "seeds": 1, "steps": 150, "eval_every": 50, "eval_episodes": 3, "n_train": 4, "n_eval": 3}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", nargs="+", default=["pick-place"], choices=TASKS, help="ALFWorld task types")
    parser.add_argument("--agents", nargs="+", default=list(AGENTS), choices=list(AGENTS))
    parser.add_argument("--data-dir", type=Path, help="ALFWorld's data folder (default: $ALFWORLD_DATA)")
    parser.add_argument("--n-train", type=int, default=20, help="valid_train games per task type in the training pool")
    parser.add_argument("--n-eval", type=int, default=10, help="valid_seen games per task type evaluation picks from")
    parser.add_argument("--max-episode-steps", type=int, default=50, help="ALFWorld's evaluation budget")
    efficiency.add_run_arguments(parser)
    parser.set_defaults(seeds=3, steps=1000, eval_every=100)
    add_kept_only_argument(parser)
    add_prior_arguments(parser)
    add_output_arguments(
        parser,
        f"{QUICK['tasks'][0]}, {QUICK['seeds']} seed, {QUICK['steps']} steps, eval every {QUICK['eval_every']} on "
        f"{QUICK['eval_episodes']} episodes, {QUICK['n_train']} train / {QUICK['n_eval']} eval games",
    )


def pool_sizes(args: argparse.Namespace) -> dict[str, tuple[int, int]]:
    """Task -> (valid_train pool, valid_seen pool): --n-train and --n-eval, or all of a task type's solvable
    games where the split has fewer (valid_train holds 19 examine-in-light games), so every task type runs."""
    from envs.alfworld_env import default_data_dir, solvable_game_count

    data_dir = args.data_dir or default_data_dir()
    return {
        task: (
            min(args.n_train, solvable_game_count(data_dir, "valid_train", task)),
            min(args.n_eval, solvable_game_count(data_dir, "valid_seen", task)),
        )
        for task in args.tasks
    }


def env_spec(args: argparse.Namespace, task: str, n_train: int, n_eval: int) -> efficiency.EnvSpec:
    """alfworld-v0 on `task`: a pool of valid_train games to train on, valid_seen games to evaluate on."""
    data = {"data_dir": str(args.data_dir)} if args.data_dir else {}
    return efficiency.EnvSpec(
        "alfworld-v0",
        {"split": "valid_train", "task": task, "n_games": n_train, "max_episode_steps": args.max_episode_steps, **data},
        steps=args.steps,
        eval_every=args.eval_every,
        eval_kwargs={"split": "valid_seen", "n_games": n_eval},
    )


def run(args: argparse.Namespace) -> Report:
    from sandbox.errors import SandboxError

    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if min(args.seeds, args.steps, args.eval_every, args.n_train, args.n_eval) < 1:
        raise SandboxError("--seeds, --steps, --eval-every, --n-train and --n-eval must all be at least 1")
    check_kept_only(args)
    efficiency.default_kl_alpha(args)
    plt = pyplot()
    prior_config = prior_config_from_args(args)
    pools = pool_sizes(args)
    started = time.monotonic()
    finished = Finished()
    with runs_folder(args.keep_runs) as root:
        for task in args.tasks:
            spec = env_spec(args, task, *pools[task])
            for label in args.agents:
                for seed in range(args.seeds):
                    finished.add(
                        args,
                        f"{task} {label} seed {seed}",
                        finished_or_run(args, prior_config, root, spec, task, label, seed),
                        lambda result: f"{task:<17}{label:<22} seed {seed}  final {result['final_success']:.0%}  "
                                       f"llm calls {result['llm_calls']}  {result['wall_s']:.0f} s",
                    )  # fmt: skip
    finished.check_any(args)
    runs, curves = finished.runs, finished.curves
    summary = efficiency.summarise(runs, curves)
    table = efficiency.summary_table(summary)
    intro = " ".join([describe(args, prior_config, pools), compute_text(runs), efficiency.missing_text(finished.missing)])
    files = write_outputs(
        args.out_dir,
        output_stem(NAME, args.quick),
        {"": runs, "_curves": curves},
        efficiency.plot(plt, curves, runs, args),
        "ALFWorld: train on valid_train, evaluate on valid_seen",
        intro,
        table,
    )
    settings = {
        "tasks": args.tasks, "agents": args.agents, "seeds": args.seeds, "steps": args.steps,
        "eval_every": args.eval_every, "eval_episodes": args.eval_episodes, "n_train": args.n_train,
        "n_eval": args.n_eval, "pools": {task: {"train": train, "eval": seen} for task, (train, seen) in pools.items()},
        "alpha": args.alpha, "k": args.k, "prior_model": prior_config.model,
        "prior_mode": prior_config.mode, "threshold": f"{efficiency.THRESHOLD} x best final success per task",
        "quick": args.quick,
    }  # fmt: skip
    data = {"experiment": "alfworld", "settings": settings, "summary": summary, "runs": runs, "missing": finished.missing}
    return finished_report(data, files, started, table)


def finished_or_run(
    args: argparse.Namespace, prior_config: Any, root: Path, spec: efficiency.EnvSpec, task: str, label: str, seed: int
) -> tuple[dict[str, Any], list[dict[str, Any]], bool] | None:
    """A run kept from an earlier invocation with the same settings, or run now (None with --kept-only)."""
    agent, prior_model = AGENTS[label]
    prior = replace(prior_config, model=prior_model) if prior_model else prior_config
    env_key = f"alfworld-{task}"
    settings = {**efficiency.env_settings(args, env_key, spec), "eval_episodes": args.eval_episodes, "alpha": args.alpha,
                "k": args.k, "agent": agent, "prior": prior_settings(prior)}  # fmt: skip
    config = efficiency.run_config(args, prior, env_key, agent, seed, spec, by="bench alfworld")  # the paper's acting rule

    def run_now() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        lines = evaluation_lines(args, f"{task} {label} seed {seed}", config.run.steps)
        result, curve = efficiency.run_one(config, root / f"{env_key}-{label}-s{seed}", env_key, lines)
        return {**result, "agent": label}, [{**row, "agent": label} for row in curve]

    return kept_or_run(root / f"{env_key}-{label}-s{seed}", settings, run_now, kept_only=args.kept_only)


def describe(args: argparse.Namespace, prior_config: Any, pools: dict[str, tuple[int, int]]) -> str:
    smaller = [
        f"{task} {train}/{seen}" for task, (train, seen) in pools.items() if (train, seen) != (args.n_train, args.n_eval)
    ]
    return (
        f"ALFWorld json_2.1.1 games, task types {', '.join(args.tasks)}: training on a pool of {args.n_train} "
        f"valid_train games per task type, greedy evaluation every {args.eval_every} env steps on "
        f"{args.eval_episodes} episodes drawn from {args.n_eval} valid_seen games"
        + (f" (all a split has where it has fewer; train/eval games: {', '.join(smaller)})" if smaller else "")
        + f"; {args.steps} env steps per run, "
        f"{args.max_episode_steps} steps per episode, {efficiency.seeds_text(args.seeds)}. Prior {prior_config.model} "
        f"({prior_config.mode} mode) for DQN-Prior and the LLM-only agent; the oracle rows put mass S on the "
        f"planner's next command. DQN-Prior α = {args.alpha}, k = {args.k}; features "
        f"{args.features or 'minilm'}. Threshold: {efficiency.THRESHOLD:.0%} of the best agent's mean final success "
        f"per task type; a run that never reaches it counts as the whole budget. LLM calls count the queries the "
        f"model answered (cache misses); the oracle asks no model. Regenerate: `python -m sandbox bench alfworld "
        f"--tasks {' '.join(args.tasks)} --seeds {args.seeds} --steps {args.steps} --eval-every {args.eval_every} "
        f"--eval-episodes {args.eval_episodes} --n-train {args.n_train} --n-eval {args.n_eval} --threads "
        f"{prior_config.n_threads} --keep-runs DIR` with $ALFWORLD_DATA set."
    )
