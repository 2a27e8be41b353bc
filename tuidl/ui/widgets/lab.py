"""The learning lab's drawings (docs/instruments.md), as plain functions that return
Rich renderables from an event, so reports and tests use them without an app:

* :func:`landscape_renderable`: the loss around the current weights (a ``landscape``
  event) as a heatmap with contour bands, the centre (the weights now) marked, and the
  1-D slice as a line chart;
* :func:`adversarial_renderable`: test accuracy against the attack size ε (an
  ``adversarial`` event), a table and a chart;
* :func:`health_renderable`: per-layer series of gradient norm, update ratio, dead
  units and activation spread (the run's ``health`` events), and the warnings.

:class:`LabPanel` is a scrollable Static that shows one of them.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tuidl.core import textplot
from tuidl.core.numbers import to_float
from tuidl.ui import palette

# low loss → high loss: dark blue … teal … yellow (a viridis-like ramp of xterm-256 colours)
BANDS = (17, 18, 24, 30, 36, 72, 108, 144, 180, 186, 228)
SPARKS = "▁▂▃▄▅▆▇█"
HEALTH_METRICS = (("grad_norm", "gradient norm", True), ("update_ratio", "update / weight", True),
                  ("dead", "dead units", False), ("act_std", "activation std", False))




def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:.3g}"


# -- the loss landscape -------------------------------------------------------------------


def landscape_bands(grid: np.ndarray, levels: int = len(BANDS)) -> np.ndarray:
    """Each grid value's band (0 … levels-1), evenly spaced in log(loss) between the
    grid's minimum and maximum: neighbouring bands meet along contour lines."""
    finite = grid[np.isfinite(grid) & (grid > 0)]
    if not finite.size:
        return np.zeros(grid.shape, dtype=int)
    lo, hi = math.log(finite.min()), math.log(finite.max())
    logs = np.log(np.where(np.isfinite(grid) & (grid > 0), grid, finite.max()))
    if hi - lo < 1e-12:
        return np.zeros(grid.shape, dtype=int)
    return np.clip(((logs - lo) / (hi - lo) * (levels - 1)).round().astype(int), 0, levels - 1)


