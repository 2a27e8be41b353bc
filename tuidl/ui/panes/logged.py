"""The Training pane's view of a logged run (``tuidl.init`` / ``run.log``, ``tuidl run --
CMD``): a chart for whatever it logs, its summary and config beside them, and a
``tuidl run`` command's output under them.

* **Charts** (:class:`LoggedCharts`): one :class:`~tuidl.ui.widgets.charts.MetricChart`
  per :class:`~tuidl.core.run.scalars.ChartGroup` (a validation name and its train partner
  on one chart: ``train/loss`` & ``val/loss``, ``loss`` & ``val_loss``), in a grid. ``g``
  opens a checklist of the charts to show (:class:`ChartsChecklist`); ``e`` puts steps or
  time (seconds since the run started) on the x axis, ``l`` the log scale, ``m``
  smoothing: the keys of a trainer run's charts.
* **Side panel** (:class:`SidePanel`): the summary (last and best value of each metric,
  :meth:`RunView.summary`) and the config.
* **Output** (:class:`OutputTail`): the last lines of ``output.log``, followed while the
  run is live.

Everything comes from the run's :class:`~tuidl.core.run.runview.RunView`; this module only
draws it. Each chart's lines are :class:`~tuidl.ui.series.Series` extended with what the
view's arrays gained since the last frame (never re-read), and a chart draws at most
about two points per column, so a run of 50,000 steps costs a redraw what one of 500 does.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Log, SelectionList, Static

from tuidl.core.run.runview import RunView
from tuidl.core.run.scalars import ChartGroup, chart_groups
from tuidl.core.run.units import fmt_metric
from tuidl.ui import palette
from tuidl.ui.series import Series
from tuidl.ui.widgets.charts import MetricChart

SMOOTH_ON = 0.6
SIDE_EVERY_S = 3.0  # the summary is worked out again at most every 3 s (as the charts follow new points)
OUTPUT_LINES = 500  # the output's last lines kept
OUTPUT_READ = 64 << 10  # bytes of output.log read at most per frame (the first read: its end)
OVERLAY_PREFIX = "overlay:"
CPU_SHARE = 0.03  # of a core, at most, for redrawing the charts for new points (all of them together)
NARROW_BELOW = 80  # a view narrower than this leaves the side panel out
CHART_ROWS = 12  # a chart's height in the grid (its grid-rows below)
SIDE_TEXT_WIDTH = 30  # the side panel's text, before its width is known
WAITING = "waiting for the run's first metrics…"
READING = "reading the run's history…"


def flat(config: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """A config as ``(dotted.key, value)`` pairs, nested objects opened."""
    if not isinstance(config, dict):
        return [(prefix, config)] if prefix else []
    out: list[tuple[str, Any]] = []
    for key, value in config.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out += flat(value, name)
        else:
            out.append((name, value))
    return out


class ChartsChecklist(ModalScreen[list[str] | None]):
    """Which charts show: a checklist of the run's charts (their titles); enter keeps
    the choice, escape leaves it as it was."""

    DEFAULT_CSS = """
    ChartsChecklist { align: center middle; }
    ChartsChecklist > Vertical { width: 60; max-height: 80%; height: auto; border: thick $accent;
                                 background: $surface; padding: 0 1; }
    ChartsChecklist SelectionList { height: auto; max-height: 30; }
    ChartsChecklist .hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("enter", "done", "Show", priority=True),
                Binding("a", "all", "All")]

    def __init__(self, groups: list[ChartGroup], shown: set[str]) -> None:
        super().__init__()
        self.groups, self.shown = groups, shown

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Charts to show", style="bold"))
            yield SelectionList[str](*[(self.label(g), g.title + "\0" + "|".join(g.names), self.key(g) in self.shown)
                                       for g in self.groups], id="charts-checklist")
            yield Static("space: show or hide · a: all · enter: done · escape: cancel", classes="hint")

    @staticmethod
    def key(group: ChartGroup) -> str:
        return group.title + "\0" + "|".join(group.names)

    @staticmethod
    def label(group: ChartGroup) -> str:
        return group.title if len(group.names) < 2 else f"{group.title}  ({group.train} & {group.val})"

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_all(self) -> None:
        self.query_one(SelectionList).select_all()

    def action_done(self) -> None:
        self.dismiss(list(self.query_one(SelectionList).selected))

    def action_cancel(self) -> None:
        self.dismiss(None)


