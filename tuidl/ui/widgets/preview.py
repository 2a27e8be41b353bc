"""Sample previews as Rich renderables: pure functions of numpy arrays, no torch, no
Textual. The dataset pane shows them; the training pane reuses :func:`image_text` and
:func:`sequence_text` for test-sample predictions.

* 2-D point sets → :func:`scatter_text` (plotext 5.x, two colours by class, or coloured
  by the sign and size of a regression target);
* images → :func:`image_text` (half blocks: ``▀`` with the upper pixel as foreground
  and the lower pixel as background), several in a row with :func:`image_grid`;
* sequences → :func:`sequence_text` (a braille line plot of an exact size), several in a
  row with :func:`sequence_grid`;
* split sizes and class balance → :func:`balance_table`.

Colours are RGB for pixels (Rich/Textual downgrade them on 256- and 16-colour
terminals) and 256-palette indexes for everything else.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from rich.color import Color
from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from tuidl.core import textplot
from tuidl.ui import palette

UPPER_HALF = "▀"
#: 256-colour palette indexes for classes: orange, blue, green, magenta, cyan, red,
#: yellow, purple, grey, brown (orange/blue first, as in TensorFlow Playground).
PALETTE = (208, 33, 34, 170, 37, 160, 178, 99, 244, 130)
SPARKS = "▁▂▃▄▅▆▇█"

def class_color(index: int) -> str:
    """A Rich colour for class ``index``."""
    return f"color({PALETTE[index % len(PALETTE)]})"


# ---------------------------------------------------------------------------
# Images


def _to_hwc(array: np.ndarray) -> np.ndarray:
    """``(H, W)``, ``(1|3, H, W)`` or ``(H, W, 1|3)`` → float ``(H, W, C)``."""
    a = np.asarray(array, dtype=np.float64)
    if a.ndim == 2:
        return a[:, :, None]
    if a.ndim == 3:
        if a.shape[0] in (1, 3) and a.shape[2] not in (1, 3):
            return np.transpose(a, (1, 2, 0))
        if a.shape[2] in (1, 3):
            return a
        if a.shape[0] in (1, 3):
            return np.transpose(a, (1, 2, 0))
        # Other channel counts: show the first channel.
        return a[0][:, :, None]
    raise ValueError(f"expected an image (H, W), (C, H, W) or (H, W, C), got shape {a.shape}")


def _scale(a: np.ndarray) -> np.ndarray:
    """Min-max scale to integers 0..255 (a constant image is black)."""
    a = np.where(np.isfinite(a), a, 0.0)
    lo, hi = float(a.min()), float(a.max())
    if hi - lo <= 1e-12:
        return np.zeros(a.shape, dtype=np.uint8)
    return np.clip(np.rint((a - lo) / (hi - lo) * 255.0), 0, 255).astype(np.uint8)


def _pixel_color(px: np.ndarray) -> Color:
    if px.shape[0] == 1:
        v = int(px[0])
        return Color.from_rgb(v, v, v)
    return Color.from_rgb(int(px[0]), int(px[1]), int(px[2]))


def image_text(array: np.ndarray) -> Text:
    """An image drawn with half blocks: each character is two pixels, ``▀`` coloured with
    the upper pixel as foreground and the lower one as background. Greyscale or RGB,
    channel-first or channel-last, min-max scaled per image. ``H × W`` pixels give
    ``ceil(H / 2)`` lines of ``W`` characters."""
    img = _scale(_to_hwc(array))
    h, w, _ = img.shape
    text = Text(no_wrap=True, overflow="crop")
    cache: dict[tuple[int, ...], Color] = {}

    def color(px: np.ndarray) -> Color:
        key = tuple(int(v) for v in px)
        found = cache.get(key)
        if found is None:
            found = cache[key] = _pixel_color(px)
        return found

    for y in range(0, h, 2):
        if y:
            text.append("\n")
        for x in range(w):
            fg = color(img[y, x])
            bg = color(img[y + 1, x]) if y + 1 < h else None
            text.append(UPPER_HALF, Style(color=fg, bgcolor=bg))
    return text


def label_text(label: str, width: int, style: str = "") -> Text:
    shown = label if len(label) <= width else label[: max(1, width - 1)] + "…"
    return Text(shown.center(width), style=style, no_wrap=True, overflow="crop")


def _grid(cells: list[RenderableType], gap: int = 2) -> Table:
    table = Table.grid(padding=(0, gap, 0, 0), pad_edge=False)
    for _ in cells:
        table.add_column(no_wrap=True)
    table.add_row(*cells)
    return table


def fit_count(item_width: int, width: int, gap: int = 2, limit: int = 0) -> int:
    """How many items of ``item_width`` fit in ``width`` with ``gap`` between them."""
    n = max(1, (width + gap) // (item_width + gap))
    return min(n, limit) if limit else n


def image_grid(images: Sequence[np.ndarray], labels: Sequence[str], width: int,
               label_styles: Sequence[str] | None = None) -> RenderableType:
    """Images side by side (as many as fit in ``width``), each with its label under it."""
    if not len(images):
        return Text("no images", style="dim")
    first = _to_hwc(images[0])
    img_w = first.shape[1]
    n = fit_count(max(img_w, 3), width, limit=len(images))
    cells = []
    for i in range(n):
        style = label_styles[i] if label_styles else ""
        cell_w = max(img_w, 3)
        cells.append(Group(image_text(images[i]), label_text(str(labels[i]), cell_w, style)))
    return _grid(cells)


# ---------------------------------------------------------------------------
# Sequences

_BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


def _line(x0: int, y0: int, x1: int, y1: int):
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    while True:
        yield x0, y0
        if x0 == x1 and y0 == y1:
            return
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy


def sequence_text(values: Any, width: int, height: int, style: str = "color(33)") -> Text:
    """A line plot of ``values`` in braille dots, exactly ``height`` lines of ``width``
    characters (no axes; min-max scaled). A ``(1, L)`` array is read as one sequence."""
    width, height = max(1, int(width)), max(1, int(height))
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = np.where(np.isfinite(v), v, 0.0) if v.size else v
    dots_w, dots_h = 2 * width, 4 * height
    grid = np.zeros((height, width), dtype=np.int32)
    if v.size:
        lo, hi = float(v.min()), float(v.max())
        if hi - lo <= 1e-12:
            ys = np.full(v.shape, (dots_h - 1) // 2, dtype=int)
        else:
            ys = np.rint((hi - v) / (hi - lo) * (dots_h - 1)).astype(int)
        if v.size == 1:
            xs = np.array([0])
        else:
            xs = np.rint(np.arange(v.size) * (dots_w - 1) / (v.size - 1)).astype(int)
        points = list(zip(xs.tolist(), ys.tolist()))
        pairs = zip(points, points[1:]) if len(points) > 1 else [(points[0], points[0])]
        for (x0, y0), (x1, y1) in pairs:
            for x, y in _line(x0, y0, x1, y1):
                grid[y // 4, x // 2] |= _BRAILLE_BITS[y % 4][x % 2]
    lines = ["".join(chr(0x2800 + c) if c else " " for c in row) for row in grid]
    return Text("\n".join(lines), style=style, no_wrap=True, overflow="crop")


def sequence_grid(sequences: Sequence[Any], labels: Sequence[str], width: int,
                  plot_width: int = 20, plot_height: int = 4,
                  label_styles: Sequence[str] | None = None) -> RenderableType:
    """Small line plots side by side (as many as fit in ``width``), labels under them."""
    if not len(sequences):
        return Text("no sequences", style="dim")
    n = fit_count(plot_width, width, limit=len(sequences))
    cells = []
    for i in range(n):
        style = label_styles[i] if label_styles else ""
        cells.append(Group(sequence_text(sequences[i], plot_width, plot_height),
                           label_text(str(labels[i]), plot_width, style)))
    return _grid(cells)


# ---------------------------------------------------------------------------
# 2-D scatter


def _regression_bins(y: np.ndarray) -> list[tuple[np.ndarray, int, str]]:
    """Five colour bins on a diverging scale: blue below zero, orange above, grey near
    zero; the edges are fractions of the largest |target| (98th percentile)."""
    top = float(np.percentile(np.abs(y), 98)) if y.size else 0.0
    top = top or 1.0
    lo, hi = 0.1 * top, 0.5 * top
    return [
        (y < -hi, 33, f"< {-hi:.2g}"),
        ((y >= -hi) & (y < -lo), 117, "< 0"),
        ((y >= -lo) & (y <= lo), 250, f"≈ 0 (±{lo:.2g})"),
        ((y > lo) & (y <= hi), 216, "> 0"),
        (y > hi, 208, f"> {hi:.2g}"),
    ]


def scatter_text(points: Any, targets: Any, width: int, height: int, *,
                 task: str = "classification", classes: Sequence[str] = (),
                 marks: str = "blocks", max_points: int = 2000) -> RenderableType:
    """A scatter plot of 2-D ``points`` ``(N, 2)`` (``textplot.scatter_chart``), coloured
    by class (one colour per class) or, for regression, by the sign and size of the
    target; a legend under it. The plot is ``width × height`` characters plus one legend
    line. ``marks`` "blocks" (the default) draws quadrant blocks: 2×2 points per character."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    y = np.asarray(targets).reshape(len(pts), -1)[:, 0] if len(pts) else np.zeros(0)
    if len(pts) > max_points:
        keep = np.linspace(0, len(pts) - 1, max_points).astype(int)
        pts, y = pts[keep], y[keep]
    width, height = max(10, int(width)), max(5, int(height))
    groups: list[tuple[np.ndarray, int, str]] = []
    if task == "regression":
        groups = _regression_bins(y.astype(np.float64))
    else:
        labels = y.astype(np.int64)
        present = sorted(set(labels.tolist()))
        for k in present:
            name = classes[k] if 0 <= k < len(classes) else str(k)
            groups.append((labels == k, PALETTE[k % len(PALETTE)], name))
    rows = textplot.scatter_chart([textplot.PointGroup(pts[mask, 0], pts[mask, 1], color)
                                   for mask, color, _ in groups], width, height, marks=marks)
    legend = Text(overflow="fold")
    for mask, color, name in groups:
        if legend:
            legend.append("  ")
        legend.append("● ", style=f"color({color})")
        legend.append(f"{name} ({int(mask.sum())})")
    return Group(Text.from_ansi("\n".join(rows), no_wrap=True, overflow="crop"), legend)


