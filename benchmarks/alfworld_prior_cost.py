"""Prior cost at ALFWorld's size: ms per new state for score mode and sample mode, same states, same run.

    .venv/bin/python benchmarks/alfworld_prior_cost.py                       # the fixture games, 1 thread
    .venv/bin/python benchmarks/alfworld_prior_cost.py --data-dir DIR --games 3 --threads 2

ALFWorld states list 10-50 admissible commands. The states are those along the planner's
plan in each game (its first `--states` steps), plus one state off the plan per game; each is
queried once per mode with every cache off, so each query is a new state; the two modes take
turns state by state, so a change in the machine's load falls on both. Score mode scores
every admissible command (one prompt, all candidates); sample mode draws k free-form
completions (the config's k and max_new_tokens) and maps them to commands. Both use the
embedded SmolLM2-135M (as the defaults do) on `--threads` llama.cpp threads; the model load is
timed apart. It prints the figures (and the ratio sample/score, measured in this run) and,
with --out-dir, writes them as CSV and markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "alfworld"
TASKS = ("pick-place", "examine-in-light", "clean-place", "heat-place", "cool-place", "pick-two-place")


def states(data_dir: Path, split: str, games: int, per_game: int) -> list:
    """Text states along the planner's plan of each task type's first `games` games, and one off it."""
    from envs import make_env
    from sandbox.engine.session import text_state

    collected = []
    for task in TASKS:
        for first in range(games):
            env = make_env("alfworld-v0", data_dir=str(data_dir), split=split, task=task, first_game=first)
            observation, info = env.reset(seed=0)
            plan = env.unwrapped.walkthrough() or []
            for command in plan[:per_game]:
                collected.append(text_state("household", observation, info, ()))
                observation, _, _, _, info = env.step(command)
            detour = next(action for action in info["admissible_commands"] if plan and action != plan[min(per_game, len(plan) - 1)])
            observation, _, _, _, info = env.step(detour)
            collected.append(text_state("household", observation, info, ()))
            env.close()
    return collected


def timed(priors: dict, queries: list) -> dict[str, list]:
    """(ms, tokens evaluated, answer) per query and mode, each a cache miss (the caches are off). The modes take
    turns state by state, so a change in the machine's load falls on both."""
    spent: dict[str, list] = {mode: [] for mode in priors}
    for query in queries:
        for mode, prior in priors.items():
            started = time.perf_counter()
            result = prior(query)
            spent[mode].append(((time.perf_counter() - started) * 1000, result.tokens_evaluated, result))
    return spent


def _share(value: float | str) -> str:
    return f"{value:.0%}" if isinstance(value, float) else "—"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=FIXTURES, help="ALFWorld data folder (default: the test fixtures)")
    parser.add_argument("--split", default="valid_train")
    parser.add_argument("--games", type=int, default=1, help="games per task type")
    parser.add_argument("--states", type=int, default=4, help="states along each game's plan")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads (the project's default is 2)")
    parser.add_argument("--out-dir", type=Path, help="write alfworld_prior_cost.{csv,md} here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from agents.prior import PriorConfig, build_prior

    queries = states(args.data_dir, args.split, args.games, args.states)
    sizes = [len(query.actions) for query in queries]
    priors, load_ms = {}, {}
    for mode in ("score", "sample"):
        config = PriorConfig(mode=mode, cache_path=None, memory_cache_size=0, n_threads=args.threads, templates_dir=None)
        priors[mode] = build_prior(config)
        started = time.perf_counter()
        priors[mode].load()
        load_ms[mode] = (time.perf_counter() - started) * 1000
    spent = timed(priors, queries)
    rows = []
    for mode, prior in priors.items():
        ms = [value for value, _, _ in spent[mode]]
        answers = [result for _, _, result in spent[mode]]
        rows.append({
            "mode": mode, "k": prior.config.k if mode == "sample" else "", "states": len(ms),
            "actions_min": min(sizes), "actions_mean": round(statistics.mean(sizes), 1), "actions_max": max(sizes),
            "ms_mean": round(statistics.mean(ms), 1), "ms_median": round(statistics.median(ms), 1),
            "ms_max": round(max(ms), 1), "tokens_mean": round(statistics.mean(tokens for _, tokens, _ in spent[mode])),
            # Sample mode: the share of its completions that named an admissible command, and of states where none did.
            "proposals_mapped": round(1 - sum(a.dropped for a in answers) / sum(len(a.proposals) for a in answers), 3)
            if mode == "sample" else "",
            "uniform_fallbacks": sum(a.fallback_uniform for a in answers) if mode == "sample" else "",
            "load_ms": round(load_ms[mode]), "threads": args.threads,
        })  # fmt: skip
        prior.close()
    ratio = rows[1]["ms_mean"] / rows[0]["ms_mean"]
    load = [round(value, 2) for value in os.getloadavg()]
    report = {"rows": rows, "sample_over_score": round(ratio, 2), "load_average": load, "data_dir": str(args.data_dir)}
    lines = [
        "| mode | states | admissible actions (min/mean/max) | ms per new state (mean) | median | max | tokens evaluated"
        " per state | completions naming a command | states left uniform | model load ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *(f"| {row['mode']}{' k=' + str(row['k']) if row['k'] else ''} | {row['states']} | {row['actions_min']}/"
          f"{row['actions_mean']}/{row['actions_max']} | {row['ms_mean']} | {row['ms_median']} | {row['ms_max']} | "
          f"{row['tokens_mean']} | {_share(row['proposals_mapped'])} | {row['uniform_fallbacks']} | {row['load_ms']} |"
          for row in rows),
    ]  # fmt: skip
    text = "\n".join(lines) + (
        f"\n\nSample mode / score mode: {ratio:.2f}x per new state. SmolLM2-135M (Q4_1), llama.cpp on {args.threads} "
        f"thread(s), every cache off, the modes taking turns state by state; load average {load} (a shared machine: "
        f"compare the two rows, measured in one run; tokens evaluated do not depend on the load)."
    )
    if args.out_dir:
        from sandbox.results.common import write_csv, write_markdown

        args.out_dir.mkdir(parents=True, exist_ok=True)
        write_csv(args.out_dir / "alfworld_prior_cost.csv", rows)
        command = f"python benchmarks/alfworld_prior_cost.py --games {args.games} --states {args.states} --threads {args.threads}"
        write_markdown(args.out_dir / "alfworld_prior_cost.md", "Prior cost on ALFWorld states", f"Regenerate: `{command}`"
                       + (f" (data: {args.data_dir.name})" if args.data_dir != FIXTURES else " (the test fixtures)"), text)  # fmt: skip
    print(json.dumps(report) if args.json else text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
