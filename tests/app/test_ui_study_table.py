"""The lessons' decision table: its columns fit its cells from the moment it is filled, and its bars follow
the width it is laid out at (a table filled during a page switch, before its panel's layout, once kept
the headers' widths, or bars for the wrong width, in a snapshot on a loaded machine)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from sandbox.ui.widgets.lesson_panels import StudyTable
from tests.app.test_lesson_checks import decision, study


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StudyTable()


async def test_every_column_fits_its_cells_before_any_idle_tick() -> None:
    app = TableApp()
    async with app.run_test(size=(120, 10)):
        table = app.query_one(StudyTable)
        table.show(study(decision()))  # no await: DataTable measures auto-width columns only on an idle tick
        for row in range(table.row_count):
            for column, cell in zip(table.ordered_columns, table.get_row_at(row), strict=True):
                assert column.get_render_width(table) >= cell.cell_len, (str(column.label), cell.plain)


async def test_the_bars_follow_the_width_the_table_is_laid_out_at() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(StudyTable)
        table.show(study(decision()))
        await pilot.pause()
        assert "█" not in table.get_row_at(0)[2].plain  # 60 cells: the numbers only
        await pilot.resize_terminal(130, 10)
        await pilot.pause()
        assert "█" in table.get_row_at(0)[2].plain  # p_LLM 0.60 with its bar
        await pilot.resize_terminal(60, 10)
        await pilot.pause()
        assert "█" not in table.get_row_at(0)[2].plain
