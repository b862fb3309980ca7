"""Sample efficiency: env steps to reach 90% of the best final success, per env and agent.

Every agent trains through the same Trainer as `python -m sandbox train` (greedy evaluation
every `--eval-every` env steps). Per env, the threshold is 90% of the best agent's mean
final success, so an env no agent solves fully still separates fast learners from slow
ones. Reported per env and agent, over seeds: mean env steps to the threshold (a run that
never gets there counts as the whole budget, and the number that did is shown), final
success with its 95% interval, LLM calls and wall time per run, and each prior agent's
steps over its baseline's (DQN-Prior/DQN, PPO-Prior/PPO). The LLM-only and random agents
learn nothing: they are evaluated once, and reach the threshold at step 0 or never.

Each env brings its own budget and settings (Frozen Lake: the tuned `frozenlake-dqn` and
`frozenlake-dqn-prior` presets and their 4,000 steps); `--steps`, `--eval-every` and
`--features` override them for every env. Each arm's config is built by `sandbox.engine.config.build_config`
over the env's tuned defaults, and its run folder's config.toml says where each value came from.
Every finished run leaves `result.json` in its run folder, so with `--keep-runs DIR` a killed run
resumes where it stopped.

The full run (6 envs × 6 agents × 5 seeds) took 233 minutes of runs on 2 CPU cores, most of
them cooking's prior agents from a cold prior cache; `--kept-only` reports what it has so far.
`--quick` (2 envs, 3 seeds, 800 steps) takes about 6 minutes on 2 cores with a warm prior cache.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.arguments import FEATURE_CHOICES, add_prior_arguments, prior_config_from_args
from sandbox.results.common import (
    Finished,
    Interval,
    Report,
    add_kept_only_argument,
    add_output_arguments,
    check_kept_only,
    compute_text,
    evaluation_lines,
    finished_report,
    first_step_at,
    kept_or_run,
    markdown_table,
    mean_interval,
    output_stem,
    prior_settings,
    pyplot,
    runs_folder,
    seeds_text,
    train_run,
    write_outputs,
)

HELP = "sample efficiency: env steps to 90% of the best final success, per env family and agent"
NAME = "sample_efficiency"


@dataclass(frozen=True)
class EnvSpec:
    """One env of the report, with the budget and settings it is measured at."""

    id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    steps: int = 2000
    eval_every: int = 100
    features: str = "minilm"
    presets: dict[str, str] = field(default_factory=dict)  # agent → preset tuned for this env (sandbox/presets/)
    eval_kwargs: dict[str, Any] = field(default_factory=dict)  # what evaluation changes, e.g. {"split": "unseen"}
    # agent → {section: {key: value}}: what this report's kept runs were trained with where the env's tuned
    # defaults (sandbox/defaults/) now say otherwise; kept, so the same seeds train the same runs.
    kept: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


ENVS = {
    # PPO-Prior's tuned γ = 0.9 and lr 1e-3 (sandbox/defaults/frozenlake.toml) came after this report's runs.
    "frozenlake-4x4": EnvSpec(
        "TextFrozenLake-v0", {"map_name": "4x4"}, steps=4000, eval_every=250, features="minilm+hash",
        presets={"dqn": "frozenlake-dqn", "dqn-prior": "frozenlake-dqn-prior"},
        kept={"ppo-prior": {"ppo": {"gamma": 0.99, "lr": 5e-4}}},
    ),
    # DQN-Prior's tuned soft target updates (sandbox/defaults/tw-coin-collector-v0.toml) came after its runs.
    "coin-collector-5": EnvSpec(
        "tw-coin-collector-v0", {"level": 5}, kept={"dqn-prior": {"dqn": {"target_every": 20, "target_tau": 1.0}}}
    ),
    # Greedy evaluation dominates here (5 episodes of up to 100 steps, each over ~20-40 actions); the
    # default game's greedy wins take under 10 steps, so 50 is still plenty.
    "cooking": EnvSpec("tw-cooking-v0", {"max_episode_steps": 50}, steps=1000),
    "overcooked-tomato": EnvSpec("overcooked-tomato-salad-v0"),
    "household-pick-place": EnvSpec("household-pick-place-v0"),
    "twx-coin-collector-4": EnvSpec("twx-coin-collector-v0", {"num_locations": 4, "include_doors": False}),
}  # fmt: skip
AGENTS = ("dqn", "dqn-prior", "ppo", "ppo-prior", "llm", "random")  # the default; --agents takes any online agent
BASELINES = {"dqn-prior": "dqn", "ppo-prior": "ppo"}  # prior agent → the same learner without the prior
RULES = ("paper", "default")  # DQN-Prior's acting rules (`[dqn] greedy` and `target`), an arm each
THRESHOLD = 0.9  # of the best final success in the env
QUICK = {"envs": ["coin-collector-5", "overcooked-tomato"], "seeds": 3, "steps": 800, "eval_every": 100, "eval_episodes": 5}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.registry import agent_names

    parser.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument("--agents", nargs="+", default=list(AGENTS), choices=agent_names())
    parser.add_argument(
        "--rules", nargs="+", default=list(RULES), metavar="RULE",
        help="DQN-Prior's acting rules, one arm each: paper, default or GREEDY+TARGET such as map+soft "
        "(docs/concepts/acting-rules.md); default: %(default)s",
    )  # fmt: skip
    add_run_arguments(parser)
    add_kept_only_argument(parser)
    add_prior_arguments(parser)
    add_output_arguments(
        parser,
        f"envs {' '.join(QUICK['envs'])}, {QUICK['seeds']} seeds, {QUICK['steps']} steps, "
        f"eval every {QUICK['eval_every']} on {QUICK['eval_episodes']} episodes",
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """What `run_config` and `env_settings` read: the seeds, each env's budget and the learners' settings."""
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, help="env step budget per run, for every env (default: each env's own)")
    parser.add_argument("--eval-every", type=int, help="env steps between evaluations (default: each env's own)")
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--alpha", type=float, default=10.0, help="DQN-Prior's posterior sharpness")
    parser.add_argument("--kl-alpha", type=float, help="PPO-Prior's KL weight α·KL(π‖p) (default: [ppo] alpha)")
    parser.add_argument("--k", type=int, default=5, help="DQN-Prior's proposals per state while training")
    parser.add_argument("--features", choices=FEATURE_CHOICES, help="state features (default: each env's own)")


def default_kl_alpha(args: argparse.Namespace) -> None:
    """--kl-alpha left out: PPO's own default weight."""
    if args.kl_alpha is None:
        from agents.ppo import PPOConfig

        args.kl_alpha = PPOConfig().alpha


