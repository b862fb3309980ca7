"""Prior strength: how good must a prior be? Sample efficiency along the oracle prior's skill dial.

The oracle prior (`--prior-model oracle:skill=S`, agents/prior/oracle.py) knows each state's
optimal actions O and puts mass S on them (S < 0: mass |S| on the other actions), so its
skill, (p(O) − u)/(1 − u) with u = |O|/|A|, is S by construction, and it asks no language
model. DQN-Prior and PPO-Prior train with it at each skill, DQN and PPO without a prior are
the references, on Frozen Lake 4x4, coin collector, household pick-place (trained on 4 train
games, evaluated on 4 unseen ones) and Overcooked tomato salad, each at its budget and
settings of `bench sample-efficiency` (whose Trainer, runs and statistics this reuses).

Reported per env, learner and skill, over seeds: env steps to 90% of the best final success
in the env (a run that never gets there counts as the whole budget) as a ratio to the
reference's mean, and success over the run (the mean of every greedy evaluation), each with
its 95% interval; the skill where the mean ratio first falls to 1/2 and 1/10 (2× and 10×
fewer steps), interpolated linearly between measured skills. The plot marks each real prior
(models and variants) at the skill `bench prior-quality` measured for the env's family, read
from its CSV when there is one. With `--keep-runs DIR` a killed run resumes where it stopped;
`--kept-only` reports what it holds so far.
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from sandbox.results.common import (
    RESULTS_DIR,
    Finished,
    Interval,
    Report,
    add_kept_only_argument,
    add_output_arguments,
    check_kept_only,
    compute_text,
    evaluation_lines,
    finished_report,
    kept_or_run,
    markdown_table,
    mean_interval,
    output_stem,
    prior_settings,
    pyplot,
    runs_folder,
    seeds_text,
    write_outputs,
)
from sandbox.results.sample_efficiency import ENVS as SAMPLE_EFFICIENCY_ENVS
from sandbox.results.sample_efficiency import (
    acting_settings,
    add_run_arguments,
    check_rules,
    default_kl_alpha,
    env_settings,
    run_config,
    run_one,
    summarise,
)

HELP = "prior strength: steps to 90% success (ratio to DQN/PPO) and success over the run against the oracle prior's skill"
NAME = "prior_strength"
SKILLS = (-0.5, 0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
REFERENCES = {"dqn-prior": "dqn", "ppo-prior": "ppo"}  # learner with the prior → the same learner without one
RULES = ("paper", "default")  # DQN-Prior's acting rules (`[dqn] greedy` and `target`); its reference DQN keeps paper's
HOUSEHOLD = SAMPLE_EFFICIENCY_ENVS["household-pick-place"]
# Each env at its budget of `bench sample-efficiency`, with hashed text features: every arm of an env shares
# them, and they cost a small fraction of MiniLM's (this experiment trains 16 arms per env and seed).
FEATURES = "hash"
ENVS = {
    "frozenlake-4x4": replace(SAMPLE_EFFICIENCY_ENVS["frozenlake-4x4"], features=FEATURES),
    "coin-collector-5": replace(SAMPLE_EFFICIENCY_ENVS["coin-collector-5"], features=FEATURES),
    "household-pick-place": replace(
        HOUSEHOLD, kwargs={**HOUSEHOLD.kwargs, "n_games": 4}, eval_kwargs={"split": "unseen", "n_games": 4},
        features=FEATURES,
    ),
    "overcooked-tomato": replace(SAMPLE_EFFICIENCY_ENVS["overcooked-tomato"], features=FEATURES),
}
# The `bench prior-quality` family whose skill places a real prior on each env's curve.
QUALITY_FAMILIES = {
    "frozenlake-4x4": "frozenlake-4x4",
    "coin-collector-5": "tw-coin-collector",
    "household-pick-place": "household-unseen",
    "overcooked-tomato": "overcooked",
}
SPEEDUPS = (2.0, 10.0)
THRESHOLD = 0.9
QUALITY_CSVS = (RESULTS_DIR / "prior_quality.csv", RESULTS_DIR / "prior_quality_quick.csv")
QUICK = {
    "envs": ["frozenlake-4x4", "coin-collector-5"], "skills": [-0.5, 1.0], "seeds": 2, "steps": 500,
    "eval_every": 100, "eval_episodes": 2,
}  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument("--skills", nargs="+", type=float, default=list(SKILLS), metavar="S", help="oracle skills in [-1, 1]")
    parser.add_argument("--learners", nargs="+", default=list(REFERENCES), choices=list(REFERENCES))
    parser.add_argument(
        "--rules", nargs="+", default=list(RULES), metavar="RULE",
        help="DQN-Prior's acting rules, one arm each: paper, default or GREEDY+TARGET such as map+soft "
        "(docs/concepts/acting-rules.md); default: %(default)s",
    )  # fmt: skip
    add_run_arguments(parser)
    parser.add_argument(
        "--quality-csv",
        type=Path,
        nargs="+",
        help="`bench prior-quality`'s CSVs (one run or several, read together), whose skills place the real"
        f" priors on the curve (default: {QUALITY_CSVS[0]}, else {QUALITY_CSVS[1]})",
    )
    add_kept_only_argument(parser)
    add_output_arguments(
        parser,
        f"envs {' '.join(QUICK['envs'])}, skills {QUICK['skills']}, {QUICK['seeds']} seeds, {QUICK['steps']} steps, "
        f"eval every {QUICK['eval_every']} on {QUICK['eval_episodes']} episodes",
    )


def check(args: argparse.Namespace) -> None:
    from sandbox.errors import SandboxError

    if args.seeds < 1 or args.eval_episodes < 1 or any(v is not None and v < 1 for v in (args.steps, args.eval_every)):
        raise SandboxError("--seeds, --steps, --eval-every and --eval-episodes must all be at least 1")
    if any(not -1.0 <= skill <= 1.0 for skill in args.skills):
        raise SandboxError(f"--skills must lie in [-1, 1] (the oracle's dial), got {args.skills}")
    check_kept_only(args)
    check_rules(args.rules)
    for path in args.quality_csv or []:
        if not path.is_file():
            raise SandboxError(f"--quality-csv {path} is not a file; run `python -m sandbox bench prior-quality`")


def check_oracle_knows(env_key: str) -> None:
    """A one-line error, before any training, when the env cannot name its optimal actions off the
    walkthrough (what the oracle prior reads at every state a learner visits)."""
    from envs import make_env
    from envs.optimal import OptimalActionsUnknown, optimal_actions
    from sandbox.errors import SandboxError

    spec = ENVS[env_key]
    env = make_env(spec.id, **spec.kwargs)
    try:
        env.reset(seed=0)
        optimal_actions(env)
    except OptimalActionsUnknown as error:
        raise SandboxError(f"{env_key}: the oracle prior cannot be used here: {error}") from None
    finally:
        env.close()


def oracle_config(skill: float) -> Any:
    from agents.prior import PriorConfig

    return PriorConfig(model=f"oracle:skill={skill:g}", mode="score", cache_path=None)


def arms(args: argparse.Namespace) -> list[tuple[str, float | None, str | None]]:
    """(agent, skill, rule) per arm: each learner's reference (skill None), then every learner (DQN-Prior once
    per acting rule) at each skill, coarse to fine along the dial, so a long run stopped (or reported with
    --kept-only) early spans the whole dial."""
    return [(REFERENCES[learner], None, None) for learner in args.learners] + [
        (learner, skill, rule)
        for skill in coarse_to_fine(args.skills)
        for learner in args.learners
        for rule in (args.rules if learner == "dqn-prior" else [None])
    ]


def coarse_to_fine(skills: list[float]) -> list[float]:
    """The ends of the dial first, then each time the skill farthest from every one taken."""
    left = sorted(set(skills))
    order = [left.pop()] + ([left.pop(0)] if left else [])
    while left:
        farthest = max(left, key=lambda skill: min(abs(skill - taken) for taken in order))
        order.append(farthest)
        left.remove(farthest)
    return order


def curve_name(learner: str, rule: str | None) -> str:
    """One curve along the dial: a learner, with DQN-Prior's acting rule, e.g. dqn-prior[paper]."""
    return learner if rule is None else f"{learner}[{rule}]"


