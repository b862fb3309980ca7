"""The main screen driven by keys: stepping, auto-play, taking over, live α/k, pickers, errors."""

from __future__ import annotations

import threading

import numpy as np
from textual.notifications import Notify
from textual.widgets import Input, Static

from agents.dqn import DQNAgent
from sandbox.prior_service.outage import OutageWatch
from sandbox.ui.app import ALPHA_LEVELS, REPAINT_HOLD_S, SandboxApp
from sandbox.ui.messages import (
    DecisionReady,
    EpisodeEnded,
    EpisodeStarted,
    EvaluationDone,
    SessionReady,
    StepTaken,
)
from sandbox.ui.screens.help import HelpScreen
from sandbox.ui.screens.picker import PickerScreen
from sandbox.ui.widgets.decision_table import DecisionTable, WhyPanel
from sandbox.ui.widgets.game_pane import Transcript
from sandbox.ui.widgets.learning_pane import LearningPane
from sandbox.ui.widgets.status_bar import BUSY_DELAY_S, PlayState, StatusBar
from tests.app.support import Messages, posterior_by_hand, settle, wait_until


def errors(messages: Messages) -> list[str]:
    return [str(note.notification.message) for note in messages.of(Notify) if note.notification.severity == "error"]


async def test_start_layout_theme_and_help(make_app) -> None:
    messages = Messages()
    app: SandboxApp = make_app()
    async with app.run_test(message_hook=messages.hook) as pilot:
        await settle(pilot)
        assert [type(m) for m in messages.seen if isinstance(m, (SessionReady, EpisodeStarted, DecisionReady))] == [
            SessionReady,
            EpisodeStarted,
            DecisionReady,
        ]
        decision = messages.of(DecisionReady)[0].decision
        table = app.query_one(DecisionTable)
        assert table.row_count == len(app.controller.session.state.actions) == len(decision.candidates)
        assert app.focused is table
        status = str(app.query_one("#status-text", Static).content)
        assert "TextFrozenLake-v0" in status and "dqn-prior" in status and "uniform prior" in status
        assert not errors(messages)

        # 80x24: the plots share the right column with the decision, l switches
        assert app.query_one("#main").has_class("-compact")
        assert not app.query_one("#learning").display
        await pilot.press("l")
        assert app.query_one("#learning").display and not app.query_one("#decision").display
        theme = app.theme
        await pilot.press("d")
        assert app.theme != theme
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_step_and_row_pick(make_app) -> None:
    messages = Messages()
    app = make_app()
    async with app.run_test(message_hook=messages.hook) as pilot:
        await settle(pilot)
        shown = messages.of(DecisionReady)[-1].decision
        await pilot.press("space")
        await settle(pilot)
        (step,) = messages.of(StepTaken)
        assert not step.human
        assert step.record.action == shown.action  # the decision on screen is the one executed
        assert app.controller.session.total_steps == 1
        assert len(messages.of(DecisionReady)) == 2  # the next state's decision, announced once
        await pilot.press("s")
        await settle(pilot)
        assert app.controller.session.total_steps == 2
        table = app.query_one(DecisionTable)  # Enter on another row takes that action yourself
        target = (table.cursor_row + 1) % table.row_count
        action = table.action_at(target)
        table.move_cursor(row=target)
        await pilot.press("enter")
        await settle(pilot)
        assert messages.of(StepTaken)[-1].human and messages.of(StepTaken)[-1].record.action == action


async def test_autoplay_runs_until_paused(make_app) -> None:
    messages = Messages()
    app = make_app(env_kwargs={"desc": ["SG"]})  # one step east wins: every episode is one step long
    async with app.run_test(message_hook=messages.hook) as pilot:
        await settle(pilot)
        for _ in range(5):
            await pilot.press("plus")  # fastest
        await pilot.press("a")
        await wait_until(pilot, lambda: len(messages.of(EpisodeEnded)) >= 3)
        await pilot.press("a")
        await settle(pilot)
        steps = app.controller.session.total_steps
        await pilot.pause(0.2)
        assert app.controller.session.total_steps == steps  # paused means paused
        assert len(messages.of(StepTaken)) == steps
        assert len(messages.of(EpisodeStarted)) >= 3  # auto-play starts the next episode itself
        assert all(ended.won for ended in messages.of(EpisodeEnded))
        assert not errors(messages)


