"""One metrics schema for every env and agent: per episode, and as means over an evaluation.

The same names are used in `episodes.csv` (one row per training episode), `metrics.csv`
(one row per greedy evaluation, prefixed `eval_`), TensorBoard, the summary line of
replay files, `eval --json` and the UI:

- `success`: 1 when the episode was won (`info["won"]`), else 0.
- `normalised_score`: the final `info["score"] / info["max_score"]` (every env reports
  both; NaN when an env gives no positive max score).
- `steps`: env steps taken; `return`: the sum of rewards.
- `invalid_action_rate`: the fraction of steps whose action was invalid — either not
  among the admissible actions of the state it was taken in (a typed command), or a step
  that changed nothing: the same observation and admissible actions came back, with no
  reward and the episode not over (a parser's "I don't understand", a repeated look).
- `llm_calls_per_decision`: the fraction of decisions whose prior the language model
  computed (a cache hit or a uniform prior is no call).
- `ms_per_decision`: the mean time the prior took to answer per decision, LLM call or
  cache lookup (0 for agents without a prior).

An evaluation's value of each field is the mean over its episodes (NaN scores ignored).
Standard library only: the CLI imports `finite` before any command runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.engine.session import StepRecord

EPISODE_FIELDS = (
    "success",
    "normalised_score",
    "steps",
    "return",
    "invalid_action_rate",
    "llm_calls_per_decision",
    "ms_per_decision",
)


def normalised_score(info: dict) -> float:
    score, max_score = info.get("score"), info.get("max_score")
    if isinstance(score, (int, float)) and isinstance(max_score, (int, float)) and max_score > 0:
        return float(score) / float(max_score)
    return float("nan")


def is_invalid(record: StepRecord) -> bool:
    """Not admissible where it was taken, or a step that left the text state exactly as it was."""
    if record.action not in record.state.actions:
        return True
    unchanged = (
        record.next_state.observation == record.state.observation and record.next_state.actions == record.state.actions
    )
    return unchanged and record.reward == 0 and not record.done


@dataclass
class EpisodeTally:
    """Running counts over the current episode's steps; the rest of its metrics come from its last step.

    Small and JSON-able, so a checkpoint taken mid-episode carries it and a resumed run
    reports the same metrics for that episode as an uninterrupted one.
    """

    decisions: int = 0
    invalid: int = 0
    llm_calls: int = 0
    prior_ms: float = 0.0

    def add(self, record: StepRecord) -> None:
        telemetry = record.decision.telemetry
        self.decisions += 1
        self.invalid += int(is_invalid(record))
        self.llm_calls += int(telemetry.llm_call)
        self.prior_ms += telemetry.ms

    def metrics(self, last: StepRecord) -> dict[str, float]:
        """The episode's row of the schema, given its last step."""
        decisions = max(self.decisions, 1)
        return {
            "success": float(last.won),
            "normalised_score": normalised_score(last.info),
            "steps": float(last.t),
            "return": float(last.episode_return),
            "invalid_action_rate": self.invalid / decisions,
            "llm_calls_per_decision": self.llm_calls / decisions,
            "ms_per_decision": self.prior_ms / decisions,
        }


def episode_metrics(records: Sequence[StepRecord]) -> dict[str, float]:
    """The schema's row for a whole recorded episode (at least one step)."""
    tally = EpisodeTally()
    for record in records:
        tally.add(record)
    return tally.metrics(records[-1])


def summarise(episodes: Sequence[dict[str, float]]) -> dict[str, float]:
    """Each field's mean over episodes; a field every episode lacks (NaN) stays NaN."""
    summary = {}
    for field in EPISODE_FIELDS:
        values = [row[field] for row in episodes if not math.isnan(row[field])]
        summary[field] = fmean(values) if values else float("nan")
    return summary


def finite(value: Any) -> Any:
    """A JSON-able value with NaN and infinities as None: metrics may be NaN (no max score, no
    loss yet), and strict JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value
