"""Prompt hot-edit: the prior's prompt for the current step in an editor; re-score and see p_LLM and the
posterior change; or edit the env family's template and save it for every later prompt.

Two views of one editor (ctrl+t switches): the exact prompt the model reads at this step,
and the family's template (TOML) that renders every step's prompt. ctrl+r re-scores the
state with the text on screen; the table shows each action's p_LLM and posterior with its
change from the live prompt. ctrl+s saves the template to <templates_dir>/<family>.toml.
The engine side is `sandbox.features.prompt_edit`; the live prior is untouched until a save.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea
from textual.worker import Worker, WorkerState

from agents.decision import Decision, prior_shift
from sandbox.features.prompt_edit import PromptView, Rescore, prompt_view, render_template, rescore, save_template
from sandbox.ui.controller import SessionController
from sandbox.ui.jobs import JobRunner
from sandbox.ui.messages import EngineBusy
from sandbox.ui.widgets.decision_table import PRIOR_COLOR, DecisionTable

VIEWS = ("prompt", "template")


class PromptOpened(Message, bubble=False):
    def __init__(self, view: PromptView) -> None:
        super().__init__()
        self.view = view


class PromptRescored(Message, bubble=False):
    def __init__(self, rescored: Rescore, view: str) -> None:
        super().__init__()
        self.rescored = rescored
        self.view = view  # "prompt" or "template": which text was scored


class TemplateSaved(Message, bubble=False):
    def __init__(self, path: Path, family: str) -> None:
        super().__init__()
        self.path = path
        self.family = family


def change_summary(rescored: Rescore) -> Text:
    """The top action under each prompt, how far p_LLM moved (KL), and what the call cost."""
    before, after = rescored.before, rescored.after

    def top(decision: Decision) -> str:
        row = max(decision.candidates, key=lambda candidate: candidate.prior)
        return f"{row.action} {row.prior:.2f}"

    kl = prior_shift(before, after)
    result = after.prior_result
    cost = "from the cache" if result.cached else f"{result.ms:.0f} ms"
    return Text.assemble(
        ("top p_LLM ", "bold"),
        f"{top(before)} → ",
        (top(after), f"bold {PRIOR_COLOR}"),
        f" · KL(after‖before) {kl:.3f} nats · {cost}",
    )


class PromptEditorScreen(Screen[Path | None]):
    """Returns the path of a saved template (the app then asks the prior again), or None."""

    DEFAULT_CSS = """
    #prompt-title { height: auto; padding: 0 1; background: $panel; }
    #prompt-main { height: 1fr; }
    #prompt-text { width: 1fr; border: round $primary; border-title-color: $primary; }
    #prompt-right { width: 1fr; min-width: 62; border: round $accent; border-title-color: $accent; }
    #prompt-table { height: auto; max-height: 70%; }
    #prompt-summary { height: auto; padding: 0 1; background: $boost; }
    """
    BINDINGS = [
        Binding("ctrl+r", "rescore", "re-score", priority=True),
        Binding("ctrl+t", "switch", "prompt ↔ template", priority=True),
        Binding("ctrl+s", "save", "save template", priority=True),
        Binding("escape", "close", "back", priority=True),
    ]

    def __init__(self, controller: SessionController) -> None:
        super().__init__()
        self.controller = controller
        self.jobs = JobRunner(self, self._job_finished)
        self.view: PromptView | None = None
        self.mode = "prompt"
        self.texts: dict[str, str] = {}
        self.saved: Path | None = None

    def compose(self) -> ComposeResult:
        yield Static("reading the prompt…", id="prompt-title")
        with Horizontal(id="prompt-main"):
            yield TextArea("", id="prompt-text", soft_wrap=True, show_line_numbers=False)
            with Vertical(id="prompt-right"):
                yield DecisionTable(id="prompt-table")
                yield Static("", id="prompt-summary")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#prompt-right").border_title = "p_LLM and posterior: edited vs live prompt"
        self.query_one(TextArea).focus()
        self.jobs.submit("reading the prompt", self._job_open)

    # ----- jobs (worker threads) ------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.jobs.state_changed(event)

    def _job_finished(self, state: WorkerState) -> None:
        self.query_one("#prompt-right").loading = False
        if self.view is None and state != WorkerState.SUCCESS:
            self.dismiss(None)  # the prompt could not be read (the error is already a notification)

    def on_engine_busy(self, message: EngineBusy) -> None:
        message.stop()  # this screen's own spinner; the main screen's status bar is not in view
        self.query_one("#prompt-right").loading = message.label is not None

    def _job_open(self, worker: Worker) -> None:
        with self.jobs.phase("asking the agent"), self.controller.lock:
            decision = self.controller.decide()
            view = prompt_view(self.controller.session.agent, self.controller.session.state, decision)
        self.post_message(PromptOpened(view))

    def _job_rescore(self, worker: Worker, view: PromptView, mode: str, text: str) -> None:
        with self.jobs.phase("asking the LLM"), self.controller.lock:
            agent = self.controller.session.agent
            prompt = text if mode == "prompt" else render_template(agent, view.state, text)
            rescored = rescore(agent, view.state, view.decision, prompt)
        self.post_message(PromptRescored(rescored, mode))

    def _job_save(self, worker: Worker, family: str, text: str) -> None:
        with self.jobs.phase("saving the template"), self.controller.lock:
            path = save_template(self.controller.session.agent, family, text)
        self.post_message(TemplateSaved(path, family))

    # ----- message handlers (UI thread) -----------------------------------------------

    def on_prompt_opened(self, message: PromptOpened) -> None:
        view = self.view = message.view
        self.texts = {"prompt": view.prompt, "template": view.template}
        self.query_one("#prompt-title", Static).update(
            Text.assemble(
                ("prompt editor ", "bold"),
                f"{view.state.family} · {view.model} · {view.mode} mode · ",
                "ctrl+r re-scores the text on the left · ctrl+t prompt ↔ template · ctrl+s saves the template",
            )
        )
        self._show_text()
        self.query_one("#prompt-table", DecisionTable).show(view.before)
        self.query_one("#prompt-summary", Static).update(
            Text("The live prompt's numbers. Edit the text, then ctrl+r to see them change.", style="italic")
        )

    def on_prompt_rescored(self, message: PromptRescored) -> None:
        rescored = message.rescored
        self.query_one("#prompt-table", DecisionTable).show(rescored.after, rescored.before)
        self.query_one("#prompt-summary", Static).update(change_summary(rescored))

    def on_decision_table_action_chosen(self, event: DecisionTable.ActionChosen) -> None:
        event.stop()  # the table compares numbers here; Enter must not step the session behind this screen

    def on_template_saved(self, message: TemplateSaved) -> None:
        self.saved = message.path
        self.notify(f"the {message.family} prompts now use {message.path}", title="template saved")

    # ----- actions --------------------------------------------------------------------

    def _show_text(self) -> None:
        area = self.query_one(TextArea)
        area.text = self.texts[self.mode]
        area.border_title = (
            "the prompt the model reads at this step"
            if self.mode == "prompt"
            else f"the {self.view.state.family} template (TOML): it renders every step's prompt"
        )

    def action_switch(self) -> None:
        if self.view is None:
            return
        self.texts[self.mode] = self.query_one(TextArea).text
        self.mode = VIEWS[(VIEWS.index(self.mode) + 1) % len(VIEWS)]
        self._show_text()

    def action_rescore(self) -> None:
        view = self.view
        if view is None:
            return
        mode, text = self.mode, self.query_one(TextArea).text
        self.jobs.submit("re-scoring", lambda worker: self._job_rescore(worker, view, mode, text))

    def action_save(self) -> None:
        view = self.view
        if view is None:
            return
        if self.mode != "template":
            self.notify("a save keeps a template: ctrl+t shows it; its pieces render every step's prompt")
            return
        text = self.query_one(TextArea).text
        self.jobs.submit("saving the template", lambda worker: self._job_save(worker, view.state.family, text))

    def action_close(self) -> None:
        if not self.jobs.cancel():
            self.dismiss(self.saved)
