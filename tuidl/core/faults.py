"""Fault injection, for the reliability tests: ``TUIDL_FAULT`` makes a run fail on
purpose at a chosen point, the same way the real fault would.

``TUIDL_FAULT="oom@5"`` raises CUDA's out-of-memory error at step 5 (on any device),
``"error@5"`` an ordinary exception at step 5, ``"nan@5"`` makes the loss NaN from
step 5 on, ``"diskfull@2"`` makes the 2nd checkpoint write fail with ENOSPC, ``"stop@5"`` acts as
if SIGTERM arrived during step 5, ``"die@5"`` kills the process (SIGKILL) at step 5. Several
can be given, separated by commas. In a data-parallel run ``KIND@N:R`` applies to rank ``R``
only (``"die@5:1"``: rank 1 dies at step 5); without ``:R`` every rank gets it. Unset, every
check is a no-op.
"""

from __future__ import annotations

import errno
import os
import signal
from dataclasses import dataclass, field

KINDS = ("oom", "error", "nan", "diskfull", "stop", "die")


class InjectedFault(RuntimeError):
    """The ``error`` fault: an exception in the middle of an epoch."""


@dataclass
class Faults:
    at: dict[str, int] = field(default_factory=dict)
    nan_now: bool = False
    stop_now: bool = False
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

    def at_step(self, step: int) -> None:
        if not self.at:
            return
        if self.at.get("oom") == step:
            import torch

            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected fault)")
        if self.at.get("error") == step:
            raise InjectedFault(f"injected failure at step {step}")
        if self.at.get("die") == step:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.at.get("stop") == step:
            self.stop_now = True
        if "nan" in self.at and step >= self.at["nan"]:
            self.nan_now = True

    def check(self, kind: str) -> None:
        """Count one occurrence of ``kind`` (e.g. a checkpoint write); fail on the chosen one."""
        if kind not in self.at:
            return
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "diskfull" and self.counts[kind] == self.at[kind]:
            raise OSError(errno.ENOSPC, "No space left on device (injected fault)")
