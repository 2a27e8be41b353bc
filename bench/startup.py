"""Start-up: from typing ``tuidl`` to the first full frame, and from pressing Start to
the first ``step`` event.

**First frame.** ``tuidl`` runs as a real subprocess on a pseudo-terminal of 120×40
(``pty``), with Textual's real Linux driver; this script reads what it writes. Times
are wall clock from just before the process is created:

* ``first paint``: the first screen content arrives (a pane title);
* ``full frame``: the footer's key bindings have arrived too; Textual fills the
  footer in a moment after the first paint, so this is the first frame with every
  part of the dashboard on it. Then ctrl+q is typed and the dashboard quits:
* ``quit_restored``: from ctrl+q until the terminal is restored (the alternate screen
  left), and ``quit_exit``: until the process has ended (target ≤ 1 s; the shell's
  prompt comes back with the restored screen, not a second later).

Measured twice: the installed ``tuidl`` command itself (what a user runs), and the
dashboard child of bench/dashboard.py (the same ``TuidlApp`` with a recorder), which
also says where the time goes (interpreter start, importing ``tuidl.ui.app``, building
the app, compose + mount, the first refresh), whether ``torch`` is in ``sys.modules``
at the first frame, and whether it is imported in the two seconds after.

**Start → first step.** The dashboard child presses Start (``action_start``, what the
``s`` key does: ``launch.start`` in a worker thread, the real detached trainer) and
stops the run when the first ``step`` event arrives. Twice: as ``tuidl`` runs it, with
a trainer kept warm (``launch.Standby``), pressing Start ``--warm-after`` seconds
after the first frame (default 8: the standby imports PyTorch meanwhile); and cold
(no warm trainer), half a second after the first frame: a new trainer process, which
imports PyTorch and its compiler stack before the first step.
Times come from ``events.jsonl`` (the trainer's own ``time`` fields). The breakdown
comes from a replica of the trainer process (``python bench/startup.py --phases``,
started the way ``launch`` starts the trainer) that times each phase: interpreter
start, imports (``torch``, ``tuidl.core.train``), data load, model build, the rest
of set-up, the first optimizer step, and the wait for the first step report
(``REPORT_EVERY_S``). ``python -X importtime`` lists the costliest imports.

    python bench/startup.py [--reps 5] [--preset mnist1d-cnn] [--json out.json]

Targets: first full frame ≤ 1.5 s without torch imported; Start → first step ≤ 3 s.
Exit status 0 when all hold, 1 when not.
"""

from __future__ import annotations

import time

_T_MAIN = time.time()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from dashboard import (  # noqa: E402
    FIRST_PAINT,
    FULL_FRAME,
    SIZE,
    kill_run,
    machine,
    median,
    run_dashboard,
    run_events,
    run_in_pty,
)

CTRL_Q = b"\x11"
RESTORED = b"\x1b[?1049l"  # the alternate screen left: the shell's screen is back


def tuidl_command() -> tuple[list[str], str]:
    """The installed ``tuidl`` script next to this interpreter (not a shell shim), or
    ``python -m tuidl``."""
    script = Path(sys.executable).with_name("tuidl")
    if script.is_file():
        return [str(script)], str(script)
    found = shutil.which("tuidl")
    if found and Path(found).read_bytes()[:2] == b"#!" and b"python" in Path(found).read_bytes()[:200]:
        return [found], found
    return [sys.executable, "-m", "tuidl"], "python -m tuidl"


def first_frame_cli(env: dict, timeout: float = 60.0) -> dict[str, Any]:
    """``tuidl`` (no arguments) on a terminal until its first full frame, then ctrl+q."""
    cmd, _ = tuidl_command()
    out = run_in_pty(cmd, size=SIZE, env=env, timeout=timeout,
                     watch={"first_paint": FIRST_PAINT, "full_frame": FULL_FRAME, "restored": RESTORED},
                     replies={"full_frame": CTRL_Q})
    if "full_frame" not in out["seen"]:
        raise RuntimeError(f"tuidl showed no full frame (exit status {out['rc']}):\n{out['tail']}")
    t0 = out["t_spawn"]
    return {"first_paint": out["seen"].get("first_paint", float("nan")) - t0,
            "full_frame": out["seen"]["full_frame"] - t0, "rc": out["rc"], "cpu": out["cpu"],
            "quit_restored": out["seen"].get("restored", float("nan")) - out["seen"]["full_frame"],
            "quit_exit": out["t_exit"] - out["seen"]["full_frame"],
            "maxrss_mb": round(out["maxrss"] / 2**20, 1)}


