"""One line under a decision: what the prior cost (LLM call or cache hit, tokens, ms). The numbers
are `Decision.telemetry`, the same record replay files and the metrics read; its entropies and KL
are shown once, in the why panel under it (through `sandbox.ui.explain`, the same numbers)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from agents.decision import Decision, Telemetry
from sandbox.ui.widgets.in_place import update_in_place


def milliseconds(ms: float) -> str:
    """Cache hits take well under a millisecond; LLM calls hundreds."""
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.2f} ms"


def telemetry_text(telemetry: Telemetry) -> Text:
    text = Text()
    if telemetry.llm_call:
        text.append("LLM call", style="bold")
        text.append(f" {telemetry.tokens_evaluated} tokens · {milliseconds(telemetry.ms)}")
    elif telemetry.cache_hit:
        text.append("cache hit", style="bold")
        text.append(f" {milliseconds(telemetry.ms)}")
    else:
        text.append("no LLM", style="dim")
    return text


class TelemetryLine(Static):
    def show(self, decision: Decision | None) -> None:
        self.display = decision is not None
        if decision is not None:
            update_in_place(self, telemetry_text(decision.telemetry))
