"""Series downsampling/smoothing, MetricChart and BoundaryPlot."""

from __future__ import annotations

import math

import numpy as np

from tuidl.core.run.smoothing import ema_reference as step_ema
import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region

from tuidl.ui.widgets.boundary import PALETTE, POINT_COLORS, BoundaryPlot
from tuidl.ui.widgets.charts import MetricChart, chart_cost
from tuidl.ui.series import Series

GLYPHS = set("▀▄▌▐▖▗▘▝▚▞▙▛▜▟█") | {chr(c) for c in range(0x2801, 0x2900)}  # blocks, braille


def ema(ys, w):
    """TensorBoard's smoothing, written out: debiased EMA that skips non-finite ys."""
    last, count, out = 0.0, 0, []
    for y in ys:
        if not math.isfinite(y):
            out.append(math.nan)
            continue
        last = last * w + (1 - w) * y
        count += 1
        out.append(last / (1 - w**count))
    return np.array(out)


def screen_lines(widget) -> list[str]:
    """What the widget paints, as text (through Textual's own render path)."""
    w, h = widget.size
    return ["".join(seg.text for seg in strip) for strip in widget.render_lines(Region(0, 0, w, h))]


# -- Series ---------------------------------------------------------------------


def test_view_keeps_spikes_and_ends():
    rng = np.random.default_rng(1)
    n = 200_000
    ys = rng.normal(size=n)
    ys[123_457] = 50.0  # spike
    ys[7_001] = -40.0  # dip
    s = Series()
    s.extend(np.arange(n), ys)
    xv, yv = s.view(100)
    assert len(xv) <= 2 * 100 + 2
    assert np.all(np.diff(xv) > 0)  # x order, no duplicates
    assert yv.max() == 50.0 and xv[yv.argmax()] == 123_457
    assert yv.min() == -40.0 and xv[yv.argmin()] == 7_001
    assert (xv[0], yv[0]) == (0.0, ys[0])
    assert (xv[-1], yv[-1]) == (n - 1.0, ys[-1])
    # every column bucket keeps its own min and max
    edges = np.linspace(0, n - 1, 101)
    for lo, hi in [(edges[10], edges[11]), (edges[57], edges[58])]:
        inside = (np.arange(n) >= lo) & (np.arange(n) < hi)
        got = yv[(xv >= lo) & (xv < hi)]
        assert ys[inside].max() in got and ys[inside].min() in got


def test_view_small_series_is_returned_whole():
    s = Series()
    for i in range(10):
        s.append(i, i * i)
    xv, yv = s.view(80)
    assert xv.tolist() == list(range(10)) and yv.tolist() == [i * i for i in range(10)]
    assert s.last() == (9.0, 81.0) and len(s) == 10
    assert Series().view(10)[0].size == 0 and Series().last() is None


