"""Text charts: line charts and scatter plots drawn by plotext, with tuidl's own axes.

One module draws every chart tuidl shows or writes: the dashboard's loss, accuracy and
learning-rate charts (and the runs laid over them), the Dataset pane's scatter preview
and the charts in a Markdown export. No Textual and no Rich here: the result is text,
with ANSI colours or without.

What this module adds to plotext:

* **Round ticks in the unit of the axis** (:func:`linear_ticks`, :func:`log_ticks`):
  whole steps and epochs on an integer axis, 1-2-5 multiples elsewhere, decades on a log
  axis, never fewer than two ticks and never so many that their labels touch.
* **A header row** with the title on the left and the legend on the right
  (:func:`header`), so neither is ever drawn over the data.
* **Marks** (:data:`MARKS`): braille dots (2×4 per character, the finest a terminal can
  show) by default; quadrant blocks (2×2) for fonts without braille; plain dots where the
  terminal does not speak UTF-8. ``TUIDL_CHART_MARKS`` chooses.
* **One lock**: plotext 5 keeps one global figure, so every draw in the process takes
  :data:`PLOT_LOCK`.

plotext is pinned below 6 (``pyproject.toml``): 6.x dropped the module API used here.
"""

from __future__ import annotations

import locale
import math
import os
import re
import sys
import threading
from dataclasses import dataclass
from typing import Sequence

__all__ = [
    "MARKS",
    "PLOT_LOCK",
    "PlotLine",
    "PointGroup",
    "default_marks",
    "header",
    "line_chart",
    "linear_ticks",
    "log_ticks",
    "plain",
    "preload",
    "scatter_chart",
]

MARKS = {"braille": "braille", "blocks": "hd", "dots": "dot"}
"""Mark styles by name → plotext marker: ``braille`` (2×4 dots a character), ``blocks``
(2×2 quadrant blocks, for fonts without braille), ``dots`` (one dot a character)."""

MARKS_ENV = "TUIDL_CHART_MARKS"

#: Columns a mark style resolves per character (what a series' downsampling should ask for).
MARK_COLUMNS = {"braille": 2, "blocks": 2, "dots": 1}

#: Plain-text markers, one per line, so lines stay apart without colour (reports).
PLAIN_MARKERS = ("•", "x", "+", "*", "o", "#")

PLOT_LOCK = threading.RLock()

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_plt = None


def _plotext():
    global _plt
    if _plt is None:
        import plotext

        if not all(hasattr(plotext, name) for name in ("clf", "plot", "scatter", "build", "plotsize")):
            raise RuntimeError(
                f"plotext {getattr(plotext, '__version__', '?')} lacks the 5.x API tuidl draws with: "
                "install plotext<6 (pip install -e . does)")
        from tuidl.core import plotfast

        plotfast.install(plotext)  # numpy for its per-dot loops: the same text, ~5× sooner
        _plt = plotext
    return _plt


def preload() -> None:
    """Import plotext now (some 0.05–0.1 s): a thread that reads what a first chart will
    show can, so that the chart's first draw does not."""
    with PLOT_LOCK:
        _plotext()


def default_marks() -> str:
    """The mark style: ``$TUIDL_CHART_MARKS`` if it names one, else braille on a UTF-8
    terminal and dots elsewhere."""
    chosen = os.environ.get(MARKS_ENV, "").strip().lower()
    if chosen in MARKS:
        return chosen
    encoding = (getattr(sys.stdout, "encoding", None) or locale.getpreferredencoding(False) or "").lower()
    return "braille" if encoding.replace("-", "") in ("utf8", "utf16", "utf32") else "dots"


def plain(text: str) -> str:
    """``text`` without ANSI colour codes."""
    return _ANSI.sub("", text)


# -- ticks ---------------------------------------------------------------------------

_MULTS = (1.0, 2.0, 2.5, 5.0)


def _steps_down(span: float, integer: bool):
    """Nice steps from about ``span`` downwards: 1-2-5 (and 2.5 below 1) times powers of ten."""
    k = math.floor(math.log10(span)) + 1
    while True:
        mag = 10.0**k
        for m in reversed(_MULTS):
            if m == 2.5 and (integer or mag >= 10):
                continue
            step = m * mag
            if step <= span * 1.000001:
                yield step
        if integer and mag <= 1:
            return
        if k < -12:
            return
        k -= 1


