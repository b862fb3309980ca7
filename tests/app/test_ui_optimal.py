"""Key *: the decision table marks the env's optimal actions (★), follows the state, and clears again."""

from __future__ import annotations

from envs.optimal import optimal_actions
from sandbox.ui.app import SandboxApp
from sandbox.ui.messages import DecisionReady
from sandbox.ui.widgets.decision_table import OPTIMAL_MARK, DecisionTable
from tests.app.support import Messages, settle


def marked(table: DecisionTable) -> set[str]:
    """The actions whose row carries the ★ (the marker column's second cell)."""
    return {table.action_at(row) for row in range(table.row_count) if OPTIMAL_MARK in table.get_row_at(row)[0].plain}


async def test_o_marks_the_optimal_actions_and_follows_the_state(make_app) -> None:
    messages = Messages()
    app: SandboxApp = make_app()
    async with app.run_test(message_hook=messages.hook) as pilot:
        await settle(pilot)
        table = app.query_one(DecisionTable)
        assert marked(table) == set()  # off until asked
        await pilot.press("asterisk")
        await settle(pilot)
        session = app.controller.session
        assert marked(table) == set(optimal_actions(session.env)) != set()
        partly = False  # some state on the way has actions that are not optimal, and they stay unmarked
        for _ in range(4):
            await pilot.press("space")
            await settle(pilot)
            if session.done:
                break
            optimal = set(optimal_actions(session.env))
            assert marked(table) == optimal and messages.of(DecisionReady)[-1].optimal is not None
            partly |= optimal != set(session.state.actions)
        assert partly
        await pilot.press("asterisk")
        await settle(pilot)
        assert marked(table) == set()
