"""Fault injection, for the reliability tests: ``TUIDL_FAULT`` makes a run fail on
purpose at a chosen point, the same way the real fault would.

``TUIDL_FAULT="oom@5"`` raises CUDA's out-of-memory error at step 5 (on any device),
``"error@5"`` an ordinary exception at step 5, ``"nan@5"`` makes the loss NaN from
step 5 on, ``"diskfull@2"`` makes the 2nd checkpoint write fail with ENOSPC, ``"stop@5"`` acts as
if SIGTERM arrived during step 5, ``"die@5"`` kills the process (SIGKILL) at step 5. Several
can be given, separated by commas. In a data-parallel run ``KIND@N:R`` applies to rank ``R``
only (``"die@5:1"``: rank 1 dies at step 5); without ``:R`` every rank gets it.

The trainer consults the faults at two defined points, both set up once: the training
step (:meth:`Faults.hook_step` wraps its forward pass and loss) and each checkpoint write
(:meth:`Faults.before_write`). Unset, the step is not wrapped at all and the write check
is a no-op; an injected fault then takes the same path through the trainer as the real
one (an injected exception is reported like any other exception).
"""

from __future__ import annotations

import errno
import os
import signal
from dataclasses import dataclass, field
from typing import Any, Callable

KINDS = ("oom", "error", "nan", "diskfull", "stop", "die")
STEP_KINDS = ("oom", "error", "nan", "stop", "die")  # consulted at the training step


class InjectedFault(RuntimeError):
    """The ``error`` fault: an exception in the middle of an epoch."""


@dataclass
class Faults:
    at: dict[str, int] = field(default_factory=dict)  # kind → the step (or the write) it strikes at
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_env(cls, text: str | None = None) -> "Faults":
        text = os.environ.get("TUIDL_FAULT", "") if text is None else text
        at = {}
        rank = os.environ.get("RANK", "0")  # set by torchrun in a data-parallel run
        for part in filter(None, (p.strip() for p in text.split(","))):
            kind, _, when = part.partition("@")
            when, _, only = when.partition(":")
            if kind not in KINDS or not when.isdigit() or (only and not only.isdigit()):
                raise ValueError(f"TUIDL_FAULT: expected KIND@N or KIND@N:RANK with KIND in {', '.join(KINDS)}, "
                                 f"got {part!r}")
            if only and int(only) != int(rank or 0):
                continue
            at[kind] = int(when)
        return cls(at)

    def hook_step(self, forward_loss: Callable[[Any, Any], tuple[Any, Any]], step_of: Callable[[], int],
                  request_stop: Callable[[str], None]) -> Callable[[Any, Any], tuple[Any, Any]]:
        """The training step's hook: ``forward_loss(x, y) -> (out, loss)``, run with this
        run's step faults (``step_of()``: the number of the step about to run). Without
        any, ``forward_loss`` itself: nothing is added to the step."""
        if not any(kind in self.at for kind in STEP_KINDS):
            return forward_loss
        nan_from = self.at.get("nan")

        def hooked(x: Any, y: Any) -> tuple[Any, Any]:
            step = step_of()
            self.at_step(step, request_stop)
            out, loss = forward_loss(x, y)
            if nan_from is not None and step >= nan_from:
                loss = loss * float("nan")
            return out, loss

        return hooked

    def at_step(self, step: int, request_stop: Callable[[str], None]) -> None:
        """The faults due at the start of ``step``: raise, die, or ask the run to stop (as
        SIGTERM does: the run stops once this step is done)."""
        if self.at.get("oom") == step:
            import torch

            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected fault)")
        if self.at.get("error") == step:
            raise InjectedFault(f"injected failure at step {step}")
        if self.at.get("die") == step:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.at.get("stop") == step:
            request_stop("SIGTERM received (injected)")

    def before_write(self) -> None:
        """Called before each checkpoint write: ``diskfull@N`` fails the N-th."""
        self.check("diskfull")

    def check(self, kind: str) -> None:
        """Count one occurrence of ``kind`` (e.g. a checkpoint write); fail on the chosen one."""
        if kind not in self.at:
            return
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "diskfull" and self.counts[kind] == self.at[kind]:
            raise OSError(errno.ENOSPC, "No space left on device (injected fault)")
