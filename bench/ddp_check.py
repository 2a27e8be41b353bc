"""Check data-parallel training on NVIDIA GPUs: NCCL runs against one plain process.

    python bench/ddp_check.py                       # digits-mlp, 5 epochs, dropout off
    python bench/ddp_check.py --preset xor --epochs 10 --tolerance 1e-4
    python bench/ddp_check.py --set data.batch_size=64

It trains the same preset on CUDA three or more ways, each in its own runs folder:

1. one plain process (``tuidl.core.train.Trainer`` in this process, no torch.distributed);
2. torchrun with 1 process: DDP over NCCL with a world of one;
3. torchrun with 2 processes (NCCL, one GPU each), when two GPUs are visible
   (``--nproc`` lists the sizes to try).

The torchrun runs go through the same supervisor as ``tuidl train --gpus N``
(``python -m tuidl.core.system.distributed RUN --nproc N``). For each it prints the final
train / validation / test metrics, samples per second, and the largest difference from
the plain process over every epoch's metrics and the test metrics. The global batch is
the same in all runs, so the metrics must agree up to floating-point rounding (DDP sums
gradients in another order); a difference above ``--tolerance`` fails the check.
Dropout is turned off (``model.layers.N.rate=0``) so that no run draws random masks.
``--device cpu`` runs the same comparison with gloo on the CPU (to try the script on a
machine without a GPU; the CUDA check is the point).

Exit status: 0 agree, 1 disagree, 2 cannot run here (no GPU, no CUDA build, no NCCL),
3 a run failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("tuidl") is None:
    sys.path.insert(0, str(ROOT))


class CannotRun(Exception):
    """Why this machine cannot run the check (exit 2)."""


class RunFailed(Exception):
    """A training run did not complete (exit 3)."""


METRICS = ("loss", "acc", "top5", "mae")


def environment(device: str) -> int:
    """How many processes can run here (one per visible CUDA GPU, or the CPU cores);
    CannotRun when there is nothing to check."""
    try:
        import torch
    except ImportError as e:
        raise CannotRun(f"PyTorch is not installed ({e})") from None
    if device == "cpu":
        return os.cpu_count() or 1
    if torch.version.cuda is None:
        raise CannotRun(f"this PyTorch ({torch.__version__}) was built without CUDA")
    if not torch.cuda.is_available():
        raise CannotRun("no CUDA GPU is visible (torch.cuda.is_available() is False): this check needs an "
                        "NVIDIA GPU and its driver")
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_nccl_available():
        raise CannotRun("this PyTorch has no NCCL backend (torch.distributed.is_nccl_available() is False)")
    return torch.cuda.device_count()


def load_preset(name: str, epochs: int, overrides: list[str], device: str):
    from tuidl.core.preset import preset as P
    from tuidl.core.preset.schema import ConfigError

    base = [f"train.epochs={epochs}", f"train.device={device!r}", "train.early_stopping.enabled=false"]
    try:
        preset = P.load(name, [*base, *overrides])
        extra = [f"model.layers.{i}.rate=0.0" for i, layer in enumerate(preset.model.layers)
                 if layer.kind == "dropout"]
        if extra:
            preset = P.load(name, [*base, *overrides, *extra])
        P.resolve(preset)
    except ConfigError as e:
        raise CannotRun(f"bad preset: {e}") from None
    return preset


def summarize(name: str, events: list[dict], seconds: float) -> dict:
    started = [e for e in events if e["type"] == "run_started"]
    ended = [e for e in events if e["type"] == "run_ended"]
    if not started or not ended or ended[-1]["status"] != "completed":
        why = ended[-1]["message"] if ended else "no run_ended event"
        raise RunFailed(f"{name}: the run did not complete: {why}")
    epochs = [e for e in events if e["type"] == "epoch"]
    tests = [e for e in events if e["type"] == "test"]
    return {
        "name": name,
        "world": started[-1].get("world_size", 1),
        "device": started[-1]["device"],
        "epochs": [(e["train"], e["val"]) for e in epochs],
        "test": tests[-1]["metrics"] if tests else {},
        "rate": sum(e["samples_per_s"] for e in epochs) / max(len(epochs), 1),
        "seconds": seconds,
    }


def plain_run(preset, root: Path) -> dict:
    from tuidl.core.run import events as E
    from tuidl.core.preset import preset as P
    from tuidl.core.run import rundir as R
    from tuidl.core.train import Trainer

    run = R.create(root, preset.name, P.dumps(preset))
    t0 = time.monotonic()
    Trainer(preset, run, handle_signals=False).run()
    return summarize("one process", E.read_events(run.events_path), time.monotonic() - t0)


def torchrun_run(preset, root: Path, nproc: int, timeout: float, backend: str) -> dict:
    from tuidl.core.run import events as E
    from tuidl.core.preset import preset as P
    from tuidl.core.run import rundir as R

    run = R.create(root, preset.name, P.dumps(preset))
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "tuidl.core.system.distributed", str(run.path), "--nproc", str(nproc)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise RunFailed(f"torchrun with {nproc} process(es) did not finish in {timeout:.0f}s") from None
    name = f"torchrun {backend} x{nproc}"
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-5:]
        raise RunFailed(f"{name} exited with {out.returncode}: " + " | ".join(tail))
    return summarize(name, E.read_events(run.events_path), time.monotonic() - t0)


def difference(a: dict, b: dict) -> float:
    """The largest absolute difference over every epoch's train / val metrics and the test."""
    worst = 0.0
    if len(a["epochs"]) != len(b["epochs"]):
        return float("inf")
    pairs = [(x, y) for (ta, va), (tb, vb) in zip(a["epochs"], b["epochs"]) for x, y in ((ta, tb), (va, vb))]
    pairs.append((a["test"], b["test"]))
    for x, y in pairs:
        for key in METRICS:
            if x and y and key in x and key in y:
                worst = max(worst, abs(float(x[key]) - float(y[key])))
    return worst


