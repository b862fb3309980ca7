"""Snapshots of the main screen (uniform prior, hash features, fixed seeds and size); the lessons' are in
test_ui_lesson_snapshots.py.

After an intended change of the layout, review the new pictures and accept them with
`pytest tests/app/test_ui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import TabbedContent

from sandbox.ui.app import SandboxApp
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