async def test_typed_command_is_a_human_step(make_app) -> None:
    messages = Messages()
    app = make_app()
    async with app.run_test(message_hook=messages.hook) as pilot:
        await settle(pilot)
        await pilot.press("i")
        assert isinstance(app.focused, Input)
        await pilot.press(*"go south", "enter")  # "s" and space type; they do not step
        await settle(pilot)
        (step,) = messages.of(StepTaken)
        assert step.human and step.record.action == "go south"
        assert step.record.decision.rule == "human"
        assert app.controller.session.state.observation.startswith("You go south")
        assert any("you ▶" in str(line.text) for line in app.query_one(Transcript).lines)
        assert app.focused is app.query_one(DecisionTable)  # single keys work again after a typed step
        await pilot.press("i")
        app.query_one(Input).value = "dance"  # not an admissible action: the game answers, nothing breaks
        await pilot.press("enter")
        await settle(pilot)
        assert messages.of(StepTaken)[-1].record.action == "dance"
        assert not errors(messages)


async def test_alpha_k_and_mode_change_without_a_step(make_app) -> None:
    messages = Messages()
    app = make_app()
    async with app.run_test(message_hook=messages.hook, notifications=True) as pilot:
        await settle(pilot)
        for _ in range(6):  # some learning, so Q is not flat
            await pilot.press("space")
            await settle(pilot)
        session = app.controller.session
        steps, state = session.total_steps, session.state
        before = messages.of(DecisionReady)[-1].decision
        agent, asked = session.agent, app.controller.config
        assert isinstance(agent, DQNAgent)
        asked_alpha, asked_k = asked.dqn.alpha, asked.dqn.k
        await pilot.press("right_square_bracket")
        await settle(pilot)
        after = messages.of(DecisionReady)[-1]
        alpha = next(level for level in ALPHA_LEVELS if level > before.alpha)
        assert after.preview and after.decision.alpha == session.acting.alpha == alpha > before.alpha
        assert after.decision.settings == session.acting  # the decision says what it was made under
        assert asked.dqn.alpha == agent.config.alpha == asked_alpha  # the user's config is not written to
        assert session.total_steps == steps and session.state == state  # nothing moved
        assert after.decision.proposals == before.proposals  # α reweights the same proposals
        expected = posterior_by_hand(
            [row.proposal_count / len(before.proposals) for row in before.candidates],
            [row.q_value for row in before.candidates],
            alpha,
        )
        assert np.allclose([row.posterior for row in after.decision.candidates], expected)
        assert app.query_one(DecisionTable).decision is after.decision
        assert f"exp({alpha:g}·Q)" in str(app.query_one(WhyPanel).content)
        await pilot.press("left_square_bracket", "left_square_bracket")
        await settle(pilot)
        assert session.acting.alpha < before.alpha and asked.dqn.alpha == asked_alpha

        k = len(messages.of(DecisionReady)[-1].decision.proposals)
        await pilot.press("right_curly_bracket", "right_curly_bracket")  # k: the proposals are redrawn
        await settle(pilot)
        assert len(messages.of(DecisionReady)[-1].decision.proposals) == session.acting.k == k + 2
        assert (asked.dqn.k, asked.prior.k, agent.config.k) == (asked_k, asked.prior.k, asked_k)
        assert session.total_steps == steps and session.state == state
        await pilot.press("m")  # the uniform prior has no modes: a warning, not an error
        await settle(pilot)
        warnings = [note for note in messages.of(Notify) if note.notification.severity == "warning"]
        assert warnings and "mode" in str(warnings[-1].notification.message)
        assert not errors(messages)


