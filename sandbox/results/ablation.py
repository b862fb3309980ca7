"""Ablations of DQN-Prior, one factor at a time around its defaults (k = 5, α = 10, score mode,
no floor), on one env:

- k: proposals drawn from the prior per state while training (k = 1 follows the prior's draw);
- α: the posterior's sharpness, q ∝ p_LLM·exp(α·Q) (small α: act on the prior; large: on Q);
- prior mode: exact scoring of every admissible action vs free-form samples mapped onto them;
- prior floor ε_prior: uniform mass mixed into the prior, so an action it never proposes can
  still be drawn and learnt.

Each variant trains through the same Trainer as `python -m sandbox train`; DQN without a
prior is the reference. Reported per variant, over seeds: env steps to 90% of the best
variant's mean final success (a run that never gets there counts as the whole budget),
final success with its 95% interval, steps over DQN's, LLM calls and wall time per run.
With `--keep-runs DIR` a killed ablation resumes where it stopped.

The full ablation (10 variants + DQN, 5 seeds, 600 steps on coin collector) takes about
20 minutes of runs on 2 CPU cores with a warm prior cache; `--quick` (5 variants + DQN,
2 seeds, 300 steps) about 3 minutes.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from sandbox.arguments import FEATURE_CHOICES, add_prior_arguments, prior_config_from_args
from sandbox.results.common import (
    Finished,
    Interval,
    Report,
    add_output_arguments,
    compute_text,
    evaluation_lines,
    finished_report,
    kept_or_run,
    markdown_table,
    output_stem,
    prior_settings,
    pyplot,
    runs_folder,
    seeds_text,
    write_outputs,
)
from sandbox.results.sample_efficiency import ENVS, run_config, run_one, summarise

HELP = "ablations: DQN-Prior's k, α, prior mode (score vs sample) and prior floor ε, one factor at a time"
NAME = "ablation"
FACTORS = ("k", "alpha", "mode", "floor")
FACTOR_TITLES = {"k": "proposals k", "alpha": "posterior sharpness α", "mode": "prior mode", "floor": "prior floor ε"}
DEFAULT_VALUES = {"k": [1, 2, 5, 10], "alpha": [0.1, 1.0, 10.0, 100.0], "mode": ["score", "sample"], "floor": [0.0, 0.1, 0.3]}
QUICK = {
    "seeds": 2, "steps": 300, "eval_every": 50, "eval_episodes": 3,
    "k_values": [1, 5], "alpha_values": [1.0, 10.0], "modes": ["score", "sample"], "floor_values": [0.0, 0.3],
}  # fmt: skip
REFERENCE = "dqn"  # the same learner without a prior


@dataclass(frozen=True)
class Variant:
    """DQN-Prior's settings in one arm of the ablation."""

    k: int = 5
    alpha: float = 10.0
    mode: str = "score"
    floor: float = 0.0

    @property
    def label(self) -> str:
        return f"k={self.k} α={self.alpha:g} {self.mode} ε={self.floor:g}"


DEFAULT = Variant()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default="coin-collector-5", choices=list(ENVS), help="env of the report (coin-collector-5)")
    parser.add_argument("--factors", nargs="+", default=list(FACTORS), choices=FACTORS, help="factors to vary (all)")
    parser.add_argument("--k-values", nargs="+", type=int, default=DEFAULT_VALUES["k"], metavar="K")
    parser.add_argument("--alpha-values", nargs="+", type=float, default=DEFAULT_VALUES["alpha"], metavar="ALPHA")
    parser.add_argument("--modes", nargs="+", default=DEFAULT_VALUES["mode"], choices=DEFAULT_VALUES["mode"])
    parser.add_argument("--floor-values", nargs="+", type=float, default=DEFAULT_VALUES["floor"], metavar="EPS")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=600, help="env step budget per run")
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--eval-episodes", type=int, default=3)
    parser.add_argument("--features", choices=FEATURE_CHOICES, help="state features (default: the env's own)")
    add_prior_arguments(parser)
    add_output_arguments(
        parser,
        f"{QUICK['seeds']} seeds, {QUICK['steps']} steps, k {QUICK['k_values']}, α {QUICK['alpha_values']}, "
        f"modes {QUICK['modes']}, floors {QUICK['floor_values']}",
    )


def variants(args: argparse.Namespace) -> dict[str, list[Variant]]:
    """Per factor, the default with that one factor changed to each value."""
    values = {"k": args.k_values, "alpha": args.alpha_values, "mode": args.modes, "floor": args.floor_values}
    return {factor: [replace(DEFAULT, **{factor: value}) for value in values[factor]] for factor in args.factors}