# ---------------------------------------------------------------------------
# Tables of numbers


def table_preview(x: Any, y: Any, classes: Sequence[str] = (), rows: int = 5, max_features: int = 6,
                  names: Sequence[str] = ()) -> Table:
    """The first ``rows`` samples of flat features as numbers, with their targets; the
    columns are headed by ``names`` (a CSV's header) where given, else ``x0``, ``x1``, …"""
    xs = np.asarray(x, dtype=np.float64)
    xs = xs.reshape(len(xs), -1) if len(xs) else xs.reshape(0, 0)
    ys = np.asarray(y)
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    n_feat = xs.shape[1] if xs.ndim == 2 else 0
    shown = min(n_feat, max_features)
    for j in range(shown):
        table.add_column(str(names[j]) if j < len(names) else f"x{j}", justify="right")
    if n_feat > shown:
        table.add_column(f"… +{n_feat - shown}", justify="left")
    table.add_column("target", justify="right")
    for i in range(min(rows, len(xs))):
        cells = [f"{xs[i, j]:.3g}" for j in range(shown)]
        if n_feat > shown:
            cells.append("…")
        target = ys[i]
        if np.issubdtype(np.asarray(target).dtype, np.integer) and classes:
            k = int(target)
            cells.append(Text(classes[k] if 0 <= k < len(classes) else str(k), style=class_color(k)))
        else:
            flat = np.asarray(target, dtype=np.float64).reshape(-1)
            cells.append(", ".join(f"{v:.3g}" for v in flat[:3]) + (" …" if flat.size > 3 else ""))
        table.add_row(*cells)
    return table


