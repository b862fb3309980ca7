"""Regenerate the documentation's screenshots from the app itself (Textual's SVG export).

    .venv/bin/python docs/screenshots.py            # writes docs/images/*.svg

Each screenshot is taken headless at a fixed state, with the embedded SmolLM2 prior as a user
gets it: the main screen after four agent steps on Text Frozen Lake (seed 1, whose episode is
still running then), and the Bayes lesson on its "Posterior ∝ prior × likelihood" page. The
prior's answers come from saves/prior_cache.sqlite when it has them, so a rerun is quick.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
SIZE = (120, 36)
LESSON = "bayes"
LESSON_PAGE = "Posterior ∝ prior × likelihood"


def main_screen(path: Path) -> None:
    """What `python -m sandbox play --screenshot PATH --seed 1` writes."""
    from sandbox.cli import main

    if main(["play", "--screenshot", str(path), "--seed", "1"]) != 0:
        raise SystemExit(f"error: the main screen's screenshot failed; {path} not written")


async def idle(pilot) -> None:
    """Until every engine job, and any job queued behind it, has finished and been shown."""
    from sandbox.ui.jobs import JobRunner

    await pilot.pause()
    while True:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.1)
        runners = [getattr(node, "jobs", None) for node in (pilot.app, pilot.app.screen)]
        if all(runner.idle for runner in runners if isinstance(runner, JobRunner)) and not any(
            worker.is_running for worker in pilot.app.workers
        ):
            return


def lesson_screen(path: Path) -> None:
    """The Bayes lesson, built as `python -m sandbox demo bayes` builds it, on one fixed page."""
    from sandbox.commands import demo
    from sandbox.ui.lessons import LESSONS
    from sandbox.ui.screens.demo import DemoApp

    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    args = parser.parse_args([LESSON])
    config = demo.lesson_run_config(args, LESSONS[LESSON].agent)
    app = DemoApp(LESSON, config, saves_dir=args.saves)
    titles = [page.title for page in LESSONS[LESSON].pages]

    async def auto_pilot(pilot) -> None:
        await idle(pilot)
        for _ in range(titles.index(LESSON_PAGE)):
            await pilot.press("right")
            await idle(pilot)
        path.write_text(app.export_screenshot(title="LLM-prior sandbox · lessons"), encoding="utf-8")
        app.exit()

    app.run(headless=True, size=SIZE, auto_pilot=auto_pilot)
    if not path.exists():
        raise SystemExit(f"error: the lesson's screenshot failed; {path} not written")


REMOTE_FONT = re.compile(r',\s*url\("https?://[^"]+"\)\s*format\("[^"]+"\)')


def without_remote_fonts(path: Path) -> None:
    """Textual's SVG names a CDN copy of Fira Code after the local one: the site fetches nothing, so
    the SVG keeps `local(...)` and falls back to the reader's monospace font."""
    path.write_text(REMOTE_FONT.sub("", path.read_text(encoding="utf-8")), encoding="utf-8")


SCREENSHOTS = {"main-screen.svg": main_screen, "lesson-bayes.svg": lesson_screen}


def run(names: list[str]) -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name in names or list(SCREENSHOTS):
        if name not in SCREENSHOTS:
            print(f"error: unknown screenshot {name!r}; known: {', '.join(SCREENSHOTS)}", file=sys.stderr)
            return 2
        target = IMAGES / name
        target.unlink(missing_ok=True)
        SCREENSHOTS[name](target)
        without_remote_fonts(target)
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # this checkout's packages, whatever an editable install points at
    raise SystemExit(run(sys.argv[1:]))
