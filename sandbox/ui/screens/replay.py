"""Replay a recorded episode step by step: the transcript so far and that step's full decision."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from sandbox.ui.episodes import RecordedEpisode
from sandbox.ui.widgets.decision_table import DecisionPanel, DecisionTable
from sandbox.ui.widgets.game_pane import Transcript


class ReplayScreen(Screen[None]):
    """Step i shows the state the agent saw, the decision it made there, and everything before it."""

    # Priority: the table and the transcript bind the same keys for scrolling.
    BINDINGS = [
        Binding("right,space,n", "move(1)", "next step", priority=True),
        Binding("left,p", "move(-1)", "previous step", priority=True),
        Binding("home", "jump(0)", "first", priority=True),
        Binding("end", "jump(-1)", "last", priority=True),
        Binding("escape,q", "app.pop_screen", "back", priority=True),
    ]

    def __init__(self, episode: RecordedEpisode) -> None:
        super().__init__()
        self.episode = episode
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="replay-title")
        with Horizontal(id="replay-main"):
            yield Transcript(id="replay-transcript")
            yield DecisionPanel(id="replay-decision")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#replay-transcript").border_title = "transcript"
        self.query_one("#replay-decision").border_title = "decision at this step"
        self._render_step()

    def on_decision_table_action_chosen(self, event: DecisionTable.ActionChosen) -> None:
        event.stop()  # a replay only shows; Enter here must not step the live session

    def action_move(self, delta: int) -> None:
        self.index = min(max(self.index + delta, 0), max(len(self.episode.steps) - 1, 0))
        self._render_step()

    def action_jump(self, index: int) -> None:
        self.index = index % len(self.episode.steps) if self.episode.steps else 0
        self._render_step()

    def _render_step(self) -> None:
        episode, steps = self.episode, self.episode.steps
        title = Text.assemble(
            ("replay ", "bold"),
            f"{episode.env} · {episode.agent} · episode {episode.episode} · ",
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
