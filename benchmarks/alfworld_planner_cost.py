"""What the oracle's optimal actions cost on ALFWorld: one planner search per new state, by task type.

    .venv/bin/python benchmarks/alfworld_planner_cost.py                          # the fixture games
    ALFWORLD_DATA=../shared/alfworld .venv/bin/python benchmarks/alfworld_planner_cost.py \
        --data-dir ../shared/alfworld --games 3 --out-dir docs/results

A reset never plans; `optimal_actions()` runs Fast Downward from the current state, once per
new state (a state along a plan it found inherits the plan's rest). So an agent that follows
the planner pays one search per episode, and one that leaves the plan (the oracle prior at
S < 1, exploration, a learning Q) pays one per state it has not seen. Per task type and game
this times, in one process: the reset, the search from the start (the plan's length with it),
and the search from the state one step off that plan. Wall and CPU seconds both: the machine
may be shared, and the search is single-threaded, so its CPU time does not depend on the load.
The reset is the baseline, measured in the same run: each search is also reported in resets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "alfworld"
TASKS = ("pick-place", "examine-in-light", "clean-place", "heat-place", "cool-place", "pick-two-place")


def timed(call: Any) -> tuple[Any, float, float]:
    """call()'s value, its wall seconds and its CPU seconds (this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = call()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def measure_game(data_dir: Path, split: str, task: str, first_game: int) -> dict[str, Any]:
    from envs import make_env
    from envs.optimal import optimal_actions

    env = make_env("alfworld-v0", data_dir=str(data_dir), split=split, task=task, first_game=first_game)
    (_, info), reset_wall, reset_cpu = timed(lambda: env.reset(seed=0))
    game = env.unwrapped
    first, start_wall, start_cpu = timed(lambda: optimal_actions(env))
    plan_length = len(game._plans[game._state_key()])  # the plan the search found, cached for its state
    detour = next(action for action in info["admissible_commands"] if action not in first)
    env.step(detour)
    _, off_wall, off_cpu = timed(lambda: optimal_actions(env))
    searches = game.planner_calls
    env.close()
    assert searches == 2, f"expected one search at the start and one off the plan, counted {searches}"
    return {
        "task": task, "game": first_game, "plan_length": plan_length, "reset_s": reset_wall, "reset_cpu_s": reset_cpu,
        "start_search_s": start_wall, "start_search_cpu_s": start_cpu,
        "off_plan_search_s": off_wall, "off_plan_search_cpu_s": off_cpu,
    }  # fmt: skip


def summarise(games: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for task in dict.fromkeys(game["task"] for game in games):
        mine = [game for game in games if game["task"] == task]
        searches = [game[key] for game in mine for key in ("start_search_s", "off_plan_search_s")]
        cpu = [game[key] for game in mine for key in ("start_search_cpu_s", "off_plan_search_cpu_s")]
        reset = statistics.mean(game["reset_s"] for game in mine)
        rows.append({
            "task": task, "games": len(mine), "plan_length_mean": round(statistics.mean(g["plan_length"] for g in mine), 1),
            "reset_s_mean": round(reset, 3), "search_s_mean": round(statistics.mean(searches), 3),
            "search_s_max": round(max(searches), 3), "search_cpu_s_mean": round(statistics.mean(cpu), 3),
            "search_in_resets": round(statistics.mean(searches) / reset, 2),
        })  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=FIXTURES, help="ALFWorld data folder (default: the test fixtures)")
    parser.add_argument("--split", default="valid_train")
    parser.add_argument("--games", type=int, default=1, help="games per task type (the first ones, in path order)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--out-dir", type=Path, help="write alfworld_planner_cost.{csv,md} here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.games < 1:
        parser.error("--games must be at least 1")

    games = [measure_game(args.data_dir, args.split, task, first) for task in args.tasks for first in range(args.games)]
    rows = summarise(games)
    load = [round(value, 2) for value in os.getloadavg()]
    lines = [
        "| task type | games | plan length (mean) | reset s (mean) | search s (mean) | search s (max) | search CPU s (mean)"
        " | a search in resets |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *(f"| {row['task']} | {row['games']} | {row['plan_length_mean']} | {row['reset_s_mean']} | {row['search_s_mean']} | "
          f"{row['search_s_max']} | {row['search_cpu_s_mean']} | {row['search_in_resets']} |" for row in rows),
    ]  # fmt: skip
    text = "\n".join(lines) + (
        f"\n\nTwo searches per game: from the start, and from one step off the start's plan. Split {args.split}, the "
        f"first {args.games} game(s) of each task type; load average {load} (wall seconds are the machine's; the "
        f"search is single-threaded, so CPU seconds are not inflated by the load)."
    )
    if args.out_dir:
        from sandbox.results.common import write_csv, write_markdown

        args.out_dir.mkdir(parents=True, exist_ok=True)
        write_csv(args.out_dir / "alfworld_planner_cost.csv", games)
        command = f"python benchmarks/alfworld_planner_cost.py --data-dir DIR --split {args.split} --games {args.games}"
        source = " (the test fixtures)" if args.data_dir == FIXTURES else f" (data: {args.data_dir.name})"
        write_markdown(args.out_dir / "alfworld_planner_cost.md", "Planner cost on ALFWorld states",
                       f"Regenerate: `{command}`{source}", text)  # fmt: skip
    print(json.dumps({"rows": rows, "games": games, "load_average": load}) if args.json else text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
