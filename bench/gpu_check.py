"""Check the system pane's GPU readings against nvidia-smi on a machine with a GPU.

    python bench/gpu_check.py                      # train mnist1d-cnn with the trainer
    python bench/gpu_check.py --preset digits-cnn --epochs 5
    python bench/gpu_check.py --load matmul --seconds 20   # no trainer: bf16 matmuls

It starts a load on the GPU, either the trainer (``tuidl train <preset> --device cuda
--precision bf16 --telemetry --set train.epochs=N``, as a subprocess with its own runs
folder) or a built-in bf16 matmul loop that runs the same ``TelemetryThread`` the
trainer uses. Each second it takes the pane's readings (``Sampler.sample`` over
``NvmlSource``, and PyTorch's allocator figures from the run's ``telemetry`` events)
and, at the same moment, ``nvidia-smi --query-gpu=...`` and ``--query-compute-apps``,
and prints both side by side. A ``*`` marks a reading that is off by more than its
tolerance. Readings that move on their own (util, power, SM clock, memory while the
model starts) may be off now and then, because the two reads are some tens of
milliseconds apart; a metric fails when more than ``--allowed`` of its samples are
off. Fixed figures (memory total, power limit) must always agree.

Exit status: 0 agree, 1 disagree, 2 cannot run here (no GPU, no driver, no
nvidia-smi, no trainer), 3 the load failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("tuidl") is None:
    sys.path.insert(0, str(ROOT))

from tuidl.core.run.events import EventTail, EventWriter  # noqa: E402
from tuidl.core.system.telemetry import (  # noqa: E402
    MIB,
    GpuUnavailable,
    NvmlSource,
    Sampler,
    TelemetryThread,
)

SMI_FIELDS = "utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw,power.limit,clocks.sm"

# metric: (tolerance(pane, smi) -> allowed difference, always must agree?)
TOLERANCES = {
    "util": (lambda a, b: 15.0, False),  # percentage points
    "mem_used": (lambda a, b: 256 * MIB, False),
    "mem_total": (lambda a, b: 1 * MIB, True),
    "temp": (lambda a, b: 2.0, False),  # degrees C
    "power": (lambda a, b: max(30.0, 0.15 * max(a, b)), False),  # W
    "power_limit": (lambda a, b: 1.0, True),  # W
    "sm_clock": (lambda a, b: max(60.0, 0.05 * max(a, b)), False),  # MHz
    "proc_mem": (lambda a, b: 64 * MIB, False),
}


class CannotRun(Exception):
    """A reason this machine cannot run the check (exit 2)."""


def _float(text: str) -> float | None:
    text = text.strip()
    if not text or text.startswith("[") or text.lower() in ("n/a", "nan"):
        return None  # "[N/A]", "[Not Supported]"
    try:
        return float(text)
    except ValueError:
        return None


def query_smi(smi: str) -> tuple[dict[int, dict], dict[int, int]]:
    """nvidia-smi's figures now: per GPU index, and per compute pid (bytes)."""
    out = subprocess.run(
        [smi, f"--query-gpu=index,{SMI_FIELDS}", "--format=csv,noheader,nounits"],
        capture_output=True, text=True, timeout=15,
    )
    if out.returncode != 0:
        raise CannotRun(f"nvidia-smi failed: {(out.stderr or out.stdout).strip()}")
    gpus: dict[int, dict] = {}
    for line in out.stdout.strip().splitlines():
        f = [c.strip() for c in line.split(",")]
        if len(f) != 8:
            continue
        mem_used, mem_total = _float(f[2]), _float(f[3])
        gpus[int(f[0])] = {
            "util": _float(f[1]),
            "mem_used": None if mem_used is None else mem_used * MIB,
            "mem_total": None if mem_total is None else mem_total * MIB,
            "temp": _float(f[4]),
            "power": _float(f[5]),
            "power_limit": _float(f[6]),
            "sm_clock": _float(f[7]),
        }
    apps = subprocess.run(
        [smi, "--query-compute-apps=pid,gpu_uuid,used_memory", "--format=csv,noheader,nounits"],
        capture_output=True, text=True, timeout=15,
    )
    procs: dict[tuple[int, str], int] = {}
    for line in apps.stdout.strip().splitlines() if apps.returncode == 0 else []:
        f = [c.strip() for c in line.split(",")]
        if len(f) == 3 and f[0].isdigit() and _float(f[2]) is not None:
            procs[(int(f[0]), f[1])] = int(_float(f[2]) * MIB)
    return gpus, procs


