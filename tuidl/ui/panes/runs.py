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
posts messages for what concerns the app's run (open, compare, re-run, resume).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker, WorkerState

from tuidl.core.preset.schema import ConfigError
from tuidl.core.run.rundir import RunDir, check_tag, runs_root, tags_of
from tuidl.core.run.runfilter import Filter, FilterError, parse
from tuidl.core.run.runlist import (RESUMABLE, RunRow, SweepGroup, delete_run, run_row, scan_roots,
                                trial_number, when)
from tuidl.core.sweep.queue import Entry
from tuidl.core.sweep.text import params_short
from tuidl.core.serve.formats import FORMATS, ONNX_INSTALL, missing_onnx
from tuidl.ui.command import problem, run_tuidl
from tuidl.core.remote.client import roots as remote_roots
from tuidl.ui.remote import host_cell, hosts_line, runs_columns
from tuidl.ui.screens.confirm import Choice, ConfirmationModal
from tuidl.ui.visible import closing, shown
from tuidl.ui.panes.base import PaneInfo
from tuidl.ui.widgets.lazytable import LazyTable
from tuidl.ui.panes import runs_shape
from tuidl.ui.panes.runs_compare import CompareActions
from tuidl.ui.panes.runs_shape import GroupRow, Shape, ShapeActions, ShapeField

REFRESH_S = 2.0
SCAN_GROUP = "runs-scan"  # the listing's thread worker
FILTER_GROUP = "runs-filter"  # a new filter applied to the listing, in a thread
SCAN_SHARE = 10  # the timer's listings take at most a tenth of the time (a long list is listed less often)
FIRST_SCREEN = 200  # the first listing reads the newest runs only, then all, then logged runs' figures
EXPORT_TIMEOUT_S = 600.0  # a model export (a process of its own) that takes longer is ended
FORMAT_LABELS = {"safetensors": ("safetensors [s]", "s", "weights only: rebuild the model from preset.toml"),
                 "onnx": ("ONNX [o]", "o", "for onnxruntime and other runtimes; dynamic batch"),
                 "torchscript": ("TorchScript [t]", "t", "model.pt, loads with torch.jit.load, no tuidl needed")}
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


class ConfirmDeleteScreen(ConfirmationModal):
    """Delete a run for good? Returns True to delete."""

    BINDINGS = [
        Binding("escape,n", "choose(1)", "Cancel"),
        Binding("y", "choose(0)", "Delete"),
    ]

    def __init__(self, row: RunRow) -> None:
        super().__init__("Delete this run?", Text.assemble(
            ("Run ", ""), (row.id, "bold"), (f" ({row.preset}, {row.status}, {row.epochs_text} epochs) "
                                             "and everything in its directory (events, checkpoints, "
                                             "reports) are removed for good.", "")),
            [Choice(Text("Delete [y]"), True, "delete-yes", "error"), Choice(Text("Cancel [n]"), False, "delete-no")],
            focus=1, box_id="delete-box")
        self.row = row


