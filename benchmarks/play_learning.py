"""How long until `make play` visibly learns: auto-play on the UI's opening combination, timed.

Drives the real app headless as `make play` opens it (Text Frozen Lake, DQN-Prior with its tuned
defaults, the embedded SmolLM2 prior; --threads 1 here), presses `a` (auto-play) at the chosen
speed, and waits for the automatic greedy evaluations the UI runs every 10 training episodes.
Reports the wall time and env steps to the first evaluation at or above --target success, and
every evaluation on the way; a run that never gets there within --minutes says so.

    python benchmarks/play_learning.py                       # auto-play at "max" speed
    python benchmarks/play_learning.py --speed 2/s --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.cli import build_parser  # noqa: E402
from sandbox.arguments import config_from_args  # noqa: E402
from sandbox.ui.app import SPEEDS, SandboxApp  # noqa: E402
from sandbox.ui.messages import EvaluationDone  # noqa: E402


async def auto_play(speed: str, target: float, minutes: float, saves: Path, play_flags: list[str]) -> dict:
    config = config_from_args(build_parser().parse_args(["play", "--threads", "1", *play_flags]))
    app = SandboxApp(config, saves_dir=saves, record_episodes=False)
    evaluations: list[dict] = []
    started = 0.0

    def hook(message) -> None:
        if isinstance(message, EvaluationDone):
            evaluations.append(
                {"minutes": round((time.monotonic() - started) / 60, 2), "step": message.step,
                 "success": message.result.success_rate}
            )

    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        while app.controller.session is None or app.jobs.busy:
            await asyncio.sleep(0.1)
        app.speed_index = [label for label, _ in SPEEDS].index(speed)
        started = time.monotonic()
        await pilot.press("a")
        while time.monotonic() - started < minutes * 60:
            if evaluations and evaluations[-1]["success"] >= target:
                break
            await asyncio.sleep(0.5)
        await pilot.press("a")
        steps = app.controller.session.total_steps
    reached = next((item for item in evaluations if item["success"] >= target), None)
    return {
        "combination": f"{config.run.env} · {config.run.agent}",
        "speed": speed,
        "target": target,
        "reached": reached,
        "evaluations": evaluations,
        "steps_played": steps,
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", default="max", choices=[label for label, _ in SPEEDS])
    parser.add_argument("--target", type=float, default=0.8, help="greedy success that counts as learned")
    parser.add_argument("--minutes", type=float, default=15.0, help="give up after this long")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("play_flags", nargs="*", help="extra `play` flags after --, e.g. -- --agent dqn")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report = asyncio.run(auto_play(args.speed, args.target, args.minutes, Path(folder), args.play_flags))
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"auto-play at {report['speed']} on {report['combination']} (load average {report['load_average_1min']}):")
    for item in report["evaluations"]:
        print(f"  {item['minutes']:5.2f} min, step {item['step']:>5}: greedy success {item['success']:.0%}")
    reached = report["reached"]
    if reached:
        print(f"learned (≥ {report['target']:.0%}) after {reached['minutes']:.1f} min of auto-play, {reached['step']} steps")
    else:
        print(f"not at {report['target']:.0%} after {args.minutes:g} min ({report['steps_played']} steps)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