# -- loads ---------------------------------------------------------------------------


def trainer_command(preset: str, epochs: int) -> list[str]:
    if importlib.util.find_spec("tuidl.cli") is None:
        raise CannotRun("the trainer (tuidl.cli) is not there yet; use --load matmul")
    args = ["train", preset, "--device", "cuda", "--precision", "bf16", "--telemetry",
            "--set", f"train.epochs={epochs}"]
    exe = shutil.which("tuidl")
    if exe:
        return [exe, *args]
    if importlib.util.find_spec("tuidl.__main__") is not None:
        return [sys.executable, "-m", "tuidl", *args]
    return [sys.executable, "-c",
            "import sys; from tuidl.cli import main; sys.argv[0] = 'tuidl'; sys.exit(main())", *args]


def matmul_worker(events: str, seconds: float, device: str) -> int:
    """The built-in load: bf16 matmuls on ``device`` with the trainer's telemetry thread."""
    import torch

    writer = EventWriter(events)
    writer.emit("run_started", schema=1, run_id="gpu-check", preset="matmul", pid=os.getpid(),
                device=device, torch_cuda=torch.version.cuda, precision="bf16", world_size=1)
    dev = torch.device(device)
    torch.cuda.set_device(dev)
    a = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    keep = [torch.empty(256 << 20, dtype=torch.uint8, device=dev) for _ in range(8)]  # 2 GiB
    thread = TelemetryThread(lambda p: writer.emit("telemetry", **p), device=device)
    thread.start()
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            for _ in range(20):
                a = (a @ b).clamp_(-1, 1)
            torch.cuda.synchronize()
    finally:
        thread.stop()
        del keep
        writer.emit("run_ended", status="completed", message="", epochs_completed=0,
                    best=None, test=None, duration=seconds)
        writer.close()
    return 0


# -- the check -----------------------------------------------------------------------


def fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "—"
    if metric in ("mem_used", "mem_total", "proc_mem"):
        return f"{v / (1 << 30):.2f}"
    return f"{v:.0f}"