def _landscape_map(grid: np.ndarray) -> Text:
    """Two characters per grid point, β from top (+span) to bottom (−span): the band's
    colour, ``·`` where the band changes (a contour), ``◆`` at the centre and ``✕`` at the
    lowest point."""
    bands = landscape_bands(grid)
    rows, cols = grid.shape
    lowest = np.unravel_index(np.nanargmin(np.where(np.isfinite(grid), grid, np.inf)), grid.shape)
    centre = (rows // 2, cols // 2)
    text = Text(no_wrap=True)
    for r in range(rows - 1, -1, -1):
        for c in range(cols):
            b = int(bands[r, c])
            edge = (c + 1 < cols and bands[r, c + 1] != b) or (r > 0 and bands[r - 1, c] != b)
            glyph = "◆ " if (r, c) == centre else "✕ " if (r, c) == tuple(lowest) else ("· " if edge else "  ")
            fg = "bright_white" if glyph.strip() in "◆✕" and glyph.strip() else "grey70"
            text.append(glyph, Style(color=fg, bgcolor=f"color({BANDS[b]})", bold=glyph.strip() in ("◆", "✕")))
        text.append("\n")
    text.rstrip()
    return text


def landscape_summary(event: dict) -> dict[str, float]:
    """Where the lowest loss of the 2-D slice is, against the centre (the weights now)."""
    grid = np.array(event.get("grid"), dtype=np.float64)
    alphas = np.array(event.get("alphas"), dtype=np.float64)
    betas = np.array(event.get("betas", event.get("alphas")), dtype=np.float64)
    r, c = np.unravel_index(np.nanargmin(np.where(np.isfinite(grid), grid, np.inf)), grid.shape)
    return {"alpha": float(alphas[c]), "beta": float(betas[r]), "lowest": float(grid[r, c]),
            "centre": to_float(event.get("center_loss"))}


def landscape_renderable(event: dict | None, width: int = 100) -> RenderableType:
    if not isinstance(event, dict):
        return Text("no loss landscape yet: press c to compute one around the current weights", style="dim italic")
    try:
        grid = np.array(event["grid"], dtype=np.float64)
        if grid.ndim != 2 or min(grid.shape) < 2:
            raise ValueError("grid must be 2-D")
        where = landscape_summary(event)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        return Text(f"landscape event not readable: {e}", style="yellow")
    span = to_float(event.get("span"))
    kept = f" ({event['checkpoint']} checkpoint)" if event.get("checkpoint") else ""
    head = Text.assemble(("Loss landscape", "bold"), f"  epoch {event.get('epoch', '?')}{kept} · "
                         f"{int(to_float(event.get('samples')) or 0):,} training samples · "
                         f"α, β ∈ [−{span:g}, {span:g}] along two filter-normalised random directions")
    where_text = Text.assemble(
        ("◆", "bold"), f" the weights now: loss {_fmt(where['centre'])}    ",
        ("✕", "bold"), f" lowest: {_fmt(where['lowest'])} at α {where['alpha']:+.2f}, β {where['beta']:+.2f}")
    parts: list[RenderableType] = [head, where_text, _landscape_map(grid)]
    line_x, line_y = event.get("line_alphas"), event.get("line")
    if isinstance(line_x, list) and isinstance(line_y, list) and len(line_x) == len(line_y) > 1:
        chart_w = max(30, min(width, 100))
        rows = textplot.line_chart([textplot.PlotLine(np.array(line_x, float), np.array(line_y, float), "loss",
                                                      palette.VAL)],
                                   chart_w, 12, title="1-D slice: loss along α (β = 0)", x_label="α")
        parts.append(Text.from_ansi("\n".join(rows), no_wrap=True))
    parts.append(Text("A minimum in a wide, flat basin tends to generalise better than one in a narrow, "
                      "sharp valley (Li et al. 2018). Colours: dark low loss, yellow high; · contour lines.",
                      style="dim"))
    return Group(*parts)


# -- the adversarial test -----------------------------------------------------------------


def adversarial_renderable(event: dict | None, width: int = 100) -> RenderableType:
    if not isinstance(event, dict):
        return Text("no adversarial test yet: press c to attack the test set (FGSM and PGD)", style="dim italic")
    eps = [to_float(e) for e in event.get("eps") or []]
    fgsm = [to_float(a) for a in event.get("fgsm") or []]
    pgd = [to_float(a) for a in event.get("pgd") or []]
    if not eps or len(fgsm) != len(eps) or len(pgd) != len(eps):
        return Text("adversarial event not readable: eps, fgsm and pgd must be lists of the same length",
                    style="yellow")
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    table.add_column("ε", justify="right")
    table.add_column("FGSM", justify="right")
    table.add_column(f"PGD ({int(to_float(event.get('pgd_steps')) or 0)} steps)", justify="right")
    for e, a, b in zip(eps, fgsm, pgd):
        table.add_row(f"{e:g}", f"{100 * a:.1f}%", f"{100 * b:.1f}%")
    clean = to_float(event.get("clean"))
    head = Text.assemble(("Adversarial test", "bold"),
                         f"  clean test accuracy {100 * clean:.1f}% on {int(to_float(event.get('samples')) or 0):,} "
                         f"samples · ε in standard deviations of the normalised input")
    rows = textplot.line_chart([textplot.PlotLine(np.array(eps), 100 * np.array(fgsm), "FGSM", palette.TRAIN),
                                textplot.PlotLine(np.array(eps), 100 * np.array(pgd), "PGD", palette.VAL)],
                               max(30, min(width - 36, 80)), 12, title="accuracy (%) against ε", x_label="ε")
    grid = Table.grid(padding=(0, 3))
    grid.add_row(table, Text.from_ansi("\n".join(rows), no_wrap=True))
    note = Text("Each test input is nudged by at most ε in the direction that raises the loss most. An accuracy "
                "that falls fast with a small ε means the model relies on fragile features: it generalises to "
                "the test split, not to a slightly changed one.", style="dim")
    return Group(head, grid, note)


def adversarial_line(event: dict | None) -> Text | None:
    """One line for the results: ``adversarial (PGD): ε 0 96% · 0.1 71% · 0.3 12%``."""
    if not isinstance(event, dict):
        return None
    eps, pgd = event.get("eps") or [], event.get("pgd") or []
    if not eps or len(eps) != len(pgd):
        return None
    text = Text("Adversarial (PGD)  ", style="bold")
    text.append(" · ".join(f"ε {to_float(e):g} {100 * to_float(a):.0f}%" for e, a in zip(eps, pgd)))
    return text


# -- layer health ---------------------------------------------------------------------------


def sparkline(values: Sequence[float], width: int, log: bool = False) -> str:
    """The last ``width`` values as ▁…█ (log scale for norms); ``·`` for a missing one."""
    ys = [float(v) for v in values][-width:]
    if log:
        ys = [math.log10(v) if v > 0 and math.isfinite(v) else math.nan for v in ys]
    finite = [v for v in ys if math.isfinite(v)]
    if not finite:
        return "·" * len(ys)
    lo, hi = min(finite), max(finite)
    out = []
    for v in ys:
        if not math.isfinite(v):
            out.append("·")
        else:
            k = 0 if hi - lo < 1e-12 else int(round((v - lo) / (hi - lo) * (len(SPARKS) - 1)))
            out.append(SPARKS[k])
    return "".join(out)


def health_renderable(layers: dict[str, dict[str, list[float]]], warnings: Sequence[dict] = (),
                      width: int = 100) -> RenderableType:
    """``layers``: per layer name, ``{metric: values over time}`` (the run's health
    series, oldest first); ``warnings``: the run's health notes."""
    if not layers:
        return Text("no layer health yet: it is measured while this view is open on a live run (or with "
                    "train.instruments.health = true)", style="dim italic")
    spark_w = max(8, min(24, (width - 30) // len(HEALTH_METRICS) - 8))
    table = Table(box=None, padding=(0, 1, 0, 0), header_style="bold")
    table.add_column("layer", no_wrap=True)
    for _key, title, _log in HEALTH_METRICS:
        table.add_column(title, no_wrap=True)
    for name, series in layers.items():
        cells = []
        for key, _title, log in HEALTH_METRICS:
            values = [to_float(v) for v in series.get(key) or []]
            if not values or not any(math.isfinite(v) for v in values):
                cells.append(Text("–", style="dim"))
                continue
            last = values[-1]
            shown = f"{100 * last:.0f}%" if key == "dead" and math.isfinite(last) else _fmt(last)
            cell = Text(sparkline(values, spark_w, log), style=palette.style(palette.VAL))
            cell.append(f" {shown}")
            cells.append(cell)
        table.add_row(name, *cells)
    parts: list[RenderableType] = []
    for note in warnings:
        parts.append(Text("⚠ " + str(note.get("message", note.get("kind", ""))), style="bold yellow"))
    parts.append(table)
    parts.append(Text("Gradient norm: how hard each layer is pushed (log scale). Update / weight: how much a step "
                      "changes the weights (about 1e-3 is healthy). Dead units: ReLUs that output 0 for every "
                      "example and so stop learning. Activation std: signals that shrink or grow layer by layer "
                      "make gradients vanish or explode.", style="dim"))
    return Group(*parts)


class LabPanel(VerticalScroll):
    """One instrument's drawing, scrollable."""

    DEFAULT_CSS = """
    LabPanel {
        height: 1fr;
        padding: 0 1;
    }
    LabPanel > Static {
        width: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.body = Static("")

    def compose(self):
        yield self.body

    def show(self, renderable: RenderableType) -> None:
        self.body.update(renderable)