def label(agent: str, skill: float | None, rule: str | None = None) -> str:
    return curve_name(agent, rule) if skill is None else f"{curve_name(agent, rule)} skill={skill:g}"


def run(args: argparse.Namespace) -> Report:
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    check(args)
    for env_key in args.envs:
        check_oracle_knows(env_key)
    default_kl_alpha(args)
    plt = pyplot()
    quality, quality_source = read_quality(args.quality_csv)
    started = time.monotonic()
    finished = Finished()
    with runs_folder(args.keep_runs) as root:
        # Seed by seed, so a long run killed (or reported with --kept-only) halfway has every arm.
        for seed in range(args.seeds):
            for env_key in args.envs:
                for agent, skill, rule in arms(args):
                    finished.add(
                        args,
                        f"{env_key} {label(agent, skill, rule)} seed {seed}",
                        kept_or_run_arm(args, root, env_key, agent, skill, seed, rule),
                        lambda result: f"{env_key:<21}{result['agent']:<22} seed {seed}  "
                                       f"final {result['final_success']:.0%}  {result['wall_s']:.0f} s",
                    )  # fmt: skip
    finished.check_any(args)
    runs, curves, missing = finished.runs, finished.curves, finished.missing
    rows = summarise_strength(runs, curves)
    needed = needed_skills(rows)
    placed = place_real_priors(rows, quality)
    table = summary_table(rows) + "\n" + needed_table(needed) + "\n" + placed_table(placed)
    intro = " ".join(
        [describe(args), quality_text(quality_source), compute_text(runs), missing_text(runs, missing, args), regenerate_text(args)]
    )
    files = write_outputs(
        args.out_dir,
        output_stem(NAME, args.quick),
        {"": rows, "_runs": runs, "_curves": curves},
        plot(plt, rows, needed, placed, args),
        "Prior strength: how good must a prior be?",
        intro,
        table,
    )
    settings = {
        "envs": {key: env_settings(args, key, ENVS[key]) for key in args.envs}, "skills": sorted(args.skills),
        "learners": args.learners, "rules": args.rules, "seeds": args.seeds, "eval_episodes": args.eval_episodes, "alpha": args.alpha,
        "kl_alpha": args.kl_alpha, "k": args.k, "threshold": f"{THRESHOLD} x best final success per env",
        "quality_csv": quality_source, "quick": args.quick,
    }  # fmt: skip
    data = {
        "experiment": "prior-strength",
        "settings": settings,
        "summary": rows,
        "needed_skill": needed,
        "real_priors": placed,
        "runs": runs,
        "missing": missing,
    }
    return finished_report(data, files, started, table)