def run(args: argparse.Namespace) -> Report:
    from sandbox.errors import SandboxError

    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if args.seeds < 1 or any(value is not None and value < 1 for value in (args.steps, args.eval_every)):
        raise SandboxError("--seeds, --steps and --eval-every must all be at least 1")
    check_kept_only(args)
    check_rules(args.rules)
    default_kl_alpha(args)
    plt = pyplot()
    prior_config = prior_config_from_args(args)
    started = time.monotonic()
    finished = Finished()
    with runs_folder(args.keep_runs) as root:
        for env_key in args.envs:
            for agent, rule in arms(args):
                for seed in range(args.seeds):
                    name = arm_name(agent, rule)
                    finished.add(
                        args,
                        f"{env_key} {name} seed {seed}",
                        finished_or_run(args, prior_config, root, env_key, agent, seed, rule),
                        lambda result: f"{env_key:<21}{name:<10} seed {seed}  final {result['final_success']:.0%}  "
                                       f"llm calls {result['llm_calls']}  {result['wall_s']:.0f} s",
                    )  # fmt: skip
    finished.check_any(args)
    runs, curves, missing = finished.runs, finished.curves, finished.missing
    summary = summarise(runs, curves)
    table = summary_table(summary)
    files = write_outputs(
        args.out_dir,
        output_stem(NAME, args.quick),
        {"": runs, "_curves": curves},
        plot(plt, curves, runs, args),
        "Sample efficiency",
        " ".join([describe(args, prior_config), compute_text(runs), missing_text(missing)]),
        table,
    )
    settings = {
        "envs": {key: env_settings(args, key) for key in args.envs},
        "agents": args.agents, "rules": args.rules, "seeds": args.seeds, "eval_episodes": args.eval_episodes, "alpha": args.alpha,
        "kl_alpha": args.kl_alpha, "k": args.k, "prior_model": prior_config.model, "prior_mode": prior_config.mode,
        "threshold": f"{THRESHOLD} x best final success per env", "quick": args.quick,
    }  # fmt: skip
    data = {
        "experiment": "sample-efficiency",
        "settings": settings,
        "summary": summary,
        "runs": runs,
        "missing": missing,
    }
    return finished_report(data, files, started, table)