def first_frame_child(env: dict, linger: float = 2.0) -> dict[str, Any]:
    """The dashboard child (idle): the same first frame, with its breakdown."""
    rec = run_dashboard({"mode": "idle", "preset": "spiral", "linger": linger, "system_interval": 1.0},
                        driver="pty", timeout=60, env=env)
    o = rec["outside"]
    t0 = o["t_spawn"]
    torch_later = rec.get("t_torch_imported")
    return {
        "first_paint": o["seen"].get("first_paint", float("nan")) - t0,
        "full_frame": o["seen"].get("full_frame", float("nan")) - t0,
        "interpreter": rec["t_main"] - t0,
        "import_ui": rec["t_imported"] - rec["t_main"],
        "build_app": rec["t_app_built"] - rec["t_imported"],
        "to_mount": rec["t_mount"] - rec["t_app_built"],
        "mount_to_first_refresh": rec["t_first_frame"] - rec["t_mount"],
        "first_refresh": rec["t_first_frame"] - t0,
        "cpu_to_first_refresh": rec["cpu_first_frame"],
        "rss_first_frame_mb": round(rec["rss_first_frame"] / 2**20, 1),
        "torch_at_first_frame": rec["torch_at_first_frame"],
        "torch_imported_within_s": None if torch_later is None else round(torch_later - rec["t_first_frame"], 3),
        "linger": linger,
    }


# ---------------------------------------------------------------------------
# Start → first step


def start_to_step(env: dict, preset: str, overrides: list[str], runs_root: Path, warm: bool = False,
                  press_after: float = 0.5) -> dict[str, Any]:
    """Press Start in the dashboard ``press_after`` seconds after its first frame; the
    first step event's time, from events.jsonl. ``warm``: the dashboard keeps a trainer
    warm (what ``tuidl`` does), and ``press_after`` should give it time to warm up."""
    rec = run_dashboard({"mode": "start", "preset": preset, "overrides": overrides, "runs_root": str(runs_root),
                         "press_after": press_after, "stop_after_first_step": True, "telemetry": True,
                         "system_interval": 1.0, "warm_trainer": warm}, driver="pty", timeout=120, env=env)
    run = rec.get("run")
    try:
        if not run:
            raise RuntimeError("the dashboard started no run")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the trainer ends by itself after the stop request
            status = json.loads((Path(run) / "status.json").read_text()).get("status")
            if status not in ("created", "starting", "running", "paused"):
                break
            time.sleep(0.1)
    finally:
        kill_run(run)
    events = run_events(run)
    press = rec["t_press"]
    first = {}
    for ev in events:
        kind = ev.get("type")
        if kind in ("run_started", "step", "epoch") and kind not in first:
            first[kind] = float(ev["time"])
    status = json.loads((Path(run) / "status.json").read_text())
    if "step" not in first:
        raise RuntimeError(f"no step event in {run} (its epochs may be shorter than the 0.25 s report window; "
                           "use a preset with longer epochs)")
    return {
        "launch_call": rec["t_launch_call"] - press,  # the worker thread got going
        "launch_return": rec["t_launch_return"] - press,  # run dir created, trainer spawned
        "run_started": first["run_started"] - press,
        "first_step": first["step"] - press,
        "first_step_on_screen": rec.get("t_first_step_seen", float("nan")) - press,
        "launched_at": status.get("launched"),
        "warm_trainer_used": rec.get("standby_pid") is not None and rec.get("standby_pid") == rec.get("trainer_pid"),
    }


def phases_main(cfg_path: str) -> int:
    """The trainer process, timed phase by phase (run as ``--phases CONFIG``): what
    ``python -m tuidl.core.train.trainer RUN --telemetry`` does, with wrappers that note the
    time around data loading, model building and the first optimizer step."""
    cfg = json.loads(Path(cfg_path).read_text())
    rec: dict[str, Any] = {"t_main": _T_MAIN}
    from tuidl.core.preset import preset as P
    from tuidl.core.run.rundir import RunDir

    rec["t_core"] = time.time()
    import torch  # noqa: F401

    rec["t_torch"] = time.time()
    from tuidl.core.data import data as D
    from tuidl.core.train import loop as E
    from tuidl.core.train.meter import Meter

    rec["t_engine"] = time.time()  # the training package (once tuidl.core.engine)

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            rec.setdefault(f"t_{name}_start", time.time())
            out = fn(*args, **kwargs)
            rec.setdefault(f"t_{name}_end", time.time())
            return out
        return wrapper

    D.load = timed("data", D.load)
    E.build = timed("build", E.build)
    add_row = Meter.add_row

    def first_step(self, row, n):
        rec.setdefault("t_first_step_done", time.time())
        return add_row(self, row, n)

    Meter.add_row = first_step
    run = RunDir(cfg["run"])
    preset = P.load(run.preset_path)
    rec["t_preset"] = time.time()
    trainer = None

    def listener(ev: dict) -> None:
        kind = ev.get("type")
        if kind in ("run_started", "step", "epoch") and f"t_{kind}" not in rec:
            rec[f"t_{kind}"] = float(ev["time"])
            if kind in ("step", "epoch") and trainer is not None:
                trainer.request_stop("benchmark: first step seen")

    trainer = E.Trainer(preset, run, listeners=[listener], telemetry=True)
    rec["status"] = trainer.run()
    Path(cfg["out"]).write_text(json.dumps(rec))
    return 0