def kept_or_run_arm(
    args: argparse.Namespace, root: Path, env_key: str, agent: str, skill: float | None, seed: int,
    rule: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]], bool] | None:  # fmt: skip
    """Train one arm's seed (the learner with the oracle at `skill`, or the reference for None; DQN-Prior
    by acting `rule`), or read it back from `--keep-runs`; None with --kept-only when it is not kept."""
    prior = oracle_config(0.0 if skill is None else skill)
    config = run_config(args, prior, env_key, agent, seed, ENVS[env_key], rule=rule, by="bench prior-strength")
    settings = {**env_settings(args, env_key, ENVS[env_key]), "eval_episodes": args.eval_episodes,
                "alpha": args.alpha, "k": args.k, "kl_alpha": args.kl_alpha}  # fmt: skip
    if agent.startswith("dqn"):  # what decides how DQN acts and learns, whichever rule named it
        settings["acting"] = acting_settings(config.dqn)
    if skill is not None:
        settings["prior"] = prior_settings(prior)
    name = curve_name(agent, rule).replace("[", "-").replace("]", "").replace("+", "-")
    name = name if skill is None else f"{name}-skill{skill:g}"
    run_dir = root / f"{env_key}-{name}-s{seed}"

    def train() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        result, curve = run_one(config, run_dir, env_key, evaluation_lines(args, f"{env_key} {name} seed {seed}", config.run.steps))
        tags = {"agent": label(agent, skill, rule), "learner": agent, "skill": skill, "rule": rule}
        return {**result, **tags}, [{**row, **tags} for row in curve]

    return kept_or_run(run_dir, settings, train, kept_only=args.kept_only)


