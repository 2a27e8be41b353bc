"""Training with the dashboard attached: does watching a run slow it down?

Three sides, side by side, the order rotated every repetition so none always runs on a
warmer machine:

* **plain**: the hand-written PyTorch loop of ``bench/throughput.py`` (imported), in
  this process, on the data loaded once through tuidl's data layer;
* **unwatched**: the same preset trained by the real detached trainer
  (``tuidl.core.run.launch.start``: ``python -m tuidl.core.train.trainer`` in its own session),
  nobody reading its events;
* **watched**: the same, with a dashboard following it: a separate process running
  ``TuidlApp(preset, attach=run)`` at 120×40, by default in a pseudo-terminal with
  Textual's real Linux driver (every frame is rendered to escape codes and written, as
  in a terminal; this script reads and discards them), or with ``--driver headless``
  (``App.run(headless=True)``: frames are composited but not encoded).

Trainer throughput is read from the run's own events, as bench/throughput.py does:
samples trained / (last ``epoch`` event time − ``run_started`` time). The dashboard's
CPU time is its own process only (``resource.getrusage(RUSAGE_SELF)`` inside it, all
its threads, not the trainer), from its first frame to the moment it has taken the
run's last event and redrawn its charts, as a percentage of the run's wall time
(``run_started`` to ``run_ended``). Its start-up CPU (imports, compose) is reported
apart. The trainer's own CPU time comes from ``os.wait4``.

A fourth measurement, **steady state**, takes the trainer out: the dashboard replays a
synthetic run (bench/memory.py) at 1× real time, at the trainer's cadence (four step
events and one telemetry event a second), on the Training pane. Its CPU time over the
replay is what following a run costs by itself, without a trainer on the same cores
(on this 2-core machine the two compete, and torch's two OpenMP threads wait on each
other when one is descheduled).

    python bench/dashboard.py [--reps 5] [--case mnist1d-cnn] [--epochs 30] [--samples 40000]
                              [--driver pty|headless] [--no-telemetry] [--profile out.prof] [--json out.json]

The default run: mnist1d-cnn on 40,000 generated samples (27,200 trained per epoch),
30 epochs: epochs of about a second here, so the trainer reports steps four times a
second as it does on real data, and a run lasts ~40 s. The dashboard has a fixed cost
of about a second after its first frame (the Training pane's first layout and focus,
plotext's import at the first chart, the end-of-run results); a run long enough to be
worth watching makes that small next to the cost of following it.

The ratios are medians over repetitions of the ratio within one repetition (the three
sides run back to back, so they share the machine's drift in speed).

Targets: watched ≥ 0.93 × plain (samples/s), dashboard CPU ≤ 10 % of the run's wall time.
Exit status 0 when both hold, 1 when not.

This module also holds what the other dashboard benchmarks share (bench/startup.py,
bench/memory.py): :func:`run_in_pty` and the dashboard child (``--child CONFIG``), which
imports nothing heavy before ``tuidl.ui.app`` so start-up can be timed with it.
"""

from __future__ import annotations

import time

_T_MAIN = time.time()  # first thing: the dashboard child times its start-up from here

import argparse  # noqa: E402
import fcntl  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pty  # noqa: E402
import resource  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import termios  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
if str(BENCH) not in sys.path:
    sys.path.insert(1, str(BENCH))

SIZE = (120, 40)
# Bytes that show the dashboard on screen: a pane title (first paint) and the footer's
# key bindings, which Textual fills in a moment after the first paint (full frame).
FIRST_PAINT = b"Model builder"
FULL_FRAME = b"Quit"


# ---------------------------------------------------------------------------
# Small helpers shared by the benchmarks


def cpu_name(default: str = "?") -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), or ``default``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return default


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = cpu_name()
    try:
        uptime = subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        uptime = ""
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "nproc": os.cpu_count(), "cpu": cpu,
            "loadavg": [round(x, 2) for x in os.getloadavg()], "uptime": uptime,
            "python": sys.version.split()[0]}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def cpu_seconds() -> float:
    """CPU time of this process so far (every thread, user + system)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def rss_bytes() -> int:
    """Resident memory of this process now."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import psutil

        return int(psutil.Process().memory_info().rss)


def memory_of(pid: int | None) -> dict[str, float] | None:
    """A process's memory in MB from ``/proc/PID/smaps_rollup``: ``rss``, ``pss`` (its
    shared pages divided among the processes sharing them) and ``private`` (pages no other
    process maps: what ending it gives back); None when it is gone."""
    if not pid:
        return None
    fields: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                fields[parts[0][:-1]] = int(parts[1]) / 1024
    except OSError:
        return None
    return {"rss": round(fields.get("Rss", 0.0), 1), "pss": round(fields.get("Pss", 0.0), 1),
            "private": round(fields.get("Private_Clean", 0.0) + fields.get("Private_Dirty", 0.0), 1)}


