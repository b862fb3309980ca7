"""The decision panel: every candidate's prior, Q, likelihood and posterior, the LLM's raw
proposals, the decision's telemetry, and a "why" panel reading the chosen action back as Bayes rule.

Numbers come straight from the Decision (what the agent computed); the why panel gets
its entropies and KL divergence from agents.bayes via `sandbox.ui.explain`.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.message import Message
from textual.widgets import DataTable, Static

from agents.decision import Decision
from sandbox.ui.explain import Explanation, explain
from sandbox.ui.widgets.in_place import KeepsTallestHeight, update_in_place
from sandbox.ui.widgets.telemetry import TelemetryLine

BLOCKS = " ▏▎▍▌▋▊▉█"
PRIOR_COLOR = "#a371f7"
Q_COLOR = "#2f9ec2"
LIKELIHOOD_COLOR = "#d4a017"
POSTERIOR_COLOR = "#2ea043"
HUMAN_COLOR = "#e8590c"
RULE_WORDS = {
    "posterior-sample": "sampled from the posterior",
    "greedy": "greedy: the best Q",
    "epsilon-random": "ε-random exploration",
    "prior-sample": "sampled from p_LLM",
    "policy-sample": "sampled from the policy π",
    "uniform": "uniformly at random",
    "human": "chosen by you",
}


def bar(fraction: float, width: int, color: str) -> Text:
    """A horizontal bar of `width` cells filled to `fraction`, with eighth-block resolution."""
    if width <= 0:
        return Text()
    fraction = min(max(fraction, 0.0), 1.0) if math.isfinite(fraction) else 0.0
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = BLOCKS[-1] * full + (BLOCKS[part] if part and full < width else "")
    return Text(text.ljust(width), style=color)


def number_with_bar(
    value: float | None, fraction: float, width: int, color: str, signed: bool = False, decimals: int = 2
) -> Text:
    """The number first (always readable), then a bar when the column has room."""
    if value is None:
        return Text("    —".ljust(5 + decimals + width))
    number = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
    return Text.assemble(" ", number.rjust(3 + decimals), " ", bar(fraction, width, color))


def eighths(fraction: float, width: int) -> int:
    """How many eighth-blocks `bar` fills: two values whose bars differ differ here."""
    return round(min(max(fraction, 0.0), 1.0) * width * 8)


def distinguishing_decimals(values: list[float], fractions: list[float], width: int, most: int = 6) -> int:
    """The fewest decimals (2 to `most`) at which every two values whose bars differ also print differently:
    Q values close together share a bar scale stretched from the lowest to the highest."""
    for decimals in range(2, most + 1):
        printed = [f"{value:+.{decimals}f}" for value in values]
        if all(
            printed[i] != printed[j]
            for i in range(len(values))
            for j in range(i + 1, len(values))
            if eighths(fractions[i], width) != eighths(fractions[j], width)
        ):
            return decimals
    return most


def number_with_delta(value: float, before: float, width: int, color: str) -> Text:
    """A number, its change from `before` (green up, red down), then its bar: a before/after cell."""
    delta = value - before
    if abs(delta) < 0.005:
        change = Text("     ·", style="dim")
    else:
        change = Text(f"{delta:+.2f}".rjust(DELTA_WIDTH), style="bold green" if delta > 0 else "bold red")
    return Text.assemble(" ", f"{value:.2f}".rjust(5), change, " ", bar(value, width, color))


SORT_ABOVE = 8  # with more candidates than this, rows are sorted by posterior
OPTIMAL_MARK = "★"  # beside an action the env knows to be optimal (the table's `*` toggle)
OPTIMAL_COLOR = "#e3b341"
HEADERS = ("  ", "action", " p_LLM", " Q", " exp(αQ)", " posterior")
Q_COLUMN = 3
COMPARED = {2: " p_LLM  Δ", 5: " posterior  Δ"}  # the columns a before/after view shows changes in
DELTA_WIDTH = 6


class DecisionTable(DataTable):
    """One row per candidate action; Enter (or a click) takes that action as a human step."""

    class ActionChosen(Message):
        def __init__(self, action: str) -> None:
            super().__init__()
            self.action = action

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", cell_padding=0, zebra_stripes=True)
        self.decision: Decision | None = None
        self.before: Decision | None = None
        self.optimal: frozenset[str] = frozenset()  # actions marked ★: the env's optimal ones, when shown
        self.order: list[int] = []  # the candidate (index into decision.candidates) on each display row

    def _headers(self) -> tuple[str, ...]:
        return tuple(COMPARED.get(i, header) if self.before else header for i, header in enumerate(HEADERS))

    def _bar_width(self, action_width: int, q_decimals: int = 2) -> int:
        """The widest bars (up to 12 cells) that keep every column in view."""
        available = self.scrollable_content_region.width or 60
        headers = self._headers()
        fixed = len(headers[0]) + max(action_width + 1, len(headers[1]))
        for width in range(12, 0, -1):
            if fixed + sum(self._numeric_widths(width, q_decimals)) <= available:
                return width
        return 0

    def _numeric_widths(self, bar_width: int, q_decimals: int = 2) -> list[int]:
        """The four numeric columns' widths: number and bar, plus the change where one is shown."""
        compared = COMPARED if self.before is not None else {}
        return [
            max(len(header), 7 + bar_width + (DELTA_WIDTH if i in compared else 0) + (q_decimals - 2 if i == Q_COLUMN else 0))
            for i, header in enumerate(self._headers())
            if i >= 2
        ]

    def show(self, decision: Decision | None, before: Decision | None = None, optimal: tuple[str, ...] | None = None) -> None:
        """Render a decision (None clears the table, e.g. at the end of an episode).

        With `before` (the same state's decision under another prompt) the p_LLM and posterior
        columns show each action's change from it; `optimal` actions get a ★. When the columns
        and the number of rows stay as they were (the usual step), the cells are rewritten in
        place: rebuilding the table changes its height for a moment and re-lays out the screen.
        """
        self.optimal = frozenset(optimal or ())
        self.decision = decision
        self.before = before if decision is not None else None
        if decision is None:
            self.clear(columns=True)
            self.order = []
            return
        candidates = decision.candidates
        order = list(range(len(candidates)))
        if len(order) > SORT_ABOVE:  # long TextWorld lists: the likely actions first
            order.sort(key=lambda i: (-candidates[i].posterior, -candidates[i].prior))
        columns, rows = self._layout(decision, before, order)
        shown = self.ordered_columns
        if [header for header, _ in columns] == [str(column.label) for column in shown] and len(rows) == self.row_count:
            resized = False
            for column, (_, width) in zip(shown, columns):
                resized |= column.width != width
                column.width = width
            for number, cells in enumerate(rows):
                for column, cell in enumerate(cells):
                    self.update_cell(str(number), str(column), cell, update_width=resized)
        else:
            self.clear(columns=True)
            for column, (header, width) in enumerate(columns):
                self.add_column(header, width=width, key=str(column))
            for number, cells in enumerate(rows):
                self.add_row(*cells, key=str(number))
        self.order = order
        chosen_row = next((n for n, i in enumerate(order) if candidates[i].action == decision.action), 0)
        self.move_cursor(row=chosen_row)

    def _layout(self, decision: Decision, before: Decision | None, order: list[int]) -> tuple[list[tuple[str, int]], list[list[Text]]]:
        """The columns (header, fixed width) and the cells of each display row, in `order`."""
        candidates = decision.candidates
        available = self.scrollable_content_region.width or 60
        headers = self._headers()
        # the marker, " ×n" and a space after the name, and the four numeric columns at their narrowest
        numeric = sum(self._numeric_widths(0))
        budget = max(16, min(40, available - len(headers[0]) - 4 - numeric))
        shortened = {i: row.action if len(row.action) <= budget else row.action[: budget - 1] + "…" for i, row in enumerate(candidates)}
        names = {i: name + (f" ×{candidates[i].proposal_count}" if candidates[i].proposal_count else "") for i, name in shortened.items()}
        # room for the widest count k allows after any name, so the column keeps its width from step to step
        widest_count = len(f" ×{len(decision.proposals)}") if decision.proposals else 0
        action_width = max(len(name) for name in shortened.values()) + widest_count
        action_width = max(action_width, *(len(name) for name in names.values()))
        q_values = [row.q_value for row in candidates if row.q_value is not None]
        low, high = (min(q_values), max(q_values)) if q_values else (0.0, 0.0)
        q_fractions = [(q - low) / (high - low) if high > low else 0.5 for q in q_values]
        q_decimals = 2
        for _ in range(3):  # more decimals can narrow the bars, which may then tell apart other pairs
            width = self._bar_width(action_width, q_decimals)
            needed = distinguishing_decimals(q_values, q_fractions, width)
            if needed <= q_decimals:
                break
            q_decimals = needed
        # Fixed widths: auto widths are only measured on the next idle, and only ever grow.
        widths = [len(headers[0]), max(action_width + 1, len(headers[1]))]
        widths += self._numeric_widths(width, q_decimals)
        earlier = {row.action: row for row in before.candidates} if before is not None else {}
        rows = []
        for i in order:
            row = candidates[i]
            chosen = row.action == decision.action
            human = chosen and decision.rule == "human"
            chosen_style = f"bold {HUMAN_COLOR if human else POSTERIOR_COLOR}"
            marker = Text("▶ ", style=chosen_style) if chosen else Text("  ")
            if row.action in self.optimal:
                marker = Text.assemble(("▶", chosen_style) if chosen else " ", (OPTIMAL_MARK, f"bold {OPTIMAL_COLOR}"))
            label = Text(names[i].ljust(action_width + 1), style="bold" if chosen else "")
            label.highlight_regex(r"×\d+", "dim")
            q_fraction = (row.q_value - low) / (high - low) if row.q_value is not None and high > low else 0.5
            was = earlier.get(row.action)
            prior = number_with_bar(row.prior, row.prior, width, PRIOR_COLOR)
            posterior = number_with_bar(row.posterior, row.posterior, width, POSTERIOR_COLOR)
            if before is not None:
                prior = number_with_delta(row.prior, was.prior if was else 0.0, width, PRIOR_COLOR)
                posterior = number_with_delta(row.posterior, was.posterior if was else 0.0, width, POSTERIOR_COLOR)
            q_value = number_with_bar(row.q_value, q_fraction, width, Q_COLOR, signed=True, decimals=q_decimals)
            likelihood = number_with_bar(row.likelihood, row.likelihood or 0.0, width, LIKELIHOOD_COLOR)
            rows.append([marker, label, prior, q_value, likelihood, posterior])
        return list(zip(headers, widths)), rows

    def on_resize(self, event: Resize) -> None:
        if self.decision is not None:
            self.show(self.decision, self.before, tuple(self.optimal))

    def action_at(self, row: int) -> str:
        """The action shown on display row `row` (rows may be sorted by posterior)."""
        assert self.decision is not None
        return self.decision.candidates[self.order[row]].action

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.decision is not None:
            self.post_message(self.ActionChosen(self.action_at(event.cursor_row)))


