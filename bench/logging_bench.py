"""Logging from the training thread: tuidl.log against trackio, wandb (offline), TensorBoard's
SummaryWriter, MLflow and a plain json-lines write (issue 26, item 8).

Each tracker runs in a process of its own, one after the other, in one run of this script:
``--steps`` steps (default 50,000) of ``--metrics`` scalars (default 20), logged as fast as
the loop goes. Reported per tracker: the log call's median and p99 on the training thread
(``perf_counter_ns`` around each call), the import time, the wall time from init until
everything is on disk (init, the loop, finish / close / flush), and the bytes it wrote.
For tuidl also the cost of one process/GPU telemetry sample (taken every 10 s).

The peers are the ``bench`` extra (``pip install 'tuidl[bench]'``), all in offline modes:
``WANDB_MODE=offline``, trackio's local SQLite, MLflow's file store. A peer that is not
installed (in ``--peer-python``'s environment, default this one) is skipped with a line.

    python bench/logging_bench.py [--steps 50000] [--json bench/logging.json] [--peer-python PY]

(Named ``logging_bench.py``, not ``logging.py``: run as a script, bench/ comes first on
``sys.path``, and a ``bench/logging.py`` would stand in for the standard library's
``logging`` in every bench script that imports torch.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRACKERS = ("jsonl", "tuidl", "trackio", "wandb", "tensorboard", "mlflow")


def folder_bytes(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, f))
            except OSError:
                pass
    return total


# -- one tracker, in its own process ----------------------------------------------------------


def one(tracker: str, steps: int, n_metrics: int, out: Path) -> dict:
    rng = random.Random(0)
    names = [f"train/m{i}" if i % 2 else f"val/m{i}" for i in range(n_metrics)]
    rows = [{k: rng.random() for k in names} for _ in range(steps)]
    version = None
    t_import = time.perf_counter()
    if tracker == "jsonl":
        pass
    elif tracker == "tuidl":
        os.environ["TUIDL_RUNS"] = str(out)
        import tuidl as T

        version = "this tree"
    elif tracker == "trackio":
        os.environ["TRACKIO_DIR"] = str(out)
        import trackio as T

        version = getattr(T, "__version__", None)
    elif tracker == "wandb":
        os.environ.update(WANDB_MODE="offline", WANDB_DIR=str(out), WANDB_SILENT="true",
                          WANDB_CONSOLE="off")
        import wandb as T

        version = T.__version__
    elif tracker == "tensorboard":
        from torch.utils.tensorboard import SummaryWriter
        import tensorboard

        version = tensorboard.__version__
    elif tracker == "mlflow":
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3.17 refuses its file store without it
        import mlflow as T

        version = T.__version__
        T.set_tracking_uri((out / "mlruns").as_uri())
    import_s = time.perf_counter() - t_import

    durations = [0] * steps
    clock = time.perf_counter_ns
    t0 = time.perf_counter()
    if tracker == "jsonl":
        f = open(out / "metrics.jsonl", "w")
        dumps = json.dumps
        for i, row in enumerate(rows):
            a = clock()
            f.write(dumps({"step": i, "time": time.time(), **row}) + "\n")
            durations[i] = clock() - a
        f.close()
    elif tracker == "tuidl":
        run = T.init(project="bench", name="bench", config={"steps": steps})
        log = run.log
        for i, row in enumerate(rows):
            a = clock()
            log(row, step=i)
            durations[i] = clock() - a
        run.finish()
    elif tracker == "trackio":
        T.init(project="bench", name="bench", config={"steps": steps})
        log = T.log
        for i, row in enumerate(rows):
            a = clock()
            log(row, step=i)
            durations[i] = clock() - a
        T.finish()
    elif tracker == "wandb":
        run = T.init(project="bench", config={"steps": steps})
        log = run.log
        for i, row in enumerate(rows):
            a = clock()
            log(row, step=i)
            durations[i] = clock() - a
        run.finish()
    elif tracker == "tensorboard":
        w = SummaryWriter(str(out / "tb"))
        add = w.add_scalar
        for i, row in enumerate(rows):
            a = clock()
            for k, v in row.items():
                add(k, v, i)
            durations[i] = clock() - a
        w.close()
    elif tracker == "mlflow":
        T.start_run()
        log = T.log_metrics
        for i, row in enumerate(rows):
            a = clock()
            log(row, step=i, synchronous=False)
            durations[i] = clock() - a
        T.end_run()
    wall = time.perf_counter() - t0
    durations.sort()
    result = {"tracker": tracker, "version": version, "steps": steps, "metrics": n_metrics,
              "median_us": round(durations[len(durations) // 2] / 1e3, 2),
              "p99_us": round(durations[int(len(durations) * 0.99)] / 1e3, 2),
              "mean_us": round(statistics.fmean(durations) / 1e3, 2),
              "import_s": round(import_s, 3), "init_to_written_s": round(wall, 3), "bytes": folder_bytes(out)}
    if tracker == "tuidl":
        result.update(telemetry_cost())
        result["written_metrics_events"] = count_metrics(out)
    return result


def count_metrics(out: Path) -> int:
    n = 0
    for path in out.glob("*/events.jsonl"):
        with open(path, "rb") as f:
            n += sum(1 for line in f if b'"type":"metrics"' in line)
    return n


def telemetry_cost() -> dict:
    """One telemetry sample of this process (psutil; NVML where present), as the writer
    thread takes every 10 s: its time, and that as a share of one core."""
    from tuidl import sdk
    from tuidl.core.system import telemetry as T

    sampler = T.Sampler(T.NvmlSource())
    sampler.sample(os.getpid())
    times = []
    for _ in range(20):
        a = time.perf_counter()
        sdk.telemetry_payload(sampler, os.getpid())
        times.append(time.perf_counter() - a)
    sampler.close()
    ms = statistics.median(times) * 1e3
    return {"telemetry_sample_ms": round(ms, 3), "telemetry_core_share": f"{ms / 10_000 * 100:.4f} %",
            "telemetry_problem": sampler.problem}


# -- the driver ---------------------------------------------------------------------------------


def installed(python: str, tracker: str) -> bool:
    module = {"tensorboard": "torch.utils.tensorboard", "jsonl": "json", "tuidl": "tuidl"}.get(tracker, tracker)
    probe = f"import importlib.util as u, sys; sys.exit(0 if u.find_spec({module.split('.')[0]!r}) else 1)"
    if tracker == "tensorboard":
        probe = "import tensorboard, torch.utils.tensorboard"
    return subprocess.run([python, "-c", probe], capture_output=True, env=child_env()).returncode == 0


def child_env() -> dict:
    """Bytecode cached (a user's installed packages have it; this machine sets
    PYTHONDONTWRITEBYTECODE, which would compile every import of every tracker each time)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PYTHONPYCACHEPREFIX": os.environ.get("PYTHONPYCACHEPREFIX") or str(Path(tempfile.gettempdir()) / "tuidl-bench-pyc")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50_000)
    ap.add_argument("--metrics", type=int, default=20)
    ap.add_argument("--trackers", default=",".join(TRACKERS))
    ap.add_argument("--peer-python", default=sys.executable, help="the interpreter that has the peers installed")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one, args.steps, args.metrics, Path(args.out))))
        return 0
    results = []
    for tracker in args.trackers.split(","):
        python = sys.executable if tracker in ("jsonl", "tuidl") else args.peer_python
        if not installed(python, tracker):
            print(f"{tracker}: not installed (pip install 'tuidl[bench]'), skipped", file=sys.stderr)
            continue
        for steps in (min(100, args.steps), args.steps):  # a warm-up (bytecode, the disk cache), then the run
            out = Path(tempfile.mkdtemp(prefix=f"tuidl-bench-{tracker}-"))
            try:
                proc = subprocess.run([python, __file__, "--one", tracker, "--steps", str(steps),
                                       "--metrics", str(args.metrics), "--out", str(out)],
                                      capture_output=True, text=True, env=child_env(), cwd=out)
            finally:
                shutil.rmtree(out, ignore_errors=True)
            if proc.returncode != 0:
                break
        if proc.returncode != 0:
            print(f"{tracker}: failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    floor = next((r["init_to_written_s"] for r in results if r["tracker"] == "jsonl"), None)
    print(f"{args.steps:,} steps × {args.metrics} scalars, one process per tracker")
    print(f"{'tracker':<12} {'version':<10} {'median':>9} {'p99':>9} {'import':>8} {'init→written':>13} {'× jsonl':>8} {'bytes':>12}")
    for r in results:
        ratio = f"{r['init_to_written_s'] / floor:.2f}" if floor else "—"
        print(f"{r['tracker']:<12} {str(r['version'] or ''):<10} {r['median_us']:>7.1f}µs {r['p99_us']:>7.1f}µs "
              f"{r['import_s']:>7.2f}s {r['init_to_written_s']:>12.2f}s {ratio:>8} {r['bytes']:>12,}")
    if args.json:
        Path(args.json).write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "steps": args.steps,
                                               "metrics": args.metrics, "cpus": os.cpu_count(),
                                               "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
