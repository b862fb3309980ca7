"""What the prior-strength lesson shows, as numbers: races of DQN-Prior (oracle prior at skill S, posterior
sharpness α) against DQN on the lesson's 4x4 lake, driven headless through the lesson's own screen.

    .venv/bin/python benchmarks/prior_strength_lesson.py                       # every default race, 1,500 steps each
    .venv/bin/python benchmarks/prior_strength_lesson.py --steps 300 --races 0.5:10 -0.5:10

Prints one line per race: the skill, α, seeds, the env step of the first won episode on each seed and the
share of episodes won (mean and range over the seeds; DQN's race first). Hash features and seeds 0-2, as
`python -m sandbox demo prior-strength` runs by default.
"""

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_RACES = ["1:10", "0.5:10", "0.25:0", "0.25:10", "0.25:100", "0:0", "0:10", "0:100", "-0.5:0", "-0.5:10", "-0.5:100"]


async def race_all(races: list[tuple[float, float]], steps: int) -> None:
    from sandbox.cli import build_parser
    from sandbox.commands.demo import lesson_run_config
    from sandbox.ui.lessons import LESSONS
    from sandbox.ui.screens.demo import DemoApp
    from sandbox.ui.lesson_checks import describe_first_successes
    from sandbox.ui.widgets.strength_panels import StrengthCurve
    from textual.worker import WorkerState

    # The run config `python -m sandbox demo prior-strength` builds (the lake's tuned defaults, then
    # the flags), so the numbers are the lesson's own.
    args = build_parser().parse_args(["demo", "prior-strength", "--seed", "0", "--prior-cache", "none"])
    config = lesson_run_config(args, LESSONS["prior-strength"].agent)
    with tempfile.TemporaryDirectory() as saves:
        app = DemoApp("prior-strength", config, saves_dir=Path(saves), train_steps=steps)
        async with app.run_test(size=(140, 42)) as pilot:

            async def settle() -> None:
                await pilot.pause()
                while any(worker.state in (WorkerState.PENDING, WorkerState.RUNNING) for worker in app.workers):
                    await app.workers.wait_for_complete()
                    await pilot.pause(0)

            await settle()
            screen = app.screen
            for skill, alpha in races:
                screen.skill, screen.alpha = skill, alpha
                screen.action_race()
                await settle()
            curve = screen.query_one(StrengthCurve)
            print(f"{'agent':<10}{'skill':>6}{'α':>6}{'seeds':>6}  {'first win (env steps)':<44}{'won':>14}")

            def row(name: str, skill: str, alpha: str, point) -> None:
                won = f"{point.mean:.0%} ({min(point.successes):.0%}–{max(point.successes):.0%})"
                print(f"{name:<10}{skill:>6}{alpha:>6}{len(point.runs):>6}  {describe_first_successes(point.runs):<44}{won:>14}")

            row("dqn", "—", "—", curve.reference)
            for (skill, alpha), point in sorted(curve.points.items(), reverse=True):
                row("dqn-prior", f"{skill:g}", f"{alpha:g}", point)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1500, help="env steps per agent per race")
    parser.add_argument("--races", nargs="+", default=DEFAULT_RACES, metavar="S:ALPHA")
    args = parser.parse_args()
    races = [tuple(float(part) for part in race.split(":")) for race in args.races]
    asyncio.run(race_all(races, args.steps))


if __name__ == "__main__":
    main()