def compare(metric: str, pane: float | None, smi: float | None) -> bool | None:
    """True agree, False disagree, None: a side has no reading (one side only: False)."""
    if pane is None and smi is None:
        return None
    if pane is None or smi is None:
        return False
    tol, _ = TOLERANCES[metric]
    return abs(pane - smi) <= tol(pane, smi)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--load", choices=("trainer", "matmul"), default="trainer")
    ap.add_argument("--preset", default="mnist1d-cnn", help="trainer preset (mnist1d-cnn, digits-cnn)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=30.0, help="longest check (s)")
    ap.add_argument("--device", default="cuda:0", help="matmul load device")
    ap.add_argument("--allowed", type=float, default=0.2,
                    help="share of samples a moving metric may be off (default 0.2)")
    ap.add_argument("--worker", metavar="EVENTS", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        return matmul_worker(args.worker, args.seconds, args.device)

    try:
        return check(args)
    except CannotRun as err:
        print(f"gpu_check: cannot run here: {err}", file=sys.stderr)
        return 2


def check(args: argparse.Namespace) -> int:
    source = NvmlSource()
    try:
        source.init()
    except GpuUnavailable as err:
        raise CannotRun(err.reason) from None
    if source.device_count() == 0:
        raise CannotRun("no NVIDIA GPU found")
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise CannotRun("nvidia-smi is not on PATH")
    source.shutdown()

    tmp = Path(tempfile.mkdtemp(prefix="tuidl-gpu-check-"))
    env = dict(os.environ, TUIDL_RUNS=str(tmp / "runs"))
    out, err = open(tmp / "load.out", "wb"), open(tmp / "load.err", "wb")
    if args.load == "trainer":
        cmd = trainer_command(args.preset, args.epochs)
        events_path = None
    else:
        events_path = tmp / "events.jsonl"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(events_path),
               "--seconds", str(args.seconds), "--device", args.device]
    print("load:", " ".join(cmd))
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                            cwd=ROOT, start_new_session=True)

    sampler = Sampler(NvmlSource())
    tail = EventTail(events_path) if events_path else None
    pid = proc.pid
    torch_fig: dict | None = None
    counts: dict[str, list[int]] = {m: [0, 0] for m in TOLERANCES}  # [off, compared]
    torch_off = [0, 0]
    header = (f"{'time':8} {'gpu':>3}  {'util %':>9}  {'mem used GiB':>13}  {'total GiB':>13}  "
              f"{'temp C':>7}  {'power W':>9}  {'limit W':>9}  {'SM MHz':>11}  "
              f"{'trainer GiB':>11}  torch alloc/res/peak GiB")
    print(header)
    print("-" * len(header))
    end = time.monotonic() + args.seconds
    samples = 0
    try:
        while time.monotonic() < end:
            tick = time.monotonic()
            if tail is None:
                runs = sorted((tmp / "runs").glob("*/events.jsonl"))
                if runs:
                    tail = EventTail(runs[0])
            for ev in tail.poll() if tail else []:
                if ev.get("type") == "run_started" and isinstance(ev.get("pid"), int):
                    pid = ev["pid"]
                elif ev.get("type") == "telemetry" and "torch" in ev:
                    torch_fig = ev.get("torch")
            pane = sampler.sample(pid)
            smi_gpus, smi_procs = query_smi(smi)
            if pane["problem"]:
                print(f"{time.strftime('%H:%M:%S')} pane problem: {pane['problem']}")
            for g in pane["gpus"]:
                s = smi_gpus.get(g["index"])
                if s is None:
                    continue
                s = dict(s, proc_mem=smi_procs.get((pid, g.get("uuid") or "")))
                cells = []
                for m in ("util", "mem_used", "mem_total", "temp", "power", "power_limit",
                          "sm_clock", "proc_mem"):
                    ok = compare(m, g.get(m), s.get(m))
                    if ok is not None:
                        counts[m][1] += 1
                        counts[m][0] += 0 if ok else 1
                    mark = "*" if ok is False else " "
                    cells.append(f"{fmt(m, g.get(m))}/{fmt(m, s.get(m))}{mark}")
                tf = ""
                figs = [torch_fig.get(k) for k in ("allocated", "reserved", "peak")] if torch_fig else []
                if len(figs) == 3 and all(isinstance(v, int) for v in figs) and g is pane["gpus"][0]:
                    a, r, p = figs
                    tf = "/".join(fmt("mem_used", v) for v in (a, r, p))
                    good = a <= r and a <= p and (g.get("proc_mem") is None or r <= g["proc_mem"] + 64 * MIB)
                    torch_off[1] += 1
                    torch_off[0] += 0 if good else 1
                    tf += "" if good else " *"
                w = (9, 13, 13, 7, 9, 9, 11, 11)
                print(f"{time.strftime('%H:%M:%S'):8} {g['index']:>3}  "
                      + "  ".join(c.rjust(n) for c, n in zip(cells, w)) + f"  {tf}")
            samples += 1
            if proc.poll() is not None and samples > 1:
                break
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        sampler.close()
        out.close()
        err.close()

    print()
    failed = []
    for m, (off, n) in counts.items():
        must = TOLERANCES[m][1]
        bad = off > 0 if must else (n > 0 and off / n > args.allowed)
        print(f"{m:12} {off:3}/{n:<3} off{'   DISAGREE' if bad else ''}")
        if bad:
            failed.append(m)
    if torch_off[1] == 0:
        print("torch        no torch figures in the run's telemetry events   DISAGREE")
        failed.append("torch")
    elif torch_off[0]:
        print(f"torch        {torch_off[0]}/{torch_off[1]} inconsistent (allocated <= reserved <= driver)   DISAGREE")
        failed.append("torch")
    if counts["util"][1] == 0:
        print("no GPU readings were compared")
        failed.append("nothing")
    if proc.returncode not in (0, -signal.SIGTERM, None) and samples <= 2:
        print(f"the load failed (exit {proc.returncode}); its stderr:", file=sys.stderr)
        print((tmp / "load.err").read_text(errors="replace")[-2000:], file=sys.stderr)
        return 3
    print("\nOK: the pane agrees with nvidia-smi" if not failed
          else f"\nFAIL: {', '.join(failed)} (logs in {tmp})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
