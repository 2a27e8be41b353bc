"""Many runs: 10,000 schema-correct run directories, half preset runs (preset.toml, a
trainer's events and status) and half logged runs (config.json, ``metrics`` events, a
summary), and what finding runs among them costs (issue 28):

* ``tuidl runs``' listing (:func:`scan_runs`) cold (no index: every status file and logged
  run's events parsed), from the runs root's index (``.tuidl-index.json``, as a new process
  finds it) and warm (the second listing of the same process);
* a filter over all of them: on status fields, and on a config key (cold: each run's
  preset.toml / config.json parsed once; warm: cached);
* the dashboard (``TuidlApp`` headless, the Runs pane shown at once): from its first frame
  to the Runs pane's first screen of runs (and to the full listing), and its peak RSS; with
  the index, without it (cold), and over an empty runs root (what showing the pane costs
  on this machine whatever the runs);
* an overlay of 10 runs × 50,000 steps in one chart: its first draw and a redraw.

The machine is shared: the 1-minute load average before and after is in the results.

    python bench/runs_scale.py [--runs 10000] [--json bench/runs_scale.json]

Targets: first screen within 1 s of the first frame, a filter within 0.2 s, RSS < 300 MB,
an overlay of 10 runs × 50,000 steps drawn within 0.2 s.
The files are written without fsync (a benchmark's set-up), in the same formats as the
trainer and the logging writer write them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuidl.core.preset import preset as P  # noqa: E402

HOST = socket.gethostname()


def write_runs(root: Path, n: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    presets = {(name, lr): P.dumps(P.load(name, [f"train.optimizer.lr={lr}"])) for name in ("xor", "spiral")
               for lr in ("0.1", "0.01", "0.001")}
    keys = list(presets)
    t0 = time.time() - n * 60
    for i in range(n):
        started = t0 + i * 60
        run_id = time.strftime("%Y%m%d-%H%M%S", time.localtime(started)) + f"-r{i:05d}-{i % 65536:04x}"
        d = root / run_id
        (d / "checkpoints").mkdir(parents=True)
        (d / "control").mkdir()
        status = "completed" if i % 7 else ("stopped" if i % 2 else "failed")
        if i % 2 == 0:  # a preset run
            name, lr = keys[i % len(keys)]
            (d / "preset.toml").write_text(presets[(name, lr)])
            val = 0.05 + (i % 97) / 100
            events = [{"type": "run_started", "time": started, "schema": 1, "run_id": run_id, "preset": name,
                       "resumed_from": 0, "epochs": 3, "steps_per_epoch": 10, "batch_size": 32,
                       "task": "classification", "loss": "cce", "metrics": ["loss", "acc"], "pid": 1,
                       "world_size": 1}]
            events += [{"type": "epoch", "time": started + e, "epoch": e, "step": 10 * e,
                        "train": {"loss": 1.0 / e, "acc": 0.5 + e / 10}, "val": {"loss": val + 0.1 / e,
                                                                                 "acc": 0.9}, "lr": float(lr)}
                       for e in (1, 2, 3)]
            events.append({"type": "run_ended", "time": started + 4, "status": status, "message": "",
                           "epochs_completed": 3, "best": {"epoch": 3, "monitor": "val_loss", "value": val}})
            st = {"status": status, "preset": name, "created": started, "started": started, "ended": started + 4,
                  "epoch": 3, "epochs": 3, "best": {"epoch": 3, "monitor": "val_loss", "value": val},
                  "test": {"acc": 0.9, "loss": val}, "trained_s": 4.0, "host": HOST, "pid": 1,
                  "tags": ["baseline"] if i % 10 == 0 else []}
        else:  # a logged run
            cfg = {"lr": [0.1, 0.01, 0.003, 0.001][i % 4], "batch_size": 64, "optim": {"name": "adam"}}
            (d / "config.json").write_text(json.dumps(cfg, indent=1, sort_keys=True) + "\n")
            events = [{"type": "run_started", "time": started, "schema": 1, "source": "script", "name": "train",
                       "project": f"p{i % 5}", "config": cfg, "host": HOST, "pid": 1, "argv": ["train.py"]}]
            events += [{"type": "metrics", "time": started + s * 0.1, "step": s,
                        "values": {"train/loss": 2.0 / (s + 1), "val/acc": 0.5 + s / 100}} for s in range(50)]
            events.append({"type": "summary", "time": started + 6, "values": {"best_acc": 0.99}})
            events.append({"type": "run_ended", "time": started + 6, "status": status, "message": ""})
            st = {"status": status, "name": "train", "source": "script", "project": f"p{i % 5}",
                  "created": started, "started": started, "ended": started + 6, "step": 49, "host": HOST, "pid": 1}
        (d / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
        (d / "status.json").write_text(json.dumps(st, indent=1, sort_keys=True) + "\n")


CPU: dict[str, float] = {}  # what each timed step cost in CPU seconds (this process), by its result's name


def timed(fn, name: str | None = None):
    """``(result, wall seconds)``; with ``name`` its CPU seconds are kept in CPU (the machine is
    shared: wall time grows with the load, CPU time much less)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    if name:
        CPU[name] = round(time.process_time() - c, 4)
    return out, time.perf_counter() - t


