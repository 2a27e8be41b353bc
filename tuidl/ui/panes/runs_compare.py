"""Marked runs side by side (issue 28): the config keys whose values differ (only those),
each run's summary under them, and any metric of theirs overlaid in one chart.

The Runs pane opens it with ``D`` on the marked runs (or the run under the cursor). Preset
runs and logged runs alike: a preset run's config is its resolved preset, a logged run's
its ``config.json`` (:func:`tuidl.core.run.runtable.config_diff`); the curves come from each
run's events (:func:`tuidl.core.run.curves.run_curves`), read in a thread.

Keys: ``[`` / ``]`` the metric before / after, ``x`` the x axis (step, epoch, wall time, time
since the start, then each metric of the runs), ``l`` / ``L`` a log scale on y / on x, ``m``
smoothing (the raw points stay faint behind the smoothed line), ``escape`` closes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tuidl.core import textplot
from tuidl.core.run import runtable as T
from tuidl.core.run.curves import AXES, Curves, run_curves
from tuidl.core.run.rundir import RunDir
from tuidl.core.run.runlist import RunRow, run_label
from tuidl.ui import palette
from tuidl.ui.series import Series
from tuidl.ui.widgets.charts import MetricChart

SMOOTH = 0.6


@dataclass
class Compared:
    """What the thread read: each run's label and curves, the config diff and summaries."""

    labels: list[str]
    curves: list[Curves]
    diff: list[tuple[str, list[str]]]
    summary: list[tuple[str, list[str]]]
    problems: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> list[str]:
        """Every metric any run has, those most runs have first (then by name)."""
        counts: dict[str, int] = {}
        for c in self.curves:
            for name in c.names:
                counts[name] = counts.get(name, 0) + 1
        return sorted(counts, key=lambda n: (-counts[n], not n.startswith("val"), n))


def read_compared(rows: list[RunRow]) -> Compared:
    """The comparison of these runs (in a thread: it reads their configs and events)."""
    from tuidl.core.run import runview

    labels, curves, problems = [], [], []
    for row in rows:
        label = run_label(row.id, row.preset)
        while label in labels:
            label += "'"
        labels.append(label)
        try:
            curves.append(run_curves(runview.load(row.run)))
        except OSError as e:
            problems.append(f"{row.id}: {e.strerror or e}")
            curves.append(Curves(0.0))
    return Compared(labels, curves, T.config_diff(rows), T.summary_rows(rows), problems)


def line_of(curves: Curves, metric: str, x: str, t0: float = 0.0) -> Series | None:
    """One run's line of ``metric`` on axis ``x`` (in x order; wall time from ``t0``), or
    None when the run has no such points."""
    xs, ys = curves.curve(metric, x)
    if x == "wall":
        xs = xs - t0
    if not xs.size:
        return None
    order = np.argsort(xs, kind="stable")
    return Series(xs[order], ys[order])


def diff_table(compared: Compared) -> Table:
    """Keys down the side, runs across: the differing config keys, then the summaries."""
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    table.add_column("", style="bold", no_wrap=True, overflow="ellipsis", max_width=32)
    for i, label in enumerate(compared.labels):
        table.add_column(Text(label, style=palette.style(palette.OVERLAYS[i % len(palette.OVERLAYS)])),
                         overflow="fold")
    if compared.diff:
        for key, values in compared.diff:
            table.add_row(key, *values)
    else:
        table.add_row(Text("config", style="dim"), *([Text("the same", style="dim")] * len(compared.labels)))
    table.add_section()
    for key, values in compared.summary:
        table.add_row(Text(key, style="cyan"), *values)
    return table