def summarise_strength(runs: list[dict[str, Any]], curves: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per env and arm: `bench sample-efficiency`'s summary (threshold over every arm in the env), with each
    prior arm's steps as a ratio to its reference's mean, per seed, and that ratio's 95% interval."""
    rows = []
    for row in summarise(runs, curves):
        first = next(run for run in runs if run["env"] == row["env"] and run["agent"] == row["agent"])
        rule = first.get("rule")  # runs kept before acting rules were arms have none
        rows.append({"env": row["env"], "learner": first["learner"], "rule": rule,
                     "curve": curve_name(first["learner"], rule), "skill": first["skill"], **row})  # fmt: skip
    envs = list(dict.fromkeys(row["env"] for row in rows))
    learners = [*REFERENCES.values(), *REFERENCES]  # references first, then the learners with a prior
    rows.sort(
        key=lambda row: (envs.index(row["env"]), learners.index(row["learner"]), row["rule"] or "", row["skill"] or 0.0)
    )
    for row in rows:
        if row["skill"] is None:
            continue
        reference = next(
            (r for r in rows if r["env"] == row["env"] and r["agent"] == REFERENCES[row["learner"]]), None
        )
        row["reference_reached"] = None if reference is None else f"{reference['reached']}/{reference['seeds']}"
        base = reference and reference["mean_steps_to_threshold"]
        mine = [run for run in runs if run["env"] == row["env"] and run["agent"] == row["agent"]]
        if not base or row["mean_steps_to_threshold"] is None:
            row.update(ratio=math.nan, ratio_low=math.nan, ratio_high=math.nan)
            continue
        ratios = [(run["steps"] if run["steps_to_threshold"] is None else run["steps_to_threshold"]) / base for run in mine]
        row.update(mean_interval(ratios, 0.0).columns("ratio"))
    return rows


def needed_skills(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per env and curve (learner and acting rule), the least skill at which the mean ratio reaches 1/2 and
    1/10 (interpolated)."""
    needed = []
    for env_key in dict.fromkeys(row["env"] for row in rows):
        for learner in dict.fromkeys(row["curve"] for row in rows if row["env"] == env_key and row["skill"] is not None):
            curve = sorted(
                (row["skill"], row["ratio"])
                for row in rows
                if (row["env"], row["curve"]) == (env_key, learner) and row["skill"] is not None
            )
            entry: dict[str, Any] = {"env": env_key, "learner": learner}
            for speedup in SPEEDUPS:
                entry[f"skill_for_{speedup:g}x"] = skill_reaching(curve, 1.0 / speedup)
            needed.append(entry)
    return needed


def skill_reaching(curve: list[tuple[float, float]], target: float) -> float | None:
    """The first skill (going up the dial) where the ratio falls to `target`, linear between measured
    points; None if no measured skill gets there (or nothing was measured)."""
    points = [(skill, ratio) for skill, ratio in curve if not math.isnan(ratio)]
    for index, (skill, ratio) in enumerate(points):
        if ratio <= target:
            if index == 0:
                return skill
            previous_skill, previous_ratio = points[index - 1]
            share = (previous_ratio - target) / (previous_ratio - ratio)
            return previous_skill + share * (skill - previous_skill)
    return None


def read_quality(paths: list[Path] | None) -> tuple[list[dict[str, Any]], str | None]:
    """Each real prior's skill per family from `bench prior-quality`'s CSVs (the uniform and oracle rows left
    out: they are the dial's own ends), and the files it came from; none when there is no file. Without
    `paths`, the first of QUALITY_CSVS that exists. A prior, variant and family in several files: the first's."""
    if not paths:
        paths = [candidate for candidate in QUALITY_CSVS if candidate.is_file()][:1]
    if not paths:
        return [], None
    quality: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for path in paths:
        with open(path, newline="") as stream:
            for row in csv.DictReader(stream):
                if row["prior"] == "uniform" or row["prior"].startswith("oracle") or not row.get("skill"):
                    continue
                if math.isnan(float(row["skill"])) or (row["prior"], row["variant"], row["family"]) in seen:
                    continue
                seen.add((row["prior"], row["variant"], row["family"]))
                quality.append(
                    {"prior": row["prior"], "variant": row["variant"], "family": row["family"], "skill": float(row["skill"])}
                )
    return quality, ", ".join(str(path) for path in paths)


def place_real_priors(rows: list[dict[str, Any]], quality: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each real prior at its measured skill on each env's curve, with the ratio the curve gives there."""
    placed = []
    for env_key in dict.fromkeys(row["env"] for row in rows):
        family = QUALITY_FAMILIES[env_key]
        for entry in (entry for entry in quality if entry["family"] == family):
            name = entry["prior"] + ("" if entry["variant"] in ("default", "-") else f" [{entry['variant']}]")
            item: dict[str, Any] = {"env": env_key, "family": family, "prior": name, "skill": entry["skill"]}
            for learner in dict.fromkeys(row["curve"] for row in rows if row["env"] == env_key and row["skill"] is not None):
                curve = sorted(
                    (row["skill"], row["ratio"])
                    for row in rows
                    if (row["env"], row["curve"]) == (env_key, learner) and row["skill"] is not None
                )
                item[f"{learner}_ratio"] = ratio_at(curve, entry["skill"])
            placed.append(item)
    return placed


def ratio_at(curve: list[tuple[float, float]], skill: float) -> float:
    """The curve's ratio at `skill`, linear between measured skills; NaN outside them."""
    points = [(s, r) for s, r in curve if not math.isnan(r)]
    for (low_skill, low_ratio), (high_skill, high_ratio) in zip(points, points[1:]):
        if low_skill <= skill <= high_skill:
            share = (skill - low_skill) / (high_skill - low_skill)
            return low_ratio + share * (high_ratio - low_ratio)
    return points[0][1] if len(points) == 1 and points[0][0] == skill else math.nan


def ratio_text(row: dict[str, Any]) -> str:
    if math.isnan(row["ratio"]):
        return "—"
    if row["seeds"] < 2:
        return f"{row['ratio']:.2f} (1 seed)"
    return f"{row['ratio']:.2f} [{row['ratio_low']:.2f}, {row['ratio_high']:.2f}]"


def summary_table(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        steps = row["mean_steps_to_threshold"]
        lines.append([
            row["env"], row["curve"], "—" if row["skill"] is None else f"{row['skill']:g}", f"{row['threshold']:.0%}",
            f"{row['reached']}/{row['seeds']}", "—" if steps is None else f"{steps:.0f}",
            "" if row["skill"] is None else ratio_text(row),
            Interval.from_columns(row, "run_success", row["seeds"]).percent(),
            Interval.from_columns(row, "final_success", row["seeds"]).percent(),
            f"{row['wall_s_per_run']:.0f}",
        ])  # fmt: skip
    headers = ["env", "learner", "oracle skill", "threshold", "reached", "mean env steps",
               "steps / reference [95% CI]", "success over the run [95% CI]", "final success [95% CI]",
               "wall s / run"]  # fmt: skip
    return markdown_table(headers, lines)


def skill_text(value: float | None) -> str:
    return "not within the measured skills" if value is None else f"{value:.2f}"


def needed_table(needed: list[dict[str, Any]]) -> str:
    lines = [[e["env"], e["learner"], *(skill_text(e[f"skill_for_{s:g}x"]) for s in SPEEDUPS)] for e in needed]
    return markdown_table(["env", "learner", *(f"skill for {s:g}× fewer steps" for s in SPEEDUPS)], lines)


def placed_table(placed: list[dict[str, Any]]) -> str:
    if not placed:
        return ""
    learners = [key.removesuffix("_ratio") for key in dict.fromkeys(k for e in placed for k in e if k.endswith("_ratio"))]
    lines = [
        [e["env"], e["prior"], e["family"], f"{e['skill']:.3f}",
         *("—" if math.isnan(e.get(f"{learner}_ratio", math.nan)) else f"{e[f'{learner}_ratio']:.2f}" for learner in learners)]
        for e in placed
    ]  # fmt: skip
    headers = ["env", "real prior", "prior-quality family", "measured skill", *(f"{l} ratio there" for l in learners)]
    return markdown_table(headers, lines)


def describe(args: argparse.Namespace) -> str:
    budgets = "; ".join(
        f"{key} {s['steps']} steps, eval every {s['eval_every']}, {s['features']}"
        + (f", evaluated on {s['eval_kwargs']}" if "eval_kwargs" in s else "")
        for key in args.envs
        for s in [env_settings(args, key, ENVS[key])]
    )
    return (
        f"The oracle prior (score mode) at skills {', '.join(f'{s:g}' for s in sorted(args.skills))}; "
        f"{', '.join(args.learners)} against {', '.join(REFERENCES[learner] for learner in args.learners)}; "
        f"{seeds_text(args.seeds)}, greedy evaluation on {args.eval_episodes} episodes. Per env: {budgets}. "
        f"DQN-Prior α = {args.alpha}, k = {args.k}; PPO-Prior KL weight {args.kl_alpha}. Threshold: {THRESHOLD:.0%} "
        f"of the best arm's mean final success in each env; a run that never reaches it counts as the whole budget. "
        f"Steps / reference: each seed's steps over the reference's mean steps, mean and 95% interval over seeds (when "
        f"the reference never reaches the threshold its mean is the budget, so the ratio is an upper bound); it cannot "
        f"fall below one evaluation interval over the reference's steps. Skill for 2×/10×: the least skill where the "
        f"mean ratio reaches 1/2 and 1/10, linear between measured skills."
    )


def quality_text(source: str | None) -> str:
    if source is None:
        return "No `bench prior-quality` CSV was found, so no real prior is placed on the curve."
    families = ", ".join(f"{env} ← {family}" for env, family in QUALITY_FAMILIES.items())
    return f"Real priors placed at their skill from {source} (env ← prior-quality family: {families})."


def missing_text(runs: list[dict[str, Any]], missing: list[str], args: argparse.Namespace) -> str:
    """What a --kept-only report lacks, per env: how many of its runs finished and on which seeds."""
    if not missing:
        return ""
    per_env = []
    for env_key in args.envs:
        done = [run for run in runs if run["env"] == env_key]
        seeds = sorted({run["seed"] for run in done})
        whole = [seed for seed in seeds if sum(run["seed"] == seed for run in done) == len(arms(args))]
        per_env.append(
            f"{env_key} {len(done)} of {len(arms(args)) * args.seeds}"
            + (f" (every arm on seed {', '.join(map(str, whole))})" if whole else "")
        )
    return (
        f"Not finished when this report was written (--kept-only; `--json` lists them): {len(missing)} runs. "
        f"Finished per env: {'; '.join(per_env)}."
    )


SHAPING_FLAGS = ("envs", "skills", "learners", "rules", "seeds", "steps", "eval_every", "eval_episodes", "alpha", "kl_alpha", "k", "features")


def regenerate_text(args: argparse.Namespace) -> str:
    """The command that reruns this report's experiment: every flag that shapes it and differs from its default
    (--quick stands for its own settings), so the line alone trains the same arms."""
    command = "python -m sandbox bench prior-strength" + (" --quick" if args.quick else "")
    if not args.quick:
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        default_args = parser.parse_args([])
        default_kl_alpha(default_args)
        defaults = vars(default_args)
        for name in SHAPING_FLAGS:
            value = getattr(args, name)
            if value is not None and value != defaults[name]:
                values = value if isinstance(value, list) else [value]
                command += f" --{name.replace('_', '-')} " + " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)
    if args.keep_runs is not None:
        command += f" --keep-runs {args.keep_runs}" + (" --kept-only" if args.kept_only else "")
    return f"Regenerate: `{command}`."


def plot(
    plt: Any, rows: list[dict[str, Any]], needed: list[dict[str, Any]], placed: list[dict[str, Any]],
    args: argparse.Namespace,
) -> Any:  # fmt: skip
    """Per env (a column): steps / reference against skill, log scale, with the 2× and 10× lines and the
    skill each needs (top); success over the run against skill with the references as dashed lines
    (bottom); the real priors as dotted verticals at their measured skill on both."""
    envs = list(dict.fromkeys(row["env"] for row in rows))
    figure, axes = plt.subplots(2, len(envs), figsize=(4.4 * len(envs), 7.0), squeeze=False)
    colours = {"dqn-prior": "tab:blue", "ppo-prior": "tab:orange", "dqn": "tab:blue", "ppo": "tab:orange"}
    for column, env_key in enumerate(envs):
        top, bottom = axes[0][column], axes[1][column]
        curves = dict.fromkeys((row["learner"], row["rule"]) for row in rows if row["skill"] is not None)
        for index, (learner, rule) in enumerate(curves):  # a colour per curve: rules of one learner side by side
            arm = sorted(
                (row for row in rows if row["env"] == env_key and (row["learner"], row["rule"]) == (learner, rule)),
                key=lambda row: row["skill"],
            )
            if not arm:
                continue
            skills = [row["skill"] for row in arm]
            name = curve_name(learner, rule)
            plot_with_interval(top, skills, arm, "ratio", f"C{index}", name)
            plot_with_interval(bottom, skills, arm, "run_success", f"C{index}", name)
            reference = next((row for row in rows if row["env"] == env_key and row["agent"] == REFERENCES[learner]), None)
            if reference is not None:
                bottom.axhline(reference["run_success"], color=colours[learner], linestyle="--", linewidth=1,
                               label=f"{REFERENCES[learner]} (no prior)")  # fmt: skip
                if reference["mean_steps_to_threshold"]:  # no ratio below one evaluation interval over the reference's
                    floor = env_settings(args, env_key, ENVS[env_key])["eval_every"] / reference["mean_steps_to_threshold"]
                    top.axhline(floor, color=colours[learner], linestyle="-.", linewidth=0.8, alpha=0.6,
                                label="resolution floor (one eval interval)")  # fmt: skip
            entry = next((e for e in needed if (e["env"], e["learner"]) == (env_key, name)), None)
            for speedup, marker in zip(SPEEDUPS, ("o", "*")):
                skill = entry and entry[f"skill_for_{speedup:g}x"]
                if skill is not None:
                    top.plot([skill], [1.0 / speedup], marker=marker, color=f"C{index}", markersize=9,
                             markerfacecolor="none")  # fmt: skip
        top.axhline(1.0, color="black", linewidth=1, label="reference (no prior)")
        for speedup in SPEEDUPS:
            top.axhline(1.0 / speedup, color="grey", linestyle=":", linewidth=1)
            top.annotate(f"{speedup:g}×", (1.0, 1.0 / speedup), xytext=(2, 2), textcoords="offset points",
                         fontsize="x-small", color="grey")  # fmt: skip
        for index, entry in enumerate(e for e in placed if e["env"] == env_key):
            for axis in (top, bottom):
                axis.axvline(entry["skill"], color="green", linestyle=":", linewidth=1)
            bottom.annotate(entry["prior"], (entry["skill"], 0.02 + 0.08 * (index % 6)), fontsize="xx-small",
                            color="green", rotation=0)  # fmt: skip
        top.set_yscale("log")
        top.set_title(env_key)
        bottom.set_xlabel("oracle prior skill")
        bottom.set_ylim(-0.02, 1.05)
    axes[0][0].set_ylabel("env steps to 90% / reference's")
    axes[1][0].set_ylabel("success over the run")
    for row in axes:  # one legend per row, from every panel in it (an env may lack an arm in a partial report)
        handles = {}
        for axis in row:
            for handle, name in zip(*axis.get_legend_handles_labels()):
                handles.setdefault(name, handle)
        row[-1].legend(handles.values(), handles.keys(), loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    figure.text(0.01, -0.01, "○ / ☆: the skill where the curve reaches 2× / 10× fewer steps; green dotted: a real prior at "
                "its skill measured by bench prior-quality", fontsize="small")  # fmt: skip
    figure.tight_layout()
    return figure


def plot_with_interval(axis: Any, skills: list[float], arm: list[dict[str, Any]], key: str, colour: str, name: str) -> None:
    means = [row[key] for row in arm]
    axis.plot(skills, means, marker=".", color=colour, label=name)
    low = [row[f"{key}_low"] for row in arm]
    high = [row[f"{key}_high"] for row in arm]
    if not all(math.isnan(value) for value in low):
        axis.fill_between(skills, low, high, color=colour, alpha=0.15)
