"""`python -m sandbox prior-examples`: rewrite (or check) the few-shot lever's worked examples."""

from __future__ import annotations

import argparse

NAME = "prior-examples"
HELP = "rebuild agents/prior/examples.json (the few-shot prior's examples) from train-split walkthroughs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="only compare with the file; exit 1 if it differs")


def run(args: argparse.Namespace) -> int:
    from agents.prior.examples import EXAMPLES_PATH
    from sandbox.features.prior_examples import build, render, write

    if args.check:
        same = EXAMPLES_PATH.exists() and EXAMPLES_PATH.read_text(encoding="utf-8") == render(build())
        print(f"{EXAMPLES_PATH}: {'up to date' if same else 'differs from a fresh build'}")
        return 0 if same else 1
    print(f"wrote {write(EXAMPLES_PATH)}")
    return 0
