"""Prior quality as one number: walk each family's walkthrough and score the prior at every decision.

At every decision of the walk it records |A|, the prior over A and the optimal actions O
(envs/optimal.py: every shortest-path move on Frozen Lake and every shortest-plan macro in
Overcooked; TextWorld's winning policy; every first command of a shortest winning plan in the
household games; the planner's next command in ALFWorld's real games, one family per task type,
walked where $ALFWORLD_DATA holds them; the gold path's next command for TextWorldExpress and ScienceWorld). With
u = |O|/|A| it reports, per family and overall
(the mean over families):

- skill = (p(O) - u) / (1 - u): 0 is uniform, 1 puts all mass on O, below 0 is worse than uniform;
- top-1: the share of decisions whose most probable action is optimal (ties split evenly,
  so the uniform prior scores u);
- log(p(O)/u), mean over decisions: large negative values expose a prior confidently wrong;
- ms per query and tokens evaluated per query (the cache is off, so every query is computed).

Decisions where every action is optimal (u = 1) tell priors apart in nothing and are left out;
so are states whose O the env cannot name (a gold command ScienceWorld's action filter left
out): the table counts them. Rows: each prior model, each prior variant of the LLM models
(agents/prior/variants.py), the uniform prior and the oracle (`oracle:skill=S`, whose skill
measures as S: a check of this benchmark).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from sandbox.results.common import (
    Report,
    add_output_arguments,
    markdown_table,
    output_stem,
    pyplot,
    save_figure,
    write_csv,
    write_markdown,
)

HELP = "prior quality: skill, top-1, log(p(O)/u), ms and tokens per query along each family's walkthrough"
NAME = "prior_quality"
DEFAULT_PRIORS = ("smollm2-135m", "gemma-3-270m", "uniform", "oracle:skill=1")
P_FLOOR = 1e-9  # log(p(O)/u) floors p(O) here: a prior with no mass on O scores about -20, not -inf
OPTIONAL_MODELS = ("gemma-3-270m",)
SPLITS = ("train", "unseen")  # the household splits walked; tune on "train" only (--splits train)  # skipped with a note when not installed, unless named explicitly


@dataclass(frozen=True)
class Game:
    """One walk: an env id with its options, under the family it is reported in."""

    family: str
    env_id: str
    options: dict[str, Any]

    @property
    def name(self) -> str:
        options = ",".join(f"{key}={value}" for key, value in self.options.items() if key != "desc")
        return f"{self.env_id}({options})" if options else self.env_id


def _random_lake(size: int, seed: int) -> dict[str, Any]:
    from gymnasium.envs.toy_text.frozen_lake import generate_random_map

    return {"desc": generate_random_map(size=size, seed=seed), "map_seed": seed}


def _games(quick: bool, splits: tuple[str, ...] = SPLITS) -> list[Game]:
    """Three games (or seeds) per family, fewer with --quick; the household games of `splits`; each id of
    a family without games here (one registered by `envs.register_family`) with its default options."""
    seeds = (0,) if quick else (0, 1, 2)
    games: list[Game] = []
    for size in (4, 8):
        family = f"frozenlake-{size}x{size}"
        games.append(Game(family, "TextFrozenLake-v0", {"map_name": f"{size}x{size}"}))
        games += [Game(family, "TextFrozenLake-v0", _random_lake(size, seed)) for seed in (1, 2)[: 1 if quick else 2]]
    for challenge, options in (("coin-collector", {"level": 5}), ("treasure-hunter", {"level": 5}), ("cooking", {})):
        games += [Game(f"tw-{challenge}", f"tw-{challenge}-v0", {**options, "game_seed": seed}) for seed in seeds]
    games += [Game("overcooked", f"overcooked-{recipe}-v0", {}) for recipe in ("tomato-salad", "tomato-lettuce-salad")]
    from envs.household import FAMILIES

    families = ("pick-place", "heat-place") if quick else tuple(FAMILIES)
    for split in splits:
        games += [
            Game(f"household-{split}", f"household-{family}-v0", {"split": split, "game_seed": seed})
            for family in families
            for seed in seeds
        ]
    for game_type in ("coin-collector",) if quick else ("coin-collector", "commonsense", "map-reader"):
        games += [Game("textworld-express", f"twx-{game_type}-v0", {"game_seed": seed}) for seed in seeds]
    for task in ("lifespan-longest-lived",) if quick else ("lifespan-longest-lived", "lifespan-shortest-lived"):
        games += [Game("scienceworld", "scienceworld-v0", {"task": task, "variation": seed}) for seed in seeds]
    from envs import env_family, list_envs

    benched = {env_family(game.env_id) for game in games}
    return games + [Game(spec.family, spec.id, {}) for spec in list_envs() if spec.family not in benched]


@dataclass(frozen=True)
class Decision:
    """One state of a walk: what a prior is asked, and which of its actions are optimal."""

    family: str
    game: str
    step: int
    query: Any  # PriorQuery, with `optimal` set
    skipped: str = ""  # why no O could be named here


def walk(game: Game, history: int) -> list[Decision]:
    """Follow the game's walkthrough from its start, naming O at every state on the way."""
    from envs import env_family, make_env
    from envs.optimal import OptimalActionsUnknown, optimal_actions
    from sandbox.errors import SandboxError
    from sandbox.engine.session import text_state

    options = {key: value for key, value in game.options.items() if key != "map_seed"}
    env = make_env(game.env_id, **options)
    try:
        observation, info = env.reset(seed=0)
        if not hasattr(env.unwrapped, "walkthrough"):
            raise SandboxError(f"{game.name}: the env offers no walkthrough() for this bench to follow; leave its family out")
        walkthrough = env.unwrapped.walkthrough() or []
        steps: deque[tuple[str, str]] = deque(maxlen=history)
        decisions = []
        for step, command in enumerate(walkthrough):
            skipped = ""
            try:
                optimal: tuple[str, ...] | None = optimal_actions(env, along_walkthrough=True)
            except OptimalActionsUnknown as error:
                optimal, skipped = None, str(error)
            query = text_state(env_family(game.env_id), observation, info, tuple(steps), optimal)
            decisions.append(Decision(game.family, game.name, step, query, skipped))
            steps.append((command, query.observation))
            observation, _, terminated, truncated, info = env.step(command)
            if terminated or truncated:
                break
        if not info.get("won"):
            raise SandboxError(f"{game.name}: its walkthrough does not win; this is a bug in the env")
        return decisions
    finally:
        env.close()


