"""The lab's results as text: what ``tuidl lr-find``, ``tuidl landscape`` and ``tuidl
adversarial`` print, and what ``tuidl export`` and the console progress reuse. Charts
are drawn by :mod:`tuidl.core.textplot` (plotext), plain unless ``color``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tuidl.core.numbers import number
from tuidl.core.textplot import PlotLine, line_chart

SHADES = " .:-=+*#%@"  # the landscape's heat map, low loss to high


def _chart(lines: list[PlotLine], title: str, x_label: str, width: int, height: int, *, log_x: bool = False,
           color: bool = False) -> str:
    rows = line_chart(lines, width, height, title=title, x_label=x_label, log_x=log_x, color=color)
    return "\n".join(row.rstrip() for row in rows)


# -- the learning-rate range test ----------------------------------------------------------


def lr_find_text(result: Any, current_lr: float, width: int = 72, height: int = 18, color: bool = False) -> str:
    """The loss against the learning rate (log axis; points past the divergence, above
    1.5 times the starting loss, left out so the rest stays readable), then the
    suggestions."""
    start = float(np.median(result.losses[:max(1, len(result.losses) // 10)]))
    cap = 1.5 * start if math.isfinite(start) and start > 0 else math.inf
    lines = []
    for label, ys, shade in (("loss", result.losses, 8), ("smoothed", result.smoothed, 6)):
        pts = [(x, y) for x, y in zip(result.lrs, ys) if math.isfinite(y) and y <= cap]
        if pts:
            lines.append(PlotLine([p[0] for p in pts], [p[1] for p in pts], label, shade))
    if lines:  # the suggestions as vertical marks
        lo, hi = min(min(ln.ys) for ln in lines), max(max(ln.ys) for ln in lines)
        for label, lr, shade in (("tuidl", result.suggestion, 2), ("Lightning", result.lightning, 3)):
            if lr is not None:
                lines.append(PlotLine([lr] * 8, np.linspace(lo, hi, 8).tolist(), label, shade))
    chart = _chart(lines, "training loss by learning rate", "learning rate", width, height, log_x=True, color=color)
    end = (f"diverged after {result.steps_run} steps" if result.diverged
           else f"{result.steps_run} steps, up to lr {result.lrs[-1]:.3g} without diverging")
    lightning = f"{result.lightning:.3g}" if result.lightning is not None else "none (too few points)"
    return "\n".join([
        chart,
        f"Range test: lr {result.lr_min:.3g} → {result.lr_max:.3g}, {end}.",
        f"Suggested lr (tuidl): {result.suggestion:.3g}  (the minimum of the averaged loss, over 10)",
        f"Lightning's suggestion: {lightning}  (the steepest descent of the smoothed loss)",
        f"The preset's lr: {current_lr:.3g}",
    ])


# -- the loss landscape ---------------------------------------------------------------------


def shade_rows(grid: list[list[Any]]) -> list[str]:
    """The grid as rows of shades (top row: the largest β), by the loss's logarithm from
    the lowest to the highest; ``!`` where the loss is not a number, ``O`` at the centre."""
    values = np.array([[number(v) for v in row] for row in grid], dtype=float)
    finite = np.isfinite(values) & (values > 0)
    logs = np.where(finite, np.log(np.where(finite, values, 1.0)), np.nan)
    lo, hi = (np.nanmin(logs), np.nanmax(logs)) if finite.any() else (0.0, 0.0)
    levels = np.clip(((logs - lo) / max(hi - lo, 1e-12) * (len(SHADES) - 1)).round(), 0, len(SHADES) - 1)
    n = len(grid)
    rows = []
    for j in reversed(range(n)):
        cells = ["!" if not finite[j, i] else SHADES[int(levels[j, i])] for i in range(n)]
        if j == n // 2:
            cells[n // 2] = "O"
        rows.append("".join(c * 2 for c in cells))
    return rows


def landscape_summary(ev: dict) -> str:
    """One line: the loss at the weights and the grid's lowest point."""
    alphas = [number(a) for a in ev["alphas"]]
    grid = np.array([[number(v) for v in row] for row in ev["grid"]], dtype=float)
    j, i = np.unravel_index(np.argmin(np.where(np.isfinite(grid), grid, np.inf)), grid.shape)
    return (f"Loss landscape at epoch {ev.get('epoch')}, step {ev.get('step')}: loss at the weights "
            f"{number(ev['center_loss']):.4g}; lowest {grid[j, i]:.4g} at α {alphas[i]:+.2f}, β {alphas[j]:+.2f} "
            f"({ev.get('steps')}×{ev.get('steps')} grid, {ev.get('samples')} training examples, "
            f"{number(ev.get('seconds', 0)):.1f}s)")


def landscape_text(ev: dict, width: int = 72, color: bool = False) -> str:
    """The heat map of the 2-D slice (the weights at its centre, O), its lowest point, and
    the 1-D line as a chart."""
    span = number(ev["span"])
    hi, lo = f"{span:+g}", f"{-span:+g}"
    rows = shade_rows(ev["grid"])
    body = [f"{hi if r == 0 else (lo if r == len(rows) - 1 else ''):>{len(hi)}} |{row}" for r, row in enumerate(rows)]
    axis = f"{'':>{len(hi)}}  {lo:<{len(rows[0]) - len(hi)}}{hi}  α"
    line = _chart([PlotLine([number(a) for a in ev["line_alphas"]], [number(v) for v in ev["line"]], "loss")],
                  "loss along the first direction (β = 0)", "α", width, 14, color=color)
    return "\n".join([
        landscape_summary(ev),
        "The training loss around the weights (O) along two filter-normalised random directions α, β; "
        f"shades from low to high loss (log scale): '{SHADES}'",
        f"{'β':>{len(hi)}}", *body, axis, "", line])


# -- the adversarial test -------------------------------------------------------------------


def adversarial_table(ev: dict) -> list[str]:
    """ε, FGSM and PGD accuracy, one row per ε."""
    rows = [f"{'ε (std)':>8}  {'FGSM':>7}  {'PGD':>7}"]
    for e, f, p in zip(ev["eps"], ev["fgsm"], ev["pgd"]):
        rows.append(f"{number(e):>8g}  {100 * number(f):>6.1f}%  {100 * number(p):>6.1f}%")
    return rows


def adversarial_head(ev: dict) -> str:
    return (f"Adversarial test at epoch {ev.get('epoch')}: {ev.get('samples')} {ev.get('split', 'test')} examples, "
            f"clean accuracy {100 * number(ev['clean']):.1f}%; ε in standard deviations of the input; "
            f"PGD {ev.get('pgd_steps')} steps")


def adversarial_chart(ev: dict, width: int = 72, height: int = 14, color: bool = False) -> str:
    eps = [number(e) for e in ev["eps"]]
    lines = [PlotLine(eps, [100 * number(v) for v in ev[k]], k.upper(), shade)
             for k, shade in (("fgsm", 6), ("pgd", 1))]
    return _chart(lines, "accuracy (%) under attack", "ε", width, height, color=color)


def adversarial_text(ev: dict, width: int = 72, color: bool = False) -> str:
    return "\n".join([adversarial_head(ev), *adversarial_table(ev), "", adversarial_chart(ev, width, color=color)])