# ---------------------------------------------------------------------------
# Split sizes and class balance


def _segments(counts: Sequence[int], width: int) -> list[int]:
    """Split ``width`` cells among ``counts`` proportionally (largest remainder)."""
    total = sum(counts)
    if total <= 0:
        return [0] * len(counts)
    exact = [c * width / total for c in counts]
    cells = [math.floor(e) for e in exact]
    order = sorted(range(len(counts)), key=lambda i: exact[i] - cells[i], reverse=True)
    for i in order[: width - sum(cells)]:
        cells[i] += 1
    return cells


def stacked_bar(counts: Sequence[int], width: int) -> Text:
    """One bar of ``width`` cells split by class share, a colour per class."""
    text = Text(no_wrap=True)
    for k, n in enumerate(_segments(counts, width)):
        if n:
            text.append("█" * n, style=class_color(k))
    if not text:
        text.append("·" * width, style="dim")
    return text


def sparkline(counts: Sequence[int], width: int) -> Text:
    """One character per class (bucketed when there are more classes than ``width``),
    its height the class count relative to the largest."""
    values = np.asarray(counts, dtype=np.float64)
    if values.size > width > 0:
        edges = np.linspace(0, values.size, width + 1).astype(int)
        values = np.array([values[a:b].mean() for a, b in zip(edges, edges[1:])])
    top = float(values.max()) if values.size else 0.0
    if top <= 0:
        return Text("·" * len(values), style="dim")
    chars = "".join(SPARKS[min(len(SPARKS) - 1, int(round(v / top * (len(SPARKS) - 1))))] for v in values)
    return Text(chars, style="color(33)")