@dataclass(frozen=True)
class Scored:
    family: str
    game: str
    step: int
    n_actions: int
    n_optimal: int
    skill: float
    top1: float
    log_ratio: float
    ms: float
    tokens: int
    probs: str
    optimal: str
    actions: str  # "|"-joined, in the order of `probs`


def log_ratio(probs: np.ndarray, mask: np.ndarray) -> float:
    """log(p(O)/u), u = |O|/|A|: 0 for uniform, below 0 where the prior is confidently wrong (p(O) floored)."""
    return math.log(max(float(probs[mask].sum()), P_FLOOR) / mask.mean())


def score(decisions: list[Decision], prior: Any) -> list[Scored]:
    """Ask the prior at every informative decision (0 < u < 1)."""
    from agents import bayes

    scored = []
    for decision in decisions:
        query = decision.query
        if decision.skipped or len(query.optimal) in (0, len(query.actions)):
            continue
        result = prior(query)
        mask = np.array([action in query.optimal for action in query.actions])
        probs = np.asarray(result.probs, dtype=np.float64)
        best = np.flatnonzero(probs >= probs.max() - 1e-12)
        scored.append(
            Scored(
                family=decision.family,
                game=decision.game,
                step=decision.step,
                n_actions=len(query.actions),
                n_optimal=int(mask.sum()),
                skill=bayes.prior_skill(probs, mask),
                top1=float(mask[best].mean()),
                log_ratio=log_ratio(probs, mask),
                ms=result.ms,
                tokens=result.tokens_evaluated,
                probs=" ".join(f"{p:.4g}" for p in probs),
                optimal="|".join(query.optimal),
                actions="|".join(query.actions),
            )
        )
    return scored