def kill_run(run_path: str | os.PathLike | None) -> None:
    """End a trainer this benchmark started, by the pid in its status file, if it is
    still there (after a failed or timed-out benchmark)."""
    if not run_path:
        return
    try:
        status = json.loads((Path(run_path) / "status.json").read_text())
    except (OSError, ValueError):
        return
    pid = int(status.get("pid") or 0)
    if status.get("status") in ("starting", "running", "paused") and pid > 0:
        try:
            os.kill(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def run_events(run_path: str | os.PathLike) -> list[dict]:
    from tuidl.core.run.events import read_events

    return read_events(Path(run_path) / "events.jsonl")


def trainer_rate(events: list[dict], n_train: int) -> dict[str, Any]:
    """Samples/s of a finished run from its events: samples trained between
    ``run_started`` and the last ``epoch`` event (as bench/throughput.py measures)."""
    started = next(ev for ev in events if ev.get("type") == "run_started")
    epochs = [ev for ev in events if ev.get("type") == "epoch"]
    ended = next((ev for ev in events if ev.get("type") == "run_ended"), None)
    if not epochs:
        raise RuntimeError("the run has no epoch event")
    secs = float(epochs[-1]["time"]) - float(started["time"])
    samples = n_train * len(epochs)
    return {"seconds": secs, "samples": samples, "samples_per_s": samples / secs,
            "run_wall": (float(ended["time"]) - float(started["time"])) if ended else secs,
            "status": ended.get("status") if ended else None,
            "final_loss": float(epochs[-1]["train"]["loss"]), "step_events": sum(
                1 for ev in events if ev.get("type") == "step")}


# ---------------------------------------------------------------------------
# Running a program in a pseudo-terminal


def run_in_pty(cmd: list[str], *, size: tuple[int, int] = SIZE, env: dict | None = None,
               timeout: float = 600.0, watch: dict[str, bytes] | None = None,
               replies: dict[str, bytes] | None = None, cwd: str | os.PathLike | None = None) -> dict[str, Any]:
    """Run ``cmd`` with stdin/stdout/stderr on a new pseudo-terminal of ``size``
    (columns, rows), reading (and discarding) all it writes.

    Returns ``t_spawn`` (``time.time()`` just before the process is created),
    ``seen`` (for each ``watch`` name, the wall time its bytes first arrived), ``bytes``
    written, ``rc``, ``cpu`` (the process's user + system seconds, from ``wait4``),
    ``maxrss`` (bytes), ``t_exit`` (the wall time it was seen to end), ``timed_out`` and
    ``tail`` (its last output, for errors).
    ``replies``: bytes to type (write to the terminal) once a ``watch`` marker is seen.
    The process gets its own session; on timeout that group is killed."""
    watch = dict(watch or {})
    replies = dict(replies or {})
    master, slave = pty.openpty()
    cols, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = dict(os.environ if env is None else env)
    env.setdefault("TERM", "xterm-256color")
    env.setdefault("COLORTERM", "truecolor")
    t_spawn = time.time()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    seen: dict[str, float] = {}
    tail = b""
    total = 0
    timed_out = False
    deadline = time.monotonic() + timeout
    status = None
    rusage = None
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.05)
            data = b""
            if ready:
                try:
                    data = os.read(master, 1 << 16)
                except OSError:  # EIO: the terminal's other side is closed
                    data = b""
                if data:
                    now = time.time()
                    total += len(data)
                    window = tail[-64:] + data
                    for name, marker in watch.items():
                        if name not in seen and marker in window:
                            seen[name] = now
                            if name in replies:
                                os.write(master, replies[name])
                    tail = (tail + data)[-16384:]
            if not data:
                pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    status, rusage, t_exit = st, ru, time.time()
                    break
                if ready:  # EOF on the terminal: the process is ending
                    time.sleep(0.01)
            if not timed_out and time.monotonic() > deadline:
                timed_out = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    finally:
        if status is None:
            _pid, status, rusage = os.wait4(proc.pid, 0)
            t_exit = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)
        try:  # what it wrote last, after it ended
            while select.select([master], [], [], 0)[0]:
                data = os.read(master, 1 << 16)
                if not data:
                    break
                total += len(data)
                tail = (tail + data)[-16384:]
        except OSError:
            pass
        os.close(master)
    return {"t_spawn": t_spawn, "seen": seen, "t_exit": t_exit, "bytes": total, "rc": proc.returncode,
            "cpu": rusage.ru_utime + rusage.ru_stime, "maxrss": rusage.ru_maxrss * 1024,
            "timed_out": timed_out, "tail": _plain(tail)}


def _plain(data: bytes) -> str:
    """Terminal output as text, escape sequences removed (for error messages)."""
    import re

    text = data.decode("utf-8", "replace")
    text = re.sub(r"\x1b\][^\x07]*\x07|\x1b\[[0-9;?<>=$]*[A-Za-z~]|\x1b[()][A-Z0-9]|\x1b[=>78]", "", text)
    lines = [line.rstrip() for line in text.replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line.strip())[-3000:]


