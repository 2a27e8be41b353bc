"""Over- and underfitting, read from a run's epoch curves: the marks the loss chart
draws, each with the one line that explains it.

* **overfit**: the epoch after which the validation loss rises while the training loss
  still falls (the model starts to learn its training set by heart: the gap between the
  two curves is the generalization gap). Marked at the validation loss's minimum once
  the rise has lasted ``RISE_EPOCHS`` epochs and is more than noise (``RISE``).
* **kept**: the epoch whose weights early stopping kept (``restore_best``).
* **underfit**: at the last epoch, both losses still fall clearly: the model has not
  finished learning (more epochs, a larger learning rate or a bigger model help).

Only epoch events are read (:class:`~tuidl.core.run.runview.RunView`); nothing here knows
about a chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

RISE = 0.05  # the validation loss rose by more than this fraction of its minimum
RISE_EPOCHS = 2  # ... for at least this many epochs after it
STILL_FALLING = 0.03  # underfit: both losses fell by more than this fraction over the last epochs
TAIL = 3  # ... the last this many epochs


@dataclass(frozen=True)
class FitMark:
    kind: str  # "overfit", "kept" or "underfit"
    epoch: int
    step: float | None  # the step the epoch ended at (charts drawn by step)
    text: str  # what it means, in one line


def _finite(values: Sequence[float]) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def overfit_epoch(train: Sequence[float], val: Sequence[float]) -> int | None:
    """The index (into both lists, one entry per epoch) after which validation loss
    rises while training loss falls, or None."""
    n = min(len(train), len(val))
    if n < RISE_EPOCHS + 2 or not _finite(train[:n]) or not _finite(val[:n]):
        return None
    best = min(range(n), key=lambda i: val[i])
    after = n - 1 - best
    if best == 0 or after < RISE_EPOCHS:
        return None
    rose = val[n - 1] - val[best] > RISE * abs(val[best]) and all(v >= val[best] for v in val[best + 1:n])
    train_fell = train[n - 1] < train[best]
    return best if rose and train_fell else None


def underfitting(train: Sequence[float], val: Sequence[float] | None) -> bool:
    """Both losses (the training loss alone without a validation split) still fall by
    more than ``STILL_FALLING`` over the last ``TAIL`` epochs."""
    curves = [train] + ([val] if val else [])
    for ys in curves:
        if len(ys) <= TAIL or not _finite(ys[-TAIL - 1:]):
            return False
        before, last = ys[-TAIL - 1], ys[-1]
        if not before > 0 or (before - last) / before <= STILL_FALLING:
            return False
    return True


def fit_marks(view, *, ended: bool | None = None) -> list[FitMark]:
    """The marks of a run (a :class:`RunView`), in epoch order. ``underfit`` only once
    the run has ended (a run in progress is still learning by definition)."""
    epochs = sorted(view.epochs)
    steps = {e: view.epochs[e].get("step") for e in epochs}
    series = view.epoch_series("loss")
    train = series.get("train", ([], []))
    val = series.get("val")
    marks: list[FitMark] = []

    def mark(kind: str, epoch: int, text: str) -> None:
        step = steps.get(epoch)
        marks.append(FitMark(kind, epoch, float(step) if isinstance(step, (int, float)) else None, text))

    if val is not None and train[0] == val[0]:
        i = overfit_epoch(train[1], val[1])
        if i is not None:
            last = len(val[1]) - 1
            mark("overfit", int(val[0][i]),
                 f"epoch {int(val[0][i])}: validation loss starts rising ({val[1][i]:.3g} → {val[1][last]:.3g}) "
                 f"while training loss still falls ({train[1][i]:.3g} → {train[1][last]:.3g}): overfitting — "
                 "try dropout, weight decay or early stopping")
    kept = _kept_epoch(view)
    if kept is not None:
        best = view.best() or {}
        value = best.get("value")
        what = f" (best {best.get('monitor', 'val_loss')} {value:.4g})" if isinstance(value, (int, float)) else ""
        mark("kept", kept, f"epoch {kept}: early stopping kept this epoch's weights{what}; "
                           "the epochs after it did not improve")
    done = view.ended is not None if ended is None else ended
    if done and train[1] and underfitting(train[1], val[1] if val else None):
        last = int(train[0][-1])
        mark("underfit", last, f"epoch {last}: the loss still falls at the end: underfitting — "
                               "train longer, raise the learning rate or make the model bigger")
    return sorted(marks, key=lambda m: (m.epoch, m.kind))


def _kept_epoch(view) -> int | None:
    """The epoch whose weights early stopping restored at the end (its ``restore_best``
    note), or None."""
    if not any(n.get("kind") == "restore_best" for n in view.notes):
        return None
    best = view.best() or {}
    epoch = best.get("epoch", view.best_epoch)
    return int(epoch) if isinstance(epoch, (int, float)) else None
