"""The Runs pane: every run in the runs root (and of the ``tuidl --remote`` hosts, with a
Host column), newest first, and what can be done with one.

The list (status in colour, preset, best validation metric, epochs, duration, start
time, id) is read off the UI thread every couple of seconds (:func:`scan_roots`, the
same figures as ``tuidl runs``) and only the cells that changed are redrawn.

Actions, each with a key and a button:

* open (``enter``, ``o``): a live run is attached (its history, then live); a finished
  one is replayed at once into the Training pane;
* mark (``space``) runs and compare them (``v``): their validation curves are laid over
  the Training pane's loss and accuracy charts; ``b`` (anywhere in the app) compares the
  run shown with the earlier runs of its preset; ``C`` clears the comparison;
* re-run (``r``): load the run's ``preset.toml`` as the current preset and start it;
* resume (``u``) a stopped, interrupted, failed or diverged run from its last
  checkpoint, then attach to it;
* export (``e``): ``metrics.csv`` and ``report.md`` into the run directory;
* export the model (``m``): a dialog asks the format (safetensors, ONNX, TorchScript), then
  ``tuidl export-model`` runs as its own process (PyTorch stays out of the dashboard) and
  the result is notified: the file, its size and the check against PyTorch;
* delete (``d``): after a confirmation; a live run is never deleted;
* filter (``/``): a field above the list takes an expression (``lr>=0.001 status:completed
  tag:baseline``, :mod:`tuidl.core.run.runfilter`); the list shows the runs that match as
  you type, a bad expression is named in the hint line; ``enter`` goes back to the list with
  the filter kept, ``escape`` clears it;
* tags and note (``t``): a dialog edits the run's tags and note (``tuidl tag`` / ``tuidl note``).
* sort (``S``, or a click on a column's header), group (``g``) and columns (``a``): a one-line
  field (:mod:`tuidl.ui.panes.runs_shape`); any config key or summary metric can be one;
* config diff and overlaid curves of the marked runs (``D``: :mod:`tuidl.ui.panes.runs_compare`).

The table builds only the rows on screen (:class:`~tuidl.ui.widgets.lazytable.LazyTable`), and
the first listing shows the newest runs first, then every run, then logged runs' figures
(docs/runs.md, "Many runs").

The pane does the file work itself (listing, export, model export, delete) in thread workers and
posts messages for what concerns the app's run (open, compare, re-run, resume). Its parts live
beside it: the listing (:mod:`~tuidl.ui.panes.runs_listing`), the filter
(:mod:`~tuidl.ui.panes.runs_filter`), the operations on one run and their dialogs
(:mod:`~tuidl.ui.panes.runs_ops`), marks and comparisons (:mod:`~tuidl.ui.panes.runs_compare`),
sort, group and columns (:mod:`~tuidl.ui.panes.runs_shape`), the hint and detail lines
(:mod:`~tuidl.ui.panes.runs_text`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static
from textual.worker import Worker, WorkerState

from tuidl.core.run.rundir import RunDir, runs_root, tags_of
from tuidl.core.run.runfilter import Filter, parse
from tuidl.core.run.runlist import RunRow, SweepGroup, trial_number, when
from tuidl.core.sweep.queue import Entry
from tuidl.core.sweep.text import params_short
from tuidl.ui.remote import host_cell, hosts_line, runs_columns
from tuidl.ui.visible import closing
from tuidl.ui.panes.base import PaneInfo
from tuidl.ui.widgets.lazytable import LazyTable
from tuidl.ui.panes import runs_shape
from tuidl.ui.panes.runs_compare import CompareActions
from tuidl.ui.panes.runs_filter import FILTER_GROUP, FILTER_HINT, FilterActions
from tuidl.ui.panes.runs_listing import SCAN_GROUP, Listing
from tuidl.ui.panes.runs_ops import RunOperations
from tuidl.ui.panes.runs_shape import GroupRow, Shape, ShapeActions, ShapeField
from tuidl.ui.panes.runs_text import detail_text, hint_text

REFRESH_S = 2.0
STATUS_STYLE = {
    "starting": "green",
    "running": "bold green",
    "paused": "bold yellow",
    "completed": "green",
    "stopped": "yellow",
    "pruned": "yellow",
    "interrupted": "bold red",
    "failed": "bold red",
    "diverged": "bold red",
    "created": "dim",
}


def row_cells(row: RunRow, marked: bool) -> dict[str, Text]:
    """The list's cells for a run, in colour (a sweep's trial: its number and parameters
    under the sweep's row)."""
    style = STATUS_STYLE.get(row.status, "")
    status = Text(("● " if row.live else "  ") + row.status, style=style)
    preset = Text(row.preset)
    tags = tags_of(row.status_data)
    if tags:
        preset.append(" " + " ".join(f"#{t}" for t in tags), style="magenta")
    if row.sweep:
        preset = Text.assemble(("└ ", "dim"), (f"#{trial_number(row)} ", "bold"),
                               params_short(row.sweep.get("params") or {}, width=30))
    return {
        "mark": Text("◆" if marked else " ", style="bold magenta"),
        "status": status,
        "preset": preset,
        "best": Text(row.best_text),
        "epochs": Text(row.epochs_text),
        "duration": Text(row.duration_text, style="dim" if not row.live else ""),
        "started": Text(row.started_text, style="dim"),
        "id": Text(row.id, style="dim"),
    }