def run_in_pipe(cmd: list[str], *, env: dict | None = None, timeout: float = 600.0) -> dict[str, Any]:
    """The same as :func:`run_in_pty` for a headless child (output to a pipe)."""
    t_spawn = time.time()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        timed_out = False
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline and not timed_out:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        data = out.read()
    return {"t_spawn": t_spawn, "seen": {}, "bytes": len(data), "rc": proc.returncode,
            "cpu": ru.ru_utime + ru.ru_stime, "maxrss": ru.ru_maxrss * 1024, "timed_out": timed_out,
            "tail": _plain(data[-16384:])}


def run_dashboard(cfg: dict[str, Any], *, driver: str = "pty", timeout: float = 600.0,
                  env: dict | None = None) -> dict[str, Any]:
    """Run the dashboard child with ``cfg`` (see :func:`child_main`) and return what it
    recorded, plus ``outside`` (what :func:`run_in_pty` saw from the outside).
    Raises RuntimeError with the child's last output when it fails."""
    with tempfile.TemporaryDirectory(prefix="tuidl-bench-") as tmp:
        cfg = {**cfg, "driver": driver, "out": str(Path(tmp) / "result.json"),
               "timeout": cfg.get("timeout", timeout - 5)}
        cfg_path = Path(tmp) / "config.json"
        cfg_path.write_text(json.dumps(cfg))
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(cfg_path)]
        if driver == "pty":
            outside = run_in_pty(cmd, size=tuple(cfg.get("size", SIZE)), env=env, timeout=timeout,
                                 watch={"first_paint": FIRST_PAINT, "full_frame": FULL_FRAME})
        else:
            outside = run_in_pipe(cmd, env=env, timeout=timeout)
        out = Path(cfg["out"])
        if outside["rc"] != 0 or not out.is_file():
            kill_run(cfg.get("run"))
            why = "timed out" if outside["timed_out"] else f"exit status {outside['rc']}"
            raise RuntimeError(f"the dashboard child failed ({why}); its last output:\n{outside['tail']}")
        rec = json.loads(out.read_text())
    rec["outside"] = outside
    return rec


# ---------------------------------------------------------------------------
# The dashboard child: python bench/dashboard.py --child CONFIG.json


