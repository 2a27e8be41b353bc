"""What the tests share: an app factory, a host app for one pane, the screen's text
through Textual's public screenshot export, one ``wait_for`` (and its blocking twin
``wait_until``), the CLI run as a user runs it, and factories for the events of
docs/events.md.

Tests in ``unit/``, ``functional/`` and ``e2e/`` import it as ``helpers`` (the tests
folder is on ``sys.path`` through its conftest)."""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from textual.app import App, ComposeResult
from textual.widget import Widget

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.run.events import read_events
from tuidl.ui.messages import PresetEdited

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
SIZE = (120, 40)  # the terminal most app tests run at


# -- presets ------------------------------------------------------------------------------


def tiny_xor(epochs: int = 2, n_samples: int = 300, *more: str) -> P.Preset:
    """The built-in xor preset, small enough to train in a second or two on the CPU
    (``more``: further ``--set`` overrides)."""
    return P.load("xor", [f"train.epochs={epochs}", f"data.params.n_samples={n_samples}", "train.device='cpu'",
                          *more])


# -- apps ---------------------------------------------------------------------------------


def make_app(preset: P.Preset | str | None = None, **kwargs: Any):
    """The real dashboard, quiet: no system polling, no GPU telemetry, no runs scans
    unless a test asks for them. ``preset`` is a Preset or a built-in name (spiral)."""
    from tuidl.ui.app import TuidlApp

    kwargs.setdefault("system_interval", None)
    kwargs.setdefault("runs_interval", None)
    kwargs.setdefault("telemetry", False)
    if preset is None or isinstance(preset, str):
        preset = P.load(preset or "spiral")
    return record(TuidlApp(preset, **kwargs))


def record(app: App) -> App:
    """Keep every notification the app shows in ``app.notes`` (message, title,
    severity; the wrapped ``notify`` is the app's own) and count its bells in
    ``app.bells`` (a headless app has no terminal to ring)."""
    from types import SimpleNamespace

    app.notes = []
    app.bells = 0
    shown = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        app.notes.append(SimpleNamespace(message=str(message), title=str(kwargs.get("title") or ""),
                                         severity=kwargs.get("severity", "information")))
        shown(message, **kwargs)

    def bell() -> None:
        app.bells += 1

    app.notify = notify
    app.bell = bell
    return app


class Host(App):
    """One widget (a pane) alone in an app, with the messages it posts kept in
    ``edits``: ``Host(lambda: DatasetPane(preset, id="dataset"))``."""

    def __init__(self, make: Callable[[], Widget], footer: bool = True) -> None:
        super().__init__()
        self.make = make
        self.footer = footer
        self.edits: list[PresetEdited] = []

    def compose(self) -> ComposeResult:
        from textual.widgets import Footer

        yield self.make()
        if self.footer:
            yield Footer()

    def on_preset_edited(self, message: PresetEdited) -> None:
        self.edits.append(message)


_SVG_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>')


def screen_lines(app: App) -> list[str]:
    """What the terminal shows, one string per row, from Textual's public screenshot
    export (an SVG: one ``<text>`` element per run of one style)."""
    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for m in _SVG_TEXT.finditer(svg):
        rows.setdefault(float(m.group(2)), []).append((float(m.group(1)), html.unescape(m.group(3))))
    return ["".join(t for _, t in sorted(rows[y])).replace("\xa0", " ") for y in sorted(rows)]


def screen_text(app: App) -> str:
    return "\n".join(screen_lines(app))


def text_of(widget: Any, width: int = 200) -> str:
    """What a Static shows, as plain text (Rich renderables rendered)."""
    from rich.console import Console

    console = Console(width=width, record=True, file=open(os.devnull, "w"), color_system=None)
    console.print(widget.content)
    return console.export_text()


# -- waiting ------------------------------------------------------------------------------


