"""The Training pane's view of a run: the loss, metric and learning-rate charts, the
decision boundary (2-D Playground data), the event log and the test results
(:class:`RunCharts`), and the line under the progress that says how the charts are
drawn (:class:`ChartModes`).

Everything shown comes from a :class:`~tuidl.core.run.runview.RunView`: the charts draw
the view's own lines (a dashboard's view keeps them as :class:`~tuidl.ui.series.Series`:
:func:`tuidl.ui.session.new_view`), and the log writes one line for each event the view
took (a malformed one is said once, never raised).

Other runs can be laid over the loss and metric charts for comparison
(:meth:`RunCharts.set_overlays`): each one's validation curve (its training curve when
it has no validation split) becomes an extra line with its own colour and label.
Overlays stay when a new run starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.containers import Horizontal, VerticalScroll
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import RichLog, Static, TabbedContent, TabPane

from tuidl.core.run.fitting import FitMark, fit_marks
from tuidl.core.run.runview import Applied, RunView, Taken
from tuidl.ui import palette
from tuidl.ui.widgets.boundary import BoundaryPlot
from tuidl.ui.widgets.charts import ChartMark, MetricChart
from tuidl.ui.widgets.lab import adversarial_line
from tuidl.ui.widgets.results import ResultsView, metrics_text
from tuidl.ui.panes.event_lines import LINES
from tuidl.ui.panes.run_controls import fmt_duration
from tuidl.ui.series import Series
from tuidl.ui.throttle import Throttle
from tuidl.core.numbers import to_float

SMOOTH_ON = 0.6
LOG_EVERY_S = 1.0  # event log writes for a stream of events, at most once a second

OVERLAY_PREFIX = "overlay:"
MARK_COLORS = {"overfit": "red", "kept": "green", "underfit": "yellow"}  # the loss chart's fit marks
MARK_SYMBOL = "┃"
MARK_NAMES = {"overfit": "overfitting begins", "kept": "its weights kept", "underfit": "still learning at the end"}




@dataclass
class Overlay:
    """A compared run's curves: ``split`` (``val``, or ``train`` when the run had no
    validation split) loss and metrics, by epoch and by the step each epoch ended at."""

    label: str
    color: str
    split: str
    loss: dict[str, Series]  # "epoch" / "step" -> Series
    metrics: dict[str, dict[str, Series]]  # metric name -> {"epoch": Series, "step": Series}
    test: dict[str, float] = field(default_factory=dict)  # the run's test metrics, if it was tested

    @classmethod
    def from_view(cls, label: str, view: RunView, color: str) -> "Overlay":
        split, lines = view.compare_curves()
        series = {name: {axis: Series(*points) for axis, points in by_axis.items()}
                  for name, by_axis in lines.items()}
        loss = series.pop("loss", None) or {"epoch": Series(), "step": Series()}
        test = dict((view.test or {}).get("metrics") or {})
        return cls(label, color, split, loss, series, test)

    def line_label(self, name: str = "loss") -> str:
        """The legend's label on the chart of ``name`` (loss or a metric): the run, which
        split its line is, and its test figure (what a comparison is often about: MNIST-1D
        shuffled or not, trained without a validation split)."""
        label = self.label if self.split == "val" else f"{self.label} (train)"
        value = self.test.get(name)
        if isinstance(value, (int, float)) and math.isfinite(value):
            label += f" · test {value:.1%}" if name == "acc" else f" · test {value:.4g}"
        return label


class Curves:
    """The Series the charts draw, by step and by epoch: a RunView's own lines (see
    :func:`tuidl.ui.session.new_view`), by the charts' names: ``loss``, ``val_loss``, ``metric`` and
    ``val_metric`` (the metric charted: accuracy or MAE) and ``lr``."""

    def __init__(self, view: RunView, metric: str) -> None:
        self.view, self.metric = view, metric

    def _lines(self, axis: str) -> dict[str, Series]:
        line, m = self.view.curves.line, self.metric
        return {"loss": line(axis, "loss"), "val_loss": line(axis, "val_loss"), "metric": line(axis, m),
                "val_metric": line(axis, "val_" + m), "lr": line(axis, "lr")}

    @property
    def step(self) -> dict[str, Series]:
        return self._lines("step")

    @property
    def epoch(self) -> dict[str, Series]:
        return self._lines("epoch")


class EventLog(RichLog):
    """The run's event log. A new line changes only this widget's scrollable size, so
    it repaints itself and its scrollbar (always shown, see app.tcss) instead of asking
    Textual to lay out the whole screen again, which a ``RichLog`` does per write."""

    virtual_size = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        self._scroll_update(size)


class ChartModes(Static):
    """``x: steps [e] · log y: off [l] · smoothing: 0 [m]``."""

    def show(self, x_axis: str, log_y: bool, smooth: float) -> None:
        self.update(self.text(x_axis, log_y, smooth), layout=False)

    @staticmethod
    def text(x_axis: str, log_y: bool, smooth: float) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", style="dim")
        text.append(f"x: {x_axis}s [e] · log y: {'on' if log_y else 'off'} [l] · smoothing: {smooth:g} [m]")
        return text


class RunCharts(VerticalScroll):
    """The charts, the boundary, and the event log and test results as tabs. The views
    share the height; on a short terminal they keep a readable size and scroll."""

    def __init__(self, modes: ChartModes, view: RunView, metric: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.modes = modes
        self.view = view  # the run shown (its lines are the charts' Series)
        self.x_axis = "step"
        self.log_y = False
        self.smooth = 0.0
        self.overlays: dict[str, Overlay] = {}  # label -> a compared run's curves
        self.metric = metric  # the metric charted (its view's name): acc or mae
        # Widgets used on every batch of events are kept as attributes: a DOM query per
        # event would cost more than the event.
        self.loss_chart = MetricChart("loss", id="loss-chart")
        self.metric_chart = MetricChart(self.metric_title(metric), id="metric-chart")
        self.lr_chart = MetricChart("learning rate", id="lr-chart")
        self.charts = (self.loss_chart, self.metric_chart, self.lr_chart)
        self.boundary = BoundaryPlot(id="boundary")
        self.event_log = EventLog(id="event-log", max_lines=2000, wrap=True, markup=False, auto_scroll=True)
        self.results = ResultsView(id="results")
        # over- and underfitting: marks on the loss chart, the selected one explained here
        self.fit_note = Static("", id="fit-note")
        self.fit_note.display = False
        self.fit_marks: list[FitMark] = []
        self.selected_mark = -1  # the mark explained under the charts; -1: none chosen yet (o)
        self.tabs = TabbedContent(id="train-tabs", initial="tab-log")
        self._log_pending: list[Text] = []
        self._write_log = Throttle(self, LOG_EVERY_S, self._flush_log)
        self._in_batch = False
        self._t0: float | None = None
        self._logged_bad = False
        self._telemetry_problem: str | None = None

    def compose(self):
        with Horizontal(id="curves"):
            yield self.loss_chart
            yield self.metric_chart
        yield self.fit_note
        with Horizontal(id="extras"):
            yield self.lr_chart
            yield self.boundary
        with self.tabs:
            with TabPane("Event log", id="tab-log"):
                yield self.event_log
            with TabPane("Test results", id="tab-results"):
                yield self.results

    def start_clock(self, fps: int, low_bandwidth: bool) -> None:
        """The charts redraw on the pane's clock (:meth:`tick`), ``fps`` times a second at most."""
        for chart in self.charts:
            chart.use_external_clock()
            chart.fps = fps
            if low_bandwidth:
                chart.data_every = 4.0
        if low_bandwidth:
            self.boundary.fps = 1
        self._attach_series()
        self._apply_view()

    def tick(self) -> None:
        for chart in self.charts:
            chart.tick()

    # -- a run -------------------------------------------------------------------------
    @property
    def curves(self) -> Curves:
        """The Series drawn (the view's own lines)."""
        return Curves(self.view, self.metric)

    def reset(self, view: RunView) -> None:
        """Show another run, from ``view`` (made by :func:`tuidl.ui.session.new_view`)."""
        self.view = view
        if self.is_mounted:
            self._attach_series()
        self._t0 = None
        self._log_pending = []
        self.event_log.clear()
        self.results.clear()
        self.boundary.clear()
        self.tabs.active = "tab-log"
        self.fit_marks, self.selected_mark = [], -1
        self.loss_chart.set_marks(())
        self.fit_note.display = False
        for chart in self.charts:
            chart.mark_dirty()

    @staticmethod
    def metric_title(metric: str) -> str:
        return "MAE" if metric == "mae" else "accuracy"

    def set_metric(self, metric: str) -> None:
        """Chart ``mae`` or ``acc`` next to the loss."""
        if metric != self.metric:
            self.metric = metric
            if self.is_mounted:
                self._attach_series()
        self.metric_chart.set_title(self.metric_title(metric))

    def take(self, applied: Applied, task: str) -> int:
        """Show what the view took in ``applied``: its new points (already in the
        charts' Series), the boundary, the test results and one log line an event.
        Returns the events that could not be shown."""
        bad = 0
        self._in_batch = True
        try:
            for taken in applied.taken:
                try:
                    self._show(taken, self.view, task)
                except (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError) as e:
                    bad += 1
                    self._said_bad(taken.ev, f"{type(e).__name__}: {e}")
        finally:
            self._in_batch = False
        for chart in self.charts:
            chart.data_changed()
        if any(t.kind in ("epoch", "note", "run_ended") for t in applied.taken):
            self.update_fit_marks()
        self._write_log(now=bool(self.view.progress.status))  # a run's end shows at once
        return bad

    # -- over- and underfitting marks ----------------------------------------------------
    def update_fit_marks(self) -> None:
        """The run's fit marks (:func:`tuidl.core.run.fitting.fit_marks`) on the loss chart,
        at the x axis shown, and the selected one's line under the charts."""
        marks = fit_marks(self.view)
        if marks != self.fit_marks:
            self.fit_marks = marks
            self.selected_mark = min(self.selected_mark, len(marks) - 1)
        chart_marks = []
        for mark in self.fit_marks:
            x = mark.epoch if self.x_axis == "epoch" else mark.step
            if x is not None:
                chart_marks.append(ChartMark(float(x), mark.text, MARK_COLORS.get(mark.kind, "yellow")))
        self.loss_chart.set_marks(chart_marks)
        self._show_fit_note()

    def next_fit_mark(self) -> FitMark | None:
        """Explain the next mark (round; the first press, the first mark); None without marks."""
        if not self.fit_marks:
            return None
        self.selected_mark = (self.selected_mark + 1) % len(self.fit_marks)
        self._show_fit_note()
        return self.fit_marks[self.selected_mark]

    def _show_fit_note(self) -> None:
        """One mark: what it means. Several: which they are, until ``o`` picks one to
        explain (the first press explains the first: it never replaces an explanation
        that was showing with another)."""
        marks = self.fit_marks
        if not marks:
            self.fit_note.display = False
            return
        if self.selected_mark < 0 and len(marks) > 1:
            text = Text()
            for i, mark in enumerate(marks):
                color = palette.NAMES[MARK_COLORS.get(mark.kind, "yellow")]
                text.append(("" if i == 0 else "  ") + MARK_SYMBOL + " ", style=palette.style(color, bold=True))
                text.append(f"epoch {mark.epoch}: {MARK_NAMES.get(mark.kind, mark.kind)}")
            text.append("  (o explains each)", style="dim")
        else:
            index = max(0, self.selected_mark)
            mark = marks[index]
            color = palette.NAMES[MARK_COLORS.get(mark.kind, "yellow")]
            text = Text(MARK_SYMBOL + " ", style=palette.style(color, bold=True))
            text.append(mark.text)
            if len(marks) > 1:
                text.append(f"  ({index + 1}/{len(marks)}, o: next)", style="dim")
        self.fit_note.update(text)
        self.fit_note.display = True

    def _show(self, taken: Taken, view: RunView, task: str) -> None:
        ev = taken.ev
        if taken.kind in LINES:
            for message, style, stamped in LINES[taken.kind](ev, self.metric):
                self.log_line(message, style, ev if stamped else None)
        elif taken.kind == "malformed":
            self._said_bad(ev, taken.problem)
        elif taken.kind == "boundary":
            self.boundary.display = True
            self.boundary.update_boundary(ev)
        elif taken.kind == "telemetry":
            problem = ev.get("problem")
            if problem and not self._telemetry_problem:
                self._telemetry_problem = problem
                self.log_line(f"telemetry: {problem}", "dim", ev)
        elif taken.kind == "test":
            info = view.run_info
            self.results.show_test(ev, classes=info.get("classes"), task=info.get("task") or task,
                                   input_shape=info.get("input_shape"), placement=view.test_placement,
                                   preset=str(info.get("preset") or ""))
            self.log_line(metrics_text(ev.get("metrics")).plain, palette.style(palette.TEST, bold=True), ev)
            self.tabs.active = "tab-results"
        elif taken.kind == "adversarial":
            self.results.show_adversarial(ev)
            line = adversarial_line(ev)
            self.log_line(line.plain if line is not None else "adversarial test", "", ev)

    # -- the log -----------------------------------------------------------------------
    def _said_bad(self, ev: Any, why: str) -> None:
        if not self._logged_bad:
            self._logged_bad = True
            kind = ev.get("type") if isinstance(ev, dict) else type(ev).__name__
            self.log_line(f"ignored a malformed {kind!s} event ({why})", "yellow")

    def _stamp(self, ev: dict[str, Any]) -> str:
        t = to_float(ev.get("time"))
        if not math.isfinite(t):
            return ""
        if self._t0 is None:
            self._t0 = t
        return f"+{fmt_duration(t - self._t0)} "

    def log_line(self, message: str, style: str = "", ev: dict[str, Any] | None = None) -> None:
        """Add a line to the event log. Lines from a batch of events are written together
        at most once a second (each write repaints the log, and a run of short epochs logs
        several a second); any other line is written at once."""
        text = Text()
        if ev is not None:
            text.append(self._stamp(ev), style="dim")
        text.append(message, style=style)
        self._log_pending.append(text)
        if not self._in_batch:
            self._write_log(now=True)

    def _flush_log(self) -> None:
        if self._log_pending:
            lines, self._log_pending = self._log_pending, []
            self.event_log.write(Text("\n").join(lines) if len(lines) > 1 else lines[0])

    # -- how the charts are drawn ---------------------------------------------------------
    def _attach_series(self) -> None:
        curves = self.curves
        src = curves.step if self.x_axis == "step" else curves.epoch
        self.loss_chart.set_series("train", src["loss"], "train", palette.TRAIN)
        self.loss_chart.set_series("val", src["val_loss"], "validation", palette.VAL)
        self.metric_chart.set_series("train", src["metric"], "train", palette.TRAIN)
        self.metric_chart.set_series("val", src["val_metric"], "validation", palette.VAL)
        self.lr_chart.set_series("lr", src["lr"], "learning rate", palette.LR)
        self.attach_overlays()

    def _apply_view(self) -> None:
        for chart in self.charts:
            chart.x_label = self.x_axis
            chart.smooth = self.smooth if chart.id != "lr-chart" else 0.0
        self.loss_chart.log_y = self.log_y
        self.lr_chart.log_y = self.log_y
        self.modes.show(self.x_axis, self.log_y, self.smooth)

    def toggle_x_axis(self) -> str:
        self.x_axis = "epoch" if self.x_axis == "step" else "step"
        self._attach_series()
        self._apply_view()
        self.update_fit_marks()
        return self.x_axis

    def toggle_log(self) -> bool:
        self.log_y = not self.log_y
        self._apply_view()
        return self.log_y

    def toggle_smooth(self) -> float:
        self.smooth = 0.0 if self.smooth else SMOOTH_ON
        self._apply_view()
        return self.smooth

    def cycle_marks(self) -> str:
        """Draw the charts with the next mark style (braille → blocks → dots → braille),
        for fonts without braille; ``$TUIDL_CHART_MARKS`` sets the first one."""
        from tuidl.core import textplot

        styles = list(textplot.MARKS)
        current = self.loss_chart.marks or textplot.default_marks()
        marks = styles[(styles.index(current) + 1) % len(styles)]
        for chart in self.charts:
            chart.marks = marks
            chart.mark_dirty()
        return marks

    def redraw_now(self) -> None:
        """Draw every chart and the boundary at once (screenshots, tests)."""
        for chart in self.charts:
            chart.redraw()
        self.boundary.refresh()

    # -- compared runs ----------------------------------------------------------------
    def set_overlays(self, views: dict[str, RunView]) -> list[str]:
        """Lay other runs over the loss and metric charts, replacing any shown before:
        ``{label: RunView}``. Each run's validation curve becomes a line of its own
        colour. Returns the labels shown."""
        self.overlays = {}
        for i, (label, view) in enumerate(views.items()):
            color = palette.OVERLAYS[i % len(palette.OVERLAYS)]
            self.overlays[str(label)] = Overlay.from_view(str(label), view, color)
        self.attach_overlays()
        return list(self.overlays)

    def clear_overlays(self) -> None:
        """Remove every compared run from the charts."""
        self.overlays = {}
        self.attach_overlays()

    def overlay_keys(self) -> list[str]:
        """The chart keys of the compared runs' lines (on the loss chart)."""
        return [k for k in self.loss_chart.series_keys() if k.startswith(OVERLAY_PREFIX)]

    def attach_overlays(self) -> None:
        """(Re)attach the compared runs' lines for the current x axis and metric."""
        axis = "step" if self.x_axis == "step" else "epoch"
        for chart in (self.loss_chart, self.metric_chart):
            for key in chart.series_keys():
                if key.startswith(OVERLAY_PREFIX):
                    chart.remove_series(key)
        for overlay in self.overlays.values():
            key = OVERLAY_PREFIX + overlay.label
            self.loss_chart.set_series(key, overlay.loss[axis], overlay.line_label("loss"), overlay.color)
            if self.metric in overlay.metrics:
                self.metric_chart.set_series(key, overlay.metrics[self.metric][axis], overlay.line_label(self.metric),
                                             overlay.color)