def trainer_phases(env: dict, preset_name: str, overrides: list[str], runs_root: Path) -> dict[str, Any]:
    """Start the replica the way ``launch`` starts the trainer; its phase times."""
    from tuidl.core.preset import preset as P
    from tuidl.core.run import rundir as R

    preset = P.load(preset_name, overrides)
    run = R.create(runs_root, preset.name, P.dumps(preset))
    out = run.path / "phases.json"
    cfg = run.path / "phases-config.json"
    cfg.write_text(json.dumps({"run": str(run.path), "out": str(out)}))
    with open(run.path / "trainer.out", "ab") as o, open(run.path / "trainer.err", "ab") as e:
        t_spawn = time.time()
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--phases", str(cfg)],
                                stdin=subprocess.DEVNULL, stdout=o, stderr=e, start_new_session=True,
                                close_fds=True, env=env)
    try:
        rc = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError("the trainer replica timed out") from None
    if rc != 0 or not out.is_file():
        raise RuntimeError(f"the trainer replica failed ({rc}): {(run.path / 'trainer.err').read_text()[-2000:]}")
    r = json.loads(out.read_text())
    step_or_epoch = r.get("t_step", r.get("t_epoch"))
    return {
        "spawn_and_interpreter": r["t_main"] - t_spawn,
        "import_core": r["t_core"] - r["t_main"],
        "import_torch": r["t_torch"] - r["t_core"],
        "import_engine": r["t_engine"] - r["t_torch"],
        "load_preset": r["t_preset"] - r["t_engine"],
        "setup_before_data": r["t_data_start"] - r["t_preset"],
        "data_load": r["t_data_end"] - r["t_data_start"],
        "model_build": r["t_build_end"] - r["t_build_start"],
        "setup_rest_to_run_started": r["t_run_started"] - r["t_build_end"],
        "first_step": r["t_first_step_done"] - r["t_run_started"],
        "report_window": step_or_epoch - r["t_first_step_done"],
        "total_to_first_step": step_or_epoch - t_spawn,
        "first_report_is": "step" if "t_step" in r else "epoch",
    }


def import_costs(top: int = 10) -> dict[str, Any]:
    """``python -X importtime`` of what the trainer imports: total and the costliest
    modules (cumulative microseconds)."""
    code = "import tuidl.core.train.trainer, tuidl.core.train, tuidl.core.data.data, tuidl.core.model.model"
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                         timeout=120)
    rows = []
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), int(m.group(1)), len(m.group(3)), m.group(4)))
    total = sum(c for c, _s, depth, _n in rows if depth == 1)
    top_level = sorted((r for r in rows if r[2] <= 3), reverse=True)[:top]
    ui = subprocess.run([sys.executable, "-X", "importtime", "-c", "import tuidl.ui.app"], capture_output=True,
                        text=True, timeout=120)
    ui_rows = []
    for line in ui.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            ui_rows.append((int(m.group(2)), int(m.group(1)), len(m.group(3)), m.group(4)))
    return {
        "trainer_total_s": round(total / 1e6, 3),
        "trainer_top": [{"module": n, "cumulative_s": round(c / 1e6, 3), "self_s": round(s / 1e6, 3)}
                        for c, s, _d, n in top_level],
        "ui_total_s": round(sum(c for c, _s, d, _n in ui_rows if d == 1) / 1e6, 3),
        "ui_top": [{"module": n, "cumulative_s": round(c / 1e6, 3), "self_s": round(s / 1e6, 3)}
                   for c, s, _d, n in sorted((r for r in ui_rows if r[2] <= 3), reverse=True)[:top]],
        "ui_imports_torch": any(n == "torch" for *_x, n in ui_rows),
    }