class TagsScreen(ModalScreen["tuple[list[str], str] | None"]):
    """A run's tags (words, spaces between) and note. Returns (tags, note), or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    TagsScreen {
        align: center middle;
    }
    TagsScreen #tags-box {
        width: 70;
        max-width: 100%;
        height: auto;
    }
    TagsScreen Input {
        margin: 0 0 1 0;
    }
    TagsScreen #tags-error {
        color: $error;
        height: auto;
    }
    """

    def __init__(self, row: RunRow) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        st = self.row.status_data
        with Vertical(id="tags-box", classes="dialog"):
            yield Label(f"Tags and note of {self.row.id}", classes="dialog-title")
            yield Label("Tags (words, spaces between):")
            yield Input(" ".join(tags_of(st)), id="tags-tags", compact=True)
            yield Label("Note:")
            yield Input(str(st.get("note") or ""), id="tags-note", compact=True)
            yield Static("", id="tags-error")
            yield Static(Text("enter saves · tab moves · esc cancels", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#tags-tags", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        tags = self.query_one("#tags-tags", Input).value.split()
        tags = [t[1:] if t.startswith("#") else t for t in tags]
        try:
            for t in tags:
                check_tag(t)
        except ConfigError as e:
            self.query_one("#tags-error", Static).update(str(e))
            return
        self.dismiss((list(dict.fromkeys(tags)), self.query_one("#tags-note", Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ModelFormatScreen(ModalScreen["str | None"]):
    """Which format to export a run's model in? Returns the format, or None."""

    BINDINGS = [Binding("escape,n", "choose(None)", "Cancel")] + [
        Binding(key, f"choose('{fmt}')", label.split(" [")[0]) for fmt, (label, key, _) in FORMAT_LABELS.items()]

    DEFAULT_CSS = """
    ModelFormatScreen {
        align: center middle;
    }
    """

    def __init__(self, row: RunRow) -> None:
        super().__init__()
        self.row = row
        self.missing = missing_onnx()

    def compose(self) -> ComposeResult:
        row = self.row
        with Vertical(id="model-format-box", classes="dialog"):
            yield Label("Export the model", classes="dialog-title")
            lines = [f"Run {row.id} ({row.preset}): its best checkpoint (else the last) goes into "
                     f"{row.run.path / 'export'}, with preset.toml and a card.", ""]
            for fmt, (label, _key, what) in FORMAT_LABELS.items():
                lines.append(f"{label.split(' [')[0]}: {what}")
            if self.missing:
                lines.append(f"ONNX needs {', '.join(self.missing)}: {ONNX_INSTALL}")
            yield Static("\n".join(lines), classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                for fmt, (label, _key, _what) in FORMAT_LABELS.items():
                    yield Button(Text(label), id=f"format-{fmt}", variant="primary" if fmt == "safetensors" else
                                 "default", disabled=fmt == "onnx" and bool(self.missing))
                yield Button(Text("Cancel [esc]"), id="format-cancel")

    def on_mount(self) -> None:
        self.query_one("#format-safetensors", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        fmt = (event.button.id or "").removeprefix("format-")
        self.dismiss(fmt if fmt in FORMATS else None)

    def action_choose(self, fmt: str | None) -> None:
        if fmt == "onnx" and self.missing:
            self.notify(f"ONNX needs {', '.join(self.missing)}: {ONNX_INSTALL}", severity="warning", timeout=6)
            return
        self.dismiss(fmt)


def export_model_process(run: RunDir, fmt: str) -> tuple[int, str, str]:
    """``tuidl export-model RUN --format FMT --json`` as its own process: ``(exit status,
    stdout, stderr)``."""
    try:
        done = run_tuidl(["export-model", str(run.path), "--format", fmt, "--json"], EXPORT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return 1, "", f"error: the export took more than {EXPORT_TIMEOUT_S:.0f} s and was ended"
    return done.returncode, done.stdout, done.stderr


def export_model_result(code: int, stdout: str, stderr: str) -> tuple[bool, str]:
    """``(ok, message)`` for the notification, from what ``tuidl export-model --json`` said."""
    if code == 0:
        try:
            result = json.loads(stdout.strip().splitlines()[-1])
            return True, (f"{result['path']} ({result['bytes']:,} bytes)\nchecked with {result['runtime']} on "
                          f"{result['samples']} samples: max abs difference {result['max_abs_diff']:.3g} "
                          f"against PyTorch")
        except (ValueError, IndexError, KeyError, TypeError):
            pass
    return False, problem(stderr or stdout, code)


def waiting_in_queue(runs_root) -> list[Entry]:
    """Entries of the runs root's queue still waiting for a slot, in order (none without
    a queue)."""
    from tuidl.core.preset.schema import ConfigError
    from tuidl.core.sweep.queue import Queue

    try:
        return [e for e in Queue(runs_root).entries() if e.status == "waiting"]
    except ConfigError:
        return []


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


FILTER_HINT = "filter: lr>=0.001 status:completed tag:baseline (esc clears)"


class RunsPane(ShapeActions, CompareActions, Vertical):
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

    class Scanned(Message):
        """A fresh listing: what the scanning thread returned, posted by the pane to itself
        on the UI thread once the thread ended (``on_worker_state_changed``)."""

        def __init__(self, rows: list[RunRow], error: str = "", queued: list[Entry] | None = None,
                     matched: list[RunRow] | None = None, by: Filter | None = None, then: str | None = None) -> None:
            super().__init__()
            self.rows = rows
            self.then = then  # the next phase of this listing ("all", "figures"), or None: it is complete
            self.error = error
            self.queued = queued or []  # entries of the queue waiting for a slot, in order
            self.matched = matched  # the rows that match ``by`` (the filter when the scan began), or None
            self.by = by

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

    # -- listing ----------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """Read the runs root again, in a thread (one scan at a time). While the pane is
        hidden only the first scan runs (it announces live runs); the pane scans again
        when it is shown. It may be called before the pane is mounted (the app asks for a
        listing after a sweep or a queued run starts): the listing is then shown once it is."""
        if self.scans and not shown(self):
            self._stale = True
            return
        if self._scanning:
            self._rescan = True
            return
        self._scanning = True
        self._start_scan("head" if not self.scans and not self.all_rows else "all")

    def _start_scan(self, phase: str) -> None:
        self.run_worker(lambda: self._scan(phase), name=f"scan runs ({phase})", group=SCAN_GROUP, thread=True,
                        exit_on_error=False)

    def _scan(self, phase: str = "all") -> "RunsPane.Scanned":
        """The listing, in the worker's thread. Returned, not posted from here: the pane
        takes it when the worker's state changes, on the UI thread (``on_worker_state_changed``).
        A message posted from a thread looks the app up through the pane's parents, which
        a pane not mounted yet does not have: that listing was lost and ``_scanning`` stayed
        set, so the pane never listed anything."""
        try:
            began = time.perf_counter()
            rows = scan_roots(self.runs_root, remote_roots(), figures=phase == "figures",
                              limit=FIRST_SCREEN if phase == "head" else None)
            self._scan_cost = time.perf_counter() - began
            then = None
            if phase == "head" and len(rows) >= FIRST_SCREEN:
                then = "all"
            elif phase != "figures" and any(r.logged is not None and r.logged.pending for r in rows):
                then = "figures"
            queued = waiting_in_queue(self.runs_root)
            found = self.filter
            if found:
                return self.Scanned(rows, queued=queued, matched=found.apply(rows), by=found, then=then)
        except OSError as e:
            return self.Scanned([], f"cannot read {self.root}: {e.strerror or e}")
        except Exception as e:  # noqa: BLE001 - a listing problem must never take the pane down
            return self.Scanned([], f"{type(e).__name__}: {e}")
        return self.Scanned(rows, queued=queued, then=then)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A scan ended (whatever way it did): its listing is shown and the next scan may start."""
        worker = event.worker
        if worker.group == FILTER_GROUP and worker.state == WorkerState.SUCCESS:
            self._filtered(*worker.result)
            return
        if worker.group != SCAN_GROUP or not worker.is_finished:
            return
        if worker.state == WorkerState.SUCCESS and isinstance(worker.result, self.Scanned):
            self.post_message(worker.result)
        elif worker.state == WorkerState.ERROR:
            self.post_message(self.Scanned(self.rows, f"the listing failed: {worker.error!r}"))
        else:  # cancelled (the app closes): nothing to show, but a scan asked for meanwhile may run
            self._scan_done()

    def _timed_refresh(self) -> None:
        """The timer's listing: skipped while the last one's cost is more than a tenth of the
        time since it ended (10,000 runs are stat-ed in about 0.3 s: not every 2 s)."""
        if time.monotonic() - self._scan_ended >= SCAN_SHARE * self._scan_cost:
            self.refresh_runs()

    def _scan_done(self) -> None:
        self._scan_ended = time.monotonic()
        self._scanning = False
        if self._rescan:
            self._rescan = False
            self.refresh_runs()

    def on_runs_pane_scanned(self, message: "RunsPane.Scanned") -> None:
        message.stop()
        first = self.scans == 0
        matched = message.matched if message.by is self.filter else None
        self.show_rows(message.rows, message.error, message.queued, matched=matched, count=message.then is None)
        if message.then == "all" and not shown(self):  # a long list while the pane is hidden: the
            self._stale = True  # newest runs only, the rest when it is shown (the app starts unslowed)
            self._announce(message.rows)
            self._scan_done()
            return
        if message.then is not None:  # the same listing goes on: all runs, then logged runs' figures
            self._start_scan(message.then)
            return
        if first:
            self._announce(message.rows)
        self._scan_done()

    def _announce(self, rows: list[RunRow]) -> None:
        """Tell the app, once, of the runs found live at the first look."""
        if not self._announced:
            self._announced = True
            live = [r for r in rows if r.live]
            if live:
                self.post_message(self.LiveRuns(live))

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
        if error:
            self.hint.update(Text(error, style="bold red"))
            return
        if not self.all_rows:
            self._hint(Text.assemble(("No runs yet in ", "dim"), (str(self.root), "bold"),
                                     (". Start one with s (or tuidl train PRESET).", "dim")))
            return
        live = [r for r in self.rows if r.live]
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.filter:
            text.append(f"{len(self.rows)} of {len(self.all_rows)} runs match", style="bold")
            text.append(" · esc clears · ", style="dim")
        else:
            text.append(f"{len(self.rows)} run{'s' if len(self.rows) != 1 else ''}")
        if self.groups:
            text.append(f" ({len(self.groups)} sweep{'s' if len(self.groups) != 1 else ''})", style="cyan")
        if self.shape.described():
            text.append(f" · {self.shape.described()}", style="cyan")
        if self.queued:
            text.append(" · ")
            text.append(f"{len(self.queued)} queued", style="bold yellow")
        if live:
            text.append(" · ")
            text.append(f"{len(live)} live", style="bold green")
            text.append(": enter attaches", style="")
        if self.marked:
            text.append(" · ")
            text.append(f"{len(self.marked)} marked", style="bold magenta")
            text.append(": v compares them")
        elif not self.filter:
            text.append(" · space marks · D compares · / filter · S sort · g group · a columns", style="dim")
        self._hint(text)

    def _hint(self, text: Text) -> None:
        hosts = hosts_line()  # a remote host that is not linked: why, one line each
        self.hint.update(Text.assemble(hosts, "\n", text) if hosts else text)

    def _show_detail(self) -> None:
        entry = self.selected_entry()
        if entry is not None:
            what = f"a run of {entry.name}" if entry.kind == "run" else f"sweep {entry.name}"
            self.detail.update(Text.assemble((f"queue {entry.id}", "bold"), f" · {what} waits for a free GPU or CPU "
                                             "slot (tuidl queue list) · d takes it out of the queue",
                                             no_wrap=True, overflow="ellipsis", style="dim"))
            return
        group = self.selected_group()
        if group is not None:
            counts = ", ".join(f"{n} {s}" for s, n in sorted(group.counts().items()))
            self.detail.update(Text.assemble((f"sweep {group.id}", "bold"), f" · {len(group.trials)} trials ({counts})",
                                             " · enter opens the sweep: trials ranked, best, importances, curves",
                                             no_wrap=True, overflow="ellipsis", style="dim"))
            return
        row = self.selected()
        if row is None:
            self.detail.update("")
            return
        text = Text(no_wrap=True, overflow="ellipsis", style="dim")
        if not row.live:  # the id in full: the table's Run column is cut off at 80 columns
            text.append(row.id, style="bold")
            text.append(" · ")
        if row.host:  # a remote run's copy (tuidl --remote)
            text.append(f"on {row.host}", style="bold cyan")
            text.append(" · ")
        if row.live:
            if not row.host:  # (`tuidl attach` here would not find a remote one)
                text.append(f"tuidl attach {row.id}", style="bold")
                text.append(" · ")
            text.append("enter attaches here")
        elif row.logged is not None:
            text.append(f"logged run ({row.logged.source}): enter replays it · v compares it · e exports it")
        elif row.resumable:
            text.append(f"{row.status}: u resumes it from its last checkpoint", style="yellow")
        elif row.status == "completed":
            text.append("enter replays it · v compares it · r runs its preset again")
        if row.message:
            text.append(f" · {row.message}")
        note = row.status_data.get("note")
        if note:
            text.append(f" · note: {note}", style="italic")
        self.detail.update(text)

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

    def action_mark(self) -> None:
        row = self._need_row("mark")
        if row is None:
            return
        self.marked.symmetric_difference_update({row.id})
        self._update_row(row)
        self._show_hint()
        index = self.table.row_index(row.id)
        if index is not None and index + 1 < self.table.row_count:
            self.table.move_cursor(row=index + 1, animate=False)

    def marked_runs(self) -> list[RunDir]:
        return [r.run for r in self.rows if r.id in self.marked]

    def action_compare(self) -> None:
        runs = self.marked_runs()
        if not runs:
            row = self._need_row("compare")
            if row is None:
                return
            runs = [row.run]
        self.post_message(self.CompareRuns(runs))

    def action_clear_compare(self) -> None:
        self.marked.clear()
        for row in self.rows:
            self._update_row(row)
        self._show_hint()
        self.post_message(self.CompareRuns([]))

    # -- filter ----------------------------------------------------------------------------
    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.filter_input.focus()

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

    def on_key(self, event) -> None:
        if event.key == "escape" and (self.filter or self.has_class("-filtering")):
            event.stop()
            event.prevent_default()
            self.filter_input.value = ""
            self.set_filter("")
            self.remove_class("-filtering")
            self.table.focus()

    def set_filter(self, text: str) -> bool:
        """Show only the runs that match ``text`` (applied off the UI thread); a bad
        expression is named in the hint line and the list stays as it was. True if taken."""
        try:
            found = parse(text)
        except FilterError as e:
            self.hint.update(Text(f"{e} (the list shows the last good filter)", style="bold red",
                                  no_wrap=True, overflow="ellipsis"))
            return False
        if found.terms == self.filter.terms:
            return True
        self.filter = found
        if not found:
            self.show_rows(self.all_rows, self._error, self._queued_list, count=False)
            return True
        rows = self.all_rows
        self.run_worker(lambda: (found, found.apply(rows)), name="filter runs", group=FILTER_GROUP,
                        thread=True, exclusive=True, exit_on_error=False)
        return True

    def _filtered(self, found: Filter, matched: list[RunRow]) -> None:
        if found is self.filter:
            self.show_rows(self.all_rows, self._error, self._queued_list, matched=matched, count=False)

    # -- tags and note ---------------------------------------------------------------------
    def action_tags(self) -> None:
        row = self._need_row("tags")
        if row is not None:
            self.app.push_screen(TagsScreen(row), lambda result: self._save_tags(row, result))

    def _save_tags(self, row: RunRow, result: "tuple[list[str], str] | None") -> None:
        if result is None:
            return
        tags, note = result
        old = tags_of(row.status_data)
        try:
            row.run.tag([t for t in tags if t not in old], [t for t in old if t not in tags])
            if note != str(row.status_data.get("note") or ""):
                row.run.set_note(note)
        except (ConfigError, OSError) as e:
            self.notify(f"tags of {row.id}: {e}", severity="error")
            return
        self.refresh_runs()

    def action_compare_earlier(self) -> None:
        self.post_message(self.CompareEarlier())

    def action_rerun(self) -> None:
        row = self._need_row("re-run")
        if row is not None:
            self.post_message(self.RerunRun(row.run))

    def action_resume(self) -> None:
        row = self._need_row("resume")
        if row is None:
            return
        row = run_row(row.run)  # the status now, not at the last scan
        if row.live:
            self.notify(f"{row.id} is still {row.status}: enter attaches to it", severity="warning")
        elif row.logged is not None:
            self.notify(f"{row.id} is a logged run (tuidl.init / tuidl run): nothing of tuidl's to resume; "
                        "r runs its command or script again", severity="warning")
        elif row.status == "completed":
            self.notify(f"{row.id} already completed; r runs its preset again", severity="warning")
        elif row.status not in RESUMABLE:
            self.notify(f"{row.id} is {row.status}: nothing to resume", severity="warning")
        elif not row.has_checkpoint:
            self.notify(f"{row.id} has no checkpoint to resume from", severity="error")
        else:
            self.post_message(self.ResumeRun(row.run))

    def action_export(self) -> None:
        row = self._need_row("export")
        if row is None:
            return
        run = row.run

        def work() -> None:
            from tuidl.core.run import report

            try:
                done = report.export(run)
            except Exception as e:  # noqa: BLE001 - whatever it is, the user hears of it
                self.app.call_from_thread(self.notify, f"could not export {run.id}: {type(e).__name__}: {e}",
                                          title="Export failed", severity="error", timeout=8)
                return
            self.app.call_from_thread(self.notify, done.message(), title=f"Exported {run.id}",
                                      severity="warning" if done.problems else "information", timeout=10)

        self.run_worker(work, name=f"export {run.id}", group="runs-export", thread=True, exit_on_error=False)

    def action_export_model(self) -> None:
        row = self._need_row("export model")
        if row is None:
            return
        if not (row.run.checkpoint("best").is_file() or row.run.checkpoint("last").is_file()):
            self.notify(f"{row.id} has no checkpoint yet: nothing to export", title="No model", severity="warning",
                        timeout=5)
            return
        self.app.push_screen(ModelFormatScreen(row), lambda fmt: self._export_model(row, fmt))

    def _export_model(self, row: RunRow, fmt: str | None) -> None:
        if not fmt:
            return
        run = row.run
        self.notify(f"exporting the model of {run.id} as {fmt}…", timeout=3)

        def work() -> None:
            ok, message = export_model_result(*export_model_process(run, fmt))
            self.app.call_from_thread(self.notify, message, title=f"Model of {run.id}" if ok else "Model export failed",
                                      severity="information" if ok else "error", timeout=12)

        self.run_worker(work, name=f"export model {run.id}", group="runs-model", thread=True, exit_on_error=False)

    def action_delete(self) -> None:
        entry = self.selected_entry()
        if entry is not None:  # a waiting entry: out of the queue (nothing of it exists yet)
            self._cancel(entry)
            return
        row = self._need_row("delete")
        if row is None:
            return
        row = run_row(row.run)
        if row.live:
            self.notify(f"{row.id} is still {row.status}: stop it before deleting it", title="Not deleted",
                        severity="error", timeout=6)
            return
        if row.host:
            self.notify(f"{row.id} is a run of {row.host}: delete it there (this is its copy)", title="Not deleted",
                        severity="warning", timeout=6)
            return
        self.app.push_screen(ConfirmDeleteScreen(row), lambda yes: self._delete(row, bool(yes)))

    def _cancel(self, entry: Entry) -> None:
        from tuidl.core.preset.schema import ConfigError
        from tuidl.core.sweep.queue import Queue

        try:
            Queue(self.root).cancel(entry.id)
        except (ConfigError, OSError) as e:
            self.notify(str(e), title="Not taken out of the queue", severity="error", timeout=6)
        else:
            self.notify(f"{entry.id} ({entry.name}) taken out of the queue", timeout=3)
        self.refresh_runs()

    def _delete(self, row: RunRow, yes: bool) -> None:
        if not yes:
            return
        run = row.run

        def work() -> None:
            try:
                delete_run(run)
            except (RuntimeError, OSError) as e:
                self.app.call_from_thread(self.notify, str(e), title="Not deleted", severity="error", timeout=6)
                return
            self.app.call_from_thread(self._deleted, run)

        self.run_worker(work, name=f"delete {run.id}", group="runs-delete", thread=True, exit_on_error=False)

    def _deleted(self, run: RunDir) -> None:
        self.marked.discard(run.id)
        self.notify(f"deleted {run.id}", timeout=3)
        self.refresh_runs()

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
