"""TensorFlow Playground's decision-boundary view, in the terminal.

``BoundaryPlot.update_boundary(event)`` takes a ``boundary`` event (docs/events.md):
the model's output on an n×n grid over the input plane, plus a sample of training
points. The grid is resampled (bilinear) to the widget and drawn with half blocks:
each character cell is "▀" with the upper grid row as foreground and the lower one as
background, so a cell shows two rows. Colours follow Playground: orange for negative
/ class 0, white at the boundary, blue for positive / class 1 (the legend names them by
``class_names``, the dataset's own names), from an 11-step ramp
of xterm-256 colours (exact on 256-colour terminals). Points are "●" in a darker
orange or blue.

``render_lines(width, height)`` (alias ``plain_lines``) is the same picture in plain text: "-" (orange side),
"·" (at the boundary), "+" (blue side), "?" (no value), "x" / "o" for class 0 / 1
points.

Events may arrive many times a second on fast datasets; ``update_boundary`` only
stores the event, and the widget repaints on a timer (``fps``), rebuilding its lines
once per new event and size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.message_pump import MessagePump
from textual.strip import Strip
from textual.widget import Widget

__all__ = ["BoundaryPlot", "PALETTE", "POINT_COLORS"]

# Level -5 (strong orange) … 0 (white) … +5 (strong blue): xterm-256 cube/grey colours.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 135, 0),  # 208
    (255, 175, 95),  # 215
    (255, 175, 135),  # 216
    (255, 215, 175),  # 223
    (255, 255, 215),  # 230
    (238, 238, 238),  # 255 (the boundary)
    (215, 255, 255),  # 195
    (175, 215, 255),  # 153
    (135, 215, 255),  # 117
    (95, 175, 255),  # 75
    (0, 135, 215),  # 32
)
NAN_COLOR = (88, 88, 88)  # 240: no value (a diverged model)
POINT_COLORS = ((175, 95, 0), (0, 0, 175))  # 130 dark orange, 19 dark blue
_LEVELS = (len(PALETTE) - 1) // 2  # 5
_NAN = len(PALETTE)  # palette index for NaN
_COLORS = [Color.from_rgb(*rgb) for rgb in PALETTE] + [Color.from_rgb(*NAN_COLOR)]
_POINT_COLORS = [Color.from_rgb(*rgb) for rgb in POINT_COLORS]
_PLAIN = "-----·+++++"  # per palette level, plain text
_PLAIN_CHARS = np.array(list(_PLAIN) + ["?"], dtype="<U1")
MESSAGE = "the decision boundary appears for 2-D Playground datasets"


@dataclass
class _Boundary:
    extent: tuple[float, float, float, float]
    values: np.ndarray  # (ny, nx), row 0 at ymin, normalised to [-1, 1] (NaN kept)
    points: np.ndarray  # (k, 3): x1, x2, class (0 or 1)
    epoch: object
    regression: bool


def _parse(event: dict, task: str | None) -> _Boundary:
    """Validate and normalise a boundary event; ValueError says what is wrong."""
    if not isinstance(event, dict):
        raise ValueError("not an event object")
    try:
        extent = tuple(float(v) for v in event.get("extent"))
    except (TypeError, ValueError):
        raise ValueError("extent must be [xmin, xmax, ymin, ymax]") from None
    if len(extent) != 4 or not all(math.isfinite(v) for v in extent):
        raise ValueError("extent must be 4 finite numbers")
    if not (extent[1] > extent[0] and extent[3] > extent[2]):
        raise ValueError("extent is empty")
    try:
        values = np.array(event.get("values"), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("values must be an n×n grid of numbers") from None
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < 1:
        raise ValueError("values must be an n×n grid of numbers")
    values[~np.isfinite(values)] = np.nan
    raw_points = event.get("points") or []
    try:
        points = np.array(raw_points, dtype=np.float64).reshape(-1, 3) if len(raw_points) else np.empty((0, 3))
    except (TypeError, ValueError):
        points = np.empty((0, 3))  # points are decoration: a bad list only loses them
    points = points[np.all(np.isfinite(points), axis=1)]

    task = task or event.get("task")
    finite = values[np.isfinite(values)]
    if task == "classification":
        regression = False
    elif task == "regression":
        regression = True
    else:
        in_unit = finite.size == 0 or (finite.min() >= -1e-6 and finite.max() <= 1 + 1e-6)
        labels = points[:, 2] if points.size else np.empty(0)
        binary = bool(np.all((labels == 0) | (labels == 1)))
        regression = not (in_unit and binary)
    if regression:
        norm = np.clip(values, -1.0, 1.0)
        cls = (points[:, 2] > 0).astype(np.float64) if points.size else np.empty(0)
    else:
        norm = np.clip(values, 0.0, 1.0) * 2.0 - 1.0
        cls = (points[:, 2] >= 0.5).astype(np.float64) if points.size else np.empty(0)
    if points.size:
        points = np.column_stack([points[:, 0], points[:, 1], cls])
    return _Boundary(extent, norm, points, event.get("epoch"), regression)


def _resample(values: np.ndarray, extent, width: int, rows: int) -> np.ndarray:
    """Bilinear samples of the grid at the centres of ``rows``×``width`` pixels, top row
    first (ymax at the top). Grid points are taken to span the extent edge to edge."""
    ny, nx = values.shape
    xmin, xmax, ymin, ymax = extent
    cx = (np.arange(width) + 0.5) / width  # 0..1 left→right
    cy = 1.0 - (np.arange(rows) + 0.5) / rows  # 1..0 top→bottom, as fraction from ymin
    fx = np.clip(cx * (nx - 1), 0, nx - 1)
    fy = np.clip(cy * (ny - 1), 0, ny - 1)
    x0 = np.minimum(np.floor(fx).astype(int), max(nx - 2, 0))
    y0 = np.minimum(np.floor(fy).astype(int), max(ny - 2, 0))
    x1 = np.minimum(x0 + 1, nx - 1)
    y1 = np.minimum(y0 + 1, ny - 1)
    tx = (fx - x0)[None, :]
    ty = (fy - y0)[:, None]
    v00 = values[y0[:, None], x0[None, :]]
    v01 = values[y0[:, None], x1[None, :]]
    v10 = values[y1[:, None], x0[None, :]]
    v11 = values[y1[:, None], x1[None, :]]
    top = v00 * (1 - tx) + v01 * tx
    bottom = v10 * (1 - tx) + v11 * tx
    return top * (1 - ty) + bottom * ty


def _levels(norm: np.ndarray) -> np.ndarray:
    """Palette index per value in [-1, 1] (NaN → the NaN colour)."""
    out = np.full(norm.shape, _NAN, dtype=np.int16)
    ok = np.isfinite(norm)
    out[ok] = np.rint(norm[ok] * _LEVELS).astype(np.int16) + _LEVELS
    return out


@dataclass
class _Layout:
    left: int  # blank columns before the map
    width: int  # map columns
    rows: int  # map character rows (each two pixel rows)


class BoundaryPlot(Widget):
    """Playground-style decision boundary heatmap with the training points on top."""

    DEFAULT_CSS = """
    BoundaryPlot {
        width: 1fr;
        height: 1fr;
        min-height: 6;
    }
    """

    fps: float = 4
    """Repaints per second at most (new events in between are coalesced)."""
    keep_aspect: bool = True
    """Keep the extent's aspect ratio (a half-block pixel is about square)."""
    _task_kind: str | None = None
    _class_names: tuple[str, str] | None = None

    @property
    def task_kind(self) -> str | None:
        """"classification" or "regression" (e.g. from ``run_started``'s ``task``); None
        guesses from the values and the point labels. (``task`` is Textual's.)"""
        return self._task_kind

    @task_kind.setter
    def task_kind(self, kind) -> None:
        kind = kind if kind in ("classification", "regression") else None
        if kind != self._task_kind:
            self._task_kind = kind
            self._version += 1  # re-read the last event with the new kind
            self._dirty = True

    @property
    def class_names(self) -> tuple[str, str] | None:
        """The two classes' names for the legend (the dataset's, e.g. negative /
        positive); None shows "class 0" / "class 1"."""
        return self._class_names

    @class_names.setter
    def class_names(self, names) -> None:
        names = tuple(str(n) for n in names) if names is not None and len(names) == 2 else None
        if names != self._class_names:
            self._class_names = names
            self._version += 1  # redraw the legend
            self._dirty = True

    @property
    def task(self):
        """Textual's asyncio task for this widget (``MessagePump.task``), unchanged.

        Assigning a string sets ``task_kind`` instead (``plot.task = "regression"``), so
        that spelling works too without hiding Textual's property from its readers."""
        return MessagePump.task.fget(self)

    @task.setter
    def task(self, kind) -> None:
        self.task_kind = kind

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self._event: dict | None = None
        self._boundary: _Boundary | None = None
        self._error: str | None = None
        self._version = 0
        self._parsed_version = 0
        self._dirty = False
        self._cache_key = None
        self._strips: list[Strip] = []
        self._timer = None
        self._timer_fps: float | None = None
        self._styles: dict[tuple[int, int], Style] = {}
        self.redraws = 0

    # -- public API -----------------------------------------------------------

    def update_boundary(self, event: dict) -> None:
        """Take a ``boundary`` event (cheap: parsing and drawing wait for the timer)."""
        self._event = event
        self._version += 1
        self._dirty = True

    def clear(self) -> None:
        self._event = None
        self._boundary = None
        self._error = None
        self._version += 1
        self._parsed_version = self._version
        self._dirty = True

    @property
    def epoch(self):
        b = self._current()
        return None if b is None else b.epoch

    def render_lines(self, width=None, height=None, *, crop: Region | None = None):
        """``render_lines(width, height) -> list[str]``: the view as plain text.

        Textual's compositor calls ``Widget.render_lines(crop: Region)`` (one argument)
        to paint the widget; that call is passed through untouched. ``plain_lines`` is
        the same plain-text view without the overloading."""
        if crop is None and height is None and isinstance(width, Region):
            crop = width
        if crop is not None:
            return super().render_lines(crop)
        return self.plain_lines(width, height)

    def plain_lines(self, width: int, height: int) -> list[str]:
        """The view as plain text, ``height`` lines of ``width`` characters."""
        width, height = max(1, int(width)), max(1, int(height))
        b = self._current()
        if b is None:
            return [line.ljust(width) for line in self._message_lines(width, height)]
        lines = [self._legend_plain(b, width).ljust(width)[:width]]
        if height < 2:
            return lines
        lay = self._layout(b, width, height - 1)
        pixels = self._pixels(b, lay)
        mean = _levels((pixels[0::2] + pixels[1::2]) / 2.0)
        grid = _PLAIN_CHARS[mean] if mean.size else np.full((lay.rows, lay.width), " ", dtype="<U1")
        for r, c, k in self._point_cells(b, lay):
            grid[r, c] = "o" if k else "x"
        pad = " " * lay.left
        for row in grid:
            lines.append((pad + "".join(row)).ljust(width)[:width])
        while len(lines) < height:
            lines.append(" " * width)
        return lines

    # -- Textual --------------------------------------------------------------

    def on_mount(self) -> None:
        self._start_timer()

    def _start_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        fps = self.fps if self.fps and self.fps > 0 else 1
        self._timer_fps = self.fps
        self._timer = self.set_interval(1.0 / fps, self._tick, name="boundary-redraw")

    def _tick(self) -> None:
        if self.fps != self._timer_fps:
            self._start_timer()
        if self._dirty:
            self._dirty = False
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        key = (self._version, width, height)
        if key != self._cache_key:
            self._strips = self._build_strips(width, height)
            self._cache_key = key
            self.redraws += 1
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)

    # -- internals ------------------------------------------------------------

    def _current(self) -> _Boundary | None:
        if self._parsed_version != self._version:
            self._parsed_version = self._version
            if self._event is None:
                self._boundary, self._error = None, None
            else:
                try:
                    self._boundary, self._error = _parse(self._event, self.task_kind), None
                except ValueError as exc:
                    self._boundary, self._error = None, f"boundary event not readable: {exc}"
        return self._boundary

    def _message_lines(self, width: int, height: int) -> list[str]:
        text = self._error or MESSAGE
        words, rows, cur = text.split(), [], ""
        for w in words:
            if cur and len(cur) + 1 + len(w) > width:
                rows.append(cur)
                cur = w
            else:
                cur = f"{cur} {w}" if cur else w
        if cur:
            rows.append(cur)
        rows = [r[:width].center(width) for r in rows][:height]
        top = max(0, (height - len(rows)) // 2)
        return [""] * top + rows + [""] * (height - top - len(rows))

    def _legend_parts(self, b: _Boundary, width: int) -> list[tuple[str, object]]:
        """The header row, laid out like a chart's: the title (and epoch) on the left,
        the two colours' legend on the right, a gap of at least two between them. When
        the row is narrow the title goes first, then the epoch."""
        names = ("< 0", "> 0") if b.regression else (self._class_names or ("class 0", "class 1"))
        legend: list[tuple[str, object]] = [("● ", 0), (str(names[0]), None), ("  ● ", 1), (str(names[1]), None)]
        legend_w = sum(len(text) for text, _ in legend)
        epoch = f"epoch {b.epoch}" if b.epoch is not None else ""
        for left in (f"decision boundary · {epoch}" if epoch else "decision boundary", epoch, ""):
            if len(left) + 2 + legend_w <= width - 1:
                break
        gap = max(1 if left else 0, width - 1 - len(left) - legend_w)
        return [(left, "title"), (" " * gap, None)] + legend + [(" ", None)]

    def _legend_plain(self, b: _Boundary, width: int) -> str:
        return "".join(text for text, _ in self._legend_parts(b, width))

    def _layout(self, b: _Boundary, width: int, rows: int) -> _Layout:
        if not self.keep_aspect or rows <= 0 or width <= 0:
            return _Layout(0, max(0, width), max(0, rows))
        xmin, xmax, ymin, ymax = b.extent
        aspect = (xmax - xmin) / (ymax - ymin)  # width / height in data units
        map_w = int(round(2 * rows * aspect))
        if map_w <= width:
            map_w = max(1, map_w)
            return _Layout((width - map_w) // 2, map_w, rows)
        map_rows = max(1, int(round(width / aspect / 2)))
        return _Layout(0, width, min(rows, map_rows))

    def _pixels(self, b: _Boundary, lay: _Layout) -> np.ndarray:
        return _resample(b.values, b.extent, lay.width, lay.rows * 2)

    def _point_cells(self, b: _Boundary, lay: _Layout):
        """(row, column, class) of the character cells holding points."""
        if not b.points.size or lay.width <= 0 or lay.rows <= 0:
            return []
        xmin, xmax, ymin, ymax = b.extent
        px, py, k = b.points[:, 0], b.points[:, 1], b.points[:, 2]
        inside = (px >= xmin) & (px <= xmax) & (py >= ymin) & (py <= ymax)
        col = np.minimum(((px - xmin) / (xmax - xmin) * lay.width).astype(int), lay.width - 1)
        row = np.minimum(((ymax - py) / (ymax - ymin) * lay.rows).astype(int), lay.rows - 1)
        return list(zip(row[inside].tolist(), col[inside].tolist(), k[inside].astype(int).tolist()))

    def _style(self, fg: int, bg: int) -> Style:
        key = (fg, bg)
        style = self._styles.get(key)
        if style is None:
            fg_color = _POINT_COLORS[fg - 100] if fg >= 100 else _COLORS[fg]
            style = Style(color=fg_color, bgcolor=_COLORS[bg])
            self._styles[key] = style
        return style

    def _build_strips(self, width: int, height: int) -> list[Strip]:
        base = self.rich_style
        if width <= 0 or height <= 0:
            return []
        b = self._current()
        if b is None:
            dim = base + Style(dim=True, italic=True)
            return [
                Strip([Segment(line.ljust(width)[:width], dim)], width)
                for line in self._message_lines(width, height)
            ]
        strips = [self._legend_strip(b, width, base)]
        rows = height - 1
        if rows <= 0:
            return strips
        lay = self._layout(b, width, rows)
        levels = _levels(self._pixels(b, lay))  # (2*rows, width)
        upper = levels[0::2].astype(np.int32)
        lower = levels[1::2].astype(np.int32)
        glyph = np.full(upper.shape, 0, dtype=np.int32)  # 0: half block, 1: point
        for r, c, k in self._point_cells(b, lay):
            glyph[r, c] = 1
            upper[r, c] = 100 + k  # fg = point colour
            # bg: the cell's upper colour reads best under a dot
            lower[r, c] = levels[2 * r, c]
        code = (upper * 1000 + lower) * 2 + glyph
        pad_left = Segment(" " * lay.left, base) if lay.left else None
        right = width - lay.left - lay.width
        pad_right = Segment(" " * right, base) if right > 0 else None
        for r in range(lay.rows):
            row = code[r]
            cuts = np.flatnonzero(row[1:] != row[:-1]) + 1
            starts = [0, *cuts.tolist()]
            ends = [*cuts.tolist(), lay.width]
            segs = [pad_left] if pad_left else []
            for s, e in zip(starts, ends):
                ch = "●" if glyph[r, s] else "▀"
                segs.append(Segment(ch * (e - s), self._style(int(upper[r, s]), int(lower[r, s]))))
            if pad_right:
                segs.append(pad_right)
            strips.append(Strip(segs, width))
        while len(strips) < height:
            strips.append(Strip.blank(width, base))
        return strips

    def _legend_strip(self, b: _Boundary, width: int, base: Style) -> Strip:
        segs = []
        for text, point in self._legend_parts(b, width):
            if point == "title":
                style = base + Style(bold=True)
            elif point is not None:
                style = base + Style(color=_POINT_COLORS[point], bold=True)
            else:
                style = base
            segs.append(Segment(text, style))
        strip = Strip(segs).crop(0, width)
        return strip.extend_cell_length(width, base)
