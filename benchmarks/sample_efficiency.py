"""Sample efficiency: env steps to reach 90% greedy eval success, per agent, over seeds.

    .venv/bin/python benchmarks/sample_efficiency.py                 # Frozen Lake 4x4 + coin collector L5
    .venv/bin/python benchmarks/sample_efficiency.py --quick --json  # a smoke run

Runs DQN, DQN-Prior, PPO, PPO-Prior and the LLM-only agent through the same Trainer
as `python -m sandbox train`, and prints, per env and agent: the mean env steps to the
first evaluation at ≥ 90% success (runs that never get there count as the step
budget and are reported as such), the final success, and the ratio of each prior
agent to its baseline (DQN-Prior/DQN, PPO-Prior/PPO).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.registry import AGENT_NAMES  # noqa: E402
from sandbox.config import RunConfig  # noqa: E402
from sandbox.training import Trainer  # noqa: E402

ENVS = {
    "frozenlake-4x4": ("TextFrozenLake-v0", {"map_name": "4x4"}),
    "coin-collector-5": ("tw-coin-collector-v0", {"level": 5}),
}
TARGET = 0.9
BASELINES = {"dqn-prior": "dqn", "ppo-prior": "ppo"}  # prior agent → the same learner without the prior


def run_one(env_key: str, agent: str, seed: int, steps: int, eval_every: int, args: argparse.Namespace, root: Path) -> dict:
    env_id, env_kwargs = ENVS[env_key]
    config = RunConfig()
    config.run.env, config.run.env_kwargs = env_id, dict(env_kwargs)
    config.run.agent, config.run.seed = agent, seed
    config.run.steps, config.run.eval_every = steps, eval_every
    config.run.eval_episodes = args.eval_episodes
    config.run.checkpoint_every = steps
    config.dqn.seed = config.ppo.seed = seed
    config.dqn.features = config.ppo.features = args.features
    config.dqn.alpha, config.dqn.k = args.alpha, args.k
    config.dqn.epsilon_decay_steps = max(1, steps // 2)
    config.ppo.alpha = args.kl_alpha
    config.prior.model = args.prior_model
    config.prior.mode = args.prior_mode
    config.prior.cache_path = args.prior_cache
    if agent == "llm":  # nothing to learn: evaluate once
        config.run.steps = config.run.eval_every = 1
    started = time.monotonic()
    trainer = Trainer(config, root / f"{env_key}-{agent}-s{seed}")
    trainer.reset()
    rows = trainer.run()
    trainer.close()
    reached = next((int(row["step"]) for row in rows if row["eval_success"] >= TARGET), None)
    prior = getattr(trainer.agent, "prior", None)
    return {
        "env": env_key,
        "agent": agent,
        "seed": seed,
        "steps_to_target": reached,
        "final_success": rows[-1]["eval_success"],
        "llm_calls": rows[-1]["llm_calls"],
        "cache_hit_rate": prior.stats.cache_hit_rate if prior is not None else None,
        "wall_s": round(time.monotonic() - started, 1),
    }


def summarise(results: list[dict], budget: dict[str, int]) -> list[dict]:
    rows = []
    for env_key in dict.fromkeys(r["env"] for r in results):
        per_agent = {}
        for agent in dict.fromkeys(r["agent"] for r in results if r["env"] == env_key):
            runs = [r for r in results if r["env"] == env_key and r["agent"] == agent]
            steps = [r["steps_to_target"] if r["steps_to_target"] is not None else budget[env_key] for r in runs]
            per_agent[agent] = {
                "env": env_key,
                "agent": agent,
                "seeds": len(runs),
                "reached": sum(r["steps_to_target"] is not None for r in runs),
                "mean_steps_to_90": float(np.mean(steps)),
                "final_success": float(np.mean([r["final_success"] for r in runs])),
                "wall_s": float(np.sum([r["wall_s"] for r in runs])),
            }
        for agent, baseline in BASELINES.items():
            if agent in per_agent and baseline in per_agent:
                per_agent[agent]["ratio_vs_baseline"] = (
                    per_agent[agent]["mean_steps_to_90"] / per_agent[baseline]["mean_steps_to_90"]
                )
        rows.extend(per_agent.values())
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument(
        "--agents", nargs="+", default=["dqn", "dqn-prior", "ppo", "ppo-prior", "llm"], choices=AGENT_NAMES
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2000, help="step budget per run")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--alpha", type=float, default=10.0, help="DQN-Prior's posterior sharpness")
    parser.add_argument(
        "--kl-alpha", type=float, default=RunConfig().ppo.alpha, help="PPO-Prior's KL weight α·KL(π‖p_LLM)"
    )
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--features", default="minilm", choices=("minilm", "hash"))
    parser.add_argument("--prior-model", default="smollm2-135m")
    parser.add_argument("--prior-mode", default="score", choices=("score", "sample"))
    parser.add_argument("--prior-cache", default="saves/prior_cache.sqlite")
    parser.add_argument("--out", type=Path, help="keep run folders here (default: a temporary folder)")
    parser.add_argument("--quick", action="store_true", help="1 seed, 300 steps, Frozen Lake only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps, args.eval_every, args.envs = 1, 300, 50, ["frozenlake-4x4"]

    budget = {env_key: args.steps for env_key in args.envs}
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        root = args.out or Path(scratch)
        for env_key in args.envs:
            for agent in args.agents:
                for seed in range(args.seeds):
                    result = run_one(env_key, agent, seed, args.steps, args.eval_every, args, root)
                    results.append(result)
                    if not args.json:
                        print(json.dumps(result), file=sys.stderr)
    summary = summarise(results, budget)
    if args.json:
        print(json.dumps({"target": TARGET, "budget": budget, "summary": summary, "runs": results}))
        return 0
    print(f"\n{'env':<18}{'agent':<11}{'seeds':>6}{'reached':>8}{'steps→90%':>11}{'final':>7}{'ratio':>7}{'wall s':>8}")
    for row in summary:
        ratio = f"{row['ratio_vs_baseline']:.2f}" if "ratio_vs_baseline" in row else ""
        print(
            f"{row['env']:<18}{row['agent']:<11}{row['seeds']:>6}{row['reached']:>8}"
            f"{row['mean_steps_to_90']:>11.0f}{row['final_success']:>7.0%}{ratio:>7}{row['wall_s']:>8.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