def group_cells(group: SweepGroup) -> dict[str, Text]:
    """The cells of a sweep's row: its trials' count, best trial, time and id."""
    best = group.best
    counts = group.counts()
    done = counts.get("completed", 0) + counts.get("pruned", 0)
    return {
        "mark": Text(" "),
        "status": Text(("● " if group.live else "▾ ") + "sweep", style="bold cyan" if group.live else "cyan"),
        "preset": Text(group.preset, style="bold"),
        "best": Text(f"{best.best_text} #{trial_number(best)}" if best else "—"),
        "epochs": Text(f"{done}/{len(group.trials)} trials"),
        "duration": Text(group.duration_text, style="dim"),
        "started": Text(group.started_text, style="dim"),
        "id": Text(f"sweep {group.id}", style="cyan"),
    }








def queue_cells(entry: Entry, place: int) -> dict[str, Text]:
    """The cells of a queued entry's row: its place in the queue, what it will run."""
    what = entry.name if entry.kind == "run" else f"sweep {entry.name}"
    return {
        "mark": Text(" "),
        "status": Text(f"⧗ queued #{place}", style="yellow"),
        "preset": Text(what),
        "best": Text("—", style="dim"),
        "epochs": Text(f"{entry.slots} slot{'s' if entry.slots != 1 else ''}", style="dim"),
        "duration": Text("—", style="dim"),
        "started": Text(when(entry.added), style="dim"),
        "id": Text(f"queue {entry.id}", style="yellow"),
    }


