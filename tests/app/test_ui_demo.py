"""The teaching lessons: every page of every lesson opens on the real engine, with live numbers,
and shows the checks of the claims it makes."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from rich.table import Table
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Input, Static

from sandbox.commands import demo as demo_command
from sandbox.ui.lesson_checks import lesson_checks
from sandbox.ui.lessons import LESSONS, SWEEP_ALPHAS
from sandbox.ui.messages import RaceProgress, StudyReady, Trained
from sandbox.ui.screens.demo import DemoApp, DemoScreen
from sandbox.ui.widgets.lesson_panels import AlphaSweepTable, ComparisonPanel, StudyTable, VerdictBox
from tests.app.support import Messages, fast_config, settle

TRAIN_STEPS = 30


async def walk(name: str, tmp_path: Path, messages: Messages, on_page=None) -> None:
    """Open lesson `name` and press → through every page, calling `on_page(pilot, screen)` on each."""
    app = DemoApp(name, fast_config(), saves_dir=tmp_path, train_steps=TRAIN_STEPS)
    async with app.run_test(message_hook=messages.hook, size=(110, 36)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DemoScreen)
        for index in range(len(screen.lesson.pages)):
            assert screen.page_index == index
            shown = screen.query_one(VerdictBox)
            assert shown.display == bool(screen.page.checks)  # a page's claims are listed under its text
            if on_page is not None:
                await on_page(pilot, screen)
            await pilot.press("right")
            await settle(pilot)
    errors = [note for note in messages.of(Notify) if note.notification.severity == "error"]
    assert not errors, errors[0].notification.message
    lesson = LESSONS[name]
    if any(page.action == "train" for page in lesson.pages):
        assert messages.of(Trained)[-1].done == TRAIN_STEPS


def rendered(table) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


async def test_bayes_lesson_hides_the_posterior_until_the_guess_then_steps(tmp_path: Path) -> None:
    messages = Messages()

    async def on_page(pilot: Pilot, screen: DemoScreen) -> None:
        bindings = {binding.action for binding in screen.help_bindings()}
        if screen.page.title == "A state, in words":
            assert "step" not in bindings and "alpha(1)" not in bindings  # the footer offers only this page's keys
            observation = str(screen.query_one("#lesson-observation", Static).content)
            assert "To the west: the edge of the lake." in observation and "The goal is" in observation  # all of it
        if screen.page.title == "Your guess":
            table = screen.query_one(StudyTable)
            assert all(row[-1].strip() == "?" for row in rendered(table))  # the posterior column is hidden
            guess = screen.query_one("#lesson-guess", Input)
            assert guess.has_focus
            await pilot.press("2", "enter")  # not a probability: refused, still hidden
            await settle(pilot)
            assert not screen.revealed
            guess.value = ""
            await pilot.press("0", ".", "5", "enter")
            await settle(pilot)
            assert screen.revealed
            assert all(row[-1].strip() != "?" for row in rendered(table))
            assert "Bayes rule gives" in str(screen.query_one("#lesson-guess-result", Static).content)
        if screen.page.title == "Step and watch":
            assert "step" in bindings
            before = screen.controller.session.total_steps
            await pilot.press("s")
            await settle(pilot)
            assert screen.controller.session.total_steps == before + 1

    await walk("bayes", tmp_path, messages, on_page)
    assert messages.of(StudyReady)


async def test_alpha_lesson_sweeps_p_llm_on_the_shown_state(tmp_path: Path) -> None:
    messages = Messages()

    async def on_page(pilot: Pilot, screen: DemoScreen) -> None:
        if screen.page.action == "sweep":
            table = screen.query_one(AlphaSweepTable)
            study = messages.of(StudyReady)[-1].study
            assert table.row_count == len(study.actions) + 1  # one row per action, then the entropy row
            assert len(table.columns) == 3 + len(SWEEP_ALPHAS)
            # The sweep's prior column is the exact p_LLM it names, and α = 0 gives it back.
            rows = rendered(table)
            for row, p_llm in zip(rows, study.p_llm):
                assert float(row[1]) == pytest.approx(p_llm, abs=0.005)
                assert float(row[3].split()[0]) == pytest.approx(p_llm, abs=0.005)
        if screen.page.title == "Your turn":
            alpha = messages.of(StudyReady)[-1].study.decision.alpha
            await pilot.press("right_square_bracket")  # α doubles on the same state
            await settle(pilot)
            assert messages.of(StudyReady)[-1].study.decision.alpha == 2 * alpha

    await walk("alpha", tmp_path, messages, on_page)


async def test_wrong_prior_lesson_studies_the_state_beside_two_holes(tmp_path: Path) -> None:
    messages = Messages()

    async def on_page(pilot: Pilot, screen: DemoScreen) -> None:
        if screen.page_index == 0:
            assert screen.controller.config.run.env_kwargs["misleading"] is True
            study = messages.of(StudyReady)[-1].study
            assert study.holes == ("go south", "go east") and study.optimal == ("go north",)
            assert "To the south: safe-looking ice." in screen.controller.session.state.observation

    await walk("wrong-prior", tmp_path, messages, on_page)


async def test_sample_efficiency_lesson_races_on_every_seed_against_env_steps(tmp_path: Path) -> None:
    messages = Messages()

    async def on_page(pilot: Pilot, screen: DemoScreen) -> None:
        if screen.page_index == len(screen.lesson.pages) - 1:
            panel = screen.query_one(ComparisonPanel)
            assert set(panel.races) == {"dqn", "dqn-prior", "dqn-prior S=+0.9"}
            assert all(len(runs) == LESSONS["sample-efficiency"].seeds for runs in panel.races.values())
            assert {run.seed for run in panel.races["dqn"]} == set(range(LESSONS["sample-efficiency"].seeds))
            assert all(run.steps == TRAIN_STEPS for runs in panel.races.values() for run in runs)
            summary = panel.query_one("#compare-summary", Static).content
            assert isinstance(summary, Table) and summary.row_count == 3
            verdict = screen.run.verdicts(screen.page.checks)[0]
            assert verdict.holds is not None  # the race ran: the claim is checked, whichever way

    await walk("sample-efficiency", tmp_path, messages, on_page)
    assert messages.of(RaceProgress)


async def test_export_writes_the_figure_and_the_race_under_saves(tmp_path: Path) -> None:
    app = DemoApp("sample-efficiency", fast_config(), saves_dir=tmp_path, train_steps=TRAIN_STEPS)
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        await pilot.press("right")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
    svg = list((tmp_path / "lessons").glob("*.svg"))
    csv = list((tmp_path / "lessons").glob("*.csv"))
    assert len(svg) == 1 and svg[0].read_text(encoding="utf-8").startswith("<svg")
    lines = csv[0].read_text(encoding="utf-8").splitlines()
    assert lines[0] == "runner,seed,race_steps,episode,end_step,won"
    assert {line.split(",")[0] for line in lines[1:]} == {"dqn", "dqn-prior", "dqn-prior S=+0.9"}


def test_every_lesson_page_names_only_known_checks() -> None:
    for lesson in LESSONS.values():
        assert lesson_checks(lesson), lesson.name  # every lesson makes at least one checked claim


def test_demo_command_lists_the_lessons(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    demo_command.add_arguments(parser)
    assert demo_command.run(parser.parse_args([])) == 0
    out = capsys.readouterr().out
    for name in LESSONS:
        assert name in out


def test_classroom_mode_takes_the_lessons_oracle_and_keeps_files_under_saves(monkeypatch, tmp_path: Path) -> None:
    opened = []
    monkeypatch.setattr(DemoApp, "run", lambda self: opened.append(self.lesson_screen.run.controller.config))
    parser = argparse.ArgumentParser()
    demo_command.add_arguments(parser)
    assert demo_command.run(parser.parse_args(["wrong-prior", "--classroom", "--saves", str(tmp_path)])) == 0
    (config,) = opened
    assert config.prior.model == LESSONS["wrong-prior"].classroom_prior == "oracle:skill=-0.6"
    assert config.prior.cache_path is None and config.prior.templates_dir is None and config.prior.n_threads == 1
    assert demo_command.run(parser.parse_args(["bayes", "--classroom", "--prior-model", "uniform"])) == 0
    assert opened[-1].prior.model == "uniform"  # a prior given on the command line wins
