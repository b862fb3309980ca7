"""Panels of the prior-strength lesson: the skill dial and the curve of races run so far."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from sandbox.ui.controller import LearningHistory
from sandbox.ui.widgets.lesson_panels import first_success

DIAL_WIDTH = 41  # characters from skill -1 to +1


@dataclass(frozen=True)
class RacePoint:
    """One finished race of an agent: the share of its training episodes won, and its first win."""

    episodes: int
    success: float
    first_success: int | None

    @classmethod
    def of(cls, history: LearningHistory) -> RacePoint:
        wins = history.wins
        return cls(len(wins), float(np.mean(wins)) if wins else 0.0, first_success(history))


class SkillDial(Static):
    """The oracle prior's skill on a slider from -1 (confidently wrong) to +1 (all mass on the optimal moves), and α."""

    def show(self, skill: float, alpha: float) -> None:
        position = round((skill + 1) / 2 * (DIAL_WIDTH - 1))
        colour = "red" if skill < 0 else "green" if skill > 0 else "yellow"
        track = Text("−1 ", style="dim")
        track.append("─" * position)
        track.append("●", style=f"bold {colour}")
        track.append("─" * (DIAL_WIDTH - 1 - position))
        track.append(" +1", style="dim")
        if skill >= 0:
            meaning = f"mass {skill:g} on the optimal moves, the rest uniform"
        else:
            meaning = f"mass {-skill:g} on the wrong moves, the rest uniform: worse than no prior"
        self.update(
            Text.assemble(
                ("oracle prior skill ", "bold"), (f"S = {skill:+g}", f"bold {colour}"), "  ↑/↓\n", track, "\n",
                (meaning, "italic"), "\n",
                ("α = ", "bold"), (f"{alpha:g}", "bold"), "  [ / ]  how loudly Q can overrule the prior",
            )  # fmt: skip
        )


class StrengthCurve(Vertical):
    """DQN-Prior's success over each finished race against the skill it raced at (one series per α), and
    DQN's without a prior as a flat line: the curve of `bench prior-strength`, grown live."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.points: dict[tuple[float, float], RacePoint] = {}  # (skill, α) → DQN-Prior's race
        self.reference: RacePoint | None = None  # DQN's race

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="strength-plot")
        yield Static("", id="strength-table")

    def on_mount(self) -> None:
        self._draw()

    def add(self, skill: float, alpha: float, prior_agent: LearningHistory, reference: LearningHistory) -> None:
        self.points[(skill, alpha)] = RacePoint.of(prior_agent)
        self.reference = RacePoint.of(reference)
        self._draw()

    def _draw(self) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        plt.title("the curve so far: success over each race")
        for alpha in sorted({alpha for _, alpha in self.points}):
            skills = sorted(skill for skill, a in self.points if a == alpha)
            values = [self.points[(skill, alpha)].success for skill in skills]
            plt.plot(skills, values, label=f"dqn-prior α={alpha:g}", marker="dot")
        if self.reference is not None:
            plt.plot([-1, 1], [self.reference.success] * 2, label="dqn (no prior)", marker="braille")
        plt.xlim(-1, 1)
        plt.ylim(0, 1)
        plt.xlabel("oracle prior skill")
        plot.refresh()
        self.query_one("#strength-table", Static).update(points_table(self.points, self.reference))


def points_table(points: dict[tuple[float, float], RacePoint], reference: RacePoint | None) -> Table | str:
    if not points:
        return "no race has finished yet"
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    for column in ("agent", "skill", "α", "episodes", "first success", "success"):
        table.add_column(column)
    rows: Sequence[tuple[str, str, str, RacePoint | None]] = [
        ("dqn-prior", f"{skill:+g}", f"{alpha:g}", points[(skill, alpha)]) for skill, alpha in sorted(points)
    ]
    for name, skill, alpha, point in [*rows, ("dqn", "—", "—", reference)]:
        if point is None:
            continue
        first = f"episode {point.first_success}" if point.first_success else "not yet"
        table.add_row(name, skill, alpha, str(point.episodes), first, f"{point.success:.0%}")
    return table