def measure_core(root: Path) -> dict:
    from tuidl.core.run import runfilter as F
    from tuidl.core.run.runlist import scan_runs

    from tuidl.core.run import runindex, runlist

    (root / runindex.INDEX_NAME).unlink(missing_ok=True)
    rows, cold = timed(lambda: scan_runs(root), "scan_cold_cpu_s")  # every file read; the index written
    runlist._ROWS.clear()
    runindex._INDEXES.clear()
    rows, index = timed(lambda: scan_runs(root), "scan_index_cpu_s")  # as a new process would: from the index
    rows, warm = timed(lambda: scan_runs(root), "scan_warm_cpu_s")  # the same process again
    status_f = F.parse("status:completed kind:preset tag:baseline after:2000-01-01")
    matched, f_status = timed(lambda: status_f.apply(rows), "filter_status_cpu_s")
    config_f = F.parse("lr>=0.01 status:completed")
    m_cold, f_config_cold = timed(lambda: config_f.apply(rows))
    m_warm, f_config_warm = timed(lambda: config_f.apply(rows), "filter_config_warm_cpu_s")
    store_s = measure_config_store(root)
    metric_f = F.parse("val_loss<0.3")
    m_metric, f_metric = timed(lambda: metric_f.apply(rows), "filter_metric_cpu_s")
    m_metric, f_metric_again = timed(lambda: metric_f.apply(rows), "filter_metric_again_cpu_s")
    return {"runs": len(rows), "scan_cold_s": round(cold, 3), "scan_index_s": round(index, 3),
            "scan_warm_s": round(warm, 3),
            "filter_status_s": round(f_status, 4), "filter_status_matches": len(matched),
            "filter_config_cold_s": round(f_config_cold, 3), "filter_config_warm_s": round(f_config_warm, 4),
            "filter_config_matches": len(m_warm), "filter_config_from_store_s": store_s, "filter_metric_s": round(f_metric, 4),
            "filter_metric_again_s": round(f_metric_again, 4), "filter_metric_matches": len(m_metric), **CPU}


def measure_config_store(root: Path) -> float:
    """A config filter as a new process runs it once a filter before it kept the runs'
    configs in the runs root (.tuidl-configs.json): no preset.toml parsed (the listing itself,
    from the index, is not timed)."""
    from tuidl.core.run import runfilter as F
    from tuidl.core.run import runindex, runlist

    runlist._ROWS.clear()
    runindex._INDEXES.clear()
    F._CONFIGS.clear()
    F._STORED.clear()
    runindex._STORES.clear()
    rows = runlist.scan_runs(root)
    config_f = F.parse("lr>=0.01 status:completed")
    return round(timed(lambda: config_f.apply(rows), "filter_config_from_store_cpu_s")[1], 3)


