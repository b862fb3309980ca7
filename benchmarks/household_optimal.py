"""The cost of the household games' optimal actions: the shortest-plan search along random walks.

    .venv/bin/python benchmarks/household_optimal.py                 # a table, every family and split
    .venv/bin/python benchmarks/household_optimal.py --steps 10 --json

Each game (seed 0 of each family and split, from the games cache) takes `--steps` random
admissible commands, resetting when it ends; at every state the search names O, its memo kept
along the walk as in a training run. The baseline is the same search over every thing in the
game (nothing left out), measured on the same states: the answers must be equal, and the
ratio says what leaving the unnamed objects out saves.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envs import textworld_plans  # noqa: E402
from envs.household import FAMILIES, SPLITS, find_or_make_household_game  # noqa: E402
from envs.textworld_env import TextWorldEnv  # noqa: E402


def measure(path: Path, steps: int, seed: int) -> dict:
    env = TextWorldEnv([path])
    _, info = env.reset()
    game = env._state["game"]
    small = textworld_plans.WinningPlanner(game)
    with mock.patch.object(textworld_plans, "detachable_types", lambda kb: set()):
        full = textworld_plans.WinningPlanner(game)
    rng = random.Random(seed)
    seconds = {"small": [], "full": []}
    for _ in range(steps):
        progression = env._state["_game_progression"]
        answers = []
        for name, planner in (("small", small), ("full", full)):
            started = time.perf_counter()
            answers.append(planner.first_commands(progression))
            seconds[name].append(time.perf_counter() - started)
        if answers[0] != answers[1]:
            raise AssertionError(f"{path.name}: {answers[0]} != {answers[1]} after leaving objects out")
        *_, terminated, _, info = env.step(rng.choice(info["admissible_commands"]))
        if terminated:
            _, info = env.reset()
    env.close()
    return {
        "states_searched": len(small._successors),
        "states_searched_full": len(full._successors),
        "ms_first_state": round(1000 * seconds["small"][0], 1),
        "ms_mean": round(1000 * sum(seconds["small"]) / steps, 1),
        "ms_mean_full": round(1000 * sum(seconds["full"]) / steps, 1),
        "speedup": round(sum(seconds["full"]) / sum(seconds["small"]), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="states per game along its random walk")
    parser.add_argument("--seed", type=int, default=0, help="the random walk's seed")
    parser.add_argument("--games-dir", default=None, help="games cache (default: $SANDBOX_GAMES_DIR or saves/games)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results = {}
    for family in FAMILIES:
        for split in SPLITS:
            path = find_or_make_household_game(family, split, 0, args.games_dir).path
            results[f"{family}-{split}"] = measure(path, args.steps, args.seed)
    if args.json:
        print(json.dumps(results))
        return 0
    columns = list(next(iter(results.values())))
    print("| game | " + " | ".join(columns) + " |")
    print("| --- " * (len(columns) + 1) + "|")
    for name, row in results.items():
        print(f"| {name} | " + " | ".join(str(row[column]) for column in columns) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
