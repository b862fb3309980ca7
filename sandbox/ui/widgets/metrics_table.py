"""The metrics schema (`sandbox.engine.metrics`) on screen: a table of episodes and evaluations, newest
first, and a one-line summary of one episode. The learning pane, the watch dashboard and the
replay view all show the same fields with the same formatting."""

from __future__ import annotations

import math
from collections.abc import Mapping

from rich.text import Text
from textual.widgets import DataTable

from sandbox.engine.metrics import EPISODE_FIELDS
from sandbox.ui.controller import LearningHistory

HEADERS = {
    "success": "success",
    "normalised_score": "score",
    "steps": "steps",
    "return": "return",
    "invalid_action_rate": "invalid",
    "llm_calls_per_decision": "LLM/dec",
    "ms_per_decision": "ms/dec",
}
MAX_ROWS = 200


def format_metric(field: str, value: float) -> str:
    if math.isnan(value):
        return "–"
    if field in ("success", "normalised_score", "invalid_action_rate"):
        return f"{value:.0%}"
    if field == "return":
        return f"{value:+.2f}"
    if field == "steps":
        return f"{value:.3g}"
    if field == "ms_per_decision":
        return f"{value:.0f}" if value >= 10 else f"{value:.2f}"
    return f"{value:.2f}"


def metrics_text(row: Mapping[str, float]) -> Text:
    """`success 100% · score 100% · steps 7 · …` for one row of the schema."""
    text = Text()
    for index, field in enumerate(EPISODE_FIELDS):
        if index:
            text.append(" · ", style="dim")
        text.append(f"{HEADERS[field]} ", style="dim")
        text.append(format_metric(field, row[field]))
    return text


class MetricsTable(DataTable):
    """Training episodes and greedy evaluations in one table, newest first."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.add_column("", key="label")
        for field in EPISODE_FIELDS:
            self.add_column(HEADERS[field], key=field)

    def show(self, history: LearningHistory) -> None:
        rows = [(row["step"], 1, f"eval @{int(row['step'])}", row) for row in history.eval_rows]
        rows += [(row["step"], 0, f"ep {int(row['episode'])}", row) for row in history.episode_rows]
        rows.sort(key=lambda item: (item[0], item[1]), reverse=True)
        self.clear()
        for _, is_eval, label, row in rows[:MAX_ROWS]:
            style = "bold" if is_eval else ""
            self.add_row(
                Text(label, style=style),
                *(Text(format_metric(field, row[field]), style=style, justify="right") for field in EPISODE_FIELDS),
            )
