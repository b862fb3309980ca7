"""The help screen: every key of the current screen, and what the panels show."""

from __future__ import annotations

from dataclasses import replace

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

PANELS = (
    "Decision table: one row per admissible action. p_LLM is the LLM prior, Q the agent's value, "
    "exp(αQ) the likelihood of optimality (normalised over the actions), posterior ∝ prior × likelihood: "
    "the probability the agent acts with. ×n counts the k proposals that mapped to the action; ▶ marks the "
    "action taken (orange when you took it).\n"
    "Why: the chosen action's prior × likelihood → posterior with the actual numbers, and how far the "
    "posterior moved from the prior (entropies, KL).\n"
    "Learning: episode return and success, evaluation success and loss, ε and the replay buffer, live."
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close")]

    def __init__(self, bindings: list[Binding], title: str = "Keys", panels: str = "") -> None:
        super().__init__()
        self.bindings = bindings
        self.title_text = title
        self.panels = panels or PANELS  # what the panels of the screen behind show

    def compose(self) -> ComposeResult:
        table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
        table.add_column(style="bold")
        table.add_column()
        for binding in self.bindings:
            shown = (self.app.get_key_display(replace(binding, key=key)) for key in binding.key.split(","))
            keys = " ".join(dict.fromkeys(shown))  # one key_display covers all of a binding's keys
            table.add_row(keys, binding.description)
        with VerticalScroll(id="help"):
            yield Static(Text(self.title_text, style="bold"))
            yield Static(table)
            yield Static(Text(self.panels), id="help-panels")