class ProposalList(Static):
    """Sample mode: each raw LLM completion and the action it mapped to, or "dropped"."""

    def show(self, decision: Decision | None) -> None:
        result = decision.prior_result if decision is not None else None
        if result is None or not result.proposals:
            self.display = False
            return
        self.display = True
        text = Text("LLM said: ", style="bold")
        for index, proposal in enumerate(result.proposals):
            if index:
                text.append(" · ", style="dim")
            text.append(repr(proposal.text.strip()), style=PRIOR_COLOR)
            if proposal.action is None:
                text.append(" → dropped", style="bold red")
            elif proposal.how == "exact":
                text.append(" ✓", style=POSTERIOR_COLOR)
            else:
                text.append(f" → {proposal.action} ({proposal.how})")
        if result.fallback_uniform:
            text.append("  every proposal dropped: uniform prior used", style="bold red")
        update_in_place(self, text)


def why_text(explanation: Explanation) -> Text:
    """Prior × likelihood → posterior for the chosen action, with the agent's own numbers."""
    decision = explanation.decision
    text = Text()
    action = decision.action
    how = RULE_WORDS.get(decision.rule, decision.rule)
    if explanation.chosen is None:
        text.append("you typed ", style="bold")
        text.append(action, style=f"bold {HUMAN_COLOR}")
        text.append(": not an admissible action, so the agent gave it no probability.")
        return text
    i = explanation.chosen
    row = explanation.rows[i]
    uniform = f" (uniform would be {explanation.uniform_entropy:.2f})"
    text.append("why ", style="bold")
    text.append(action, style=f"bold {HUMAN_COLOR if explanation.human else POSTERIOR_COLOR}")
    text.append(f" ({how})\n", style="dim")
    breakdown = explanation.breakdown
    if breakdown is not None and decision.prior_result is not None:
        exact = explanation.exact
        text.append("Bayes rule: ", style="bold")
        bayes_line(text, "p_LLM", exact.prior[i], exact.likelihood[i], explanation.exact_evidence, exact.posterior[i])
        acted = "posterior"
        if explanation.estimated:
            acted = "agent's posterior"
            text.append("the agent acts on ", style="bold")
            text.append(f"its {explanation.prior_label}", style=PRIOR_COLOR)
            text.append(", the paper's Monte Carlo estimate of p_LLM:\n")
            text.append("  ")
            bayes_line(
                text, "estimate", breakdown.prior[i], breakdown.likelihood[i], explanation.evidence, breakdown.posterior[i],
                posterior_name=acted,
            )
        text.append(f"likelihood = exp({breakdown.alpha:g}·Q) normalised, Q {breakdown.q_values[i]:+.3f}\n", style="dim")
        text.append(f"H(p_LLM) {explanation.p_llm_entropy:.2f} → H({acted}) {explanation.posterior_entropy:.2f} nats\n")
        text.append(f"KL({acted} ‖ p_LLM) {explanation.kl:.2f} nats", style="bold")
        text.append(": how far Q moved the agent from the LLM", style="dim")
    elif breakdown is not None:
        best = max(range(len(explanation.rows)), key=lambda j: breakdown.q_values[j])
        epsilon = f", ε {decision.epsilon:.2f}" if decision.epsilon is not None else ""
        text.append(f"DQN has no prior: ε-greedy on Q over all actions{epsilon}\n")
        text.append(
            f"Q({action}) {breakdown.q_values[i]:+.3f}; best Q {breakdown.q_values[best]:+.3f} "
            f"({explanation.rows[best].action}). exp(αQ) shows what a prior-free posterior would be."
        )
    elif not explanation.follows_prior:  # a learned policy (PPO); the agents below act on the prior itself
        text.append(f"a learned policy π acts: π({action}) {row.posterior:.2f}")
        if decision.prior_result is not None:
            text.append(f", p_LLM {row.prior:.2f}\n")
            weight = f", weighted by α={decision.alpha:g} in its loss" if decision.alpha is not None else ""
            text.append(f"KL(π‖p_LLM) {explanation.kl:.2f} nats{weight}")
        else:
            text.append(f"\nH(π) {explanation.posterior_entropy:.2f} nats{uniform}")
    elif decision.prior_result is not None:
        text.append(f"the LLM agent acts on p_LLM alone: p_LLM({action}) {row.prior:.2f}\n")
        text.append(f"H(p_LLM) {explanation.prior_entropy:.2f} nats{uniform}")
    else:
        count = len(explanation.rows)
        text.append(f"the random agent picks each of the {count} actions with probability {row.prior:.2f}")
    return text