def measure_overlay(runs: int = 10, steps: int = 50_000, width: int = 120, height: int = 40) -> dict:
    """An overlay of ``runs`` runs of ``steps`` steps each in one chart (what compare lays
    over the loss chart) at ``width``×``height``:

    * the first draw smoothed at 0.6 in a process that has drawn no chart yet (plotext
      imported, each series smoothed once, cached after) and a redraw, the median of five;
    * ``overlay_compare_first_draw_s``: the Runs pane's compare screen (``D``) as it first
      draws: smoothing off (``m`` turns it on), plotext imported by its reading thread
      (``textplot.preload``), each line a new Series; ``..._smoothed_s``: then ``m``."""
    import numpy as np

    from tuidl.ui.series import Series
    from tuidl.ui.widgets.charts import MetricChart

    def chart_of(smooth: float) -> MetricChart:
        rng = np.random.default_rng(0)
        chart = MetricChart("val_loss")
        chart.x_label = "step"
        chart.smooth = smooth
        x = np.arange(steps, dtype=np.float64)
        for i in range(runs):
            y = np.exp(-x / (steps / (2 + i))) + 0.05 * np.abs(rng.normal(size=steps))
            chart.set_series(f"run{i}", Series(x, y), f"run {i}", "cyan")
        return chart

    chart = chart_of(0.6)
    first = timed(lambda: chart._render_text_rich(width, height), "overlay_first_draw_cpu_s")[1]
    again = sorted(timed(lambda: chart._render_text_rich(width, height), "overlay_redraw_cpu_s")[1]
                   for _ in range(5))[2]
    compare = chart_of(0.0)
    plain = timed(lambda: compare._render_text_rich(width, height), "overlay_compare_first_draw_cpu_s")[1]
    compare.smooth = 0.6
    smoothed = timed(lambda: compare._render_text_rich(width, height), "overlay_compare_smoothed_cpu_s")[1]
    return {"overlay_runs": runs, "overlay_steps": steps, "overlay_first_draw_s": round(first, 4),
            "overlay_first_draw_cpu_s": CPU["overlay_first_draw_cpu_s"],
            "overlay_redraw_s": round(again, 4), "overlay_redraw_cpu_s": CPU["overlay_redraw_cpu_s"],
            "overlay_compare_first_draw_s": round(plain, 4),
            "overlay_compare_first_draw_cpu_s": CPU["overlay_compare_first_draw_cpu_s"],
            "overlay_compare_smoothed_s": round(smoothed, 4),
            "overlay_compare_smoothed_cpu_s": CPU["overlay_compare_smoothed_cpu_s"]}


