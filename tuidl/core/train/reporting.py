"""What a run reports while it trains: ``step`` events from one report window, and
``epoch`` events.

The report window sums the metrics of the steps since the last ``step`` event (on the
device on an accelerator: nothing is read per step) and is reported at most every
``REPORT_EVERY_S`` (the session's first step at once). Both ways of training use the same
window: a single process reports when the window is due (``Trainer._after_step``); a
data-parallel run reports at each sync of its ranks (``Dist.sync``), after the window
was summed over the ranks. ``samples_per_s`` is over the last ``RATE_WINDOW_S`` seconds of
training (:class:`Rate`).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from tuidl.core.run import events as E
from tuidl.core.train.meter import Meter

REPORT_EVERY_S = 0.25  # step events: at most four a second
RATE_WINDOW_S = 2.0  # samples/s of step events: over the last two seconds of training


class Diverged(Exception):
    """The loss is no longer finite: the run ends as ``diverged``."""


def check_finite(metrics: dict[str, float], where: str) -> None:
    if not math.isfinite(metrics.get("loss", 0.0)):
        raise Diverged(f"the loss became {metrics['loss']} {where}")


class Rate:
    """Samples per second over the last ``window`` seconds of a training clock (one that
    stands still while the run is paused). Reported a few times a second, a rate over one
    report's steps jumps around (the first one also carries the first step's one-off
    costs: 21 samples/s, then 1,527); over a couple of seconds it reads steadily."""

    def __init__(self, window: float = RATE_WINDOW_S) -> None:
        self.window = window
        self.marks: list[tuple[float, int]] = []  # (clock, samples so far), oldest first

    def add(self, t: float, seen: int) -> float | None:
        """Mark ``seen`` samples trained by clock ``t``; the rate since the oldest mark
        still inside the window, or None with a single mark."""
        marks = self.marks
        marks.append((t, seen))
        while len(marks) > 2 and t - marks[1][0] >= self.window:
            marks.pop(0)
        t0, n0 = marks[0]
        return (seen - n0) / (t - t0) if len(marks) > 1 and t > t0 else None


class Report:
    """The report window of a run: the steps since the last ``step`` event.

    ``add`` takes each step's metric row; ``due`` says a step event is due; ``step``
    emits it (and raises :class:`Diverged` if the loss is not finite) and starts a new
    window. ``seen`` counts this process's samples; a data-parallel run passes the
    samples of every rank instead."""

    def __init__(self, emit: Callable[..., Any], window: Meter, every_s: float = REPORT_EVERY_S):
        self.emit, self.window, self.every_s = emit, window, every_s
        self.rate = Rate()
        self.seen = 0  # samples trained in this session, by this process
        self.t = 0.0  # the window's start (training clock)
        self.first = True  # the session's first step is reported at once

    def start_epoch(self, now: float) -> None:
        """A new epoch starts a new window (the last steps of an epoch are reported by its
        ``epoch`` event)."""
        self.window.reset()
        self.t = now

    def add(self, row: Any, n: int) -> None:
        self.window.add_row(row, n)
        self.seen += n

    def due(self, now: float) -> bool:
        return now - self.t >= self.every_s or self.first

    def step(self, now: float, *, epoch: int, step: int, epoch_step: int, lr: float,
             seen: int | None = None) -> None:
        """Emit the window as a ``step`` event and start the next one."""
        self.first = False
        metrics = self.window.read()
        check_finite(metrics, f"at step {step}")
        rate = self.rate.add(now, self.seen if seen is None else seen)
        # the session's first step only starts the rate's window (its time holds one-off costs)
        extra = {} if rate is None else {"samples_per_s": round(rate, 1)}
        self.emit(E.STEP, epoch=epoch, step=step, epoch_step=epoch_step, lr=lr, **extra, **metrics)
        self.window.reset()
        self.t = now

    def epoch(self, *, epoch: int, step: int, train: dict, val: dict | None, lr: float, samples: int,
              seconds: float, best: bool) -> None:
        """The ``epoch`` event: the epoch's metrics, its samples/s and duration (training
        clock, validation included)."""
        self.emit(E.EPOCH, epoch=epoch, step=step, train=train, val=val, lr=lr,
                  samples_per_s=round(samples / max(seconds, 1e-9), 1), duration=round(seconds, 4), best=best)