@pytest.mark.parametrize("w", [0.3, 0.6, 0.9, 0.99])
def test_smoothing_matches_reference_and_is_incremental(w):
    rng = np.random.default_rng(2)
    ys = rng.normal(size=3000) * 5 + np.linspace(10, 0, 3000)
    ys[[5, 400, 2999]] = [np.nan, np.inf, -np.inf]
    s = Series()
    # smooth while the series grows: the cache is extended, not recomputed
    for start in range(0, 3000, 613):
        s.extend(np.arange(start, min(start + 613, 3000)), ys[start : start + 613])
        s.smoothed(w, unit=1.0)
    ref = np.array(step_ema(np.arange(3000.0), ys, w, 1.0))  # a skipped point's gap counts: x-weighted
    got = s.smoothed(w, unit=1.0)
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    assert np.allclose(got[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=1e-9, atol=1e-9)
    # the view with smoothing draws the smoothed values
    xv, yv = s.view(5000, smooth=w)
    assert np.allclose(yv, s.smoothed(w)[xv.astype(int)])


def test_smoothing_weight_change_and_clamp():
    s = Series(list(range(50)), [float(i % 7) for i in range(50)])
    a = s.smoothed(0.5, unit=1.0).copy()
    b = s.smoothed(0.8, unit=1.0)
    assert not np.allclose(a, b)
    assert np.allclose(s.smoothed(0.5, unit=1.0), a)
    assert np.allclose(s.smoothed(5.0, unit=1.0), ema([float(i % 7) for i in range(50)], 0.99))
    assert np.array_equal(s.smoothed(0.0), s.ys)


def test_non_finite_values_are_skipped():
    s = Series()
    s.extend([0, 1, 2, 3, 4, 5], [1.0, np.nan, np.inf, "nan", -np.inf, 2.0])
    s.append(6, None)
    s.append(7, "inf")
    s.append(float("nan"), 3.0)  # a point without an x is dropped
    s.append(8, "junk")
    assert len(s) == 9
    xv, yv = s.view(100)
    assert xv.tolist() == [0.0, 5.0] and yv.tolist() == [1.0, 2.0]
    xv, yv = s.view(100, smooth=0.6)
    assert np.all(np.isfinite(yv)) and xv.tolist() == [0.0, 5.0]
    bad = Series([0, 1, 2], [np.nan, np.nan, np.inf])
    assert bad.view(10)[0].size == 0 and bad.view(10, smooth=0.9, log_y=True)[0].size == 0
    assert s.last_finite() == (5.0, 2.0)


def test_log_y_drops_non_positive():
    s = Series(np.arange(6), [1.0, 0.0, -2.0, 0.5, 1e-9, 3.0])
    xv, yv = s.view(100, log_y=True)
    assert xv.tolist() == [0.0, 3.0, 4.0, 5.0] and np.all(yv > 0)
    assert s.view(100)[0].size == 6


def test_x_range_and_unsorted_x():
    s = Series(np.arange(100), np.arange(100) * 2.0)
    xv, yv = s.view(100, x_range=(10, 19))
    assert xv.tolist() == list(range(10, 20))
    xv, _ = s.view(100, x_range=(None, 4))
    assert xv.tolist() == [0, 1, 2, 3, 4]
    u = Series([3, 1, 2], [30.0, 10.0, 20.0])
    u.append(0, 0.0)
    xv, yv = u.view(10)
    assert xv.tolist() == [0, 1, 2, 3] and yv.tolist() == [0, 10, 20, 30]


def test_extend_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        Series().extend([1, 2, 3], [1.0])


def test_memory_is_arrays_and_bounded():
    n = 1_000_000
    s = Series()
    s.extend(np.arange(n), np.ones(n))
    assert isinstance(s.xs, np.ndarray) and s.xs.dtype == np.float64 and len(s.xs) == n
    assert s.nbytes <= 2 * (2 * n * 8)  # two float64 arrays, capacity at most doubled
    s.smoothed(0.9)
    assert s.nbytes <= 3 * (2 * n * 8)
    grown = Series()
    for i in range(5000):
        grown.append(i, i)
    assert grown.nbytes <= 2 * (2 * 5000 * 8)
    assert not s.xs.flags.writeable
    s.clear()
    assert len(s) == 0 and s.nbytes < 10_000


# -- MetricChart ------------------------------------------------------------------


def rows_of(text: str, glyph_set=GLYPHS) -> tuple[int, int]:
    """(row of the leftmost drawn glyph, row of the rightmost one) in plain chart text."""
    best_left = best_right = None
    for r, line in enumerate(text.splitlines()):
        cols = [c for c, ch in enumerate(line) if ch in glyph_set]
        if not cols:
            continue
        if best_left is None or cols[0] < best_left[0]:
            best_left = (cols[0], r)
        if best_right is None or cols[-1] > best_right[0]:
            best_right = (cols[-1], r)
    return best_left[1], best_right[1]


def test_render_text_has_the_right_shape():
    s = Series(np.arange(1, 1001), np.linspace(0.1, 0.9, 1000))
    chart = MetricChart("Accuracy")
    chart.x_label = "step"
    chart.set_series("train", s, "train", "cyan")
    text = chart.render_text(130, 45)  # larger than any terminal plotext may see
    lines = text.splitlines()
    assert len(lines) == 45 and max(len(line) for line in lines) == 130
    assert "Accuracy" in lines[0] and "step" in text
    assert "┌" in text and "└" in text
    first_row, last_row = rows_of(text)
    assert last_row < first_row  # rising: the last point is drawn higher

    falling = MetricChart("Loss")
    falling.set_series("t", Series(np.arange(500), np.linspace(5, 1, 500)), "t", "orange")
    first_row, last_row = rows_of(falling.render_text(60, 20))
    assert last_row > first_row


def test_render_text_waiting_small_and_log():
    chart = MetricChart("Loss")
    assert "waiting for data" in chart.render_text(40, 10)
    chart.set_series("t", Series(), "train", "not-a-colour")
    assert "waiting for data" in chart.render_text(40, 10)
    s = Series(np.arange(100), np.exp(-np.arange(100) / 10.0))
    chart.set_series("t", s, "train", "green")
    assert "train" in chart.render_text(12, 3)  # too small for axes: a compact line
    chart.log_y = True
    text = chart.render_text(60, 16)
    assert "Loss" in text and "0.01" in text  # decade ticks
    # a diverging run: NaN/inf never break a draw
    s.extend([100, 101], [np.nan, np.inf])
    chart.smooth = 0.9
    assert "Loss" in chart.render_text(60, 16)


def test_two_series_show_a_legend():
    chart = MetricChart("Loss")
    chart.set_series("train", Series(np.arange(50), np.linspace(2, 1, 50)), "train", "cyan")
    chart.set_series("val", Series(np.arange(0, 50, 10), np.linspace(2.2, 1.3, 5)), "val", "orange")
    text = chart.render_text(60, 16)
    assert "train" in text and "val" in text
    chart.remove_series("val")
    assert "val" not in chart.render_text(60, 16)


def test_chart_cost_is_measured():
    assert chart_cost(1000, width=60, height=20) > 0


class ChartApp(App):
    def compose(self) -> ComposeResult:
        chart = MetricChart("Loss", id="chart")
        chart.fps = 20
        yield chart


async def test_chart_in_app_waits_then_draws_and_only_redraws_when_dirty():
    app = ChartApp()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(MetricChart)
        await pilot.pause(0.15)
        painted = "\n".join(screen_lines(chart))
        assert "waiting for data" in painted and "Loss" in painted

        s = Series()
        chart.set_series("train", s, "train", "cyan")
        for i in range(1, 301):
            s.append(i, 1.0 / i)
        chart.mark_dirty()
        chart.x_label = "step"
        await pilot.pause(0.2)
        painted = "\n".join(screen_lines(chart))
        assert "waiting" not in painted
        assert "Loss" in painted and "step" in painted
        assert "┌" in painted and "┤" in painted and "┬" in painted  # axes with ticks

        before = chart.redraws
        await pilot.pause(0.4)  # ~8 ticks, nothing changed
        assert chart.redraws == before
        s.append(301, 0.001)
        for _ in range(50):  # many events between two ticks: one redraw
            chart.mark_dirty()
        await pilot.pause(0.3)  # ~6 ticks: the first draws, the rest find nothing to do
        assert chart.redraws == before + 1

        chart.fps = 1  # low-bandwidth mode: the timer is re-armed at the new rate
        await pilot.pause(0.2)
        chart.mark_dirty()
        await pilot.pause(0.3)
        assert chart.redraws == before + 1

        # shrunk between two ticks: the old drawing is cropped, never wrapped
        drawn = chart.render().plain.splitlines()
        await pilot.resize_terminal(50, 14)
        await pilot.pause(0.05)
        assert chart.size == (50, 14) and chart.redraws == before + 1
        assert screen_lines(chart)[:5] == [line[:50].ljust(50) for line in drawn[:5]]
        await pilot.pause(1.1)  # the next tick draws at the new size
        assert chart.redraws == before + 2
        assert len(chart.render().plain.splitlines()) == 14


# -- BoundaryPlot -----------------------------------------------------------------


def halves_event(n=20, epoch=3):
    values = [[0.0] * (n // 2) + [1.0] * (n - n // 2) for _ in range(n)]
    points = [[-4.0, 0.0, 0], [4.0, 0.0, 1]]
    return {"type": "boundary", "time": 0.0, "epoch": epoch, "extent": [-6, 6, -6, 6],
            "size": n, "values": values, "points": points}


def test_boundary_plain_lines_left_orange_right_blue():
    plot = BoundaryPlot()
    plot.update_boundary(halves_event())
    lines = plot.render_lines(40, 11)
    assert len(lines) == 11 and all(len(line) == 40 for line in lines)
    assert "epoch 3" in lines[0] and "class 0" in lines[0]
    body = lines[1:]
    # 10 rows → a square map 20 wide, centred: columns 10..29
    assert all(line[:10].strip() == "" for line in body)
    for line in body:
        left, right = line[10:18], line[22:30]
        assert set(left) <= {"-", "x"} and set(right) <= {"+", "o"}
    joined = "".join(body)
    assert joined.count("x") == 1 and joined.count("o") == 1
    # the point at (-4, 0) is in the left third, halfway down
    row = next(i for i, line in enumerate(body) if "x" in line)
    assert row in (4, 5) and body[row].index("x") < 20


def test_boundary_regression_and_bad_events():
    plot = BoundaryPlot()
    assert "Playground" in " ".join(plot.render_lines(60, 5))
    ev = halves_event()
    ev["values"] = [[-0.9] * 10 + [0.8] * 10 for _ in range(20)]
    ev["points"] = [[-4.0, 0.0, -0.7], [4.0, 0.0, 0.6]]
    plot.update_boundary(ev)
    body = plot.render_lines(40, 11)[1:]
    assert "< 0" in plot.render_lines(40, 11)[0]
    assert set(body[2][10:18]) <= {"-", "x"} and set(body[2][22:30]) <= {"+", "o"}
    for bad in ({"extent": [1, 2]}, {"extent": [0, 1, 0, 1], "values": [[1, 2], [3]]},
                {"extent": [0, 1, 0, 1], "values": "nope"}, "not a dict"):
        plot.update_boundary(bad)
        assert "not readable" in " ".join(plot.render_lines(60, 6))
    nan_ev = halves_event()
    nan_ev["values"][0][0] = "nan"
    nan_ev["points"] = [[1, "x"]]
    plot.update_boundary(nan_ev)
    assert len(plot.render_lines(30, 8)) == 8


class BoundaryApp(App):
    def compose(self) -> ComposeResult:
        plot = BoundaryPlot()
        plot.fps = 20
        yield plot


async def test_boundary_widget_paints_half_blocks_in_playground_colours():
    app = BoundaryApp()
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one(BoundaryPlot)
        await pilot.pause(0.1)
        assert "decision boundary" in "".join(screen_lines(plot))
        plot.update_boundary(halves_event(epoch=12))
        await pilot.pause(0.15)
        w, h = plot.size
        strips = plot.render_lines(Region(0, 0, w, h))
        assert "epoch 12" in "".join(s.text for s in strips[0])
        orange, blue = PALETTE[0], PALETTE[-1]
        colours = {"left": set(), "right": set()}
        dots = []
        for strip in strips[1:]:
            x = 0
            for seg in strip:
                if seg.text.strip() and seg.style and seg.style.bgcolor:
                    bg = seg.style.bgcolor.get_truecolor()
                    side = "left" if x + len(seg.text) <= w // 2 else "right" if x >= w // 2 else None
                    if seg.text[0] == "▀" and side:
                        colours[side].add((tuple(seg.style.color.get_truecolor()), tuple(bg)))
                    if seg.text[0] == "●":
                        dots.append(tuple(seg.style.color.get_truecolor()))
                x += len(seg.text)
        assert (orange, orange) in colours["left"] and (blue, blue) in colours["right"]
        assert all(fg[0] > fg[2] for fg, _ in colours["left"])  # orange side: more red than blue
        assert all(fg[2] > fg[0] for fg, _ in colours["right"])
        assert sorted(dots) == sorted([POINT_COLORS[0], POINT_COLORS[1]])
        drawn = plot.redraws
        await pilot.pause(0.3)  # no new event: no rebuild
        assert plot.redraws == drawn


async def test_boundary_task_kind_decides_the_colour_scale():
    ev = halves_event()
    ev["values"] = [[0.3] * 20 for _ in range(20)]
    ev["points"] = []
    plot = BoundaryPlot()
    plot.update_boundary(ev)
    assert set("".join(plot.render_lines(20, 6)[1:]).replace(" ", "")) == {"-"}  # guessed: probability 0.3
    plot.task = "regression"  # same as task_kind; Textual's `task` stays readable
    assert plot.task_kind == "regression"
    assert set("".join(plot.render_lines(20, 6)[1:]).replace(" ", "")) == {"+"}  # output +0.3
    plot.task_kind = "classification"
    assert set("".join(plot.render_lines(20, 6)[1:]).replace(" ", "")) == {"-"}
    app = BoundaryApp()
    async with app.run_test(size=(40, 12)):
        import asyncio

        assert isinstance(app.query_one(BoundaryPlot).task, asyncio.Task)
