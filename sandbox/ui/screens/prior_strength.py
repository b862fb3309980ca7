"""The prior-strength lesson: a skill dial on the oracle prior, races over seeds, the points so far.

On opening, DQN, DQN-Prior with the uniform oracle (S = 0, the control) and DQN-Prior at the
dial's skill race on the lesson's seeds. Moving the dial (or α) races DQN-Prior again at the new
setting (and the control at a new α); DQN's race, which no dial changes, runs once and is kept.
A race the dial interrupts stops at its next step (the next one starts right after), so holding
a key never piles up training. Each finished race adds a point, with its seed range, to the curve.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Markdown, Static
from textual.worker import Worker

from envs.frozen_lake import lake_rows
from sandbox.engine.config import RunConfig
from sandbox.ui.lesson_checks import (
    CONTROL_SKILL,
    REFERENCE,
    START_ALPHA,
    START_SKILL,
    oracle_config,
    skill_key,
)
from sandbox.ui.lessons import SWEEP_ALPHAS, Lesson
from sandbox.ui.messages import RaceFinished, RaceProgress, SkillDialMoved
from sandbox.ui.prior_choices import ORACLE_SKILLS
from sandbox.ui.screens.lesson import LESSON_KEYS, LessonScreen
from sandbox.ui.widgets.lesson_panels import ComparisonPanel, VerdictBox
from sandbox.ui.widgets.status_bar import StatusBar
from sandbox.ui.widgets.strength_panels import SkillDial, StrengthCurve

SKILL_STOPS = ORACLE_SKILLS  # the bench's skills, and -1
HELP = (
    "The dial: the oracle prior's skill S and α. The race: each runner's share of won episodes among those that "
    "ended in the last 100 env steps, the mean over its seeds (dotted: its lowest and highest seed), against env "
    "steps: dqn, the control (dqn-prior at S = 0) and dqn-prior at the dial's skill. The curve: episodes won over "
    "each finished race, a point per skill run with its seed range; dqn as a flat line. Under the text, each claim "
    "is checked on the races run so far (… until the race it needs has run)."
)


def runner_name(skill: float, alpha: float) -> str:
    """The race's name for dqn-prior at (skill, α): the checks read the ones at the start α by skill alone."""
    return skill_key(skill) if alpha == START_ALPHA else f"{skill_key(skill)} α={alpha:g}"


