"""Snapshots of each lesson screen in a fixed state (uniform prior, hash features, seed 0, fixed size).

The uniform prior keeps them fast and deterministic; it also shows how a page reads when a claim does not
hold (the wrong-prior lesson's premise needs a prior that favours the hole). After an intended change of
the layout, review the new pictures and accept them with
`pytest tests/app/test_ui_lesson_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from sandbox.ui.screens.demo import DemoApp
from tests.app.support import fast_config, settle

SIZE = (110, 34)
STEPS = 30  # training steps and race steps: enough for every panel to have data
PLOT_REDRAW_S = 0.7


def lesson_at(name: str, tmp_path: Path, pages: int) -> tuple[DemoApp, object]:
    app = DemoApp(name, fast_config(), saves_dir=tmp_path, train_steps=STEPS)

    async def open_page(pilot: Pilot) -> None:
        await settle(pilot)
        for _ in range(pages):
            await pilot.press("right")
            await settle(pilot)
        for field in app.screen.query(Input):  # a blinking cursor is on screen or not by the clock
            field.cursor_blink = False
            field.refresh()
        await pilot.pause(PLOT_REDRAW_S)

    return app, open_page


def test_bayes_lesson_first_page(snap_compare, tmp_path: Path) -> None:
    app, run_before = lesson_at("bayes", tmp_path, 0)  # the whole observation, p_LLM and k-share apart, the check
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_bayes_lesson_guess_page(snap_compare, tmp_path: Path) -> None:
    app, run_before = lesson_at("bayes", tmp_path, 3)  # the posterior hidden until the student guesses
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_bayes_lesson_rule_page(snap_compare, tmp_path: Path) -> None:
    app, run_before = lesson_at("bayes", tmp_path, 4)  # Bayes rule with p_LLM and with the k-share, pull and noise
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_bayes_lesson_after_learning(snap_compare, tmp_path: Path) -> None:
    app, run_before = lesson_at("bayes", tmp_path, 7)  # Q with its spread, and the after-learning checks
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_alpha_lesson_sweep(snap_compare, tmp_path: Path) -> None:
    app, run_before = lesson_at("alpha", tmp_path, 2)
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_wrong_prior_lesson_when_the_premise_fails(snap_compare, tmp_path: Path) -> None:
    app, run_before = lesson_at("wrong-prior", tmp_path, 0)  # uniform prior: "✗ not on this run", with what was seen
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_sample_efficiency_lesson_race(snap_compare, tmp_path: Path) -> None:
    app, run_before = lesson_at("sample-efficiency", tmp_path, 2)  # 3 runners × 5 seeds against env steps
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_prior_strength_lesson(snap_compare, tmp_path: Path) -> None:
    app, run_before = lesson_at("prior-strength", tmp_path, 0)  # dqn, the S = 0 control and S = +0.5 on 3 seeds
    assert snap_compare(app, run_before=run_before, terminal_size=(120, 40))