def copy_fixture(root: Path, name: str, run_id: str, shift_days: float = 0.0) -> R.RunDir:
    """A recorded run of tests/fixtures/runs under a new id; its times moved by
    ``shift_days`` (so a list of runs has a defined order)."""
    target = root / run_id
    shutil.copytree(FIXTURES / "runs" / name, target)
    run = R.RunDir(target)
    st = run.read_status()
    for key in ("created", "started", "ended", "updated"):
        if key in st:
            st[key] += shift_days * 86400.0
    R.write_json(run.status_path, st)
    return run


OWN_CSV_PRESET = """name = "mycsv"
[data]
dataset = "csv"
params = { path = "mydata.csv", label = "species" }
[[model.layers]]
type = "dense"
units = 8
activation = "relu"
[[model.layers]]
type = "dense"
units = 3
[train]
epochs = 2
device = "cpu"
"""
OWN_IMAGES_PRESET = """name = "myimgs"
[data]
dataset = "image-folder"
params = { path = "imgs", image_size = [8, 8] }
batch_size = 8
[[model.layers]]
type = "flatten"
[[model.layers]]
type = "dense"
units = 2
[train]
epochs = 2
device = "cpu"
"""


def own_project(folder: Path) -> Path:
    """A user's project as docs/presets.md describes it: ``proj/mydata.csv`` (four
    features and a text label column ``species``, with a header), ``proj/imgs/{red,blue}``
    (8×8 PNGs) and the presets ``proj/mycsv.toml`` and ``proj/myimgs.toml``, which name
    their data by paths relative to themselves. Returns ``proj``."""
    import numpy as np
    from PIL import Image

    proj = folder / "proj"
    proj.mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = ["sepal,petal,width,height,species"]
    for i in range(90):
        k = i % 3
        rows.append(",".join(f"{v:.3f}" for v in rng.normal(k, 0.4, 4)) + f",{'abc'[k]}")
    (proj / "mydata.csv").write_text("\n".join(rows) + "\n")
    for name, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
        (proj / "imgs" / name).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(np.array(colour) + rng.normal(0, 30, (8, 8, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(proj / "imgs" / name / f"{i}.png")
    (proj / "mycsv.toml").write_text(OWN_CSV_PRESET)
    (proj / "myimgs.toml").write_text(OWN_IMAGES_PRESET)
    return proj


async def runs_shown(pilot: Any, app: Any):
    """The Runs pane shown (5), listed once and holding the focus; the pane."""
    await pilot.press("5")
    pane = app.panes["runs"]
    await wait_for(pilot, lambda: pane.scans > 0, what="the first listing")
    # the list takes the focus once it is shown; a key before that goes elsewhere, as it would for a user
    await wait_for(pilot, lambda: pane.table.has_focus, what="the list's focus")
    return pane


def diagnosis(run: R.RunDir | None) -> str:
    """What a run directory says, for a timeout's message."""
    if run is None:
        return ""
    events = read_events(run.events_path) if run.events_path.exists() else []
    try:
        err = (run.path / "trainer.err").read_text()[-1500:]
    except OSError:
        err = ""
    return f"\nlast events: {events[-3:]}\nstatus: {run.status()}\ntrainer.err: {err}"


async def wait_for(pilot: Any, condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition",
                   run: R.RunDir | None = None) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds. It
    looks every 50 ms (each look also refreshes the screen: more often costs more CPU
    than it saves waiting), or less often when looking costs (the screen's text): at
    most a third of the time goes to the condition."""
    end = time.monotonic() + timeout
    while True:
        looked = time.monotonic()
        if condition():
            return
        now = time.monotonic()
        if now > end:
            raise AssertionError(f"timed out waiting for {what}{diagnosis(run)}")
        await pilot.pause(max(0.05, 2 * (now - looked)))


def wait_until(condition: Callable[[], Any], timeout: float = 60.0, what: str = "condition",
               run: R.RunDir | None = None) -> None:
    """``wait_for`` without an app: poll until ``condition()`` holds."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}{diagnosis(run)}")
        time.sleep(0.05)


async def settle(pilot: Any, n: int = 3) -> None:
    for _ in range(n):
        await pilot.pause()


# -- processes ----------------------------------------------------------------------------


def tuidl(*args: str, env: dict | None = None, timeout: float = 120, cwd: Path | None = ROOT):
    """``python -m tuidl ARGS`` as a user runs it: its own process, output captured."""
    return subprocess.run([sys.executable, "-m", "tuidl", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``tuidl ARGS`` in this process (``tuidl.cli.main``): the same code, exit status
    and messages as the command, without a new interpreter's start-up. For what must
    be seen from outside (signals, detaching, the real entry point) use :func:`tuidl`."""
    import contextlib
    import io

    from tuidl import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(args))
        except SystemExit as e:  # argparse's own errors (exit 2) and --help (exit 0)
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return subprocess.CompletedProcess(["tuidl", *args], code, out.getvalue(), err.getvalue())


def terminal_session() -> None:
    """``preexec_fn`` for a dashboard started in a pseudo-terminal: the pty (its stdin) is
    its controlling terminal, and SIGHUP does what it does to a program started in a
    terminal. Not what the test runner was left with: under ``nohup pytest`` SIGHUP was
    inherited ignored, and a dashboard sent one did not end."""
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


class PtyReader(threading.Thread):
    """Drains a pseudo-terminal's master side (else the app on the other side blocks
    writing), keeps what it read in ``data``, and notes in ``seen_at`` when ``watch``
    (some bytes, if given) first came."""

    def __init__(self, fd: int, watch: bytes | None = None) -> None:
        super().__init__(daemon=True)
        self.fd, self.watch = fd, watch
        self.data = bytearray()
        self.seen_at: float | None = None

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.data += chunk
            if self.watch and self.seen_at is None and self.watch in self.data[-len(chunk) - len(self.watch):]:
                self.seen_at = time.monotonic()


def end_process(pid: int | None) -> None:
    """Clean-up after a failure: SIGKILL a process this test started, if it still runs."""
    if pid and R.pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- events -------------------------------------------------------------------------------


def of(events: Iterable[dict], kind: str) -> list[dict]:
    return [e for e in events if e.get("type") == kind]


def kinds(run: R.RunDir, kind: str) -> list[dict]:
    """A run directory's events of one type, as written so far."""
    return of(read_events(run.events_path), kind)


def started(epochs: int = 4, steps: int = 10, resumed_from: int = 0, t: float = 100.0, **more: Any) -> dict:
    """A ``run_started`` event for a small spiral classification run."""
    ev = {"type": "run_started", "time": t, "schema": 1, "run_id": "r1", "preset": "spiral",
          "resumed_from": resumed_from, "epochs": epochs, "steps_per_epoch": steps, "batch_size": 8,
          "task": "classification", "loss": "cce", "metrics": ["loss", "acc"], "summary": {"total": 10},
          "device": "cpu", "device_name": "cpu", "precision": "fp32", "pid": 1, "world_size": 1,
          "data": {"dataset": "spiral", "classes": ["negative", "positive"], "input_shape": [2],
                   "sizes": {"train": 80, "val": 20, "test": 20}}}
    ev.update(more)
    return ev


def step(epoch: int, step_: int, epoch_step: int, loss: float = 0.5, t: float = 101.0, **more: Any) -> dict:
    return {"type": "step", "time": t, "epoch": epoch, "step": step_, "epoch_step": epoch_step, "loss": loss,
            "acc": 0.5, "lr": 0.1, "samples_per_s": 80.0, **more}


def epoch(n: int, step_: int, loss: float = 0.4, val_loss: float = 0.45, t: float = 102.0,
          best: bool = False) -> dict:
    return {"type": "epoch", "time": t, "epoch": n, "step": step_, "train": {"loss": loss, "acc": 0.6},
            "val": {"loss": val_loss, "acc": 0.55}, "lr": 0.1, "samples_per_s": 90.0, "duration": 2.0,
            "best": best}


def ended(status: str = "completed", epochs: int = 4, t: float = 110.0) -> dict:
    return {"type": "run_ended", "time": t, "status": status, "message": f"trained {epochs} epochs",
            "epochs_completed": epochs, "best": {"epoch": 2, "monitor": "val_loss", "value": 0.3},
            "test": None, "duration": 9.5}


# -- logged runs (tuidl.init / run.log; /work/tools/LOGGING_CONTRACT.md, docs/events.md) --


def logged_run(root: Path, name: str = "my-script", *, steps: int = 100, metrics: Iterable[str] = ("train/loss",),
               every: dict[str, int] | None = None, config: dict | None = None, summary: dict | None = None,
               source: str = "script", status: str = "completed", t0: float = 1_000_000.0, dt: float = 0.1,
               values: Callable[[str, int], Any] | None = None, output: str | None = None,
               telemetry: dict | None = None, command: list[str] | None = None) -> R.RunDir:
    """A logged run's directory written by hand, exactly as the logging writer writes it
    (the contract: status.json through RunDir, config.json instead of preset.toml,
    events.jsonl through EventWriter): run_started, one ``metrics`` event a step
    (``every``: a name logged only every N steps, say ``{"val/loss": 10}``), a
    ``summary`` event, telemetry with ``process``, run_ended unless ``status`` is live.
    ``values(name, step)`` gives each value (default: a loss falling, an accuracy rising).
    ``output``: a ``tuidl run`` command's output.log."""
    import json
    import math
    import socket

    from tuidl.core.run.events import EventWriter

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    run = R.RunDir(root / R.new_id(name))
    run.path.mkdir()
    (run.path / "control").mkdir()
    config = dict(config or {"lr": 0.001, "batch_size": 32})
    R.write_json(run.path / "config.json", config)
    live = status in R.LIVE
    pid = os.getpid() if live else 999_999
    run.write_status(status="running", pid=pid, host=socket.gethostname(), started=t0, source=source, name=name)
    metrics, every = list(metrics), dict(every or {})

    def default(metric: str, i: int) -> float:
        if "acc" in metric:
            return 1.0 - 0.5 * math.exp(-i / max(1, steps / 4))
        return 2.0 * math.exp(-i / max(1, steps / 4)) + (0.1 if "val" in metric else 0.0)

    values = values or default
    with EventWriter(run.events_path) as w:
        started = {"type": "run_started", "time": t0, "schema": 1, "source": source, "name": name,
                   "project": None, "config": config, "host": socket.gethostname(), "pid": pid,
                   "argv": ["train.py"]}
        if command is not None or source == "command":
            started["command"] = command or ["python", "train.py"]
        w.write(started)
        lines = []
        for i in range(steps):
            logged = {m: values(m, i) for m in metrics if i % every.get(m, 1) == 0}
            lines.append({"type": "metrics", "time": round(t0 + (i + 1) * dt, 4), "step": i, "values": logged})
            if len(lines) >= 1000:
                for ev in lines:
                    w.write(ev)
                lines = []
        for ev in lines:
            w.write(ev)
        t_end = t0 + (steps + 1) * dt
        if telemetry is not False:
            tele = {"type": "telemetry", "time": t_end, "gpus": [], "host": {"cpu": 20.0, "ram_used": 1 << 30,
                                                                            "ram_total": 8 << 30, "name": "host"},
                    "process": {"pid": pid, "cpu_percent": 97.5, "rss_bytes": 512 << 20}, "problem": None}
            tele.update(telemetry or {})
            w.write(tele)
        if summary:
            w.write({"type": "summary", "time": t_end, "values": summary})
        if not live:
            w.write({"type": "run_ended", "time": t_end, "status": status,
                     "message": "" if status == "completed" else "ValueError: boom"})
    if output is not None:
        (run.path / "output.log").write_text(output)
    if not live:
        run.write_status(status=status, ended=t_end, step=steps - 1)
    return run


def live_run(root, name: str = "live") -> R.RunDir:
    """A run directory whose status says it trains in this process (alert tests feed its events)."""
    import socket

    run = R.create(root, name, "")
    run.write_status(status="running", pid=os.getpid(), host=socket.gethostname())
    return run


def append(run: R.RunDir, *evs: dict) -> None:
    """Append events to a run's events file, as its writer would."""
    from tuidl.core.run.events import EventWriter

    with EventWriter(run.events_path) as w:
        for ev in evs:
            w.write(ev)
