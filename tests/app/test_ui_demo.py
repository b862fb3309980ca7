"""The teaching lessons: every page of every lesson opens on the real engine, with live numbers."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from rich.table import Table
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Static

from sandbox.commands import demo as demo_command
from sandbox.ui.lessons import LESSONS, SWEEP_ALPHAS
from sandbox.ui.messages import DecisionReady, TrainingProgress
from sandbox.ui.screens.demo import DemoApp, DemoScreen
from sandbox.ui.widgets.lesson_panels import AlphaSweepTable, ComparisonPanel
from tests.app.support import Messages, fast_config, settle

TRAIN_STEPS = 30


async def walk(name: str, tmp_path: Path, messages: Messages, on_page=None) -> None:
    """Open lesson `name` and press → through every page, calling `on_page(pilot, screen)` on each."""
    app = DemoApp(name, fast_config(), saves_dir=tmp_path, train_steps=TRAIN_STEPS)
    async with app.run_test(message_hook=messages.hook, size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DemoScreen)
        for index in range(len(screen.lesson.pages)):
            assert screen.page_index == index
            if on_page is not None:
                await on_page(pilot, screen)
            await pilot.press("right")
            await settle(pilot)
    errors = [note for note in messages.of(Notify) if note.notification.severity == "error"]
    assert not errors, errors[0].notification.message
    lesson = LESSONS[name]
    if any(page.action in ("train", "compare") for page in lesson.pages):
        progress = messages.of(TrainingProgress)
        assert progress and progress[-1].done == TRAIN_STEPS
        assert {message.name for message in progress} == set(lesson.rivals or (lesson.agent,))


async def test_bayes_lesson(tmp_path: Path) -> None:
    messages = Messages()

    async def on_page(pilot: Pilot, screen: DemoScreen) -> None:
        if screen.page.title == "Step and watch":
            before = screen.controller.session.total_steps
            await pilot.press("s")
            await settle(pilot)
            assert screen.controller.session.total_steps == before + 1

    await walk("bayes", tmp_path, messages, on_page)
    assert messages.of(DecisionReady)


async def test_alpha_lesson_sweeps_the_shown_state(tmp_path: Path) -> None:
    messages = Messages()

    async def on_page(pilot: Pilot, screen: DemoScreen) -> None:
        if screen.page.action == "sweep":
            table = screen.query_one(AlphaSweepTable)
            decision = messages.of(DecisionReady)[-1].decision
            assert table.row_count == len(decision.candidates) + 1  # one row per action, then the entropy row
            assert len(table.columns) == 3 + len(SWEEP_ALPHAS)
        if screen.page.title == "Your turn":
            alpha = messages.of(DecisionReady)[-1].decision.alpha
            await pilot.press("right_square_bracket")  # α doubles on the same state
            await settle(pilot)
            preview = messages.of(DecisionReady)[-1]
            assert preview.preview and preview.decision.alpha == 2 * alpha

    await walk("alpha", tmp_path, messages, on_page)


async def test_wrong_prior_lesson_uses_the_misleading_lake(tmp_path: Path) -> None:
    messages = Messages()

    async def on_page(pilot: Pilot, screen: DemoScreen) -> None:
        if screen.page_index == 0:
            controller = screen.controller
            assert controller.config.run.env_kwargs["misleading"] is True
            # One step east of the start, the hole to the south is described as safe.
            assert "To the south: safe-looking ice." in controller.session.state.observation
            assert messages.of(DecisionReady)[-1].decision.candidate("go south") is not None

    await walk("wrong-prior", tmp_path, messages, on_page)


async def test_sample_efficiency_lesson_races_two_agents(tmp_path: Path) -> None:
    messages = Messages()

    async def on_page(pilot: Pilot, screen: DemoScreen) -> None:
        if screen.page_index == len(screen.lesson.pages) - 1:
            panel = screen.query_one(ComparisonPanel)
            assert set(panel.histories) == {"dqn", "dqn-prior"}
            summary = panel.query_one("#compare-summary", Static).content
            assert isinstance(summary, Table) and summary.row_count == 2

    await walk("sample-efficiency", tmp_path, messages, on_page)


def test_demo_command_lists_the_lessons(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    demo_command.add_arguments(parser)
    assert demo_command.run(parser.parse_args([])) == 0
    out = capsys.readouterr().out
    for name in LESSONS:
        assert name in out