class RunsPane(Listing, FilterActions, RunOperations, ShapeActions, CompareActions, Vertical):
    """The list of runs and the actions on them."""

    DEFAULT_CSS = """
    RunsPane {
        height: 1fr;
    }
    RunsPane #runs-hint {
        height: auto;
        color: $text-muted;
    }
    RunsPane #runs-table {
        height: 1fr;
    }
    RunsPane #runs-filter {
        height: 1;
        border: none;
        padding: 0 1;
        display: none;
    }
    RunsPane.-filtering #runs-filter {
        display: block;
    }
    RunsPane #runs-shape {
        height: 1;
        border: none;
        padding: 0 1;
        display: none;
    }
    RunsPane #runs-detail {
        height: 1;
        color: $text-muted;
    }
    RunsPane #runs-buttons {
        height: 1;
    }
    RunsPane #runs-buttons Button {
        margin: 0 1 0 0;
        min-width: 6;
    }
    RunsPane.-narrow #runs-buttons {
        display: none;
    }
    """

    BINDINGS = [
        Binding("o", "open", "Open"),
        Binding("space", "mark", "Mark"),
        Binding("v", "compare", "Compare"),
        Binding("C", "clear_compare", "Clear compare", show=False),
        Binding("r", "rerun", "Re-run"),
        Binding("u", "resume", "Resume"),
        Binding("e", "export", "Export"),
        Binding("m", "export_model", "Export model"),
        Binding("d,delete", "delete", "Delete"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("t", "tags", "Tags/note"),
        Binding("S", "sort", "Sort"),
        Binding("g", "group", "Group"),
        Binding("a", "columns", "Columns"),
        Binding("D", "diff", "Diff"),
    ]

    # -- messages to the app -------------------------------------------------------
    class OpenRun(Message):
        """Show this run: attach when it is live, replay it when it is not."""

        def __init__(self, run: RunDir) -> None:
            super().__init__()
            self.run = run

    class CompareRuns(Message):
        """Lay these runs over the Training pane's charts (none: clear)."""

        def __init__(self, runs: list[RunDir]) -> None:
            super().__init__()
            self.runs = runs

    class OpenSweep(Message):
        """Show this sweep: its trials ranked, the best, importances, top curves."""

        def __init__(self, sweep_id: str) -> None:
            super().__init__()
            self.sweep_id = sweep_id

    class CompareEarlier(Message):
        """Compare the run shown with the earlier runs of its preset."""

    class RerunRun(Message):
        """Load this run's preset as the current one and start it."""

        def __init__(self, run: RunDir) -> None:
            super().__init__()
            self.run = run

    class ResumeRun(Message):
        """Continue this run from its last checkpoint, then attach to it."""

        def __init__(self, run: RunDir) -> None:
            super().__init__()
            self.run = run

    class LiveRuns(Message):
        """Runs found live at the first look (the app tells the user how to attach)."""

        def __init__(self, rows: list[RunRow]) -> None:
            super().__init__()
            self.rows = rows

    # -- building ------------------------------------------------------------------------
    PANE = PaneInfo("runs", "Runs", "Runs")

    @classmethod
    def create(cls, app: Any) -> "RunsPane":
        """The pane, built from the dashboard's options."""
        return cls(app.runs_root, interval=app.runs_interval, id=cls.PANE.widget_id)

    def __init__(self, runs_root: str | os.PathLike | None = None, *, interval: float | None = REFRESH_S,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.runs_root = runs_root
        self.interval = interval
        self.rows: list[RunRow] = []
        self.groups: dict[str, SweepGroup] = {}  # the sweeps shown, by their row's key
        self.queued: dict[str, Entry] = {}  # the queue's waiting entries, by their row's key
        self.marked: set[str] = set()
        self.filter: Filter = parse("")  # the runs shown are those that match
        self.all_rows: list[RunRow] = []  # every run of the last listing (``rows``: those shown)
        self._queued_list: list[Entry] = []
        self._error = ""
        self.scans = 0  # listings shown so far (tests wait on it)
        self._scanning = False
        self._stale = False  # a scan was skipped while the pane was hidden
        self._rescan = False
        self._shown_ids: list[str] = []
        self._listed: dict[str, RunRow | SweepGroup | Entry] = {}  # what each row of the table shows
        self._want: str | None = None  # a run to put the cursor on once a listing shows it
        # columns, sort, group (runs_shape); with a Host column under tuidl --remote
        self.shape = Shape(columns=tuple(k for k, _ in runs_columns(runs_shape.TABLE_COLUMNS)[1:]))
        self._announced = False  # live runs told to the app (the first listing)
        self._scan_cost = 0.0  # seconds the last listing took (its thread)
        self._scan_ended = 0.0  # when it ended (monotonic)
        # made here, not in compose: select_when_listed may come before a late pane is composed
        self.hint = Static("", id="runs-hint")
        self.filter_input = Input(placeholder=FILTER_HINT, id="runs-filter", compact=True)
        self.table = LazyTable(id="runs-table", zebra_stripes=True)
        self.detail = Static("", id="runs-detail")

    def compose(self) -> ComposeResult:
        yield self.hint
        yield self.filter_input
        yield (shape_field := ShapeField(id="runs-shape"))
        self.shape_field = shape_field
        yield self.table
        yield self.detail
        with Horizontal(id="runs-buttons"):
            for bid, label, variant in (("open", "Open [⏎]", "primary"), ("mark", "Mark [space]", "default"),
                                        ("compare", "Compare [v]", "default"),
                                        ("earlier", "Earlier [b]", "default"),
                                        ("rerun", "Re-run [r]", "success"), ("resume", "Resume [u]", "warning"),
                                        ("export", "Export [e]", "default"), ("model", "Model [m]", "default"),
                                        ("delete", "Delete [d]", "error")):
                yield Button(Text(label), id=f"runs-{bid}", variant=variant, compact=True)

    def on_mount(self) -> None:
        if closing(self):
            return
        self.table.set_columns(self.shape.table_columns(), runs_shape.MAX_WIDTHS)
        self.hint.update(Text("Looking for runs…", style="dim"))
        self.refresh_runs()
        if self.interval:
            self.set_interval(self.interval, self._timed_refresh, name="runs-refresh")

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "-narrow")

    def on_show(self) -> None:
        if self._stale:
            self._stale = False
            # once the pane is drawn: a listing thread started now would slow the first screen
            self.call_after_refresh(self.refresh_runs)

    def focus_default(self) -> None:
        self.table.focus()

    @property
    def root(self) -> Path:
        return runs_root(self.runs_root)

    # -- listing (runs_listing) ------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A listing's or a filter's thread ended: what it found is shown."""
        worker = event.worker
        if worker.group == FILTER_GROUP and worker.state == WorkerState.SUCCESS:
            self._filtered(*worker.result)
        elif worker.group == SCAN_GROUP and worker.is_finished:
            self._scan_finished(worker)

    def show_rows(self, rows: list[RunRow], error: str = "", queued: list[Entry] | None = None,
                  matched: list[RunRow] | None = None, count: bool = True) -> None:
        """Show a listing (the queue's waiting entries first, then the runs, newest
        first); only the cells that changed are redrawn and the cursor stays on the row it
        was on. With a filter only the runs that match are shown (``matched``: worked out
        already, off the UI thread). ``count``: a new listing (not a new filter on the last one)."""
        self.scans += count
        self.all_rows, self._queued_list, self._error = rows, list(queued or []), error
        self.marked &= {r.id for r in rows}
        if self.filter:
            rows = self.filter.apply(rows) if matched is None else matched
            queued = []
        self.rows = rows
        self.queued = {f"queue:{e.id}": e for e in queued or []}
        listed: list[RunRow | SweepGroup | GroupRow | Entry] = list(queued or []) + self.shape.arrange(rows)
        self.groups = {g.key: g for g in listed if isinstance(g, SweepGroup)}
        ids = [self._key(item) for item in listed]
        table = self.table
        current = self.selected_id()
        self._listed = dict(zip(ids, listed))
        table.set_rows(ids, self._cells_of)  # cells are made for the rows drawn, when drawn
        if ids != self._shown_ids:
            self._shown_ids = ids
            index = table.row_index(self._want) if self._want else None
            if index is not None:
                table.move_cursor(row=index, animate=False)
                self._want = None
            elif current is not None and table.row_index(current) is not None:
                table.move_cursor(row=table.row_index(current), animate=False)
        self._show_hint(error)
        self._show_detail()

    def relist(self) -> None:
        """Show the last listing again (a new sort, group or columns)."""
        self.show_rows(self.all_rows, self._error, self._queued_list, count=False)

    @staticmethod
    def _key(item: RunRow | SweepGroup | GroupRow | Entry) -> str:
        if isinstance(item, Entry):
            return f"queue:{item.id}"
        return item.key if isinstance(item, (SweepGroup, GroupRow)) else item.id

    def _cells_of(self, key: str) -> dict[str, Text]:
        item = self._listed.get(key)
        return self._cells(item) if item is not None else {}

    def _cells(self, item: RunRow | SweepGroup | Entry) -> dict[str, Text]:
        if isinstance(item, Entry):
            cells = queue_cells(item, list(self.queued).index(self._key(item)) + 1)
        elif isinstance(item, GroupRow):
            return runs_shape.group_cells(self.shape, item)
        elif isinstance(item, SweepGroup):
            cells = group_cells(item)
        else:
            cells = row_cells(item, item.id in self.marked)
        cells["host"] = host_cell(item)  # the remote host of a run's copy, "local" (tuidl --remote)
        return runs_shape.cells(self.shape, item, cells) if isinstance(item, RunRow) else cells

    def _update_row(self, item: RunRow | SweepGroup | Entry) -> None:
        self.table.refresh_row(self._key(item))

    def _show_hint(self, error: str = "") -> None:
        if error or self.filter_error:  # a listing's error, else a bad filter's (kept over each new listing)
            self.hint.update(Text(error or self.filter_error, style="bold red", no_wrap=True, overflow="ellipsis"))
            return
        text = hint_text(self.rows, self.all_rows, self.root, filtered=bool(self.filter), sweeps=len(self.groups),
                         shape=self.shape.described(), queued=len(self.queued), marked=len(self.marked))
        hosts = hosts_line()  # a remote host that is not linked: why, one line each
        self.hint.update(Text.assemble(hosts, "\n", text) if hosts else text)

    def _show_detail(self) -> None:
        self.detail.update(detail_text(self._listed.get(self.selected_id() or "")))

    def on_lazy_table_row_highlighted(self, event: LazyTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()

    def on_lazy_table_row_selected(self, event: LazyTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    # -- selection ------------------------------------------------------------------------
    def selected_id(self) -> str | None:
        return self.table.cursor_key

    def selected(self) -> RunRow | None:
        item = self._listed.get(self.selected_id() or "")
        return item if isinstance(item, RunRow) else None

    def select(self, run_id: str) -> bool:
        """Put the cursor on a run (tests, the app)."""
        index = self.table.row_index(run_id)
        if index is None:
            return False
        self.table.move_cursor(row=index, animate=False)
        self._show_detail()
        return True

    def select_when_listed(self, run_id: str) -> None:
        """Put the cursor on the run the dashboard began or just ended, now if it is
        listed, else as soon as a listing shows it (a new run comes first in the list:
        left alone, the cursor would follow the run it was on, one row down). The
        listing is read again for its status."""
        self._want = None if self.select(run_id) else run_id
        if self.is_mounted:  # (a pane mounted later lists the runs at its mount)
            self.refresh_runs()

    def selected_entry(self) -> Entry | None:
        """The queued entry whose row the cursor is on."""
        return self.queued.get(self.selected_id() or "")

    def selected_group(self) -> SweepGroup | None:
        """The sweep whose row the cursor is on."""
        return self.groups.get(self.selected_id() or "")

    def _need_row(self, what: str) -> RunRow | None:
        row = self.selected()
        if row is None and self.selected_entry() is not None:
            self.notify(f"{what}: this row waits in the queue; it becomes a run when a slot is free (d takes it "
                        "out of the queue)", severity="warning", timeout=4)
        elif row is None and isinstance(self._listed.get(self.selected_id() or ""), GroupRow):
            self.notify(f"{what}: this row is a group; its runs are the rows under it", severity="warning",
                        timeout=4)
        elif row is None and self.selected_group() is not None:
            self.notify(f"{what}: this row is a sweep; its trials are the rows under it (enter opens the sweep)",
                        severity="warning", timeout=4)
        elif row is None:
            self.notify(f"{what}: no run selected", severity="warning", timeout=3)
        return row

    # -- actions ---------------------------------------------------------------------------
    def action_open(self) -> None:
        group = self.selected_group()
        if group is not None:
            self.post_message(self.OpenSweep(group.id))
            return
        row = self._need_row("open")
        if row is not None:
            self.post_message(self.OpenRun(row.run))

    # -- filter (runs_filter) ---------------------------------------------------------------
    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    @on(Input.Submitted, "#runs-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.filter:
            self.remove_class("-filtering")
        self.table.focus()

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        bid = (event.button.id or "").removeprefix("runs-")
        action = {"open": self.action_open, "mark": self.action_mark, "compare": self.action_compare,
                  "earlier": self.action_compare_earlier, "rerun": self.action_rerun,
                  "resume": self.action_resume, "export": self.action_export,
                  "model": self.action_export_model, "delete": self.action_delete}.get(bid)
        if action is not None:
            event.stop()
            action()
