"""The system pane: GPUs, the training process's memory, and the host.

Figures come from two places:

* **local polling** — a :class:`tuidl.core.system.telemetry.Sampler` (NVML + psutil) that a
  thread worker runs about once a second while the pane is mounted and on screen;
  used when no run is followed or the followed run's trainer runs on this machine;
* **the run's ``telemetry`` events** (as its :class:`~tuidl.core.run.runview.RunView` took
  them: :meth:`SystemPane.take`) — always for PyTorch's allocator figures (the
  dashboard holds no CUDA context and never imports ``torch.cuda``), and for the GPU and
  host cards when the run is a replay or lives on another machine (its trainer pid is
  not a process here).

A missing figure is shown as ``—`` and the status line says why; the pane never makes
numbers up and never raises out of a poll.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from tuidl.core.numbers import finite
from tuidl.core.remote.client import hosts as remote_hosts
from tuidl.core.run.runview import Applied, RunView, process_figures
from tuidl.core.system.telemetry import (
    GpuSource,
    NvmlSource,
    Sampler,
    cuda_index,
    format_bytes,
    torch_cuda_build,
)
from tuidl.ui.visible import closing, shown
from tuidl.ui.widgets.gauge import BAR, _level, _pct, gauge
from tuidl.ui.widgets.remote_hosts import RemoteHosts

HISTORY = 60  # samples kept per sparkline




def _fixed(value: float | None, unit: str, fmt: str = "{:.0f}") -> str:
    return "—" if value is None else fmt.format(value) + unit


def put(static: Static, content: Content | str) -> None:
    """``static.update`` that skips unchanged content and skips the screen-wide layout
    when the new content still fits on the one line the widget has. A second's poll
    then repaints a few lines instead of laying out the whole screen."""
    if isinstance(content, str):
        content = Content(content)
    if getattr(static, "_tuidl_shown", None) == content:
        return
    static._tuidl_shown = content  # type: ignore[attr-defined]
    region = static.content_region
    fits = bool(region.width) and region.height == 1 and content.cell_length <= region.width
    static.update(content, layout=not fits)


def set_spark(spark: Sparkline, history: deque) -> None:
    """Show ``history`` about one sample per cell while there is room (the widget grows
    with the history, in steps of 10 cells so it is laid out again only every 10 s,
    instead of stretching a few samples over the whole row); when the row is narrower
    than the history, the sparkline takes the row and buckets samples."""
    data = list(history)
    row = spark.parent
    room = HISTORY
    if isinstance(row, Widget) and row.size.width:
        gauge_width = sum(w.outer_size.width for w in row.children if w is not spark)
        room = max(8, row.size.width - gauge_width - 1)
    width = max(1, min(-(-len(data) // 10) * 10, room, HISTORY))
    if spark.styles.width is None or spark.styles.width.value != width:
        spark.styles.width = width
    spark.data = data


def _clock(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else "?"


class GpuCard(Vertical):
    """One GPU: util and memory gauges with sparklines, then temp, power, SM clock."""

    def __init__(self, key: str) -> None:
        super().__init__(classes="card gpu-card")
        self.key = key
        self.util_text = Static(classes="gauge")
        self.util_spark = Sparkline([], classes="spark")
        self.mem_text = Static(classes="gauge")
        self.mem_spark = Sparkline([], classes="spark")
        self.details = Static(classes="details")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield self.util_text
            yield self.util_spark
        with Horizontal(classes="row"):
            yield self.mem_text
            yield self.mem_spark
        yield self.details

    def show(self, gpu: dict, util_hist: deque, mem_hist: deque, stale: bool) -> None:
        name = str(gpu.get("name") or "GPU")
        self.border_title = f"GPU {gpu.get('index', '?')} · {name}"
        self.set_class(stale, "stale")
        util = finite(gpu.get("util"))
        used, total = finite(gpu.get("mem_used")), finite(gpu.get("mem_total"))
        put(self.util_text, gauge("util", None if util is None else util / 100, _pct(util)))
        mem_frac = used / total if used is not None and total else None
        put(self.mem_text, gauge("mem", mem_frac, f"{format_bytes(used)} / {format_bytes(total)}"))
        set_spark(self.util_spark, util_hist)
        set_spark(self.mem_spark, mem_hist)
        temp = finite(gpu.get("temp"))
        power, limit = finite(gpu.get("power")), finite(gpu.get("power_limit"))
        parts: list[Any] = [
            ("temp ", "bold"),
            (_fixed(temp, " °C"), _level(None if temp is None else temp / 100, 0.75, 0.85)),
            ("  power ", "bold"),
            f"{_fixed(power, '')} / {_fixed(limit, ' W')}",
            ("  SM ", "bold"),
            _fixed(finite(gpu.get("sm_clock")), " MHz"),
        ]
        proc_mem = finite(gpu.get("proc_mem"))
        if proc_mem is not None:
            parts += [("  trainer ", "bold"), format_bytes(proc_mem)]
        put(self.details, Content.assemble(*parts))


class SystemPane(Widget):
    """GPU / training-process / host status. See the module docstring."""

    BINDINGS = [Binding("r", "retry", "Retry NVML")]

    DEFAULT_CSS = """
    SystemPane {
        height: 1fr;
        width: 1fr;
    }
    SystemPane > VerticalScroll {
        height: 1fr;
    }
    SystemPane #sys-status {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    SystemPane #sys-status.-problem {
        color: $warning;
        text-style: bold;
    }
    SystemPane .card {
        height: auto;
        border: round $primary;
        border-title-color: $text;
        padding: 0 1;
        margin: 0 0 0 0;
    }
    SystemPane .card.stale {
        border: round $warning;
        opacity: 70%;
    }
    SystemPane .row {
        height: 1;
    }
    SystemPane .gauge {
        width: 46;
        height: 1;
    }
    SystemPane .spark {
        width: 1;
        height: 1;
        margin-left: 1;
    }
    SystemPane .details {
        height: auto;
    }
    SystemPane #gpu-cards {
        height: auto;
    }
    TabPane.-has-focus SystemPane .card {
        border: round $accent;
    }
    """

    def __init__(
        self,
        *,
        source_factory: Callable[[], GpuSource | None] | None = None,
        interval: float | None = 1.0,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.source_factory = source_factory or NvmlSource
        self.interval = interval
        self._sampler: Sampler | None = None
        self._lock = threading.Lock()  # the sampler is used by one thread at a time
        self._polling = False
        self._retry = False
        self._local_torch: tuple[bool, str | None] | None = None
        self.polls = 0  # local samples applied

        # the trainer
        self._explicit_pid: int | None = None
        self._pid_set = False
        self._run_id: str | None = None
        self._run_pid: int | None = None
        self._run_host: str | None = None  # the machine the run's run_started names (newer runs)
        self._run_local = True
        self._run_ended = False
        self._run_device: str | None = None
        self._run_torch_cuda: bool | None = None  # None: not known from the run
        self._torch: dict | None = None
        self._torch_time: float | None = None
        self._saw_telemetry = False
        self._view = RunView()  # for events handed over as such (handle_events)

        # what the cards show
        self._gpus: list[dict] = []
        self._gpus_time: float | None = None
        self._stale = False
        self._host: dict | None = None
        self._proc: dict | None = None
        self._last_proc: dict | None = None  # the trainer's last real reading (shown once it has ended)
        self._problem: str | None = None
        self._sample_time: float | None = None
        self._util_hist: dict[str, deque] = {}
        self._mem_hist: dict[str, deque] = {}
        self._cpu_hist: deque = deque(maxlen=HISTORY)
        self._cards: dict[str, GpuCard] = {}

        self._status = Static(id="sys-status")
        self._gpu_box = Vertical(id="gpu-cards")
        self._train_card = Vertical(classes="card", id="train-card")
        self._torch_text = Static(classes="details")
        self._driver_text = Static(classes="details")
        self._host_card = Vertical(classes="card", id="host-card")
        self._cpu_text = Static(classes="gauge")
        self._cpu_spark = Sparkline([], classes="spark")
        self._ram_text = Static(classes="details")
        self._trainer_text = Static(classes="details")

    # -- layout --------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield self._status
            yield self._gpu_box
            with self._train_card:
                yield self._torch_text
                yield self._driver_text
            with self._host_card:
                with Horizontal(classes="row"):
                    yield self._cpu_text
                    yield self._cpu_spark
                yield self._ram_text
                yield self._trainer_text
            if remote_hosts():  # tuidl --remote: each host's GPUs and figures
                yield RemoteHosts()

    def on_mount(self) -> None:
        if closing(self):
            return
        self._train_card.border_title = "training process"
        self._host_card.border_title = "host"
        self._render_all()
        if self.interval:
            self.set_interval(self.interval, self._tick)
            self.call_after_refresh(self._tick)

    def on_unmount(self) -> None:
        with self._lock:
            if self._sampler is not None:
                self._sampler.close()
                self._sampler = None

    # -- inputs from the app ---------------------------------------------------------
    @property
    def trainer_pid(self) -> int | None:
        """The pid whose CPU, memory and GPU memory the pane measures locally."""
        if self._pid_set:
            return self._explicit_pid
        if self._run_pid and self._run_local and not self._run_ended:
            return self._run_pid
        return None

    @property
    def events_mode(self) -> bool:
        """True when the GPU/host cards come from the run's telemetry events."""
        return not self._pid_set and self._run_id is not None and not self._run_local

    def set_trainer_pid(self, pid: int | None) -> None:
        """Measure this local process (None: none); the cards come from local polling."""
        was_events = self.events_mode
        self._explicit_pid = pid
        self._pid_set = pid is not None
        if was_events and not self.events_mode:
            self._reset_readings()
        self._render_all()

    def clear_run(self) -> None:
        """Forget the followed run (the app follows none now): back to local figures."""
        was_events = self.events_mode
        self._view = RunView()
        self._run_id = self._run_pid = self._run_device = self._run_host = None
        self._run_local, self._run_ended = True, False
        self._run_torch_cuda = None
        self._torch = self._torch_time = None
        self._saw_telemetry = False
        if was_events:
            self._reset_readings()
        self._render_all()

    def handle_events(self, events: list[dict]) -> None:
        """Take a batch of the followed run's events (any types; unknown ones ignored)
        into a RunView of the pane's own, and show them."""
        self.take(self._view.apply(events))

    def take(self, applied: Applied) -> None:
        """Show what a RunView took from a batch of the followed run's events: who the
        trainer is (run_started), its telemetry, and its end."""
        changed = False
        for taken in applied.taken:
            if taken.kind == "run_started":
                self._on_run_started(taken.ev)
            elif taken.kind == "telemetry":
                self._on_telemetry(taken.ev)
            elif taken.kind == "run_ended":
                self._run_ended = True
            else:
                continue
            changed = True
        if changed:  # (a batch of metrics alone changes nothing here)
            self._render_all()

    def _on_run_started(self, ev: dict) -> None:
        run_id = str(ev["run_id"]) if ev.get("run_id") is not None else "?"
        was_events = self.events_mode
        pid = ev.get("pid")
        pid = pid if isinstance(pid, int) and pid > 0 else None
        if self._run_id is not None and run_id != self._run_id:
            # another run: forget the last one's figures (telemetry of this run that
            # came before its run_started is kept)
            self._torch = self._torch_time = None
            self._saw_telemetry = False
        if self._pid_set and pid != self._explicit_pid:
            # a pid set for an earlier run does not describe this one
            self._explicit_pid, self._pid_set = None, False
        self._run_id = run_id
        self._run_ended = False
        self._run_pid = pid
        self._run_host = str(ev["host"]) if ev.get("host") else None
        self._run_local = self._pid_is_local(self._run_pid, finite(ev.get("time")))
        device = ev.get("device")
        self._run_device = str(device) if device else None
        if isinstance(ev.get("torch_cuda"), (str, type(None))) and "torch_cuda" in ev:
            self._run_torch_cuda = ev["torch_cuda"] is not None
        elif cuda_index(self._run_device) is not None:
            self._run_torch_cuda = True
        else:
            self._run_torch_cuda = None
        if was_events or self.events_mode:
            self._reset_readings()

    def _on_telemetry(self, ev: dict) -> None:
        self._saw_telemetry = True
        when = finite(ev.get("time"))
        if "torch" in ev:
            fig = ev.get("torch")
            self._torch = fig if isinstance(fig, dict) else None
            self._torch_time = when
        if "torch_cuda" in ev:
            self._run_torch_cuda = ev.get("torch_cuda") is not None
        if self.events_mode:
            self._ingest(ev, when)

    @staticmethod
    def _pid_is_local(pid: int | None, started: float | None) -> bool:
        """Is ``pid`` the run's trainer on this machine? A process with that pid must
        exist and be older than the run_started event (a replay's pid is gone or reused
        by a younger process; a remote run's pid rarely names an older local one)."""
        if not pid:
            return False
        import psutil

        try:
            created = psutil.Process(pid).create_time()
        except (psutil.Error, OSError):
            return False
        return started is None or created <= started + 2.0

    # -- local polling ---------------------------------------------------------------
    def _should_poll(self) -> bool:
        return not self.events_mode and shown(self)

    def on_show(self) -> None:
        if getattr(self, "_render_pending", True):
            self.call_after_refresh(self._render_all)

    def _tick(self) -> None:
        """Timer: start a sample in a thread worker unless one is still running."""
        if self._polling or not self._should_poll():
            return
        self._polling = True
        self.run_worker(self._poll_thread, thread=True, group="system-poll",
                        exit_on_error=False)

    def _poll_thread(self) -> None:
        try:
            payload = self._collect()
            self.app.call_from_thread(self._apply_local, payload)
        except Exception:
            pass  # the app is closing
        finally:
            self._polling = False

    def _collect(self) -> dict:
        """One local sample (blocking: NVML, psutil). Runs in a worker thread."""
        with self._lock:
            if self._local_torch is None:
                try:
                    self._local_torch = torch_cuda_build()
                except Exception:
                    self._local_torch = (False, None)
            if self._sampler is None:
                try:
                    source = self.source_factory()
                except Exception as err:
                    source = None
                    problem = f"cannot set up the GPU source: {err}"
                else:
                    problem = None
                self._sampler = Sampler(source)
                if problem:
                    self._sampler.problem = problem
            if self._retry:
                self._retry = False
                self._sampler.retry()
            payload = self._sampler.sample(self.trainer_pid)
            payload["time"] = time.time()
            return payload

    def poll(self) -> dict:
        """Sample now, in this thread, and show it (tests drive ticks with this)."""
        payload = self._collect()
        self._apply_local(payload)
        return payload

    def _apply_local(self, payload: dict) -> None:
        if self.events_mode:
            return
        self.polls += 1
        self._ingest(payload, payload.get("time"))
        self._render_all()

    def action_retry(self) -> None:
        """Start NVML again (after it failed) on the next poll, and poll now."""
        self._retry = True
        if not self._polling and not self.events_mode and self.is_mounted:
            self._polling = True
            self.run_worker(self._poll_thread, thread=True, group="system-poll",
                            exit_on_error=False)

    # -- state -------------------------------------------------------------------------
    def _reset_readings(self) -> None:
        self._gpus, self._gpus_time, self._stale = [], None, False
        self._host = self._proc = self._problem = None
        self._sample_time = None
        self._util_hist.clear()
        self._mem_hist.clear()
        self._cpu_hist.clear()

    @staticmethod
    def _key(gpu: dict) -> str:
        return str(gpu.get("uuid") or gpu.get("index"))

    def _ingest(self, payload: dict, when: float | None) -> None:
        gpus = [g for g in payload.get("gpus") or [] if isinstance(g, dict)]
        if gpus:
            self._gpus, self._gpus_time, self._stale = gpus, when, False
            for g in gpus:
                key = self._key(g)
                util = finite(g.get("util"))
                used = finite(g.get("mem_used"))
                if util is not None:
                    self._util_hist.setdefault(key, deque(maxlen=HISTORY)).append(util)
                if used is not None:
                    self._mem_hist.setdefault(key, deque(maxlen=HISTORY)).append(used / (1 << 30))
        elif self._gpus:
            self._stale = True  # keep the last readings and history, marked as old
        host = payload.get("host")
        self._host = host if isinstance(host, dict) else None
        if self._host and finite(self._host.get("cpu")) is not None:
            self._cpu_hist.append(finite(self._host["cpu"]))
        self._proc = process_figures(payload)  # a trainer's proc, or a logged run's process
        if self._proc and not self._proc.get("gone") and finite(self._proc.get("rss")):
            self._last_proc = self._proc
        problem = payload.get("problem")
        self._problem = str(problem) if problem else None
        self._sample_time = when

    # -- rendering -------------------------------------------------------------------
    def problems(self) -> list[str]:
        """What is missing, one sentence each (also shown in the status line)."""
        out: list[str] = []
        if self._problem:
            out += [p.strip() for p in self._problem.split("; ") if p.strip()]
        torch_note = None
        if self._run_torch_cuda is False:
            torch_note = "PyTorch built without CUDA"
        elif self._run_torch_cuda is None and (self._run_id is None or self._run_local):
            if self._local_torch is not None:
                installed, cuda = self._local_torch
                torch_note = ("PyTorch is not installed" if not installed
                              else None if cuda else "PyTorch built without CUDA")
        if torch_note and torch_note not in out:
            out.append(torch_note)
        if self.events_mode and not self._saw_telemetry:
            out.append(self._no_telemetry_reason())
        return out

    def _no_telemetry_reason(self) -> str:
        """Why there are no figures for a run whose trainer is not measured here."""
        trainer = f"the run's trainer (pid {self._run_pid or '?'})"
        hint = "its events carry no telemetry (train with --telemetry to record GPU and host figures)"
        if self._run_host and self._run_host == socket.gethostname():
            return f"{trainer} ran on this machine and has ended; {hint}"
        if self._run_host:
            return f"{trainer} runs on {self._run_host}, not on this machine, and {hint}"
        return f"{trainer} is not running on this machine (it ended, or runs elsewhere), and {hint}"

    def status_text(self) -> str:
        problems = self.problems()
        parts: list[str] = []
        if problems:
            parts.append("; ".join(problems))
            if self._stale and self._gpus:
                parts.append(f"GPU figures are the last readings, from {_clock(self._gpus_time)}")
            elif not self._gpus:
                parts.append("host figures only")
            if not self.events_mode and self._sampler is not None and self._sampler.state == "failed":
                parts.append("r retries")
        else:
            n = len(self._gpus)
            if self._sample_time is None:
                parts.append("waiting for the first sample")
            else:
                parts.append(f"{n} GPU{'s' if n != 1 else ''}")
                if not self.events_mode:
                    parts.append("NVML ok")
        if self.events_mode and self._sample_time is not None:
            machine = (self._host or {}).get("name")
            parts.append(f"from the run's telemetry ({f'{machine}, ' if machine else ''}"
                         f"{_clock(self._sample_time)})")
        return " · ".join(parts)

    def _render_all(self) -> None:
        if not shown(self):  # hidden: keep the readings, draw them when the pane is shown
            self._render_pending = True
            return
        self._render_pending = False
        problem = bool(self.problems())
        self._status.set_class(problem, "-problem")
        put(self._status, ("⚠ " if problem else "") + self.status_text())
        self._render_gpus()
        self._render_training()
        self._render_host()

    def _render_gpus(self) -> None:
        keys = [self._key(g) for g in self._gpus]
        if keys != list(self._cards):
            for card in self._cards.values():
                card.remove()
            self._cards = {k: GpuCard(k) for k in keys}
            if self._cards:
                self._gpu_box.mount_all(self._cards.values())
        for g in self._gpus:
            key = self._key(g)
            self._cards[key].show(
                g,
                self._util_hist.get(key, deque()),
                self._mem_hist.get(key, deque()),
                self._stale,
            )

    def _render_training(self) -> None:
        pid = self.trainer_pid if not self.events_mode else self._run_pid
        title = "training process"
        if pid:
            title += f" · pid {pid}"
        if self._run_device:
            title += f" · {self._run_device}"
        if self._run_ended:
            title += " · ended"
        self._train_card.border_title = title

        if self._run_id is None and not self._pid_set:
            put(self._torch_text, Content.styled("no run followed", "$text-muted"))
        elif self._run_device is not None and cuda_index(self._run_device) is None:
            put(self._torch_text, Content.styled(
                f"the run trains on {self._run_device}: no CUDA memory to show", "$text-muted"))
        elif self._torch:
            t = self._torch
            put(self._torch_text, Content.assemble(
                ("PyTorch ", "bold"),
                f"allocated {format_bytes(finite(t.get('allocated')))} · "
                f"reserved {format_bytes(finite(t.get('reserved')))} · "
                f"peak {format_bytes(finite(t.get('peak')))}",
            ))
        else:
            put(self._torch_text, Content.assemble(
                ("PyTorch ", "bold"),
                ("— (no CUDA memory figures in the run's telemetry events yet)", "$text-muted"),
            ))

        self._driver_text.display = bool(pid)
        if not pid:
            put(self._driver_text, "")
            return
        want = cuda_index(self._run_device)
        held = [g for g in self._gpus if finite(g.get("proc_mem")) is not None]
        held.sort(key=lambda g: 0 if want is not None and self._gpus.index(g) == want else 1)
        if held:
            shown = " · ".join(
                f"{format_bytes(finite(g['proc_mem']))} on GPU {g.get('index')}" for g in held
            )
            put(self._driver_text, Content.assemble(
                ("driver  ", "bold"), shown, ("  (NVML, includes the CUDA context)", "$text-muted")))
        elif self._gpus:
            put(self._driver_text, Content.assemble(
                ("driver  ", "bold"),
                (f"— (NVML lists no memory for pid {pid} on the visible GPUs)", "$text-muted")))
        else:
            put(self._driver_text, Content.assemble(
                ("driver  ", "bold"), ("— (no GPU readings)", "$text-muted")))

    def _render_host(self) -> None:
        host = self._host or {}
        name = host.get("name")
        self._host_card.border_title = "host" + (f" · {name}" if name else "")
        cpu = finite(host.get("cpu"))
        put(self._cpu_text, gauge("CPU", None if cpu is None else cpu / 100, _pct(cpu)))
        set_spark(self._cpu_spark, self._cpu_hist)
        used, total = finite(host.get("ram_used")), finite(host.get("ram_total"))
        frac = used / total if used is not None and total else None
        put(self._ram_text, gauge("RAM", frac, f"{format_bytes(used)} / {format_bytes(total)}"))
        proc = self._proc
        if not proc:
            put(self._trainer_text, Content.assemble(
                ("trainer ", "bold"), ("— (no training process)", "$text-muted")))
        elif proc.get("gone"):
            last = self._last_proc if (self._last_proc or {}).get("pid") == proc.get("pid") else None
            rss = f"; last RSS {format_bytes(finite(last.get('rss')))}" if last else ""
            put(self._trainer_text, Content.assemble(
                ("trainer ", "bold"), (f"— (pid {proc.get('pid')} has ended{rss})", "$text-muted")))
        else:
            put(self._trainer_text, Content.assemble(
                ("trainer ", "bold"),
                f"CPU {_pct(finite(proc.get('cpu')))} · RSS {format_bytes(finite(proc.get('rss')))}",
            ))

    # -- for tests and screenshots -------------------------------------------------------
    def text(self) -> str:
        """The pane's text, card titles included, top to bottom."""
        lines = [str(self._status.visual)]
        for card in self._cards.values():
            lines += [str(card.border_title), str(card.util_text.visual),
                      str(card.mem_text.visual), str(card.details.visual)]
        lines.append(str(self._train_card.border_title))
        lines += [str(self._torch_text.visual), str(self._driver_text.visual)]
        lines.append(str(self._host_card.border_title))
        lines += [str(self._cpu_text.visual), str(self._ram_text.visual),
                  str(self._trainer_text.visual)]
        return "\n".join(lines)
