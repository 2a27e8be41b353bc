"""Draw an input for an image model on the model's own grid (``DrawPad``), or move a
point over a 2-D plane (``PointPad``), and see what the model says.

``DrawPad`` holds ``rows × cols`` ink values in [0, 1] (the model's input resolution:
8×8 for digits, 28×28 for MNIST). It is drawn with half blocks, two pixel rows per line
and two characters per pixel column so a pixel is about square, black ink on white paper
as the datasets have it. Keys: arrows move the pen, space inks (again: wipes) the pixel
under the pen, ``d`` puts the pen down so moving draws, ``x`` wipes, ``c`` clears; the
mouse draws while a button is held (right button wipes). Each change posts
``DrawPad.Changed`` with the picture.

``PointPad`` is a point over the input plane of a 2-D dataset (arrows move it, a click
puts it), posting ``PointPad.Moved``.
"""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

__all__ = ["DrawPad", "PointPad"]

PEN = Color.from_rgb(255, 95, 0)  # the pen's pixel
NEIGHBOUR_INK = 0.5  # a stroke also half-inks the four neighbours (a pen is a few pixels wide on 28×28)


def _grey(value: float) -> Color:
    v = int(round(255 * (1.0 - min(1.0, max(0.0, float(value))))))  # ink is dark
    return Color.from_rgb(v, v, v)


MAX_SCALE = 6  # lines per pixel of a coarse grid at most