def _decimals(step: float) -> int:
    dec = max(0, -int(math.floor(math.log10(step) + 1e-9)))
    while dec < 12 and abs(round(step, dec) - step) > step * 1e-6:
        dec += 1
    return dec


def tick_labels(ticks: Sequence[float], step: float) -> list[str]:
    """Labels for evenly spaced ``ticks``: as many decimals as the step needs, thousands
    as k/M/G/T once the numbers grow long."""
    top = max(abs(t) for t in ticks)
    if top >= 1e4 or (step >= 1000 and top >= 1000):
        for unit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if top >= unit:
                dec = 0 if step >= unit else _decimals(step / unit)
                return [f"{t / unit:.{dec}f}{suffix}" if t else "0" for t in ticks]
    if top < 1e-3:  # tiny numbers: as many significant digits as keep the labels apart
        for digits in range(2, 12):
            labels = [f"{t:.{digits}g}" if t else "0" for t in ticks]
            if len(set(labels)) == len(labels):
                return labels
        return labels
    dec = _decimals(step)
    return [f"{t:.{dec}f}" for t in ticks]


def _single(value: float, integer: bool) -> tuple[list[float], list[str]]:
    return [value], [f"{value:.0f}" if integer or value == round(value) else f"{value:.4g}"]


def linear_ticks(lo: float, hi: float, target: int, integer: bool = False, room: int | None = None):
    """Round ticks between ``lo`` and ``hi``: ``(ticks, labels)`` or None for no usable range.

    About ``target`` ticks, never fewer than two when the range holds two round numbers
    (one for a single value). On an ``integer`` axis the step is a whole number. With
    ``room`` (characters along the axis) there are never so many that labels touch."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return None
    if hi == lo:
        return _single(lo, integer)
    target = max(2, int(target))
    best = None
    for step in _steps_down(hi - lo, integer):
        first = math.ceil(lo / step - 1e-9) * step
        count = int(math.floor((hi - first) / step + 1e-9)) + 1
        if count < 2:
            continue
        ticks = [0.0 if abs(first + i * step) < step * 1e-9 else first + i * step for i in range(count)]
        labels = tick_labels(ticks, step)
        if room is not None and best is not None:
            widest = max(len(label) for label in labels) + 2
            if count * widest > room:
                break
        if count >= target:
            if best is None or abs(count - target) <= abs(len(best[0]) - target):
                best = (ticks, labels)
            break
        best = (ticks, labels)
    if best is None:
        mid = (lo + hi) / 2
        return _single(round(mid) if integer else mid, integer)
    return best


def _log_label(t: float) -> str:
    if t >= 1e4:
        return tick_labels([t], t)[0]
    return f"{t:g}"


def log_ticks(lo: float, hi: float, target: int):
    """Ticks for a log axis: decades (thinned to about ``target``) or, within one decade,
    1-2-5 multiples."""
    if not (lo > 0 and math.isfinite(hi)) or hi < lo:
        return None
    if hi == lo:
        return [lo], [_log_label(lo)]
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    decades = [10.0**k for k in range(k0, k1 + 1) if lo <= 10.0**k <= hi]
    if len(decades) >= 2:
        every = max(1, math.ceil(len(decades) / max(2, target)))
        ticks = decades[::every]
    else:
        ticks = [m * 10.0**k for k in range(k0, k1 + 1) for m in (1, 2, 5) if lo <= m * 10.0**k <= hi]
        if len(ticks) < 2:
            return linear_ticks(lo, hi, 2)
    return ticks, [_log_label(t) for t in ticks]


# -- the header row -------------------------------------------------------------------


def _paint(text: str, color, *, bold: bool = False) -> str:
    codes = []
    if bold:
        codes.append("1")
    if isinstance(color, int):
        codes.append(f"38;5;{color}")
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if codes else text


def _shorten(label: str, cut: int) -> str:
    return label if len(label) <= cut else label[: max(1, cut - 1)] + "…"


def header(title: str, legend: Sequence[tuple[str, object, str]], width: int, *, color: bool = True,
           max_rows: int = 2) -> list[str]:
    """The rows above a chart: ``title`` on the left, the legend on the right, never
    overlapping each other or the data.

    ``legend`` is ``(label, colour, key)`` per line, where ``key`` is what stands for the
    line (``━━`` in colour, or its plain marker). The legend ends one column short of
    ``width``, so charts side by side never run into each other. When it does not fit
    beside the title, it wraps onto up to ``max_rows`` rows (right-aligned), with labels
    shortened to 8 characters if that is still not enough; what does not fit even then
    is counted as ``+N``. Every row is exactly ``width`` characters (colour codes aside)."""
    width = max(1, int(width))
    title = title[:width]
    items = [(str(key), str(label), col) for label, col, key in legend]

    def size(entries) -> int:
        return sum(len(k) + 1 + len(lab) for k, lab, _ in entries) + 2 * max(0, len(entries) - 1)

    first_room = width - 1 - len(title) - (2 if title else 0)

    def wrap(entries) -> list[list]:
        rows: list[list] = [[]]
        for item in entries:
            room = first_room if len(rows) == 1 else width - 1
            if size(rows[-1] + [item]) <= room:
                rows[-1].append(item)
            elif len(rows) < max_rows and len(item[0]) + 1 + len(item[1]) <= width - 1:
                rows.append([item])
            else:
                break
        return rows

    rows = wrap(items)
    if sum(len(r) for r in rows) < len(items):  # shorter labels, then
        items = [(k, _shorten(lab, 8), c) for k, lab, c in items]
        rows = wrap(items)
    left = len(items) - sum(len(r) for r in rows)
    if left:  # say how many lines the legend could not name
        more = f"+{left}"
        last = rows[-1]
        room = first_room if len(rows) == 1 else width - 1
        while last and size(last) + 2 + len(more) > room:
            last.pop()
            more = f"+{len(items) - sum(len(r) for r in rows)}"
        last.append(("", more, None))
    out = []
    for i, entries in enumerate(rows):
        lead = title if i == 0 else ""
        body_len = size(entries) - sum(1 for k, _, _ in entries if not k)
        gap = max(0, width - 1 - len(lead) - body_len)
        row = (_paint(lead, None, bold=True) if color and lead else lead) + " " * gap
        parts = [(_paint(k, c) if color and k else k) + (" " if k else "") + lab for k, lab, c in entries]
        out.append(row + "  ".join(parts) + " " * (width - len(lead) - gap - body_len))
    return out


# -- line charts ----------------------------------------------------------------------


@dataclass
class PlotLine:
    """One line of a chart: its points (in x order), its label and its colour (0–255)."""

    xs: Sequence[float]
    ys: Sequence[float]
    label: str
    color: int = 6
    legend: bool = True  # False: not named in the legend (a smoothed line's raw points, drawn faint behind it)


def _log10(values) -> list[float]:
    return [math.log10(v) if v > 0 else math.nan for v in map(float, values)]


def _is_integer(values: Sequence[float]) -> bool:
    return all(float(v) == math.floor(float(v)) for v in values)


def _build(plt, width: int, height: int) -> list[str]:
    out = plt.build()
    lines = out.rstrip("\n").split("\n")[:height]
    return lines + [""] * (height - len(lines))


def line_chart(
    lines: Sequence[PlotLine],
    width: int,
    height: int,
    *,
    title: str = "",
    x_label: str = "",
    log_y: bool = False,
    marks: str | None = None,
    color: bool = True,
    vlines: Sequence[tuple[float, object]] = (),
    log_x: bool = False,
) -> list[str]:
    """``height`` rows of text: a header (title and legend, :func:`header`), then the
    axes and the lines (``log_x`` / ``log_y``: logarithmic axes). ``vlines``: ``(x, colour)`` vertical lines across the plot (those
    inside the x range), each also marked ``┬`` on the frame's top edge
    (:func:`vline_columns` finds them there).

    With ``color`` the rows carry ANSI colours and each line draws in its colour with the
    ``marks`` style (default :func:`default_marks`); without, each line gets a plain
    marker of its own (``•``, ``x``, ``+``…) named in the legend. Lines with no points
    are left out; with none left, the plot area is empty but the axes and header stay.
    Raises whatever plotext raises (callers show the reason)."""
    width, height = max(10, int(width)), max(4, int(height))
    marks = marks if marks in MARKS else default_marks()
    drawn = [ln for ln in lines if len(ln.xs)]
    legend = []
    for i, ln in enumerate(drawn):
        if not ln.legend:
            continue
        key = "━━" if color and marks != "dots" else ("•" if color else PLAIN_MARKERS[i % len(PLAIN_MARKERS)])
        legend.append((ln.label, ln.color, key))
    if len(legend) == 1 and legend[0][0] == title:
        legend = []  # one line named like the chart: the title says it
    top = header(title, legend, width, color=color, max_rows=1 if height < 9 else 2)
    if not drawn:
        return top + [""] * (height - len(top))
    x_lo = min(float(ln.xs[0]) for ln in drawn)
    x_hi = max(float(ln.xs[-1]) for ln in drawn)
    y_lo = min(float(min(ln.ys)) for ln in drawn)
    y_hi = max(float(max(ln.ys)) for ln in drawn)
    integer_x = all(_is_integer(ln.xs) for ln in drawn)
    plot_h = height - len(top)
    rows = max(2, (plot_h - 3) // 3)
    yt = log_ticks(y_lo, y_hi, rows) if log_y else linear_ticks(y_lo, y_hi, rows)
    label_w = max((len(s) for s in yt[1]), default=4) if yt else 6
    plot_w = width - label_w - 2
    if log_x:  # drawn on log10(x), labelled with x
        xt = log_ticks(x_lo, x_hi, max(2, plot_w // 10)) if x_lo > 0 else None
        xt = ([math.log10(t) for t in xt[0]], xt[1]) if xt else None
        drawn = [PlotLine(_log10(ln.xs), ln.ys, ln.label, ln.color, ln.legend) for ln in drawn]
        vlines = [(math.log10(x), c) for x, c in vlines if x > 0]
        x_lo, x_hi = _log10([x_lo, x_hi])
    else:
        xt = linear_ticks(x_lo, x_hi, max(2, plot_w // 14), integer=integer_x, room=plot_w)
    plt = _plotext()
    with PLOT_LOCK:
        plt.clf()
        plt.limitsize(False, False)  # else plotext caps the size at the terminal's
        plt.plotsize(width, plot_h)
        plt.theme("clear")
        for i, ln in enumerate(drawn):
            marker = MARKS[marks] if color else PLAIN_MARKERS[i % len(PLAIN_MARKERS)]
            plt.plot(list(map(float, ln.xs)), list(map(float, ln.ys)), color=ln.color if color else None,
                     marker=marker)
        for x, line_color in vlines:
            if x_lo <= x <= x_hi:
                plt.vline(float(x), line_color if color else None)
        if log_y:
            plt.yscale("log")
        if x_hi > x_lo:
            plt.xlim(x_lo, x_hi)
        if xt:
            plt.xticks(*xt)
        if yt:
            plt.yticks(*yt)
        if x_label:
            plt.xlabel(x_label)
        body = _build(plt, width, plot_h)
        plt.clf()
    if not color:
        body = [plain(row) for row in body]
    return top + body


def vline_columns(rows: Sequence[str]) -> list[int]:
    """The columns of a :func:`line_chart`'s vertical lines, left to right: where its
    frame's top edge (the first row with ``┌``) has a ``┬``."""
    for row in rows:
        text = plain(row)
        if "┌" in text:
            return [i for i, ch in enumerate(text) if ch == "┬"]
    return []


