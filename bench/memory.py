"""Memory: the dashboard's resident memory after following a 1,000,000-step run.

Nothing trains a million steps here. A synthetic but schema-correct run directory is
written instead (docs/events.md: ``run_started`` with the preset's real model summary,
``step`` events at the trainer's cadence, ``epoch``, ``checkpoint`` and ``telemetry``
events, ``test``, ``run_ended`` and a ``status.json``), with the real ``EventWriter``:

* **1M steps**: 1,000,000 steps at 1,000 steps/s (a 1,000 s run), one ``step`` event per
  250 steps (four a second, as ``REPORT_EVERY_S`` allows): 4,000 step events; 100 epochs;
  one telemetry event a second;
* **1M steps, 100k events** (stress): the same run with one step event per 10 steps;
* **tiny** (reference): 1,000 steps, to tell fixed costs (the first chart drawn,
  the results view) from costs that grow with the history.

The dashboard (the child of bench/dashboard.py: the real ``TuidlApp`` at 120×40 on a
pseudo-terminal with Textual's real driver, in its own process) replays the run as fast
as it takes events (``start_replay(run, speed=0)``, what ``replay=run, replay_speed=0``
does on mount; started here just after the first frame so the start-up reading is
clean). Its RSS is read in the process itself at the first frame (start-up), right
after the replay ended and the charts drew, one second later, and after a
``gc.collect()``; the peak comes from ``getrusage``.

    python bench/memory.py [--reps 5] [--variants 1m,1m-100k,tiny] [--json out.json]

The memory of the processes ``tuidl`` keeps (the warm trainer, the trainer) and of the
dashboard after LR find, a model export and try-model is measured by
``python bench/dashboard.py --resources`` (:func:`dashboard.memory_of`: RSS, PSS and private
memory from ``/proc/PID/smaps_rollup``), together with the dashboard's CPU idle and while it
follows a run; its results are ``bench/resources.json``.

Target: RSS after the 1M-step replay − RSS at start-up ≤ 50 MB. Exit status 0 when
every 1M variant holds it, 1 when not.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from dashboard import machine, median, run_dashboard  # noqa: E402

MB = 2**20

# name: (steps, steps per step event, steps per second, epochs)
VARIANTS = {
    "1m": (1_000_000, 250, 1000.0, 100),
    "1m-100k": (1_000_000, 10, 1000.0, 100),
    "tiny": (1_000, 250, 1000.0, 2),
}


def _dead_pid() -> int:
    """The pid of a process that has ended (a finished run's trainer)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def synth_run(root: Path, steps: int, every: int, steps_per_s: float, epochs: int,
              preset_name: str = "mnist1d-cnn", telemetry_every_s: float = 1.0, seed: int = 0):
    """Write a finished run of ``steps`` optimizer steps into a new run directory under
    ``root``; returns the :class:`RunDir` and the number of events written."""
    from tuidl.core.data import catalog
    from tuidl.core.run import events as E
    from tuidl.core.preset import preset as P
    from tuidl.core.run import rundir as R

    rng = random.Random(seed)
    preset = P.load(preset_name)
    resolved = P.resolve(preset)
    run = R.create(root, preset.name, P.dumps(preset))
    batch = preset.data.batch_size
    steps_per_epoch = max(1, steps // epochs)
    n_train = steps_per_epoch * batch
    duration = steps / steps_per_s
    t0 = time.time() - duration - 10
    pid = _dead_pid()
    classes = [str(c) for c in catalog.info(preset.data.dataset, preset.data.params).classes]
    k = len(classes)
    written = 0

    def loss_at(step: int) -> float:
        return 2.3 * math.exp(-step / (steps / 6)) + 0.08 + 0.02 * rng.random()

    with E.EventWriter(run.events_path) as w:
        last = [t0]

        def emit(t: float, type_: str, **fields: Any) -> None:
            nonlocal written
            t = max(t, last[0] + 0.0001)  # the file is in time order, as a trainer writes it
            last[0] = t
            w.write({"type": type_, "time": round(t, 4), **fields})
            written += 1

        emit(t0, "run_started", schema=E.SCHEMA_VERSION, run_id=run.id, preset=preset.name, resumed_from=0,
             epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch, task="classification", loss="cce",
             metrics=["loss", "acc", "top5"], summary=resolved.summary.to_dict(),
             data={"dataset": preset.data.dataset, "input_shape": list(resolved.summary.input_shape),
                   "classes": classes, "sizes": {"train": n_train, "val": n_train // 6, "test": n_train // 6},
                   "balance": {"train": [n_train // k] * k, "val": [n_train // 6 // k] * k,
                               "test": [n_train // 6 // k] * k}, "normalize": "standard"},
             device="cpu", device_name="AMD EPYC", precision="fp32", pid=pid, world_size=1, torch_cuda=False)
        emit(t0 + 0.01, "checkpoint", epoch=0, kind="last", reason="start", path="checkpoints/last.pt", batch=0)
        next_telemetry = t0 + 0.5
        best = math.inf
        window_start = 0
        for step in range(every, steps + 1, every):
            t = t0 + step / steps_per_s
            while next_telemetry <= t:
                emit(next_telemetry, "telemetry", gpus=[],
                     host={"cpu": round(90 + 10 * rng.random(), 1), "ram_used": 2_400_000_000 + rng.randrange(10**7),
                           "ram_total": 25_276_510_208, "name": "vm"},
                     proc={"pid": pid, "cpu": round(180 + 20 * rng.random(), 1),
                           "rss": 420_000_000 + rng.randrange(10**6)},
                     problem="PyTorch built without CUDA; no NVIDIA driver found", torch=None, torch_cuda=None)
                next_telemetry += telemetry_every_s
            epoch = (step - 1) // steps_per_epoch + 1
            epoch_step = step - (epoch - 1) * steps_per_epoch
            loss = loss_at(step)
            lr = 0.01 * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))
            emit(t, "step", epoch=epoch, step=step, epoch_step=epoch_step, lr=lr,
                 samples_per_s=round((step - window_start) * batch / ((step - window_start) / steps_per_s), 1),
                 loss=loss, acc=min(1.0, 1.0 - loss / 2.5 + 0.01 * rng.random()))
            window_start = step
            if epoch_step == steps_per_epoch:
                val = loss * (1.05 + 0.05 * rng.random())
                is_best = val < best
                best = min(best, val)
                emit(t + 0.05, "epoch", epoch=epoch, step=step,
                     train={"loss": loss, "acc": 1.0 - loss / 2.5},
                     val={"loss": val, "acc": 1.0 - val / 2.5, "top5": min(1.0, 1.2 - val / 2.5)},
                     lr=lr, samples_per_s=round(steps_per_s * batch, 1),
                     duration=round(steps_per_epoch / steps_per_s, 4), best=is_best)
                if is_best:
                    emit(t + 0.06, "checkpoint", epoch=epoch, kind="best", reason="epoch",
                         path="checkpoints/best.pt", batch=0)
                emit(t + 0.07, "checkpoint", epoch=epoch, kind="last", reason="epoch", path="checkpoints/last.pt",
                     batch=0)
        t_end = t0 + duration + 0.5
        confusion = [[(90 if i == j else 1) for j in range(k)] for i in range(k)]
        shape = list(resolved.summary.input_shape)
        size = math.prod(shape)
        samples = [{"true": i % k, "pred": i % k,
                    "input": _nested([round(rng.random(), 3) for _ in range(size)], shape)} for i in range(8)]
        test = {"loss": best * 1.02, "acc": 1.0 - best / 2.5, "top5": 0.99}
        emit(t_end, "test", metrics=test, confusion=confusion, samples=samples)
        emit(t_end + 0.1, "run_ended", status="completed", message=f"trained {epochs} epochs",
             epochs_completed=epochs, best={"epoch": epochs, "monitor": "val_loss", "value": best}, test=test,
             duration=round(duration + 1, 3))
    run.write_status(status="completed", pid=pid, preset=preset.name, epoch=epochs, epochs=epochs,
                     started=t0, ended=t_end + 0.1, message=f"trained {epochs} epochs",
                     best={"epoch": epochs, "monitor": "val_loss", "value": best}, test=test)
    return run, written


def _nested(flat: list[float], shape: list[int]) -> Any:
    if len(shape) <= 1:
        return flat
    step = len(flat) // shape[0]
    return [_nested(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def measure(run, driver: str = "pty", settle: float = 1.0) -> dict[str, Any]:
    """Replay ``run`` in the dashboard child; its memory at each point, in MB."""
    rec = run_dashboard({"mode": "replay", "preset": str(run.preset_path), "run": str(run.path), "speed": 0.0,
                         "settle": settle, "system_interval": 1.0}, driver=driver, timeout=600)
    base = rec["rss_first_frame"]
    return {
        "rss_start_mb": round(base / MB, 1),
        "rss_drawn_mb": round(rec["rss_drawn"] / MB, 1),
        "growth_mb": round((rec["rss_drawn"] - base) / MB, 1),
        "growth_settled_mb": round((rec["rss_settled"] - base) / MB, 1),
        "growth_after_gc_mb": round((rec["rss_after_gc"] - base) / MB, 1),
        "peak_growth_mb": round((rec["maxrss"] - base) / MB, 1),
        "replay_s": round(rec["t_follow_ended"] - rec["t_follow_start"], 2),
        "events_received": rec.get("events_received"),
        "batches": rec.get("batches"),
        "points": rec.get("points"),
        "redraws": rec.get("redraws"),
        "follow_status": rec.get("follow_status"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--steps", type=int, help="steps of the 1m variants (smaller for a quick check)")
    ap.add_argument("--driver", choices=("pty", "headless"), default="pty")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    info = machine()
    print(f"# {info['date']} · {info['nproc']} × {info['cpu']} · load {info['loadavg']} · driver {args.driver}",
          flush=True)
    names = args.variants.split(",")
    rows = []
    with tempfile.TemporaryDirectory(prefix="tuidl-bench-memory-") as tmp:
        runs = {}
        for name in names:
            steps, every, rate, epochs = VARIANTS[name]
            if args.steps and name != "tiny":
                steps = args.steps
            t = time.perf_counter()
            run, n = synth_run(Path(tmp), steps, every, rate, epochs)
            size = run.events_path.stat().st_size
            runs[name] = run
            print(f"  {name}: {steps:,} steps, {n:,} events ({size / MB:.1f} MB) written in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
            rows.append({"variant": name, "steps": steps, "steps_per_step_event": every, "events": n,
                         "events_mb": round(size / MB, 2), "runs": []})
        for rep in range(args.reps):
            for row in (rows if rep % 2 == 0 else rows[::-1]):
                r = measure(runs[row["variant"]], args.driver)
                row["runs"].append(r)
                print(f"  rep {rep + 1} {row['variant']:<8} start {r['rss_start_mb']:6.1f} MB  "
                      f"+{r['growth_mb']:5.1f} MB "
                      f"after replay ({r['replay_s']:.1f} s, {r['events_received']:,} events)  +"
                      f"{r['growth_after_gc_mb']:5.1f} MB after gc  peak +{r['peak_growth_mb']:5.1f} MB", flush=True)
    for row in rows:
        for key in ("rss_start_mb", "growth_mb", "growth_settled_mb", "growth_after_gc_mb", "peak_growth_mb",
                    "replay_s"):
            row[key] = round(median([r[key] for r in row["runs"]]), 2)
    result = {"benchmark": "memory", "machine": info, "driver": args.driver, "reps": args.reps, "rows": rows}
    result["targets"] = {f"{r['variant']}: growth<=50MB": r["growth_mb"] <= 50.0 for r in rows
                         if r["variant"] != "tiny"}
    for r in rows:
        print(f"{r['variant']:<8} {r['events']:>7,} events: start {r['rss_start_mb']:.1f} MB, growth "
              f"{r['growth_mb']:.1f} MB after the replay ({r['growth_after_gc_mb']:.1f} MB after gc), "
              f"peak +{r['peak_growth_mb']:.1f} MB, replay {r['replay_s']:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
