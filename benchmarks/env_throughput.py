"""Env throughput: steps per second with random admissible actions, per env family.

    .venv/bin/python benchmarks/env_throughput.py            # a table
    .venv/bin/python benchmarks/env_throughput.py --json     # one JSON object

Each env takes uniformly random admissible commands and resets whenever an episode ends,
so the figure includes resets: the rate an agent's environment loop can reach at best.
TextWorld and household games come from the games cache (generated on first use, not timed);
the JVM that TextWorldExpress and ScienceWorld envs start is not timed either.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envs import env_family, make_env  # noqa: E402

CASES = {
    "frozenlake-4x4": ("TextFrozenLake-v0", {"map_name": "4x4"}),
    "frozenlake-8x8-slippery": ("TextFrozenLake-v0", {"map_name": "8x8", "is_slippery": True}),
    "coin-collector-5": ("tw-coin-collector-v0", {"level": 5}),
    "treasure-hunter-1": ("tw-treasure-hunter-v0", {"level": 1}),
    "cooking-1": ("tw-cooking-v0", {}),
    "overcooked-tomato": ("overcooked-tomato-salad-v0", {}),
    "overcooked-tomato-lettuce": ("overcooked-tomato-lettuce-salad-v0", {}),
    "household-pick-place": ("household-pick-place-v0", {}),
    "household-clean-place-unseen": ("household-clean-place-v0", {"split": "unseen"}),
    "household-examine-in-light": ("household-examine-in-light-v0", {}),
    "twx-coin-collector": ("twx-coin-collector-v0", {}),
    "twx-cooking": ("twx-cooking-v0", {}),
    "twx-commonsense": ("twx-commonsense-v0", {}),
    "twx-arithmetic": ("twx-arithmetic-v0", {}),
    "scienceworld-boil": ("scienceworld-v0", {"task": "boil"}),
    "scienceworld-find-living-thing": ("scienceworld-v0", {"task": "find-living-thing"}),
}
GENERATED_GAMES = ("textworld", "household")  # families whose games come from the games cache
# Steps per family relative to --steps: pure Python and TextWorldExpress are fast, ScienceWorld takes ~0.1 s a step.
STEP_FACTORS = {"frozenlake": 20, "overcooked": 20, "textworld-express": 5, "scienceworld": 0.1}


def measure(env_id: str, kwargs: dict, steps: int, seed: int) -> dict:
    env = make_env(env_id, **kwargs)
    rng = np.random.default_rng(seed)
    episodes = 0
    started = time.perf_counter()
    _, info = env.reset(seed=seed)
    for _ in range(steps):
        commands = info["admissible_commands"]
        _, _, terminated, truncated, info = env.step(commands[rng.integers(len(commands))])
        if terminated or truncated:
            episodes += 1
            _, info = env.reset()
    seconds = time.perf_counter() - started
    env.close()
    return {"steps": steps, "episodes": episodes, "seconds": round(seconds, 3), "steps_per_s": round(steps / seconds, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps",
        type=int,
        default=1000,
        help="steps per TextWorld or household env (Frozen Lake, Overcooked: 20x; TextWorldExpress: 5x; ScienceWorld: 0.1x)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--games-dir", default=None, help="games cache (default: $SANDBOX_GAMES_DIR or saves/games)")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="which cases to run (default: all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    results = {}
    for name in args.cases:
        env_id, kwargs = CASES[name]
        family = env_family(env_id)
        if family in GENERATED_GAMES:
            kwargs = {**kwargs, "games_dir": args.games_dir}
            make_env(env_id, **kwargs).close()  # generate (or find) the game outside the timing
        steps = max(1, round(args.steps * STEP_FACTORS.get(family, 1)))
        results[name] = {"env": env_id, "family": family, **measure(env_id, kwargs, steps, args.seed)}

    if args.json:
        print(json.dumps({"benchmark": "env_throughput", "results": results}))
        return 0
    print(f"{'case':<30} {'family':<17} {'steps':>6} {'episodes':>8} {'steps/s':>9}")
    for name, row in results.items():
        print(f"{name:<30} {row['family']:<17} {row['steps']:>6} {row['episodes']:>8} {row['steps_per_s']:>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
