"""`python -m sandbox play`: the main job — one episode of the default env with the default prior."""

from __future__ import annotations

import argparse

from sandbox.commands._common import add_env_arguments, add_prior_arguments, parse_key_values, prior_config_from_args

NAME = "play"
HELP = "watch an agent play an episode with the embedded LLM prior (default env and prior)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.registry import AGENT_NAMES

    add_env_arguments(parser)
    parser.add_argument("--agent", choices=AGENT_NAMES, default="dqn-prior")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--features", choices=("minilm", "hash"), default="minilm")
    add_prior_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from agents.dqn import DQNConfig
    from agents.registry import build_agent
    from envs import env_family, make_env
    from sandbox.session import Session

    env = make_env(args.env, **parse_key_values(args.env_arg))
    agent = build_agent(args.agent, DQNConfig(features=args.features, seed=args.seed), prior_config_from_args(args))
    session = Session(env, agent, family=env_family(args.env), seed=args.seed)
    state = session.reset()
    print(f"Task: {state.task}\n\n{state.observation}\n")
    while not session.done:
        decision = session.decide()
        print("  action                      prior      Q   posterior")
        for row in sorted(decision.candidates, key=lambda c: -c.posterior):
            q = f"{row.q_value:6.3f}" if row.q_value is not None else "     -"
            print(f"  {row.action[:26]:<26} {row.prior:7.3f} {q} {row.posterior:9.3f}")
        record = session.step()
        print(f"\n> {record.action}   ({record.decision.rule}, reward {record.reward:+.3f})\n{record.next_state.observation}\n")
    outcome = "won" if session.info.get("won") else "lost" if session.info.get("lost") else "out of steps"
    print(f"Episode over after {session.t} steps: {outcome}, return {session.episode_return:.3f}")
    return 0
