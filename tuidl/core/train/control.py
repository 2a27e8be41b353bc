"""Run control: what steers a run from outside while it trains.

* **Signals**: SIGTERM, SIGINT and SIGHUP ask the run to stop (it checkpoints and ends as
  ``stopped``); a second SIGINT while stopping raises ``KeyboardInterrupt``.
* **The control folder** (``RunDir.send``): ``pause``, ``resume``, ``stop``, ``prune``
  (a sweep's: like ``stop``, but the run ends as ``pruned``) and ``checkpoint`` commands, looked at a few times a second (``CONTROL_EVERY_S``) and
  answered with ``control`` events.
* **Instruments** (docs/instruments.md): ``watch_health`` / ``watch_neurons`` keep an
  instrument on for ``WATCH_S`` seconds (a dashboard looking at it sends one every few
  seconds, so a dashboard that went away stops costing anything); ``landscape`` and
  ``adversarial`` ask for one computation, done at the next step (``requests``).
* **The training clock**: time spent paused is not training time. Durations, rates and
  the ETA use :meth:`Control.clock`, which stands still while the run is paused, and the
  run's one duration (``run_ended``'s ``duration``, the status file's ``trained_s``) is
  :meth:`Control.trained_seconds`.

A data-parallel run follows rank 0's control at its syncs (``Dist.sync``), with the same
object on every rank.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import Any, Callable, Iterator

from tuidl.core.run import events as E
from tuidl.core.run.rundir import RunDir

CONTROL_EVERY_S = 0.25  # how often the control folder is looked at
WATCH_S = 15.0  # an instrument a dashboard asked for stays on this long after the last ask


class StopRun(Exception):
    """A stop was asked for (a signal, the control folder, another rank): the run
    checkpoints where it is and ends as ``stopped``."""


class Control:
    def __init__(self, run_dir: RunDir, emit: Callable[..., Any], every_s: float = CONTROL_EVERY_S):
        self.run_dir, self.emit, self.every_s = run_dir, emit, every_s
        self.stop = threading.Event()
        self.stop_reason = ""
        self.pruned = False  # the stop asked for is a sweep's prune
        self.paused = False
        self.checkpoint_now = False  # a checkpoint was asked for and is not written yet
        self.on_checkpoint: Callable[[], None] = lambda: None  # writes it (and clears the request)
        self.paused_s = 0.0  # time spent paused in this session
        self.session_t0 = self.clock()
        self.trained_before = 0.0  # training time of the run's earlier sessions (resumed)
        self.last_poll = 0.0
        self.watched: dict[str, float] = {}  # instrument -> clock() of the last watch_* command
        self.requests: set[str] = set()  # one-off computations asked for: "landscape", "adversarial"

    # -- stopping --------------------------------------------------------------
    def request_stop(self, reason: str = "stop requested") -> None:
        self.stop_reason = reason
        self.stop.set()

    @property
    def stopping(self) -> bool:
        return self.stop.is_set()

    def raise_if_stopped(self) -> None:
        if self.stop.is_set():
            raise StopRun(self.stop_reason)

    @contextlib.contextmanager
    def signals(self, enabled: bool = True) -> Iterator[None]:
        """SIGTERM, SIGINT and SIGHUP (the terminal of a ``tuidl train`` run without nohup
        closed) stop the run cleanly while inside; the old handlers come back after.
        Only the main thread can set handlers: elsewhere, or not ``enabled``, nothing."""
        old: dict = {}
        if enabled and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                old[sig] = signal.signal(sig, self._on_signal)
        try:
            yield
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if self.stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.request_stop(f"{name} received")

    # -- the control folder ------------------------------------------------------
    def poll(self) -> None:
        """Take the control folder's commands and obey them (a checkpoint is only marked
        as asked for: :meth:`tick` or the ranks' sync writes it)."""
        for command in self.run_dir.take_commands():
            if command == "stop":
                self.request_stop("stop requested")
                self.emit(E.CONTROL, action="stop_requested")
            elif command == "prune" and not self.pruned:
                self.pruned = True  # a sweep gave up on this trial: it stops as ``pruned``
                self.request_stop("pruned by the sweep")
                self.emit(E.CONTROL, action="prune_requested")
            elif command == "pause" and not self.paused:
                self.paused = True  # status first: whoever reads the event finds the status already
                self.run_dir.write_status(status="paused", trained_s=round(self.trained_seconds(), 3))
                self.emit(E.CONTROL, action="paused")
            elif command == "resume" and self.paused:
                self.paused = False
                self.run_dir.write_status(status="running", trained_s=round(self.trained_seconds(), 3))
                self.emit(E.CONTROL, action="resumed")
            elif command == "checkpoint":
                self.checkpoint_now = True
                self.emit(E.CONTROL, action="checkpoint_requested")
            elif command.startswith("watch_"):
                self.watched[command[len("watch_"):]] = self.clock()
            elif command in ("landscape", "adversarial"):
                self.requests.add(command)

    def watching(self, instrument: str) -> bool:
        """A dashboard asked for ``instrument`` (``health``, ``neurons``) in the last ``WATCH_S``."""
        asked = self.watched.get(instrument)
        return asked is not None and self.clock() - asked < WATCH_S

    def tick(self, now: float) -> None:
        """After a step of a single-process run (``now``: :meth:`clock`): every
        ``every_s`` (kept across epochs: short ones add up) obey the control folder,
        write a requested checkpoint and wait while paused; then stop if asked to."""
        if now - self.last_poll >= self.every_s:
            self.last_poll = now
            self.poll()
            if self.checkpoint_now:
                self.on_checkpoint()
            if self.paused:
                self.wait_while_paused()
        if self.stop.is_set():
            raise StopRun(self.stop_reason)

    def wait_while_paused(self) -> None:
        with self.pause_clock():
            while self.paused and not self.stop.is_set():
                time.sleep(0.1)
                self.poll()
                if self.checkpoint_now:
                    self.on_checkpoint()

    # -- the training clock ---------------------------------------------------------
    @contextlib.contextmanager
    def pause_clock(self) -> Iterator[None]:
        """The time inside is time paused: :meth:`clock` leaves it out."""
        start = time.monotonic()
        try:
            yield
        finally:
            self.paused_s += time.monotonic() - start

    def clock(self) -> float:
        """Seconds of this session, pauses left out (``time.monotonic`` less the pauses)."""
        return time.monotonic() - self.paused_s

    def start_session(self, resume: bool) -> None:
        """The session's training starts now; a resumed run's earlier sessions count too."""
        self.session_t0 = self.clock()
        if resume:
            self.trained_before = self._earlier_sessions()

    def trained_seconds(self) -> float:
        """The run's training time so far: every session (a resumed run's earlier ones
        too) from its start, pauses left out. The one duration the run reports: its
        run_ended ``duration`` and the status file's ``trained_s`` (``tuidl runs``)."""
        return self.trained_before + self.clock() - self.session_t0

    def _earlier_sessions(self) -> float:
        """Training time of a resumed run before this session: the status file's
        ``trained_s``, or for a run from before it was kept, its sessions' durations."""
        try:
            return max(0.0, float(self.run_dir.read_status()["trained_s"]))
        except (KeyError, TypeError, ValueError):
            pass
        try:
            return sum(float(ev.get("duration") or 0) for ev in E.read_events(self.run_dir.events_path)
                       if ev.get("type") == E.RUN_ENDED)
        except (OSError, TypeError, ValueError):
            return 0.0