def measure_dashboard(root: Path, cold: bool = False, defer: bool = False) -> dict:
    """In a fresh process: the app headless at 120×40, the Runs pane asked for at once.
    ``cold``: the runs root's index (.tuidl-index.json) removed first, as on the first
    launch over runs that were never listed. ``defer``: as the ``tuidl`` command starts it
    (the panes not shown first kept back, mounted one a frame after the first), the key
    pressed at the first frame.

    The first screen is the first frame in which the Runs pane's table is drawn, shown,
    with its rows (an empty root: with its listing done): the moment the table's lines are
    rendered is noted (its ``render_lines``, wrapped). The full listing is every run with
    its figures. ``runs_settled_...`` is what this benchmark reported as the first screen
    before: after the pane key, a ``pilot.pause()`` once rows were there, which also waits
    (up to 1 s) for the process to go idle, i.e. for the listing thread to end."""
    if cold:
        (root / ".tuidl-index.json").unlink(missing_ok=True)
    code = f"""
import asyncio, json, resource, time, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from tuidl.ui.app import TuidlApp
from tuidl.core.preset import preset as P
from tuidl.ui.widgets.lazytable import LazyTable
DRAWN = []
_render_lines = LazyTable.render_lines
def render_lines(self, crop):
    if not DRAWN and self.id == "runs-table" and self.app.query_one("#panes").active == "runs":
        pane = self.app.panes["runs"]
        if self.keys or pane.scans:
            DRAWN.append((time.perf_counter(), time.process_time()))
    return _render_lines(self, crop)
LazyTable.render_lines = render_lines
async def main():
    app = TuidlApp(P.load("spiral"), runs_root={str(root)!r}, runs_interval=None, defer_panes={defer!r})
    t0 = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        first, cpu = time.perf_counter(), time.process_time()
        await pilot.press("5")
        pane = app.panes["runs"]
        while app.query_one("#panes").active != "runs" or not DRAWN:
            await asyncio.sleep(0.005)
        shown, shown_cpu = DRAWN[0]
        while pane.table.row_count == 0 and pane.scans == 0:  # (an empty root: its listing, no rows)
            await pilot.pause(0.01)
        await pilot.pause()
        settled = time.perf_counter()
        while pane.scans == 0:  # (not pilot.pause: each walks the screen's widgets and lays it out
            await asyncio.sleep(0.02)  # again, some 0.3 s of CPU a second taken from the listing)
        full, full_cpu = time.perf_counter(), time.process_time()
        await pilot.pause(0.2)
        print(json.dumps({{"first_frame_s": round(first - t0, 3),
              "runs_first_screen_after_first_frame_s": round(shown - first, 3),
              "runs_first_screen_cpu_s": round(shown_cpu - cpu, 3),
              "runs_settled_after_first_frame_s": round(settled - first, 3),
              "runs_full_listing_after_first_frame_s": round(full - first, 3),
              "runs_full_listing_cpu_s": round(full_cpu - cpu, 3), "rows": pane.table.row_count,
              "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}}))
asyncio.run(main())
"""
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "TEXTUAL_ANIMATIONS": "none"})
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"error": out.stderr[-2000:]}
    return json.loads(lines[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--root", help="reuse / keep this runs root (default: a temporary folder)")
    args = ap.parse_args()
    root = Path(args.root) if args.root else Path(tempfile.mkdtemp(prefix="runs-scale-")) / "runs"
    if not root.is_dir() or not any(root.iterdir()):
        _, made = timed(lambda: write_runs(root, args.runs))
        print(f"wrote {args.runs} runs in {made:.1f} s into {root}", flush=True)
    load_before = os.getloadavg()[0]
    dash_cold = measure_dashboard(root, cold=True)
    print("cold", json.dumps(dash_cold, indent=1), flush=True)
    core = measure_core(root)
    print(json.dumps(core, indent=1), flush=True)
    overlay = measure_overlay()
    print(json.dumps(overlay, indent=1), flush=True)
    dash = measure_dashboard(root)
    print(json.dumps(dash, indent=1), flush=True)
    dash_deferred = measure_dashboard(root, defer=True)
    print("as tuidl starts (panes kept back)", json.dumps(dash_deferred, indent=1), flush=True)
    empty = root.parent / "empty-runs-root"
    empty.mkdir(exist_ok=True)
    dash_empty = measure_dashboard(empty)
    print("empty root", json.dumps(dash_empty, indent=1), flush=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{os.cpu_count()} CPUs (shared)",
              "load_average_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)], **core, **overlay,
              "dashboard": dash, "dashboard_cold_index": dash_cold, "dashboard_empty_root": dash_empty,
              "dashboard_panes_kept_back": dash_deferred,
              "targets": {"first_screen_s": 1.0, "filter_s": 0.2, "rss_mb": 300, "overlay_s": 0.2}}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    ok = (dash.get("runs_first_screen_after_first_frame_s", 99) <= 1.0 and core["filter_config_warm_s"] <= 0.2
          and core["filter_status_s"] <= 0.2 and dash.get("rss_peak_mb", 1e9) < 300
          and overlay["overlay_redraw_s"] <= 0.2 and overlay["overlay_compare_first_draw_s"] <= 0.2
          and dash_deferred.get("runs_first_screen_after_first_frame_s", 99) <= 1.0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
