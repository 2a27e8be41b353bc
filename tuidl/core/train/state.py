"""A run's training state, as nanoGPT builds its checkpoint dict: what training changes
and a resumed run needs back, in one object the loop owns and hands to the parts that
read or save it (checkpoints, early stopping, the live instruments).

:class:`TrainState` holds the model, the optimizer, the learning-rate schedule, the
loss scaler, the :class:`Progress` (epoch, step, batch, the best epoch so far), the
shuffle generators, the epoch's metric sums so far and the best weights kept in memory;
:meth:`TrainState.checkpoint` is the ``last`` checkpoint's dict and
:meth:`TrainState.restore` puts one back. :class:`Subject` is what set-up fixed and
training does not change: the data, the task, the loss and the seed an instrument
measures the model on.

The random generators of Python, NumPy and PyTorch (:func:`rng_state`) are saved with
the state, so a resumed run draws what the run would have drawn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import torch

from tuidl.core.train.meter import Meter
from tuidl.core.train.optim import Schedule

FORMAT = 1  # the checkpoint format


@dataclass
class Progress:
    """Where a run is; saved in every checkpoint so a resumed run continues exactly."""

    epoch: int = 0  # completed epochs
    step: int = 0  # optimizer steps so far
    batch: int = 0  # batches done in the epoch in progress (mid-epoch checkpoint)
    best_value: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0  # epochs without improvement (early stopping)


@dataclass(frozen=True)
class Subject:
    """What the model is trained on and judged by, fixed at set-up: the data (its
    ``train`` / ``val`` / ``test`` parts), the task (classification or regression), the
    loss kind and function, and the preset's seed."""

    data: Any
    task: str
    loss_kind: str
    loss_fn: Callable
    seed: int


@dataclass
class TrainState:
    """What training changes. The loop owns it; checkpoints save and restore it."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    scaler: Any  # torch.amp.GradScaler
    epoch_meter: Meter  # the metric sums of the epoch in progress
    shuffle: torch.Generator  # the run's shuffle generator, advanced once per epoch
    epoch_shuffle: torch.Tensor = None  # its state at the start of the epoch in progress
    progress: Progress = field(default_factory=Progress)
    best: Optional[dict] = None  # the best epoch's weights (CPU), kept in memory
    best_progress: dict = field(default_factory=dict)  # the progress at the best epoch

    def __post_init__(self) -> None:
        if self.epoch_shuffle is None:
            self.epoch_shuffle = self.shuffle.get_state()

    def checkpoint(self, epoch_meter: Meter | None = None) -> dict:
        """The ``last`` checkpoint's dict (tensors not copied: see ``checkpoints.snapshot``);
        ``epoch_meter`` in place of the state's own (the sums over every rank)."""
        return {
            "format": FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "progress": vars(self.progress).copy(),
            "rng": rng_state(),
            "shuffle": self.shuffle.get_state(),
            "epoch_shuffle": self.epoch_shuffle,
            "epoch_meter": (epoch_meter or self.epoch_meter).state(),
            "best_state": self.best,
        }

    def best_checkpoint(self) -> dict:
        """The ``best`` checkpoint's dict: the best weights and the progress they had."""
        return {"format": FORMAT, "model": self.best, "progress": self.best_progress}

    def keep_best(self, weights: dict) -> None:
        """The weights of this epoch, the best so far (a CPU copy)."""
        self.best = weights
        self.best_progress = vars(self.progress).copy()

    def restore(self, state: dict, epoch_sums: bool = True) -> None:
        """Continue from a ``last`` checkpoint; ``epoch_sums`` False starts the epoch's
        metric sums from zero (a rank of a data-parallel run other than rank 0)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.progress = Progress(**state["progress"])
        self.schedule.load_state_dict(state["schedule"], self.progress.epoch, self.progress.step)
        set_rng_state(state["rng"])
        self.shuffle.set_state(state["shuffle"])
        self.epoch_shuffle = state["epoch_shuffle"]
        self.epoch_meter.load(state["epoch_meter"])
        if not epoch_sums:
            self.epoch_meter.reset()
        self.best = state.get("best_state")


def rng_state() -> dict:
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