class CompareScreen(Screen[None]):
    """The config diff, summaries and overlaid curves of some runs."""

    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("left_square_bracket", "metric(-1)", "Metric", key_display="["),
        Binding("right_square_bracket", "metric(1)", "Metric", key_display="]"),
        Binding("x", "x_axis", "X axis"),
        Binding("l", "log_y", "Log y"),
        Binding("L", "log_x", "Log x"),
        Binding("m", "smooth", "Smooth"),
    ]

    DEFAULT_CSS = """
    CompareScreen #compare-diff {
        height: auto;
        max-height: 45%;
    }
    CompareScreen #compare-axes {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    CompareScreen #compare-chart {
        height: 1fr;
        min-height: 8;
    }
    """

    def __init__(self, rows: list[RunRow]) -> None:
        super().__init__()
        self.rows = list(rows)
        self.compared: Compared | None = None
        self.metric = ""
        self.x = "step"
        # each run's line by (run, metric, x axis), made once: a redraw (log scale, smoothing, a
        # metric shown again) sorts no points again and keeps each line's smoothing (Series caches it)
        self._lines: dict[tuple[int, str, str], Series | None] = {}

    def compose(self) -> ComposeResult:
        self.heading = Static(Text(f"Comparing {len(self.rows)} runs: reading…", style="bold"), id="compare-title")
        self.diff = Static("", id="compare-diff-table")
        self.axes = Static("", id="compare-axes")
        self.chart = MetricChart("", id="compare-chart")
        yield self.heading
        with VerticalScroll(id="compare-diff"):
            yield self.diff
        yield self.axes
        yield self.chart
        yield Footer(compact=True)

    def on_mount(self) -> None:
        rows = self.rows

        def read() -> Compared:
            textplot.preload()  # (the chart's first draw would import it, on the UI thread)
            return read_compared(rows)

        self.run_worker(read, name="compare runs", group="compare-read", thread=True, exit_on_error=False)

    def on_worker_state_changed(self, event) -> None:
        worker = event.worker
        if worker.group != "compare-read" or not worker.is_finished:
            return
        if worker.error is not None or not isinstance(worker.result, Compared):
            self.heading.update(Text(f"could not read the runs: {worker.error!r}", style="bold red"))
            return
        self.show(worker.result)

    def show(self, compared: Compared) -> None:
        self.compared = compared
        self._lines.clear()
        n = len(compared.labels)
        head = Text(f"Comparing {n} run{'s' if n != 1 else ''}", style="bold")
        head.append(f" · {len(compared.diff)} config key{'s' if len(compared.diff) != 1 else ''} differ"
                    if n > 1 else " · mark two runs or more (space) to see how their configs differ", style="dim")
        if compared.problems:
            head.append(" · " + "; ".join(compared.problems), style="yellow")
        self.heading.update(head)
        self.diff.update(diff_table(compared))
        metrics = compared.metrics
        self.metric = metrics[0] if metrics else ""
        self.draw()

    @property
    def axes_choices(self) -> list[str]:
        return list(AXES) + [m for m in (self.compared.metrics if self.compared else []) if m != self.metric]

    def draw(self) -> None:
        compared = self.compared
        if compared is None:
            return
        for key in self.chart.series_keys():
            self.chart.remove_series(key)
        drawn = 0
        t0 = min((c.t0 for c in compared.curves if c.t0), default=0.0)  # wall time: from the earliest start
        for i, (label, curves) in enumerate(zip(compared.labels, compared.curves)):
            key = (i, self.metric, self.x)
            if key not in self._lines:
                self._lines[key] = line_of(curves, self.metric, self.x, t0)
            series = self._lines[key]
            if series is not None:
                self.chart.set_series(f"run{i}", series, label, palette.OVERLAYS[i % len(palette.OVERLAYS)])
                drawn += 1
        self.chart.set_title(self.metric or "no metric")
        self.chart.x_label = {"wall": f"wall time, s after {time.strftime('%Y-%m-%d %H:%M', time.localtime(t0))}",
                              "relative": "time since each run's start (s)"}.get(self.x, self.x)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{self.metric or '—'}", style="bold")
        text.append(f" by {self.x}")
        if self.chart.log_x:
            text.append(" · log x")
        if self.chart.log_y:
            text.append(" · log y")
        if self.chart.smooth:
            text.append(f" · smoothed {self.chart.smooth:g} (raw faint)")
        text.append(f" · {drawn} of {len(compared.labels)} runs have it", style="dim")
        text.append(" · [ ] metric · x axis · l/L log · m smooth", style="dim")
        self.axes.update(text)

    def action_metric(self, step: int) -> None:
        metrics = self.compared.metrics if self.compared else []
        if not metrics:
            return
        i = metrics.index(self.metric) if self.metric in metrics else -step
        self.metric = metrics[(i + step) % len(metrics)]
        if self.x == self.metric:
            self.x = "step"
        self.draw()

    def action_x_axis(self) -> None:
        choices = self.axes_choices
        i = choices.index(self.x) if self.x in choices else -1
        self.x = choices[(i + 1) % len(choices)]
        self.draw()

    def action_log_y(self) -> None:
        self.chart.log_y = not self.chart.log_y
        self.draw()

    def action_log_x(self) -> None:
        self.chart.log_x = not self.chart.log_x
        self.draw()

    def action_smooth(self) -> None:
        self.chart.smooth = 0.0 if self.chart.smooth else SMOOTH
        self.draw()

    def action_close(self) -> None:
        self.dismiss(None)


class CompareActions:
    """The Runs pane's marks and comparisons (a part of the pane, kept here so the pane's own
    class stays small): ``space`` marks a run, ``v`` lays the marked runs (else the run under
    the cursor) over the Training pane's charts, ``C`` clears that, ``b`` compares the run shown
    with the earlier runs of its preset, ``D`` opens the marked runs side by side. The pane
    gives ``rows``, ``marked``, ``table``, ``_need_row()``, ``_update_row()``, ``_show_hint()``
    and the ``CompareRuns`` and ``CompareEarlier`` messages."""

    def action_diff(self) -> None:
        rows = [r for r in self.rows if r.id in self.marked]
        if not rows:
            row = self._need_row("compare")
            if row is None:
                return
            rows = [row]
        self.app.push_screen(CompareScreen(rows))

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

    def action_compare_earlier(self) -> None:
        self.post_message(self.CompareEarlier())