class SidePanel(VerticalScroll):
    """A logged run's summary (last and best of each metric; what the run set in
    ``run.summary``) and its config."""

    DEFAULT_CSS = """
    SidePanel { width: 32; height: 1fr; border-left: vkey $panel-lighten-2; padding: 0 0 0 1;
                scrollbar-size-vertical: 1; }
    SidePanel Static { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.about = Static("", id="logged-about")
        self.summary = Static("", id="logged-summary")
        self.config = Static("", id="logged-config")
        self._shapes: dict[str | None, Any] = {}  # a part's id -> the shape it was last shown with
        self._shown: dict[str | None, Any] = {}  # a part's id -> what it shows

    def compose(self) -> ComposeResult:
        yield self.about
        yield self.summary
        yield self.config

    def show(self, view: RunView) -> None:
        """Show the view's figures; a part whose text did not change is left alone, and
        the screen is laid out again only when a part's height changed."""
        width = self.scrollable_content_region.width or SIDE_TEXT_WIDTH
        st = view.started or {}
        about = Text()
        about.append(str(st.get("name") or view.run_id or "logged run"), style="bold")
        about.append(f"  {view.source or 'script'}", style="dim")
        if st.get("project"):
            about.append(f" · {st['project']}", style="dim")
        if st.get("command"):
            about.append("\n$ " + " ".join(str(a) for a in st["command"]), style="dim")
        about.append(f"\nstep {int(view.scalars.last_step) if view.scalars.events else '—'} · {view.status}")
        self._put(self.about, about, tuple(line if len(line) >= width else "" for line in about.plain.split("\n")))
        summary = summary_text(view.summary(), width)
        self._put(self.summary, summary, summary.plain.count("\n"))
        pairs = tuple((key, value if isinstance(value, str) else json.dumps(value, default=str))
                      for key, value in flat(view.config))
        if self._shapes.get(self.config.id) != (width, pairs):  # (config events are rare)
            config = Table.grid(padding=(0, 1))
            config.add_column(overflow="fold", style="dim")
            config.add_column(overflow="fold")
            config.add_row(Text("Config", style="bold"), "")
            for key, value in pairs:
                config.add_row(key, value)
            if not pairs:
                config.add_row(Text("(none logged)", style="dim"), "")
            self._put(self.config, config, (width, pairs))

    def _put(self, static: Static, content: Any, shape: Any) -> None:
        """Show ``content`` unless it is shown already; the screen is laid out again only
        when ``shape`` (what the part's height follows from) changed. Laying out the
        whole screen takes far longer than drawing the panel, and a part redrawn while
        scrolled out of sight makes Textual place every widget again (tens of ms)."""
        if self._shown.get(static.id) == content and self._shapes.get(static.id) == shape:
            return
        changed = self._shapes.get(static.id) != shape
        self._shapes[static.id], self._shown[static.id] = shape, content
        static.update(content, layout=changed)


def summary_text(summary: dict[str, dict[str, Any]], width: int) -> Text:
    """The summary (:meth:`RunView.summary`) as lines of text ``width`` wide: each metric's
    name (folded when long), last and best value in columns; a key the run set that is
    no metric as its name, then its value. Plain text, not a table: Rich measures a table's every
    cell each time it is drawn, about 60 ms for 20 metrics here, once a second."""
    rows, others = [], []
    for name, figures in summary.items():
        if "value" in figures:
            value = figures["value"]
            others.append((name, fmt_metric(name, value) if isinstance(value, (int, float)) else str(value)))
        else:
            rows.append((name, fmt_metric(name, figures["last"]), fmt_metric(name, figures["best"]),
                         "bold" if figures.get("set") else ""))
    last_w = max([4] + [len(r[1]) for r in rows])
    best_w = max([4] + [len(r[2]) for r in rows])
    name_w = max(8, width - last_w - best_w - 2)
    best_style = palette.style(palette.LR)
    text = Text(no_wrap=True, overflow="crop", end="")
    text.append("Summary".ljust(name_w), style="bold")
    text.append(" " + "last".rjust(last_w) + " " + "best".rjust(best_w), style="dim")
    for name, last, best, style in rows:
        parts = [name[i:i + name_w] for i in range(0, len(name), name_w)] or [""]
        text.append("\n" + parts[0].ljust(name_w) + " ")
        text.append(last.rjust(last_w), style=style)
        text.append(" ")
        text.append(best.rjust(best_w), style=best_style)
        for part in parts[1:]:
            text.append("\n" + part)
    width = max(1, width)
    for name, value in others:  # the name, then its value (bold), each folded to the width
        for i in range(0, max(1, len(name)), width):
            text.append("\n" + name[i:i + width])
        for i in range(0, max(1, len(value)), width - 2 if width > 4 else width):
            text.append("\n" + ("  " if width > 4 else "") + value[i:i + (width - 2 if width > 4 else width)],
                        style="bold")
    return text


