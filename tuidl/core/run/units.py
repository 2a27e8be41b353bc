"""How a run's numbers read, the same everywhere: ``tuidl runs``, the console progress,
the Runs and Training panes.

* **Duration** of a run: its training time, every session of a resumed run added up,
  time spent paused left out (:func:`run_duration`), written as ``42s``, ``3m07s``,
  ``1h05m`` (:func:`fmt_duration`).
* **Metric values**: a loss or error with four decimals (``0.1220``, ``0.0756``,
  ``0.0060``), tiny or huge ones in three significant digits, accuracies as percentages
  (:func:`fmt_metric`); a best value names what it monitors (:func:`fmt_best`).
"""

from __future__ import annotations

import math
import time
from typing import Any

from tuidl.core.numbers import finite, to_float
from tuidl.core.run.rundir import LIVE

__all__ = ["fmt_best", "fmt_duration", "fmt_metric", "higher_is_better", "run_duration", "run_times"]


def run_times(status: dict, now: float | None = None) -> tuple[float | None, float | None]:
    """(start time, duration) of a run from its status file; a live run's duration runs
    up to ``now``. What ``tuidl runs`` and the Runs pane show."""
    now = time.time() if now is None else now
    started = finite(status.get("started")) or finite(status.get("created"))
    ended = finite(status.get("ended")) or (now if status.get("status") in LIVE else finite(status.get("updated")))
    return started, ((ended - started) if started and ended else None)


def fmt_duration(seconds: float | None) -> str:
    """42s, 3m07s, 1h05m; — when unknown."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def higher_is_better(name: str) -> bool:
    """An accuracy (``acc``, ``val_acc``, ``top5``…: a rate, higher is better), not a loss
    or an error (lower is better)."""
    for prefix in ("val_", "train_", "test_", "val/", "train/", "test/"):
        name = name.removeprefix(prefix)
    return name in ("acc", "top5")


def fmt_metric(name: str, value: Any) -> str:
    """``acc`` 0.953 → "95.3%"; a loss 0.1234 → "0.1234", 0.000123 → "0.000123"."""
    v = to_float(value)
    if not math.isfinite(v):
        return str(value)
    if higher_is_better(name):  # a rate: a percentage
        return f"{100 * v:.1f}%"
    if abs(v) >= 1000 or (v != 0 and abs(v) < 1e-3):
        return f"{v:.3g}"
    return f"{v:.4f}"


def fmt_best(best: Any, sep: str = " ") -> str:
    """A run's best: ``val_loss 0.1220``, ``val_acc 97.5%`` (tables: ``sep="="``); —
    when there is none."""
    if not isinstance(best, dict) or not math.isfinite(to_float(best.get("value"))):
        return "—"
    monitor = str(best.get("monitor", "?"))
    return f"{monitor}{sep}{fmt_metric(monitor, best.get('value'))}"


def run_duration(status: dict, now: float | None = None) -> float | None:
    """A run's training time from its status file: ``trained_s`` (written by the trainer:
    every session, pauses left out), running on to ``now`` while it trains. Runs from
    before ``trained_s`` was kept fall back to their wall time (start to end)."""
    trained = to_float(status.get("trained_s"))
    if not math.isfinite(trained):
        return run_times(status, now)[1]
    if status.get("status") in LIVE and status.get("status") != "paused":
        now = time.time() if now is None else now
        updated = to_float(status.get("updated"))
        if math.isfinite(updated):
            trained += max(0.0, now - updated)
    return trained


def columns(rows: list[tuple]) -> list[str]:
    """Rows of text cells as lines of left-aligned columns, two spaces apart (the tables of
    ``tuidl runs``, ``tuidl sweep``, ``tuidl queue list``)."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
