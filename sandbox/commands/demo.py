"""`python -m sandbox demo [NAME]`: guided lessons on real steps; without NAME, the list of lessons."""

from __future__ import annotations

import argparse
from pathlib import Path

from sandbox.arguments import FEATURE_CHOICES, add_prior_arguments

NAME = "demo"
HELP = "teaching lessons: Bayes rule, what α does, a wrong prior, prior vs no prior, how good a prior must be (without NAME: list them)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lesson", nargs="?", metavar="NAME", help="the lesson to open (omit to list them)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--features",
        choices=FEATURE_CHOICES,
        default="hash",
        help="Q features; hash (default) tells the lake's states apart well enough to learn in a lesson's few "
        "hundred steps, minilm's sentence embeddings of these near-identical texts need a few thousand",
    )
    parser.add_argument(
        "--steps", type=int, metavar="N", help="training steps per live-training page or race (default: each lesson's own)"
    )
    parser.add_argument("--saves", type=Path, default=Path("saves"))
    add_prior_arguments(parser, with_defaults=False)


def run(args: argparse.Namespace) -> int:
    from sandbox.errors import SandboxError
    from sandbox.ui.lessons import LESSONS

    if args.lesson is None:
        print("Lessons (open one with `python -m sandbox demo NAME`):\n")
        for lesson in LESSONS.values():
            print(f"  {lesson.name:<18} {lesson.title}: {lesson.summary}")
        return 0
    if args.lesson not in LESSONS:
        raise SandboxError(f"unknown lesson {args.lesson!r}; lessons: {', '.join(LESSONS)}")
    if args.steps is not None and args.steps < 1:
        raise SandboxError(f"--steps must be at least 1, got {args.steps}")
    from sandbox.commands.train import flag_layers
    from sandbox.config import defaults_layer, seeded_config
    from sandbox.ui.screens.demo import DemoApp
    from sandbox.ui.screens.lesson import LESSON_ENV

    # The lake's tuned defaults for the lesson's agent, then the flags; each lesson then sets
    # its own env options, agent and the DQN settings that make its short live runs teach.
    tuned = defaults_layer(LESSON_ENV, LESSONS[args.lesson].agent)
    flags = argparse.Namespace(**{name: value for name, value in vars(args).items() if name != "steps"})  # lesson steps
    config = seeded_config([*([tuned] if tuned else []), *flag_layers(flags)])
    # The prior-strength lesson's screen gives its DQN-Prior the oracle, whatever --prior-model says.
    DemoApp(args.lesson, config, saves_dir=args.saves, train_steps=args.steps).run()
    return 0
