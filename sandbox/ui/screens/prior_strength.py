"""The prior-strength lesson: a skill dial on the oracle prior, DQN and DQN-Prior racing live, the curve so far.

Moving the dial (or α) restarts DQN-Prior with the oracle at the new skill; DQN's race,
which no dial changes, runs once and is kept. A race the dial interrupts stops at its next
step (the next one starts right after), so holding a key never piles up training. Each
finished race adds DQN-Prior's success over it to the curve, against the skill it raced at.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Markdown, Static
from textual.worker import Worker

from envs.frozen_lake import lake_rows
from sandbox.config import RunConfig
from sandbox.ui.lessons import SWEEP_ALPHAS, Lesson
from sandbox.ui.messages import RaceFinished, SkillDialMoved, TrainingProgress
from sandbox.ui.prior_choices import ORACLE_SKILLS, oracle_model
from sandbox.ui.screens.lesson import LESSON_KEYS, LessonScreen
from sandbox.ui.widgets.lesson_panels import ComparisonPanel
from sandbox.ui.widgets.status_bar import StatusBar
from sandbox.ui.widgets.strength_panels import SkillDial, StrengthCurve

SKILL_STOPS = ORACLE_SKILLS  # the bench's skills, and -1
START_SKILL = 0.5
START_ALPHA = 10.0  # the paper's
REFERENCE, PRIOR_AGENT = "dqn", "dqn-prior"  # the lesson's rivals; its agent is the one with the prior


def oracle_config(config: RunConfig, skill: float, alpha: float) -> RunConfig:
    """DQN-Prior's config: the oracle at `skill` as its prior, α as its posterior's sharpness."""
    return replace(
        config, prior=replace(config.prior, model=oracle_model(skill)), dqn=replace(config.dqn, alpha=alpha)
    )


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
        self.reference_done = False  # DQN's race ran to the end (the dial never changes it)

    def compose(self) -> ComposeResult:
        with Horizontal(id="strength-main"):
            with Vertical(id="strength-side"):
                yield SkillDial(id="strength-dial")
                with VerticalScroll(id="strength-scroll"):
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
        self.query_one("#strength-race").border_title = f"the race, {self.race_steps} steps each"
        self.query_one("#strength-lake", Static).update(self._lake_text())
        self._dial_moved()

    def _lake_text(self) -> str:
        rows = lake_rows(**self.lesson.env_kwargs)
        return "the lake  " + " / ".join(rows) + "   (S start, F ice, H hole, G goal)"

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
        prior_agent, reference = self.controllers[PRIOR_AGENT], self.controllers[REFERENCE]
        with self.jobs.phase(f"building dqn-prior with the oracle at skill {skill:g}"):
            prior_agent.build(oracle_config(prior_agent.config, skill, alpha))
            if not self.reference_done:
                reference.build()
        steps = self.race_steps
        if self.reference_done:  # the reference's finished race, shown beside the new one
            self.post_message(TrainingProgress(REFERENCE, reference.history.copy(), steps, steps))
        with self.jobs.phase(f"racing at skill {skill:g}, α = {alpha:g}"):
            self._race([PRIOR_AGENT] if self.reference_done else [REFERENCE, PRIOR_AGENT], steps, stop)
        self.reference_done = True
        histories = {name: controller.history.copy() for name, controller in self.controllers.items()}
        self.post_message(RaceFinished(skill, alpha, histories))

    # ----- messages (UI thread) ---------------------------------------------------------

    def on_training_progress(self, message: TrainingProgress) -> None:
        self.query_one(ComparisonPanel).show(message.name, message.history)
        self._refresh_status()

    def on_race_finished(self, message: RaceFinished) -> None:
        curve = self.query_one(StrengthCurve)
        curve.add(message.skill, message.alpha, message.histories[PRIOR_AGENT], message.histories[REFERENCE])
