"""The status bar: env, agent, prior model and where it runs, LLM latency and cache hits,
counters and the live settings; a spinner with the running call's name while busy."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import LoadingIndicator, Static

from agents.prior.priors import UNIFORM_MODEL
from sandbox.ui.controller import SessionController
from sandbox.ui.widgets.in_place import KeepsTallestHeight, update_in_place


BUSY_DELAY_S = 0.25  # calls quicker than this never flash the spinner
SPINNER_REFRESH_S = 1 / 16  # LoadingIndicator's own frame rate


@dataclass(frozen=True)
class PlayState:
    """What the app, not the engine, knows: auto-play and its speed."""

    autoplay: bool = False
    speed: str = ""


def status_segments(controller: SessionController, play: PlayState) -> list[Text]:
    """Counters and settings first (they change), then the prior, then what is loaded."""
    run = controller.config.run
    session = controller.session
    loaded = Text.assemble((run.env, "bold"), " · ", (run.agent, "bold"))
    if session is None:
        return [loaded, Text("building…", style="dim")]
    segments = [Text(f"ep {session.episode} t {session.t} Σ{session.total_steps}")]
    settings = controller.settings()
    prior = session.agent.prior
    knobs = []
    if settings["alpha"] is not None:
        knobs.append(f"α {settings['alpha']:g}")
    if settings["k"] is not None and prior is not None:
        knobs.append(f"k {settings['k']}")
    if settings["mode"] is not None:
        knobs.append(str(settings["mode"]))
    if knobs:
        segments.append(Text(" ".join(knobs)))
    play_text = Text("train" if settings["learn"] else "frozen", style="bold green" if settings["learn"] else "dim")
    if play.autoplay:
        play_text.append(f" ▶ {play.speed}", style="bold")
    segments.append(play_text)
    if prior is not None and prior.model_name == UNIFORM_MODEL:
        segments.append(Text("uniform prior (no LLM)"))
    elif prior is not None:
        where = f"GPU {prior.gpu_layers}L" if prior.gpu_layers else "CPU"
        ms = prior.stats.last_ms
        latency = f"{ms:.0f}ms" if ms >= 10 else f"{ms:.1f}ms"  # cache hits take well under a millisecond
        segments.append(Text(f"{prior.model_name} {where} {latency} hit {prior.stats.cache_hit_rate:.0%}"))
    segments.append(loaded)
    return segments


def pack(segments: list[Text], width: int, separator: str = " │ ") -> Text:
    """Join segments with separators, starting a new line rather than splitting a segment."""
    text, line_length = Text(), 0
    for segment in segments:
        needed = len(segment) + (len(separator) if line_length else 0)
        if line_length and line_length + needed > width:
            text.append("\n")
            line_length = 0
        elif line_length:
            text.append(separator, style="dim")
        text.append_text(segment)
        line_length += len(segment) + (len(separator) if line_length else 0)
    return text


class StatusBar(KeepsTallestHeight, Horizontal):
    """One or two lines of status, and a spinner naming the engine call that is taking a while.

    Once the status has needed two lines on a screen size it keeps them: a bar going from one line
    to two and back (a counter, a latency) resized the whole screen above it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._busy: str | None = None
        self._shown: str | None = None  # the label on screen (set after the delay)
        self._outage: str | None = None  # a remote prior waiting for its server: shown over the busy label

    def compose(self) -> ComposeResult:
        yield Static("", id="status-text")
        yield LoadingIndicator(id="spinner")
        yield Static("", id="busy-label")

    def on_mount(self) -> None:
        self._show_spinner(None)

    def set_busy(self, label: str | None) -> None:
        """Show `label` with a spinner if the call is still running after BUSY_DELAY_S; None hides it."""
        self._busy = label
        if label is None:
            self._outage = None  # the call ended (an outage's wait only runs inside one, e.g. cancelled by esc)
            if self._shown is not None:
                self._show_spinner(None)
        else:
            self.set_timer(BUSY_DELAY_S, self._show_if_still_busy)

    def set_outage(self, message: str | None) -> None:
        """Show at once that the prior's server is down and waited for; None (it is back) shows the running
        call's label again."""
        self._outage = message
        self._show_spinner(message if message is not None else (self._busy if self._shown is not None else None))

    def _show_if_still_busy(self) -> None:
        """A quick call (a cache hit) has ended by now and leaves the bar as it was."""
        if self._busy != self._shown:
            self._show_spinner(self._busy)

    def _show_spinner(self, label: str | None) -> None:
        if label is not None and self._outage is not None:
            label = self._outage
        self._shown = label
        spinner = self.query_one("#spinner", LoadingIndicator)
        spinner.display = label is not None
        spinner.auto_refresh = SPINNER_REFRESH_S if label is not None else None  # hidden, it need not animate
        busy = self.query_one("#busy-label", Static)
        busy.display = label is not None
        busy.update(Text(f"{label} (esc cancels)", style="italic") if label else "")

    def show(self, controller: SessionController, play: PlayState) -> None:
        """Packed for the bar's full width: a spinner label crops the lines (CSS `text-wrap: nowrap`)
        instead of wrapping them, so how long a call took never changes the bar's height."""
        width = max(20, (self.size.width or self.app.size.width) - 2)
        text = pack(status_segments(controller, play), width)
        status = self.query_one("#status-text", Static)
        if text != status.content:  # skip an update when nothing changed
            update_in_place(status, text)