def summary(label: str, variant: str, family: str, rows: list[Scored]) -> dict[str, Any]:
    if not rows:
        empty = dict.fromkeys(("skill", "top1", "log_ratio", "ms_per_query", "tokens_per_query"), math.nan)
        return {"prior": label, "variant": variant, "family": family, "decisions": 0, **empty}
    return {
        "prior": label,
        "variant": variant,
        "family": family,
        "decisions": len(rows),
        "skill": float(np.mean([row.skill for row in rows])),
        "top1": float(np.mean([row.top1 for row in rows])),
        "log_ratio": float(np.mean([row.log_ratio for row in rows])),
        "ms_per_query": float(np.mean([row.ms for row in rows])),
        "tokens_per_query": float(np.mean([row.tokens for row in rows])),
    }


def overall(label: str, variant: str, family_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The mean over families (each family counts once, however long its walks)."""
    keys = ("skill", "top1", "log_ratio", "ms_per_query", "tokens_per_query")
    return {
        "prior": label,
        "variant": variant,
        "family": "overall",
        "decisions": sum(row["decisions"] for row in family_rows),
        **{key: float(np.nanmean([row[key] for row in family_rows])) for key in keys},
    }


# ----- temperature: calibrating a variant's answers after the fact -------------------------------
TEMPERATURES = (0.1, 0.2, 0.3, 0.5, 0.7, 0.85, 1.0, 1.25, 1.5, 2.0, 3.0)


def sharpened(probs: np.ndarray, temperature: float) -> np.ndarray:
    """p_T ∝ p^(1/T): what `--prior-temperature T` makes of the same answer (score mode divides log-probs by T)."""
    from agents import bayes

    return bayes.softmax(np.log(np.maximum(probs, P_FLOOR)) / temperature)


def optimal_mask(row: Mapping[str, str], probs: np.ndarray) -> np.ndarray:
    """Which of a decision row's probabilities are optimal actions. Rows written before the decisions file
    had its `actions` column name them through their skill instead: the n_optimal probabilities whose sum
    is the p(O) that the skill implies (exact up to ties between equal probabilities)."""
    if row.get("actions"):
        optimal = set(row["optimal"].split("|"))
        return np.array([action in optimal for action in row["actions"].split("|")])
    n_optimal, n = int(row["n_optimal"]), probs.size
    u = n_optimal / n
    p_optimal = float(row["skill"]) * (1 - u) + u
    chosen = min(itertools.combinations(range(n), n_optimal), key=lambda picked: abs(probs[list(picked)].sum() - p_optimal))
    mask = np.zeros(n, dtype=bool)
    mask[list(chosen)] = True
    return mask


def temperature_scan(rows: Iterable[Mapping[str, str]], temperatures: Sequence[float] = TEMPERATURES) -> list[dict[str, Any]]:
    """Skill and mean log(p(O)/u) of each prior and variant's answers re-normalised at every temperature, per env
    family (the mean over its walked families, as in the benchmark's tables); `best` marks the temperature with
    the highest log score. The log score is proper (it is best when the mass matches how often the prior is
    right); skill is not (it only grows as T falls wherever top-1 beats chance), which is why it picks T."""
    from agents import bayes
    from envs.registry import env_family

    grouped: dict[tuple[str, str, str], dict[str, list[tuple[np.ndarray, np.ndarray]]]] = {}
    for row in rows:
        probs = np.array([float(value) for value in row["probs"].split()])
        mask = optimal_mask(row, probs)
        if mask.all() or not mask.any():
            continue
        key = (row["prior"], row["variant"], env_family(row["game"].split("(")[0]))
        grouped.setdefault(key, {}).setdefault(row["family"], []).append((probs, mask))
    table = []
    for (prior, variant, family), walked in grouped.items():
        scan = []
        for temperature in temperatures:
            skills, logs = [], []
            for decisions in walked.values():
                sharp = [(sharpened(probs, temperature), mask) for probs, mask in decisions]
                skills.append(np.mean([bayes.prior_skill(p, mask) for p, mask in sharp]))
                logs.append(np.mean([log_ratio(p, mask) for p, mask in sharp]))
            scan.append({"prior": prior, "variant": variant, "env_family": family, "temperature": temperature,
                         "skill": float(np.mean(skills)), "log_ratio": float(np.mean(logs)),
                         "decisions": sum(len(decisions) for decisions in walked.values()), "best": False})  # fmt: skip
        max(scan, key=lambda entry: entry["log_ratio"])["best"] = True
        table += scan
    return table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--priors",
        default=",".join(DEFAULT_PRIORS),
        help="comma-separated prior models: embedded names, uniform, oracle:skill=S, GGUF paths"
        f" (default: {','.join(DEFAULT_PRIORS)}; gemma-3-270m only if installed)",
    )
    parser.add_argument(
        "--variants", default="default", help="comma-separated prior variants scored for each LLM model (default: default)"
    )
    parser.add_argument(
        "--splits",
        default=",".join(SPLITS),
        help="household splits to walk (default: train,unseen); --splits train leaves every unseen game out, for tuning",
    )
    parser.add_argument(
        "--families", default="", help="comma-separated families to walk (default: all), e.g. frozenlake-4x4,overcooked"
    )
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp CPU threads (1 on a shared machine)")
    parser.add_argument("--n-ctx", type=int, default=2048, help="llama.cpp context length")
    parser.add_argument(
        "--prior-server",
        default="",
        metavar="URL",
        help="ask the LLM priors of a server instead of loading them here: openai+http://HOST:PORT/v1 (an engine "
        "serving each --priors name) or http://HOST:PORT (a `prior-server`)",
    )
    parser.add_argument(
        "--prior-api-key-env", default="OPENAI_API_KEY", metavar="NAME", help="environment variable holding its API key"
    )
    add_output_arguments(parser, "a subset (one game per family, two household families) in under 10 minutes on 2 cores")


def _prior_rows(args: argparse.Namespace) -> tuple[list[tuple[str, str, Any]], list[str]]:
    """(label, variant, PriorConfig) per row, and notes on the priors left out."""
    from agents.errors import PriorError
    from agents.prior import PriorConfig
    from agents.prior.oracle import is_oracle_model
    from agents.prior.priors import UNIFORM_MODEL
    from agents.prior.variants import apply_variant, check_variant
    from sandbox.errors import SandboxError

    variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    named = [name.strip() for name in args.priors.split(",") if name.strip()]
    try:
        for variant in variants:
            check_variant(variant)
    except PriorError as error:
        raise SandboxError(str(error)) from None
    base = PriorConfig(cache_path=None, memory_cache_size=0, n_threads=args.threads, n_ctx=args.n_ctx, templates_dir=None)
    rows, notes = [], []
    for model in named:
        if model in OPTIONAL_MODELS and args.priors == ",".join(DEFAULT_PRIORS):
            from agents.prior.models import resolve_model_path

            try:
                resolve_model_path(model)
            except PriorError as error:
                notes.append(f"{model} left out: {error}")
                continue
        if model == UNIFORM_MODEL or is_oracle_model(model):
            rows.append((model, "-", replace(base, model=model)))
        else:
            served = replace(base, model=model, server=args.prior_server, api_key_env=args.prior_api_key_env)
            rows += [(model, variant, apply_variant(served, variant)) for variant in variants]
    if not rows:
        raise SandboxError("no priors to score: name some with --priors")
    return rows, notes


# ALFWorld's games for each household split: its training sample, and its in-distribution evaluation games.
ALFWORLD_SPLITS = {"train": "valid_train", "unseen": "valid_seen"}


def _alfworld_folders(splits: tuple[str, ...]) -> dict[str, Any]:
    """The ALFWorld game folder of each split ($ALFWORLD_DATA, else alfworld's default)."""
    from envs.alfworld_env import default_data_dir, split_folder

    return {split: split_folder(default_data_dir(), ALFWORLD_SPLITS[split]) for split in splits}


def _alfworld_games(quick: bool, splits: tuple[str, ...]) -> list[Game]:
    """Real ALFWorld games, one family per task type ("alfworld-seen-…" for the evaluation games), where
    the data is at hand; the planner's plan is the walkthrough and O at every state."""
    from envs.alfworld_env import TASK_TYPES

    tasks = ("pick-place",) if quick else tuple(TASK_TYPES)
    games = []
    for split, folder in _alfworld_folders(splits).items():
        if not any(folder.glob("*/*/game.tw-pddl")):
            continue
        prefix = "alfworld" if split == "train" else "alfworld-seen"
        games += [
            Game(f"{prefix}-{task}", "alfworld-v0", {"split": ALFWORLD_SPLITS[split], "task": task, "first_game": seed})
            for task in tasks
            for seed in ((0,) if quick else (0, 1, 2))
        ]
    return games


def _alfworld_notes(splits: tuple[str, ...]) -> list[str]:
    from envs.alfworld_env import DATA_ENV

    return [
        f"ALFWorld {ALFWORLD_SPLITS[split]} left out: no games in {folder} (set ${DATA_ENV} to ALFWorld's data folder)"
        for split, folder in _alfworld_folders(splits).items()
        if not any(folder.glob("*/*/game.tw-pddl"))
    ]


def _selected_games(args: argparse.Namespace) -> list[Game]:
    from sandbox.errors import SandboxError

    splits = tuple(name.strip() for name in args.splits.split(",") if name.strip())
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown or not splits:
        raise SandboxError(f"--splits takes {' and/or '.join(SPLITS)}, got {args.splits!r}")
    games = _games(args.quick, splits) + _alfworld_games(args.quick, splits)
    wanted = [name.strip() for name in args.families.split(",") if name.strip()]
    known = list(dict.fromkeys(game.family for game in games))
    if set(wanted) - set(known):
        raise SandboxError(f"--families: no family {', '.join(sorted(set(wanted) - set(known)))}; choose from {', '.join(known)}")
    return [game for game in games if not wanted or game.family in wanted]


def run(args: argparse.Namespace) -> Report:
    from agents.errors import PriorError
    from agents.prior import build_prior
    from sandbox.errors import SandboxError

    plt = pyplot()
    started = time.perf_counter()
    prior_rows, notes = _prior_rows(args)
    games = _selected_games(args)
    notes += _alfworld_notes(tuple(name.strip() for name in args.splits.split(",") if name.strip()))
    decisions: list[Decision] = []
    for game in games:
        decisions += walk(game, history=0)
    walk_s = time.perf_counter() - started
    families = list(dict.fromkeys(game.family for game in games))
    summaries: list[dict[str, Any]] = []
    per_decision: list[dict[str, Any]] = []
    for label, variant, config in prior_rows:
        try:
            prior = build_prior(config)
        except PriorError as error:
            raise SandboxError(f"prior {label}: {error}") from None
        prior_started = time.perf_counter()
        scored = score(decisions, prior)
        prior.close()
        family_rows = [summary(label, variant, family, [r for r in scored if r.family == family]) for family in families]
        summaries += family_rows + [overall(label, variant, family_rows)]
        per_decision += [{"prior": label, "variant": variant, **asdict(row)} for row in scored]
        if not args.json:
            print(f"{label} ({variant}): {len(scored)} decisions, {time.perf_counter() - prior_started:.0f} s", flush=True)
    seconds = time.perf_counter() - started
    skipped = sum(bool(decision.skipped) for decision in decisions)
    trivial = sum(
        not decision.skipped and len(decision.query.optimal) in (0, len(decision.query.actions)) for decision in decisions
    )
    data: dict[str, Any] = {
        "experiment": "prior-quality",
        "quick": args.quick,
        "threads": args.threads,
        "splits": args.splits,
        "families": args.families or "all",
        "games": [game.name for game in games],
        "decisions": len(decisions),
        "decisions_left_out": {"every_action_optimal": trivial, "optimal_unknown": skipped},
        "rows": summaries,
        "notes": notes,
        "walk_s": round(walk_s, 1),
        "wall_s": round(seconds, 1),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }
    stem = output_stem(NAME, args.quick) + ("" if args.splits == ",".join(SPLITS) else "_" + "_".join(args.splits.split(",")))
    stem += "_" + "_".join(args.families.split(",")) if args.families else ""
    labels = [f"{label}" + ("" if variant in ("-", "default") else f" [{variant}]") for label, variant, _ in prior_rows]
    table = _skill_table(summaries, families, labels, prior_rows)
    detail = _overall_table(summaries, labels, prior_rows)
    intro = (
        f"Walkthroughs of {len(games)} games in {len(families)} families ({len(decisions)} decisions: "
        f"{trivial} with every action optimal and {skipped} with unknown O left out), every decision scored by each prior; "
        f"skill = (p(O) - u)/(1 - u), u = |O|/|A|; overall = mean over families. llama.cpp on {args.threads} thread(s), "
        f"no cache; {seconds / 60:.1f} min in all; load average {data['load_average']}."
        + "".join(f"\n\n{note}" for note in notes)
        + "\n\nRegenerate: `python -m sandbox bench prior-quality"
        + (" --quick" if args.quick else "")
        + f" --priors {args.priors} --variants {args.variants} --threads {args.threads}"
        + ("" if args.splits == ",".join(SPLITS) else f" --splits {args.splits}")
        + (f" --families {args.families}" if args.families else "")
        + "`"
    )
    files = [
        write_csv(args.out_dir / f"{stem}.csv", summaries),
        write_csv(args.out_dir / f"{stem}_decisions.csv", per_decision),
        save_figure(_figure(plt, summaries, families, labels, prior_rows), args.out_dir / f"{stem}.png"),
        write_markdown(args.out_dir / f"{stem}.md", "Prior quality", intro, f"{table}\n{detail}"),
    ]
    data["files"] = [str(path) for path in files]
    return Report(data, f"{table}\n{detail}\n{intro}\n\nwrote {', '.join(str(path) for path in files)}")


def _lookup(summaries: list[dict[str, Any]], label: str, variant: str, family: str) -> dict[str, Any]:
    return next(row for row in summaries if (row["prior"], row["variant"], row["family"]) == (label, variant, family))


def _skill_table(summaries: list[dict[str, Any]], families: list[str], labels: list[str], prior_rows: list) -> str:
    rows = []
    for name, (label, variant, _) in zip(labels, prior_rows):
        cells = []
        for family in [*families, "overall"]:
            row = _lookup(summaries, label, variant, family)
            cells.append("-" if not row["decisions"] else f"{row['skill']:.2f}")
        rows.append([name, *cells])
    return markdown_table(["skill", *families, "overall"], rows)


def _overall_table(summaries: list[dict[str, Any]], labels: list[str], prior_rows: list) -> str:
    rows = []
    for name, (label, variant, _) in zip(labels, prior_rows):
        row = _lookup(summaries, label, variant, "overall")
        rows.append(
            [
                name,
                f"{row['skill']:.2f}",
                f"{row['top1']:.0%}",
                f"{row['log_ratio']:.2f}",
                f"{row['ms_per_query']:.1f}",
                f"{row['tokens_per_query']:.0f}",
                row["decisions"],
            ]
        )
    return markdown_table(["prior", "skill", "top-1", "mean log(p(O)/u)", "ms/query", "tokens/query", "decisions"], rows)


def _figure(plt: Any, summaries: list[dict[str, Any]], families: list[str], labels: list[str], prior_rows: list) -> Any:
    columns = [*families, "overall"]
    figure, axes = plt.subplots(figsize=(max(6, 0.9 * len(columns) * max(1, len(labels)) / 2), 3.5))
    width = 0.8 / len(labels)
    for index, (name, (label, variant, _)) in enumerate(zip(labels, prior_rows)):
        values = [_lookup(summaries, label, variant, family)["skill"] for family in columns]
        axes.bar(np.arange(len(columns)) + index * width, values, width, label=name)
    axes.axhline(0, color="black", linewidth=0.8)
    axes.set_xticks(np.arange(len(columns)) + 0.4 - width / 2, columns, rotation=30, ha="right")
    axes.set_ylabel("skill = (p(O) - u)/(1 - u)")
    axes.legend(fontsize="small")
    return figure
