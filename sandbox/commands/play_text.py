"""`python -m sandbox play-text`: play any env yourself in a plain terminal loop.

Reads commands line by line from stdin, so it works as well with a pipe (scripts, tests)
as with a person at a keyboard.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sandbox.arguments import add_env_arguments, parse_key_values

NAME = "play-text"
HELP = "play an environment yourself: type a command's number or any command, 'quit' to stop"

QUIT_WORDS = frozenset({"quit", "exit"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_env_arguments(parser)
    parser.add_argument("--seed", type=int, default=None, help="reset seed (picks the game of a pool; slippery ice)")


def _choose(line: str, commands: list[str]) -> str | None:
    """A typed number picks that admissible command; any other text is the command itself."""
    if line.isdigit():
        number = int(line)
        if 1 <= number <= len(commands):
            return commands[number - 1]
        print(f"There is no command {number}; type 1-{len(commands)} or a command.")
        return None
    return line


def _show(observation: str, info: dict[str, Any]) -> None:
    print(f"\n{observation}\n")
    for number, command in enumerate(info.get("admissible_commands", []), start=1):
        print(f"  {number:>2}. {command}")


def run(args: argparse.Namespace) -> int:
    from envs import make_env

    env = make_env(args.env, **parse_key_values(args.env_arg))
    try:
        observation, info = env.reset(seed=args.seed)
        print(f"Task: {info['task']}")
        steps, total_reward, ending = 0, 0.0, "You stopped."
        while True:
            _show(observation, info)
            try:
                line = input("> ").strip()
            except EOFError:
                print()
                break
            if not sys.stdin.isatty():
                print(line)  # echo piped input so the transcript reads like a session
            if line.lower() in QUIT_WORDS:
                break
            command = _choose(line, info.get("admissible_commands", []))
            if command is None:
                continue
            observation, reward, terminated, truncated, info = env.step(command)
            steps += 1
            total_reward += reward
            print(f"[reward {reward:+g}, score {info['score']}/{info['max_score']}]")
            if terminated or truncated:
                print(f"\n{observation}")
                ending = "You won!" if info["won"] else "You lost." if info["lost"] else "Out of steps."
                break
        plural = "" if steps == 1 else "s"
        print(f"\n{ending} Score {info['score']}/{info['max_score']}, total reward {total_reward:g}, {steps} step{plural}.")
        print(f"won: {info['won']}, lost: {info['lost']}")
    finally:
        env.close()
    return 0