def balance_table(sizes: dict[str, int], balance: dict[str, Sequence[int]] | None,
                  classes: Sequence[str], width: int = 60) -> RenderableType:
    """Each split's size, share, and class balance (a stacked bar for up to 12
    classes, a sparkline for more), with a colour legend."""
    total = sum(int(v) for v in sizes.values()) or 1
    bar_w = max(8, min(40, width - 42))
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold", expand=False)
    table.add_column("split")
    table.add_column("samples", justify="right")
    table.add_column("share", justify="right")
    balance = balance or {}
    have_balance = bool(classes) and any(balance.get(s) for s in sizes)
    if have_balance:
        table.add_column("class balance", no_wrap=True)
        table.add_column("per class", justify="right", no_wrap=True)
    for split in ("train", "val", "test"):
        if split not in sizes:
            continue
        n = int(sizes[split])
        cells: list[RenderableType] = [Text(split, style=palette.style(palette.SPLITS[split])), f"{n:,}", f"{100 * n / total:.0f}%"]
        if have_balance:
            counts = [int(c) for c in balance.get(split) or []]
            if not counts or not n:
                cells += [Text("—", style="dim"), ""]
            elif len(classes) <= 12:
                cells.append(stacked_bar(counts, bar_w))
                cells.append(" / ".join(str(c) for c in counts) if len(counts) <= 3
                             else f"{min(counts):,}–{max(counts):,}")
            else:
                cells.append(sparkline(counts, bar_w))
                cells.append(f"{min(counts):,}–{max(counts):,}")
        table.add_row(*cells)
    if not have_balance or len(classes) > 12:
        return table
    legend = Text(overflow="fold")
    for k, name in enumerate(classes):
        if legend:
            legend.append("  ")
        legend.append("█ ", style=class_color(k))
        legend.append(str(name))
    return Group(table, legend)
