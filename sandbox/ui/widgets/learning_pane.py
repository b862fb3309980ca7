"""The learning pane: plots of episode return, eval success and loss, ε and replay size, and the
metrics schema's table of episodes and evaluations.

Plots redraw at most twice a second from a copy of the controller's LearningHistory, kept
up to date at each redraw, so a fast auto-play does not spend its time in plotext or copying.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import TabbedContent, TabPane
from textual_plotext import PlotextPlot

from sandbox.ui.controller import LearningHistory
from sandbox.ui.widgets.metrics_table import MetricsTable

PLOT_POINTS = 400  # most recent points drawn per series
SUCCESS_WINDOW = 10


def recent(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    """The last PLOT_POINTS (x, y) pairs; a copy taken while the engine appends may hold one more x than y."""
    end = min(len(xs), len(ys))
    start = max(0, end - PLOT_POINTS)
    return list(xs[start:end]), list(ys[start:end])


def rolling_mean(values: Sequence[float], window: int) -> list[float]:
    """Mean of the last `window` values at each point: a readable success rate per episode."""
    out, total = [], 0.0
    for index, value in enumerate(values):
        total += value
        if index >= window:
            total -= values[index - window]
        out.append(total / min(index + 1, window))
    return out


class LearningPane(Vertical):
    """Three tabs of live plots and a metrics table; `show(history)` or `follow(history)` marks them stale,
    a timer redraws."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history = LearningHistory()
        self._live: LearningHistory | None = None  # the engine's history that `history` copies, when following one
        self._stale = False
        self._held = False

    def compose(self) -> ComposeResult:
        with TabbedContent(id="learning-tabs"):
            with TabPane("return", id="tab-return"):
                yield PlotextPlot(id="plot-return")
            with TabPane("eval · loss", id="tab-eval"):
                yield PlotextPlot(id="plot-eval")
            with TabPane("ε · replay", id="tab-explore"):
                yield PlotextPlot(id="plot-explore")
            with TabPane("metrics", id="tab-metrics"):
                yield MetricsTable(id="metrics-table")

    def on_mount(self) -> None:
        self._draw()
        self.set_interval(0.5, self._redraw_if_stale)

    def show(self, history: LearningHistory) -> None:
        """Plot `history` as it is (a copy the caller owns)."""
        self._live = None
        self.history = history
        self._stale = True

    def follow(self, live: LearningHistory) -> None:
        """Plot `live`, a history the engine keeps appending to from its thread: each redraw first copies
        what was added since the last one (a full copy at every step grew with the session)."""
        if live is not self._live:
            self._live = live
            self.history = LearningHistory()
        self._stale = True

    def hold(self, held: bool) -> None:
        """While held (a step is on its way to the screen), a stale plot waits rather than share its repaint."""
        self._held = held

    def _redraw_if_stale(self) -> None:
        if self._stale and not self._held:
            self._stale = False
            self._draw()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._draw()

    def _draw(self) -> None:
        """Redraw the visible plot only (plotext is the costly part); switching tabs draws the new one."""
        if self._live is not None:
            self.history.catch_up(self._live)
        active = self.query_one(TabbedContent).active
        draw = {
            "tab-return": self._draw_return,
            "tab-eval": self._draw_eval,
            "tab-explore": self._draw_explore,
            "tab-metrics": lambda: self.query_one(MetricsTable).show(self.history),
        }
        draw.get(active, self._draw_return)()

    def _draw_return(self) -> None:
        history = self.history
        plot = self.query_one("#plot-return", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        if history.returns:
            episodes = list(range(1, len(history.returns) + 1))
            plt.plot(*recent(episodes, history.returns), label="return", marker="braille")
            success = rolling_mean(history.wins, SUCCESS_WINDOW)
            plt.plot(*recent(episodes, success), label=f"success ({SUCCESS_WINDOW})", marker="braille")
            plt.xlabel("episode")
        else:
            plt.title("no finished episode yet")
        plot.refresh()

    def _draw_eval(self) -> None:
        history = self.history
        plot = self.query_one("#plot-eval", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        if history.eval_steps:
            plt.plot(*recent(history.eval_steps, history.eval_success), label="eval success", marker="dot")
            plt.ylim(0, 1)
        if history.losses:
            plt.plot(*recent(history.loss_steps, history.losses), label="loss", marker="braille", yside="right")
        if history.eval_steps or history.losses:
            plt.xlabel("step")
        else:
            plt.title("no update or evaluation yet (t trains, v evaluates)")
        plot.refresh()

    def _draw_explore(self) -> None:
        history = self.history
        plot = self.query_one("#plot-explore", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        if history.stat_steps:
            plt.plot(*recent(history.stat_steps, history.epsilons), label="ε", marker="braille")
            plt.plot(*recent(history.stat_steps, history.replay_sizes), label="replay", marker="braille", yside="right")
            plt.xlabel("step")
        else:
            plt.title("no learning step yet")
        plot.refresh()
