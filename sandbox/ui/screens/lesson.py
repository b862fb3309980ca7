"""What every lesson screen shares: the lesson's engine (`LessonRun`: its controllers, the state it
studies, what it has seen), the job runner, the status bar, exports, and the keys every lesson answers to.

Each lesson's screen (the pages of `demo.py`, the dial of `prior_strength.py`) keeps only what it
shows and what its keys do.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from sandbox.engine.config import RunConfig
from sandbox.engine.storage import atomic_write_text
from sandbox.ui.controller import Builders
from sandbox.ui.jobs import JobRunner
from sandbox.ui.lesson_checks import LessonRun
from sandbox.ui.lessons import Lesson
from sandbox.ui.messages import EngineBusy
from sandbox.ui.screens.help import HelpScreen
from sandbox.ui.widgets.lesson_panels import races_csv
from sandbox.ui.widgets.status_bar import PlayState, StatusBar

EXPORTS_DIR = "lessons"  # under the saves folder: the only place a lesson writes
# The last keys of every lesson's bindings (each screen lists its own first, in the order its footer shows).
LESSON_KEYS = [
    Binding("e", "export", "export"),
    Binding("escape", "cancel", "cancel"),
    Binding("d", "app.toggle_dark", "theme"),
    Binding("question_mark", "help", "help", key_display="?"),
    Binding("q", "app.quit", "quit"),
]


class LessonScreen(Screen[None]):
    """A lesson's engine and the jobs that drive it."""

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
        self.saves_dir = saves_dir
        self.steps = steps  # the user's --steps: what each training page or race trains instead of the lesson's own
        self.run = LessonRun(lesson, config, saves_dir=saves_dir, builders=builders)
        self.controllers = self.run.controllers
        self.controller = self.run.controller  # the one the status bar and the α keys speak of
        self.jobs = JobRunner(self, self._job_finished)

    # ----- keys -------------------------------------------------------------------------

    def action_cancel(self) -> None:
        if self.jobs.cancel():
            self.notify("cancelled", timeout=2)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.help_bindings(), f"Lesson: {self.lesson.title}", self.help_text()))

    def help_bindings(self) -> list[Binding]:
        """The keys this page answers to (what its footer shows)."""
        return [binding for binding in self.BINDINGS if self.check_action(binding.action.split("(")[0], ()) is not False]

    def help_text(self) -> str:
        return ""

    def action_export(self) -> None:
        """The screen as SVG (every figure on it), and each race so far as CSV, into saves/lessons/."""
        folder = self.saves_dir / EXPORTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{self.lesson.name}-{self.export_name()}"
        files = {folder / f"{stem}.svg": self.app.export_screenshot(title=f"{self.lesson.title}: {self.export_name()}")}
        if self.run.observations.races:
            files[folder / f"{stem}.csv"] = races_csv(self.run.observations.races)
        for path, text in files.items():
            atomic_write_text(path, text)
            if self.app.is_web:  # served: the file goes to the student's browser too (in a terminal it stays in saves/)
                self.app.deliver_text(io.StringIO(text), save_filename=path.name)
        written = list(files)
        self.notify("exported " + ", ".join(str(path) for path in written), timeout=6)

    def export_name(self) -> str:
        return "figure"

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
        self.run.close()
