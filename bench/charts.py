"""Chart cost: how long one redraw of a loss chart takes with 1,000, 100,000 and
1,000,000 points of history. A chart downsamples its series to its width (min/max per
column), so the cost should hardly grow with the history.

Measured, each a median over ``--reps`` repetitions:

* **chart**: one 120×40 ``MetricChart`` redraw (downsampling, plotext, ANSI → Rich
  ``Text``), the chart and data of ``tuidl.ui.widgets.charts.chart_cost``: charts of every size
  prepared first, then redrawn taking turns (``5 × reps`` redraws each), so a busy
  moment of this shared machine hits every size alike. ``chart_cost(n, 120, 40)``
  itself (each call the median of three redraws) is reported too, ``reps`` calls per
  size. Split into ``view`` (``Series.view``, the downsampling) and the rest (plotext
  and the conversion to ``Text``).
* **pane**: the real app (``TuidlApp.run_test``, headless, 120×40) on the Training pane,
  every step series of the pane (loss, accuracy, learning rate; validation with one
  point per 100) holding ``n`` points: ``TrainingPane.redraw_now()`` (the three charts at
  their in-pane sizes), and a **frame**: that plus compositing the whole screen and
  encoding it as terminal output (what the dashboard does each time the charts change).

    python bench/charts.py [--reps 5] [--sizes 1000,100000,1000000] [--json out.json]

Targets: chart redraw under 30 ms at 120×40 for every size, and the slowest size within
1.5× of the fastest. Exit status 0 when both hold, 1 when not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parent))

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

import numpy as np  # noqa: E402

from tuidl.ui.widgets.charts import MetricChart, chart_cost  # noqa: E402
from tuidl.ui.series import Series  # noqa: E402

SIZES = (1_000, 100_000, 1_000_000)
WIDTH, HEIGHT = 120, 40


def history(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A loss curve of ``n`` points: decaying, noisy, with the odd spike (the same
    shape ``chart_cost`` draws)."""
    rng = np.random.default_rng(seed)
    x = np.arange(n, dtype=np.float64)
    y = np.exp(-x / max(1.0, n / 4)) + 0.05 * np.abs(np.cumsum(rng.normal(size=n))) / math.sqrt(n)
    return x, y


def prepared_chart(n: int) -> MetricChart:
    """The chart ``chart_cost`` draws, with ``n`` points, ready to redraw."""
    series = Series()
    series.extend(*history(n))
    chart = MetricChart("loss")
    chart.x_label = "step"
    chart.set_series("train", series, "train", "cyan")
    chart._render_text_rich(WIDTH, HEIGHT)  # warm-up
    return chart


def interleaved_costs(sizes: list[int], reps: int, per_rep: int = 5) -> dict[int, list[float]]:
    """Redraw times of prepared charts, the sizes taking turns redraw by redraw, so a
    busy moment of the machine hits every size alike: ``reps × per_rep`` each."""
    charts = {n: prepared_chart(n) for n in sizes}
    times: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(reps * per_rep):
        for n in sizes:
            t = time.perf_counter()
            charts[n]._render_text_rich(WIDTH, HEIGHT)
            times[n].append(time.perf_counter() - t)
    return times


