"""Smoothing that does not depend on how many points were logged or drawn.

For points (x_i, y_i) in x order, a weight ``w`` in [0, 1) and a ``unit`` of x::

    alpha_1 = w                                  (the first point counts as one unit)
    alpha_i = w ** ((x_i - x_{i-1}) / unit)      (i > 1)
    e_0 = 0,  e_i = alpha_i * e_{i-1} + (1 - alpha_i) * y_i
    s_i = e_i / (1 - alpha_1 * alpha_2 * ... * alpha_i)       (debiased)

A point's weight is its share of x, so a curve logged every step and the same curve
logged every tenth step smooth to (nearly) the same line; the debiasing makes a constant
input constant from its first point (TensorBoard's EMA counts points, not x, and its
early values lean towards 0 unless debiased). With equal steps of one ``unit`` this is
exactly TensorBoard's debiased EMA. Non-finite ys do not move the average (NaN out).
Pure numpy, no UI: :class:`tuidl.ui.series.Series` extends it incrementally.
"""

from __future__ import annotations

import math

import numpy as np

MAX_WEIGHT = 0.99
_BLOCK_LOG = 600.0  # within a block, exp(-cumulative log alpha) stays below e**600


def ema_state() -> tuple[float, float, float]:
    """The state before the first point: (e, log of the product of alphas, last x)."""
    return 0.0, 0.0, math.nan


def ema_extend(x: np.ndarray, y: np.ndarray, w: float, unit: float,
               state: tuple[float, float, float]) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The debiased, step-weighted EMA of more points (finite, in x order) after ``state``;
    returns the smoothed values and the state after them."""
    e, log_prod, last_x = state
    m = y.size
    if m == 0:
        return np.empty(0), state
    if w <= 0.0:
        return y.astype(np.float64, copy=True), (float(y[-1]), -math.inf, float(x[-1]))
    log_w = math.log(min(w, MAX_WEIGHT))
    gaps = np.empty(m)
    gaps[0] = unit if math.isnan(last_x) else max(float(x[0]) - last_x, 0.0)
    np.maximum(np.subtract(x[1:], x[:-1], out=gaps[1:]), 0.0, out=gaps[1:])
    la = np.maximum(gaps * (log_w / unit), -50.0)  # log alpha_i <= 0 (alpha below e**-50 is 0 to float64)
    cum = np.cumsum(la)  # once for all blocks: a block's own is this less the block's start
    neg = -cum  # non-decreasing
    weighted = -np.expm1(la)
    weighted *= y
    out = np.empty(m)
    i = 0
    while i < m:  # blocks in which the cumulative log alpha stays above -_BLOCK_LOG
        base = float(cum[i - 1]) if i else 0.0
        j = max(i + 1, int(np.searchsorted(neg, _BLOCK_LOG - base, side="left")))
        grow = np.exp(cum[i:j] - base)
        out[i:j] = grow * (e + np.cumsum(weighted[i:j] / grow))
        e = float(out[j - 1])
        i = j
    logs = cum
    if log_prod:
        logs = logs + log_prod
    # debiased: out / (1 - prod alpha); below e**-50 the product is 0 to float64 (nothing to divide)
    k = int(np.searchsorted(-logs, 50.0, side="left"))
    debiased = out
    if k:
        debiased[:k] /= -np.expm1(logs[:k])
    return debiased, (e, float(logs[-1]), float(x[-1]))


def ema(x, y, w: float, unit: float = 1.0) -> np.ndarray:
    """The smoothed curve of (x, y) (x ascending); NaN where y is not finite."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    out = np.full(y.size, np.nan)
    ok = np.isfinite(y) & np.isfinite(x)
    if ok.any():
        out[ok] = ema_extend(x[ok], y[ok], w, unit, ema_state())[0]
    return out


def ema_reference(x, y, w: float, unit: float = 1.0) -> list[float]:
    """The definition written out plainly (what :func:`ema` is tested against)."""
    e, prod, last, out = 0.0, 1.0, None, []
    for xi, yi in zip(x, y):
        if not (math.isfinite(yi) and math.isfinite(xi)):
            out.append(math.nan)
            continue
        if w <= 0.0:
            out.append(float(yi))
            continue
        alpha = min(w, MAX_WEIGHT) ** (1.0 if last is None else max(xi - last, 0.0) / unit)
        e = alpha * e + (1 - alpha) * yi
        prod *= alpha
        last = xi
        out.append(e / (1 - prod))
    return out


def default_unit(x: np.ndarray) -> float:
    """The x unit a chart smooths by: a thousandth of the x span (so ``w`` means the same
    for a run of 100 steps and one of a million), at least 1e-12."""
    x = x[np.isfinite(x)]
    if x.size < 2:
        return 1.0
    return max(float(x.max() - x.min()) / 1000.0, 1e-12)
