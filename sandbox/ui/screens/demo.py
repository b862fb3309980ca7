"""A lesson: pages of short text beside live panels that the real engine fills in.

Next/previous move through the pages; opening a page may walk to the state the lesson studies,
train live, sweep α, or race agents over several seeds, each in a worker like everything else
the UI asks of the engine. Under its text a page shows the checks of the claims it makes, on
this run's numbers (`sandbox.ui.lesson_checks`); the footer and help list only the keys the
page answers to.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, Footer, Input, Markdown, Static
from textual.worker import Worker

from sandbox.engine.config import RunConfig
from sandbox.errors import SandboxError
from sandbox.ui.controller import Builders, use_one_torch_thread
from sandbox.ui.lesson_checks import Study
from sandbox.ui.lessons import LESSONS, SWEEP_ALPHAS, Lesson, Page
from sandbox.ui.messages import RaceProgress, StateShown, StudyReady, Trained
from sandbox.ui.screens.lesson import LESSON_KEYS, LessonScreen
from sandbox.ui.screens.prior_strength import PriorStrengthScreen
from sandbox.ui.widgets.learning_pane import LearningPane
from sandbox.ui.widgets.lesson_panels import AlphaSweepTable, BayesPanel, ComparisonPanel, StudyTable, VerdictBox
from sandbox.ui.widgets.status_bar import StatusBar

ALPHA_STEP = 2.0  # [ and ] divide or multiply α by this
PANEL_HELP = {
    "decision": "The table: one row per admissible action. p_LLM is the LLM's exact prior; the k-share is each "
    "action's share of the k proposals drawn from it (n/k), the estimate the agent acts on. Q is the agent's "
    "value on a fixed 0-1 scale, ▒ its spread over the last 100 training steps. exp(αQ) is the likelihood of "
    "optimality (normalised over the actions), and the posterior ∝ k-share × likelihood is what the agent acts "
    "with. ★ marks the env's optimal move, ▶ the action taken.\n"
    "Under it: Bayes rule for the chosen action with p_LLM and with the k-share; Q's pull, KL(posterior under "
    "p_LLM ‖ p_LLM); and the sampling noise, KL(k-share ‖ p_LLM).",
    "sweep": "The α sweep: the posterior ∝ p_LLM·exp(α·Q) on one state for each α, and its entropy H.",
    "curves": "Learning: episode return and success, loss, ε and the replay buffer, live.",
    "compare": "The race: each agent's share of won episodes among those that ended in the last 100 env steps, "
    "the mean over its seeds (the dotted lines: its lowest and highest seed), against env steps. The table: "
    "env steps to the first success per seed, and the success at the end.",
}
CHECKS_HELP = (
    "Under the text, each claim the page makes is checked on this run: ✓ holds (with the numbers), ✗ did not "
    "hold here (what was seen instead), … not run yet. `python -m sandbox demo NAME --check` runs every check headless."
)


class DemoScreen(LessonScreen):
    BINDINGS = [
        # Priority: the scroll view and the guess box bind the arrows too.
        Binding("right,n,pagedown", "page(1)", "next page", priority=True),
        Binding("left,p,pageup", "page(-1)", "previous page", priority=True),
        Binding("space,s", "step", "step"),
        Binding("left_square_bracket", "alpha(-1)", "α÷2", key_display="["),
        Binding("right_square_bracket", "alpha(1)", "α×2", key_display="]"),
        *LESSON_KEYS,
    ]

    def __init__(self, lesson: Lesson, config: RunConfig, **options: Any) -> None:  # options: LessonScreen's
        super().__init__(lesson, config, **options)
        self.page_index = 0
        self.study: Study | None = None  # what the decision panel shows
        self.revealed = False  # the guess page's posterior, once the student has guessed
        self._trained: set[int] = set()  # pages whose training or race already ran (revisiting does not rerun it)

    @property
    def page(self) -> Page:
        return self.lesson.pages[self.page_index]

    def compose(self) -> ComposeResult:
        with Horizontal(id="lesson-main"):
            with Vertical(id="lesson-side"):
                yield Static("", id="lesson-progress")
                with VerticalScroll(id="lesson-scroll"):
                    yield Markdown("", id="lesson-text")
                    yield Input(placeholder="your guess, e.g. 0.7", id="lesson-guess")
                    yield Static("", id="lesson-guess-result")
                    yield VerdictBox("", id="lesson-checks")
            with ContentSwitcher(initial="panel-decision", id="lesson-panels"):
                with Vertical(id="panel-decision"):
                    yield Static("", id="lesson-observation")
                    yield StudyTable(id="lesson-table")
                    yield BayesPanel("", id="lesson-bayes")
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer, the help and the keys offer a page's own keys only where the page uses them."""
        if action in ("step", "alpha"):
            return action in self.page.keys
        return True

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
        guessing = "guess" in page.keys
        guess = self.query_one("#lesson-guess", Input)
        guess.display = guessing and not self.revealed
        self.query_one("#lesson-guess-result").display = guessing
        if guess.display:
            guess.focus()
        self.refresh_bindings()
        self._show_study()
        self._show_checks()
        if self.controller.session is not None:  # else the build job opens the page when it is done
            self._run_page_action()

    def _show_checks(self) -> None:
        self.query_one(VerdictBox).show(self.run.verdicts(self.page.checks))

    def _run_page_action(self) -> None:
        page, index = self.page, self.page_index
        steps = self.steps or page.steps
        if page.action == "study" or (page.action == "sweep" and self.study is None):
            label = page.study if page.action == "study" else "after"
            self.jobs.submit("walking to the lesson's state", lambda worker: self._job_study(worker, label))
        elif page.action == "train" and index not in self._trained:
            self.jobs.submit("training", lambda worker: self._job_train(worker, index, steps))
        elif page.action == "compare" and index not in self._trained:
            self.jobs.submit("racing the agents", lambda worker: self._job_race(worker, index, steps))
        elif page.panel == "decision" and self.study is None:
            self.jobs.submit("walking to the lesson's state", lambda worker: self._job_study(worker, "before"))

    def help_text(self) -> str:
        return f"{PANEL_HELP[self.page.panel]}\n{CHECKS_HELP}"

    def export_name(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.page.title.lower()).strip("-")

    # ----- jobs (engine thread) ---------------------------------------------------------

    def _job_build(self, worker: Worker) -> None:
        with self.jobs.phase("loading env, agent and prior"):
            self.run.build()
            self.run.reach_study()  # the state whose Q the training pages trace
        self.app.call_from_thread(self._run_page_action)

    def _job_study(self, worker: Worker, label: str) -> None:
        with self.jobs.phase("walking to the lesson's state"):
            study = self.run.study(label)
            self.post_message(StateShown("the state this lesson studies", self.controller.session.state))
        self.post_message(StudyReady(study))

    def _job_step(self, worker: Worker) -> None:
        """One agent step; a lesson goes straight on to the next episode when one ends."""
        controller = self.controller
        with self.jobs.phase("step"):
            record = controller.step()
            heading, state = f"agent ▶ {record.action}", record.next_state
            if record.done:
                state = controller.new_episode()
                heading = f"agent ▶ {record.action}: {'goal' if record.won else 'episode over'}, a new episode"
            self.post_message(StateShown(heading, state))
            study = self.run.make_study(controller.decide())
        self.post_message(StudyReady(study))

    def _job_preview(self, worker: Worker) -> None:
        with self.jobs.phase("recomputing the posterior"):
            study = self.run.make_study(self.controller.preview())
        self.post_message(StudyReady(study))

    def _job_train(self, worker: Worker, page_index: int, steps: int) -> None:
        with self.jobs.phase(f"training {steps} steps"):
            self.run.train(steps, lambda: worker.is_cancelled, lambda _name, history, done: self.post_message(Trained(history, done)))
        self._trained.add(page_index)

    def _job_race(self, worker: Worker, page_index: int, steps: int) -> None:
        seeds = len(self.run.seeds)
        with self.jobs.phase(f"racing {', '.join(self.run.race_runners())} on {seeds} seeds, {steps} steps each"):
            self.run.race(
                self.run.race_runners(),
                steps,
                lambda: worker.is_cancelled,
                lambda _name, races: self.post_message(RaceProgress({name: list(runs) for name, runs in races.items()})),
            )
        self._trained.add(page_index)

    # ----- keys -------------------------------------------------------------------------

    def action_step(self) -> None:
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
            self.jobs.submit("recomputing the posterior", self._job_preview)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """The guess page: the student's posterior for the chosen action, then Bayes rule's."""
        event.stop()
        study = self.study
        if study is None or study.explanation.chosen is None:
            self.notify("the state is still loading; guess once the table is filled", severity="warning")
            return
        try:
            guess = float(event.value.strip())
        except ValueError:
            guess = -1.0
        if not 0.0 <= guess <= 1.0:
            self.notify(f"a posterior is a number from 0 to 1, got {event.value!r}", severity="warning")
            return
        self.revealed = True
        row = study.explanation.rows[study.explanation.chosen]
        answer = row.posterior
        self.query_one("#lesson-guess-result", Static).update(
            Text.assemble(
                ("you guessed ", "bold"), f"{guess:.2f}", (" · Bayes rule gives ", "bold"),
                (f"{answer:.2f}", "bold green"), f" for {row.action} (off by {abs(guess - answer):.2f})",
            )  # fmt: skip
        )
        event.input.display = False
        self._show_study()

    # ----- messages (UI thread) ---------------------------------------------------------

    def on_state_shown(self, message: StateShown) -> None:
        self.query_one("#lesson-observation", Static).update(
            Text.assemble((message.heading, "bold"), "\n", message.state.observation)
        )
        self._refresh_status()

    def on_study_ready(self, message: StudyReady) -> None:
        self.study = message.study
        self._show_study()
        self._show_checks()
        self._refresh_status()

    def _show_study(self) -> None:
        if self.study is None:
            return
        hidden = "guess" in self.page.keys and not self.revealed
        self.query_one(StudyTable).show(self.study, hide_posterior=hidden)
        self.query_one(BayesPanel).show(self.study, hide_posterior=hidden)
        if self.page.panel == "sweep":
            self.query_one(AlphaSweepTable).show(self.study, SWEEP_ALPHAS)

    def on_trained(self, message: Trained) -> None:
        self.query_one(LearningPane).show(message.history)
        self._refresh_status()

    def on_race_progress(self, message: RaceProgress) -> None:
        self.query_one(ComparisonPanel).show(message.races)
        self._show_checks()
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
