"""Saving and loading agent + session (ctrl+s / ctrl+o), and replaying recorded episodes (r)."""

from __future__ import annotations

import json

import pytest
import torch
from textual.widgets import Input

from sandbox.engine.replay_files import list_episodes, load_episode
from sandbox.ui.messages import DecisionReady, SessionLoaded, SessionSaved, StepTaken
from sandbox.ui.screens.picker import PickerScreen
from sandbox.ui.screens.replay import ReplayScreen
from sandbox.ui.widgets.decision_table import DecisionTable
from sandbox.ui.widgets.learning_pane import LearningPane
from tests.app.support import Messages, settle

STEPS = 5  # past learning_starts, so the saved weights and optimizer differ from a fresh agent


async def test_save_and_load_round_trip(make_app) -> None:
    messages = Messages()
    app = make_app()
    async with app.run_test(message_hook=messages.hook) as pilot:
        await settle(pilot)
        for _ in range(STEPS):
            await pilot.press("space")
            await settle(pilot)
        await pilot.press("right_square_bracket")  # a live α change is part of what is saved
        await pilot.press("ctrl+s")
        await settle(pilot)
        (saved,) = messages.of(SessionSaved)
        assert (saved.path / "weights.safetensors").is_file() and (saved.path / "state.json").is_file()
        assert not list(saved.path.parent.glob("*.pkl")) and not list(saved.path.glob("*.pkl"))
        source = app.controller
        weights = {name: tensor.clone() for name, tensor in source.session.agent.q_net.state_dict().items()}
        alpha, episode, total = source.session.acting.alpha, source.session.episode, source.session.total_steps
        asked_alpha = source.config.dqn.alpha
        assert alpha != asked_alpha
        returns = list(source.history.returns)

    messages = Messages()
    fresh = make_app()
    async with fresh.run_test(message_hook=messages.hook) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(fresh.screen, PickerScreen)
        await pilot.press("enter")
        await settle(pilot)
        (loaded,) = messages.of(SessionLoaded)
        assert loaded.path == saved.path
        session = fresh.controller.session
        for name, tensor in session.agent.q_net.state_dict().items():
            assert torch.equal(tensor, weights[name])
        assert session.acting.alpha == alpha and fresh.controller.config.dqn.alpha == asked_alpha  # live, and asked
        assert session.episode == episode + 1 and session.total_steps == total  # play resumes with a new episode
        assert len(session.agent.buffer) == STEPS
        assert fresh.controller.history.returns == returns
        assert fresh.query_one(LearningPane).history.returns == returns
        assert messages.of(DecisionReady)[-1].decision.alpha == alpha


async def test_load_without_saves_says_so(make_app) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert not isinstance(app.screen, PickerScreen)


async def test_episodes_are_recorded_and_replayed(make_app) -> None:
    messages = Messages()
    app = make_app()
    async with app.run_test(message_hook=messages.hook) as pilot:
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        await pilot.press("i")
        app.query_one(Input).value = "go east"
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        steps = [message.record for message in messages.of(StepTaken)]
        (path,) = list_episodes(app.controller.saves_dir / "episodes")
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert [line["kind"] for line in lines] == ["episode", "step", "step", "step"]
        episode = load_episode(path)
        assert [record.action for record in episode.steps] == [record.action for record in steps]
        assert episode.steps[1].decision.rule == "human"
        assert episode.steps[0].decision.candidates == steps[0].decision.candidates

        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        replay = app.screen
        assert isinstance(replay, ReplayScreen)
        table = replay.query_one(DecisionTable)
        assert table.decision.action == steps[0].action
        await pilot.press("right", "right")
        await pilot.pause()
        assert replay.index == 2 and table.decision.action == steps[2].action
        await pilot.press("right")
        assert replay.index == 2  # the last step stays
        await pilot.press("home")
        assert replay.index == 0
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ReplayScreen)
        assert app.controller.session.total_steps == 3  # replaying never touched the session


def test_a_save_that_does_not_fit_is_a_one_line_error_and_keeps_the_running_session(tmp_path) -> None:
    from sandbox.errors import SandboxError
    from sandbox.ui.controller import SessionController
    from tests.app.support import fast_config

    controller = SessionController(fast_config("dqn"), saves_dir=tmp_path, record_episodes=False)
    controller.build()
    folder = controller.save()
    state = json.loads((folder / "state.json").read_text())
    del state["agent"]["rng"]  # e.g. a save from an older version
    (folder / "state.json").write_text(json.dumps(state))
    running = controller.session
    try:
        with pytest.raises(SandboxError, match="does not fit") as raised:
            controller.load(folder)
        assert len(str(raised.value).splitlines()) == 1
        assert controller.session is running  # still playable, weights and all
        controller.new_episode()
        assert controller.step().t == 1
    finally:
        controller.close()
