"""A logged run (``tuidl.init`` / ``run.log``) in the dashboard: opening a big one, and
following a live one.

* **open**: a finished run of 50,000 steps × 20 metrics (10 ``train/mN`` & ``val/mN``
  pairs: 10 charts; 32 MB of ``events.jsonl``), written per the logging contract
  (``tests/helpers.logged_run``). The real app (``TuidlApp.run_test``, headless,
  160×45) replays it (``tuidl replay RUN``, as the Runs pane's enter does): the time from
  the replay's start until every chart is drawn with every point (wall, and this
  process's CPU time). Also the parts alone: ``RunView`` reading the file, and one draw
  of every chart (``TrainingPane.redraw_now``).
  Measured twice: **open** as a run read before opens (its first opening, or any earlier
  reading, kept the run's columns cache next to its events: ``tuidl/core/run/columns.py``),
  and **open_first_time** with the cache removed before each reading (every line parsed;
  the follower writes the cache as it ends). Both on a run written by hand
  (``tests/helpers.logged_run``: the events file alone, as the logging contract says).
* **open_after_sdk_finish**: the same 50,000 × 20 run logged for real, by a script of its
  own (``tuidl.init`` / ``run.log`` / ``run.finish``, in a process of its own), then opened
  as in **open**, never read before: ``run.finish()`` wrote the columns cache (the
  bench checks it is there before anything reads the run). Also that script's
  ``finish()`` (wall; it writes what is still queued, then the cache) and the
  cache's size.
* **follow**: the same app attached to a live logged run while another process logs 20
  metrics at 200 steps a second (written every 0.5 s, as the logging writer does) for
  ``--seconds``: this process's CPU time (the follower thread, RunView, the charts, the
  screen) over that time, as a share of one core. The app's own idle cost is measured
  first (the same app, nothing logged) and reported beside it.

    python bench/logged_run.py [--steps 50000] [--seconds 20] [--reps 3] [--json bench/logged_run.json]

Targets (issue 26): every chart drawn within 1 s of opening (**open** and
**open_after_sdk_finish**); following a live run for at
most 5 % of a core. Exit status 0 when both hold, 1 when not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
sys.path.insert(0, str(ROOT / "bench"))

from dashboard import cpu_seconds, machine, median  # noqa: E402

NAMES = [f"{split}/m{i}" for i in range(10) for split in ("train", "val")]
SIZE = (160, 45)


def values(name: str, i: int) -> float:
    return 2.0 * math.exp(-i / 8000.0) + 0.05 * math.sin(i / 50.0) + (0.1 if name.startswith("val") else 0.0)


WRITER = r"""
import json, sys, time, math
path, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
names = [f"{s}/m{i}" for i in range(10) for s in ("train", "val")]
step, start = 5, time.time()
with open(path, "a") as f:
    while time.time() - start < seconds:
        time.sleep(0.5)
        now = time.time()
        lines = []
        for _ in range(int(rate * 0.5)):
            lines.append(json.dumps({"type": "metrics", "time": round(now, 4), "step": step,
                                     "values": {n: 2.0 * math.exp(-step / 8000) for n in names}}))
            step += 1
        f.write("\n".join(lines) + "\n")
        f.flush()
print(step)
"""


SDK_SCRIPT = r"""
import json, math, sys, time
import tuidl
steps, names = int(sys.argv[1]), json.loads(sys.argv[2])
def value(name, i):
    return 2.0 * math.exp(-i / 8000.0) + 0.05 * math.sin(i / 50.0) + (0.1 if name.startswith("val") else 0.0)
run = tuidl.init(name="big-sdk", telemetry=False)
for i in range(steps):
    run.log({n: value(n, i) for n in names})
