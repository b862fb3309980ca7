"""Snapshots of every screen besides the main one and the lessons: help, the pickers, the what-if fork,
the prompt editor, a replay (on its own and from a folder) and the watch dashboard, each at a fixed
state (uniform or tiny random-weight prior, hash features, fixed seeds and sizes). The typed messages
that brought each screen to its state are asserted too.

Each waits for the engine (settle: every job and its end handled) and for the plots' timer
(plots_drawn), never for a fixed time. After an intended change of a layout, review the new pictures
and accept them with `pytest tests/app/test_ui_screen_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList, TextArea

from agents.prior import TEMPLATES, PriorConfig
from sandbox.engine.replay_files import list_episodes, load_episode
from sandbox.engine.training import EPISODES, Trainer
from sandbox.ui.app import SandboxApp
from sandbox.ui.messages import DecisionReady, SessionReady, StepTaken
from sandbox.ui.replay_app import ReplayApp
from sandbox.ui.screens.fork import ForkDecision, ForkScreen, ForkStarted, ForkStepped
from sandbox.ui.screens.help import HelpScreen
from sandbox.ui.screens.picker import PickerScreen
from sandbox.ui.screens.prompt_editor import PromptEditorScreen, PromptOpened, PromptRescored
from sandbox.ui.screens.replay import ReplayScreen
from sandbox.ui.watch import WatchApp
from sandbox.ui.widgets.decision_table import DecisionTable
from tests.app.support import Messages, fast_config, plots_drawn, recording, settle
from tests.app.test_ui_inspector import STEPS, no_models, write_replay
from tests.engine.test_engine_training import frozen_lake_config
from tests.prior.conftest import write_tiny_gguf

SIZE = (120, 36)


def main_app(tmp_path: Path, **run: object) -> SandboxApp:
    return SandboxApp(fast_config(**run), saves_dir=tmp_path / "saves", record_episodes=False)


async def one_step(pilot: Pilot) -> None:
    """The app loaded, one agent step taken, the plots drawn."""
    await settle(pilot)
    await pilot.press("space")
    await settle(pilot)
    await plots_drawn(pilot)


def test_help_screen(snap_compare, tmp_path: Path) -> None:
    app = main_app(tmp_path)

    async def open_help(pilot: Pilot) -> None:
        await one_step(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert [binding.action for binding in app.screen.bindings if binding.action] == [
            binding.action for binding in SandboxApp.BINDINGS
        ]  # every key of the main screen, in its order (plus Enter on a table row)

    assert snap_compare(app, run_before=open_help, terminal_size=SIZE)


@pytest.mark.parametrize(
    ("key", "title", "current"),
    [("e", "Environment", "TextFrozenLake-v0"), ("g", "Agent", "dqn-prior"), ("o", "Prior", "uniform")],
)
def test_picker_screen(snap_compare, tmp_path: Path, key: str, title: str, current: str) -> None:
    app = main_app(tmp_path)
    messages = Messages()

    async def open_picker(pilot: Pilot) -> None:
        await one_step(pilot)
        await pilot.press(key)
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, PickerScreen) and picker.title_text == title
        options = picker.query_one(OptionList)
        assert options.highlighted_option is not None and options.highlighted_option.id == current
        assert len(messages.of(SessionReady)) == 1  # opening a picker rebuilds nothing

    with recording(messages):
        assert snap_compare(app, run_before=open_picker, terminal_size=SIZE)


def test_fork_screen(snap_compare, tmp_path: Path) -> None:
    app = main_app(tmp_path)
    messages = Messages()

    async def fork_and_step_both(pilot: Pilot) -> None:
        await one_step(pilot)
        shown = messages.of(DecisionReady)[-1].decision
        at = app.controller.session.t
        await pilot.press("f")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ForkScreen)
        (started,) = messages.of(ForkStarted)
        assert started.fork.at == at == 1
        assert {m.branch: m.decision for m in messages.of(ForkDecision)} == {"main": shown, "fork": shown}
        table = screen.query_one(DecisionTable)
        other = "go west"  # back to the start: the fork runs on, and its decision table stays in view
        assert shown.action == "go east"
        table.move_cursor(row=next(r for r in range(table.row_count) if table.action_at(r) == other))
        await pilot.press("enter")  # your action in the fork
        await settle(pilot)
        await pilot.press("m")  # the agent's in the main branch
        await settle(pilot)
        stepped = {m.branch: m.record for m in messages.of(ForkStepped)}
        assert stepped["fork"].action == other and stepped["fork"].decision.rule == "human"
        assert stepped["main"].action == shown.action
        assert len(messages.of(StepTaken)) == 1  # the main session did not move

    with recording(messages):
        assert snap_compare(app, run_before=fork_and_step_both, terminal_size=SIZE)


def steady_cursor(area: TextArea) -> None:
    """A cursor that does not blink, and lines drawn afresh: a blinking cursor is on screen or not by the
    clock, and a line drawn while it blinked off stays in the text area's cache."""
    area.cursor_blink = False
    area.notify_style_update()
    area.refresh()