def bayes_line(
    text: Text,
    prior_name: str,
    prior: float,
    likelihood: float,
    total: float,
    posterior: float,
    posterior_name: str = "posterior",
) -> None:
    """One application of Bayes rule to the chosen action: prior × likelihood ÷ Σ_a prior·likelihood → posterior."""
    text.append(f"{prior_name} ", style=PRIOR_COLOR)
    text.append(f"{prior:.2f} × ")
    text.append("likelihood ", style=LIKELIHOOD_COLOR)
    text.append(f"{likelihood:.2f} ÷ Σ {total:.3f} → ")
    text.append(f"{posterior_name} {posterior:.2f}\n", style=f"bold {POSTERIOR_COLOR}")


class WhyPanel(Static):
    def show(self, decision: Decision | None, note: str = "") -> None:
        update_in_place(self, why_text(explain(decision)) if decision is not None else Text(note, style="italic"))


class DecisionPanel(KeepsTallestHeight, Vertical):
    """Table, proposals and explanation for one decision, kept together so they always agree.

    The panel keeps the tallest height it has needed on this screen size: one that shrank and grew
    with every explanation would move the plots under it each step, and have them re-rendered."""

    def compose(self) -> ComposeResult:
        yield DecisionTable(id="candidates")
        yield ProposalList(id="proposals")
        yield TelemetryLine(id="telemetry")
        yield WhyPanel(id="why")

    def show(self, decision: Decision | None, note: str = "", optimal: tuple[str, ...] | None = None) -> None:
        """Show a decision, or clear the panel leaving `note` (e.g. why there is no decision)."""
        self.query_one(DecisionTable).show(decision, optimal=optimal)
        self.query_one(ProposalList).show(decision)
        self.query_one(TelemetryLine).show(decision)
        self.query_one(WhyPanel).show(decision, note)