def child_main(cfg_path: str) -> int:
    """Run the real dashboard and record what happens. ``cfg`` keys:

    ``mode``: ``idle`` (show the first frame, linger, quit), ``resources`` (see
    :func:`resources`: idle, then Start, the Training pane shown, then hidden, then the
    memory after LR find, an export and try-model), ``attach`` (follow
    ``run`` from start-up, as ``TuidlApp(preset, attach=run)``), ``replay`` (show the
    Training pane and replay ``run`` at ``speed`` ``replay_after`` seconds after the
    first frame, what ``replay=run`` does on mount) or ``start``
    (press Start: ``launch.start`` from the app, into ``runs_root``);
    ``preset``, ``overrides``; ``driver`` (``pty``: the real terminal driver on the
    terminal we are given; ``headless``); ``size``; ``linger`` (idle: seconds to stay);
    ``press_after`` (start: seconds after the first frame); ``stop_after_first_step``;
    ``settle`` (seconds to stay after the run's end); ``out`` (results JSON);
    ``timeout``; ``profile`` (write a cProfile of the app's run there)."""
    cfg = json.loads(Path(cfg_path).read_text())
    rec: dict[str, Any] = {"t_main": _T_MAIN, "pid": os.getpid(), "cpu_main": cpu_seconds(),
                           "rss_main": rss_bytes(), "torch_before_imports": "torch" in sys.modules}
    from tuidl.core.preset import preset as P
    from tuidl.core.run import rundir as R
    from tuidl.ui.app import TuidlApp

    rec["t_imported"] = time.time()
    rec["cpu_imported"] = cpu_seconds()
    rec["torch_after_imports"] = "torch" in sys.modules
    mode = cfg["mode"]
    preset = P.load(cfg.get("preset") or "spiral", cfg.get("overrides") or [])
    run = R.RunDir(cfg["run"]) if cfg.get("run") else None
    App = _bench_app_class(TuidlApp)
    app = App(preset, rec=rec, cfg=cfg, attach=run if mode == "attach" else None,
              runs_root=cfg.get("runs_root"), telemetry=cfg.get("telemetry", True),
              system_interval=cfg.get("system_interval", 1.0), runs_interval=cfg.get("runs_interval", 2.0),
              warm_trainer=cfg.get("warm_trainer", False),
              defer_panes=True)  # as `tuidl` runs it
    rec["t_app_built"] = time.time()
    profiler = None
    if cfg.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        app.profiler = profiler
        if mode != "replay":  # a replay is profiled from the moment it starts (start-up apart)
            profiler.enable()
    try:
        if cfg.get("driver") == "headless":
            app.run(headless=True, size=tuple(cfg.get("size", SIZE)))
        else:
            app.run()
    finally:
        app.runner.drop_standby()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(cfg["profile"])
    if app.return_code not in (0, None) and not rec.get("error"):
        rec["error"] = f"the app ended with an error (return code {app.return_code})"
    rec["t_exit"] = time.time()
    rec["cpu_exit"] = cpu_seconds()
    rec["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    Path(cfg["out"]).write_text(json.dumps(rec))
    return 0 if not rec.get("error") else 1


def _bench_app_class(TuidlApp):
    """The real app plus a recorder. Textual calls a message handler of every class in
    the MRO, so these handlers run before the app's own and never call ``super()``."""

    class BenchApp(TuidlApp):
        def __init__(self, preset, *, rec: dict, cfg: dict, **kwargs):
            super().__init__(preset, **kwargs)
            self.rec, self.cfg = rec, cfg
            self._finishing = False
            self.profiler = None

        def on_mount(self) -> None:
            self.rec["t_mount"] = time.time()
            self.rec["cpu_timeline"] = []  # (seconds since mount, CPU seconds), twice a second
            self.set_interval(0.5, self._bench_sample_cpu)
            self.call_after_refresh(self._bench_first_frame)
            self.set_timer(float(self.cfg.get("timeout", 600)), self._bench_timeout)

        def _bench_sample_cpu(self) -> None:
            self.rec["cpu_timeline"].append((round(time.time() - self.rec["t_mount"], 2), round(cpu_seconds(), 3)))

        def _bench_timeout(self) -> None:
            self.rec["error"] = "timed out inside the dashboard"
            self._bench_finish()

        def _bench_first_frame(self) -> None:
            rec = self.rec
            rec["t_first_frame"] = time.time()
            rec["cpu_first_frame"] = cpu_seconds()
            rec["rss_first_frame"] = rss_bytes()
            rec["torch_at_first_frame"] = "torch" in sys.modules
            mode = self.cfg["mode"]
            if mode == "idle":
                self._torch_seen_at = None
                self.set_interval(0.1, self._bench_watch_torch)
                self.set_timer(float(self.cfg.get("linger", 1.0)), self._bench_finish)
            elif mode == "replay":
                self.set_timer(float(self.cfg.get("replay_after", 0.0)) or 0.001, self._bench_replay)
            elif mode == "start":
                self.set_timer(float(self.cfg.get("press_after", 0.5)), self._bench_press_start)
            elif mode == "resources":
                self.run_worker(self._bench_resources(), exclusive=False, name="bench resources")
            elif mode == "attach":
                rec["t_follow_start"] = time.time()

        def _bench_replay(self) -> None:
            self.action_show_pane("training")  # where replay=run starts (the charts draw only when shown)
            # the switch restyles and lays out the screen once, and the panes kept back at
            # start-up are mounted: let it settle, then time the replay
            self.set_timer(1.5, self._bench_replay_now)

        def _bench_replay_now(self) -> None:
            from tuidl.core.run.rundir import RunDir

            rec = self.rec
            rec["rss_before_replay"] = rss_bytes()
            rec["t_follow_start"] = time.time()
            rec["cpu_follow_start"] = cpu_seconds()
            if self.profiler is not None:
                self.profiler.enable()
            self.runner.start_replay(RunDir(self.cfg["run"]), float(self.cfg.get("speed", 0.0)))

        def _bench_watch_torch(self) -> None:
            if "torch" in sys.modules and "t_torch_imported" not in self.rec:
                self.rec["t_torch_imported"] = time.time()

        def _bench_press_start(self) -> None:
            rec = self.rec
            rec["t_press"] = time.time()
            rec["cpu_press"] = cpu_seconds()
            standby = self.session.standby
            rec["standby_pid"] = standby.proc.pid if standby is not None and standby.alive() else None
            from tuidl.core.run import launch

            start = launch.start

            def timed_start(*args, **kwargs):
                rec["t_launch_call"] = time.time()
                run = start(*args, **kwargs)
                rec["t_launch_return"] = time.time()
                rec["trainer_pid"] = run.process.pid
                rec["run"] = str(run.path)
                return run

            launch.start = timed_start
            self.action_start()  # what the s key and the Start button do

        async def _bench_resources(self) -> None:
            """Idle, a spiral run on the Training pane, the same run with the charts
            hidden (Model builder pane), each over ``window`` seconds of this process's CPU
            (a second after each switch, to leave the switch itself out); the warm trainer's
            and the trainer's memory; then this process's memory after LR find, a model
            export and try-model (what the user did before the issue's 994 MB)."""
            import asyncio
            import gc

            rec, cfg = self.rec, self.cfg
            window = float(cfg.get("window", 10.0))
            rec["phases"], rec["memory"] = {}, {}

            async def phase(name: str) -> None:
                c0, t0 = cpu_seconds(), time.time()
                await asyncio.sleep(window)
                rec["phases"][name] = {"cpu_pct": round(100.0 * (cpu_seconds() - c0) / (time.time() - t0), 2),
                                       "seconds": round(time.time() - t0, 2)}

            async def until(cond, timeout: float = 120.0) -> bool:
                end = time.time() + timeout
                while not cond():
                    if time.time() > end:
                        return False
                    await asyncio.sleep(0.1)
                return True

            try:
                # the panes mounted late, the warm trainer up, the first runs scan done
                await until(lambda: self.deck.mounted() and self.session.standby is not None and self.panes["runs"].scans > 0)
                await asyncio.sleep(float(cfg.get("settle", 3.0)))
                standby = self.session.standby
                rec["memory"]["warm_trainer"] = memory_of(standby.proc.pid if standby is not None else None)
                rec["memory"]["dashboard_idle"] = memory_of(os.getpid())
                await phase("idle")
                self.action_start()
                await until(lambda: "t_first_epoch_seen" in rec)
                self.action_show_pane("training")
                await asyncio.sleep(1.0)
                await phase("training_shown")
                run = self.session.run
                rec["run"] = str(run.path) if run is not None else None
                rec["memory"]["trainer"] = memory_of(run.process.pid if run is not None and run.process else None)
                self.action_show_pane("builder")
                await asyncio.sleep(1.0)
                await phase("training_hidden")
                rec["events_at_end"] = self.session.events_received
                if run is not None:
                    run.send("stop")
                await until(lambda: not self.session.live)
                await asyncio.sleep(1.0)
                gc.collect()
                rec["memory"]["dashboard_after_run"] = memory_of(os.getpid())
                # LR find: `tuidl lr-find` as its own process (ui/screens/lrfind.py)
                from tuidl.ui.screens.lrfind import LRFindScreen

                screen = LRFindScreen(self.preset)
                await self.push_screen(screen)
                await until(lambda: screen.result is not None or screen.failure is not None, 300.0)
                rec["lr_find_ok"] = screen.result is not None
                screen.dismiss(None)
                await asyncio.sleep(0.5)
                gc.collect()
                rec["memory"]["dashboard_after_lr_find"] = memory_of(os.getpid())
                # a model export: `tuidl export-model` as its own process (the Runs pane's m)
                from tuidl.ui.panes.runs_ops import export_model_process

                if run is not None:
                    code, _out, _err = await asyncio.to_thread(export_model_process, run, "safetensors")
                    rec["export_ok"] = code == 0
                gc.collect()
                rec["memory"]["dashboard_after_export"] = memory_of(os.getpid())
                # try the model (t): the model loads in this process
                self.action_show_pane("training")
                await asyncio.sleep(0.5)
                self.action_try_model()
                await until(lambda: getattr(self.screen, "predictor", None) is not None
                            or getattr(self.screen, "failure", None) is not None, 120.0)
                rec["try_model_ok"] = getattr(self.screen, "predictor", None) is not None
                rec["torch_in_dashboard"] = "torch" in sys.modules
                self.pop_screen()
                await asyncio.sleep(0.5)
                gc.collect()
                rec["memory"]["dashboard_after_try_model"] = memory_of(os.getpid())
            except Exception as e:  # noqa: BLE001 - said in the result
                rec["error"] = f"{type(e).__name__}: {e}"
            self._bench_finish()

        def on_run_events(self, message) -> None:
            rec = self.rec
            now = time.time()
            rec["batches"] = rec.get("batches", 0) + 1
            for ev in message.events:
                kind = ev.get("type") if isinstance(ev, dict) else None
                if kind in ("run_started", "step", "epoch") and f"t_first_{kind}_seen" not in rec:
                    rec[f"t_first_{kind}_seen"] = now
                    rec[f"first_{kind}_time"] = ev.get("time")
                    if kind == "step" and self.cfg.get("stop_after_first_step") and self.session.run is not None:
                        self.session.run.send("stop")
                    if kind == "epoch" and self.cfg.get("stop_after_first_step") and self.session.run is not None:
                        self.session.run.send("stop")  # a preset whose epochs are too short for a step event

        def on_follow_ended(self, message) -> None:
            rec = self.rec
            rec["t_follow_ended"] = time.time()
            rec["follow_status"] = message.status
            # draw what came last now (the charts' own timer would within 0.25 s)
            self.call_after_refresh(self._bench_drawn)

        def _bench_drawn(self) -> None:
            self.panes["training"].redraw_now()
            self.call_after_refresh(self._bench_after_draw)

        def _bench_after_draw(self) -> None:
            rec = self.rec
            rec["t_drawn"] = time.time()
            rec["cpu_drawn"] = cpu_seconds()
            rec["rss_drawn"] = rss_bytes()
            rec["events_received"] = self.session.events_received
            rec["redraws"] = {c.id: c.redraws for c in self.panes["training"].run_charts.charts}
            rec["points"] = {k: len(s) for k, s in self.panes["training"].run_charts.curves.step.items()}
            if self.cfg["mode"] == "resources":  # _bench_resources goes on after the run
                return
            settle = float(self.cfg.get("settle", 0.0))
            if settle > 0:
                self.set_timer(settle, self._bench_settled)
            else:
                self._bench_finish()

        def _bench_settled(self) -> None:
            import gc

            rec = self.rec
            rec["t_settled"] = time.time()
            rec["rss_settled"] = rss_bytes()
            gc.collect()
            rec["rss_after_gc"] = rss_bytes()
            self._bench_finish()

        def _bench_finish(self) -> None:
            if self._finishing:
                return
            self._finishing = True
            self.rec["cpu_end"] = cpu_seconds()
            self.rec["rss_end"] = rss_bytes()
            self.rec["t_end"] = time.time()
            if self.session.follower is not None:
                self.session.follower.stop()
            self.exit(0)

        def bell(self) -> None:  # nobody to ring for
            pass

    return BenchApp


# ---------------------------------------------------------------------------
# The benchmark


def _launch(preset, root: Path, telemetry: bool):
    from tuidl.core.run import launch

    return launch.start(preset, runs_root=root, telemetry=telemetry)


def _wait_trainer(run) -> dict[str, float]:
    """Wait for a trainer this process started; its CPU time from wait4."""
    proc = run.process
    _pid, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"rc": proc.returncode, "cpu": ru.ru_utime + ru.ru_stime}


