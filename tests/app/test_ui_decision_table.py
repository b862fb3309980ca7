"""The decision table rewrites its cells in place from step to step, and rebuilds itself when the
action set changes size: either way every row shows its own candidate's numbers."""

from __future__ import annotations

from textual.app import App, ComposeResult

from agents.decision import Decision, TextState
from agents.dqn import DQNAgent
from agents.prior.config import PriorConfig
from agents.prior.priors import UniformPrior
from sandbox.ui.widgets.decision_table import DecisionPanel, DecisionTable
from tests.app.support import fast_config

ACTIONS = ("go north", "go south", "go east", "go west", "wait here", "look around")


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DecisionTable(id="candidates")


def decide(actions: tuple[str, ...], observation: str, *, alpha: float = 1.0) -> Decision:
    config = fast_config()
    config.dqn.alpha = alpha
    agent = DQNAgent(config.dqn, prior=UniformPrior(PriorConfig(model="uniform", cache_path=None)))
    return agent.act(TextState(family="frozenlake", task="Reach the goal.", observation=observation, actions=actions))


def shown_rows(table: DecisionTable) -> list[tuple[str, str, str, str]]:
    """(marker, action, p_LLM, posterior) as printed on each display row."""
    rows = []
    for row in range(table.row_count):
        marker, label, prior, _, _, posterior = (str(cell) for cell in table.get_row_at(row))
        rows.append((marker.strip(), label.strip(), prior.split()[0], posterior.split()[0]))
    return rows


def expected_rows(decision: Decision) -> list[tuple[str, str, str, str]]:
    return [
        ("▶" if row.action == decision.action else "", f"{row.action} ×{row.proposal_count}" if row.proposal_count else row.action,
         f"{row.prior:.2f}", f"{row.posterior:.2f}")
        for row in decision.candidates
    ]


async def test_rows_follow_the_decision_in_place_and_across_sizes() -> None:
    app = TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(DecisionTable)
        first = decide(ACTIONS[:4], "You are at the start.")
        table.show(first)
        await pilot.pause()
        assert shown_rows(table) == expected_rows(first)
        columns = list(table.columns)

        cleared = []
        clear = table.clear
        table.clear = lambda columns=False: (cleared.append(columns), clear(columns))[1]
        second = decide(("look around", "go north", "go east", "wait here"), "You moved east.", alpha=30.0)
        table.show(second)  # same size, other actions and numbers: rewritten in place
        await pilot.pause()
        assert not cleared and list(table.columns) == columns
        assert shown_rows(table) == expected_rows(second)
        for row, (_, action, prior, posterior) in enumerate(expected_rows(second)):  # resized columns, on screen
            line = table.render_line(row + 1).text  # under the header
            assert action in line and line.index(prior) < line.index(posterior)
        assert table.cursor_row == [row.action for row in second.candidates].index(second.action)
        assert [table.action_at(row) for row in range(table.row_count)] == [row.action for row in second.candidates]

        for actions in (ACTIONS[:3], ACTIONS):  # fewer, then more actions: rebuilt
            decision = decide(actions, f"{len(actions)} ways to go.")
            table.show(decision)
            await pilot.pause()
            assert table.row_count == len(actions)
            assert shown_rows(table) == expected_rows(decision)
            assert [table.action_at(row) for row in range(table.row_count)] == list(actions)
        assert len(cleared) == 2

        table.show(None)
        await pilot.pause()
        assert table.row_count == 0 and not table.columns


class PanelApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DecisionPanel(id="decision")


async def test_the_panel_keeps_its_tallest_height_until_the_screen_resizes() -> None:
    """A short explanation after a long one leaves the panel as tall: the plots under it do not jump."""
    app = PanelApp()
    async with app.run_test(size=(100, 40)) as pilot:
        panel = app.query_one(DecisionPanel)
        panel.show(decide(ACTIONS, "Six ways to go."))
        await pilot.pause()
        tall = panel.outer_size.height
        panel.show(None, "The episode is over.")
        await pilot.pause()
        assert panel.outer_size.height == tall
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        await pilot.pause()
        assert panel.outer_size.height < tall  # a new screen size: only what the note needs
