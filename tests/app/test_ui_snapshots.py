"""Snapshots of the main screen and a lesson (uniform prior, hash features, fixed seeds and size).

After an intended change of the layout, review the new pictures and accept them with
`pytest tests/app/test_ui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import TabbedContent

from sandbox.ui.app import SandboxApp
from sandbox.ui.screens.demo import DemoApp
from tests.app.support import fast_config, plots_drawn, settle

STEPS = 4


def test_main_screen(snap_compare, tmp_path: Path) -> None:
    app = SandboxApp(fast_config(), saves_dir=tmp_path, record_episodes=False)

    async def play(pilot: Pilot) -> None:
        await settle(pilot)
        for _ in range(STEPS):
            await pilot.press("space")
            await settle(pilot)
        pilot.app.query_one("#learning-tabs", TabbedContent).active = "tab-explore"  # ε and replay have data
        await plots_drawn(pilot)

    assert snap_compare(app, run_before=play, terminal_size=(120, 36))


def test_main_screen_small_terminal(snap_compare, tmp_path: Path) -> None:
    app = SandboxApp(fast_config(), saves_dir=tmp_path, record_episodes=False)

    async def play(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)

    assert snap_compare(app, run_before=play, terminal_size=(80, 24))


def test_bayes_lesson_page(snap_compare, tmp_path: Path) -> None:
    app = DemoApp("bayes", fast_config(), saves_dir=tmp_path)

    async def open_page(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("right", "right", "right")  # "Posterior ∝ prior × likelihood"
        await settle(pilot)

    assert snap_compare(app, run_before=open_page, terminal_size=(100, 30))