async def test_train_toggle_new_episode_and_evaluate(make_app) -> None:
    messages = Messages()
    app = make_app()
    async with app.run_test(message_hook=messages.hook) as pilot:
        await settle(pilot)
        await pilot.press("t")
        assert "frozen" in str(app.query_one("#status-text", Static).content)
        await pilot.press("space")
        await settle(pilot)
        assert app.controller.session.learn is False
        assert messages.of(StepTaken)[-1].record.learn_stats == {}
        await pilot.press("n")
        await settle(pilot)
        assert messages.of(EpisodeStarted)[-1].episode == 2
        steps = app.controller.session.total_steps
        await pilot.press("v")
        await settle(pilot)
        (done,) = messages.of(EvaluationDone)
        assert done.result.episodes == 5
        assert app.controller.history.eval_success == [done.result.success_rate]
        assert app.controller.session.total_steps == steps  # evaluation runs on its own env


async def test_pickers_rebuild_the_session_and_errors_are_notifications(make_app) -> None:
    messages = Messages()
    app = make_app()
    async with app.run_test(message_hook=messages.hook, notifications=True) as pilot:
        await settle(pilot)
        # tw-game-file-v0 needs a path option: building it fails, the running session stays.
        await pilot.press("e")
        await pilot.pause()
        picker = app.screen.query_one("#picker-options")
        picker.highlighted = [option.id for option in picker.options].index("tw-game-file-v0")
        await pilot.press("enter")
        await settle(pilot)
        assert any("path" in message for message in errors(messages))
        assert app.controller.config.run.env == "TextFrozenLake-v0"
        await pilot.press("space")
        await settle(pilot)
        assert app.controller.session.total_steps == 1

        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        picker = app.screen.query_one("#picker-options")
        picker.highlighted = [option.id for option in picker.options].index("random")
        await pilot.press("enter")
        await settle(pilot)
        assert messages.of(SessionReady)[-1].config.run.agent == "random"
        decision = messages.of(DecisionReady)[-1].decision
        assert decision.rule == "uniform" and all(row.q_value is None for row in decision.candidates)
        assert "random" in str(app.query_one(WhyPanel).content)
        await pilot.press("right_square_bracket")  # the random agent has no α: a warning, no crash
        await pilot.press("e", "escape")  # the env picker closes without a change
        await settle(pilot)
        assert len(messages.of(SessionReady)) == 2
        assert len(errors(messages)) == 1  # only the missing path


def slow_down(agent) -> threading.Event:
    """Make the agent's decisions wait until the returned event is set (5 s at most)."""
    act = agent.act

    def slow_act(*args, **kwargs):
        release.wait(5)
        return act(*args, **kwargs)

    release = threading.Event()
    agent.act = slow_act
    return release


async def test_escape_cancels_a_slow_call(make_app) -> None:
    messages = Messages()
    app = make_app()
    async with app.run_test(message_hook=messages.hook) as pilot:
        await settle(pilot)
        release = slow_down(app.controller.session.agent)
        await pilot.press("right_square_bracket")  # a preview: one (slow) decision
        await pilot.pause(0.4)
        assert app.jobs.busy
        assert app.query_one("#spinner").display  # the spinner shows for calls that take a while
        await pilot.press("escape")
        await pilot.pause()
        assert not app.jobs.busy
        release.set()
        await settle(pilot)
        assert not [m for m in messages.of(DecisionReady) if m.preview]  # the cancelled result is dropped
        assert not app.query_one("#spinner").display