def check(args: argparse.Namespace) -> None:
    from sandbox.errors import SandboxError

    if args.seeds < 1 or args.steps < 1 or args.eval_every < 1 or args.eval_episodes < 1:
        raise SandboxError("--seeds, --steps, --eval-every and --eval-episodes must all be at least 1")
    if any(k < 1 for k in args.k_values):
        raise SandboxError(f"--k-values must be at least 1, got {args.k_values}")
    if any(alpha <= 0 for alpha in args.alpha_values):
        raise SandboxError(f"--alpha-values must be above 0, got {args.alpha_values}")
    if any(not 0.0 <= floor <= 1.0 for floor in args.floor_values):
        raise SandboxError(f"--floor-values must lie in [0, 1], got {args.floor_values}")


def run(args: argparse.Namespace) -> Report:
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    check(args)
    plt = pyplot()
    prior_config = prior_config_from_args(args)
    arms = variants(args)
    distinct = list(dict.fromkeys(variant for arm in arms.values() for variant in arm))
    started = time.monotonic()
    finished = Finished()
    with runs_folder(args.keep_runs) as root:
        for variant in [None, *distinct]:  # None: the DQN reference
            for seed in range(args.seeds):
                finished.add(
                    args,
                    f"{variant} seed {seed}",
                    kept_or_run_variant(args, prior_config, root, variant, seed),
                    lambda result: f"{result['agent']:<32} seed {seed}  final {result['final_success']:.0%}  "
                                   f"llm calls {result['llm_calls']}  {result['wall_s']:.0f} s",
                )  # fmt: skip
    runs, curves = finished.runs, finished.curves
    summary = {row["agent"]: row for row in summarise(runs, curves)}
    reference_steps = summary[REFERENCE]["mean_steps_to_threshold"]
    for row in summary.values():
        if reference_steps and row["mean_steps_to_threshold"] is not None:
            row["ratio_vs_dqn"] = row["mean_steps_to_threshold"] / reference_steps
    rows = table_rows(arms, summary)
    table = summary_table(rows, summary[REFERENCE])
    files = write_outputs(
        args.out_dir,
        output_stem(f"{NAME}_{args.env.replace('-', '_')}", args.quick),
        {"": runs, "_curves": curves},
        plot(plt, arms, summary, args),
        "Ablations of DQN-Prior",
        describe(args, prior_config, summary[REFERENCE]["threshold"]) + " " + compute_text(runs),
        table,
    )
    settings = {
        "env": args.env, "factors": {factor: [asdict(v) for v in arm] for factor, arm in arms.items()},
        "default": asdict(DEFAULT), "seeds": args.seeds, "steps": args.steps, "eval_every": args.eval_every,
        "eval_episodes": args.eval_episodes, "prior_model": prior_config.model, "quick": args.quick,
    }  # fmt: skip
    data = {
        "experiment": "ablation",
        "settings": settings,
        "summary": rows,
        "reference": summary[REFERENCE],
        "runs": runs,
    }
    return finished_report(data, files, started, table)


def kept_or_run_variant(
    args: argparse.Namespace, prior_config: Any, root: Path, variant: Variant | None, seed: int
) -> tuple[dict[str, Any], list[dict[str, Any]], bool]:
    """Train DQN-Prior with the variant's settings (or DQN for None), or read the run back from `--keep-runs`."""
    from agents.configs import PPOConfig

    shared = argparse.Namespace(
        steps=args.steps, eval_every=args.eval_every, features=args.features, eval_episodes=args.eval_episodes,
        alpha=DEFAULT.alpha, k=DEFAULT.k, kl_alpha=PPOConfig().alpha,  # no PPO here: its section keeps its default
    )  # fmt: skip
    if variant is None:
        config = run_config(shared, prior_config, args.env, REFERENCE, seed, by="bench ablation")
        name, label = REFERENCE, REFERENCE
    else:  # DQN-Prior by the paper's acting rule, as every kept run of this report
        factors = {"dqn": {"k": variant.k, "alpha": variant.alpha}, "prior": {"mode": variant.mode, "epsilon": variant.floor}}
        config = run_config(shared, prior_config, args.env, "dqn-prior", seed, by="bench ablation", overrides=factors)
        name = f"dqn-prior-k{variant.k}-a{variant.alpha:g}-{variant.mode}-e{variant.floor:g}"
        label = f"dqn-prior {variant.label}"
    run_dir = root / f"{args.env}-{name}-s{seed}"
    settings = {
        "env": args.env, "dqn": asdict(config.dqn), "prior": prior_settings(config.prior), "run": asdict(config.run)
    }

    def train() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        result, curve = run_one(config, run_dir, args.env, evaluation_lines(args, f"{args.env} {label} seed {seed}", config.run.steps))
        result = {"agent": label, **{key: value for key, value in result.items() if key != "agent"}}
        return result, [{**row, "agent": label} for row in curve]

    return kept_or_run(run_dir, settings, train)


