"""A table that builds only the rows on screen: the Runs pane's list of 10,000 runs.

Textual's DataTable measures every cell of every row it is given (about 4.5 s for 10,000
rows of 8 cells here), so a long list is shown late and each new listing stalls the UI.
:class:`LazyTable` takes the rows' keys and a function that gives a row's cells; it calls
that function only for the rows it draws (and keeps what it made until told the row
changed). Column widths grow to fit the rows drawn so far (up to each column's
``max_width``).

The part of DataTable's API the Runs pane uses is here under the same names
(``add_column``, ``clear``, ``row_count``, ``move_cursor``, ``get_cell``), with
``set_rows`` in place of ``add_row`` and ``RowHighlighted`` / ``RowSelected`` messages;
``HeaderSelected`` says a column's header was clicked.
"""

from __future__ import annotations

from typing import Callable, ClassVar

from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cells = Callable[[str], dict[str, Text]]


class LazyTable(ScrollView, can_focus=True):
    """Rows by key, drawn on demand; a row cursor moved by the keyboard or the mouse."""

    BINDINGS: ClassVar = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
        Binding("enter", "select_cursor", "Select", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"lazytable--header", "lazytable--cursor", "lazytable--even-row"}

    DEFAULT_CSS = """
    LazyTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        &:focus {
            background-tint: $foreground 5%;
            & > .lazytable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .lazytable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .lazytable--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .lazytable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class RowHighlighted(Message):
        def __init__(self, table: "LazyTable", cursor_row: int, row_key: str | None) -> None:
            super().__init__()
            self.table, self.cursor_row, self.row_key = table, cursor_row, row_key

        @property
        def control(self) -> "LazyTable":
            return self.table

    class RowSelected(RowHighlighted):
        pass

    class HeaderSelected(Message):
        def __init__(self, table: "LazyTable", column_key: str) -> None:
            super().__init__()
            self.table, self.column_key = table, column_key

        @property
        def control(self) -> "LazyTable":
            return self.table

    def __init__(self, *, zebra_stripes: bool = True, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.zebra_stripes = zebra_stripes
        self.columns: list[tuple[str, str]] = []  # (key, label)
        self.max_widths: dict[str, int] = {}
        self.widths: dict[str, int] = {}
        self.keys: list[str] = []
        self._index: dict[str, int] = {}
        self._cells_of: Cells = lambda key: {}
        self._cells: dict[str, dict[str, Text]] = {}
        self.cursor_row = 0

    # -- columns and rows ----------------------------------------------------------------
    def add_column(self, label: str, *, key: str, max_width: int | None = None) -> None:
        self.columns.append((key, label))
        if max_width:
            self.max_widths[key] = max_width
        self.widths[key] = len(label)
        self._resize()

    def set_columns(self, columns: list[tuple[str, str]], max_widths: dict[str, int] | None = None) -> None:
        """Show these columns (key, label), in order (the rows' cells are asked again)."""
        self.columns = list(columns)
        self.max_widths = dict(max_widths or {})
        self.widths = {key: len(label) for key, label in self.columns}
        self._cells.clear()
        self._resize()
        self.refresh()

    def set_rows(self, keys: list[str], cells_of: Cells) -> None:
        """Show these rows (by key, in order); ``cells_of(key)`` gives a row's cells when it
        is drawn. The cursor stays on its row number (``move_cursor`` moves it)."""
        same = keys == self.keys
        self._cells_of = cells_of
        self._cells.clear()
        if not same:
            self.keys = list(keys)
            self._index = {k: i for i, k in enumerate(self.keys)}
            self.widths = {key: len(label) for key, label in self.columns}
            self.cursor_row = min(self.cursor_row, max(0, len(self.keys) - 1))
        self._resize()
        self.refresh()

    def clear(self) -> None:
        self.set_rows([], lambda key: {})

    def refresh_row(self, key: str) -> None:
        """A row's cells changed: ask for them again when it is drawn."""
        if self._cells.pop(key, None) is not None:
            index = self._index.get(key)
            if index is not None:
                self.refresh_line(index - int(self.scroll_offset.y) + 1)

    @property
    def row_count(self) -> int:
        return len(self.keys)

    @property
    def cursor_key(self) -> str | None:
        return self.keys[self.cursor_row] if 0 <= self.cursor_row < len(self.keys) else None

    def row_index(self, key: str) -> int | None:
        return self._index.get(key)

    def get_cell(self, row_key: str, column_key: str) -> Text:
        """A row's cell as the table draws it (KeyError for a row it does not show)."""
        if row_key not in self._index:
            raise KeyError(row_key)
        return self._row_cells(row_key).get(column_key, Text(""))

    def _row_cells(self, key: str) -> dict[str, Text]:
        cells = self._cells.get(key)
        if cells is None:
            cells = self._cells[key] = self._cells_of(key)
            grew = False
            for col, _label in self.columns:
                cell = cells.get(col)
                width = cell.cell_len if cell is not None else 0
                width = min(width, self.max_widths.get(col, width))
                if width > self.widths.get(col, 0):
                    self.widths[col] = width
                    grew = True
            if grew:
                self.call_later(self._resize)
        return cells

    def _resize(self) -> None:
        width = sum(self.widths.get(k, 0) + 2 for k, _ in self.columns)
        self.virtual_size = Size(width, len(self.keys) + 1)
        self.refresh()

    # -- the cursor ----------------------------------------------------------------------
    def move_cursor(self, *, row: int, animate: bool = False, scroll: bool = True) -> None:
        if not self.keys:
            self.cursor_row = 0
            return
        row = max(0, min(row, len(self.keys) - 1))
        changed = row != self.cursor_row
        self.cursor_row = row
        if scroll:
            self._scroll_to_cursor()
        self.refresh()
        if changed:
            self.post_message(self.RowHighlighted(self, row, self.cursor_key))

    def _scroll_to_cursor(self) -> None:
        rows_shown = max(1, self.size.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows_shown:
            self.scroll_to(y=self.cursor_row - rows_shown + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_page(self, pages: int) -> None:
        self.move_cursor(row=self.cursor_row + pages * max(1, self.size.height - 2))

    def action_jump(self, where: int) -> None:
        self.move_cursor(row=where if where >= 0 else len(self.keys) - 1)

    def action_select_cursor(self) -> None:
        if self.keys:
            self.post_message(self.RowSelected(self, self.cursor_row, self.cursor_key))

    def on_click(self, event: Click) -> None:
        y = event.y
        if y == 0:
            x = event.x + int(self.scroll_offset.x)
            for key, _label in self.columns:
                x -= self.widths.get(key, 0) + 2
                if x < 0:
                    self.post_message(self.HeaderSelected(self, key))
                    return
            return
        row = int(self.scroll_offset.y) + y - 1
        if 0 <= row < len(self.keys):
            if row == self.cursor_row:
                self.action_select_cursor()
            else:
                self.move_cursor(row=row)

    # -- drawing -------------------------------------------------------------------------
    def render_lines(self, crop):
        top = int(self.scroll_offset.y)
        for index in range(top, min(len(self.keys), top + self.size.height)):
            self._row_cells(self.keys[index])  # the widths grow before any line of the frame is drawn
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = int(self.scroll_offset.x), int(self.scroll_offset.y)
        base = self.rich_style
        if y == 0:
            cells = {key: Text(label) for key, label in self.columns}
            style = self.get_component_rich_style("lazytable--header")
        else:
            index = scroll_y + y - 1
            if index >= len(self.keys):
                return Strip.blank(width, base)
            cells = self._row_cells(self.keys[index])
            style = None
            if index == self.cursor_row:
                style = self.get_component_rich_style("lazytable--cursor")
            elif self.zebra_stripes and index % 2:
                style = self.get_component_rich_style("lazytable--even-row")
        line = Text(no_wrap=True, end="")
        for key, _label in self.columns:
            piece = cells.get(key, Text("")).copy()
            piece.no_wrap = True
            piece.truncate(self.widths.get(key, 0), overflow="ellipsis", pad=True)
            line.append(" ")
            line.append_text(piece)
            line.append(" ")
        segments = list(line.render(self.app.console))
        if y == 0:
            segments = list(Segment.apply_style(segments, style))
        elif style is not None:
            segments = list(Segment.apply_style(segments, post_style=style))  # the cursor's colours win
        strip = Strip(segments).apply_style(base)
        return strip.crop_extend(scroll_x, scroll_x + width, style if y == 0 or style else base)
