"""The game pane: the task (always in view), the episode transcript, and a command line.

Human steps are marked in the transcript so a replay or a screenshot shows who chose.
"""

from __future__ import annotations

from typing import Self

from rich.console import RenderableType
from rich.rule import Rule
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.widgets import Input, RichLog, Static

from agents.decision import TextState
from sandbox.engine.session import StepRecord
from sandbox.ui.widgets.decision_table import HUMAN_COLOR, POSTERIOR_COLOR


def step_lines(record: StepRecord) -> list[Text]:
    """An action line (who chose, how, the reward) and the observation it led to."""
    human = record.decision.rule == "human"
    line = Text("you ▶ " if human else "agent ▶ ", style=f"bold {HUMAN_COLOR if human else POSTERIOR_COLOR}")
    line.append(record.action, style="bold")
    if not human:
        line.append(f"  {record.decision.rule}", style="dim")
    if record.reward:
        line.append(f"  reward {record.reward:+g}", style="bold yellow")
    return [line, Text(record.next_state.observation)]


def outcome_line(won: bool, lost: bool, steps: int, episode_return: float) -> Text:
    if won:
        return Text(f"✓ won in {steps} steps, return {episode_return:+.2f}", style=f"bold {POSTERIOR_COLOR}")
    what = "lost" if lost else "out of steps"
    return Text(f"✗ {what} after {steps} steps, return {episode_return:+.2f}", style="bold red")


class Transcript(RichLog):
    """Observations and actions of the episodes played so far, newest at the bottom.

    A line written grows the log's virtual size, which RichLog declares with `layout=True`: every
    line re-laid out the whole screen. The transcript's own size never depends on its lines (CSS
    fixes it), so here a new virtual size only updates the scrollbars and repaints the log; a
    scrollbar that appears or goes (RichLog's overflow is `auto` across) still asks for a layout.
    And it scrolls to a new line at once, not after a repaint: the line and the scroll share one.
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, wrap=True, min_width=20, markup=False, auto_scroll=True)

    def watch_virtual_size(self, size: Size) -> None:
        if self.is_mounted:
            self._scroll_update(size)  # the scrollbars' extent (their visibility, with a layout, if it changes)

    def write(
        self,
        content: RenderableType | object,
        width: int | None = None,
        expand: bool = False,
        shrink: bool = True,
        scroll_end: bool | None = None,
        animate: bool = False,
    ) -> Self:
        if not self._size_known:  # RichLog keeps the write, and this one, for when the size is known
            return super().write(content, width, expand, shrink, scroll_end, animate)
        super().write(content, width, expand, shrink, scroll_end=False)
        if self.auto_scroll if scroll_end is None else scroll_end:
            self.scroll_end(animate=animate, immediate=True, x_axis=False)
        return self

    def start_episode(self, episode: int, state: TextState) -> None:
        self.write(Rule(f"episode {episode}", style="dim"))
        self.write(Text(state.observation))

    def add_step(self, record: StepRecord) -> None:
        for line in step_lines(record):
            self.write(line)
        if record.done:
            self.write(outcome_line(record.won, bool(record.info.get("lost")), record.t, record.episode_return))


class GamePane(Vertical):
    """Task + transcript + the input where a person types any command as their own step."""

    class CommandTyped(Message):
        def __init__(self, command: str) -> None:
            super().__init__()
            self.command = command

    def compose(self) -> ComposeResult:
        yield Static("", id="task")
        yield Transcript(id="transcript")
        yield Input(placeholder="› type a command (i)", id="command", compact=True)

    def show_task(self, task: str) -> None:
        self.query_one("#task", Static).update(Text.assemble(("Task: ", "bold"), task or "(none given)"))

    def start_episode(self, episode: int, state: TextState) -> None:
        self.show_task(state.task)
        self.query_one(Transcript).start_episode(episode, state)

    def add_step(self, record: StepRecord) -> None:
        self.query_one(Transcript).add_step(record)

    def note(self, text: str) -> None:
        """A line that is not game text, e.g. which env and agent are now playing."""
        self.query_one(Transcript).write(Text(text, style="italic dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        command = event.value.strip()
        event.input.clear()
        if command:
            self.post_message(self.CommandTyped(command))
