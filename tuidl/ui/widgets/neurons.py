"""TensorFlow Playground's neuron view, in the terminal.

``NeuronView.show(event)`` takes a ``neurons`` event (docs/events.md): every input
feature's map, every hidden unit's output over the input plane, the output's map and
the dense layers' weights. Columns left to right: the input features, each hidden
layer, the output. Each unit is a small half-block heatmap in Playground's colours
(orange negative, white zero, blue positive; a unit whose values go beyond ±1 is scaled
by its largest magnitude). Between two columns, the weights that join them: one cell
per connection, a row per unit of the next layer and a column per unit of the one
before, blue for a positive weight and orange for a negative one, brighter for a
stronger one.

The selected unit (arrow keys, or a click) is drawn large on the right with its range
and its incoming weights as bars. ``plain_lines`` is the same view as plain text for
tests.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.strip import Strip
from textual.widget import Widget

from tuidl.ui.widgets.boundary import _COLORS, _PLAIN_CHARS, _levels, _resample

__all__ = ["NeuronView", "Unit", "parse_neurons"]

MESSAGE = ("the neuron view shows 2-D Playground datasets (spiral, circle, xor, …): each hidden unit's "
           "output over the input plane")
SIDE_W = 34  # the selected unit's panel
GAP = 1  # columns between two maps


@dataclass
class Unit:
    column: int  # 0 inputs, 1… hidden layers, last the output
    index: int  # within its column
    name: str
    values: np.ndarray  # (n, n), row 0 at ymin, in [-1, 1] for drawing
    low: float  # its real range
    high: float
    weights_in: np.ndarray | None  # the weights into it (one per unit of the column before)


@dataclass
class Neurons:
    epoch: object
    extent: tuple[float, float, float, float]
    columns: list[list[Unit]]
    titles: list[str]
    weights: list[np.ndarray]  # between column k and k+1: (units of k+1, units of k)


def _grid(values) -> np.ndarray:
    grid = np.array(values, dtype=np.float64)
    if grid.ndim != 2 or not grid.size:
        raise ValueError("a map must be an n×n grid of numbers")
    grid[~np.isfinite(grid)] = np.nan
    return grid


def _scaled(grid: np.ndarray, bounded01: bool = False) -> np.ndarray:
    """For drawing: a probability map [0, 1] → [-1, 1]; anything beyond ±1 by its largest magnitude."""
    finite = grid[np.isfinite(grid)]
    if bounded01:
        return grid * 2.0 - 1.0
    peak = float(np.max(np.abs(finite))) if finite.size else 0.0
    return grid / peak if peak > 1.0 else grid


def _range(grid: np.ndarray) -> tuple[float, float]:
    finite = grid[np.isfinite(grid)]
    return (float(finite.min()), float(finite.max())) if finite.size else (math.nan, math.nan)


def parse_neurons(event: dict) -> Neurons:
    """A ``neurons`` event as columns of units; ValueError says what is wrong."""
    if not isinstance(event, dict):
        raise ValueError("not an event object")
    try:
        extent = tuple(float(v) for v in event.get("extent"))
        assert len(extent) == 4
    except (TypeError, ValueError, AssertionError):
        raise ValueError("extent must be [xmin, xmax, ymin, ymax]") from None
    weights = [np.array(w, dtype=np.float64) for w in event.get("weights") or []]
    columns: list[list[Unit]] = []
    titles: list[str] = []

    def weights_into(column: int, index: int) -> np.ndarray | None:
        k = column - 1
        if 0 <= k < len(weights) and weights[k].ndim == 2 and index < weights[k].shape[0]:
            return weights[k][index]
        return None

    inputs = []
    for i, feature in enumerate(event.get("inputs") or []):
        grid = _grid(feature.get("values"))
        inputs.append(Unit(0, i, str(feature.get("name", f"x{i + 1}")), _scaled(grid), *_range(grid), None))
    columns.append(inputs)
    titles.append("inputs")
    for layer in event.get("layers") or []:
        col = len(columns)
        units = []
        for i, unit in enumerate(layer.get("units") or []):
            grid = _grid(unit.get("values") if isinstance(unit, dict) else unit)
            low, high = _range(grid)
            units.append(Unit(col, i, f"{layer.get('name', f'layer {col}')} #{i + 1}", _scaled(grid), low, high,
                              weights_into(col, i)))
        act = layer.get("activation")
        columns.append(units)
        titles.append(str(layer.get("name", f"layer {col}")) + (f" ({act})" if act else ""))
    output = event.get("output")
    if isinstance(output, dict) and output.get("values") is not None:
        grid = _grid(output.get("values"))
        low, high = _range(grid)
        col = len(columns)
        columns.append([Unit(col, 0, "output", _scaled(grid, bounded01=low >= 0 and high <= 1), low, high,
                             weights_into(col, 0))])
        titles.append("output")
    if not any(columns):
        raise ValueError("no maps in the event")
    return Neurons(event.get("epoch"), extent, columns, titles, weights)


@dataclass
class _Layout:
    map_w: int
    map_h: int  # character rows (two pixels each)
    per_sub: list[int]  # units per sub-column, per column
    subs: list[int]  # sub-columns per column
    gutters: list[int]  # width of the weights between column k and k+1
    x: list[int]  # left edge of each column


def _layout(n: Neurons, width: int, height: int) -> _Layout | None:
    """The largest maps (about square: twice as wide in characters as tall) that fit."""
    rows = height - 1  # the titles
    gutters = [w.shape[1] + 2 if w.ndim == 2 else 2 for w in n.weights[:len(n.columns) - 1]]
    gutters += [2] * (len(n.columns) - 1 - len(gutters))
    for map_h in range(8, 0, -1):
        per_sub = [max(1, rows // (map_h + 1)) for _ in n.columns]
        subs = [max(1, math.ceil(len(col) / p)) for col, p in zip(n.columns, per_sub)]
        room = width - sum(gutters) - GAP * sum(subs)
        map_w = min(2 * map_h, room // max(1, sum(subs)))
        if map_w >= max(3, map_h):
            x, left = [], 0
            for k, s in enumerate(subs):
                x.append(left)
                left += s * (map_w + GAP) + (gutters[k] if k < len(gutters) else 0)
            return _Layout(map_w, map_h, per_sub, subs, gutters, x)
    return None


class NeuronView(Widget, can_focus=True):
    """Every unit's map, the weights between them, and the selected unit large."""

    DEFAULT_CSS = """
    NeuronView {
        width: 1fr;
        height: 1fr;
    }
    NeuronView:focus {
        background-tint: $foreground 3%;
    }
    """

    BINDINGS = [
        Binding("left", "move(-1, 0)", "Layer before", show=False),
        Binding("right", "move(1, 0)", "Layer after", show=False),
        Binding("up", "move(0, -1)", "Unit above", show=False),
        Binding("down", "move(0, 1)", "Unit below", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.neurons: Neurons | None = None
        self.error: str | None = None
        self.selected = (1, 0)  # (column, unit): the first hidden unit
        self.empty = MESSAGE  # what shows while there is no neurons event
        self._styles: dict[tuple[int, int], Style] = {}

    # -- public API -------------------------------------------------------------------
    def show(self, event: dict | None) -> None:
        """Take a ``neurons`` event (None: nothing to show)."""
        if event is None:
            self.neurons, self.error = None, None
        else:
            try:
                self.neurons, self.error = parse_neurons(event), None
            except (ValueError, TypeError, AttributeError) as e:
                self.neurons, self.error = None, f"neurons event not readable: {e}"
        self._clamp()
        self.refresh()

    def set_empty(self, message: str) -> None:
        """What to say while there is no neurons event (why, and how to get one)."""
        if message != self.empty:
            self.empty = message
            if self.neurons is None:
                self.refresh()

    @property
    def unit(self) -> Unit | None:
        """The selected unit."""
        if self.neurons is None:
            return None
        col, i = self.selected
        return self.neurons.columns[col][i]

    def select(self, column: int, index: int) -> None:
        self.selected = (column, index)
        self._clamp()
        self.refresh()

    def action_move(self, dcol: int, drow: int) -> None:
        col, i = self.selected
        self.select(col + dcol, i + drow)

    def _clamp(self) -> None:
        if self.neurons is None:
            return
        cols = self.neurons.columns
        col = min(max(0, self.selected[0]), len(cols) - 1)
        while not cols[col] and col > 0:
            col -= 1
        self.selected = (col, min(max(0, self.selected[1]), max(0, len(cols[col]) - 1)))

    def on_click(self, event) -> None:
        hit = self.unit_at(event.x, event.y)
        if hit is not None:
            self.select(*hit)

    def unit_at(self, x: int, y: int) -> tuple[int, int] | None:
        """The (column, unit) drawn at widget cell (x, y), if any."""
        n, lay = self.neurons, self._current_layout()
        if n is None or lay is None or y < 1:
            return None
        for col, units in enumerate(n.columns):
            for i in range(len(units)):
                left, top = self._origin(lay, col, i)
                if left <= x < left + lay.map_w and top <= y < top + lay.map_h:
                    return col, i
        return None

    # -- drawing ----------------------------------------------------------------------
    def _current_layout(self) -> _Layout | None:
        if self.neurons is None:
            return None
        width, height = self.size
        return _layout(self.neurons, max(0, width - SIDE_W - 1), height)

    @staticmethod
    def _origin(lay: _Layout, col: int, i: int) -> tuple[int, int]:
        sub, row = divmod(i, lay.per_sub[col])
        return lay.x[col] + sub * (lay.map_w + GAP), 1 + row * (lay.map_h + 1)

    def _style(self, fg: int, bg: int) -> Style:
        style = self._styles.get((fg, bg))
        if style is None:
            style = self._styles[(fg, bg)] = Style(color=_COLORS[fg], bgcolor=_COLORS[bg])
        return style

    def _pixels(self, values: np.ndarray, w: int, h: int) -> np.ndarray:
        return _levels(_resample(values, self.neurons.extent, w, 2 * h))

    def _canvas(self, width: int, height: int) -> list[list[tuple[str, Style | None]]]:
        return [[(" ", None)] * width for _ in range(height)]

    def _paint_map(self, canvas, left: int, top: int, values: np.ndarray, w: int, h: int) -> None:
        levels = self._pixels(values, w, h)
        for r in range(h):
            for c in range(w):
                y, x = top + r, left + c
                if 0 <= y < len(canvas) and 0 <= x < len(canvas[0]):
                    canvas[y][x] = ("▀", self._style(int(levels[2 * r, c]), int(levels[2 * r + 1, c])))

    def _paint_text(self, canvas, left: int, top: int, text: str, style: Style | None = None) -> None:
        if 0 <= top < len(canvas):
            for k, ch in enumerate(text):
                if 0 <= left + k < len(canvas[0]):
                    canvas[top][left + k] = (ch, style)

    def _paint_weights(self, canvas, left: int, top: int, w: np.ndarray) -> None:
        """One cell per weight: rows the next layer's units (two per character row),
        columns the previous layer's units."""
        peak = float(np.max(np.abs(w))) if w.size else 0.0
        norm = w / peak if peak > 0 else w
        if norm.shape[0] % 2:
            norm = np.vstack([norm, np.full((1, norm.shape[1]), np.nan)])
        levels = _levels(norm)
        for r in range(norm.shape[0] // 2):
            for c in range(norm.shape[1]):
                y, x = top + r, left + c
                if 0 <= y < len(canvas) and 0 <= x < len(canvas[0]):
                    canvas[y][x] = ("▀", self._style(int(levels[2 * r, c]), int(levels[2 * r + 1, c])))

    def _paint(self, width: int, height: int) -> list[list[tuple[str, Style | None]]]:
        canvas = self._canvas(width, height)
        n = self.neurons
        lay = self._current_layout()
        if n is None or lay is None:
            msg = self.error or (self.empty if n is None else "the terminal is too small for the neuron view")
            for y, line in enumerate(textwrap.wrap(msg, max(10, width))[:height]):
                self._paint_text(canvas, 0, y, line[:width], Style(dim=True, italic=True))
            return canvas
        bold, dim = Style(bold=True), Style(dim=True)
        sel_style = Style(bold=True, reverse=True)
        for col, units in enumerate(n.columns):
            self._paint_text(canvas, lay.x[col], 0, n.titles[col][:lay.subs[col] * (lay.map_w + GAP) + 1], bold)
            for i, unit in enumerate(units):
                left, top = self._origin(lay, col, i)
                self._paint_map(canvas, left, top, unit.values, lay.map_w, lay.map_h)
                label = unit.name if col == 0 else str(i + 1)
                selected = (col, i) == self.selected
                self._paint_text(canvas, left, top + lay.map_h, label[:lay.map_w], sel_style if selected else dim)
            if col < len(n.weights) and col + 1 < len(n.columns) and n.weights[col].ndim == 2:
                gut = lay.x[col] + lay.subs[col] * (lay.map_w + GAP)
                self._paint_weights(canvas, gut + 1, 1, n.weights[col])
        self._paint_side(canvas, width - SIDE_W, height)
        return canvas

    def _paint_side(self, canvas, left: int, height: int) -> None:
        unit = self.unit
        if unit is None or left < 0:
            return
        bold, dim = Style(bold=True), Style(dim=True)
        epoch = f" · epoch {self.neurons.epoch}" if self.neurons.epoch is not None else ""
        self._paint_text(canvas, left, 0, f"{unit.name}{epoch}"[:SIDE_W], bold)
        size_h = min(height - 6, SIDE_W // 2)
        self._paint_map(canvas, left, 1, unit.values, 2 * size_h, size_h)
        y = 1 + size_h
        self._paint_text(canvas, left, y, f"output {unit.low:.3g} … {unit.high:.3g}"[:SIDE_W], dim)
        if unit.weights_in is not None and y + 1 < height:
            self._paint_text(canvas, left, y + 1, "weights in (blue +, orange −):"[:SIDE_W], dim)
            sources = self.neurons.columns[unit.column - 1]
            peak = float(np.max(np.abs(unit.weights_in))) if unit.weights_in.size else 0.0
            for k, w in enumerate(unit.weights_in[: max(0, height - y - 2)]):
                name = sources[k].name if k < len(sources) else f"#{k + 1}"
                name = name if unit.column == 1 else str(k + 1)
                bar = int(round(abs(w) / peak * 12)) if peak > 0 else 0
                color = _COLORS[0] if w < 0 else _COLORS[-2]
                row = y + 2 + k
                self._paint_text(canvas, left, row, f"{name[:8]:>8} {w:+.2f} ")
                self._paint_text(canvas, left + 15, row, "█" * bar, Style(color=color))

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if y == 0 or not hasattr(self, "_rows") or self._rows_key != (width, height, id(self.neurons), self.selected):
            self._rows = self._paint(width, height)
            self._rows_key = (width, height, id(self.neurons), self.selected)
        if 0 <= y < len(self._rows):
            segments = [Segment(ch, style) for ch, style in self._rows[y]]
            return Strip(segments, width).simplify()
        return Strip.blank(width)

    def plain_lines(self, width: int, height: int) -> list[str]:
        """The view as plain text: maps as "-", "·", "+" (orange, white, blue)."""
        canvas = self._paint(width, height)
        out = []
        for row in canvas:
            line = []
            for ch, style in row:
                if ch == "▀" and style is not None and style.color is not None:
                    line.append(_PLAIN_CHARS[_COLORS.index(style.color)] if style.color in _COLORS else "?")
                else:
                    line.append(ch)
            out.append("".join(line))
        return out

    def text(self) -> Text:
        return Text("\n".join(self.plain_lines(*self.size)))
