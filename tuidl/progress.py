"""Keras-style progress for ``tuidl train``: one line per epoch, and a live bar when
stdout is a terminal. A listener on the trainer's events, which a
:class:`~tuidl.core.run.runview.RunView` takes first."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tuidl.core.numbers import number
from tuidl.core.run.runview import RunView
from tuidl.core.run.units import fmt_duration

METRIC_ORDER = ("loss", "acc", "top5", "mae")


def fmt_metrics(metrics: dict | None, prefix: str = "") -> list[str]:
    if not metrics:
        return []
    out = []
    for key in METRIC_ORDER:
        if key in metrics:
            out.append(f"{prefix}{key}: {number(metrics[key]):.4f}")
    return out


def fmt_rate(rate: float) -> str:
    return f"{rate / 1000:,.1f}k samples/s" if rate >= 10_000 else f"{rate:,.0f} samples/s"


def fmt_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.1f}s"


def bar(done: int, total: int, width: int = 24) -> str:
    total = max(total, 1)
    filled = min(width, int(width * done / total))
    if filled >= width:
        return "[" + "=" * width + "]"
    return "[" + "=" * filled + ">" + "." * (width - filled - 1) + "]"


class ConsoleProgress:
    """Prints a run's events as they come. Where the run stands (epochs, steps) is
    read from a :class:`~tuidl.core.run.runview.RunView` that takes every event first;
    events it finds malformed are not printed."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.view = RunView()
        self._bar_shown = False
        self._epoch_t0 = time.monotonic()

    @property
    def epochs(self) -> int:
        return self.view.progress.epochs

    @property
    def steps(self) -> int:
        return self.view.progress.steps_per_epoch

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self._write("\r\033[K")
            self._bar_shown = False

    def __call__(self, ev: dict) -> None:
        for taken in self.view.apply([ev]).taken:
            show = getattr(self, f"_show_{taken.kind}", None)
            if show is not None:
                show(taken.ev)

    def _show_run_started(self, ev: dict) -> None:
        sizes = ev["data"].get("sizes", {})
        resumed = f", resuming after epoch {ev['resumed_from']}" if ev.get("resumed_from") else ""
        self._write(f"Run {ev['run_id']}: {ev['preset']} on {ev['device']} ({ev['device_name']}, "
                    f"{ev['precision']}){resumed}\n"
                    f"Data {ev['data']['dataset']}: train {sizes.get('train', 0):,}, "
                    f"val {sizes.get('val', 0):,}, test {sizes.get('test', 0):,}; "
                    f"{ev['summary']['total']:,} parameters; loss {ev['loss']}\n")

    def _show_step(self, ev: dict) -> None:
        if not self.live:
            return
        p = self.view.progress
        done, steps = p.epoch_step, self.steps
        rate = ev.get("samples_per_s")  # none on a session's first step
        left = (steps - done) * (time.monotonic() - self._epoch_t0) / max(done, 1)
        metrics = " - ".join(fmt_metrics(ev))
        self._write(f"\r\033[KEpoch {p.epoch}/{self.epochs} {done:>{len(str(steps))}}/{steps} "
                    f"{bar(done, steps)} ETA {left:.0f}s - {metrics}"
                    + (f" - {fmt_rate(number(rate))}" if rate is not None else ""))
        self._bar_shown = True

    def _show_epoch(self, ev: dict) -> None:
        self._clear_bar()
        parts = fmt_metrics(ev.get("train")) + fmt_metrics(ev.get("val"), "val_")
        star = " *" if ev.get("best") else ""
        self._write(f"Epoch {ev['epoch']}/{self.epochs} {bar(1, 1)} {fmt_seconds(number(ev['duration']))} "
                    f"{fmt_rate(number(ev['samples_per_s']))} - " + " - ".join(parts)
                    + f" - lr: {number(ev['lr']):.3g}{star}\n")
        self._epoch_t0 = time.monotonic()

    def _show_note(self, ev: dict) -> None:
        self._clear_bar()
        self._write(f"{ev.get('level', 'info')}: {ev.get('message', '')}\n")

    def _show_control(self, ev: dict) -> None:
        self._clear_bar()
        self._write(f"[{ev.get('action')}]\n")

    def _show_test(self, ev: dict) -> None:
        self._clear_bar()
        self._write("Test: " + " - ".join(fmt_metrics(ev.get("metrics"), "test_")) + "\n")

    def _show_landscape(self, ev: dict) -> None:
        from tuidl.core.lab.text import landscape_summary

        self._clear_bar()
        self._write(landscape_summary(ev) + "\n")

    def _show_adversarial(self, ev: dict) -> None:
        from tuidl.core.lab.text import adversarial_head, adversarial_table

        self._clear_bar()
        self._write("\n".join([adversarial_head(ev), *adversarial_table(ev)]) + "\n")

    def _show_run_ended(self, ev: dict) -> None:
        self._clear_bar()
        self._write(f"Run {ev['status']}: {ev.get('message', '')} ({fmt_duration(number(ev['duration']))})\n")