def env_settings(args: argparse.Namespace, env_key: str, spec: EnvSpec | None = None) -> dict[str, Any]:
    """The env's own budget and settings (`spec`, else this report's), with what the command line
    overrides for every env."""
    spec = spec or ENVS[env_key]
    settings = {
        "id": spec.id,
        "kwargs": spec.kwargs,
        "steps": args.steps or spec.steps,
        "eval_every": args.eval_every or spec.eval_every,
        "features": args.features or spec.features,
        "presets": spec.presets,
    }
    if spec.eval_kwargs:  # absent otherwise: runs kept before evaluation options existed stay valid
        settings["eval_kwargs"] = spec.eval_kwargs
    return settings


def check_rules(rules: list[str]) -> None:
    from agents.configs import acting_rule
    from agents.errors import AgentError
    from sandbox.errors import SandboxError

    try:
        for rule in rules:
            acting_rule(rule)
    except AgentError as error:
        raise SandboxError(f"--rules: {error}") from None


def arms(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """(agent, acting rule) per arm: DQN-Prior once per rule of --rules, every other agent once."""
    return [(agent, rule) for agent in args.agents for rule in (args.rules if agent == "dqn-prior" else [None])]


def arm_name(agent: str, rule: str | None) -> str:
    """The agent as reports name it: DQN-Prior with its acting rule, e.g. dqn-prior[paper]."""
    return agent if rule is None else f"{agent}[{rule}]"


def acting_settings(dqn: Any) -> dict[str, Any]:
    """The [dqn] settings an acting rule sets, with the soft backup's schedule when it uses it."""
    settings = {"greedy": dqn.greedy, "target": dqn.target}
    if dqn.target == "soft":
        settings.update(soft_alpha_start=dqn.soft_alpha_start, soft_alpha_end=dqn.soft_alpha_end,
                        soft_alpha_steps=dqn.soft_alpha_steps, soft_floor=dqn.soft_floor)  # fmt: skip
    return settings


def finished_or_run(
    args: argparse.Namespace, prior_config: Any, root: Path, env_key: str, agent: str, seed: int, rule: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], bool] | None:
    """A run's row and curve, kept from an earlier invocation with the same settings or run now
    (None with --kept-only when it is not kept)."""
    name = arm_name(agent, rule)
    run_dir = root / f"{env_key}-{name.replace('[', '-').replace(']', '').replace('+', '-')}-s{seed}"
    settings = {**env_settings(args, env_key), "eval_episodes": args.eval_episodes, "alpha": args.alpha,
                "k": args.k, "kl_alpha": args.kl_alpha, "prior": prior_settings(prior_config)}  # fmt: skip
    config = run_config(args, prior_config, env_key, agent, seed, rule=rule)
    if agent.startswith("dqn"):
        settings["acting"] = acting_settings(config.dqn)

    def run() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        result, curve = run_one(config, run_dir, env_key, evaluation_lines(args, f"{env_key} {name} seed {seed}", config.run.steps))
        return {**result, "agent": name}, [{**row, "agent": name} for row in curve]

    return kept_or_run(run_dir, settings, run, kept_only=args.kept_only)