def table_rows(arms: dict[str, list[Variant]], summary: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (factor, value); the default's runs appear under every factor they belong to."""
    return [
        {"factor": factor, "value": getattr(variant, factor), "default": variant == DEFAULT,
         **summary[f"dqn-prior {variant.label}"]}
        for factor, arm in arms.items()
        for variant in arm
    ]  # fmt: skip


def summary_table(rows: list[dict[str, Any]], reference: dict[str, Any]) -> str:
    def cells(factor: str, value: str, row: dict[str, Any]) -> list[str]:
        steps = row["mean_steps_to_threshold"]
        return [
            factor, value, f"{row['reached']}/{row['seeds']}", "—" if steps is None else f"{steps:.0f}",
            Interval.from_columns(row, "final_success", row["seeds"]).percent(),
            Interval.from_columns(row, "run_success", row["seeds"]).percent(),
            f"{row['ratio_vs_dqn']:.2f}" if "ratio_vs_dqn" in row else "",
            f"{row['llm_calls_per_run']:.0f}", f"{row['wall_s_per_run']:.0f}",
        ]  # fmt: skip

    lines = [cells(FACTOR_TITLES[row["factor"]], f"{row['value']:g}" if not isinstance(row["value"], str) else
                   row["value"], row) for row in rows]  # fmt: skip
    for line, row in zip(lines, rows):
        if row["default"]:
            line[1] = f"**{line[1]}** (default)"
    lines.append(cells("DQN, no prior", "—", reference))
    headers = ["factor", "value", "reached", "mean env steps", "final success [95% CI]",
               "success over the run [95% CI]", "steps / DQN's",
               "LLM calls / run", "wall s / run"]  # fmt: skip
    return markdown_table(headers, lines)


def describe(args: argparse.Namespace, prior_config: Any, threshold: float) -> str:
    return (
        f"DQN-Prior on {args.env}, one factor changed at a time from the default ({DEFAULT.label}); "
        f"{seeds_text(args.seeds)}, {args.steps} env steps per run, greedy evaluation every {args.eval_every} steps on "
        f"{args.eval_episodes} episodes; prior {prior_config.model}. Threshold: 90% of the best variant's mean final "
        f"success (DQN included), here {threshold:.0%}; a run that "
        f"never reaches it counts as the whole budget in the mean. Success over the run is the mean of every greedy "
        f"evaluation. The default's runs are shared by every factor. "
        f"LLM calls count queries the model answered (cache misses)."
    )


def plot(plt: Any, arms: dict[str, list[Variant]], summary: dict[str, dict[str, Any]], args: argparse.Namespace) -> Any:
    """Per factor: mean env steps to the threshold (top) and success over the run with its 95% interval
    (bottom) for each value; DQN's as a dashed line."""
    figure, axes = plt.subplots(2, len(arms), figsize=(3.6 * len(arms), 6.4), squeeze=False, sharey="row")
    reference = summary[REFERENCE]
    for column, (factor, arm) in enumerate(arms.items()):
        rows = [summary[f"dqn-prior {variant.label}"] for variant in arm]
        labels = [str(getattr(variant, factor)) for variant in arm]
        colours = ["tab:orange" if variant == DEFAULT else "tab:blue" for variant in arm]
        top, bottom = axes[0][column], axes[1][column]
        bars = top.bar(labels, [row["mean_steps_to_threshold"] or args.steps for row in rows], color=colours)
        for bar, row in zip(bars, rows):
            top.annotate(f"{row['reached']}/{row['seeds']}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                         ha="center", va="bottom", fontsize="small")  # fmt: skip
        if reference["mean_steps_to_threshold"]:
            top.axhline(reference["mean_steps_to_threshold"], linestyle="--", color="black", linewidth=1, label="DQN")
        top.set_title(FACTOR_TITLES[factor])
        top.set_ylim(0, args.steps * 1.1)
        means = [row["run_success"] for row in rows]
        spread = [[mean - row["run_success_low"] for mean, row in zip(means, rows)],
                  [row["run_success_high"] - mean for mean, row in zip(means, rows)]]  # fmt: skip
        bottom.bar(labels, means, color=colours, yerr=spread if args.seeds > 1 else None, capsize=3)
        bottom.axhline(reference["run_success"], linestyle="--", color="black", linewidth=1, label="DQN")
        bottom.set_ylim(0, 1.05)
    axes[0][0].set_ylabel("mean env steps to threshold")
    axes[1][0].set_ylabel("success over the run")
    axes[1][-1].legend(loc="upper right", fontsize="small")
    figure.tight_layout()
    return figure
