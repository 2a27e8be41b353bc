"""The monitored metric (``train.early_stopping.monitor``): which epoch is the best so
far, and when early stopping ends the run. The figures live in the run's ``Progress``
(``best_value``, ``best_epoch``, ``bad_epochs``), so a resumed run goes on counting."""

from __future__ import annotations

import math

from tuidl.core.preset import preset as P
from tuidl.core.run.units import higher_is_better
from tuidl.core.train.state import Progress


class Monitor:
    def __init__(self, cfg: P.EarlyStopping, has_val: bool):
        self.cfg = cfg
        self.name = cfg.monitor if has_val else "train_loss"  # without a validation split: the training loss

    def update(self, progress: Progress, epoch: int, train: dict, val: dict | None) -> bool:
        """Is this epoch the best so far? Counts the epochs without improvement."""
        val = val or {}
        value = {"val_loss": val.get("loss"), "val_acc": val.get("acc"), "val_mae": val.get("mae"),
                 "train_loss": train.get("loss")}[self.name]
        best = value is not None and self._improved(value, progress.best_value)
        if best:
            progress.best_value, progress.best_epoch, progress.bad_epochs = value, epoch, 0
        else:
            progress.bad_epochs += 1
        return best

    def _improved(self, value: float, best: float | None) -> bool:
        if best is None or not math.isfinite(best):
            return math.isfinite(value)
        delta = self.cfg.min_delta
        return value > best + delta if higher_is_better(self.name) else value < best - delta

    def stopping(self, progress: Progress) -> bool:
        """Early stopping: no improvement for ``patience`` epochs."""
        return self.cfg.enabled and progress.bad_epochs >= self.cfg.patience

    def best(self, progress: Progress) -> dict | None:
        """The best epoch as ``run_ended``, the status file and ``tuidl runs`` show it."""
        if progress.best_value is None:
            return None
        return {"epoch": progress.best_epoch, "monitor": self.name, "value": progress.best_value}