# -- scatter plots --------------------------------------------------------------------


@dataclass
class PointGroup:
    """Points of one class (or one bin of a regression target) and their colour."""

    xs: Sequence[float]
    ys: Sequence[float]
    color: int


def scatter_chart(groups: Sequence[PointGroup], width: int, height: int, *, marks: str | None = None) -> list[str]:
    """``height`` rows of ANSI text: each group's points in its colour, round ticks on
    both axes. ``marks`` defaults to quadrant blocks (a point reads better as a blob)."""
    width, height = max(10, int(width)), max(4, int(height))
    marks = marks if marks in MARKS else "blocks"
    shown = [g for g in groups if len(g.xs)]
    plt = _plotext()
    with PLOT_LOCK:
        plt.clf()
        plt.limitsize(False, False)
        plt.plotsize(width, height)
        plt.theme("clear")
        for g in shown:
            plt.scatter(list(map(float, g.xs)), list(map(float, g.ys)), color=g.color, marker=MARKS[marks])
        if shown:
            xs = [float(v) for g in shown for v in g.xs]
            ys = [float(v) for g in shown for v in g.ys]
            yt = linear_ticks(min(ys), max(ys), max(2, (height - 3) // 3))
            label_w = max((len(s) for s in yt[1]), default=4) if yt else 6
            xt = linear_ticks(min(xs), max(xs), max(2, (width - label_w) // 12), room=width - label_w - 2)
            if xt:
                plt.xticks(*xt)
            if yt:
                plt.yticks(*yt)
        else:
            plt.scatter([0.0], [0.0], marker=" ")
        rows = _build(plt, width, height)
        plt.clf()
    return rows