t = time.perf_counter()
run.finish()
print(json.dumps({"dir": str(run.dir), "finish_s": round(time.perf_counter() - t, 3)}))
"""


def sdk_run(root: Path, steps: int) -> tuple:
    """The 50,000 × 20 run logged through the SDK in a process of its own (its runs root:
    ``root``): the run, and what the script measured (``finish_s``)."""
    from tuidl.core.run import columns
    from tuidl.core.run import rundir as R

    env = {**os.environ, "TUIDL_RUNS": str(root)}
    env.pop("TUIDL_RUN_DIR", None)
    out = subprocess.run([sys.executable, "-c", SDK_SCRIPT, str(steps), json.dumps(NAMES)], env=env, check=True,
                         capture_output=True, text=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    run = R.RunDir(got.pop("dir"))
    cache = columns.cache_path(run.events_path)
    if not cache.is_file():
        raise RuntimeError(f"run.finish() wrote no columns cache for {run.events_path}")
    got["cache_mb"] = round(cache.stat().st_size / 1e6, 1)
    return run, got


async def measure_open(run, steps: int, cached: bool = True) -> dict:
    """``cached``: the run's columns cache is there (as its first opening, or any earlier
    reading, leaves it); else it is removed before each reading (a run never
    read before: every line parsed)."""
    from tuidl.core.run import columns, runview
    from helpers import make_app

    def first_reading() -> None:
        if not cached:
            columns.cache_path(run.events_path).unlink(missing_ok=True)

    first_reading()
    t = time.perf_counter()
    c = cpu_seconds()
    view = runview.load(run)
    view.summary()
    load_wall, load_cpu = time.perf_counter() - t, cpu_seconds() - c
    assert len(view.scalars) == 20 and len(view.scalars[NAMES[0]]) == steps

    app = make_app(runs_root=run.path.parent, defer_panes=True)  # as `tuidl` starts: one pane first
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        while app.panes["runs"].scans < 1 or not app.deck.mounted():  # start-up's: the Runs pane's first listing
            await asyncio.sleep(0.05)                                    # (it reads the run once), the panes kept back
        await asyncio.sleep(1.0)  # the panes settle before the clock starts
        pane = app.panes["training"]
        first_reading()
        t, c = time.perf_counter(), cpu_seconds()
        app.runner.start_replay(run)

        def drawn() -> bool:
            lv = pane.logged_view
            if not pane.logged or len(lv.charts) != 10 or lv.view is None or lv.view.scalars.events != steps:
                return False
            return all(chart.redraws and chart._drawn_at >= lv._fed_at for chart in lv.charts.values())  # noqa: SLF001

        while not drawn():
            await asyncio.sleep(0.005)
            if time.perf_counter() - t > 120:
                raise RuntimeError("the charts were not drawn within 120 s")
        open_wall, open_cpu = time.perf_counter() - t, cpu_seconds() - c
        lv = pane.logged_view
        points = [len(line.series) for chart in lv.charts.values() for line in chart._lines.values()]  # noqa: SLF001
        sizes = sorted({tuple(chart.size) for chart in lv.charts.values()})
        t = time.perf_counter()
        pane.redraw_now()
        redraw = time.perf_counter() - t
    return {"cached": cached, "steps": steps, "metrics": 20, "charts": 10, "points_per_line": min(points),
            "chart_sizes": [list(s) for s in sizes],
            "load_s": round(load_wall, 3), "load_cpu_s": round(load_cpu, 3),
            "open_to_all_charts_drawn_s": round(open_wall, 3), "open_cpu_s": round(open_cpu, 3),
            "redraw_all_charts_s": round(redraw, 4)}


async def measure_follow(root: Path, seconds: float, rate: float) -> dict:
    import helpers
    from helpers import make_app

    run = helpers.logged_run(root, "live", steps=5, metrics=NAMES, status="running")

    async def idle_cost(app) -> float:
        c, t = cpu_seconds(), time.perf_counter()
        await asyncio.sleep(seconds / 2)
        return (cpu_seconds() - c) / (time.perf_counter() - t)

    app = make_app(runs_root=root, attach=run, defer_panes=True)
    async with app.run_test(size=SIZE) as pilot:
        lv = app.panes["training"].logged_view
        while len(lv.charts) != 10 or not app.deck.mounted():  # (the panes kept back at start-up too)
            await asyncio.sleep(0.05)
        await asyncio.sleep(2.0)
        idle = await idle_cost(app)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(run.events_path), str(rate), str(seconds)],
                                  stdout=subprocess.PIPE, text=True)
        c, t = cpu_seconds(), time.perf_counter()
        while writer.poll() is None:
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - t
        cpu = cpu_seconds() - c
        last_step = int(writer.stdout.read().strip() or 0)
        await asyncio.sleep(1.0)
        taken = lv.view.scalars.events
        redraws = sum(chart.redraws for chart in lv.charts.values())
    return {"seconds": round(wall, 2), "steps_per_s": rate, "metrics": 20, "events_logged": last_step - 5,
            "events_taken": taken - 5, "cpu_share_of_a_core": round(cpu / wall, 4),
            "idle_app_cpu_share": round(idle, 4), "chart_redraws": redraws}


def medians(reps: list[dict]) -> dict:
    """Each figure's median over the repetitions (what is not a number: the first's)."""
    out = {}
    for key, value in reps[0].items():
        numbers = [r[key] for r in reps]
        out[key] = (round(median(numbers), 4) if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers)
                    else value)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=50_000)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--rate", type=float, default=200.0, help="steps a second the live run logs")
    p.add_argument("--reps", type=int, default=1, help="repetitions of each measure (medians reported)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    import helpers

    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="tuidl-logged-bench-") as tmp:
        root = Path(tmp)
        run = helpers.logged_run(root, "big", steps=args.steps, metrics=NAMES, values=values)
        size = run.events_path.stat().st_size
        firsts = [asyncio.run(measure_open(run, args.steps, cached=False)) for _ in range(max(1, args.reps))]
        opens = [asyncio.run(measure_open(run, args.steps)) for _ in range(max(1, args.reps))]
        afters = []
        for i in range(max(1, args.reps)):  # a fresh run each time: its first opening
            sdk, logged = sdk_run(root / f"sdk-{i}", args.steps)
            afters.append({**logged, **asyncio.run(measure_open(sdk, args.steps))})
        follows = [asyncio.run(measure_follow(root / f"live-{i}", args.seconds, args.rate))
                   for i in range(max(1, args.reps))]
    opened, first, after, followed = medians(opens), medians(firsts), medians(afters), medians(follows)
    opened["events_mb"] = first["events_mb"] = round(size / 1e6, 1)
    result = {"machine": {**machine(), "loadavg_before": load_before, "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
              "reps": max(1, args.reps),
              "open": opened, "open_first_time": first, "open_after_sdk_finish": after, "follow": followed,
              "targets": {"open_to_all_charts_drawn_s": 1.0, "cpu_share_of_a_core": 0.05}}
    if args.reps > 1:
        result["repetitions"] = {"open": opens, "open_first_time": firsts, "open_after_sdk_finish": afters,
                                 "follow": follows}
    ok = (opened["open_to_all_charts_drawn_s"] <= 1.0 and after["open_to_all_charts_drawn_s"] <= 1.0
          and followed["cpu_share_of_a_core"] <= 0.05)
    result["met"] = ok
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