class DrawPad(Widget, can_focus=True):
    DEFAULT_CSS = """
    DrawPad {
        width: auto;
        height: auto;
        border: round $panel-lighten-2;
    }
    DrawPad:focus {
        border: round $accent;
    }
    """

    BINDINGS = [
        Binding("up", "move(0, -1)", "Up", show=False),
        Binding("down", "move(0, 1)", "Down", show=False),
        Binding("left", "move(-1, 0)", "Left", show=False),
        Binding("right", "move(1, 0)", "Right", show=False),
        Binding("space", "ink", "Ink"),
        Binding("d", "pen", "Pen down/up"),
        Binding("x", "wipe", "Wipe"),
        Binding("c", "clear", "Clear"),
    ]

    pen_down: reactive[bool] = reactive(False)

    class Changed(Message):
        """The picture changed: ``pixels`` is a rows × cols array of ink in [0, 1]."""

        def __init__(self, pad: "DrawPad", pixels: np.ndarray) -> None:
            super().__init__()
            self.pad = pad
            self.pixels = pixels

    def __init__(self, rows: int, cols: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pixels = np.zeros((rows, cols), dtype=np.float32)
        self.cursor = (rows // 2, cols // 2)
        self._dragging: float | None = None
        self._scale = max(1, 16 // rows)  # until the layout says how much room there is

    # -- size: a fine grid (28×28) two pixels a line with half blocks; a coarse one (8×8)
    # blown up, each pixel ``scale`` lines tall and twice as many characters wide, as large
    # as the room allows (2 lines a pixel at 80×24, 5 at 200×50) -------------------------
    @property
    def scale(self) -> int:
        """Lines per pixel: 0 for half blocks (two pixels a line)."""
        return 0 if self.pixels.shape[0] > 14 else self._scale

    def _fit(self, container, viewport) -> None:
        """The scale for the room: the container's height (its width follows the pad's own),
        and at most half the screen's width, which leaves the other half for the answer."""
        rows, cols = self.pixels.shape
        if rows <= 14 and container.height > 0:  # the border takes two lines and two columns
            room = min((container.height - 2) // rows, (viewport.width // 2 - 2) // (2 * cols))
            self._scale = max(1, min(MAX_SCALE, room))

    def get_content_width(self, container, viewport) -> int:
        self._fit(container, viewport)
        return 2 * max(1, self.scale) * self.pixels.shape[1]

    def get_content_height(self, container, viewport, width) -> int:
        rows = self.pixels.shape[0]
        return rows * self.scale if self.scale else (rows + 1) // 2

    # -- drawing ---------------------------------------------------------------------
    def set_pixels(self, pixels: np.ndarray) -> None:
        self.pixels = np.clip(np.asarray(pixels, dtype=np.float32).reshape(self.pixels.shape), 0.0, 1.0)
        self._changed()

    def _changed(self) -> None:
        self.refresh()
        self.post_message(self.Changed(self, self.pixels.copy()))

    def stroke(self, r: int, c: int, ink: float = 1.0) -> None:
        """Ink (or with ``ink`` 0, wipe) the pixel and half-ink its neighbours."""
        rows, cols = self.pixels.shape
        if not (0 <= r < rows and 0 <= c < cols):
            return
        if ink > 0:
            self.pixels[r, c] = max(self.pixels[r, c], ink)
            if max(rows, cols) > 16:  # a fine grid: a pen a few pixels wide, as a digit's stroke is
                for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < rows and 0 <= cc < cols:
                        self.pixels[rr, cc] = max(self.pixels[rr, cc], NEIGHBOUR_INK * ink)
        else:
            self.pixels[r, c] = 0.0
        self._changed()

    def action_move(self, dc: int, dr: int) -> None:
        rows, cols = self.pixels.shape
        r, c = self.cursor
        self.cursor = (min(rows - 1, max(0, r + dr)), min(cols - 1, max(0, c + dc)))
        if self.pen_down:
            self.stroke(*self.cursor)
        else:
            self.refresh()

    def action_ink(self) -> None:
        r, c = self.cursor
        self.stroke(r, c, 0.0 if self.pixels[r, c] >= 1.0 else 1.0)

    def action_pen(self) -> None:
        self.pen_down = not self.pen_down
        if self.pen_down:
            self.stroke(*self.cursor)
        self.notify("pen down: moving draws" if self.pen_down else "pen up", timeout=1.5)

    def action_wipe(self) -> None:
        self.stroke(*self.cursor, ink=0.0)

    def action_clear(self) -> None:
        self.pixels[:] = 0.0
        self._changed()

    # -- the mouse ------------------------------------------------------------------------
    def _cell(self, event) -> tuple[int, int] | None:
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        if self.scale:
            return offset.y // self.scale, offset.x // (2 * self.scale)
        return offset.y * 2, offset.x // 2  # the upper pixel of the line

    def on_mouse_down(self, event) -> None:
        cell = self._cell(event)
        if cell is not None:
            self._dragging = 0.0 if event.button == 3 else 1.0
            self.capture_mouse()
            self.cursor = cell
            self.stroke(*cell, ink=self._dragging)

    def on_mouse_move(self, event) -> None:
        if self._dragging is None:
            return
        cell = self._cell(event)
        if cell is not None and cell != self.cursor:
            self.cursor = cell
            self.stroke(*cell, ink=self._dragging)

    def on_mouse_up(self, _event) -> None:
        self._dragging = None
        self.release_mouse()

    def _color(self, r: int, c: int) -> Color:
        return PEN if (r, c) == self.cursor and self.has_focus else _grey(self.pixels[r, c])

    def render_line(self, y: int) -> Strip:
        rows, cols = self.pixels.shape
        if self.scale:
            r, w = y // self.scale, 2 * self.scale
            if r >= rows:
                return Strip.blank(self.size.width)
            return Strip([Segment(" " * w, Style(bgcolor=self._color(r, c))) for c in range(cols)], w * cols)
        top, bottom = 2 * y, 2 * y + 1
        if top >= rows:
            return Strip.blank(self.size.width)
        segments = []
        for c in range(cols):
            up = PEN if (top, c) == self.cursor and self.has_focus else _grey(self.pixels[top, c])
            if bottom < rows:
                down = PEN if (bottom, c) == self.cursor and self.has_focus else _grey(self.pixels[bottom, c])
            else:
                down = None
            segments.append(Segment("▀▀", Style(color=up, bgcolor=down)))
        return Strip(segments, 2 * cols)


class PointPad(Widget, can_focus=True):
    """A point over the input plane of a 2-D dataset (``extent``: xmin, xmax, ymin,
    ymax), drawn over the model's output there (``show_plane``: a ``boundary`` event's
    grid, in Playground's colours). Arrows move the point, a click puts it."""

    DEFAULT_CSS = """
    PointPad {
        width: 1fr;
        height: 1fr;
        min-height: 8;
    }
    """

    BINDINGS = [
        Binding("up", "move(0, 1)", "Up", show=False),
        Binding("down", "move(0, -1)", "Down", show=False),
        Binding("left", "move(-1, 0)", "Left", show=False),
        Binding("right", "move(1, 0)", "Right", show=False),
    ]

    class Moved(Message):
        def __init__(self, pad: "PointPad", x: float, y: float) -> None:
            super().__init__()
            self.pad, self.x, self.y = pad, x, y

    def __init__(self, extent, *, steps: int = 40, id: str | None = None):
        super().__init__(id=id)
        self.extent = tuple(float(v) for v in extent)
        self.steps = steps
        self.point = ((self.extent[0] + self.extent[1]) / 2, (self.extent[2] + self.extent[3]) / 2)
        self.plane: np.ndarray | None = None  # model output on a grid, row 0 at ymin, in [-1, 1]

    def show_plane(self, values) -> None:
        """The model's output over the plane (a ``boundary`` event's ``values``: probabilities)."""
        grid = np.asarray(values, dtype=np.float64)
        self.plane = np.clip(grid, 0.0, 1.0) * 2.0 - 1.0 if grid.ndim == 2 else None
        self.refresh()

    def move_to(self, x: float, y: float) -> None:
        xmin, xmax, ymin, ymax = self.extent
        self.point = (min(xmax, max(xmin, x)), min(ymax, max(ymin, y)))
        self.refresh()
        self.post_message(self.Moved(self, *self.point))

    def action_move(self, dx: int, dy: int) -> None:
        xmin, xmax, ymin, ymax = self.extent
        x, y = self.point
        self.move_to(x + dx * (xmax - xmin) / self.steps, y + dy * (ymax - ymin) / self.steps)

    def cell_of(self, x: float, y: float) -> tuple[int, int]:
        """(line, column) of the point (a line holds two pixel rows)."""
        w, h = self.size
        xmin, xmax, ymin, ymax = self.extent
        col = int((x - xmin) / (xmax - xmin) * max(1, w - 1) + 0.5)
        row = int((ymax - y) / (ymax - ymin) * max(1, h - 1) + 0.5)
        return row, col

    def on_click(self, event) -> None:
        w, h = self.size
        xmin, xmax, ymin, ymax = self.extent
        self.move_to(xmin + event.x / max(1, w - 1) * (xmax - xmin), ymax - event.y / max(1, h - 1) * (ymax - ymin))

    def render_line(self, y: int) -> Strip:
        from tuidl.ui.widgets.boundary import _COLORS, _levels, _resample

        w, h = self.size
        row, col = self.cell_of(*self.point)
        if self.plane is not None and w > 0 and h > 0:
            levels = _levels(_resample(self.plane, self.extent, w, 2 * h))
            cells = [Segment("▀", Style(color=_COLORS[int(levels[2 * y, c])], bgcolor=_COLORS[int(levels[2 * y + 1, c])]))
                     for c in range(w)]
        else:
            cells = [Segment(" ") for _ in range(w)]
        if y == row and 0 <= col < w:
            under = cells[col].style.bgcolor if cells[col].style is not None else None
            cells[col] = Segment("◉", Style(color=PEN, bgcolor=under, bold=True))
        return Strip(cells, w)