def _med(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if isinstance(r.get(key), (int, float)) and r[key] == r[key]]
    return round(median(values), 3) if values else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--preset", default="mnist1d-cnn", help="preset trained for Start → first step")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--warm-after", type=float, default=8.0,
                    help="seconds after the first frame to press Start with the warm trainer (it needs a few to "
                         "import PyTorch; a person reads the screen first)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--phases", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phases:
        return phases_main(args.phases)

    info = machine()
    cmd, shown = tuidl_command()
    print(f"# {info['date']} · {info['nproc']} × {info['cpu']} · load {info['loadavg']} · {shown} at "
          f"{SIZE[0]}×{SIZE[1]}; Start → step with {args.preset}", flush=True)
    overrides = list(args.overrides) + ["train.device='cpu'"]
    with tempfile.TemporaryDirectory(prefix="tuidl-bench-startup-") as tmp:
        root = Path(tmp) / "runs"
        env = dict(os.environ, TUIDL_RUNS=str(root))
        # warm-up (not counted): page cache, the dataset cache, bytecode
        first_frame_cli(env)
        trainer_phases(env, args.preset, overrides, root)
        cli, child, starts, warm, phases = [], [], [], [], []
        for rep in range(args.reps):
            cli.append(first_frame_cli(env))
            child.append(first_frame_child(env))
            starts.append(start_to_step(env, args.preset, overrides, root))
            warm.append(start_to_step(env, args.preset, overrides, root, warm=True, press_after=args.warm_after))
            phases.append(trainer_phases(env, args.preset, overrides, root))
            print(f"  rep {rep + 1}: tuidl full frame {cli[-1]['full_frame']:.2f} s (first paint "
                  f"{cli[-1]['first_paint']:.2f} s); child full frame {child[-1]['full_frame']:.2f} s, "
                  f"torch at first frame {child[-1]['torch_at_first_frame']}; Start → first step "
                  f"{warm[-1]['first_step']:.2f} s with the warm trainer"
                  f"{'' if warm[-1]['warm_trainer_used'] else ' (NOT USED)'}, {starts[-1]['first_step']:.2f} s "
                  f"cold; replica → first step {phases[-1]['total_to_first_step']:.2f} s", flush=True)
    imports = import_costs()
    result = {
        "benchmark": "startup", "machine": info, "machine_after": machine(), "command": shown,
        "size": list(SIZE), "reps": args.reps, "preset": args.preset,
        "first_frame_cli": {k: _med(cli, k) for k in ("first_paint", "full_frame", "cpu", "maxrss_mb",
                                                        "quit_restored", "quit_exit")},
        "first_frame_child": {k: _med(child, k) for k in child[0] if isinstance(child[0][k], float)},
        "torch_at_first_frame": any(c["torch_at_first_frame"] for c in child),
        "torch_imported_within_2s_of_first_frame": [c["torch_imported_within_s"] for c in child],
        "start_to_step": {k: _med(warm, k) for k in warm[0] if isinstance(warm[0][k], float)
                          and k != "launched_at"},
        "warm_trainer_used": [w["warm_trainer_used"] for w in warm],
        "warm_after_s": args.warm_after,
        "start_to_step_cold": {k: _med(starts, k) for k in starts[0] if isinstance(starts[0][k], float)
                               and k != "launched_at"},
        "trainer_phases": {k: _med(phases, k) for k in phases[0] if isinstance(phases[0][k], float)},
        "first_report_is": sorted({p["first_report_is"] for p in phases}),
        "imports": imports,
        "runs": {"cli": cli, "child": child, "start_to_step": warm, "start_to_step_cold": starts, "phases": phases},
    }
    full = result["first_frame_cli"]["full_frame"]
    step = result["start_to_step"]["first_step"]
    result["targets"] = {"full_frame<=1.5s": full <= 1.5, "no_torch_at_first_frame": not result["torch_at_first_frame"],
                         "start_to_step<=3s": step <= 3.0 and all(result["warm_trainer_used"]),
                         "quit_exit<=1s": result["first_frame_cli"]["quit_exit"] <= 1.0}
    c = result["first_frame_child"]
    print(f"first full frame: tuidl {full:.2f} s (first paint {result['first_frame_cli']['first_paint']:.2f} s); "
          f"child {c['full_frame']:.2f} s = interpreter {c['interpreter']:.2f} + import tuidl.ui.app "
          f"{c['import_ui']:.2f} + build {c['build_app']:.2f} + to mount {c['to_mount']:.2f} + to first refresh "
          f"{c['mount_to_first_refresh']:.2f}; torch at first frame: {result['torch_at_first_frame']}; ctrl+q → "
          f"terminal restored {result['first_frame_cli']['quit_restored']:.2f} s, → process ended "
          f"{result['first_frame_cli']['quit_exit']:.2f} s")
    s, p = result["start_to_step"], result["trainer_phases"]
    print(f"Start → first step {step:.2f} s with the warm trainer (launch.start returned {s['launch_return']:.2f} s, "
          f"run_started {s['run_started']:.2f} s); cold {result['start_to_step_cold']['first_step']:.2f} s; "
          f"a cold trainer replica: " + ", ".join(f"{k} {v:.2f}" for k, v in p.items()))
    print("trainer imports: " + ", ".join(f"{r['module']} {r['cumulative_s']:.2f} s"
                                          for r in imports["trainer_top"][:6]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
