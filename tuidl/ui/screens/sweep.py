"""A sweep (docs/sweeps.md): its trials ranked by metric, the best one, Optuna's
parameter importances and the top-k learning curves overlaid.

The Runs pane pushes ``SweepScreen(runs_root, sweep_id)`` for a sweep's group row. What it
shows is :func:`tuidl.core.sweep.study.sweep_summary` (the study, read through Optuna and
SQLite) and each top trial's validation curve, read from the trial's run directory through
a :class:`~tuidl.core.run.runview.RunView` (the one reducer of events). Both are read in a
worker thread, never on the UI thread; Optuna is imported there too, so opening this module
costs nothing. A sweep that is not there, or a study that cannot be read, is one plain line.

Keys: ``enter`` on a trial closes the screen with the trial's run id (the caller opens that
run), ``escape`` closes it with None, ``r`` reads the sweep again. While a worker of this
machine drives the sweep (``live``) the screen reads it again every ``interval`` seconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tuidl.core.sweep.text import params_short, short_keys, short_value, value_text
from tuidl.ui import palette
from tuidl.ui.series import Series
from tuidl.ui.widgets.charts import MetricChart

if TYPE_CHECKING:
    from tuidl.core.sweep.study import SweepView, TrialRow

TOP_K = 5  # learning curves overlaid
REFRESH_S = 2.0  # a live sweep is read again this often
BAR_W = 14
BEST = palette.style(palette.LR, bold=True)  # the best trial's row and line
OTHERS = tuple(c for c in palette.OVERLAYS if c not in (palette.LR, 10))  # the other lines: no second green


def importances_renderable(importances: dict[str, float] | None, short: dict[str, str]) -> Group:
    """Optuna's parameter importances as horizontal bars, the largest first."""
    head = Text("Parameter importance", style="bold")
    if not importances:
        return Group(head, Text("needs 2 complete trials", style="dim italic"))
    table = Table.grid(padding=(0, 1))
    for key, value in sorted(importances.items(), key=lambda kv: -kv[1]):
        bar = "█" * max(1 if value > 0 else 0, int(round(value * BAR_W)))
        table.add_row(Text(short.get(key, key), overflow="ellipsis", no_wrap=True),
                      Text(bar.ljust(BAR_W), style=palette.style(palette.VAL)), Text(f"{value:.2f}"))
    return Group(head, table)


@dataclass
class Loaded:
    """What one read of the sweep gave (made in the worker, shown on the UI thread)."""

    view: "SweepView | None" = None
    curves: list[tuple["TrialRow", list[float], list[float]]] | None = None  # top trials: (row, epochs, values)
    error: str | None = None


