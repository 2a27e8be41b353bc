"""How the Runs pane lays its runs out: which columns, sorted by what, grouped by what
(issue 28), and the one-line field that changes it.

The grammar is ``tuidl runs``' (:mod:`tuidl.core.run.runtable`): a column is a fixed one
(``status preset best epochs duration started id tags note project host sweep``) or any
config key or summary metric (``lr``, ``train.optimizer.lr``, ``val_acc``); a sort is a
column, ``-COLUMN`` or ``COLUMN:desc`` for descending; a group is any config key,
``project``, ``sweep``, ``preset``, ``status``, ``host``, ``tag``, ``kind`` or ``source``.
Keys in the pane: ``S`` sort, ``g`` group, ``a`` columns (a click on a column's header sorts
by it, again: the other way). A bad entry gets one line saying what is wrong and the layout
stays as it was. Without a group the pane gathers each sweep's trials under the sweep's row
(:func:`tuidl.core.run.runlist.group_rows`), as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from tuidl.core.preset.schema import ConfigError
from tuidl.core.run import runtable as T
from tuidl.core.run.runlist import RunRow, SweepGroup, group_rows

PANE_COLUMNS = ("status", "preset", "best", "epochs", "duration", "started", "id")  # the pane's own, in colour
LABELS = {"mark": " ", "host": "Host", "status": "Status", "preset": "Preset", "best": "Best val", "epochs": "Epochs",
          "duration": "Duration", "started": "Started", "id": "Run"}
TABLE_COLUMNS = (("mark", " "),) + tuple((c, "") for c in PANE_COLUMNS)
MAX_WIDTHS = {"preset": 44, "best": 28, "epochs": 28, "id": 48, "note": 40, "tags": 30}
MODES = {"sort": "sort by (a column, -COLUMN descending): val_acc · -lr · started",
         "group": "group by (a config key, project, sweep, preset, status, host, tag; empty: none): lr · project",
         "columns": "columns, commas between (config keys and metrics too): status,preset,lr,val_acc,id"}


@dataclass
class GroupRow:
    """A group's row: the runs sharing a value of the grouping key."""

    group: T.Group

    @property
    def key(self) -> str:
        return f"group:{self.group.key}={self.group.value}"  # run ids never contain ':'


@dataclass(frozen=True)
class Shape:
    """What the user chose: ``columns`` (keys), ``sort`` (column, descending) or None (newest
    first), ``group`` (a key) or None."""

    columns: tuple[str, ...] = PANE_COLUMNS
    sort: tuple[str, bool] | None = None
    group: str | None = None
    collapsed: frozenset[str] = field(default_factory=frozenset)

    def table_columns(self) -> list[tuple[str, str]]:
        return [("mark", " ")] + [(c, LABELS.get(c) or T.header(c)) for c in self.columns]

    def arrange(self, rows: list[RunRow]) -> list:
        """The rows to list, in order: group rows each followed by its runs; without a group,
        sweeps gathered under their rows."""
        if self.group:
            out: list = []
            for g in T.group_rows_by(rows, self.group, self.sort):
                out.append(GroupRow(g))
                out += g.rows
            return out
        if self.sort is not None:
            rows = T.sort_rows(rows, *self.sort)
        out = []
        for item in group_rows(rows):  # a sweep's row, then its trials
            out.append(item)
            if isinstance(item, SweepGroup):
                out += item.trials
        return out

    def with_sort_by(self, column: str) -> "Shape":
        """Sorted by a column (a header clicked); the same column again: the other way."""
        if column == "mark":
            return self
        desc = not self.sort[1] if self.sort and self.sort[0] == column else column in ("best", "started")
        return replace(self, sort=(column, desc))

    def described(self) -> str:
        parts = []
        if self.group:
            parts.append(f"grouped by {self.group}")
        if self.sort:
            parts.append(f"sorted by {'-' if self.sort[1] else ''}{self.sort[0]}")
        return " · ".join(parts)


def parse_entry(shape: Shape, mode: str, text: str) -> Shape:
    """The shape with one entry of the field taken; ConfigError (one line) for a bad one."""
    text = text.strip()
    if mode == "sort":
        return replace(shape, sort=T.parse_sort(text) if text else None)
    if mode == "group":
        if not text or text.lower() in ("none", "-"):
            return replace(shape, group=None)
        if " " in text or "," in text:
            raise ConfigError(f"{text!r} is not one key (a config key, project, sweep, preset, status, host, tag)")
        return replace(shape, group=T.column_key(text) if text.lower() not in T.GROUP_FIELDS else text.lower())
    if mode == "columns":
        cols = T.parse_columns(text) if text else list(PANE_COLUMNS)
        return replace(shape, columns=tuple(dict.fromkeys(cols)))
    raise ValueError(mode)