def unwatched(preset, root: Path, n_train: int, telemetry: bool) -> dict[str, Any]:
    run = _launch(preset, root, telemetry)
    t0 = time.time()
    try:
        trainer = _wait_trainer(run)
    finally:
        kill_run(run.path)
    out = trainer_rate(run_events(run.path), n_train)
    out.update(trainer_cpu=trainer["cpu"], trainer_rc=trainer["rc"], wall=time.time() - t0)
    return out


def watched(preset, root: Path, n_train: int, telemetry: bool, driver: str,
            profile: str | None = None) -> dict[str, Any]:
    run = _launch(preset, root, telemetry)
    try:
        rec = run_dashboard({"mode": "attach", "preset": str(run.preset_path), "run": str(run.path),
                             "system_interval": 1.0, "profile": profile}, driver=driver)
        trainer = _wait_trainer(run)
    finally:
        kill_run(run.path)
    events = run_events(run.path)
    out = trainer_rate(events, n_train)
    t_started = float(next(ev for ev in events if ev["type"] == "run_started")["time"])
    t_ended = float(next(ev for ev in events if ev["type"] == "run_ended")["time"])
    follow_cpu = rec["cpu_drawn"] - rec["cpu_first_frame"]
    window = rec["t_drawn"] - rec["t_first_frame"]
    out.update(
        trainer_cpu=trainer["cpu"], trainer_rc=trainer["rc"],
        dash_cpu_following=follow_cpu,
        dash_cpu_pct_of_run=100.0 * follow_cpu / (t_ended - t_started),
        dash_cpu_pct_of_window=100.0 * follow_cpu / window,
        dash_window=window,
        dash_cpu_startup=rec["cpu_first_frame"],
        dash_cpu_total=rec["outside"]["cpu"],
        dash_first_frame_after_run_started=rec["t_first_frame"] - t_started,
        dash_events=rec.get("events_received"), dash_batches=rec.get("batches"),
        dash_redraws=rec.get("redraws"), dash_lag=rec["t_follow_ended"] - t_ended,
        dash_bytes=rec["outside"]["bytes"],
    )
    return out


