"""What a sweep's trial costs before its first step: trials forked from the driver's warm
fork server (``launch.TrialForks``, the default for trials on the CPU) against trials
started cold (``TUIDL_FORK_TRIALS=0``: a new Python that imports PyTorch).

A grid sweep of ``--trials`` tiny trials (xor, 2 epochs, 200 samples: their training is
a few milliseconds, so the sweep's time is its trials' start-up), run A-B-B-A
``--reps`` times. Per sweep: wall time of ``tuidl sweep``, the CPU time the machine
spent meanwhile (all processes, ``/proc/stat``: the fork server and forked trainers are
no child the command waits for), and per trial the time from the driver's
``trial_started`` to the run's ``run_started`` event (the trainer's start-up).

    python bench/sweep_start.py [--trials 8] [--reps 2] [--json bench/sweep_start.json]

Linux only (``/proc/stat``; the fork server is used on Linux only). Run it on an idle
machine: the CPU figure counts every process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tuidl.core.run.events import read_events  # noqa: E402


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (not idle, not waiting for I/O)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def one_sweep(trials: int, forked: bool) -> dict:
    lrs = ",".join(f"{0.001 * (i + 1):g}" for i in range(trials))
    with tempfile.TemporaryDirectory(prefix="tuidl-bench-sweep-") as runs:
        env = {**os.environ, "TUIDL_RUNS": runs, "TUIDL_FORK_TRIALS": "1" if forked else "0",
               "OMP_NUM_THREADS": "1"}
        busy, t0 = busy_seconds(), time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tuidl", "sweep", "xor", "--set", "train.epochs=2",
                               "--set", "data.params.n_samples=200", "--grid", f"train.optimizer.lr={lrs}",
                               "--study", "bench", "--json"], env=env, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        time.sleep(0.5)  # the fork server ends with the driver
        cpu = busy_seconds() - busy
        if done.returncode != 0:
            raise SystemExit(f"tuidl sweep failed:\n{done.stderr}")
        sweep = read_events(Path(runs) / "sweeps" / "bench" / "events.jsonl")
        started = {e["run_id"]: e["time"] for e in sweep if e["type"] == "trial_started"}
        latency = []
        for run_id, t in started.items():
            first = read_events(Path(runs) / run_id / "events.jsonl")[0]
            latency.append(first["time"] - t)
    return {"forked": forked, "trials": trials, "wall_s": wall, "cpu_s": cpu,
            "start_s_median": statistics.median(latency), "start_s_max": max(latency)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = []
    for _ in range(args.reps):
        for forked in (True, False, False, True):  # A-B-B-A
            rows.append(one_sweep(args.trials, forked))
            r = rows[-1]
            print(f"{'forked' if forked else 'cold  '}  wall {r['wall_s']:5.1f} s  cpu {r['cpu_s']:5.1f} s  "
                  f"trial start median {r['start_s_median']:.2f} s (max {r['start_s_max']:.2f})", flush=True)
    summary = {}
    for forked in (True, False):
        mine = [r for r in rows if r["forked"] == forked]
        summary["forked" if forked else "cold"] = {k: statistics.median(r[k] for r in mine)
                                                   for k in ("wall_s", "cpu_s", "start_s_median")}
    f, c = summary["forked"], summary["cold"]
    print(f"\nmedians, {args.trials} trials: forked {f['wall_s']:.1f} s wall, {f['cpu_s']:.1f} s CPU, "
          f"{f['start_s_median']:.2f} s to a trial's first event; cold {c['wall_s']:.1f} s, {c['cpu_s']:.1f} s, "
          f"{c['start_s_median']:.2f} s")
    if args.json:
        args.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "rows": rows, "summary": summary},
                                        indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
