"""Updating widgets without re-laying out the screen step by step.

`Static.update` asks for a layout by default: Textual then re-arranges every widget and
re-renders any whose region moved, which is most of a step's repaint. A panel whose new
text fills as many lines as the old one only needs its own lines repainted, and a panel
that keeps its tallest height moves nothing around it when its content shrinks.
"""

from __future__ import annotations

from rich.console import RenderableType
from textual.events import Resize
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Static


def update_in_place(static: Static, content: RenderableType) -> None:
    """`static.update(content)`, with a layout only when the content's height at the widget's width changed
    (or the widget has no size yet: hidden, or not laid out)."""
    height, width = static.size.height, static.size.width
    static.update(content, layout=False)
    if not height or not width or static.visual.get_height(static.styles, width) != height:
        static.refresh(layout=True)


class KeepsTallestHeight:
    """Mixin for a Widget of `height: auto`: it keeps the tallest height it has needed on this screen size.
    A panel that shrank and grew with its content would move (and have re-rendered) the widgets beside
    it step by step; a new screen size lets it shrink again."""

    _tallest_on: Size = Size(0, 0)  # the screen size the kept height belongs to

    def on_resize(self, event: Resize) -> None:
        assert isinstance(self, Widget)
        if self.screen.size != self._tallest_on:  # a new screen size: the panel may need less now
            self._tallest_on = self.screen.size
            self.styles.min_height = None
        elif event.size.height > (self.styles.min_height.value if self.styles.min_height else 0):
            self.styles.min_height = event.size.height
