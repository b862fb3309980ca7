"""A lesson: pages of short text beside live panels that the real engine fills in.

Next/previous move through the pages; opening a page may start an episode, walk to the
state the lesson studies, train live, sweep α, or race two agents, each in a worker
like everything else the UI asks of the engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, Footer, Markdown, Static
from textual.worker import Worker

from agents.decision import Decision
from sandbox.config import RunConfig
from sandbox.errors import SandboxError
from sandbox.ui.controller import Builders, use_one_torch_thread
from sandbox.ui.explain import alpha_sweep
from sandbox.ui.jobs import PlayJobs
from sandbox.ui.lessons import LESSONS, SWEEP_ALPHAS, Lesson, Page
from sandbox.ui.messages import Barrier, DecisionReady, EpisodeStarted, StepTaken, TrainingProgress
from sandbox.ui.screens.lesson import LESSON_KEYS, LessonScreen
from sandbox.ui.screens.prior_strength import PriorStrengthScreen
from sandbox.ui.widgets.decision_table import DecisionPanel
from sandbox.ui.widgets.learning_pane import LearningPane
from sandbox.ui.widgets.lesson_panels import AlphaSweepTable, ComparisonPanel
from sandbox.ui.widgets.status_bar import StatusBar

ALPHA_STEP = 2.0  # [ and ] divide or multiply α by this


class DemoScreen(LessonScreen):
    BINDINGS = [
        # Priority: the decision table binds the arrows to its cursor.
        Binding("right,n,pagedown", "page(1)", "next page", priority=True),
        Binding("left,p,pageup", "page(-1)", "previous page", priority=True),
        Binding("space,s", "step", "step"),
        Binding("left_square_bracket", "alpha(-1)", "α÷2", key_display="["),
        Binding("right_square_bracket", "alpha(1)", "α×2", key_display="]"),
        *LESSON_KEYS,
    ]

    def __init__(self, lesson: Lesson, config: RunConfig, **options: Any) -> None:  # options: LessonScreen's
        super().__init__(lesson, config, **options)
        self.play_jobs = PlayJobs(self, self.controller, self.jobs)
        self.page_index = 0
        self.decision: Decision | None = None
        self._trained: set[int] = set()  # pages whose training already ran (revisiting does not train again)

    @property
    def page(self) -> Page:
        return self.lesson.pages[self.page_index]

    def compose(self) -> ComposeResult:
        with Horizontal(id="lesson-main"):
            with Vertical(id="lesson-side"):
                yield Static("", id="lesson-progress")
                with VerticalScroll(id="lesson-scroll"):
                    yield Markdown("", id="lesson-text")
            with ContentSwitcher(initial="panel-decision", id="lesson-panels"):
                with Vertical(id="panel-decision"):
                    yield Static("", id="lesson-observation")
                    yield DecisionPanel(id="lesson-decision")
                yield AlphaSweepTable(id="panel-sweep")
                yield LearningPane(id="panel-curves")
                yield ComparisonPanel(id="panel-compare")
        yield StatusBar(id="lesson-status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#lesson-side").border_title = self.lesson.title
        self.query_one("#lesson-panels").border_title = "live"
        self.jobs.submit("loading env, agent and prior", self._job_build)
        self._show_page()

    # ----- pages ----------------------------------------------------------------------

    def action_page(self, delta: int) -> None:
        index = min(max(self.page_index + delta, 0), len(self.lesson.pages) - 1)
        if index != self.page_index:
            self.page_index = index
            self._show_page()

    def _show_page(self) -> None:
        page = self.page
        progress = Text.assemble(
            (f"{self.page_index + 1}/{len(self.lesson.pages)} ", "bold"),
            (page.title, "bold"),
            ("  ← → pages", "dim"),
        )
        self.query_one("#lesson-progress", Static).update(progress)
        self.query_one(Markdown).update(page.text)
        self.query_one(ContentSwitcher).current = f"panel-{page.panel}"
        if page.action == "sweep" or page.panel == "sweep":
            self._show_sweep()
        if self.controller.session is not None:  # else the build job opens the page when it is done
            self._run_page_action()

    def _run_page_action(self) -> None:
        page, index = self.page, self.page_index
        steps = self.steps or page.steps
        if page.action == "episode":
            self.jobs.submit("new episode", self.play_jobs.new_episode)
        elif page.action == "probe":
            self.jobs.submit("walking to the lesson's state", self._job_probe)
        elif page.action == "train" and index not in self._trained:
            self.jobs.submit("training", lambda worker: self._job_train(worker, index, steps))
        elif page.action == "compare" and index not in self._trained:
            self.jobs.submit("racing the agents", lambda worker: self._job_race(worker, index, steps))
        elif page.panel in ("decision", "sweep") and self.decision is None:
            self.jobs.submit("new episode", self.play_jobs.new_episode)

    def _show_sweep(self) -> None:
        if self.decision is not None:
            explanation, posteriors = alpha_sweep(self.decision, SWEEP_ALPHAS)
            self.query_one(AlphaSweepTable).show(explanation, posteriors, SWEEP_ALPHAS)

    # ----- jobs (engine thread) ---------------------------------------------------------

    def _job_build(self, worker: Worker) -> None:
        with self.jobs.phase("loading env, agent and prior"):
            for controller in self.controllers.values():
                controller.build()
        self.app.call_from_thread(self._run_page_action)

    def _job_probe(self, worker: Worker) -> None:
        with self.jobs.phase("walking to the lesson's state"):
            state = self.controller.reach(self.lesson.probe)
        self.post_message(EpisodeStarted(self.controller.session.episode, state))
        self.play_jobs.decide(worker)

    def _job_step(self, worker: Worker) -> None:
        """A lesson goes straight on to the next episode when one ends."""
        record = self.play_jobs.step(worker)
        if record is not None and record.done:
            self.play_jobs.new_episode(worker)

    def _job_train(self, worker: Worker, page_index: int, steps: int) -> None:
        with self.jobs.phase(f"training {steps} steps"):
            self._train(self.lesson.agent, steps, 0, steps, lambda: worker.is_cancelled)
        self._trained.add(page_index)

    def _job_race(self, worker: Worker, page_index: int, steps: int) -> None:
        with self.jobs.phase(f"racing {' and '.join(self.controllers)} for {steps} steps each"):
            self._race(list(self.controllers), steps, lambda: worker.is_cancelled)
        self._trained.add(page_index)

    # ----- keys -------------------------------------------------------------------------

    def action_step(self) -> None:
        if self.page.panel != "decision":
            self.notify("stepping works on the pages that show the decision table", severity="warning")
            return
        self.jobs.submit("step", self._job_step)

    def action_alpha(self, direction: int) -> None:
        alpha = self.controller.settings()["alpha"]
        if alpha is None:
            self.notify(f"the {self.controller.config.run.agent} agent has no α", severity="warning")
            return
        new_alpha = alpha * ALPHA_STEP if direction > 0 else alpha / ALPHA_STEP
        try:
            self.controller.request(alpha=new_alpha if new_alpha >= 0.01 else 0.0)
        except SandboxError as error:
            self.notify(str(error), severity="warning")
            return
        if self.controller.session is not None and not self.controller.session.done:
            self.jobs.submit("recomputing the posterior", lambda worker: self.play_jobs.decide(worker, preview=True))

    # ----- messages (UI thread) ---------------------------------------------------------

    def on_barrier(self, message: Barrier) -> None:
        message.stop()
        self.app.call_after_refresh(message.event.set)  # PlayJobs waits for the repaint

    def on_episode_started(self, message: EpisodeStarted) -> None:
        self._show_observation(f"episode {message.episode}", message.state.observation)

    def on_step_taken(self, message: StepTaken) -> None:
        self._show_observation(f"agent ▶ {message.record.action}", message.record.next_state.observation)

    def on_decision_ready(self, message: DecisionReady) -> None:
        self.decision = message.decision
        self.query_one(DecisionPanel).show(message.decision)
        if self.page.panel == "sweep":
            self._show_sweep()
        self._refresh_status()

    def on_training_progress(self, message: TrainingProgress) -> None:
        if self.lesson.rivals:
            self.query_one(ComparisonPanel).show(message.name, message.history)
        else:
            self.query_one(LearningPane).show(message.history)
        self._refresh_status()

    def _show_observation(self, heading: str, observation: str) -> None:
        self.query_one("#lesson-observation", Static).update(Text.assemble((heading, "bold"), "\n", observation))
        self._refresh_status()


# Each lesson's screen, by the kind its `Lesson.screen` declares.
LESSON_SCREENS: dict[str, type[DemoScreen | PriorStrengthScreen]] = {
    "pages": DemoScreen,
    "strength": PriorStrengthScreen,
}


class DemoApp(App[None]):
    """`python -m sandbox demo NAME`: one lesson, full screen, on the screen the lesson declares."""

    CSS_PATH = "../app.tcss"
    TITLE = "LLM-prior sandbox · lessons"

    def __init__(
        self,
        lesson: str,
        config: RunConfig,
        *,
        saves_dir: Path = Path("saves"),
        builders: Builders | None = None,
        train_steps: int | None = None,
    ) -> None:
        super().__init__()
        use_one_torch_thread()
        if lesson not in LESSONS:
            raise SandboxError(f"unknown lesson {lesson!r}; lessons: {', '.join(LESSONS)}")
        screen = LESSON_SCREENS[LESSONS[lesson].screen]
        self.lesson_screen = screen(LESSONS[lesson], config, saves_dir=saves_dir, builders=builders, steps=train_steps)

    def on_mount(self) -> None:
        self.push_screen(self.lesson_screen)
