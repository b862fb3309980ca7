"""`python -m sandbox <command>`: one interface for people, scripts and bars.

Each command lives in `sandbox/commands/<name>.py` with `NAME`, `HELP`,
`add_arguments(parser)` and `run(args) -> int`; modules import heavy libraries
inside `run` so that `--help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from sandbox.errors import user_error_types

COMMAND_MODULES = (
    "play",
    "demo",
    "serve",
    "envs",
    "make_game",
    "play_text",
    "prior",
    "prior_examples",
    "train",
    "evaluate",
    "collect",
    "train_offline",
    "bench",
    "sweep",
    "prior_server",
    "replay",
    "watch",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Interactive agent sandbox for text environments with LLM action priors.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(f"sandbox.commands.{module_name}")
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def one_line_warning(message: Warning | str, category: type[Warning], *_: object, **__: object) -> str:
    """Warnings read like errors: `warning: <what happened>`, without a file name and source line."""
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = one_line_warning
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except user_error_types() as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
