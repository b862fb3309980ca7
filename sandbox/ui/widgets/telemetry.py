"""One line under a decision: what the prior cost (LLM call or cache hit, tokens, ms) and how far
the posterior moved from p_LLM (entropies, KL). The numbers are `Decision.telemetry`, the same
record replay files and the metrics read."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from agents.decision import Decision, Telemetry


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
    # Over the table's p_LLM column (uniform without an LLM), unlike the why panel's acting prior.
    text.append(
        f" · H(p_LLM) {telemetry.prior_entropy:.2f} → H(post) {telemetry.posterior_entropy:.2f}"
        f" · KL(post‖p_LLM) {telemetry.kl:.2f} nats",
        style="dim",
    )
    return text


class TelemetryLine(Static):
    def show(self, decision: Decision | None) -> None:
        self.display = decision is not None
        if decision is not None:
            self.update(telemetry_text(decision.telemetry))
