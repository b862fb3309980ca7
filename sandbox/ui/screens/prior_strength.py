"""The prior-strength lesson: a skill dial on the oracle prior, DQN and DQN-Prior racing live, the curve so far.

Moving the dial (or α) restarts DQN-Prior with the oracle at the new skill; DQN's race,
which no dial changes, runs once and is kept. A race the dial interrupts stops at its next
step (the next one starts right after), so holding a key never piles up training. Each
finished race adds DQN-Prior's success over it to the curve, against the skill it raced at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Markdown, Static
from textual.worker import Worker, WorkerState

from envs.frozen_lake import lake_rows
from sandbox.config import RunConfig
from sandbox.ui.controller import Builders, SessionController, use_one_torch_thread
from sandbox.ui.jobs import JobRunner
from sandbox.ui.lessons import PRIOR_STRENGTH, SWEEP_ALPHAS, Lesson
from sandbox.ui.messages import EngineBusy, RaceFinished, SkillDialMoved, TrainingProgress
from sandbox.ui.prior_choices import ORACLE_SKILLS, oracle_model
from sandbox.ui.screens.demo import lesson_config
from sandbox.ui.screens.help import HelpScreen
from sandbox.ui.widgets.lesson_panels import ComparisonPanel
from sandbox.ui.widgets.status_bar import PlayState, StatusBar
from sandbox.ui.widgets.strength_panels import SkillDial, StrengthCurve

SKILL_STOPS = ORACLE_SKILLS  # the bench's skills, and -1
START_SKILL = 0.5
START_ALPHA = 10.0  # the paper's
PROGRESS_EVERY = 10  # training steps between plot updates
RACE_CHUNK = 25  # steps each rival takes per turn, so both curves grow together
REFERENCE, PRIOR_AGENT = "dqn", "dqn-prior"


def oracle_config(config: RunConfig, skill: float, alpha: float) -> RunConfig:
    """DQN-Prior's config: the oracle at `skill` as its prior, α as its posterior's sharpness."""
    return replace(
        config, prior=replace(config.prior, model=oracle_model(skill)), dqn=replace(config.dqn, alpha=alpha)
    )


class PriorStrengthScreen(Screen[None]):
    CSS_PATH = "prior_strength.tcss"
    BINDINGS = [
        # Priority: the lesson text's scroll view binds the arrows too.
        Binding("up,plus,equals_sign", "skill(1)", "skill+", key_display="↑", priority=True),
        Binding("down,minus", "skill(-1)", "skill−", key_display="↓", priority=True),
        Binding("left_square_bracket", "alpha(-1)", "α−", key_display="["),
        Binding("right_square_bracket", "alpha(1)", "α+", key_display="]"),
        Binding("r", "race", "race again"),
        Binding("escape", "cancel", "cancel"),
        Binding("d", "app.toggle_dark", "theme"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(
        self,
        lesson: Lesson,
        config: RunConfig,
        *,
        saves_dir: Path = Path("saves"),
        builders: Builders | None = None,
        race_steps: int | None = None,
    ) -> None:
        super().__init__()
        self.lesson = lesson
        self.page = lesson.pages[0]
        self.race_steps = race_steps or self.page.steps
        self.skill, self.alpha = START_SKILL, START_ALPHA
        self.controllers = {
            agent: SessionController(
                lesson_config(lesson, config, agent), saves_dir=saves_dir, builders=builders, record_episodes=False
            )
            for agent in (REFERENCE, PRIOR_AGENT)
        }
        self.jobs = JobRunner(self, self._job_finished)
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

    def action_cancel(self) -> None:
        if self.jobs.cancel():
            self.notify("cancelled", timeout=2)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(list(self.BINDINGS), f"Lesson: {self.lesson.title}"))

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
            for done in range(0, steps, RACE_CHUNK):
                chunk = min(RACE_CHUNK, steps - done)
                if not self.reference_done:
                    self._train(REFERENCE, chunk, done, steps, stop)
                self._train(PRIOR_AGENT, chunk, done, steps, stop)
        self.reference_done = True
        histories = {name: controller.history.copy() for name, controller in self.controllers.items()}
        self.post_message(RaceFinished(skill, alpha, histories))

    def _train(self, name: str, steps: int, done_before: int, total: int, stop: Callable[[], bool]) -> None:
        controller = self.controllers[name]
        progress = {"steps": done_before}

        def on_step(_record: object) -> None:
            progress["steps"] += 1
            if progress["steps"] % PROGRESS_EVERY == 0:
                self.post_message(TrainingProgress(name, controller.history.copy(), progress["steps"], total))

        controller.train(steps, on_step, should_stop=stop)
        self.post_message(TrainingProgress(name, controller.history.copy(), done_before + steps, total))

    # ----- messages (UI thread) ---------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.jobs.state_changed(event)

    def _job_finished(self, state: WorkerState) -> None:
        self.query_one(StatusBar).set_busy(None)
        self._refresh_status()

    def on_engine_busy(self, message: EngineBusy) -> None:
        self.query_one(StatusBar).set_busy(message.label)

    def on_training_progress(self, message: TrainingProgress) -> None:
        self.query_one(ComparisonPanel).show(message.name, message.history)
        self._refresh_status()

    def on_race_finished(self, message: RaceFinished) -> None:
        curve = self.query_one(StrengthCurve)
        curve.add(message.skill, message.alpha, message.histories[PRIOR_AGENT], message.histories[REFERENCE])

    def _refresh_status(self) -> None:
        self.query_one(StatusBar).show(self.controllers[PRIOR_AGENT], PlayState())

    def on_unmount(self) -> None:
        for controller in self.controllers.values():
            controller.close()


class PriorStrengthApp(App[None]):
    """`python -m sandbox demo prior-strength`: the lesson, full screen."""

    CSS_PATH = "../app.tcss"
    TITLE = "LLM-prior sandbox · lessons"

    def __init__(
        self,
        config: RunConfig,
        *,
        saves_dir: Path = Path("saves"),
        builders: Builders | None = None,
        race_steps: int | None = None,
    ) -> None:
        super().__init__()
        use_one_torch_thread()
        self.lesson_screen = PriorStrengthScreen(
            PRIOR_STRENGTH, config, saves_dir=saves_dir, builders=builders, race_steps=race_steps
        )

    def on_mount(self) -> None:
        self.push_screen(self.lesson_screen)
