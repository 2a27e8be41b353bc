"""Run the CPU benchmarks one after the other and print one summary table.

1. ``throughput.py``  training throughput, tuidl's trainer vs a plain PyTorch loop
2. ``dashboard.py``   training with the dashboard attached; the dashboard's CPU
3. ``charts.py``      chart redraw cost at 1k / 100k / 1M points
4. ``startup.py``     first full frame; Start → first step
5. ``memory.py``      dashboard memory after following a 1M-step run

Each runs as its own process (``--reps`` repetitions, ``--json`` to a temp file); the
table compares each figure with its target. Everything lands in ``bench/results.json``
(or ``--out``): the machine (nproc, CPU model, load), the date, every benchmark's full
results and the summary. ``bench/gpu_bench.py`` needs a GPU and is not run here.

    python bench/run_all.py [--reps 5] [--only dashboard,charts] [--out bench/results.json]

``--quick`` runs each with tiny settings (one repetition, short runs): a check that the
benchmarks work, not a measurement. Exit status 0 when every target holds, 1 when not,
3 when a benchmark failed to run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from dashboard import machine  # noqa: E402

ORDER = ("throughput", "dashboard", "charts", "startup", "memory")
QUICK = {
    "throughput": ["--cases", "spiral"],
    "dashboard": ["--epochs", "1", "--samples", "1500", "--steady-seconds", "2"],
    "charts": ["--sizes", "1000,20000"],
    "startup": ["--warm-after", "6"],
    "memory": ["--steps", "20000", "--variants", "1m,tiny"],
}


def run_one(name: str, reps: int, quick: bool, timeout: float) -> dict[str, Any]:
    """Run ``bench/<name>.py``; its JSON results plus ``rc``, ``seconds`` and the output."""
    with tempfile.TemporaryDirectory(prefix="tuidl-run-all-") as tmp:
        out = Path(tmp) / f"{name}.json"
        cmd = [sys.executable, str(BENCH / f"{name}.py"), "--reps", str(1 if quick else reps), "--json", str(out)]
        if quick:
            cmd += QUICK[name]
        t = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as e:
            rc, stdout, stderr = -1, e.stdout or "", f"timed out after {timeout:.0f} s"
            stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
        secs = time.perf_counter() - t
        data = json.loads(out.read_text()) if out.is_file() else None
    return {"rc": rc, "seconds": round(secs, 1), "output": stdout, "errors": stderr[-4000:], "results": data}


def _row(bench: str, what: str, value: Any, target: str, ok: bool | None, unit: str = "") -> dict[str, Any]:
    return {"benchmark": bench, "what": what, "value": value, "unit": unit, "target": target, "ok": ok}


def summarize(results: dict[str, dict]) -> list[dict[str, Any]]:
    """One row per figure that has a target (and a few that explain them)."""
    rows: list[dict[str, Any]] = []
    for name in ORDER:
        entry = results.get(name)
        if entry is None:
            continue
        r = entry.get("results")
        if r is None:
            rows.append(_row(name, "did not run", f"exit status {entry.get('rc')}", "runs", False))
            continue
        if name == "throughput":
            for case in r:
                rows.append(_row(name, f"{case['case']}: tuidl / plain samples/s", case["ratio"], "≥ 0.97",
                                 case["ratio"] >= 0.97, "×"))
                rows.append(_row(name, f"{case['case']}: plain, tuidl samples/s",
                                 f"{case['plain_samples_per_s']:,.0f}, {case['tuidl_samples_per_s']:,.0f}", "", None))
        elif name == "dashboard":
            rows.append(_row(name, "watched / plain samples/s", r["ratio_watched_vs_plain"], "≥ 0.93",
                             r["ratio_watched_vs_plain"] >= 0.93, "×"))
            rows.append(_row(name, "unwatched / plain, watched / unwatched",
                             f"{r['ratio_unwatched_vs_plain']}, {r['ratio_watched_vs_unwatched']}", "", None, "×"))
            rows.append(_row(name, "dashboard CPU, % of the run's wall time", r["dashboard_cpu_pct_of_run"], "≤ 10",
                             r["dashboard_cpu_pct_of_run"] <= 10.0, "%"))
            if "steady_state" in r:
                rows.append(_row(name, "dashboard CPU following at the trainer's cadence, no trainer",
                                 r["steady_state"]["cpu_pct"], "≤ 10", r["steady_state"]["cpu_pct"] <= 10.0, "%"))
        elif name == "charts":
            for row in r["rows"]:
                rows.append(_row(name, f"chart redraw at 120×40, {row['points']:,} points", row["chart_ms"], "< 30",
                                 row["chart_ms"] < 30.0, "ms"))
            rows.append(_row(name, "slowest / fastest chart redraw", r["spread_chart_ms"], "≤ 1.5",
                             r["spread_chart_ms"] <= 1.5, "×"))
            if "spread_pane_frame_ms" in r:
                frames = ", ".join(f"{row['pane_frame_ms']}" for row in r["rows"])
                rows.append(_row(name, "Training pane charts + full frame, per size", frames, "", None, "ms"))
                rows.append(_row(name, "slowest / fastest pane frame", r["spread_pane_frame_ms"], "≤ 1.5",
                                 r["spread_pane_frame_ms"] <= 1.5, "×"))
        elif name == "startup":
            ff = r["first_frame_cli"]
            rows.append(_row(name, "tuidl → first full frame", ff["full_frame"], "≤ 1.5", ff["full_frame"] <= 1.5,
                             "s"))
            rows.append(_row(name, "tuidl → first paint", ff["first_paint"], "", None, "s"))
            rows.append(_row(name, "torch imported at the first frame", r["torch_at_first_frame"], "no",
                             not r["torch_at_first_frame"]))
            s = r["start_to_step"]
            used = all(r.get("warm_trainer_used", [False]))
            rows.append(_row(name, "Start → first step event (warm trainer, as `tuidl` runs)", s["first_step"], "≤ 3",
                             s["first_step"] <= 3.0 and used, "s"))
            cold = r.get("start_to_step_cold")
            if cold:
                rows.append(_row(name, "Start → first step event, cold trainer (--no-warm-trainer)",
                                 cold["first_step"], "", None, "s"))
            p = r["trainer_phases"]
            rows.append(_row(name, "  cold: import torch, torch._dynamo (first optimizer) + rest of set-up",
                             f"{p['import_torch']}, {p['setup_rest_to_run_started']}", "", None, "s"))
        elif name == "memory":
            for row in r["rows"]:
                target = row["variant"] != "tiny"
                rows.append(_row(name, f"RSS growth after replaying {row['variant']} ({row['events']:,} events)",
                                 row["growth_mb"], "≤ 50" if target else "",
                                 row["growth_mb"] <= 50.0 if target else None, "MB"))
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'benchmark':<11} {'figure':<68} {'value':>18}  {'target':<8} ok"]
    for r in rows:
        value = f"{r['value']}{' ' + r['unit'] if r['unit'] else ''}"
        ok = "" if r["ok"] is None else ("yes" if r["ok"] else "NO")
        lines.append(f"{r['benchmark']:<11} {r['what'][:68]:<68} {value:>18}  {r['target']:<8} {ok}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", default=",".join(ORDER))
    ap.add_argument("--quick", action="store_true", help="tiny settings: checks the benchmarks run")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds each benchmark may take")
    ap.add_argument("--out", default=str(BENCH / "results.json"))
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = [n for n in names if n not in ORDER]
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)} (choose from {', '.join(ORDER)})")
    info = machine()
    print(f"# {info['date']} · {info['nproc']} × {info['cpu']} · load {info['loadavg']}", flush=True)
    results: dict[str, dict] = {}
    for name in names:
        print(f"## {name} …", flush=True)
        entry = run_one(name, args.reps, args.quick, args.timeout)
        results[name] = entry
        print(entry["output"].rstrip(), flush=True)
        if entry["results"] is None:
            print(f"{name} failed (exit status {entry['rc']}):\n{entry['errors']}", flush=True)
    rows = summarize(results)
    print()
    print(table(rows))
    out = {"date": info["date"], "machine": info, "machine_after": machine(), "reps": 1 if args.quick else args.reps,
           "quick": args.quick, "summary": rows,
           "results": {k: {kk: vv for kk, vv in v.items() if kk != "output"} | {"output": v["output"][-20000:]}
                       for k, v in results.items()}}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"\nwritten: {args.out}")
    if any(v["results"] is None for v in results.values()):
        return 3
    return 0 if all(r["ok"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