class SweepScreen(Screen["str | None"]):
    """A sweep's trials ranked, its best trial, the importances and the top curves.
    Dismissed with the run id of the trial chosen (``enter``), or None (``escape``)."""

    DEFAULT_CSS = """
    SweepScreen #sweep-title {
        height: auto;
        padding: 0 1;
    }
    SweepScreen #sweep-error {
        height: auto;
        padding: 0 1;
        color: $error;
        display: none;
    }
    SweepScreen #sweep-trials {
        height: 1fr;
        min-height: 4;
    }
    SweepScreen #sweep-best {
        height: auto;
        padding: 0 1;
    }
    SweepScreen #sweep-bottom {
        height: 1fr;
        min-height: 8;
    }
    SweepScreen #sweep-importances {
        width: auto;
        max-width: 40%;
        padding: 0 1;
    }
    SweepScreen #sweep-curves {
        width: 1fr;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("r", "reload", "Refresh"),
        Binding("x", "stop_sweep", "Stop sweep"),
    ]

    def __init__(self, runs_root: str | Path | None, sweep_id: str, *, top_k: int = TOP_K,
                 interval: float = REFRESH_S) -> None:
        super().__init__()
        self.runs_root = runs_root
        self.sweep_id = sweep_id
        self.top_k = top_k
        self.interval = interval
        self.view: SweepView | None = None
        self.error: str | None = None
        self.loads = 0  # reads shown so far (tests wait on it)
        self.curve_labels: list[str] = []  # the chart's lines, best first
        self._loading = False
        self._again = False
        self._timer = None
        self._lock = threading.Lock()
        self._tails: dict[str, Any] = {}  # run id -> (EventTail, RunView): the worker's, read on

    def compose(self) -> ComposeResult:
        self.heading = Static(Text(f"Sweep {self.sweep_id}: reading…", style="bold"), id="sweep-title")
        self.failure = Static("", id="sweep-error")
        self.table: DataTable = DataTable(id="sweep-trials", cursor_type="row", zebra_stripes=True)
        self.best_line = Static("", id="sweep-best")
        self.importance = Static("", id="sweep-importances")
        self.chart = MetricChart("", id="sweep-curves")
        self.chart.x_label = "epoch"
        yield self.heading
        yield self.failure
        yield self.table
        yield self.best_line
        with Horizontal(id="sweep-bottom"):
            yield self.importance
            yield self.chart
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"sweep {self.sweep_id}"
        self.table.focus()
        self.reload()

    # -- reading ------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the sweep again (in a worker); one read at a time, another after it if asked."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        self.load()

    @work(thread=True, group="sweep-load")
    def load(self) -> None:
        with self._lock:
            loaded = self.read()
        try:
            self.app.call_from_thread(self._loaded, loaded)
        except RuntimeError:  # the app is closing
            pass

    def read(self) -> Loaded:
        """The sweep's summary and its top trials' curves (in the worker thread)."""
        try:
            from tuidl.core.sweep.study import sweep_summary

            view = sweep_summary(self.runs_root, self.sweep_id)
        except Exception as e:  # noqa: BLE001 - any reason the sweep cannot be read is one line
            text = str(e).strip().splitlines()
            return Loaded(error=text[0] if text else type(e).__name__)
        try:
            curves = self._curves(view)
        except Exception as e:  # noqa: BLE001 - the table still shows without the curves
            text = str(e).strip().splitlines()
            return Loaded(view, [], f"cannot read the trials' curves: {text[0] if text else type(e).__name__}")
        return Loaded(view, curves)

    def _curves(self, view: SweepView) -> list[tuple[TrialRow, list[float], list[float]]]:
        from tuidl.core.run import rundir as R
        from tuidl.core.run.events import EventTail
        from tuidl.core.run.runview import RunView

        root = R.runs_root(self.runs_root)
        split, _, name = view.metric.partition("_")  # val_loss -> ("val", "loss")
        out = []
        for row in view.trials:
            if len(out) >= self.top_k:
                break
            if not row.run_id or not R.ID_RE.match(row.run_id) or not (root / row.run_id).is_dir():
                continue
            tail, run_view = self._tails.get(row.run_id) or (EventTail(root / row.run_id / "events.jsonl"), RunView())
            self._tails[row.run_id] = (tail, run_view)
            run_view.apply(tail.poll())
            xs, ys = run_view.epoch_series(name or view.metric).get(split or "val", ([], []))
            if xs:
                out.append((row, [float(x) for x in xs], [float(y) for y in ys]))
        return out

    # -- showing ------------------------------------------------------------------------
    def _loaded(self, loaded: Loaded) -> None:
        self._loading = False
        if not self.is_attached:
            return
        self.loads += 1
        self.error = loaded.error
        self.failure.update(Text(loaded.error or ""))
        self.failure.display = bool(loaded.error)
        if loaded.view is None:
            self.heading.update(Text(f"Sweep {self.sweep_id}", style="bold"))
            self._follow(False)
        else:
            self.view = loaded.view
            self._show(loaded.view, loaded.curves or [])
            self._follow(loaded.view.live)
        self.refresh_bindings()  # x (stop) is offered while the sweep runs
        if self._again:
            self._again = False
            self.reload()

    def _tick(self) -> None:
        if not self._loading:  # a read still going is as good as a new one
            self.reload()

    def _follow(self, live: bool) -> None:
        """Read again every ``interval`` seconds while the sweep is live, not after."""
        if live and self._timer is None and self.interval:
            self._timer = self.set_interval(self.interval, self._tick, name="sweep-refresh")
        elif not live and self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _show(self, view: SweepView, curves: list) -> None:
        keys: list[str] = []
        for t in view.trials:
            keys += [k for k in t.params if k not in keys]
        short = short_keys(keys)
        self._title(view)
        self._table(view, keys, short)
        if view.best is not None:
            b = view.best
            self.best_line.update(Text.assemble(("Best: ", "bold"), (f"trial {b.number}", BEST),
                                                f", {view.metric} {value_text(b.value)}: ",
                                                params_short(b.params, short), f"  (run {b.run_id or '—'})"))
        else:
            self.best_line.update(Text("Best: none yet (no trial completed)", style="dim"))
        self.importance.update(importances_renderable(view.importances, short))
        self._chart(view, curves, short)

    def _title(self, view: SweepView) -> None:
        better = "lower" if view.direction == "minimize" else "higher"
        counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(view.counts.items())) or "none yet"
        self.heading.update(Text.assemble(
            (f"Sweep {view.id}", "bold"), f"  {view.metric} ({better} is better)  ",
            f"{len(view.trials)} of {view.planned} trials ({counts})  ",
            ("● live", palette.style(palette.LR, bold=True)) if view.live else ("not running", "dim")))

    def _table(self, view: SweepView, keys: list[str], short: dict[str, str]) -> None:
        table = self.table
        chosen = self.chosen_row_key()
        columns = ["RANK", "TRIAL", "STATE", view.metric.upper(), *(short[k] for k in keys), "RUN"]
        if [str(c.label) for c in table.columns.values()] != columns:
            table.clear(columns=True)
            for label in columns:
                table.add_column(label, key=label)
        else:
            table.clear()
        best = view.best.number if view.best is not None else None
        for i, t in enumerate(view.trials, 1):
            style = BEST if t.number == best else ""
            cells = [f"★{i}" if t.number == best else str(i), str(t.number), t.run_status or t.state.lower(),
                     value_text(t.value), *(short_value(t.params[k]) if k in t.params else "—" for k in keys),
                     t.run_id or "—"]
            justify = ["right", "right", "left", "right", *(["right"] * len(keys)), "left"]
            table.add_row(*(Text(c, style=style, justify=j) for c, j in zip(cells, justify)), key=str(t.number))
        if chosen is not None and chosen in table.rows:
            table.move_cursor(row=table.get_row_index(chosen), animate=False)

    def _chart(self, view: SweepView, curves: list, short: dict[str, str]) -> None:
        chart = self.chart
        chart.set_title(f"{view.metric} by epoch, top {len(curves)}" if curves else f"{view.metric} by epoch")
        chart.log_y = view.direction == "minimize"  # losses of good and poor trials differ by orders
        lines = []
        for i, (row, xs, ys) in enumerate(curves):
            series = Series()  # a few points per trial: built again at each read
            series.extend(xs, ys)
            best = view.best is not None and row.number == view.best.number
            color = palette.LR if best else OTHERS[i % len(OTHERS)]
            lines.append((str(row.number), series, f"#{row.number} {params_short(row.params, short)}", color))
        if chart.series_keys() != [key for key, *_ in lines]:  # the legend in rank order, best first
            for key in chart.series_keys():
                chart.remove_series(key)
        for key, series, label, color in lines:
            chart.set_series(key, series, label, color)
        chart.data_changed()
        wanted = [label for _, _, label, _ in lines]
        self.curve_labels = wanted

    # -- keys ---------------------------------------------------------------------------
    def chosen_row_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - no row under the cursor
            return None

    def trial(self, number: int) -> TrialRow | None:
        if self.view is None:
            return None
        return next((t for t in self.view.trials if t.number == number), None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self.trial(int(event.row_key.value)) if event.row_key.value is not None else None
        if row is None:
            return
        if not row.run_id:
            self.notify(f"trial {row.number} has no run yet", severity="warning")
            return
        self.dismiss(row.run_id)

    def action_reload(self) -> None:
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_sweep":
            return self.view is not None and self.view.live
        return True

    def action_stop_sweep(self) -> None:
        """Ask the sweep to stop, as ``tuidl sweep --stop`` does: its trials checkpoint and
        end as stopped, its driver ends."""
        from tuidl.core.preset.schema import ConfigError
        from tuidl.core.sweep.sweepdir import SweepDir

        try:
            SweepDir.open(self.runs_root, self.sweep_id).request_stop()
        except (ConfigError, OSError) as e:
            self.notify(f"cannot stop sweep {self.sweep_id}: {e}", severity="error", timeout=5)
            return
        self.notify(f"asked sweep {self.sweep_id} to stop: its trials checkpoint and end as stopped", timeout=4)
        self.reload()

    def action_close(self) -> None:
        self.dismiss(None)
