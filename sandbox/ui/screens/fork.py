"""What-if fork: the agent's line and your fork side by side from the current step; keep or discard the fork.

Replaying the episode into two branches, stepping them and adopting a kept fork is
`sandbox.features.branching` behind the SessionController; this screen drives it in workers, one
job at a time, and shows the branches. Workers report through the typed messages below.
The main session does not move while the fork is open, and nothing here learns unless
"learn from fork" is on.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from agents.decision import Decision
from sandbox.features.branching import Branch, Fork
from sandbox.engine.session import StepRecord
from sandbox.ui.controller import Cancelled, SessionController
from sandbox.ui.jobs import JobRunner
from sandbox.ui.messages import EngineBusy
from sandbox.ui.widgets.decision_table import HUMAN_COLOR, POSTERIOR_COLOR, DecisionPanel, DecisionTable
from sandbox.ui.widgets.game_pane import Transcript


class ForkStarted(Message, bubble=False):
    def __init__(self, fork: Fork) -> None:
        super().__init__()
        self.fork = fork


class ForkDecision(Message, bubble=False):
    """A branch's decision on its current state (the fork's fills the table; main's is its next move)."""

    def __init__(self, branch: str, decision: Decision) -> None:
        super().__init__()
        self.branch = branch
        self.decision = decision


class ForkStepped(Message, bubble=False):
    def __init__(self, branch: str, record: StepRecord) -> None:
        super().__init__()
        self.branch = branch
        self.record = record


class ForkLearning(Message, bubble=False):
    def __init__(self, learn: bool) -> None:
        super().__init__()
        self.learn = learn


class ForkClosed(Message, bubble=False):
    def __init__(self, fork: Fork, kept: bool) -> None:
        super().__init__()
        self.fork = fork
        self.kept = kept


@dataclass(frozen=True)
class ForkResult:
    """What the screen returns to the app: the fork, and whether it became the main session."""

    fork: Fork
    kept: bool


def branch_summary(branch: Branch, at: int, next_decision: Decision | None) -> Text:
    """Steps and reward since the fork point, the outcome, and the next move while it runs."""
    text = Text.assemble(
        (f"step {at + len(branch.records)}", "bold"),
        f" · {len(branch.records)} since the fork · reward {branch.gained:+.2f} · ",
    )
    outcome = branch.outcome
    style = {"won": f"bold {POSTERIOR_COLOR}", "running": "", "lost": "bold red", "out of steps": "bold red"}[outcome]
    text.append(outcome, style=style)
    if outcome == "running" and next_decision is not None:
        text.append(" · next ")
        text.append(f"▶ {next_decision.action}", style=f"bold {POSTERIOR_COLOR}")
    return text