class PriorStrengthScreen(LessonScreen):
    CSS_PATH = "prior_strength.tcss"
    BINDINGS = [
        # Priority: the lesson text's scroll view binds the arrows too.
        Binding("up,plus,equals_sign", "skill(1)", "skill+", key_display="↑", priority=True),
        Binding("down,minus", "skill(-1)", "skill−", key_display="↓", priority=True),
        Binding("left_square_bracket", "alpha(-1)", "α−", key_display="["),
        Binding("right_square_bracket", "alpha(1)", "α+", key_display="]"),
        Binding("r", "race", "race again"),
        *LESSON_KEYS,
    ]

    def __init__(self, lesson: Lesson, config: RunConfig, **options: Any) -> None:  # options: LessonScreen's
        super().__init__(lesson, config, **options)
        self.page = lesson.pages[0]
        self.race_steps = self.steps or self.page.steps
        self.skill, self.alpha = START_SKILL, START_ALPHA
        self.generation = 0  # bumped by every dial move: a race of an older generation stops
        # DQN-Prior's runners are built per race from the oracle's configs; the status bar speaks of DQN's run.
        self.controller = self.controllers[REFERENCE]

    def compose(self) -> ComposeResult:
        with Horizontal(id="strength-main"):
            with Vertical(id="strength-side"):
                yield SkillDial(id="strength-dial")
                with VerticalScroll(id="strength-scroll"):
                    yield VerdictBox("", id="strength-checks")
                    yield Markdown(self.page.text, id="strength-text")
            with Vertical(id="strength-live"):
                yield Static("", id="strength-lake")
                yield ComparisonPanel(id="strength-race")
                yield StrengthCurve(id="strength-curve")
        yield StatusBar(id="strength-status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#strength-side").border_title = self.lesson.title
        self.query_one("#strength-live").border_title = "live"
        seeds = len(self.run.seeds)
        self.query_one("#strength-race").border_title = f"the race, {self.race_steps} steps each, {seeds} seeds"
        self.query_one("#strength-lake", Static).update(self._lake_text())
        self._show_checks()
        self._dial_moved()

    def _lake_text(self) -> str:
        rows = lake_rows(**self.lesson.env_kwargs)
        return "the lake  " + " / ".join(rows) + "   (S start, F ice, H hole, G goal)"

    def _show_checks(self) -> None:
        self.query_one(VerdictBox).show(self.run.verdicts(self.page.checks))

    def help_text(self) -> str:
        return HELP

    def export_name(self) -> str:
        return f"skill{self.skill:+g}-alpha{self.alpha:g}"

    # ----- keys -------------------------------------------------------------------------

    def action_skill(self, direction: int) -> None:
        index = SKILL_STOPS.index(self.skill) + direction
        if 0 <= index < len(SKILL_STOPS):
            self.skill = SKILL_STOPS[index]
            self._dial_moved()

    def action_alpha(self, direction: int) -> None:
        index = SWEEP_ALPHAS.index(self.alpha) + direction
        if 0 <= index < len(SWEEP_ALPHAS):
            self.alpha = SWEEP_ALPHAS[index]
            self._dial_moved()

    def action_race(self) -> None:
        self._dial_moved()

    def _dial_moved(self) -> None:
        """Show the new setting and race at it; a race still running stops at its next step."""
        self.generation += 1
        skill, alpha, generation = self.skill, self.alpha, self.generation
        self.query_one(SkillDial).show(skill, alpha)
        self.post_message(SkillDialMoved(skill, alpha))
        self.jobs.submit(f"racing at skill {skill:g}", lambda worker: self._job_race(worker, generation, skill, alpha))

    # ----- jobs (engine thread) ---------------------------------------------------------

    def _job_race(self, worker: Worker, generation: int, skill: float, alpha: float) -> None:
        def stop() -> bool:
            return worker.is_cancelled or generation != self.generation

        if stop():
            return  # the dial moved again while this race waited: the newer one runs next
        races = self.run.observations.races
        runners: dict[str, RunConfig | None] = {} if REFERENCE in races else {REFERENCE: None}
        control = runner_name(CONTROL_SKILL, alpha)
        if control not in races:
            runners[control] = oracle_config(self.run, CONTROL_SKILL, alpha)
        current = runner_name(skill, alpha)
        runners[current] = oracle_config(self.run, skill, alpha)
        shown = (REFERENCE, control, current)
        self.post_message(RaceProgress({name: races[name] for name in shown if name in races}))
        with self.jobs.phase(f"racing at skill {skill:g}, α = {alpha:g} on {len(self.run.seeds)} seeds"):
            self.run.race(
                runners,
                self.race_steps,
                stop,
                lambda _name, partial: self.post_message(RaceProgress({n: partial[n] for n in shown if n in partial})),
            )
        self.post_message(RaceFinished(skill, alpha, {name: list(runs) for name, runs in races.items()}))

    # ----- messages (UI thread) ---------------------------------------------------------

    def on_race_progress(self, message: RaceProgress) -> None:
        self.query_one(ComparisonPanel).show(message.races)
        self._refresh_status()

    def on_race_finished(self, message: RaceFinished) -> None:
        curve = self.query_one(StrengthCurve)
        reference = message.races.get(REFERENCE)
        for name in (runner_name(CONTROL_SKILL, message.alpha), runner_name(message.skill, message.alpha)):
            skill = CONTROL_SKILL if name == runner_name(CONTROL_SKILL, message.alpha) else message.skill
            curve.add(skill, message.alpha, message.races[name], reference)
        self._show_checks()
        self._refresh_status()
