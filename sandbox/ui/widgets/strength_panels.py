"""Panels of the prior-strength lesson: the skill dial and the points of the races run so far."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from sandbox.ui.lesson_checks import SeedRun, describe_first_successes

DIAL_WIDTH = 29  # characters from skill -1 to +1 (the track and its ends fit a 40-column side panel)


@dataclass(frozen=True)
class RacePoint:
    """One runner's race over its seeds: the share of its episodes won on each seed."""

    successes: tuple[float, ...]
    runs: tuple[SeedRun, ...]

    @classmethod
    def of(cls, runs: list[SeedRun]) -> RacePoint:
        return cls(tuple(run.overall_success for run in runs), tuple(runs))

    @property
    def mean(self) -> float:
        return float(np.mean(self.successes))


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
        if skill > 0:
            meaning = f"mass {skill:g} on the optimal moves, the rest uniform"
        elif skill < 0:
            meaning = f"mass {-skill:g} on the wrong moves, the rest uniform"
        else:
            meaning = "uniform: the control, a prior that says nothing"
        self.update(
            Text.assemble(
                ("oracle prior skill ", "bold"), (f"S = {skill:+g}", f"bold {colour}"), "  ↑/↓\n", track, "\n",
                (meaning, "italic"), "\n",
                ("α = ", "bold"), (f"{alpha:g}", "bold"), "  [ / ]  the posterior's inverse temperature on Q",
            )  # fmt: skip
        )


class StrengthCurve(Vertical):
    """DQN-Prior's success over each finished race against the skill it raced at (one series per α), each point
    with its lowest and highest seed; DQN's without a prior as a flat reference. Points only: no line is drawn
    through a skill that was not run."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.points: dict[tuple[float, float], RacePoint] = {}  # (skill, α) → DQN-Prior's race
        self.reference: RacePoint | None = None  # DQN's race

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="strength-plot")
        yield Static("", id="strength-table")

    def on_mount(self) -> None:
        self._draw()

    def add(self, skill: float, alpha: float, runs: list[SeedRun], reference: list[SeedRun] | None) -> None:
        self.points[(skill, alpha)] = RacePoint.of(runs)
        if reference:
            self.reference = RacePoint.of(reference)
        self._draw()

    def _draw(self) -> None:
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        plt.title("episodes won over each race: mean and seed range")
        if self.reference is not None:  # first, so that no point is drawn over
            plt.plot([-1, 1], [self.reference.mean] * 2, label="dqn (no prior)", marker="braille", color="gray")
        for alpha in sorted({alpha for _, alpha in self.points}):
            skills = sorted(skill for skill, a in self.points if a == alpha)
            for skill in skills:  # the seed range as a vertical bar at the skill run, nothing between skills
                point = self.points[(skill, alpha)]
                plt.plot([skill, skill], [min(point.successes), max(point.successes)], marker="│", color="white")
            means = [self.points[(skill, alpha)].mean for skill in skills]
            plt.scatter(skills, means, label=f"dqn-prior α={alpha:g} (mean of its seeds)", marker="●")
        plt.xlim(-1.05, 1.05)
        plt.ylim(-0.05, 1.05)
        plt.xlabel("oracle prior skill S (S = 0: the control)")
        plot.refresh()
        self.query_one("#strength-table", Static).update(points_table(self.points, self.reference))


def points_table(points: dict[tuple[float, float], RacePoint], reference: RacePoint | None) -> Table | str:
    if not points:
        return "no race has finished yet"
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    for column in ("agent", "skill", "α", "seeds", "first success (env steps)", "episodes won"):
        table.add_column(column)
    rows = [("dqn-prior", f"{skill:+g}", f"{alpha:g}", points[(skill, alpha)]) for skill, alpha in sorted(points)]
    if reference is not None:
        rows.append(("dqn", "—", "—", reference))
    for name, skill, alpha, point in rows:
        won = f"{point.mean:.0%} ({min(point.successes):.0%}–{max(point.successes):.0%})"
        table.add_row(name, skill, alpha, str(len(point.runs)), describe_first_successes(point.runs), won)
    return table