class OutputTail(Log):
    """The last lines of a ``tuidl run`` command's ``output.log``, read on from where the
    last read ended (the first read starts near its end)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=OUTPUT_LINES, auto_scroll=True)
        self.path: Path | None = None
        self._offset = 0
        self._partial = ""

    def follow(self, path: Path | None) -> None:
        """Show this file's end (None: nothing)."""
        self.path, self._offset, self._partial = path, 0, ""
        self.clear()
        if path is not None:
            try:
                self._offset = max(0, os.path.getsize(path) - OUTPUT_READ)
            except OSError:
                self._offset = 0
            self.read_more(first=True)

    def read_more(self, first: bool = False) -> bool:
        """Add what the file gained since the last read; True when there was some."""
        if self.path is None:
            return False
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read(OUTPUT_READ)
        except OSError:
            return False
        if not data:
            return False
        start = self._offset
        self._offset += len(data)
        text = self._partial + data.decode("utf-8", "replace").replace("\r\n", "\n")
        lines = text.split("\n")
        self._partial = lines.pop()
        if first and start > 0 and lines:
            lines = lines[1:]  # the first line read from the middle of the file is cut
        if lines:
            self.write_lines([line.rsplit("\r", 1)[-1] for line in lines])  # a progress bar's last state
        return True


class ChartGrid(Grid):
    """The grid of charts. It says when its size or its content's size changes: whether it
    overflows, and which rows it shows, are known only once it is laid out."""

    class Resized(Message):
        pass

    def on_resize(self) -> None:
        self.post_message(self.Resized())


