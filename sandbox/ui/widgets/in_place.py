"""Updating a Static without re-laying out the screen when its height stays the same.

`Static.update` asks for a layout by default: Textual then re-arranges every widget and
re-renders any whose region moved, which is most of a step's repaint. A panel whose new
text fills as many lines as the old one only needs its own lines repainted.
"""

from __future__ import annotations

from rich.console import RenderableType
from textual.widgets import Static


def update_in_place(static: Static, content: RenderableType) -> None:
    """`static.update(content)`, with a layout only when the content's height at the widget's width changed
    (or the widget has no size yet: hidden, or not laid out)."""
    height, width = static.size.height, static.size.width
    static.update(content, layout=False)
    if not height or not width or static.visual.get_height(static.styles, width) != height:
        static.refresh(layout=True)
