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
    parser.add_argument(
        "--check",
        action="store_true",
        help="walk the lesson headless, doing what each page does, and print whether each claim it makes holds "
        "on these live numbers (exit status 1 if one does not)",
    )
    parser.add_argument("--json", action="store_true", help="with --check: print one JSON object")
    parser.add_argument(
        "--classroom",
        action="store_true",
        help="as `serve` runs a lesson: the lesson's oracle prior unless --prior-model is given, exports only under "
        "--saves, no prior cache file or prompt templates, one thread",
    )
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
    if args.json and not args.check:
        raise SandboxError("--json goes with --check (the lesson itself is interactive)")
    lesson = LESSONS[args.lesson]
    if args.classroom:  # as `serve` runs it: many of these share a machine, and each writes only under --saves
        if args.prior_model is None:
            args.prior_model = lesson.classroom_prior
        args.threads = 1
        args.prior_cache = "none"  # the disk cache's file lives outside --saves, and tabs would share it
        args.templates_dir = "none"
    config = lesson_run_config(args, lesson.agent)
    if args.check:
        return print_checks(args, config)
    from sandbox.ui.screens.demo import DemoApp

    # The prior-strength lesson's screen gives its DQN-Prior the oracle, whatever --prior-model says.
    DemoApp(args.lesson, config, saves_dir=args.saves, train_steps=args.steps).run()
    return 0


def lesson_run_config(args: argparse.Namespace, agent: str) -> "RunConfig":  # noqa: F821
    """The lake's tuned defaults for the lesson's agent, then the flags; each lesson then sets
    its own env options, agent and the DQN settings that make its short live runs teach."""
    from sandbox.arguments import config_from_args
    from sandbox.ui.lessons import LESSON_ENV

    skipped = {"steps", "check", "json", "classroom"}  # the lesson's own options, not a run's
    flags = argparse.Namespace(**{name: value for name, value in vars(args).items() if name not in skipped})
    return config_from_args(flags, experiment=[(f"demo {args.lesson}", {"run": {"env": LESSON_ENV, "agent": agent}})])


def print_checks(args: argparse.Namespace, config: "RunConfig") -> int:  # noqa: F821
    """`demo NAME --check`: every claim of the lesson, checked headless; exit status 1 if one fails."""
    from sandbox.arguments import print_json
    from sandbox.ui.controller import use_one_torch_thread
    from sandbox.ui.lesson_checks import check_lesson
    from sandbox.ui.lessons import LESSONS

    use_one_torch_thread()
    verdicts = check_lesson(LESSONS[args.lesson], config, saves_dir=args.saves, steps=args.steps)
    passed = all(verdict.holds for verdict in verdicts)
    if args.json:
        print_json(
            {
                "lesson": args.lesson,
                "prior_model": config.prior.model,
                "seed": config.run.seed,
                "passed": passed,
                "checks": [verdict.to_json() for verdict in verdicts],
            }
        )
    else:
        for verdict in verdicts:
            mark = "ok  " if verdict.holds else "FAIL"
            print(f"{mark} {verdict.check}: {verdict.claim}\n       seen: {verdict.seen}")
        print(f"{args.lesson}: {'every claim holds' if passed else 'a claim does not hold'} ({config.prior.model}, seed {config.run.seed})")
    return 0 if passed else 1