def run_config(
    args: argparse.Namespace, prior_config: Any, env_key: str, agent: str, seed: int, spec: EnvSpec | None = None,
    rule: str | None = None, *, by: str = "bench sample-efficiency", overrides: dict[str, dict[str, Any]] | None = None,
) -> Any:  # fmt: skip
    """The run's config through `sandbox.engine.config.build_config`: the env's tuned preset for this agent as the
    file if it has one, else the env's tuned defaults; over them the arm's settings (`arm_layer`) and what
    the experiment `by` changes in it (`overrides`), each value's source recorded."""
    from sandbox.engine.config import build_config, preset_layer

    spec = spec or ENVS[env_key]
    preset = spec.presets.get(agent)
    file = preset_layer(preset) if preset else None
    arm = arm_layer(args, prior_config, env_key, spec, agent, seed, rule)
    return build_config(file=file, experiment=[(by, arm), *([(by, overrides)] if overrides else [])])


def arm_layer(
    args: argparse.Namespace, prior_config: Any, env_key: str, spec: EnvSpec, agent: str, seed: int, rule: str | None
) -> dict[str, dict[str, Any]]:
    """What an arm sets, as a config layer: the env and budget, the shared learners' settings (an agent with a
    preset keeps its own), DQN's acting rule (the paper's unless `rule` names another), the prior, and the
    settings its kept runs were trained with where the env's tuned defaults now differ (`EnvSpec.kept`)."""
    from agents.configs import acting_rule
    from agents.registry import sections_for
    from sandbox.engine.config import as_layer

    settings = env_settings(args, env_key, spec)
    steps = settings["steps"]
    layer: dict[str, dict[str, Any]] = {
        "run": {"env": spec.id, "env_kwargs": dict(spec.kwargs), "eval_env_kwargs": dict(spec.eval_kwargs), "agent": agent,
                "seed": seed, "steps": steps, "eval_every": settings["eval_every"], "eval_episodes": args.eval_episodes,
                "checkpoint_every": steps},
        "dqn": acting_rule(rule or "paper"),
        "prior": as_layer(prior_config),
    }  # fmt: skip
    if agent not in spec.presets:
        layer["dqn"].update(alpha=args.alpha, k=args.k, epsilon_decay_steps=max(1, steps // 2))
        layer["ppo"] = {"alpha": args.kl_alpha}
    for section, values in [*sections_for({"features": settings["features"]}).items(), *spec.kept.get(agent, {}).items()]:
        layer.setdefault(section, {}).update(values)
    return layer


def run_one(
    config: Any, run_dir: Path, env_key: str, on_evaluation: Callable[[dict[str, float]], None] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Train (or, for an agent that learns nothing, evaluate once at step 0) and return the run's row and curve;
    `on_evaluation` sees each evaluation of a training run as it happens."""
    started = time.monotonic()
    if not learns(config.run.agent):
        agent_object, rows = evaluate_once(config)
    else:
        agent_object, rows = train_run(config, run_dir, on_evaluation=on_evaluation)
    prior = getattr(agent_object, "prior", None)
    result = {
        "env": env_key,
        "agent": config.run.agent,
        "seed": config.run.seed,
        "steps": config.run.steps,
        "final_success": rows[-1]["eval_success"],
        "best_success": max(row["eval_success"] for row in rows),
        "llm_calls": int(rows[-1]["llm_calls"]),
        "cache_hit_rate": round(prior.stats.cache_hit_rate, 4) if prior is not None else None,
        "wall_s": round(time.monotonic() - started, 1),
    }
    curve = [{"env": env_key, "agent": config.run.agent, "seed": config.run.seed, "step": int(row["step"]),
              "eval_success": row["eval_success"]} for row in rows]  # fmt: skip
    return result, curve


def learns(agent: str) -> bool:
    """False for an agent that nothing changes (the LLM-only and random agents): it is evaluated once. A row's
    agent may also be another report's variant label (the ablation's "dqn-prior k=1 ..."): those all learn."""
    from agents.registry import AGENTS

    spec = AGENTS.get(agent)
    return spec is None or spec.learns


def evaluate_once(config: Any) -> tuple[Any, list[dict[str, float]]]:
    """The LLM-only and random agents: one greedy evaluation, on evaluation episodes of their own per seed
    (the trainer's evaluation seeds are the same for every seed, which would make their seeds copies)."""
    from agents.registry import make_agent
    from sandbox.engine.runs import make_env_for
    from sandbox.engine.training import EVAL_SEED, evaluate

    agent = make_agent(config)
    env, family = make_env_for(config)
    seed = EVAL_SEED + config.run.seed * config.run.eval_episodes
    result = evaluate(agent, env, family, episodes=config.run.eval_episodes, history=config.prior.history, seed=seed)
    prior = getattr(agent, "prior", None)
    llm_calls = prior.stats.llm_calls if prior is not None else 0
    return agent, [{"step": 0, "eval_success": result.success_rate, "llm_calls": llm_calls}]


def summarise(runs: list[dict[str, Any]], curves: list[dict[str, Any]]) -> list[dict[str, Any]]:
    summary = []
    for env_key in dict.fromkeys(run["env"] for run in runs):
        in_env = [run for run in runs if run["env"] == env_key]
        agents = list(dict.fromkeys(run["agent"] for run in in_env))
        finals = {
            agent: mean_interval([r["final_success"] for r in in_env if r["agent"] == agent], 0.0, 1.0) for agent in agents
        }
        best = max(interval.mean for interval in finals.values())
        threshold = THRESHOLD * best
        per_agent = {}
        for agent in agents:
            steps, over_run = [], []
            for run in (r for r in in_env if r["agent"] == agent):
                rows = [row for row in curves if (row["env"], row["agent"], row["seed"]) == (env_key, agent, run["seed"])]
                reached = first_step_at(rows, threshold) if best > 0 else None
                run["steps_to_threshold"] = reached
                steps.append(run["steps_to_threshold"])
                over_run.append(sum(row["eval_success"] for row in rows) / len(rows))
            budgets = [r["steps"] for r in in_env if r["agent"] == agent]
            censored = [budget if step is None else step for step, budget in zip(steps, budgets)]
            per_agent[agent] = {
                "env": env_key,
                "agent": agent,
                "seeds": len(steps),
                "threshold": threshold,
                "reached": sum(step is not None for step in steps),
                # Agents that learn nothing have no step axis: `reached` says it all.
                "mean_steps_to_threshold": float(sum(censored) / len(censored))
                if best > 0 and learns(agent)
                else None,
                **finals[agent].columns("final_success"),
                # The area under the learning curve over its length: speed and stability in one number,
                # where a single final evaluation can land in a dip.
                **mean_interval(over_run, 0.0, 1.0).columns("run_success"),
                "llm_calls_per_run": sum(r["llm_calls"] for r in in_env if r["agent"] == agent) / len(steps),
                "wall_s_per_run": sum(r["wall_s"] for r in in_env if r["agent"] == agent) / len(steps),
            }
        for agent, row in per_agent.items():  # DQN-Prior under each acting rule against the one DQN
            baseline = BASELINES.get(agent.partition("[")[0])
            if baseline in per_agent and per_agent[baseline]["mean_steps_to_threshold"]:
                row["ratio_vs_baseline"] = row["mean_steps_to_threshold"] / per_agent[baseline]["mean_steps_to_threshold"]
        summary.extend(per_agent.values())
    return summary


def summary_table(summary: list[dict[str, Any]]) -> str:
    rows = []
    for row in summary:
        steps = row["mean_steps_to_threshold"]
        rows.append([
            row["env"],
            row["agent"],
            f"{row['threshold']:.0%}",
            f"{row['reached']}/{row['seeds']}",
            "—" if steps is None else f"{steps:.0f}",
            Interval.from_columns(row, "final_success", row["seeds"]).percent(),
            Interval.from_columns(row, "run_success", row["seeds"]).percent(),
            f"{row['ratio_vs_baseline']:.2f}" if "ratio_vs_baseline" in row else "",
            f"{row['llm_calls_per_run']:.0f}",
            f"{row['wall_s_per_run']:.0f}",
        ])  # fmt: skip
    headers = ["env", "agent", "threshold", "reached", "mean env steps", "final success [95% CI]",
               "success over the run [95% CI]", "prior / baseline", "LLM calls / run", "wall s / run"]  # fmt: skip
    return markdown_table(headers, rows)


def describe(args: argparse.Namespace, prior_config: Any) -> str:
    return (
        f"{seeds_text(args.seeds)}; greedy evaluation on {args.eval_episodes} episodes. Per env, budget in env steps, "
        f"evaluation interval and features: {budgets_text(args)}. Prior {prior_config.model} ({prior_config.mode} "
        f"mode), DQN-Prior α = {args.alpha}, k = {args.k}; PPO-Prior KL weight {args.kl_alpha}. Threshold: "
        f"{THRESHOLD:.0%} of the best agent's mean final success in each env; a run that never reaches it counts as "
        f"the whole budget in the mean. Success over the run is the mean of every greedy evaluation (the area under "
        f"the learning curve over its length). LLM calls count queries the model answered (cache misses)."
    )


def missing_text(missing: list[str]) -> str:
    if not missing:
        return ""
    return f"Not in this report (--kept-only; not finished when it was written): {', '.join(missing)}."


def budgets_text(args: argparse.Namespace) -> str:
    parts = []
    for key in args.envs:
        settings = env_settings(args, key)
        presets = f", DQN agents from presets {' and '.join(settings['presets'].values())}" if settings["presets"] else ""
        parts.append(f"{key} {settings['steps']}, every {settings['eval_every']}, {settings['features']}{presets}")
    return "; ".join(parts)


def plot(plt: Any, curves: list[dict[str, Any]], runs: list[dict[str, Any]], args: argparse.Namespace) -> Any:
    """Mean greedy success over env steps, one panel per env, three panels to a row; an agent keeps its colour
    on every panel, and the legend names every agent of any panel (a panel may lack some: unfinished runs)."""
    envs = list(dict.fromkeys(run["env"] for run in runs))
    learners = [agent for agent in dict.fromkeys(run["agent"] for run in runs) if learns(agent)]
    colors = {agent: f"C{index % 10}" for index, agent in enumerate(learners)}
    columns = min(3, len(envs))
    rows = -(-len(envs) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 3.6 * rows), squeeze=False)
    panels = axes.flatten()
    for axis, env_key in zip(panels, envs):
        for agent in dict.fromkeys(run["agent"] for run in runs if run["env"] == env_key):
            points = [row for row in curves if row["env"] == env_key and row["agent"] == agent]
            if not learns(agent):
                mean = sum(row["eval_success"] for row in points) / len(points)
                axis.axhline(mean, linestyle="--", linewidth=1, label=agent, color="grey" if agent == "random" else "black")
                continue
            steps = sorted({row["step"] for row in points})
            at = {step: [row["eval_success"] for row in points if row["step"] == step] for step in steps}
            means = [sum(at[step]) / len(at[step]) for step in steps]
            axis.plot(steps, means, label=agent, color=colors[agent])
        axis.set_title(env_key)
        axis.set_xlabel("env steps")
        axis.set_ylim(-0.05, 1.05)
    for axis in panels[len(envs):]:
        axis.set_visible(False)
    for row in axes:
        row[0].set_ylabel(f"greedy success (mean of {seeds_text(args.seeds)})")
    entries: dict[str, Any] = {}
    for axis in panels:
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    panels[columns - 1].legend(
        list(entries.values()), list(entries), loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small"
    )
    figure.tight_layout()
    return figure
