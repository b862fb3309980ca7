"""The inspector: seekable replays (`replay`), a live dashboard on a run being trained (`watch`), and
telemetry and metrics in the main screen."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.notifications import Notify
from textual.widgets import Input, OptionList, Static

from agents.baselines import RandomAgent
from agents.prior.priors import LlamaPrior
from envs import make_env
from sandbox.cli import main
from sandbox.engine.replay_files import header_json, load_episode, write_episode
from sandbox.engine.session import Session
from sandbox.engine.training import Trainer
from sandbox.ui.replay_app import ReplayApp
from sandbox.ui.screens.picker import PickerScreen
from sandbox.ui.screens.replay import ReplayScreen
from sandbox.ui.watch import WatchApp
from sandbox.ui.widgets.decision_table import DecisionTable, WhyPanel
from sandbox.ui.widgets.learning_pane import LearningPane
from sandbox.ui.widgets.metrics_table import MetricsTable
from sandbox.ui.widgets.telemetry import TelemetryLine
from tests.app.support import Messages, settle, wait_until
from tests.engine.test_engine_training import frozen_lake_config

STEPS = 15


def write_replay(path: Path) -> Path:
    """An unfinished Frozen Lake episode of STEPS steps: east and west along the safe first row."""
    session = Session(make_env("TextFrozenLake-v0"), RandomAgent(0), family="frozenlake")
    first = session.reset()
    records = [session.step("go east" if t % 2 == 0 else "go west") for t in range(STEPS)]
    header = header_json(
        env="TextFrozenLake-v0", env_kwargs={}, agent="random", episode=1, seed=0, source="play", step=0, state=first
    )
    write_episode(path, header, records)
    return path


def no_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replaying must not build an env + agent session or load an LLM: make both fail loudly."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a replay built a session or loaded a model")

    monkeypatch.setattr(Session, "__init__", refuse)
    monkeypatch.setattr(LlamaPrior, "__init__", refuse)


def title(screen: ReplayScreen) -> str:
    return str(screen.query_one("#replay-title", Static).content)


async def test_replay_seeks_by_keys_and_by_step_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    episode = load_episode(write_replay(tmp_path / "ep.jsonl"))
    no_models(monkeypatch)
    messages = Messages()
    app = ReplayApp(episode=episode, step=3)
    async with app.run_test(message_hook=messages.hook, notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplayScreen) and screen.index == 2
        table = screen.query_one(DecisionTable)

        async def at(index: int) -> None:
            await pilot.pause()
            assert screen.index == index and f"step {index + 1}/{STEPS}" in title(screen)
            assert table.decision == episode.steps[index].decision

        await pilot.press("right")
        await at(3)
        await pilot.press("pagedown")
        await at(13)
        await pilot.press("pagedown")
        await at(STEPS - 1)  # clamped at the last step
        await pilot.press("home")
        await at(0)
        await pilot.press("left")
        await at(0)
        await pilot.press("end")
        await at(STEPS - 1)
        await pilot.press("g")
        assert app.focused is screen.query_one("#replay-goto") and app.focused.display
        await pilot.press("7", "enter")
        await at(6)
        assert app.focused is table and not screen.query_one("#replay-goto").display
        assert str(screen.query_one(TelemetryLine).content) == "no LLM"  # the random agent's steps
        assert "unfinished episode" in str(screen.query_one("#replay-metrics", Static).content)
        await pilot.press("g", "9", "9", "enter")
        await at(STEPS - 1)
        assert any("outside 1–15" in str(note.notification.message) for note in messages.of(Notify))
        await pilot.press("g", "escape")  # escape first closes the step box, then the replay
        await at(STEPS - 1)
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_code == 0


async def test_replay_of_a_folder_offers_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "run" / "episodes"
    folder.mkdir(parents=True)
    write_replay(folder / "a.jsonl")
    write_replay(folder / "b.jsonl")
    no_models(monkeypatch)
    app = ReplayApp(files=sorted(folder.glob("*.jsonl")))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReplayScreen) and app.screen.episode.path.name == "a.jsonl"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)  # back to the list
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_code == 0


def test_replay_and_watch_commands_reject_bad_paths_in_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "junk.jsonl").write_text("not json\n")
    for argv, words in (
        (["replay", str(tmp_path / "nowhere")], "does not exist"),
        (["replay", str(tmp_path / "empty")], "no replay files"),
        (["replay", str(tmp_path / "junk.jsonl")], "not a replay file"),
        (["watch", str(tmp_path / "empty")], "not a run folder"),
        (["watch", str(tmp_path / "empty"), "--interval", "0"], "--interval"),
    ):
        assert main(argv) == 2
        error = capsys.readouterr().err
        assert error.startswith("error: ") and words in error and len(error.strip().splitlines()) == 1


async def test_watch_follows_a_run_that_a_background_trainer_writes(tmp_path: Path) -> None:
    config = frozen_lake_config(steps=60)
    config.run.eval_every = 30  # two epochs of 30 steps, each ending in an evaluation
    config.run.keep_episodes = 4
    run_dir = tmp_path / "run"
    trainer = Trainer(config, run_dir)
    trainer.reset()
    go = threading.Semaphore(0)  # the test lets the trainer run one epoch at a time

    def train() -> None:
        while not trainer.finished:
            go.acquire()
            trainer.run_epoch()
        trainer.close()

    thread = threading.Thread(target=train, daemon=True)
    thread.start()
    app = WatchApp(run_dir, interval=0.05)
    watch = app.dashboard
    async with app.run_test() as pilot:
        await pilot.pause()
        pane = watch.query_one(LearningPane)
        options = watch.query_one("#watch-episodes", OptionList)
        assert pane.history.returns == [] and options.option_count == 0

        go.release()
        await wait_until(pilot, lambda: watch.snapshot.history.eval_steps == [30])
        first_episodes = len(watch.snapshot.history.returns)
        assert first_episodes > 0 and pane.history is watch.snapshot.history
        assert options.option_count == 4 + 2  # the newest training episodes and the evaluation's two
        assert "step 30/60" in str(watch.query_one("#watch-title", Static).content)

        go.release()
        await wait_until(pilot, lambda: watch.snapshot.history.eval_steps == [30, 60])
        assert len(watch.snapshot.history.returns) > first_episodes
        assert len(watch.snapshot.history.eval_rows) == 2
        await pilot.pause(0.1)
        assert "finished" in str(watch.query_one("#watch-title", Static).content)

        pane.query_one("#learning-tabs").active = "tab-metrics"
        await pilot.pause(0.6)  # the pane redraws twice a second
        table = pane.query_one(MetricsTable)
        assert table.row_count == len(watch.snapshot.history.returns) + 2

        options.focus()
        options.highlighted = 0
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReplayScreen)
        assert app.screen.episode.path == watch.snapshot.episodes[0]
        await pilot.pause(0.2)  # the dashboard keeps polling under the replay
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is watch
    thread.join(timeout=30)
    assert not thread.is_alive()


async def test_main_screen_shows_telemetry_and_each_episodes_metrics(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        assert str(app.query_one(TelemetryLine).content) == "no LLM"
        assert "H(p_LLM) 0.69" in str(app.query_one(WhyPanel).content)  # uniform over 2 moves
        history = app.controller.history
        for command in ("go south", "go east"):  # from the start of the 4x4 lake into the hole at row 2, column 2
            await pilot.press("i")
            app.query_one(Input).value = command
            await pilot.press("enter")
            await settle(pilot)
        (row,) = history.episode_rows
        assert row == {
            "episode": 1, "step": 2, "success": 0.0, "normalised_score": 0.0, "steps": 2.0, "return": 0.0,
            "invalid_action_rate": 0.0, "llm_calls_per_decision": 0.0, "ms_per_decision": row["ms_per_decision"],
        }
        await pilot.press("v")
        await settle(pilot)
        assert len(history.eval_rows) == 1
        app.query_one("#learning-tabs").active = "tab-metrics"
        await pilot.pause(0.6)
        assert app.query_one(MetricsTable).row_count == len(history.episode_rows) + 1