@pytest.fixture
def tiny_prior_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SandboxApp:
    """The main app with the tiny random-weight model as DQN-Prior's prior, named by a relative path
    (the prompt editor's title shows it)."""
    monkeypatch.chdir(tmp_path)
    write_tiny_gguf(tmp_path / "tiny-llama.gguf")
    prior = PriorConfig(
        model="tiny-llama.gguf",
        temperature=20.0,  # the random model is sure of itself; a flatter prior shows in two decimals
        n_ctx=1024,
        n_threads=1,
        cache_path="prior_cache.sqlite",
        templates_dir="prompts",
    )
    return SandboxApp(fast_config(prior=prior), saves_dir=tmp_path / "saves", record_episodes=False)


def test_prompt_editor_screen(snap_compare, tiny_prior_app: SandboxApp) -> None:
    app = tiny_prior_app
    messages = Messages()

    async def open_editor(pilot: Pilot) -> None:
        await settle(pilot)
        live = messages.of(DecisionReady)[-1].decision
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, PromptEditorScreen)
        (opened,) = messages.of(PromptOpened)
        assert opened.view.prompt == live.prior_result.prompt  # the prompt the model read
        assert [row.prior for row in opened.view.before.candidates] == list(live.prior_result.probs)
        steady_cursor(app.screen.query_one(TextArea))

    with recording(messages):
        assert snap_compare(app, run_before=open_editor, terminal_size=SIZE)


def test_prompt_editor_screen_after_a_rescore(snap_compare, tiny_prior_app: SandboxApp) -> None:
    app = tiny_prior_app
    messages = Messages()

    async def edit_and_rescore(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        (opened,) = messages.of(PromptOpened)
        edited = opened.view.prompt.replace(TEMPLATES["frozenlake"].intro, "Holes are everywhere to the east.\n")
        assert edited != opened.view.prompt
        area = app.screen.query_one(TextArea)
        area.text = edited
        steady_cursor(area)
        for _ in range(2):  # the second answer comes from the cache: the summary then shows no timing
            await pilot.press("ctrl+r")
            await settle(pilot)
        first, second = [message.rescored for message in messages.of(PromptRescored)]
        assert first.prompt == second.prompt == edited and not first.after.prior_result.cached
        assert second.after.prior_result.cached and second.after.candidates == first.after.candidates
        assert second.before.candidates == first.before.candidates  # both compared with the live prompt

    with recording(messages):
        assert snap_compare(app, run_before=edit_and_rescore, terminal_size=SIZE)


def test_replay_screen(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    episode = load_episode(write_replay(tmp_path / "ep.jsonl"))
    no_models(monkeypatch)
    app = ReplayApp(episode=episode, step=3)

    async def at_step_3(pilot: Pilot) -> None:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplayScreen) and screen.index == 2
        assert screen.query_one(DecisionTable).decision == episode.steps[2].decision
        assert len(episode.steps) == STEPS

    assert snap_compare(app, run_before=at_step_3, terminal_size=SIZE)


def test_replay_picker_of_a_folder(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "episodes"
    folder.mkdir()
    files = [write_replay(folder / f"{name}.jsonl") for name in ("play-ep1", "play-ep2", "train-ep3")]
    no_models(monkeypatch)
    app = ReplayApp(files=files)

    async def listed(pilot: Pilot) -> None:
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        assert [option.id for option in app.screen.query_one(OptionList).options] == [str(path) for path in files]

    assert snap_compare(app, run_before=listed, terminal_size=(80, 24))


@pytest.fixture
def finished_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A finished 60-step DQN run on Frozen Lake, at the relative path `run` (the title shows it), its replay
    files' times set in name order (the dashboard lists the newest first)."""
    config = frozen_lake_config(steps=60)
    config.run.eval_every = 30
    config.run.keep_episodes = 4
    trainer = Trainer(config, tmp_path / "run")
    trainer.reset()
    trainer.run()
    trainer.close()
    for order, path in enumerate(sorted(list_episodes(tmp_path / "run" / EPISODES))):
        os.utime(path, (1_700_000_000 + order, 1_700_000_000 + order))
    monkeypatch.chdir(tmp_path)
    return Path("run")


def test_watch_screen(snap_compare, finished_run: Path) -> None:
    app = WatchApp(finished_run, interval=3600.0)  # one read at mount: the run is finished

    async def shown(pilot: Pilot) -> None:
        await pilot.pause()
        watch = app.dashboard
        assert watch.snapshot.history.eval_steps == [30, 60]
        assert watch.query_one("#watch-episodes", OptionList).option_count == 4 + 2 * 2  # training, 2 evaluations
        await plots_drawn(pilot)

    assert snap_compare(app, run_before=shown, terminal_size=SIZE)
