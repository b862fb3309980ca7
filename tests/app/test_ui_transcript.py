"""The transcript appends lines without re-laying out the screen, and still scrolls and shows them."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from sandbox.ui.widgets.game_pane import Transcript


class TranscriptApp(App[None]):
    CSS = "#transcript { height: 8; width: 40; }"

    def compose(self) -> ComposeResult:
        yield Transcript(id="transcript")


def shown_text(transcript: Transcript) -> list[str]:
    return [transcript.render_line(y).text.rstrip() for y in range(transcript.scrollable_content_region.height)]


async def test_lines_append_without_a_layout_and_the_log_follows_them() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(60, 12)) as pilot:
        transcript = app.query_one(Transcript)
        for number in range(3):
            transcript.write(Text(f"line {number}"))
        await pilot.pause()
        assert shown_text(transcript)[:3] == ["line 0", "line 1", "line 2"]

        for number in range(3, 30):
            transcript.write(Text(f"line {number}"))
            assert not transcript._layout_required  # a line asks for no layout of the screen
        assert transcript.scroll_y == transcript.max_scroll_y == 30 - 8  # scrolled at once, not after a repaint
        assert transcript.vertical_scrollbar.window_virtual_size == 30
        await pilot.pause()
        assert shown_text(transcript)[-1] == "line 29"
        assert transcript.size.height == 8  # its size is the CSS's, whatever it holds

        transcript.write(Text("kept in view"), scroll_end=False)  # RichLog's own switch still works
        await pilot.pause()
        assert shown_text(transcript)[-1] == "line 29"
        transcript.scroll_home(animate=False)
        await pilot.pause()
        assert shown_text(transcript)[0] == "line 0"  # and it scrolls back


async def test_lines_written_before_the_size_is_known_are_shown_in_order() -> None:
    transcript = Transcript(id="transcript")

    class Early(TranscriptApp):
        def compose(self) -> ComposeResult:
            yield transcript

        def on_mount(self) -> None:
            transcript.write(Text("first"))
            transcript.write(Text("second"))

    app = Early()
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        assert shown_text(transcript)[:2] == ["first", "second"]
