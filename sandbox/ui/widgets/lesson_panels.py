"""Live panels only the lessons use: the α sweep table and the race between two agents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from agents import bayes
from sandbox.ui.controller import LearningHistory
from sandbox.ui.explain import Explanation
from sandbox.ui.widgets.decision_table import POSTERIOR_COLOR, PRIOR_COLOR, Q_COLOR, bar
from sandbox.ui.widgets.learning_pane import SUCCESS_WINDOW, rolling_mean

RECENT_EPISODES = 20


class AlphaSweepTable(DataTable):
    """Rows: actions (and the posterior's entropy); columns: the posterior for each α."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="none", cell_padding=0, zebra_stripes=True)

    def show(self, explanation: Explanation, posteriors: Sequence[bayes.Posterior], alphas: Sequence[float]) -> None:
        self.clear(columns=True)
        # The prior the agent's posterior uses: DQN-Prior's share of its k proposals, p_LLM's estimate.
        prior = " k-share" if explanation.estimated else " p_LLM"
        self.add_columns("action ", prior, "      Q", *(f" α={alpha:g}" for alpha in alphas))
        if explanation.breakdown is None:
            self.add_row(Text("this agent has no Q values: nothing to sweep", style="italic"))
            return
        best = [int(np.argmax(posterior.posterior)) for posterior in posteriors]
        for i, row in enumerate(explanation.rows):
            cells = [
                Text(f" {explanation.prior[i]:.2f}", style=PRIOR_COLOR),
                Text(f" {explanation.breakdown.q_values[i]:+.3f}", style=Q_COLOR),
            ]
            for column, posterior in enumerate(posteriors):
                value = posterior.posterior[i]
                cell = Text(f" {value:.2f} ", style="bold" if best[column] == i else "")
                cell.append_text(bar(value, 2, POSTERIOR_COLOR))
                cells.append(cell)
            name = Text(row.action + " ", style="bold" if row.action == explanation.decision.action else "")
            self.add_row(name, *cells)
        entropies = [f" {bayes.nats(bayes.entropy(posterior.posterior)):.2f}" for posterior in posteriors]
        cells = ["H (nats) ", f" {explanation.prior_entropy:.2f}", "", *entropies]
        self.add_row(*(Text(cell, style="italic") for cell in cells))


def first_success(history: LearningHistory) -> int | None:
    return next((episode for episode, won in enumerate(history.wins, start=1) if won), None)


def summary_table(histories: dict[str, LearningHistory]) -> Table:
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    for column in ("agent", "episodes", "first success", f"success (last {RECENT_EPISODES})", "return (last 20)"):
        table.add_column(column)
    for name, history in histories.items():
        recent_wins = history.wins[-RECENT_EPISODES:]
        recent_returns = history.returns[-RECENT_EPISODES:]
        first = first_success(history)
        table.add_row(
            name,
            str(len(history.wins)),
            f"episode {first}" if first else "not yet",
            f"{np.mean(recent_wins):.0%}" if recent_wins else "—",
            f"{np.mean(recent_returns):+.2f}" if recent_returns else "—",
        )
    return table


class ComparisonPanel(Vertical):
    """Rolling success per episode for each agent, and a table of the race so far."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.histories: dict[str, LearningHistory] = {}

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="compare-plot")
        yield Static("", id="compare-summary")

    def on_mount(self) -> None:
        self._draw()

    def show(self, name: str, history: LearningHistory) -> None:
        self.histories[name] = history
        self._draw()

    def _draw(self) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        if any(history.wins for history in self.histories.values()):
            for name, history in self.histories.items():
                if history.wins:
                    episodes = list(range(1, len(history.wins) + 1))
                    plt.plot(episodes, rolling_mean(history.wins, SUCCESS_WINDOW), label=name, marker="braille")
            plt.ylim(0, 1)
            plt.xlabel("episode")
        else:
            plt.title("success over the last 10 episodes: no finished episode yet")
        plot.refresh()
        self.query_one("#compare-summary", Static).update(summary_table(self.histories) if self.histories else "")
