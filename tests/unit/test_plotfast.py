"""plotfast's numpy stand-ins for plotext's per-dot loops draw the same text as plotext's own."""

import math

import numpy as np
import pytest

from tuidl.core import plotfast, textplot


@pytest.fixture
def plt():
    plt = textplot._plotext()
    assert plotfast.installed()
    return plt


def _both(plt, draw):
    """``draw()`` with plotext's own functions, then with plotfast's."""
    plotfast.uninstall(plt)
    try:
        assert plt._utility.get_lines is not plotfast.get_lines
        slow = draw()
    finally:
        plotfast.install(plt)
    assert plt._utility.get_lines is plotfast.get_lines
    return slow, draw()


def _walk(rng, n, start=0.0):
    return start + np.cumsum(rng.normal(size=n))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("marks", ["braille", "blocks", "dots"])
def test_line_chart_text_unchanged(plt, seed, marks):
    rng = np.random.default_rng(seed)
    width, height = int(rng.integers(30, 140)), int(rng.integers(8, 45))
    lines = []
    for i in range(int(rng.integers(1, 6))):
        n = int(rng.integers(2, 3000))
        xs = np.sort(rng.uniform(0, 1000, n)) if i % 2 else np.arange(n, dtype=float)
        lines.append(textplot.PlotLine(xs, _walk(rng, n, 100.0), f"r{i}", 1 + i))
    slow, fast = _both(plt, lambda: textplot.line_chart(lines, width, height, title="t", x_label="step",
                                                        marks=marks, vlines=[(5.0, 3)]))
    assert fast == slow
    assert sum(ch != " " for row in textplot.plain("\n".join(fast)) for ch in row) > 20  # something was drawn


def test_edge_cases_unchanged(plt):
    rng = np.random.default_rng(7)
    y = _walk(rng, 500, 10.0)
    y[[3, 40, 41, 200]] = math.nan
    x = np.arange(1, 501, dtype=float)

    def nan_line():  # line_chart's callers leave non-finite points out; plotext itself skips NaNs
        with textplot.PLOT_LOCK:
            plt.clf()
            plt.plotsize(80, 20)
            plt.plot(x.tolist(), y.tolist(), marker="braille")
            return plt.build()

    slow, fast = _both(plt, nan_line)
    assert fast == slow
    cases = [
        dict(lines=[textplot.PlotLine(x, np.abs(_walk(rng, 500)) + 1, "logx")], log_x=True, log_y=True),
        dict(lines=[textplot.PlotLine([1.0, 2.0, 3.0], [0.5, 0.2, 0.9], "few")]),  # fewer points than columns
        dict(lines=[textplot.PlotLine([4.0], [1.0], "one")]),  # one point
        dict(lines=[textplot.PlotLine(x, np.full(500, 2.0), "flat")]),
        dict(lines=[textplot.PlotLine(x, y, "plain")], color=False),  # plain markers: no grouping
    ]
    for case in cases:
        lines = case.pop("lines")
        slow, fast = _both(plt, lambda: textplot.line_chart(lines, 80, 20, **case))
        assert fast == slow, lines[0].label


def test_scatter_unchanged(plt):
    rng = np.random.default_rng(3)
    groups = [textplot.PointGroup(rng.normal(size=400), rng.normal(size=400), c) for c in (1, 2)]
    slow, fast = _both(plt, lambda: textplot.scatter_chart(groups, 70, 25))
    assert fast == slow


def test_functions_match_plotext_on_their_own(plt):
    ut = plt._utility
    rng = np.random.default_rng(11)
    orig_lines, orig_group = plotfast._ORIG["get_lines"], plotfast._ORIG["hd_group"]
    for _ in range(20):
        n = int(rng.integers(2, 60))
        x = rng.integers(-5, 200, n).tolist()
        y = rng.integers(0, 100, n).tolist()
        other = (["braille"] * n, list(rng.integers(0, 255, n).tolist()), ["default"] * n)
        assert plotfast.get_lines(x, y, *other) == orig_lines(x, y, *other)
        for f in ((2, 4), (2, 2), (1, 1)):
            xs, ys = ut.brush(x, y)
            got = plotfast.hd_group(xs, ys, [f[0]] * len(xs), [f[1]] * len(xs))
            want = orig_group(xs, ys, [f[0]] * len(xs), [f[1]] * len(xs))
            assert sorted(zip(*got)) == sorted(zip(*want))  # the same characters (order: a set's)
    # a NaN point goes to plotext's own code
    assert plotfast.get_lines([0, math.nan, 4], [0, 1, 2], ["a"] * 3) == orig_lines([0, math.nan, 4], [0, 1, 2],
                                                                                    ["a"] * 3)


def test_charts_draw_with_the_stand_ins(plt):
    """Every chart goes through them once textplot loads plotext (how much sooner it draws
    is bench/runs_scale.py's figure: a test does not time things), and the overlay of ten
    noisy lines draws the same text with them as without."""
    assert plt._utility.get_lines is plotfast.get_lines and plt._utility.hd_group is plotfast.hd_group
    rng = np.random.default_rng(0)
    x = np.arange(450, dtype=float)
    lines = [textplot.PlotLine(x, np.repeat(rng.normal(size=225), 2), f"r{i}", i) for i in range(10)]
    slow, fast = _both(plt, lambda: textplot.line_chart(lines, 120, 40))
    assert fast == slow and len(fast) == 40 and any("⠀" < ch <= "⣿" for row in fast for ch in row)
