"""The system pane: GPUs, the training process's memory, and the host.

Figures come from two places:

* **local polling** — a :class:`tuidl.core.system.telemetry.Sampler` (NVML + psutil) that a
  thread worker runs about once a second while the pane is mounted and on screen;
  used when no run is followed or the followed run's trainer runs on this machine;
* **the run's ``telemetry`` events** (as its :class:`~tuidl.core.run.runview.RunView` took
  them: :meth:`SystemPane.take`; who the trainer is, its device and PyTorch's figures are
  the view's :class:`~tuidl.core.run.runview.Trainer`) — always for PyTorch's allocator figures (the
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
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from tuidl.core.numbers import finite
from tuidl.core.remote.client import hosts as remote_hosts
from tuidl.core.run.runview import Applied, RunView
from tuidl.core.system.telemetry import (
    GpuSource,
    NvmlSource,
    Sampler,
    torch_cuda_build,
)
from tuidl.ui.visible import closing, shown
from tuidl.ui.widgets.remote_hosts import RemoteHosts
from tuidl.ui.panes.base import PaneInfo
from tuidl.ui.panes.system_cards import HISTORY, GpuCard, HostCard, Readings, TrainingCard, clock, put

__all__ = ["HISTORY", "GpuCard", "SystemPane"]


# SystemPane's stylesheet (its DEFAULT_CSS), apart from its code
SYSTEM_CSS = """
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


