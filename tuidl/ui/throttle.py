"""Rate limits for work the UI repeats per batch of events (repaints, log writes)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from textual.widget import Widget


class Throttle:
    """Runs ``action`` at most once every ``every`` seconds. A request inside the interval
    is deferred to its end, on a timer of ``widget``: however many requests came in
    between, ``action`` runs once, with the latest state. ``now=True`` runs it at once."""

    def __init__(self, widget: Widget, every: float, action: Callable[[], None]):
        self.widget, self.every, self.action = widget, every, action
        self._last = -math.inf
        self._timer = None

    def __call__(self, now: bool = False) -> None:
        wait = self.every - (time.monotonic() - self._last)
        if now or wait <= 0:
            self.run()
        elif self._timer is None:
            self._timer = self.widget.set_timer(wait, self.run)

    def run(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._last = time.monotonic()
        self.action()
