"""What every lesson screen shares: one controller per agent it shows, the job runner, live training
in chunks that post progress, the status bar, and the keys every lesson answers to.

Each lesson's screen (the pages of `demo.py`, the dial of `prior_strength.py`) keeps only what it
shows and what its keys do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from sandbox.config import RunConfig
from sandbox.ui.controller import Builders, SessionController
from sandbox.ui.jobs import JobRunner
from sandbox.ui.lessons import Lesson
from sandbox.ui.messages import EngineBusy, TrainingProgress
from sandbox.ui.screens.help import HelpScreen
from sandbox.ui.widgets.status_bar import PlayState, StatusBar

LESSON_ENV = "TextFrozenLake-v0"
PROGRESS_EVERY = 10  # training steps between plot updates
RACE_CHUNK = 25  # steps each rival takes per turn, so both curves grow together
# The last keys of every lesson's bindings (each screen lists its own first, in the order its footer shows).
LESSON_KEYS = [
    Binding("escape", "cancel", "cancel"),
    Binding("d", "app.toggle_dark", "theme"),
    Binding("question_mark", "help", "help", key_display="?"),
    Binding("q", "app.quit", "quit"),
]


def lesson_config(lesson: Lesson, base: RunConfig, agent: str) -> RunConfig:
    """The user's prior and seeds, with the lesson's env, agent and DQN settings."""
    run = replace(base.run, env=LESSON_ENV, env_kwargs=dict(lesson.env_kwargs), agent=agent)
    return replace(base, run=run, dqn=replace(base.dqn, **lesson.dqn))


class LessonScreen(Screen[None]):
    """A lesson's controllers (its rivals, else its one agent) and the jobs that drive them."""

    def __init__(
        self,
        lesson: Lesson,
        config: RunConfig,
        *,
        saves_dir: Path = Path("saves"),
        builders: Builders | None = None,
        steps: int | None = None,
    ) -> None:
        super().__init__()
        self.lesson = lesson
        self.steps = steps  # the user's --steps: what each training page or race trains instead of the lesson's own
        self.controllers = {
            agent: SessionController(
                lesson_config(lesson, config, agent), saves_dir=saves_dir, builders=builders, record_episodes=False
            )
            for agent in lesson.rivals or (lesson.agent,)
        }
        self.controller = self.controllers[lesson.agent]  # the one the status bar and the α keys speak of
        self.jobs = JobRunner(self, self._job_finished)

    # ----- jobs (engine thread) ---------------------------------------------------------

    def _train(self, name: str, steps: int, done_before: int, total: int, should_stop: Callable[[], bool]) -> None:
        """Train agent `name` for `steps` steps, posting its curve every PROGRESS_EVERY and at the end."""
        controller = self.controllers[name]
        progress = {"steps": done_before}

        def on_step(_record: object) -> None:
            progress["steps"] += 1
            if progress["steps"] % PROGRESS_EVERY == 0:
                self.post_message(TrainingProgress(name, controller.history.copy(), progress["steps"], total))

        controller.train(steps, on_step, should_stop=should_stop)
        self.post_message(TrainingProgress(name, controller.history.copy(), done_before + steps, total))

    def _race(self, names: Sequence[str], steps: int, should_stop: Callable[[], bool]) -> None:
        """Train `names` for `steps` steps each, RACE_CHUNK steps at a time by turns."""
        for done in range(0, steps, RACE_CHUNK):
            chunk = min(RACE_CHUNK, steps - done)
            for name in names:
                self._train(name, chunk, done, steps, should_stop)

    # ----- keys -------------------------------------------------------------------------

    def action_cancel(self) -> None:
        if self.jobs.cancel():
            self.notify("cancelled", timeout=2)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(list(self.BINDINGS), f"Lesson: {self.lesson.title}"))

    # ----- messages (UI thread) ---------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.jobs.state_changed(event)

    def _job_finished(self, state: WorkerState) -> None:
        self.query_one(StatusBar).set_busy(None)
        self._refresh_status()

    def on_engine_busy(self, message: EngineBusy) -> None:
        self.query_one(StatusBar).set_busy(message.label)

    def _refresh_status(self) -> None:
        self.query_one(StatusBar).show(self.controller, PlayState())

    def on_unmount(self) -> None:
        # Waits for a running LLM call to return: freeing llama.cpp under it would abort the process.
        for controller in self.controllers.values():
            controller.close()
