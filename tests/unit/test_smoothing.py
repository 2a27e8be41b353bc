"""The step-weighted, debiased EMA (tuidl/core/run/smoothing.py, docs/ui.md "Smoothing"):
the same curve however many points were logged, constant input constant from the first
point, TensorBoard's debiased EMA for points one unit apart, incremental = at once."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tuidl.core.run.smoothing import ema, ema_extend, ema_reference, ema_state
from tuidl.ui.series import Series, ema_reference as tensorboard


@settings(max_examples=60, deadline=None)
@given(st.floats(-1e6, 1e6), st.floats(0.0, 0.99), st.lists(st.floats(0.01, 100.0), min_size=1, max_size=60))
def test_constant_input_stays_constant_from_the_first_point(c, w, gaps):
    x = np.cumsum([0.0] + gaps)
    assert np.allclose(ema(x, np.full(x.size, c), w, unit=3.0), c, rtol=1e-9, atol=1e-9 * max(1.0, abs(c)))


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 20), st.floats(0.5, 0.98), st.integers(0, 2**31))
def test_subsampling_leaves_the_curve_nearly_unchanged_at_shared_x(every, w, seed):
    """A curve logged at every step and the same curve logged every ``every`` steps (or
    at random steps) smooth to nearly the same values where both have a point: the
    weight is per unit of x, not per point. (Counting points, as TensorBoard does, the
    sparser curve would smooth over ``every`` times more x.)"""
    rng = np.random.default_rng(seed)
    x = np.arange(20_000, dtype=float)
    y = 3.0 + np.sin(x / 1500.0) + 0.5 * np.exp(-x / 3000.0)  # a smooth signal (no noise to average away)
    unit = 20.0  # w per 20 steps: a window of a few hundred steps
    full = ema(x, y, w, unit)
    keep = np.unique(np.concatenate([[0], np.arange(0, x.size, every), rng.choice(x.size, 300)]))
    sub = ema(x[keep], y[keep], w, unit)
    span = y.max() - y.min()
    assert np.max(np.abs(sub - full[keep])) < 0.02 * span
    counted = np.array(tensorboard(y[keep], w))  # per point: visibly off once points are sparse
    if every >= 10 and w >= 0.9:
        assert np.max(np.abs(counted - full[keep])) > np.max(np.abs(sub - full[keep]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=80), st.floats(0.0, 0.99), st.integers(1, 79))
def test_one_unit_apart_it_is_tensorboards_debiased_ema_and_incremental_is_the_same(ys, w, cut):
    x = np.arange(len(ys), dtype=float)
    y = np.array(ys)
    assert np.allclose(ema(x, y, w, 1.0), tensorboard(ys, w), rtol=1e-9, atol=1e-6)
    assert np.allclose(ema(x, y, w, 1.0), ema_reference(x, y, w, 1.0), rtol=1e-9, atol=1e-6)
    cut = min(cut, len(ys))
    a, state = ema_extend(x[:cut], y[:cut], w, 1.0, ema_state())
    b, _ = ema_extend(x[cut:], y[cut:], w, 1.0, state)
    assert np.allclose(np.concatenate([a, b]), ema(x, y, w, 1.0), rtol=1e-9, atol=1e-6)


def test_long_runs_and_series_cache():
    x = np.arange(300_000, dtype=float)
    y = np.where(x % 2 == 0, 1.0, 3.0)
    out = ema(x, y, 0.99, unit=1.0)
    assert np.all(np.isfinite(out)) and abs(out[-1] - 2.0) < 0.02
    s = Series()
    s.extend(x[:1000], y[:1000])
    first = s.smoothed(0.9).copy()  # the default unit: a thousandth of the span
    s.extend(x[1000:1500], y[1000:1500])
    assert np.allclose(s.smoothed(0.9)[:1000], first)  # extended, not recomputed
    assert math.isnan(ema([0, 1], [math.nan, 2.0], 0.5)[0]) and ema([0, 1], [math.nan, 2.0], 0.5)[1] == 2.0
