"""`python -m sandbox serve [LESSON | --app]`: the lessons (or the whole app) in the browser, one process per tab."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "serve"
HELP = "serve the lessons (or, with --app, the whole sandbox) to browsers: one app process per tab, classroom mode"
DEFAULT_MAX_SESSIONS = 8  # benchmarks/serve_sessions.py: what 2 cores keep quick (docs/guides/classroom.md)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group()
    target.add_argument("lesson", nargs="?", metavar="LESSON", help="serve only this lesson (default: all, listed on the first page)")
    target.add_argument("--app", action="store_true", help="serve the whole sandbox app instead of the lessons")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback: this machine only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--allow-remote", action="store_true", help="required to listen on an address other machines can reach"
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=DEFAULT_MAX_SESSIONS,
        metavar="N",
        help=f"most tabs running at once; the next one gets a 'class is full' page (default {DEFAULT_MAX_SESSIONS})",
    )
    parser.add_argument("--saves", type=Path, default=Path("saves"), help="the only folder served apps write to")
    parser.add_argument(
        "--prior-model", default="oracle:skill=0.5", help="with --app: the prior (the lessons use each lesson's own oracle)"
    )


def run(args: argparse.Namespace) -> int:
    from sandbox.errors import SandboxError
    from sandbox.ui.lessons import LESSONS
    from sandbox.web import ClassroomServer, app_target, check_host, lesson_targets

    if args.lesson is not None and args.lesson not in LESSONS:
        raise SandboxError(f"unknown lesson {args.lesson!r}; lessons: {', '.join(LESSONS)}")
    if args.max_sessions < 1:
        raise SandboxError(f"--max-sessions must be at least 1, got {args.max_sessions}")
    if not 0 < args.port < 65536:
        raise SandboxError(f"--port must be between 1 and 65535, got {args.port}")
    check_host(args.host, args.allow_remote)
    saves = args.saves.resolve()
    if args.app:
        targets = app_target(saves, args.prior_model)
    else:
        lessons = {name: (lesson.title, lesson.summary) for name, lesson in LESSONS.items()}
        targets = lesson_targets(lessons, saves, only=args.lesson)
    server = ClassroomServer(targets, host=args.host, port=args.port, max_sessions=args.max_sessions, saves=saves)
    print(f"serving {', '.join(targets)} to at most {args.max_sessions} tabs at once; open\n  {server.url}\n(Ctrl+C stops)", flush=True)
    server.serve()
    return 0
