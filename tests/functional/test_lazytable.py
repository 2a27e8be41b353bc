"""The Runs pane's table (issue 28, scale): 10,000 rows given at once, cells made only
for the rows drawn, the cursor moved by the keyboard."""

from __future__ import annotations

from rich.text import Text
from textual.app import App

import helpers
from tuidl.ui.widgets.lazytable import LazyTable


class TableApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []
        self.messages: list = []

    def compose(self):
        yield LazyTable(id="t")

    def cells(self, key: str) -> dict[str, Text]:
        self.asked.append(key)
        return {"n": Text(key), "sq": Text(str(int(key) ** 2))}

    def on_lazy_table_row_highlighted(self, event) -> None:
        self.messages.append(("highlighted", event.row_key))

    def on_lazy_table_row_selected(self, event) -> None:
        self.messages.append(("selected", event.row_key))

    def on_lazy_table_header_selected(self, event) -> None:
        self.messages.append(("header", event.column_key))


async def test_ten_thousand_rows_only_the_drawn_ones_are_made():
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(LazyTable)
        table.add_column("N", key="n")
        table.add_column("Square", key="sq")
        table.set_rows([str(i) for i in range(10_000)], app.cells)
        table.focus()
        await helpers.settle(pilot)
        assert table.row_count == 10_000
        assert 0 < len(set(app.asked)) <= 12  # the rows on screen, not 10,000
        lines = helpers.screen_lines(app)
        assert "Square" in lines[0] and lines[1].split()[:2] == ["0", "0"]

        await pilot.press("down", "down")
        assert table.cursor_key == "2" and app.messages[-1] == ("highlighted", "2")
        await pilot.press("end")
        await helpers.settle(pilot)
        assert table.cursor_key == "9999"
        assert "99980001" in helpers.screen_text(app)  # scrolled to the last row, drawn
        assert len(set(app.asked)) <= 30
        await pilot.press("home", "pagedown")
        assert table.cursor_row == 10  # a page: the rows on screen, less the header and one
        await pilot.press("enter")
        assert app.messages[-1] == ("selected", "10")
        assert table.get_cell("10", "sq").plain == "100"

        await pilot.click(LazyTable, offset=(8, 0))  # the second column's header
        assert app.messages[-1] == ("header", "sq")


async def test_a_changed_row_is_asked_again_and_columns_can_change():
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(LazyTable)
        table.set_columns([("n", "N")])
        table.set_rows(["1", "2"], app.cells)
        await helpers.settle(pilot)
        app.asked.clear()
        table.refresh_row("2")
        await helpers.settle(pilot)
        assert app.asked == ["2"]
        table.set_columns([("sq", "Sq"), ("n", "N")])
        await helpers.settle(pilot)
        assert helpers.screen_lines(app)[0].split() == ["Sq", "N"]
        table.set_rows([], app.cells)
        assert table.row_count == 0 and table.cursor_key is None
