"""The what-if fork screen driven by keys: fork, step both branches, compare, discard or keep."""

from __future__ import annotations

from textual.widgets import Static

from sandbox.ui.app import SandboxApp
from sandbox.ui.messages import DecisionReady, EpisodeStarted, StepTaken
from sandbox.ui.screens.fork import ForkClosed, ForkDecision, ForkLearning, ForkScreen, ForkStarted, ForkStepped
from sandbox.ui.widgets.decision_table import DecisionTable
from sandbox.ui.widgets.game_pane import Transcript
from tests.app.support import Messages, settle
from tests.app.test_ui_app import errors


def transcript_text(transcript: Transcript) -> str:
    return "\n".join(line.text for line in transcript.lines)


async def test_fork_take_another_action_compare_and_discard(make_app) -> None:
    messages = Messages()
    app: SandboxApp = make_app()
    async with app.run_test(size=(120, 36), message_hook=messages.hook) as pilot:
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        session = app.controller.session
        shown = messages.of(DecisionReady)[-1].decision
        t, total, buffer = session.t, session.total_steps, len(session.agent.buffer)

        await pilot.press("f")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ForkScreen)
        (started,) = messages.of(ForkStarted)
        assert started.fork.at == t and started.fork.fork.session.state == session.state
        assert {m.branch: m.decision for m in messages.of(ForkDecision)} == {"main": shown, "fork": shown}

        table = screen.query_one(DecisionTable)  # another action than the agent's, taken in the fork
        row = next(r for r in range(table.row_count) if table.action_at(r) != shown.action)
        other = table.action_at(row)
        table.move_cursor(row=row)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("m")  # the agent plays on in the main branch
        await settle(pilot)
        stepped = {m.branch: m.record for m in messages.of(ForkStepped)}
        assert stepped["fork"].action == other and stepped["fork"].decision.rule == "human"
        assert stepped["main"].action == shown.action and stepped["main"].decision is shown
        main_summary = str(screen.query_one("#main-summary", Static).content)
        fork_summary = str(screen.query_one("#fork-summary", Static).content)
        assert f"step {t + 1} · 1 since the fork" in main_summary and f"step {t + 1}" in fork_summary
        assert other in transcript_text(screen.query_one("#fork-transcript", Transcript))
        assert shown.action in transcript_text(screen.query_one("#main-transcript", Transcript))

        await pilot.press("n", "a")  # the main screen's keys rest while the fork is open
        await settle(pilot)
        assert len(messages.of(StepTaken)) == 1 and len(messages.of(EpisodeStarted)) == 1 and not app.autoplay
        assert (session.t, session.total_steps, len(session.agent.buffer)) == (t, total, buffer)

        await pilot.press("x")
        await settle(pilot)
        (closed,) = messages.of(ForkClosed)
        assert not closed.kept and not isinstance(app.screen, ForkScreen)
        assert app.controller.session is session
        await pilot.press("space")  # main takes the action it showed before the fork
        await settle(pilot)
        assert messages.of(StepTaken)[-1].record.action == shown.action
        assert not errors(messages)


async def test_a_learning_fork_is_kept_as_the_main_episode(make_app) -> None:
    messages = Messages()
    app: SandboxApp = make_app()
    async with app.run_test(size=(120, 36), message_hook=messages.hook) as pilot:
        await settle(pilot)
        main = app.controller.session
        buffer = len(main.agent.buffer)
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert messages.of(ForkLearning)[-1].learn
        assert "on: its steps train the agent" in str(app.screen.query_one("#fork-title", Static).content)
        await pilot.press("i", *"go south", "enter")  # typed into the fork
        await settle(pilot)
        (record,) = [m.record for m in messages.of(ForkStepped)]
        assert record.action == "go south" and len(main.agent.buffer) == buffer + 1
        decisions = len(messages.of(DecisionReady))

        await pilot.press("k")
        await settle(pilot)
        (closed,) = messages.of(ForkClosed)
        assert closed.kept and not isinstance(app.screen, ForkScreen)
        kept = app.controller.session
        assert kept is closed.fork.fork.session and kept.episode_actions == ["go south"]
        assert kept.learn == main.learn and kept.act_rng is None
        assert "kept the fork" in transcript_text(app.query_one("#transcript", Transcript))
        if not kept.done:  # the kept state gets its own decision on the main screen
            assert len(messages.of(DecisionReady)) == decisions + 1
            assert messages.of(DecisionReady)[-1].decision.candidates[0].action in kept.state.actions
        assert not errors(messages)


async def test_a_finished_episode_is_not_forked(make_app) -> None:
    messages = Messages()
    app: SandboxApp = make_app(env_kwargs={"desc": ["SG"]})  # one step east wins
    async with app.run_test(message_hook=messages.hook) as pilot:
        await settle(pilot)
        await pilot.press("i", *"go east", "enter")
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert not isinstance(app.screen, ForkScreen)
        assert not messages.of(ForkStarted)