class LoggedView(Horizontal):
    """Charts, side panel and output of a logged run (see the module docstring)."""

    DEFAULT_CSS = """
    LoggedView { height: 1fr; }
    LoggedView #logged-main { width: 1fr; height: 1fr; }
    LoggedView #logged-modes { height: 1; }
    LoggedView #logged-charts { height: 1fr; grid-size: 2; grid-gutter: 0 1; grid-rows: 12;
                                overflow-y: auto; scrollbar-gutter: stable; scrollbar-size-vertical: 1; }
    LoggedView #logged-charts MetricChart { height: 12; min-height: 6; }
    LoggedView #logged-empty { height: auto; color: $text-muted; padding: 1 2; }
    LoggedView #logged-output { height: 10; border-top: hkey $panel-lighten-2; background: $surface;
                                scrollbar-size-vertical: 1; }
    LoggedView.-narrow SidePanel { display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: RunView | None = None
        self.run_path: Path | None = None
        self.x_axis = "step"  # or "time"
        self.log_y = False
        self.smooth = 0.0
        self.hidden: set[str] = set()  # chart keys the user unticked
        self.groups: list[ChartGroup] = []
        self.charts: dict[str, MetricChart] = {}  # chart key -> its chart (shown ones only)
        self._series: dict[tuple[str, str], tuple[Series, int]] = {}  # (name, axis) -> its Series, points taken
        self._names_seen = 0
        self._fed_at = -math.inf  # when the charts' lines last gained points (time.monotonic)
        self._side_version = -1
        self._side_status: str | None = None
        self._side_at = -math.inf
        self.reading = False  # a history is being read (more batches follow at once): the charts wait
        self._draw_all = True  # the next tick draws every chart due, not only those in view
        self._chart_names: dict[str, tuple[str, ...]] = {}  # chart key -> the metrics it draws
        self.overlays: dict[str, tuple[RunView, str]] = {}  # label -> (its view, its colour)
        self.modes = Static("", id="logged-modes")
        self.grid = ChartGrid(id="logged-charts")
        self.empty = Static(WAITING, id="logged-empty")
        self.side = SidePanel(id="logged-side")
        self.output = OutputTail(id="logged-output")
        self.output.display = False

    def compose(self) -> ComposeResult:
        with Vertical(id="logged-main"):
            yield self.modes
            yield self.empty
            yield self.grid
            yield self.output
        yield self.side

    def on_mount(self) -> None:
        waiting = [chart for chart in self.charts.values() if not chart.is_mounted]
        if waiting:
            self.grid.mount(*waiting)
        self._show_modes()

    def on_resize(self) -> None:
        self._draw_all = True
        width = self.size.width
        self.set_class(width < NARROW_BELOW, "-narrow")
        charts_width = width - (0 if width < NARROW_BELOW else 32)
        columns = 3 if charts_width >= 150 else 2 if charts_width >= 56 else 1
        if self.grid.styles.grid_size_columns != columns:
            self.grid.styles.grid_size_columns = columns

    def on_chart_grid_resized(self) -> None:
        self._show_modes()

    # -- the run -----------------------------------------------------------------------
    def show_run(self, view: RunView, run_path: Path | None = None) -> None:
        """Show another run's view (empty, or with its history already taken)."""
        self.view, self.run_path = view, run_path
        self._series = {}
        self.groups, self._names_seen = [], 0
        self._side_version, self._side_status, self._side_at = -1, None, -math.inf
        self.reading = False
        if self.is_mounted:
            self.grid.remove_children()
        self.charts, self._chart_names = {}, {}
        self.empty.update(WAITING, layout=False)
        self.empty.display = True
        out = run_path / "output.log" if run_path is not None else None
        has_output = out is not None and (out.is_file() or view.source == "command")
        self.output.display = has_output
        self.output.follow(out if has_output else None)

    def take(self, ended: bool = False, more: bool = False) -> None:
        """The view took a batch of events: new charts for new names, new points for the
        charts (drawn on their clock; at the next tick when the batch ``ended`` the run:
        a replay's last points are not left waiting), the output's new lines.

        While ``more`` batches follow at once (a history being read: a replay, an
        attached run) nothing is drawn but how far the reading is: with the last batch
        the charts are made (mounted) and fed the whole history, and each is drawn once,
        in the same frame as the side panel: one layout of the screen, not one a batch."""
        view = self.view
        if view is None:
            return
        was_reading, self.reading = self.reading, more
        if more:
            if not was_reading:
                self.empty.update(READING, layout=False)
                self._show_modes()
            return
        if was_reading:
            self.empty.update(WAITING, layout=False)
        scalars = view.scalars
        if len(scalars) != self._names_seen:
            self._names_seen = len(scalars)
            self.groups = chart_groups(scalars.names)
            self._layout_charts()
        self._feed()
        if ended:
            for chart in self.charts.values():
                chart.mark_dirty()
        self._draw_all |= ended or was_reading
        if was_reading:
            self._show_modes()
        if was_reading or ended:  # a history's or a run's end shows at once, as the charts do
            self._show_side(time.monotonic())
        if self.output.display and not self.output.path and view.source == "command" and self.run_path:
            self.output.follow(self.run_path / "output.log")

    def tick(self, now: float) -> None:
        """The pane's clock: due redraws, the side panel (every SIDE_EVERY_S when changed;
        while a history is read, only how far it is), the output's new lines."""
        for chart in list(self.charts.values()) if self._draw_all else self._charts_in_view():
            chart.tick()
        self._draw_all = False
        if self.view is not None and now - self._side_at >= SIDE_EVERY_S:
            if self.reading:
                self._side_at = now
                self._show_modes()
            else:
                self._show_side(now)
        if self.output.display:
            self.output.read_more()

    def scroll_charts(self, pages: int) -> bool:
        """Scroll the chart grid by ``pages`` screens of whole chart rows (PgDn / PgUp in
        the Training pane: the grid is not focusable, and a mouse may be far away over
        SSH). False when it is already at that end."""
        grid = self.grid
        page = max(1, grid.size.height // CHART_ROWS) * CHART_ROWS
        top = (int(grid.scroll_offset.y) // CHART_ROWS) * CHART_ROWS + pages * page
        top = max(0, min(int(grid.max_scroll_y), top))
        if top == grid.scroll_offset.y:
            return False
        grid.scroll_to(y=top, animate=False, immediate=True)
        self._show_modes()
        return True

    def _charts_in_view(self) -> list[MetricChart]:
        """The charts the grid shows now: those of the rows its scroll offset and height
        take in (rows are CHART_ROWS high). New points redraw only these; the others
        are drawn when they come back into view. (Textual's ``is_on_screen`` counts a
        chart scrolled away as on screen, and redrawing one makes the next frame place
        every widget of the screen again.)"""
        grid = self.grid
        columns = max(1, int(grid.styles.grid_size_columns or 1))
        top, height = grid.scroll_offset.y, grid.size.height
        return [chart for i, chart in enumerate(self.charts.values())
                if (i // columns) * CHART_ROWS < top + height and (i // columns + 1) * CHART_ROWS > top]

    def _show_side(self, now: float) -> None:
        """The side panel, when the view changed since it was last shown."""
        view = self.view
        if view is not None and (view.scalars.version != self._side_version or view.status != self._side_status):
            self._side_version, self._side_status, self._side_at = view.scalars.version, view.status, now
            self.side.show(view)

    def group_key(self, group: ChartGroup) -> str:
        return ChartsChecklist.key(group)

    def shown_groups(self) -> list[ChartGroup]:
        return [g for g in self.groups if self.group_key(g) not in self.hidden]

    def _layout_charts(self) -> None:
        """A chart for each group shown (charts already there are kept)."""
        shown = self.shown_groups()
        keys = [self.group_key(g) for g in shown]
        for key in [k for k in self.charts if k not in keys]:
            self.charts.pop(key).remove()
            self._chart_names.pop(key, None)
        new = []
        for group in shown:
            key = self.group_key(group)
            if key in self.charts:
                continue
            chart = MetricChart(group.title, classes="logged-chart")
            chart.use_external_clock()
            chart.x_label = self.x_axis
            chart.log_y, chart.smooth = self.log_y, self.smooth
            self.charts[key] = chart
            self._chart_names[key] = group.names
            self._attach_lines(chart, group)
            new.append(chart)
        # the charts share one CPU budget (a chart alone may take 5 % of a core for new
        # points): with ten charts each waits ten times as long when its draw is slow
        for chart in self.charts.values():
            chart.cpu_share = CPU_SHARE / max(1, len(self.charts))
        if new and self.grid.is_mounted:
            self.grid.mount(*new)
        self._draw_all = True
        self.empty.display = not self.groups
        if self.groups and not shown:
            self.empty.update("no chart chosen: g opens the checklist")
            self.empty.display = True
        self._show_modes()  # (again once laid out: ChartGrid.Resized)

    def _line(self, name: str) -> Series:
        entry = self._series.get((name, self.x_axis))
        if entry is None:
            entry = self._series[(name, self.x_axis)] = (Series(), 0)
        return entry[0]

    def _attach_lines(self, chart: MetricChart, group: ChartGroup) -> None:
        for role, name in (("train", group.train), ("val", group.val)):
            if name is None:
                continue
            label = name if len(group.names) < 2 else ("train" if role == "train" else "validation")
            color = palette.VAL if role == "val" and len(group.names) == 2 else palette.TRAIN
            chart.set_series(role, self._line(name), label, color)
        for i, (label, (view, color)) in enumerate(self.overlays.items()):
            line = overlay_line(view, group, self.x_axis)
            if line is not None:
                chart.set_series(OVERLAY_PREFIX + label, line, label, color)

    def _feed(self) -> None:
        """Extend each shown line's Series with the points its Scalar gained; only the
        charts of those lines are due a redraw."""
        scalars = self.view.scalars if self.view is not None else None
        if scalars is None:
            return
        changed: set[str] = set()
        for (name, axis), (series, taken) in list(self._series.items()):
            if axis != self.x_axis:
                continue
            scalar = scalars.get(name)
            if scalar is None or len(scalar) == taken:
                continue
            series.extend(scalar.xs(axis)[taken:], scalar.values[taken:])
            self._series[(name, axis)] = (series, len(scalar))
            changed.add(name)
        if changed:
            self._fed_at = time.monotonic()
            for key, chart in self.charts.items():
                if not changed.isdisjoint(self._chart_names.get(key, ())):
                    chart.data_changed()

    # -- how the charts are drawn ----------------------------------------------------------
    def _show_modes(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis", style="dim")
        if self.reading and self.view is not None:
            scalars = self.view.scalars
            text.append(READING + (f" step {int(scalars.last_step):,}" if scalars.events else ""))
        else:
            text.append(self._modes_line(self.modes.size.width))
        self.modes.update(text, layout=False)  # one line: its size never changes

    def _modes_line(self, width: int) -> str:
        """The chart modes and their keys, in words where they fit in ``width`` (0: not
        laid out yet), else in short, else only which charts and rows show (at 80 columns
        the line has 48: the long form was cut before the rows, the part that changes)."""
        shown = len(self.shown_groups())
        parts = [(f"x: {self.x_axis}s [e]", f"x {self.x_axis}s[e]"),
                 (f"log y: {'on' if self.log_y else 'off'} [l]", f"log {'on' if self.log_y else 'off'}[l]"),
                 (f"smoothing: {self.smooth:g} [m]", f"smooth {self.smooth:g}[m]"),
                 (f"charts: {shown} of {len(self.groups)} [g]", f"{shown}/{len(self.groups)} charts[g]")]
        grid = self.grid
        if grid.max_scroll_y > 0:  # more charts than the grid shows: say where they are
            columns = max(1, int(grid.styles.grid_size_columns or 1))
            rows = -(-shown // columns)
            top = int(grid.scroll_offset.y)
            first = top // CHART_ROWS + 1
            last = min(rows, -(-(top + grid.size.height) // CHART_ROWS))
            parts.append((f"rows {first}–{last} of {rows} [PgUp/PgDn]", f"rows {first}–{last}/{rows}[PgDn]"))
        lines = [" · ".join(long for long, _short in parts), " · ".join(short for _long, short in parts),
                 " · ".join(short for _long, short in parts[3:])]  # narrowest: the charts and rows only
        return next((line for line in lines if not width or len(line) <= width), lines[-1])

    def _restyle(self) -> None:
        self._draw_all = True
        for chart in self.charts.values():
            chart.x_label = "time (s)" if self.x_axis == "time" else "step"
            chart.log_y, chart.smooth = self.log_y, self.smooth
        self._show_modes()

    def toggle_x_axis(self) -> str:
        self.x_axis = "time" if self.x_axis == "step" else "step"
        for group in self.shown_groups():
            chart = self.charts.get(self.group_key(group))
            if chart is not None:
                self._attach_lines(chart, group)
        self._feed()
        self._restyle()
        return self.x_axis

    def toggle_log(self) -> bool:
        self.log_y = not self.log_y
        self._restyle()
        return self.log_y

    def toggle_smooth(self) -> float:
        self.smooth = 0.0 if self.smooth else SMOOTH_ON
        self._restyle()
        return self.smooth

    def choose(self, keys: list[str]) -> None:
        """Show these charts (keys of :meth:`group_key`), hide the others."""
        chosen = set(keys)
        self.hidden = {self.group_key(g) for g in self.groups if self.group_key(g) not in chosen}
        self.grid.remove_children()
        self.charts = {}
        self._layout_charts()
        self._feed()

    def checklist(self) -> ChartsChecklist:
        return ChartsChecklist(self.groups, {self.group_key(g) for g in self.shown_groups()})

    def redraw_now(self) -> None:
        """Draw every chart at once (screenshots, tests, the benchmark)."""
        self._feed()
        for chart in self.charts.values():
            chart.redraw()
        if self.view is not None:
            self.side.show(self.view)

    # -- compared runs ----------------------------------------------------------------------
    def set_overlays(self, views: dict[str, RunView]) -> None:
        """Lay other runs over the charts of the same metrics: ``{label: RunView}``."""
        self.overlays = {str(label): (view, palette.OVERLAYS[i % len(palette.OVERLAYS)])
                         for i, (label, view) in enumerate(views.items())}
        for group in self.shown_groups():
            chart = self.charts.get(self.group_key(group))
            if chart is not None:
                for key in [k for k in chart.series_keys() if k.startswith(OVERLAY_PREFIX)]:
                    chart.remove_series(key)
                self._attach_lines(chart, group)
        self._draw_all = True


def overlay_line(view: RunView, group: ChartGroup, axis: str) -> Series | None:
    """A compared run's line on the chart of ``group``: its metric of the same name
    (validation first), else its compare curve of the same base name (a trainer run's
    validation loss on a ``loss`` chart)."""
    scalars = view.scalars
    for name in (group.val, group.train):
        if name is not None and name in scalars:
            scalar = scalars[name]
            return Series(scalar.xs(axis), scalar.values)
    if axis != "step":
        return None
    _split, lines = view.compare_curves()
    points = lines.get(group.title, {}).get("step")
    return Series(*points) if points else None