class SystemPane(Widget):
    """GPU / training-process / host status. See the module docstring."""

    BINDINGS = [Binding("r", "retry", "Retry NVML")]

    DEFAULT_CSS = SYSTEM_CSS

    PANE = PaneInfo("system", "GPU / system", "System", short=("GPU / system", "System"), takes_events=True)

    @classmethod
    def create(cls, app: Any) -> "SystemPane":
        """The pane, built from the dashboard's options."""
        return cls(source_factory=app.system_source_factory, interval=app.system_interval, id=cls.PANE.widget_id)

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

        # the trainer: the followed run's (as its RunView says), unless the app names a local pid
        self._explicit_pid: int | None = None
        self._pid_set = False
        self._run_local = True  # the run's trainer is a process of this machine (checked at each run_started)
        self.view = RunView()  # the run followed: the app's view (show_run), or the pane's own (handle_events)

        self.readings = Readings()  # what the cards show
        self._cards: dict[str, GpuCard] = {}

        self._status = Static(id="sys-status")
        self._gpu_box = Vertical(id="gpu-cards")
        self._train_card = TrainingCard(classes="card", id="train-card")
        self._host_card = HostCard(classes="card", id="host-card")

    # -- layout --------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield self._status
            yield self._gpu_box
            yield self._train_card
            yield self._host_card
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
        pid = self.view.trainer.pid
        if pid and self._run_local and self.view.ended is None:
            return pid
        return None

    @property
    def events_mode(self) -> bool:
        """True when the GPU/host cards come from the run's telemetry events."""
        return not self._pid_set and self.view.started is not None and not self._run_local

    def set_trainer_pid(self, pid: int | None) -> None:
        """Measure this local process (None: none); the cards come from local polling."""
        was_events = self.events_mode
        self._explicit_pid = pid
        self._pid_set = pid is not None
        if was_events and not self.events_mode:
            self.readings.reset()
        self._render_all()

    def show_run(self, view: RunView) -> None:
        """Follow the run this view is of (the app's: it takes the run's events, and
        :meth:`take` is handed what it took); figures of an earlier run are forgotten."""
        was_events = self.events_mode
        self.view = view
        self._run_local = self._trainer_is_local()
        if was_events or self.events_mode:
            self.readings.reset()
        self._render_all()

    def clear_run(self) -> None:
        """Forget the followed run (the app follows none now): back to local figures."""
        self.show_run(RunView())

    def handle_events(self, events: list[dict]) -> None:
        """Take a batch of the followed run's events (any types; unknown ones ignored)
        into the pane's view, and show them."""
        self.take(self.view.apply(events))

    def take(self, applied: Applied, more: bool = False) -> None:
        """Show what the followed run's RunView took from a batch of its events: who the
        trainer is (run_started), its telemetry, and its end. Telemetry must never take
        the run's view down: a failure here is logged, not raised."""
        try:
            self._take(applied)
        except Exception as e:  # noqa: BLE001
            self.log.error(f"system pane: {e}")

    def _take(self, applied: Applied) -> None:
        changed = False
        for taken in applied.taken:
            if taken.kind == "run_started":
                self._trainer_started()
            elif taken.kind == "telemetry":
                if self.events_mode:  # (the cards' history: one reading per event)
                    self.readings.ingest(taken.ev, finite(taken.ev.get("time")))
            elif taken.kind != "run_ended":
                continue
            changed = True
        if changed:  # (a batch of metrics alone changes nothing here)
            self._render_all()

    def _trainer_started(self) -> None:
        """A trainer started (the run, or a resume of it): measured here when it is a
        process of this machine, else shown from the run's telemetry."""
        was_events = self.events_mode
        if self._pid_set and self.view.trainer.pid != self._explicit_pid:
            # a pid set for an earlier run does not describe this one
            self._explicit_pid, self._pid_set = None, False
        self._run_local = self._trainer_is_local()
        if was_events or self.events_mode:
            self.readings.reset()

    def _trainer_is_local(self) -> bool:
        trainer = self.view.trainer
        return self.view.started is None or self._pid_is_local(trainer.pid, trainer.started)

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
        self.readings.ingest(payload, payload.get("time"))
        self._render_all()

    def action_retry(self) -> None:
        """Start NVML again (after it failed) on the next poll, and poll now."""
        self._retry = True
        if not self._polling and not self.events_mode and self.is_mounted:
            self._polling = True
            self.run_worker(self._poll_thread, thread=True, group="system-poll",
                            exit_on_error=False)

    # -- rendering -------------------------------------------------------------------
    def problems(self) -> list[str]:
        """What is missing, one sentence each (also shown in the status line)."""
        out: list[str] = []
        if self.readings.problem:
            out += [p.strip() for p in self.readings.problem.split("; ") if p.strip()]
        torch_note = None
        torch_cuda = self.view.trainer.torch_cuda
        if torch_cuda is False:
            torch_note = "PyTorch built without CUDA"
        elif torch_cuda is None and (self.view.started is None or self._run_local):
            if self._local_torch is not None:
                installed, cuda = self._local_torch
                torch_note = ("PyTorch is not installed" if not installed
                              else None if cuda else "PyTorch built without CUDA")
        if torch_note and torch_note not in out:
            out.append(torch_note)
        if self.events_mode and self.view.telemetry is None:
            out.append(self._no_telemetry_reason())
        return out

    def _no_telemetry_reason(self) -> str:
        """Why there are no figures for a run whose trainer is not measured here."""
        pid, host = self.view.trainer.pid, self.view.trainer.host
        trainer = f"the run's trainer (pid {pid or '?'})"
        hint = "its events carry no telemetry (train with --telemetry to record GPU and host figures)"
        if host and host == socket.gethostname():
            return f"{trainer} ran on this machine and has ended; {hint}"
        if host:
            return f"{trainer} runs on {host}, not on this machine, and {hint}"
        return f"{trainer} is not running on this machine (it ended, or runs elsewhere), and {hint}"

    def status_text(self) -> str:
        problems = self.problems()
        parts: list[str] = []
        if problems:
            parts.append("; ".join(problems))
            if self.readings.stale and self.readings.gpus:
                parts.append(f"GPU figures are the last readings, from {clock(self.readings.gpus_time)}")
            elif not self.readings.gpus:
                parts.append("host figures only")
            if not self.events_mode and self._sampler is not None and self._sampler.state == "failed":
                parts.append("r retries")
        else:
            n = len(self.readings.gpus)
            if self.readings.sample_time is None:
                parts.append("waiting for the first sample")
            else:
                parts.append(f"{n} GPU{'s' if n != 1 else ''}")
                if not self.events_mode:
                    parts.append("NVML ok")
        if self.events_mode and self.readings.sample_time is not None:
            machine = (self.readings.host or {}).get("name")
            parts.append(f"from the run's telemetry ({f'{machine}, ' if machine else ''}"
                         f"{clock(self.readings.sample_time)})")
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
        keys = [self.readings.key(g) for g in self.readings.gpus]
        if keys != list(self._cards):
            for card in self._cards.values():
                card.remove()
            self._cards = {k: GpuCard(k) for k in keys}
            if self._cards:
                self._gpu_box.mount_all(self._cards.values())
        for g in self.readings.gpus:
            key = self.readings.key(g)
            self._cards[key].show(
                g,
                self.readings.util_hist.get(key, deque()),
                self.readings.mem_hist.get(key, deque()),
                self.readings.stale,
            )

    def _render_training(self) -> None:
        view, trainer = self.view, self.view.trainer
        self._train_card.show(
            pid=self.trainer_pid if not self.events_mode else trainer.pid, device=trainer.device,
            ended=view.ended is not None, followed=view.started is not None or self._pid_set, torch=trainer.torch,
            gpus=self.readings.gpus)

    def _render_host(self) -> None:
        r = self.readings
        self._host_card.show(r.host, r.cpu_hist, r.proc, r.last_proc)

    # -- for tests and screenshots -------------------------------------------------------
    def text(self) -> str:
        """The pane's text, card titles included, top to bottom."""
        lines = [str(self._status.visual)]
        for card in self._cards.values():
            lines += [str(card.border_title), str(card.util_text.visual),
                      str(card.mem_text.visual), str(card.details.visual)]
        lines.append(str(self._train_card.border_title))
        lines += [str(self._train_card.torch_text.visual), str(self._train_card.driver_text.visual)]
        lines.append(str(self._host_card.border_title))
        lines += [str(self._host_card.cpu_text.visual), str(self._host_card.ram_text.visual),
                  str(self._host_card.trainer_text.visual)]
        return "\n".join(lines)