async def test_a_step_holds_repaints_until_its_decision_or_briefly(make_app) -> None:
    """A step key holds repaints until the next decision is shown; a slow decision lets the step itself show
    after REPAINT_HOLD_S, and nothing stays held."""
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        painted = []
        app.action_step()  # what the space key runs
        assert app._batch_count == 1  # the step's transcript line waits for its decision
        assert app.query_one(LearningPane)._held  # and so do stale plots
        app.call_after_refresh(lambda: painted.append(len(app.query_one(Transcript).lines)))
        await settle(pilot)
        assert app._batch_count == 0 and painted  # released by the decision, then painted
        assert not app.query_one(LearningPane)._held

        release = slow_down(app.controller.session.agent)
        lines = len(app.query_one(Transcript).lines)
        await pilot.press("space")
        await wait_until(pilot, lambda: len(app.query_one(Transcript).lines) > lines)  # the step is in
        await pilot.pause(REPAINT_HOLD_S + 0.1)
        assert app.jobs.busy and app._batch_count == 0  # the decision is still coming, the screen is not held
        release.set()
        await settle(pilot)
        assert app._batch_count == 0


async def test_a_spinner_label_crops_the_status_and_never_changes_the_bar_height(make_app) -> None:
    """How long a call took must not move the screen: a label that leaves the status too little room
    crops it beside the spinner (once it kept the bar two lines tall after the call, so a slow first
    decision changed the whole layout)."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        bar, status = app.query_one(StatusBar), app.query_one("#status-text", Static)
        assert bar.outer_size.height == 1
        full = str(status.content)
        bar.set_busy("a call with a long name that leaves the status too little room")
        await pilot.pause(BUSY_DELAY_S + 0.1)
        assert app.query_one("#busy-label", Static).display
        assert bar.outer_size.height == 1 and str(status.content) == full  # cropped on screen, not re-packed
        assert status.content_size.width < len(full)
        bar.set_busy(None)
        await pilot.pause()
        assert bar.outer_size.height == 1


async def test_the_status_bar_keeps_its_second_line_until_the_screen_resizes(make_app) -> None:
    """A status that needed two lines keeps both when it fits one again: a bar changing height
    resized the whole screen above it."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        bar = app.query_one(StatusBar)
        await pilot.resize_terminal(121, 36)  # a new screen size: the bar needs one line
        await pilot.pause()
        await pilot.pause()
        assert bar.outer_size.height == 1
        bar.show(app.controller, PlayState(autoplay=True, speed="at a speed with a long name " * 2))
        await pilot.pause()
        await pilot.pause()
        assert bar.outer_size.height == 2
        bar.show(app.controller, PlayState())
        await pilot.pause()
        assert bar.outer_size.height == 2 and "\n" not in str(app.query_one("#status-text", Static).content)
        await pilot.resize_terminal(122, 36)
        await pilot.pause()
        await pilot.pause()
        assert bar.outer_size.height == 1


async def test_a_prior_server_outage_shows_in_the_status_bar_until_the_server_is_back(make_app) -> None:
    """A remote prior waiting for its server (sandbox/prior_service/outage.py) says so in the status bar at once."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        watch = OutageWatch("http://127.0.0.1:8765", 300.0)
        app.controller.agent.prior.outage = watch  # what a remote prior carries
        app._watch_prior_outages()
        label, bar = app.query_one("#busy-label", Static), app.query_one(StatusBar)
        bar.set_busy("asking the LLM")  # the outage happens inside an engine call
        watch.listener("prior server down (cannot be reached): waiting for it, 3 of 300 s")
        await pilot.pause(BUSY_DELAY_S + 0.1)
        assert label.display and "prior server down (cannot be reached)" in str(label.content)
        watch.listener(None)
        await pilot.pause()
        assert label.display and "asking the LLM" in str(label.content)  # back to the call's own label
        watch.listener("prior server down (cannot be reached): waiting for it, 9 of 300 s")
        await pilot.pause()
        bar.set_busy(None)  # the call ended (esc cancelled the wait): nothing is left on the bar
        await pilot.pause()
        assert not label.display
        bar.set_busy("computing Q")
        await pilot.pause(BUSY_DELAY_S + 0.1)
        assert "computing Q" in str(label.content)
