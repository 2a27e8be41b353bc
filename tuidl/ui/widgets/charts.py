"""Metric line charts: plotext drawn into a Textual widget, on a timer, at the widget's size.

A ``MetricChart`` holds references to ``Series`` (one per line). Whoever appends to a
series calls ``data_changed()``; the chart redraws on its own timer and only when
something changed, never once per event: a change of settings or size at the next
tick (``fps``, default 4 a second), new points every two seconds at most (``data_every``),
spaced further if a draw is slow so a chart takes at most ~5 % of a core. Each redraw
asks every series for at most ~2 points per dot column (``Series.view``), so it costs
the same for 100 points or 1,000,000.

The drawing itself (round ticks, the title and legend row, braille marks) is
``tuidl.core.textplot``, shared with the previews and the exported report; the result
is ANSI text, converted once to a Rich ``Text`` and cached: ``render()`` only returns
the cache. A draw that fails shows its reason in the chart and logs it once.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tuidl.core import textplot
from tuidl.ui import palette
from tuidl.ui.series import Series

__all__ = ["ChartMark", "MetricChart", "chart_cost"]

_WAITING = "waiting for data…"
_MIN_W, _MIN_H = 24, 6

log = logging.getLogger("tuidl.charts")


def _color(color, index: int) -> int:
    """A 0–255 colour: an index as it is, a name through :data:`palette.NAMES`, anything
    else the ``index``-th overlay colour."""
    if isinstance(color, int) and 0 <= color <= 255:
        return color
    name = str(color).strip().lower()
    if name in palette.NAMES:
        return palette.NAMES[name]
    return palette.OVERLAYS[index % len(palette.OVERLAYS)]


# -- the widget ----------------------------------------------------------------


RAW_COLOR = 240  # a dark grey: the raw points behind a smoothed line
RAW_LINES_MAX = 3


@dataclass(frozen=True)
class ChartMark:
    """A vertical line at ``x`` with what it means (``text``, one line): the chart's
    tooltip over it."""

    x: float
    text: str
    color: object = "yellow"


@dataclass
class _Line:
    series: Series
    label: str
    color: object


class MetricChart(Widget):
    """A line chart of one or more ``Series``.

    ``set_series(key, series, label, color)`` adds or updates a line; append to the
    series, then call ``mark_dirty()``. ``log_y``, ``smooth`` (TensorBoard EMA weight,
    0–0.99), ``x_label`` and ``x_range`` are reactive and trigger a redraw at the next
    tick. ``redraws`` counts actual redraws (tests and benchmarks read it)."""

    DEFAULT_CSS = """
    MetricChart {
        width: 1fr;
        height: 1fr;
        min-height: 6;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    fps: float = 4
    """Ticks per second: a change of settings or size is drawn at the next tick; set 1
    (or less) for low-bandwidth links."""
    data_every: float = 2.0
    """Seconds between redraws for new data at least (a run streams new points several
    times a second; a chart that follows them every two seconds reads as live, at half
    the cost of once a second)."""
    cpu_share: float = 0.05
    """Redraws for new data are spaced so they take at most this share of a core: a
    chart whose draw takes longer than ``data_every * cpu_share`` waits longer."""
    marks: str | None = None
    """Mark style (``textplot.MARKS``): "braille", "blocks" or "dots"; None follows
    ``$TUIDL_CHART_MARKS`` (braille on a UTF-8 terminal)."""

    log_y: reactive[bool] = reactive(False)
    log_x: reactive[bool] = reactive(False)
    raw_behind: bool = True
    """With smoothing on, each line's raw points are drawn faint behind its smoothed curve
    (charts of at most :data:`RAW_LINES_MAX` lines: an overlay of many runs draws the
    smoothed curves only)."""
    smooth: reactive[float] = reactive(0.0)
    x_label: reactive[str] = reactive("")
    x_range: reactive[tuple | None] = reactive(None)

    def __init__(
        self,
        title: str,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.redraws = 0
        self._lines: dict[str, _Line] = {}
        self._dirty = True
        self._new_data = False
        self._drawn_at = -math.inf
        self._draw_cost = 0.0
        self._rendered: Text = Text("", no_wrap=True, overflow="crop", end="")
        self._rendered_size: tuple[int, int] | None = None
        self._timer = None
        self._timer_fps: float | None = None
        self._external_clock = False
        self.failure: str | None = None
        """Why the last draw failed (also logged once), or None."""
        self._marks: tuple[ChartMark, ...] = ()
        self.mark_columns: list[tuple[int, tuple[ChartMark, ...]]] = []
        """Where the marks were drawn: (column in the widget, the marks at that x)."""

    # -- public API -----------------------------------------------------------

    def set_series(self, key: str, series: Series, label: str, color: str) -> None:
        """Register a line, or update its series, label or colour."""
        self._lines[key] = _Line(series, str(label), _color(color, len(self._lines)))
        self.mark_dirty()

    def remove_series(self, key: str) -> None:
        if self._lines.pop(key, None) is not None:
            self.mark_dirty()

    def set_marks(self, marks) -> None:
        """Vertical lines over the chart (:class:`ChartMark`), replacing those before."""
        marks = tuple(marks)
        if marks != self._marks:
            self._marks = marks
            self.mark_dirty()

    @property
    def marks_shown(self) -> tuple[ChartMark, ...]:
        return self._marks

    def mark_at(self, column: int) -> tuple[ChartMark, ...]:
        """The marks drawn at ``column`` (or next to it), else ()."""
        for col, marks in self.mark_columns:
            if abs(col - column) <= 1:
                return marks
        return ()

    def on_mouse_move(self, event) -> None:
        marks = self.mark_at(event.x)
        tip = " · ".join(m.text for m in marks) if marks else None
        if tip != self.tooltip:
            self.tooltip = tip

    def series_keys(self) -> list[str]:
        return list(self._lines)

    def mark_dirty(self) -> None:
        """Settings or lines changed: redraw at the next tick."""
        self._dirty = True

    def data_changed(self) -> None:
        """Points were appended to a series: redraw when ``data_every`` has passed (cheap;
        call it per batch of events)."""
        self._new_data = True

    @property
    def dirty(self) -> bool:
        return self._dirty or self._new_data

    def set_title(self, title: str) -> None:
        self.title = title
        self.mark_dirty()

    def render_text(self, width: int, height: int) -> str:
        """The chart as plain text (no colour) at ``width``×``height``, for reports."""
        width, height = max(1, int(width)), max(1, int(height))
        return self._render_text_rich(width, height).plain

    def redraw(self) -> None:
        """Draw now at the widget's current size (the timer calls this when needed)."""
        w, h = self.size
        if w <= 0 or h <= 0:
            return
        start = time.perf_counter()
        self._rendered = self._render_text_rich(w, h)
        self._rendered_size = (w, h)
        self._dirty = self._new_data = False
        self._drawn_at = time.monotonic()
        self._draw_cost = time.perf_counter() - start
        self.redraws += 1
        self.refresh()

    # -- Textual --------------------------------------------------------------

    def watch_log_y(self, _old, _new) -> None:
        self.mark_dirty()

    def watch_log_x(self, _old, _new) -> None:
        self.mark_dirty()

    def validate_smooth(self, value) -> float:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return 0.0
        if not math.isfinite(v) or v <= 0:
            return 0.0
        return min(v, 0.99)

    def watch_smooth(self, _old, _new) -> None:
        self.mark_dirty()

    def watch_x_label(self, _old, _new) -> None:
        self.mark_dirty()

    def watch_x_range(self, _old, _new) -> None:
        self.mark_dirty()

    def on_mount(self) -> None:
        if not self._external_clock:
            self._start_timer()

    def use_external_clock(self) -> None:
        """Stop the chart's own timer: its owner calls :meth:`tick` instead, for several
        charts in one go, so the redraws that fall due together reach the screen in one
        update instead of one each."""
        self._external_clock = True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def tick(self) -> None:
        """Redraw if something changed and a redraw is due (see ``fps``, ``data_every``)."""
        self._tick()

    def on_resize(self) -> None:
        if self._rendered_size is None:
            self.redraw()  # first size known: don't wait a tick to show something

    def render(self) -> Text:
        return self._rendered

    def render_lines(self, crop: Region) -> list[Strip]:
        # What the screen then does with a drawing (the text's lines made into strips,
        # the styles laid over them) costs about as much as the drawing itself: it counts
        # in the draw's cost, and so in the share of a core the chart keeps to.
        start = time.perf_counter()
        lines = super().render_lines(crop)
        self._draw_cost += time.perf_counter() - start
        return lines

    def _start_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        fps = self.fps if self.fps and self.fps > 0 else 1
        self._timer_fps = self.fps
        self._timer = self.set_interval(1.0 / fps, self._tick, name="chart-redraw")

    def _tick(self) -> None:
        if not self._external_clock and self.fps != self._timer_fps:
            self._start_timer()
        w, h = self.size
        if w <= 0 or h <= 0 or not self.display:
            return
        if not self._dirty and self._rendered_size == (w, h):
            if not self._new_data:
                return
            wait = max(self.data_every, self._draw_cost / max(self.cpu_share, 1e-3))
            if time.monotonic() - self._drawn_at < wait:
                return
        if not self.is_on_screen:
            return  # hidden (another tab, scrolled away): draw when it is back
        self.redraw()

    # -- drawing --------------------------------------------------------------

    def _placeholder(self, width: int, height: int) -> Text:
        lines = [""] * height
        lines[0] = self.title.center(width)[:width]
        if height >= 3:
            lines[height // 2] = _WAITING.center(width)[:width]
        elif height == 2:
            lines[1] = _WAITING.center(width)[:width]
        text = Text("\n".join(lines), no_wrap=True, overflow="crop", end="")
        if self.title:
            text.stylize("bold", 0, len(lines[0]))
        text.highlight_words([_WAITING], "dim italic")
        return text

    def _compact(self, width: int, height: int) -> Text:
        """Too small for axes: the title and each line's latest value."""
        parts = [self.title] if self.title else []
        for line in self._lines.values():
            last = line.series.last_finite()
            if last is not None:
                parts.append(f"{line.label} {last[1]:.4g}")
        body = "  ".join(parts) if parts else _WAITING
        lines = [body[:width]] + [""] * (height - 1)
        return Text("\n".join(lines), no_wrap=True, overflow="crop", end="")

    def _render_text_rich(self, width: int, height: int) -> Text:
        if width < _MIN_W or height < _MIN_H:
            if not any(len(line.series) for line in self._lines.values()):
                return self._placeholder(width, height)
            return self._compact(width, height)
        try:
            rows = self._plot_rows(width, height)
        except Exception as exc:  # a chart must never take the UI down: it says why instead
            return self._failed(exc, width, height)
        self.failure = None
        if rows is None:
            return self._placeholder(width, height)
        return Text.from_ansi("\n".join(rows), no_wrap=True, overflow="crop", end="")

    def _failed(self, exc: Exception, width: int, height: int) -> Text:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if reason != self.failure:
            log.warning("chart %r cannot draw: %s", self.title, reason, exc_info=exc)
        self.failure = reason
        lines = [self.title[:width], f"cannot draw: {reason}"[:width]] + [""] * max(0, height - 2)
        text = Text("\n".join(lines[:height]), no_wrap=True, overflow="crop", end="")
        text.stylize("bold red")
        return text

    def _plot_rows(self, width: int, height: int) -> list[str] | None:
        """The chart as rows of ANSI text, or None when no line has a drawable point."""
        log_y = bool(self.log_y)
        smooth = float(self.smooth)
        marks = self.marks if self.marks in textplot.MARKS else textplot.default_marks()
        # at most about two points per dot column (each bucket's minimum and maximum):
        # the cost of a redraw does not depend on the length of the run
        columns = max(1, (width - 8) * textplot.MARK_COLUMNS[marks])
        if len(self._lines) > 3:  # an overlay of many runs: fewer buckets a line (one per character
            # column at least), so ten lines cost about what three do
            columns = max(1, width - 8, columns * 3 // len(self._lines))
        lines = []
        if smooth > 0 and self.raw_behind and len(self._lines) <= RAW_LINES_MAX:
            for line in self._lines.values():  # first: under the smoothed ones
                xs, ys = line.series.view(columns, x_range=self.x_range, log_y=log_y)
                if xs.size:
                    lines.append(textplot.PlotLine(xs, ys, "", RAW_COLOR, legend=False))
        for line in self._lines.values():
            xs, ys = line.series.view(columns, x_range=self.x_range, smooth=smooth, log_y=log_y)
            if xs.size:
                lines.append(textplot.PlotLine(xs, ys, line.label, line.color))
        if not lines:
            return None
        by_x: dict[float, tuple[ChartMark, ...]] = {}
        for mark in self._marks:
            by_x[float(mark.x)] = by_x.get(float(mark.x), ()) + (mark,)
        vlines = [(x, _color(group[0].color, 0)) for x, group in sorted(by_x.items())]
        rows = textplot.line_chart(lines, width, height, title=self.title, x_label=self.x_label,
                                   log_y=log_y, marks=marks, vlines=vlines, log_x=bool(self.log_x))
        columns = textplot.vline_columns(rows) if vlines else []
        groups = [group for _x, group in sorted(by_x.items())]
        # the lines outside the x range are not drawn: the columns are those of the first ones
        self.mark_columns = list(zip(columns, groups)) if len(columns) <= len(groups) else []
        return rows


def chart_cost(n_points: int, width: int = 120, height: int = 40) -> float:
    """Seconds one redraw of a ``width``×``height`` chart takes with ``n_points`` points:
    the median of three redraws after a warm-up (the series is built before timing)."""
    n = max(1, int(n_points))
    rng = np.random.default_rng(0)
    x = np.arange(n, dtype=np.float64)
    y = np.exp(-x / max(1.0, n / 4)) + 0.05 * np.abs(np.cumsum(rng.normal(size=n))) / math.sqrt(n)
    series = Series()
    series.extend(x, y)
    chart = MetricChart("loss")
    chart.x_label = "step"
    chart.set_series("train", series, "train", "cyan")
    chart._render_text_rich(width, height)  # warm-up: imports, caches
    times = []
    for _ in range(3):
        start = time.perf_counter()
        chart._render_text_rich(width, height)
        times.append(time.perf_counter() - start)
    return sorted(times)[1]