def fmt(metrics: dict | None, key: str) -> str:
    return f"{float(metrics[key]):.5f}" if metrics and key in metrics else "—"


def report(results: list[dict], tolerance: float) -> bool:
    ref = results[0]
    header = (f"{'run':<20} {'world':>5}  {'device':<7} {'train_loss':>10} {'val_loss':>9} {'test_loss':>9} "
              f"{'test_acc':>8} {'samples/s':>10} {'seconds':>7}  max|diff|")
    print(header)
    print("-" * len(header))
    ok = True
    for r in results:
        train, val = r["epochs"][-1] if r["epochs"] else ({}, {})
        diff = difference(ref, r) if r is not ref else 0.0
        bad = diff > tolerance
        ok = ok and not bad
        print(f"{r['name']:<20} {r['world']:>5}  {r['device']:<7} {fmt(train, 'loss'):>10} {fmt(val, 'loss'):>9} "
              f"{fmt(r['test'], 'loss'):>9} {fmt(r['test'], 'acc'):>8} {r['rate']:>10,.0f} {r['seconds']:>7.1f}  "
              + ("—" if r is ref else f"{diff:.2e}{' *' if bad else ''}"))
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/ddp_check.py",
                                     description="Data-parallel (NCCL) runs against one plain process on CUDA.")
    parser.add_argument("--preset", default="digits-mlp", help="built-in preset or .toml (default: digits-mlp)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--nproc", default="1,2", help="torchrun sizes to try, e.g. 1,2,4 (those above the "
                                                       "number of GPUs are skipped)")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest allowed metric difference")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per torchrun run")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                        help="cuda (NCCL, the check) or cpu (gloo, to try the script without a GPU)")
    args = parser.parse_args(argv)
    backend = "nccl" if args.device == "cuda" else "gloo"
    try:
        try:
            sizes = sorted({int(s) for s in args.nproc.split(",") if s.strip()})
        except ValueError:
            raise CannotRun(f"--nproc: expected sizes like 1,2, got {args.nproc!r}") from None
        slots = environment(args.device)
        preset = load_preset(args.preset, args.epochs, args.overrides, args.device)
        runnable = [n for n in sizes if 1 <= n <= slots and preset.data.batch_size % n == 0]
        skipped = [n for n in sizes if n not in runnable]
        where = f"{slots} GPU(s) visible" if args.device == "cuda" else f"CPU, {slots} cores"
        print(f"ddp_check: {preset.name} on {args.device} ({backend}), {args.epochs} epochs, global batch "
              f"{preset.data.batch_size}; {where}" + (f"; skipping {skipped} (GPUs or batch size)" if skipped else ""))
        with tempfile.TemporaryDirectory(prefix="tuidl-ddp-check-") as tmp:
            results = [plain_run(preset, Path(tmp) / "plain")]
            for n in runnable:
                results.append(torchrun_run(preset, Path(tmp) / f"ddp{n}", n, args.timeout, backend))
        ok = report(results, args.tolerance)
    except CannotRun as e:
        print(f"ddp_check: cannot run here: {e}", file=sys.stderr)
        return 2
    except RunFailed as e:
        print(f"ddp_check: {e}", file=sys.stderr)
        return 3
    if len(results) < 2:
        print("ddp_check: no torchrun size could run here", file=sys.stderr)
        return 2
    print(("ddp_check: OK, " if ok else "ddp_check: MISMATCH, ") + f"tolerance {args.tolerance:g}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
