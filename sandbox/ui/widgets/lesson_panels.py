"""Live panels only the lessons use: the studied state's table (p_LLM and the k-share side by side, Q on
an absolute scale with its spread), Bayes rule read both ways, the checks of a page, the α sweep, and
races over several seeds plotted against env steps.

Every posterior, entropy and KL divergence shown is one the Decision carries (`agents.decision`), read through `Study`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence

import numpy as np
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from sandbox.ui.lesson_checks import (
    SUCCESS_WINDOW_STEPS,
    SeedRun,
    Study,
    Verdict,
    describe_first_successes,
    race_grid,
)
from sandbox.ui.widgets.decision_table import (
    LIKELIHOOD_COLOR,
    OPTIMAL_COLOR,
    OPTIMAL_MARK,
    POSTERIOR_COLOR,
    PRIOR_COLOR,
    Q_COLOR,
    RULE_WORDS,
    bar,
)

SHARE_COLOR = "#d2a8ff"
RUNNER_COLORS = ("orange", "cyan", "green", "magenta", "red", "yellow")  # one per runner: its mean and its seeds' range
BAR_WIDTH = 8
Q_SCALE = (0.0, 1.0)  # Q bars: the lake pays 1 at the goal and nothing elsewhere, so Q lies in [0, 1]


def spread_bar(value: float, spread: float | None, width: int) -> Text:
    """Q on the fixed 0-1 scale: solid up to Q − sd, ▒ from there to Q + sd (the spread), blank after."""
    low, high = Q_SCALE
    if not math.isfinite(value):
        return Text(" " * width)

    def cells(x: float) -> int:
        return round(min(max((x - low) / (high - low), 0.0), 1.0) * width)

    if spread is None or not math.isfinite(spread):
        return bar((value - low) / (high - low), width, Q_COLOR)
    solid, shaded = cells(value - spread), cells(value + spread)
    shaded = max(shaded, solid + (1 if spread > 0 else 0))
    text = Text("█" * solid, style=Q_COLOR)
    text.append("▒" * (min(shaded, width) - solid), style=Q_COLOR)
    text.append(" " * (width - min(shaded, width)))
    return text


def number_bar(value: float, color: str, width: int = BAR_WIDTH) -> Text:
    return Text.assemble(f" {value:.2f} ", bar(value, width, color)) if width else Text(f" {value:.2f}")


class StudyTable(DataTable):
    """One row per candidate: p_LLM (the exact prior), the k-share (the agent's estimate of it), Q with its
    spread, the likelihood exp(αQ) and the posterior the agent acts on (hidden until revealed)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="none", cell_padding=0, zebra_stripes=True)
        self._shown: tuple[Study, bool, int] | None = None  # the study, hide_posterior and the bars' width

    def bar_width(self, study: Study) -> int:
        """Bars as wide as the panel allows (numbers first, always): 5 bars beside about 50 cells of text."""
        action_width = max(len(action) for action in study.actions) + 1
        return max(0, min(BAR_WIDTH, ((self.size.width or 64) - action_width - 52) // 5))

    def on_resize(self) -> None:
        """A table filled before its panel was laid out (a page switch) is filled again at the size it got."""
        if self._shown is not None and self.bar_width(self._shown[0]) != self._shown[2]:
            self.show(*self._shown[:2])

    def show(self, study: Study, hide_posterior: bool = False) -> None:
        self.clear(columns=True)
        explanation = study.explanation
        breakdown = explanation.breakdown
        k = len(explanation.decision.proposals)
        share_header = f" k-share (k={k})" if explanation.estimated else " p_LLM (acted on)"
        headers = ("  ", "action ", " p_LLM", share_header, " Q ± spread", " exp(αQ)", " posterior")
        width = self.bar_width(study)
        self._shown = (study, hide_posterior, width)
        rows: list[tuple[Text, ...]] = []
        for i, row in enumerate(explanation.rows):
            chosen = row.action == explanation.decision.action
            marker = Text("▶" if chosen else " ", style=f"bold {POSTERIOR_COLOR}")
            marker.append(OPTIMAL_MARK if row.action in study.optimal else " ", style=f"bold {OPTIMAL_COLOR}")
            share = Text(f" {row.proposal_count}/{k}" if explanation.estimated else "", style="dim")
            share.append_text(number_bar(float(study.share[i]), SHARE_COLOR, width))
            spread = float(study.q_spread[i]) if study.q_spread is not None else None
            q_number = f" {study.q[i]:+.3f}" + (f"±{spread:.3f} " if spread is not None else "       ")
            q_cell = Text(q_number, style=Q_COLOR)
            q_cell.append_text(spread_bar(float(study.q[i]), spread, width))
            likelihood = (
                number_bar(float(breakdown.likelihood[i]), LIKELIHOOD_COLOR, width) if breakdown is not None else Text(" —")
            )
            posterior = Text("    ?", style="bold") if hide_posterior else number_bar(row.posterior, POSTERIOR_COLOR, width)
            name = Text(row.action + " ", style="bold" if chosen else "")
            p_llm = number_bar(float(study.p_llm[i]), PRIOR_COLOR, width)
            rows.append((marker, name, p_llm, share, q_cell, likelihood, posterior))
        # Widths set here, from the cells: DataTable's own auto-width is measured later, on an idle tick, and
        # under load a table refilled twice in a row was drawn with its headers' widths only ("go sout").
        for column, header in enumerate(headers):
            self.add_column(header, width=max([cell_len(header), *(cells[column].cell_len for cells in rows)]))
        for cells in rows:
            self.add_row(*cells)


def bayes_text(study: Study, hide_posterior: bool = False) -> Text:
    """Bayes rule for the chosen action, with p_LLM and with the k-share (the table's column), then Q's pull and
    the sampling noise, each named."""
    explanation = study.explanation
    decision = explanation.decision
    breakdown = explanation.breakdown
    text = Text()
    if breakdown is None or explanation.chosen is None:
        return Text("this agent has no Q values: no Bayes rule to show", style="italic")
    i = explanation.chosen
    text.append("why ", style="bold")
    text.append(decision.action, style=f"bold {POSTERIOR_COLOR}")
    text.append(f" ({RULE_WORDS.get(decision.rule, decision.rule)}), likelihood = exp({breakdown.alpha:g}·Q) normalised\n", style="dim")
    if hide_posterior:
        text.append("Bayes rule's answer is hidden until you guess.", style="italic")
        return text
    exact = study.exact
    bayes_line(text, "with p_LLM:   ", "p_LLM", exact.prior[i], exact.likelihood[i], exact.evidence, exact.posterior[i])
    if explanation.estimated:
        bayes_line(
            text, "with k-share: ", "k-share", breakdown.prior[i], breakdown.likelihood[i], breakdown.evidence,
            breakdown.posterior[i], " = the posterior column, what the agent acts on",
        )  # fmt: skip
    text.append("Q's pull ", style="bold")
    text.append(f"KL(posterior under p_LLM ‖ p_LLM) {study.pull:.3f} nats", style="bold")
    text.append(": how far Q moves belief from the LLM\n", style="dim")
    if explanation.estimated:
        text.append("sampling noise ", style="bold")
        text.append(f"KL(k-share ‖ p_LLM) {study.noise:.3f} nats", style="bold")
        text.append(f": how far {len(decision.proposals)} draws land from p_LLM\n", style="dim")
    text.append(
        f"H(p_LLM) {decision.p_llm_entropy:.2f} → H(posterior under p_LLM) {exact.posterior_entropy:.2f} nats",
        style="dim",
    )
    return text


def bayes_line(
    text: Text, lead: str, prior_name: str, prior: float, likelihood: float, total: float, posterior: float, note: str = ""
) -> None:
    text.append(lead, style="bold")
    text.append(f"{prior_name} ", style=PRIOR_COLOR if prior_name == "p_LLM" else SHARE_COLOR)
    text.append(f"{prior:.2f} × ")
    text.append("likelihood ", style=LIKELIHOOD_COLOR)
    text.append(f"{likelihood:.2f} ÷ Σ {total:.3f} → ")
    text.append(f"posterior {posterior:.2f}", style=f"bold {POSTERIOR_COLOR}")
    text.append(f"{note}\n", style="dim")


class BayesPanel(Static):
    def show(self, study: Study | None, hide_posterior: bool = False) -> None:
        self.update(bayes_text(study, hide_posterior) if study is not None else "")


def verdicts_text(verdicts: Sequence[Verdict]) -> Text:
    """A page's claims: ✓ stated with the numbers behind it, ✗ replaced by what was seen, … not run yet."""
    text = Text()
    for verdict in verdicts:
        if text:
            text.append("\n")
        if verdict.holds is None:
            text.append("… ", style="dim")
            text.append(f"{verdict.claim}: {verdict.seen}", style="dim")
        elif verdict.holds:
            text.append("✓ ", style="bold green")
            text.append(verdict.claim)
            text.append(f" ({verdict.seen})", style="dim")
        else:
            text.append("✗ not on this run: ", style="bold red")
            text.append(f"{verdict.claim}. Seen instead: {verdict.seen}")
    return text


class VerdictBox(Static):
    """Under a page's text: each claim the page makes, checked on this run's numbers."""

    def show(self, verdicts: Sequence[Verdict]) -> None:
        self.display = bool(verdicts)
        self.update(verdicts_text(verdicts))


class AlphaSweepTable(DataTable):
    """Rows: actions (and the posterior's entropy); columns: the posterior ∝ p_LLM·exp(α·Q) for each α."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="none", cell_padding=0, zebra_stripes=True)

    def show(self, study: Study, alphas: Sequence[float]) -> None:
        self.clear(columns=True)
        self.add_columns("action ", " p_LLM", "      Q", *(f" α={alpha:g}" for alpha in alphas))
        if study.explanation.breakdown is None:
            self.add_row(Text("this agent has no Q values: nothing to sweep", style="italic"))
            return
        posteriors = study.alpha_sweep(alphas)
        best = [int(np.argmax(posterior.posterior)) for posterior in posteriors]
        for i, action in enumerate(study.actions):
            cells = [Text(f" {study.p_llm[i]:.2f}", style=PRIOR_COLOR), Text(f" {study.q[i]:+.3f}", style=Q_COLOR)]
            for column, posterior in enumerate(posteriors):
                value = posterior.posterior[i]
                cell = Text(f" {value:.2f} ", style="bold" if best[column] == i else "")
                cell.append_text(bar(value, 2, POSTERIOR_COLOR))
                cells.append(cell)
            mark = f" {OPTIMAL_MARK}" if action in study.optimal else ""
            self.add_row(Text(action + mark + " "), *cells)
        entropies = [f" {posterior.posterior_entropy:.2f}" for posterior in posteriors]
        cells = ["H (nats) ", f" {study.decision.p_llm_entropy:.2f}", "", *entropies]
        self.add_row(*(Text(cell, style="italic") for cell in cells))


# ----- races --------------------------------------------------------------------------------


def race_curve(runs: Sequence[SeedRun]) -> tuple[list[int], list[float], list[float], list[float]]:
    """Steps, and the mean, lowest and highest success over the seeds at each (the window of SUCCESS_WINDOW_STEPS)."""
    steps = race_grid(runs[0].steps)
    values = np.array([[run.success_at(step) for step in steps] for run in runs])
    return steps, list(values.mean(axis=0)), list(values.min(axis=0)), list(values.max(axis=0))


def race_table(races: dict[str, list[SeedRun]]) -> Table:
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    for column in ("agent", "seeds", "first success (env steps)", f"success, last {SUCCESS_WINDOW_STEPS} steps"):
        table.add_column(column)
    for name, runs in races.items():
        finals = [run.final_success for run in runs]
        table.add_row(name, str(len(runs)), describe_first_successes(runs), f"{np.mean(finals):.0%} ({min(finals):.0%}–{max(finals):.0%})")
    return table


def races_csv(races: dict[str, list[SeedRun]]) -> str:
    """One row per episode of every race: who ran, on which seed, the env step it ended at, and whether it was won."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["runner", "seed", "race_steps", "episode", "end_step", "won"])
    for name, runs in races.items():
        for run in runs:
            for episode, (end, won) in enumerate(zip(run.ends, run.wins), start=1):
                writer.writerow([name, run.seed, run.steps, episode, end, int(won)])
    return out.getvalue()


class ComparisonPanel(Vertical):
    """Each runner's success against env steps: the mean over its seeds, with the lowest and highest seed dotted."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.races: dict[str, list[SeedRun]] = {}

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="compare-plot")
        yield Static("", id="compare-summary")

    def on_mount(self) -> None:
        self._draw()

    def show(self, races: dict[str, list[SeedRun]]) -> None:
        self.races = {name: list(runs) for name, runs in races.items() if runs}
        self._draw()

    def _draw(self) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        if self.races:
            for index, (name, runs) in enumerate(self.races.items()):
                color = RUNNER_COLORS[index % len(RUNNER_COLORS)]
                steps, mean, low, high = race_curve(runs)
                plt.plot(steps, mean, label=f"{name} (mean of {len(runs)} seeds)", marker="braille", color=color)
                plt.plot(steps, low, marker="dot", color=color)
                plt.plot(steps, high, marker="dot", color=color)
            plt.ylim(0, 1)
            plt.xlabel("env steps")
            plt.title(f"success among episodes ended in the last {SUCCESS_WINDOW_STEPS} steps")
        else:
            plt.title("the race has not started")
        plot.refresh()
        self.query_one("#compare-summary", Static).update(race_table(self.races) if self.races else "")
