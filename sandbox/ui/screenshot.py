"""Export an SVG of the main screen after a few agent steps (for the docs' screenshots, and for checking a setup).

The app runs headless with Textual's auto-pilot: it waits for each engine job, steps,
lets the plots redraw, and writes `App.export_screenshot()`.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.worker import WorkerFailed

from sandbox.engine.config import RunConfig
from sandbox.errors import SandboxError
from sandbox.ui.app import SandboxApp
from sandbox.ui.controller import Builders

PLOT_REDRAW_S = 0.7  # the learning pane redraws twice a second


async def settle(pilot: Pilot) -> None:
    """Wait until every engine job has finished and the screen has caught up."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def save_screenshot(
    config: RunConfig,
    path: Path,
    *,
    steps: int = 4,
    size: tuple[int, int] = (120, 36),
    saves_dir: Path = Path("saves"),
    builders: Builders | None = None,
) -> Path:
    """Run the UI headless for `steps` agent steps and write its SVG; a failing engine is a SandboxError."""
    app = SandboxApp(config, saves_dir=saves_dir, builders=builders, record_episodes=False)
    failures: list[BaseException] = []

    async def auto_pilot(pilot: Pilot) -> None:
        try:
            await settle(pilot)
            for _ in range(steps):
                await pilot.press("space")
                await settle(pilot)
        except WorkerFailed as failed:
            failures.append(failed.error)
            app.exit()
            return
        await pilot.pause(PLOT_REDRAW_S)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(app.export_screenshot(title="LLM-prior sandbox"), encoding="utf-8")
        app.exit()

    app.run(headless=True, size=size, auto_pilot=auto_pilot)
    if failures:
        raise SandboxError(f"the UI could not play ({failures[0]}); no screenshot written")
    return path