class ForkScreen(Screen[ForkResult | None]):
    """Left: the agent plays on from the fork point (m). Right: your fork (space, Enter on a row, i)."""

    DEFAULT_CSS = """
    #fork-title { height: auto; padding: 0 1; background: $panel; }
    #fork-columns { height: 1fr; }
    #fork-main-column, #fork-fork-column { width: 1fr; border: round $primary; border-title-color: $primary; }
    #fork-fork-column { border: round $accent; border-title-color: $accent; }
    .fork-summary { height: auto; padding: 0 1; background: $boost; }
    #main-transcript, #fork-transcript { height: 1fr; background: $surface; }
    #fork-decision { height: auto; max-height: 60%; }
    #fork-decision #candidates { height: auto; max-height: 12; }
    #fork-decision #why { display: none; }
    #fork-command { dock: bottom; background: $boost; }
    """
    BINDINGS = [
        Binding("space,s", "step('fork')", "fork: agent steps"),
        Binding("m", "step('main')", "main: agent steps"),
        Binding("i", "command", "type in fork"),
        Binding("l", "learn", "learn from fork"),
        Binding("k", "keep", "keep fork"),
        Binding("x", "discard", "discard fork"),
        Binding("escape", "escape", "cancel/discard", priority=True),
    ]

    def __init__(self, controller: SessionController) -> None:
        super().__init__()
        self.controller = controller
        self.jobs = JobRunner(self, self._job_finished)
        self.fork: Fork | None = None
        self.next: dict[str, Decision | None] = {"main": None, "fork": None}
        self.closed = False

    def compose(self) -> ComposeResult:
        yield Static("forking: replaying the episode from its seed…", id="fork-title")
        with Horizontal(id="fork-columns"):
            with Vertical(id="fork-main-column"):
                yield Static("", id="main-summary", classes="fork-summary")
                yield Transcript(id="main-transcript")
            with Vertical(id="fork-fork-column"):
                yield Static("", id="fork-summary", classes="fork-summary")
                yield Transcript(id="fork-transcript")
                yield DecisionPanel(id="fork-decision")
                yield Input(placeholder="› type a command for the fork (i)", id="fork-command", compact=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#fork-main-column").border_title = "main: the agent plays on (m)"
        self.query_one("#fork-fork-column").border_title = "fork: your what-if"
        self.query_one(DecisionTable).focus()
        self.jobs.submit("forking", self._job_fork)

    # ----- jobs (worker threads) ------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.jobs.state_changed(event)

    def _job_finished(self, state: WorkerState) -> None:
        self.query_one("#fork-decision").loading = False

    def on_engine_busy(self, message: EngineBusy) -> None:
        message.stop()  # this screen's own spinner; the main screen's status bar is not in view
        self.query_one("#fork-decision").loading = message.label is not None

    def _job_fork(self, worker: Worker) -> None:
        with self.jobs.phase("forking"):
            fork = self.controller.fork()
        self.post_message(ForkStarted(fork))
        for branch in ("main", "fork"):
            self._decide(worker, fork, branch)

    def _decide(self, worker: Worker, fork: Fork, branch: str) -> None:
        with self.jobs.phase("asking the agent"):
            decision = self.controller.fork_decide(fork, branch)
        if worker.is_cancelled:
            raise Cancelled
        self.post_message(ForkDecision(branch, decision))

    def _job_step(self, worker: Worker, fork: Fork, branch: str, action: str | None) -> None:
        with self.jobs.phase(f"stepping the {branch} branch"):
            record = self.controller.fork_step(fork, branch, action)
        self.post_message(ForkStepped(branch, record))
        if not record.done:
            self._decide(worker, fork, branch)

    # ----- message handlers (UI thread) -----------------------------------------------

    def on_fork_started(self, message: ForkStarted) -> None:
        fork = self.fork = message.fork
        state = fork.main.session.state
        for name in ("main", "fork"):
            transcript = self.query_one(f"#{name}-transcript", Transcript)
            transcript.write(Text(f"episode {fork.episode}: forked after step {fork.at}", style="italic dim"))
            transcript.write(Text(state.observation))
        self._show_title()
        self._show_summaries()

    def on_fork_decision(self, message: ForkDecision) -> None:
        self.next[message.branch] = message.decision
        if message.branch == "fork":
            self.query_one(DecisionPanel).show(message.decision)
        self._show_summaries()

    def on_fork_stepped(self, message: ForkStepped) -> None:
        self.query_one(f"#{message.branch}-transcript", Transcript).add_step(message.record)
        self.next[message.branch] = None
        if message.record.done and message.branch == "fork":
            self.query_one(DecisionPanel).show(None, "The fork's episode is over: keep it (k) or discard it (x).")
        self._show_summaries()

    def on_fork_learning(self, message: ForkLearning) -> None:
        self._show_title()

    def on_fork_closed(self, message: ForkClosed) -> None:
        self.closed = True
        self.dismiss(ForkResult(message.fork, message.kept))

    def on_decision_table_action_chosen(self, event: DecisionTable.ActionChosen) -> None:
        event.stop()  # Enter here steps the fork, never the main session behind this screen
        self._step("fork", event.action)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        command = event.value.strip()
        event.input.clear()
        self.query_one(DecisionTable).focus()
        if command:
            self._step("fork", command)

    def _show_title(self) -> None:
        fork = self.fork
        if fork is None:
            return
        learn = Text("on: its steps train the agent", style=f"bold {HUMAN_COLOR}") if fork.learn else Text("off")
        self.query_one("#fork-title", Static).update(
            Text.assemble(
                ("what-if fork ", "bold"),
                f"at step {fork.at} of episode {fork.episode} · learn from fork (l): ",
                learn,
                " · k keeps the fork as the main episode · x discards it",
            )
        )

    def _show_summaries(self) -> None:
        if self.fork is None:
            return
        for name in ("main", "fork"):
            summary = branch_summary(self.fork.branch(name), self.fork.at, self.next[name])
            self.query_one(f"#{name}-summary", Static).update(summary)

    # ----- actions --------------------------------------------------------------------

    def _step(self, branch: str, action: str | None = None) -> None:
        fork = self.fork
        if fork is None:
            self.notify("the fork is still being made", severity="warning")
            return
        label = f"{branch}: {action!r}" if action else f"{branch}: agent step"
        self.jobs.submit(label, lambda worker: self._job_step(worker, fork, branch, action))

    def action_step(self, branch: str) -> None:
        self._step(branch)

    def action_command(self) -> None:
        self.query_one("#fork-command", Input).focus()

    def action_learn(self) -> None:
        if self.fork is None:
            return
        fork, learn = self.fork, not self.fork.learn

        def job(worker: Worker) -> None:
            self.controller.set_fork_learning(fork, learn)
            self.post_message(ForkLearning(learn))

        self.jobs.submit("learn from fork", job)

    def action_keep(self) -> None:
        self._close(kept=True)

    def action_discard(self) -> None:
        self._close(kept=False)

    def action_escape(self) -> None:
        if self.focused is self.query_one("#fork-command", Input):
            self.query_one(DecisionTable).focus()
        elif not self.jobs.cancel():
            self._close(kept=False)

    def _close(self, *, kept: bool) -> None:
        if self.fork is None:
            self.notify("the fork is still being made", severity="warning")
            return
        fork = self.fork

        def job(worker: Worker) -> None:
            with self.jobs.phase("keeping the fork" if kept else "discarding the fork"):
                if kept:
                    self.controller.keep_fork(fork)
                else:
                    self.controller.discard_fork(fork)
            self.post_message(ForkClosed(fork, kept))

        self.jobs.submit("keep" if kept else "discard", job)

    def on_unmount(self) -> None:
        # Leaving without keep or discard (the app quits): the branches' envs still need closing.
        if self.fork is not None and not self.closed:
            self.controller.discard_fork(self.fork)
