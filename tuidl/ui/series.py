"""An append-only (x, y) store for one metric, cheap at millions of points.

No Textual here: numpy only, so reports, benchmarks and tests use it directly.

``Series`` keeps x and y in growing float64 arrays (amortised doubling) and hands a
chart only what fits its width: ``view(columns)`` returns at most about two points
per column (the minimum and the maximum of each column's x bucket, in x order, plus
the very first and last points), so spikes survive and the cost of a redraw does not
depend on how long the run is. Smoothing is a debiased EMA weighted by x distance
(:mod:`tuidl.core.run.smoothing`; TensorBoard's with one point a unit), cached and
extended incrementally as points arrive, so a redraw never re-smooths the history.

Non-finite ys (a diverging run writes NaN/inf) are stored as they are and skipped in
every view; points with a non-finite x are dropped on the way in. A ``Series`` is not
thread-safe: append and view from the same thread (the UI thread).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from tuidl.core.numbers import to_float

from tuidl.core.run import smoothing

__all__ = ["Series", "ema_reference"]

_EMPTY = np.empty(0, dtype=np.float64)
_MAX_SMOOTH = 0.99




def _to_array(values) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.fromiter((to_float(v) for v in values), dtype=np.float64)
    return arr.reshape(-1)


def _clamp_smooth(smooth) -> float:
    w = to_float(smooth)
    if not math.isfinite(w) or w <= 0.0:
        return 0.0
    return min(w, _MAX_SMOOTH)


def ema_reference(ys: Iterable[float], smooth: float) -> list[float]:
    """TensorBoard's debiased EMA written out plainly (what ``Series.smoothed(w, unit=1)`` is
    for points one x apart). Non-finite inputs do not move the average and read as NaN."""
    w = _clamp_smooth(smooth)
    last, count, out = 0.0, 0, []
    for y in ys:
        y = to_float(y)
        if not math.isfinite(y):
            out.append(math.nan)
            continue
        if w == 0.0:
            out.append(y)
            continue
        last = last * w + (1.0 - w) * y
        count += 1
        out.append(last / (1.0 - w**count))
    return out


class Series:
    """Append-only (x, y) points of one metric.

    ``xs``/``ys`` are read-only numpy views of the stored points; ``version`` changes
    whenever the content does (charts can compare it to know they are stale)."""

    __slots__ = (
        "_x",
        "_y",
        "_n",
        "_sorted",
        "_n_bad",
        "_ymin",
        "_sm",
        "_sm_w",
        "_sm_n",
        "_sm_unit",
        "_sm_state",
        "_order",
        "_order_n",
        "version",
    )

    _INITIAL = 256

    def __init__(self, xs=None, ys=None):
        self._reset_storage(self._INITIAL)
        self.version = 0
        if xs is not None or ys is not None:
            self.extend(xs if xs is not None else [], ys if ys is not None else [])

    # -- storage ---------------------------------------------------------------

    def _reset_storage(self, capacity: int) -> None:
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self._n = 0
        self._sorted = True
        self._n_bad = 0  # non-finite ys stored
        self._ymin = math.inf  # smallest finite y stored
        self._sm = None  # smoothed ys (cache), same capacity as _y
        self._sm_w = 0.0
        self._sm_n = 0
        self._sm_unit = 1.0  # the x unit the cache was smoothed by
        self._sm_state = smoothing.ema_state()
        self._order = None  # argsort of xs, only when xs are not sorted
        self._order_n = -1

    def _reserve(self, needed: int) -> None:
        cap = self._x.size
        if needed <= cap:
            return
        new_cap = max(cap * 2, needed)
        n = self._n
        for name in ("_x", "_y", "_sm"):
            old = getattr(self, name)
            if old is None:
                continue
            new = np.empty(new_cap, dtype=np.float64)
            new[:n] = old[:n]
            setattr(self, name, new)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (capacity, not just the points used)."""
        total = self._x.nbytes + self._y.nbytes
        if self._sm is not None:
            total += self._sm.nbytes
        if self._order is not None:
            total += self._order.nbytes
        return total

    # -- writing ---------------------------------------------------------------

    def append(self, x, y) -> None:
        """Add one point. A non-finite or non-numeric x drops the point; a non-finite
        y is kept (it counts as a point) but never drawn."""
        xf = to_float(x)
        if not math.isfinite(xf):
            return
        yf = to_float(y)
        n = self._n
        if n >= self._x.size:
            self._reserve(n + 1)
        if n and xf < self._x[n - 1]:
            self._sorted = False
        self._x[n] = xf
        self._y[n] = yf
        if math.isfinite(yf):
            if yf < self._ymin:
                self._ymin = yf
        else:
            self._n_bad += 1
        self._n = n + 1
        self.version += 1

    def extend(self, xs, ys) -> None:
        """Add many points at once (same rules as ``append``)."""
        xa = _to_array(xs)
        ya = _to_array(ys)
        if xa.size != ya.size:
            raise ValueError(f"extend: {xa.size} xs but {ya.size} ys")
        keep = np.isfinite(xa)
        if not keep.all():
            xa, ya = xa[keep], ya[keep]
        m = xa.size
        if m == 0:
            return
        n = self._n
        self._reserve(n + m)
        if self._sorted and ((n and xa[0] < self._x[n - 1]) or (m > 1 and np.any(xa[1:] < xa[:-1]))):
            self._sorted = False
        self._x[n : n + m] = xa
        self._y[n : n + m] = ya
        finite = np.isfinite(ya)
        bad = m - int(np.count_nonzero(finite))
        if bad:
            self._n_bad += bad
            if bad < m:
                self._ymin = min(self._ymin, float(ya[finite].min()))
        else:
            self._ymin = min(self._ymin, float(ya.min()))
        self._n = n + m
        self.version += 1

    def clear(self) -> None:
        """Forget every point and give the memory back."""
        self._reset_storage(self._INITIAL)
        self.version += 1

    def cut(self, x_max: float) -> None:
        """Drop the points whose x is over ``x_max`` (a resumed run trains them again)."""
        xs = self.xs
        keep = xs <= x_max
        if keep.all():
            return
        kept_x, kept_y = xs[keep].copy(), self.ys[keep].copy()
        self.clear()
        self.extend(kept_x, kept_y)

    # -- reading ---------------------------------------------------------------

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:  # an empty series is still a series
        return True

    def __repr__(self) -> str:
        return f"Series({self._n} points)"

    def last(self) -> tuple[float, float] | None:
        """The most recently appended point, or None."""
        if self._n == 0:
            return None
        i = self._n - 1
        return float(self._x[i]), float(self._y[i])

    def last_finite(self) -> tuple[float, float] | None:
        """The most recent point whose y is finite, or None."""
        n = self._n
        if n == 0:
            return None
        if self._n_bad == 0:
            return self.last()
        # Walk back in small chunks: bad points are rare.
        end = n
        while end > 0:
            start = max(0, end - 1024)
            ok = np.flatnonzero(np.isfinite(self._y[start:end]))
            if ok.size:
                i = start + int(ok[-1])
                return float(self._x[i]), float(self._y[i])
            end = start
        return None

    @property
    def xs(self) -> np.ndarray:
        v = self._x[: self._n]
        v.flags.writeable = False
        return v

    @property
    def ys(self) -> np.ndarray:
        v = self._y[: self._n]
        v.flags.writeable = False
        return v

    def smoothed(self, smooth: float, unit: float | None = None) -> np.ndarray:
        """All ys smoothed by the step-weighted, debiased EMA of
        :mod:`tuidl.core.run.smoothing` (weight ``smooth``, clamped to [0, 0.99]; ``unit``:
        the x a weight applies to, default a thousandth of the x span); NaN where the raw y
        is not finite. A read-only view into a cache that is extended, not recomputed, as
        points arrive (rebuilt when the weight changes, or when the default unit doubled as
        the run grew, so a long run keeps smoothing at the same share of its span)."""
        w = _clamp_smooth(smooth)
        if w == 0.0:
            return self.ys
        n = self._n
        want = float(unit) if unit else smoothing.default_unit(self._x[:n])
        stale = (self._sm_unit != want) if unit else not (self._sm_unit <= want < 2.0 * self._sm_unit)
        if self._sm is None or self._sm.size != self._y.size or w != self._sm_w or stale:
            self._sm = np.empty(self._y.size, dtype=np.float64)
            self._sm_w = w
            self._sm_n = 0
            self._sm_unit = want
            self._sm_state = smoothing.ema_state()
        if self._sm_n < n:
            s = self._sm_n
            chunk = self._y[s:n]
            xs = self._x[s:n]
            finite = np.isfinite(chunk)
            all_finite = bool(finite.all())
            debiased, self._sm_state = smoothing.ema_extend(xs if all_finite else xs[finite],
                                                            chunk if all_finite else chunk[finite], w,
                                                            self._sm_unit, self._sm_state)
            if all_finite:
                self._sm[s:n] = debiased
            else:
                out = np.full(chunk.size, np.nan)
                out[finite] = debiased
                self._sm[s:n] = out
            self._sm_n = n
        v = self._sm[:n]
        v.flags.writeable = False
        return v

    def _sort_order(self) -> np.ndarray:
        if self._order is None or self._order_n != self._n:
            self._order = np.argsort(self._x[: self._n], kind="stable")
            self._order_n = self._n
        return self._order

    def view(
        self,
        columns: int,
        x_range: tuple[float | None, float | None] | None = None,
        smooth: float = 0.0,
        log_y: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The points to draw in ``columns`` columns: new (x, y) arrays in x order.

        Non-finite ys are skipped, and with ``log_y`` so are ys <= 0. When more than
        ``2*columns + 2`` points remain, the x range is cut into ``columns`` equal
        buckets and each keeps its minimum and maximum (in x order), plus the first
        and the last point overall: at most ``2*columns + 2`` points, spikes included.
        ``x_range`` is ``(lo, hi)`` (either may be None) and keeps lo <= x <= hi.
        ``smooth`` applies the EMA before downsampling."""
        columns = int(columns)
        n = self._n
        if n == 0 or columns <= 0:
            return _EMPTY.copy(), _EMPTY.copy()
        w = _clamp_smooth(smooth)
        x = self._x[:n]
        y = self.smoothed(w) if w > 0.0 else self._y[:n]
        if not self._sorted:
            order = self._sort_order()
            x = x[order]
            y = y[order]
        if x_range is not None:
            lo, hi = x_range
            lo = to_float(lo) if lo is not None else math.nan
            hi = to_float(hi) if hi is not None else math.nan
            i0 = int(np.searchsorted(x, lo, side="left")) if math.isfinite(lo) else 0
            i1 = int(np.searchsorted(x, hi, side="right")) if math.isfinite(hi) else n
            x = x[i0:i1]
            y = y[i0:i1]
        if self._n_bad or (log_y and not self._ymin > 0.0):
            keep = np.isfinite(y)
            if log_y:
                keep &= y > 0.0
            x = x[keep]
            y = y[keep]
        if x.size <= 2 * columns + 2:
            return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
        return _minmax(x, y, columns)


def _minmax(x: np.ndarray, y: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of y in each of ``columns`` equal x buckets, plus first and last,
    as indices in x order. Cost: one pass of argmin/argmax over the data plus a loop
    over the (at most ``columns``) non-empty buckets."""
    m = x.size
    x0, x1 = float(x[0]), float(x[-1])
    if not x1 > x0:
        starts = np.array([0])
        ends = np.array([m])
    else:
        edges = x0 + (x1 - x0) * (np.arange(1, columns, dtype=np.float64) / columns)
        bounds = np.searchsorted(x, edges, side="left")
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [m]))
        nonempty = ends > starts
        starts, ends = starts[nonempty], ends[nonempty]
    picks = [0]
    for s, e in zip(starts.tolist(), ends.tolist()):
        seg = y[s:e]
        a = s + int(seg.argmin())
        b = s + int(seg.argmax())
        if a < b:
            picks.append(a)
            picks.append(b)
        elif b < a:
            picks.append(b)
            picks.append(a)
        else:
            picks.append(a)
    picks.append(m - 1)
    idx = np.unique(np.asarray(picks, dtype=np.intp))
    return x[idx], y[idx]
