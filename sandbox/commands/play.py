"""`python -m sandbox play`: the main job. Opens the Textual UI on the default env with the default prior.

`--headless` prints one episode to the terminal instead (over ssh, in CI), and
`--screenshot PATH` writes an SVG of the UI after a few steps and exits.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.arguments import FEATURE_CHOICES, add_prior_arguments

if TYPE_CHECKING:  # imported for real inside the functions: --help must not load torch
    from sandbox.engine.config import RunConfig

NAME = "play"
HELP = "watch, steer and take over an agent with an LLM prior in the terminal UI (default env and prior)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from agents.registry import agent_names

    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", type=Path, help="TOML config file (see sandbox/presets/)")
    source.add_argument("--preset", help="a named preset from sandbox/presets/, e.g. frozenlake-dqn-prior")
    parser.add_argument("--env", help="environment id (default TextFrozenLake-v0; see `python -m sandbox envs`)")
    parser.add_argument(
        "--env-arg", action="append", default=[], metavar="KEY=VALUE", help="environment option, repeatable (e.g. --env-arg level=5)"
    )
    parser.add_argument("--agent", choices=agent_names(), help="default dqn-prior")
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--features", choices=FEATURE_CHOICES, help="Q network text features (default: the env's tuned default)"
    )
    parser.add_argument("--saves", type=Path, default=Path("saves"), help="folder for sessions/ and episodes/")
    parser.add_argument("--headless", action="store_true", help="print one episode to the terminal instead of the UI")
    parser.add_argument(
        "--screenshot", type=Path, metavar="PATH", help="write an SVG of the UI after a few steps and exit"
    )
    parser.add_argument(
        "--screenshot-steps", type=int, default=4, metavar="N", help="agent steps before the screenshot"
    )
    add_prior_arguments(parser, with_defaults=False)


def run(args: argparse.Namespace) -> int:
    from sandbox.arguments import config_from_args

    config = config_from_args(args)  # as `train` builds it: the env's tuned defaults (or the file), the flags
    if args.headless:
        return run_headless(config)
    if args.screenshot is not None:
        from sandbox.ui.screenshot import save_screenshot

        path = save_screenshot(config, args.screenshot, steps=args.screenshot_steps, saves_dir=args.saves)
        print(f"wrote {path}")
        return 0
    from sandbox.ui.app import SandboxApp

    SandboxApp(config, saves_dir=args.saves).run()
    return 0


def run_headless(config: RunConfig) -> int:
    """One episode as plain text: each decision's table, the action taken, what happened."""
    from agents.registry import make_agent
    from sandbox.engine.session import Session
    from sandbox.engine.runs import make_env_for

    env, family = make_env_for(config)
    agent = make_agent(config)
    session = Session(env, agent, family=family, seed=config.run.seed, history_length=config.prior.history)
    state = session.reset()
    print(f"Task: {state.task}\n\n{state.observation}\n")
    while not session.done:
        decision = session.decide()
        print("  action                      prior      Q   posterior")
        for row in sorted(decision.candidates, key=lambda c: -c.posterior):
            q = f"{row.q_value:6.3f}" if row.q_value is not None else "     -"
            print(f"  {row.action[:26]:<26} {row.prior:7.3f} {q} {row.posterior:9.3f}")
        record = session.step()
        print(f"\n> {record.action}   ({record.decision.rule}, reward {record.reward:+.3f})")
        print(f"{record.next_state.observation}\n")
    outcome = "won" if session.info.get("won") else "lost" if session.info.get("lost") else "out of steps"
    print(f"Episode over after {session.t} steps: {outcome}, return {session.episode_return:.3f}")
    return 0
