"""Any metric of any run as a curve, on the x axis the user asks for (issue 28): what the
Runs pane's comparison overlays, for preset runs and logged runs alike. No UI here.

A run's metrics, from its :class:`~tuidl.core.run.runview.RunView`:

* a preset run: each epoch's figures, ``train_loss``, ``val_loss``, ``val_acc``, ... (one
  point per epoch; x by epoch, by the step the epoch ended at, or by time);
* a logged run: every metric it logged (``train/loss``, ``val/acc``), one point per log.

The x axes (:data:`AXES`): ``step``, ``epoch`` (a logged run's ``epoch`` metric where it logs
one), ``wall`` (the clock time, epoch seconds), ``relative`` (seconds since the run
began), or any other metric of the run, joined by step (``x=lr`` draws the metric against
the learning rate logged at the same steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

AXES = ("step", "epoch", "wall", "relative")


@dataclass
class Curves:
    """One run's metrics: for each, its steps, epochs (NaN where unknown), relative times
    and values as float arrays of the same length; ``t0`` is the run's start (epoch seconds)."""

    t0: float
    metrics: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return sorted(self.metrics)

    def curve(self, metric: str, x: str = "step") -> tuple[np.ndarray, np.ndarray]:
        """(xs, ys) of one metric on axis ``x`` (a name of :data:`AXES` or another metric);
        empty arrays when the run has no such metric or axis. Points whose x is unknown
        are left out."""
        m = self.metrics.get(metric)
        if m is None:
            return np.empty(0), np.empty(0)
        ys = m["value"]
        if x == "step":
            xs = m["step"]
        elif x == "epoch":
            xs = m["epoch"]
            if not np.isfinite(xs).any() and "epoch" in self.metrics:
                xs = _join(self.metrics["epoch"], m["step"])
        elif x == "relative":
            xs = m["time"]
        elif x == "wall":
            xs = m["time"] + self.t0
        else:
            other = self.metrics.get(x)
            if other is None:
                return np.empty(0), np.empty(0)
            xs = _join(other, m["step"])
        keep = np.isfinite(xs)
        return xs[keep], ys[keep]


def _join(other: dict[str, np.ndarray], steps: np.ndarray) -> np.ndarray:
    """``other``'s value at each of ``steps`` (its latest value at or before the step; NaN
    before its first)."""
    o_steps, o_values = other["step"], other["value"]
    if not o_steps.size:
        return np.full(steps.size, np.nan)
    order = np.argsort(o_steps, kind="stable")
    o_steps, o_values = o_steps[order], o_values[order]
    idx = np.searchsorted(o_steps, steps, side="right") - 1
    out = np.where(idx >= 0, o_values[np.clip(idx, 0, None)], np.nan)
    return out.astype(np.float64)


def run_curves(view) -> Curves:
    """Every metric of a run, from its view."""
    started = view.started or {}
    t0 = _float(started.get("time"))
    curves = Curves(t0 if math.isfinite(t0) else 0.0)
    scalars = view.scalars
    for name in scalars.names:
        s = scalars[name]
        steps = np.asarray(s.steps, dtype=np.float64)
        curves.metrics[name] = {"step": steps, "epoch": np.full(steps.size, np.nan),
                                "time": np.asarray(s.times, dtype=np.float64),
                                "value": np.asarray(s.values, dtype=np.float64)}
    if not math.isfinite(t0):
        first = next(iter(view.epochs.values()), {}) if view.epochs else {}
        t0 = _float(first.get("time"))
        curves.t0 = t0 if math.isfinite(t0) else 0.0
    points: dict[str, list[tuple[float, float, float, float]]] = {}
    for epoch in sorted(view.epochs):
        ev = view.epochs[epoch]
        step, t = _float(ev.get("step")), _float(ev.get("time")) - curves.t0
        for split in ("train", "val"):
            values = ev.get(split)
            if isinstance(values, dict):
                for metric, value in values.items():
                    points.setdefault(f"{split}_{metric}", []).append((step, float(epoch), t, _float(value)))
        if ev.get("lr") is not None:
            points.setdefault("lr", []).append((step, float(epoch), t, _float(ev.get("lr"))))
    for name, rows in points.items():
        if name in curves.metrics:
            continue
        a = np.array(rows, dtype=np.float64)
        curves.metrics[name] = {"step": a[:, 0], "epoch": a[:, 1], "time": a[:, 2], "value": a[:, 3]}
    return curves


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
