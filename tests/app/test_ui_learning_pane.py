"""The learning pane follows the engine's growing history by copying only what was added, and a held
pane (a step on its way to the screen) leaves its stale plots for later."""

from __future__ import annotations

from textual.app import App, ComposeResult

from sandbox.ui.controller import LearningHistory
from sandbox.ui.widgets.learning_pane import LearningPane

REDRAW_WAIT_S = 0.7  # the pane's timer redraws stale plots every 0.5 s


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LearningPane(id="learning")


def finished_episode(history: LearningHistory, episode_return: float, step: int) -> None:
    history.returns.append(episode_return)
    history.wins.append(float(episode_return > 0))
    history.episode_rows.append({"episode": len(history.returns), "step": step, "return": episode_return})


def test_catch_up_appends_what_the_source_added_since() -> None:
    live, copy = LearningHistory(), LearningHistory()
    finished_episode(live, 1.0, 5)
    live.losses.append(0.5)  # an update whose step is not in yet (the engine thread was between appends)
    copy.catch_up(live)
    assert copy.returns == [1.0] and copy.losses == [0.5] and copy.loss_steps == []
    live.loss_steps.append(3)
    finished_episode(live, 0.0, 9)
    rows = copy.episode_rows
    copy.catch_up(live)
    assert copy == live and copy.returns is not live.returns
    assert copy.episode_rows is rows and copy.episode_rows[0] is live.episode_rows[0]  # rows added, none recopied
    assert live.copy() == live and live.copy().returns is not live.returns


async def test_the_pane_follows_a_live_history_and_a_new_one_starts_afresh() -> None:
    app = PaneApp()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(LearningPane)
        live = LearningHistory()
        finished_episode(live, 1.0, 4)
        pane.follow(live)
        await pilot.pause(REDRAW_WAIT_S)
        assert pane.history == live and pane.history is not live
        finished_episode(live, 0.0, 8)
        pane.follow(live)
        await pilot.pause(REDRAW_WAIT_S)
        assert pane.history.returns == [1.0, 0.0]

        other = LearningHistory()  # a rebuilt session's history
        finished_episode(other, 0.5, 2)
        pane.follow(other)
        await pilot.pause(REDRAW_WAIT_S)
        assert pane.history == other

        owned = LearningHistory()
        pane.show(owned)  # a copy the caller owns is shown as it is
        assert pane.history is owned


async def test_a_held_pane_redraws_its_stale_plots_only_once_released() -> None:
    app = PaneApp()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(LearningPane)
        live = LearningHistory()
        pane.follow(live)
        await pilot.pause(REDRAW_WAIT_S)
        pane.hold(True)
        finished_episode(live, 1.0, 4)
        pane.follow(live)
        await pilot.pause(REDRAW_WAIT_S)
        assert pane.history.returns == []  # stale, but the step's repaint comes first
        pane.hold(False)
        await pilot.pause(REDRAW_WAIT_S)
        assert pane.history.returns == [1.0]