def view_cost(n: int, width: int = WIDTH, reps: int = 5) -> float:
    """Seconds ``Series.view`` takes for a ``width``-column chart over ``n`` points."""
    series = Series()
    series.extend(*history(n))
    columns = max(1, (width - 8) * 2)  # what MetricChart asks of a series: a bucket per braille dot column
    series.view(columns)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        series.view(columns)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _fill(pane, n: int) -> None:
    """Give every step series of the Training pane ``n`` points (validation: one in 100)."""
    pane.reset()
    x, y = history(n)
    steps = pane.run_charts.curves.step
    steps["loss"].extend(x, y)
    steps["metric"].extend(x, 1.0 - y / (1.0 + y))
    steps["lr"].extend(x, 0.01 * (0.5 + 0.5 * np.cos(np.pi * x / max(1, n))))
    every = max(1, n // 100)
    steps["val_loss"].extend(x[::every], y[::every] * 1.05)
    steps["val_metric"].extend(x[::every], 1.0 - y[::every] / (1.0 + y[::every]))
    for chart in pane.run_charts.charts:
        chart.mark_dirty()


async def _pane_costs(sizes: list[int], reps: int) -> dict[int, dict]:
    from tuidl.core.preset import preset as P
    from tuidl.ui.app import TuidlApp

    charts: dict[int, list[float]] = {n: [] for n in sizes}
    frames: dict[int, list[float]] = {n: [] for n in sizes}
    info: dict[int, dict] = {}
    app = TuidlApp(P.load("mnist1d-cnn"), system_interval=None, telemetry=False)
    async with app.run_test(headless=True, size=(WIDTH, HEIGHT)) as pilot:
        app.action_show_pane("training")
        await pilot.pause()
        pane = app.panes["training"]
        compositor = getattr(app.screen, "_compositor", None)
        for rep in range(reps + 1):  # the first round is a warm-up
            for n in (sizes if rep % 2 == 0 else sizes[::-1]):
                _fill(pane, n)
                await pilot.pause()
                t0 = time.perf_counter()
                pane.redraw_now()
                t1 = time.perf_counter()
                if compositor is not None:
                    update = compositor.render_full_update()
                    update.render_segments(app.console)
                t2 = time.perf_counter()
                if rep:
                    charts[n].append(t1 - t0)
                    frames[n].append(t2 - t0)
                info[n] = {"chart_sizes": [list(c.size) for c in pane.run_charts.charts],
                           "points_per_series": len(pane.run_charts.curves.step["loss"])}
                await pilot.pause()
    return {n: {"pane_charts_ms": round(1000 * statistics.median(charts[n]), 2),
                "pane_frame_ms": round(1000 * statistics.median(frames[n]), 2) if compositor else None,
                **info[n]} for n in sizes}


def pane_costs(sizes: list[int], reps: int) -> dict[int, dict]:
    """The Training pane's chart refresh in the real (headless) app, per history size."""
    return asyncio.run(_pane_costs(sizes, reps))


def main(argv: list[str] | None = None) -> int:
    from dashboard import machine

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    ap.add_argument("--no-pane", action="store_true", help="only the single chart")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    info = machine()
    print(f"# {info['date']} · {info['nproc']} × {info['cpu']} · load {info['loadavg']} · {WIDTH}×{HEIGHT}",
          flush=True)
    api_runs: dict[int, list[float]] = {n: [] for n in sizes}
    for rep in range(args.reps):  # sizes take turns, so a busy moment hits them all alike
        for n in (sizes if rep % 2 == 0 else sizes[::-1]):
            api_runs[n].append(chart_cost(n, WIDTH, HEIGHT))
    redraws = interleaved_costs(sizes, args.reps)
    pane = {} if args.no_pane else pane_costs(sizes, args.reps)
    rows = []
    for n in sizes:
        chart_ms = 1000 * statistics.median(redraws[n])
        view_ms = 1000 * view_cost(n, WIDTH, args.reps)
        row = {"points": n, "chart_ms": round(chart_ms, 2), "chart_min_ms": round(1000 * min(redraws[n]), 2),
               "chart_cost_ms": round(1000 * statistics.median(api_runs[n]), 2),
               "chart_cost_runs_ms": [round(1000 * t, 2) for t in api_runs[n]],
               "view_ms": round(view_ms, 3), "draw_ms": round(chart_ms - view_ms, 2), "redraws": len(redraws[n])}
        row.update(pane.get(n, {}))
        rows.append(row)
        extra = ""
        if n in pane:
            extra = (f"  | pane: 3 charts {row['pane_charts_ms']:5.1f} ms, frame {row['pane_frame_ms']} ms")
        print(f"{n:>9,} points  chart {chart_ms:5.1f} ms (min {row['chart_min_ms']:.1f}, view {view_ms:.2f} ms; "
              f"chart_cost() {row['chart_cost_ms']:.1f} ms){extra}", flush=True)
    if pane:
        print(f"  pane chart sizes (loss, accuracy, lr): {rows[0]['chart_sizes']}")
    result = {"benchmark": "charts", "machine": info, "size": [WIDTH, HEIGHT], "reps": args.reps, "rows": rows}
    for key in ("chart_ms", "chart_cost_ms") + (("pane_charts_ms", "pane_frame_ms") if pane else ()):
        values = [r[key] for r in rows if r.get(key)]
        result[f"spread_{key}"] = round(max(values) / min(values), 3)
    result["targets"] = {"chart<30ms": max(r["chart_ms"] for r in rows) < 30.0,
                         "spread<=1.5": result["spread_chart_ms"] <= 1.5}
    print("slowest / fastest: " + ", ".join(f"{k.removeprefix('spread_')} {v:.2f}×"
                                            for k, v in result.items() if k.startswith("spread_")))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