def steady_state(root: Path, seconds: float, driver: str) -> dict[str, Any]:
    """The dashboard's own CPU while it follows a run at the trainer's cadence, with no
    trainer competing for the CPU: a synthetic run (bench/memory.py) of ``seconds`` at
    1,000 steps/s, a step event per 250 steps (four a second), a telemetry event a
    second, 10 s epochs, replayed at 1× real time on the Training pane."""
    from memory import synth_run

    steps = int(seconds * 1000)
    run, _n = synth_run(root, steps, 250, 1000.0, max(1, steps // 10_000))
    rec = run_dashboard({"mode": "replay", "preset": str(run.preset_path), "run": str(run.path), "speed": 1.0,
                         "replay_after": 1.0, "system_interval": 1.0}, driver=driver,
                        timeout=seconds * 3 + 60)
    cpu = rec["cpu_drawn"] - rec["cpu_follow_start"]
    wall = rec["t_drawn"] - rec["t_follow_start"]
    return {"cpu_pct": 100.0 * cpu / wall, "cpu": cpu, "wall": wall, "redraws": rec.get("redraws"),
            "events": rec.get("events_received")}


def resources(root: Path, reps: int, window: float, driver: str, epochs: int = 20000) -> dict[str, Any]:
    """What the dashboard costs as ``tuidl`` runs it (warm trainer, system polling every
    second, the Runs pane scanning every 2 s): its CPU idle, following a spiral run with the
    Training pane shown and with it hidden, each over ``window`` seconds, the three within
    the same minute of each repetition; the memory of the warm trainer, of the trainer, and
    of the dashboard after LR find, a model export and try-model. Medians over ``reps``."""
    recs = []
    for rep in range(reps):
        rec = run_dashboard({"mode": "resources", "preset": "spiral", "overrides": [f"train.epochs={epochs}"],
                             "runs_root": str(root), "window": window, "warm_trainer": True,
                             "system_interval": 1.0, "runs_interval": 2.0}, driver=driver, timeout=900)
        kill_run(rec.get("run"))
        if rec.get("error"):
            raise RuntimeError(rec["error"])
        recs.append(rec)
        print(f"  rep {rep + 1}: dashboard CPU "
              + ", ".join(f"{k} {v['cpu_pct']:.1f}%" for k, v in rec["phases"].items())
              + " · memory (RSS/private MB) "
              + ", ".join(f"{k} {v['rss']:.0f}/{v['private']:.0f}" for k, v in rec["memory"].items() if v)
              + f" · torch in the dashboard at the end: {rec.get('torch_in_dashboard')}", flush=True)
    phases = {k: round(median([r["phases"][k]["cpu_pct"] for r in recs]), 2) for k in recs[0]["phases"]}
    memory = {k: {f: round(median([r["memory"][k][f] for r in recs if r["memory"].get(k)]), 1)
                  for f in ("rss", "pss", "private")}
              for k in recs[0]["memory"] if recs[0]["memory"][k]}
    return {"window_s": window, "reps": reps, "cpu_pct": phases, "memory_mb": memory,
            "flows_ok": {k: [r.get(k) for r in recs] for k in ("lr_find_ok", "export_ok", "try_model_ok")},
            "runs": [{"phases": r["phases"], "memory": r["memory"], "events": r.get("events_at_end"),
                      "torch_in_dashboard": r.get("torch_in_dashboard")} for r in recs]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--case", default="mnist1d-cnn", help="a case of bench/throughput.py")
    ap.add_argument("--epochs", type=int, default=30, help="epochs per run")
    ap.add_argument("--samples", type=int, default=40000,
                    help="mnist1d samples (data.params.n_samples): epochs of a few seconds, so the trainer "
                         "reports steps at its usual cadence and a run lasts long enough to watch; 0 = the preset's")
    ap.add_argument("--profile", help="write a cProfile of the first watched dashboard here")
    ap.add_argument("--trainer-env", action="append", default=[], metavar="KEY=VALUE",
                    help="environment for the trainer processes only (e.g. OMP_WAIT_POLICY=PASSIVE): set "
                         "after this process loaded torch, so the plain loop here keeps its own settings")
    ap.add_argument("--steady-seconds", type=float, default=20.0,
                    help="length of the replayed run of the steady-state measurement (0: skip it)")
    ap.add_argument("--driver", choices=("pty", "headless"), default="pty")
    ap.add_argument("--no-telemetry", action="store_true", help="trainer without its telemetry thread")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--resources", action="store_true",
                    help="only the resources measurement (see resources()): dashboard CPU idle / a spiral run "
                         "shown / hidden, memory of the warm trainer and after LR find, export and try-model")
    ap.add_argument("--window", type=float, default=10.0, help="--resources: seconds of each CPU window")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args.child)
    if args.resources:
        info = machine()
        print(f"# {info['date']} · {info['nproc']} × {info['cpu']} · load {info['loadavg']} · resources, "
              f"{args.reps} reps of {args.window:.0f} s windows, driver {args.driver}", flush=True)
        with tempfile.TemporaryDirectory(prefix="tuidl-bench-runs-") as tmp:
            result = {"benchmark": "dashboard-resources", "machine": info,
                      **resources(Path(tmp), args.reps, args.window, args.driver), "machine_after": machine()}
        print("median dashboard CPU, % of one core: "
              + ", ".join(f"{k} {v:.1f}" for k, v in result["cpu_pct"].items()))
        print("median memory, MB (RSS / PSS / private): "
              + "; ".join(f"{k} {v['rss']:.0f} / {v['pss']:.0f} / {v['private']:.0f}"
                          for k, v in result["memory_mb"].items()))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1))
        return 0

    import torch

    import throughput as T
    from tuidl.core.data import data as D
    from tuidl.core.preset import preset as P

    torch.set_num_threads(max(1, torch.get_num_threads()))
    torch.zeros(8).sum()  # OpenMP is up: what follows changes only the children's environment
    for item in args.trainer_env:
        key, _, value = item.partition("=")
        os.environ[key] = value
    preset_name, overrides, factory = T.CASES[args.case]
    overrides = [o for o in overrides if not o.startswith("train.epochs=")]
    overrides = overrides + [f"train.epochs={args.epochs}", "train.device='cpu'"]
    if args.samples and preset_name.startswith("mnist1d"):
        overrides.append(f"data.params.n_samples={args.samples}")
    preset = P.load(preset_name, overrides)
    loaded = D.load(preset, "cpu")
    n_train = len(loaded.train)
    telemetry = not args.no_telemetry
    info = machine()
    print(f"# {info['date']} · {info['nproc']} × {info['cpu']} · load {info['loadavg']} · "
          f"{args.case}, {args.epochs} epochs × {n_train:,} samples, driver {args.driver}, "
          f"telemetry {'on' if telemetry else 'off'}"
          + (f", trainer env {' '.join(args.trainer_env)}" if args.trainer_env else ""), flush=True)
    sides: dict[str, list[dict]] = {"plain": [], "unwatched": [], "watched": []}
    names = list(sides)
    with tempfile.TemporaryDirectory(prefix="tuidl-bench-runs-") as tmp:
        root = Path(tmp)
        for rep in range(args.reps):
            order = names[rep % 3:] + names[:rep % 3]
            for side in order:
                if side == "plain":
                    secs, loss, seen = T.plain_loop(preset, factory, loaded)
                    r = {"seconds": secs, "samples": seen, "samples_per_s": seen / secs, "final_loss": loss}
                elif side == "unwatched":
                    r = unwatched(preset, root, n_train, telemetry)
                else:
                    r = watched(preset, root, n_train, telemetry, args.driver, args.profile if rep == 0 else None)
                sides[side].append(r)
                extra = ""
                if side == "watched":
                    extra = (f"  dashboard CPU {r['dash_cpu_pct_of_run']:.1f}% of the run "
                             f"({r['dash_cpu_following']:.2f} s; start-up {r['dash_cpu_startup']:.2f} s)")
                print(f"  rep {rep + 1} {side:<9} {r['samples_per_s']:>9,.0f} samples/s "
                      f"({r['seconds']:.2f} s){extra}", flush=True)
        steady = []
        if args.steady_seconds > 0:
            for rep in range(args.reps):
                steady.append(steady_state(root, args.steady_seconds, args.driver))
                print(f"  rep {rep + 1} replay at 1× (no trainer): dashboard CPU {steady[-1]['cpu_pct']:.1f}% "
                      f"of {steady[-1]['wall']:.1f} s, chart redraws {steady[-1]['redraws']}", flush=True)
    rate = {k: median([r["samples_per_s"] for r in v]) for k, v in sides.items()}
    # each repetition ran the three sides back to back: their ratios within a repetition
    # see the same drift of this machine's speed (±20 % over seconds)
    per_rep = {f"{a}_vs_{b}": [x["samples_per_s"] / y["samples_per_s"] for x, y in zip(sides[a], sides[b])]
               for a, b in (("watched", "plain"), ("unwatched", "plain"), ("watched", "unwatched"))}
    w = sides["watched"]
    result = {
        "benchmark": "dashboard", "machine": info, "machine_after": machine(), "case": args.case,
        "epochs": args.epochs, "n_train": n_train, "overrides": overrides, "trainer_env": args.trainer_env,
        "driver": args.driver, "telemetry": telemetry,
        "reps": args.reps,
        "samples_per_s": {k: round(v, 1) for k, v in rate.items()},
        "ratio_watched_vs_plain": round(median(per_rep["watched_vs_plain"]), 3),
        "ratio_unwatched_vs_plain": round(median(per_rep["unwatched_vs_plain"]), 3),
        "ratio_watched_vs_unwatched": round(median(per_rep["watched_vs_unwatched"]), 3),
        "ratios_per_rep": {k: [round(x, 3) for x in v] for k, v in per_rep.items()},
        "ratio_of_medians_watched_vs_plain": round(rate["watched"] / rate["plain"], 3),
        "dashboard_cpu_pct_of_run": round(median([r["dash_cpu_pct_of_run"] for r in w]), 2),
        "dashboard_cpu_pct_of_window": round(median([r["dash_cpu_pct_of_window"] for r in w]), 2),
        "dashboard_cpu_following_s": round(median([r["dash_cpu_following"] for r in w]), 3),
        "dashboard_cpu_startup_s": round(median([r["dash_cpu_startup"] for r in w]), 3),
        "dashboard_cpu_total_s": round(median([r["dash_cpu_total"] for r in w]), 3),
        "trainer_cpu_s": {k: round(median([r["trainer_cpu"] for r in sides[k]]), 2) for k in ("unwatched", "watched")},
        "run_wall_s": {k: round(median([r["run_wall"] for r in sides[k]]), 2) for k in ("unwatched", "watched")},
        "runs": {k: [{kk: (round(vv, 4) if isinstance(vv, float) else vv) for kk, vv in r.items()} for r in v]
                 for k, v in sides.items()},
    }
    if steady:
        result["steady_state"] = {"seconds": args.steady_seconds,
                                  "cpu_pct": round(median([r["cpu_pct"] for r in steady]), 2),
                                  "runs": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
                                           for r in steady]}
    result["targets"] = {"watched_vs_plain>=0.93": result["ratio_watched_vs_plain"] >= 0.93,
                         "dashboard_cpu<=10%": result["dashboard_cpu_pct_of_run"] <= 10.0}
    print(f"plain {rate['plain']:>9,.0f}/s  unwatched {rate['unwatched']:>9,.0f}/s "
          f"({result['ratio_unwatched_vs_plain']:.3f}×)"
          f"  watched {rate['watched']:>9,.0f}/s ({result['ratio_watched_vs_plain']:.3f}× plain, "
          f"{result['ratio_watched_vs_unwatched']:.3f}× unwatched)")
    print(f"dashboard CPU while following: {result['dashboard_cpu_pct_of_run']:.1f}% of the run's wall time "
          f"({result['dashboard_cpu_following_s']:.2f} s); start-up {result['dashboard_cpu_startup_s']:.2f} s; "
          f"trainer CPU unwatched {result['trainer_cpu_s']['unwatched']} s, "
          f"watched {result['trainer_cpu_s']['watched']} s")
    if steady:
        print(f"dashboard CPU following a run at the trainer's cadence with no trainer competing (replay at 1×): "
              f"{result['steady_state']['cpu_pct']:.1f}% of one core")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
