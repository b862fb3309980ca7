"""Replay a recorded episode step by step: the transcript so far, that step's full decision and
telemetry, and the episode's metrics. Seek with ←/→, PgUp/PgDn (10 steps), Home/End, or g and
a step number. It reads only the replay file: no env, agent or model is loaded."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from sandbox.engine.replay_files import RecordedEpisode
from sandbox.ui.widgets.decision_table import DecisionPanel, DecisionTable
from sandbox.ui.widgets.game_pane import Transcript
from sandbox.ui.widgets.metrics_table import metrics_text

PAGE = 10


class ReplayScreen(Screen[None]):
    """Step i shows the state the agent saw, the decision it made there, and everything before it."""

    # Priority: the table and the transcript bind the same keys for scrolling.
    BINDINGS = [
        Binding("right,space,n", "move(1)", "next step", priority=True),
        Binding("left,p", "move(-1)", "previous step", priority=True),
        Binding("pagedown", f"move({PAGE})", f"+{PAGE}", priority=True),
        Binding("pageup", f"move(-{PAGE})", f"−{PAGE}", priority=True),
        Binding("home", "jump(0)", "first", priority=True),
        Binding("end", "jump(-1)", "last", priority=True),
        Binding("g", "go_to", "go to step", priority=True),
        Binding("escape,q", "close", "back", priority=True),
    ]

    def __init__(self, episode: RecordedEpisode, step: int = 1) -> None:
        """`step` counts from 1, like the title; it is clamped to the episode."""
        super().__init__()
        self.episode = episode
        self.index = self._clamp(step - 1)

    def compose(self) -> ComposeResult:
        yield Static("", id="replay-title")
        yield Static("", id="replay-metrics")
        yield Input(placeholder="go to step (Enter), esc cancels", id="replay-goto", type="integer", valid_empty=True)
        with Horizontal(id="replay-main"):
            yield Transcript(id="replay-transcript")
            yield DecisionPanel(id="replay-decision")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#replay-transcript").border_title = "transcript"
        self.query_one("#replay-decision").border_title = "decision at this step"
        self.query_one(DecisionTable).focus()  # the step box is hidden (app.tcss) until g
        metrics = self.episode.metrics()
        line = Text("unfinished episode · " if not self.episode.finished else "", style="italic")
        self.query_one("#replay-metrics", Static).update(line + metrics_text(metrics) if metrics else line)
        self._render_step()

    def on_decision_table_action_chosen(self, event: DecisionTable.ActionChosen) -> None:
        event.stop()  # a replay only shows; Enter here must not step the live session

    def _clamp(self, index: int) -> int:
        return min(max(index, 0), max(len(self.episode.steps) - 1, 0))

    def seek(self, index: int) -> None:
        """Show step `index` (from 0), clamped to the episode."""
        self.index = self._clamp(index)
        self._render_step()

    def action_move(self, delta: int) -> None:
        if not self._typing():
            self.seek(self.index + delta)

    def action_jump(self, index: int) -> None:
        if not self._typing():
            self.seek(index % len(self.episode.steps) if self.episode.steps else 0)

    def action_go_to(self) -> None:
        goto = self.query_one("#replay-goto", Input)
        goto.display = True
        goto.value = ""
        goto.focus()

    def action_close(self) -> None:
        if self._typing():
            self._hide_goto()
        else:
            self.dismiss()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._hide_goto()
        try:
            step = int(event.value)
        except ValueError:
            self.notify(f"{event.value!r} is not a step number", severity="warning")
            return
        if not 1 <= step <= len(self.episode.steps):
            last = len(self.episode.steps)
            self.notify(f"step {step} is outside 1–{last}; showing the nearest", severity="warning")
        self.seek(step - 1)

    def _typing(self) -> bool:
        return self.query_one("#replay-goto", Input).display

    def _hide_goto(self) -> None:
        self.query_one("#replay-goto", Input).display = False
        self.query_one(DecisionTable).focus()

    def _render_step(self) -> None:
        episode, steps = self.episode, self.episode.steps
        title = Text.assemble(
            ("replay ", "bold"),
            f"{episode.env} · {episode.agent} · {episode.source} episode {episode.episode} · ",
            (f"step {self.index + 1 if steps else 0}/{len(steps)}", "bold"),
            f" · {episode.path.name}",
        )
        self.query_one("#replay-title", Static).update(title)
        transcript = self.query_one(Transcript)
        transcript.clear()
        transcript.start_episode(episode.episode, episode.first_state)
        for record in steps[: self.index + 1]:
            transcript.add_step(record)
        self.query_one(DecisionPanel).show(steps[self.index].decision if steps else None)
