"""The System pane's cards: one per GPU (:class:`GpuCard`), the training process
(:class:`TrainingCard`) and the host (:class:`HostCard`); and what they show, the latest
readings with their history (:class:`Readings`), from local polling or the run's
telemetry events."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from tuidl.core.numbers import finite
from tuidl.core.run.runview import process_figures
from tuidl.core.system.telemetry import cuda_index, format_bytes
from tuidl.ui.widgets.gauge import _level, _pct, gauge

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


def clock(t: float | None) -> str:
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


class TrainingCard(Vertical):
    """The training process: its pid, device and end in the title; PyTorch's CUDA
    memory, and what the driver (NVML) says it holds."""

    def __init__(self, *, classes: str, id: str) -> None:
        super().__init__(classes=classes, id=id)
        self.torch_text = Static(classes="details")
        self.driver_text = Static(classes="details")

    def compose(self) -> ComposeResult:
        yield self.torch_text
        yield self.driver_text

    def show(self, *, pid: int | None, device: str | None, ended: bool, followed: bool, torch: dict | None,
             gpus: list[dict]) -> None:
        title = "training process"
        if pid:
            title += f" · pid {pid}"
        if device:
            title += f" · {device}"
        if ended:
            title += " · ended"
        self.border_title = title

        if not followed:
            put(self.torch_text, Content.styled("no run followed", "$text-muted"))
        elif device is not None and cuda_index(device) is None:
            put(self.torch_text, Content.styled(
                f"the run trains on {device}: no CUDA memory to show", "$text-muted"))
        elif torch:
            t = torch
            put(self.torch_text, Content.assemble(
                ("PyTorch ", "bold"),
                f"allocated {format_bytes(finite(t.get('allocated')))} · "
                f"reserved {format_bytes(finite(t.get('reserved')))} · "
                f"peak {format_bytes(finite(t.get('peak')))}",
            ))
        else:
            put(self.torch_text, Content.assemble(
                ("PyTorch ", "bold"),
                ("— (no CUDA memory figures in the run's telemetry events yet)", "$text-muted"),
            ))

        self.driver_text.display = bool(pid)
        if not pid:
            put(self.driver_text, "")
            return
        want = cuda_index(device)
        held = [g for g in gpus if finite(g.get("proc_mem")) is not None]
        held.sort(key=lambda g: 0 if want is not None and gpus.index(g) == want else 1)
        if held:
            shown = " · ".join(
                f"{format_bytes(finite(g['proc_mem']))} on GPU {g.get('index')}" for g in held
            )
            put(self.driver_text, Content.assemble(
                ("driver  ", "bold"), shown, ("  (NVML, includes the CUDA context)", "$text-muted")))
        elif gpus:
            put(self.driver_text, Content.assemble(
                ("driver  ", "bold"),
                (f"— (NVML lists no memory for pid {pid} on the visible GPUs)", "$text-muted")))
        else:
            put(self.driver_text, Content.assemble(
                ("driver  ", "bold"), ("— (no GPU readings)", "$text-muted")))


class HostCard(Vertical):
    """The host: CPU with its sparkline, RAM, and the trainer's CPU and memory."""

    def __init__(self, *, classes: str, id: str) -> None:
        super().__init__(classes=classes, id=id)
        self.cpu_text = Static(classes="gauge")
        self.cpu_spark = Sparkline([], classes="spark")
        self.ram_text = Static(classes="details")
        self.trainer_text = Static(classes="details")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield self.cpu_text
            yield self.cpu_spark
        yield self.ram_text
        yield self.trainer_text

    def show(self, host: dict | None, cpu_hist: deque, proc: dict | None, last_proc: dict | None) -> None:
        host = host or {}
        name = host.get("name")
        self.border_title = "host" + (f" · {name}" if name else "")
        cpu = finite(host.get("cpu"))
        put(self.cpu_text, gauge("CPU", None if cpu is None else cpu / 100, _pct(cpu)))
        set_spark(self.cpu_spark, cpu_hist)
        used, total = finite(host.get("ram_used")), finite(host.get("ram_total"))
        frac = used / total if used is not None and total else None
        put(self.ram_text, gauge("RAM", frac, f"{format_bytes(used)} / {format_bytes(total)}"))
        if not proc:
            put(self.trainer_text, Content.assemble(
                ("trainer ", "bold"), ("— (no training process)", "$text-muted")))
        elif proc.get("gone"):
            last = last_proc if (last_proc or {}).get("pid") == proc.get("pid") else None
            rss = f"; last RSS {format_bytes(finite(last.get('rss')))}" if last else ""
            put(self.trainer_text, Content.assemble(
                ("trainer ", "bold"), (f"— (pid {proc.get('pid')} has ended{rss})", "$text-muted")))
        else:
            put(self.trainer_text, Content.assemble(
                ("trainer ", "bold"),
                f"CPU {_pct(finite(proc.get('cpu')))} · RSS {format_bytes(finite(proc.get('rss')))}",
            ))


class Readings:
    """The latest GPU, host and process figures with their history (sparklines), from
    one sample (local) or one telemetry event (a run measured elsewhere)."""

    def __init__(self) -> None:
        self.gpus: list[dict] = []
        self.gpus_time: float | None = None
        self.stale = False
        self.host: dict | None = None
        self.proc: dict | None = None
        self.last_proc: dict | None = None  # the trainer's last real reading (shown once it has ended)
        self.problem: str | None = None
        self.sample_time: float | None = None
        self.util_hist: dict[str, deque] = {}
        self.mem_hist: dict[str, deque] = {}
        self.cpu_hist: deque = deque(maxlen=HISTORY)

    def reset(self) -> None:
        self.gpus, self.gpus_time, self.stale = [], None, False
        self.host = self.proc = self.problem = None
        self.sample_time = None
        self.util_hist.clear()
        self.mem_hist.clear()
        self.cpu_hist.clear()

    @staticmethod
    def key(gpu: dict) -> str:
        return str(gpu.get("uuid") or gpu.get("index"))

    def ingest(self, payload: dict, when: float | None) -> None:
        gpus = [g for g in payload.get("gpus") or [] if isinstance(g, dict)]
        if gpus:
            self.gpus, self.gpus_time, self.stale = gpus, when, False
            for g in gpus:
                key = self.key(g)
                util = finite(g.get("util"))
                used = finite(g.get("mem_used"))
                if util is not None:
                    self.util_hist.setdefault(key, deque(maxlen=HISTORY)).append(util)
                if used is not None:
                    self.mem_hist.setdefault(key, deque(maxlen=HISTORY)).append(used / (1 << 30))
        elif self.gpus:
            self.stale = True  # keep the last readings and history, marked as old
        host = payload.get("host")
        self.host = host if isinstance(host, dict) else None
        if self.host and finite(self.host.get("cpu")) is not None:
            self.cpu_hist.append(finite(self.host["cpu"]))
        self.proc = process_figures(payload)  # a trainer's proc, or a logged run's process
        if self.proc and not self.proc.get("gone") and finite(self.proc.get("rss")):
            self.last_proc = self.proc
        problem = payload.get("problem")
        self.problem = str(problem) if problem else None
        self.sample_time = when