def entry_text(shape: Shape, mode: str) -> str:
    """What the field starts with: the current setting."""
    if mode == "sort":
        return f"{'-' if shape.sort[1] else ''}{shape.sort[0]}" if shape.sort else ""
    if mode == "group":
        return shape.group or ""
    return ",".join(shape.columns)


def cells(shape: Shape, row: RunRow, pane_cells: dict[str, Text]) -> dict[str, Text]:
    """A run's cells for the shape's columns: the pane's own (in colour) where it has them,
    the rest as ``tuidl runs`` writes them (``—`` where the run has no such key)."""
    out = {"mark": pane_cells["mark"]}
    for col in shape.columns:
        out[col] = pane_cells[col] if col in pane_cells else Text(T.cell(row, col), style="" if col != "note" else
                                                                   "italic")
    return out


def group_cells(shape: Shape, item: GroupRow) -> dict[str, Text]:
    """A group's row: the value and how many runs, in the first column; its best run."""
    g = item.group
    best = g.best
    first = shape.columns[0] if shape.columns else "status"
    out = {col: Text("") for col in shape.columns}
    out["mark"] = Text(" ")
    out[first] = Text(f"▾ {g.key}={g.value}", style="bold cyan")
    for col in shape.columns[1:]:
        if col in ("preset", "id") or col == shape.columns[-1]:
            out[col] = Text(f"{len(g.rows)} run{'s' if len(g.rows) != 1 else ''}", style="cyan")
            break
    if "best" in shape.columns:
        out["best"] = Text(f"best {best.best_text}" if best else "—", style="bold")
    elif best is not None and len(shape.columns) > 2:
        out[shape.columns[-1]] = Text(f"{len(g.rows)} runs · best {best.best_text}", style="cyan")
    return out


class ShapeField(Input):
    """The one-line field for sort, group and columns; ``enter`` posts :class:`Applied` with
    the new shape or :class:`Invalid` with the line saying what is wrong; ``escape`` closes."""

    BINDINGS = [Binding("escape", "close", "Close", show=False)]

    class Applied(Message):
        def __init__(self, shape: Shape) -> None:
            super().__init__()
            self.shape = shape

    class Invalid(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class Closed(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, compact=True)
        self.mode = "sort"
        self.shape = Shape()

    def open(self, mode: str, shape: Shape) -> None:
        self.mode, self.shape = mode, shape
        self.placeholder = MODES[mode]
        self.value = entry_text(shape, mode)
        self.border_title = mode
        self.display = True
        self.focus()
        self.cursor_position = len(self.value)

    def action_close(self) -> None:
        self.display = False
        self.post_message(self.Closed())

    async def action_submit(self) -> None:
        try:
            shape = parse_entry(self.shape, self.mode, self.value)
        except ConfigError as e:
            self.post_message(self.Invalid(f"{self.mode}: {e}"))
            return
        self.display = False
        self.post_message(self.Applied(shape))


class ShapeActions:
    """The Runs pane's sort, group and columns actions (a part of the pane, kept here so
    the pane's own class stays small). The pane gives ``shape``, ``shape_field``, ``table``,
    ``hint`` and ``relist()``."""

    @property
    def columns(self) -> list[tuple[str, str]]:
        """The table's columns, (key, label), the mark's first."""
        return self.shape.table_columns()

    def table_rows(self) -> list[RunRow]:
        """The runs in the order the table lists them."""
        return [item for item in self._listed.values() if isinstance(item, RunRow)]

    def action_sort(self) -> None:
        self.shape_field.open("sort", self.shape)

    def action_group(self) -> None:
        self.shape_field.open("group", self.shape)

    def action_columns(self) -> None:
        self.shape_field.open("columns", self.shape)

    def set_shape(self, shape: Shape) -> None:
        """Lay the runs out so (tests, the header, the field)."""
        columns_changed = shape.columns != self.shape.columns
        self.shape = shape
        if columns_changed:
            self.table.set_columns(shape.table_columns(), MAX_WIDTHS)
        self.relist()

    def on_shape_field_applied(self, message: ShapeField.Applied) -> None:
        message.stop()
        self.set_shape(message.shape)
        self.table.focus()

    def on_shape_field_invalid(self, message: ShapeField.Invalid) -> None:
        message.stop()
        self.hint.update(Text(message.error, style="bold red", no_wrap=True, overflow="ellipsis"))

    def on_shape_field_closed(self, message: ShapeField.Closed) -> None:
        message.stop()
        self.relist()
        self.table.focus()

    def on_lazy_table_header_selected(self, message) -> None:
        message.stop()
        self.set_shape(self.shape.with_sort_by(message.column_key))
