"""Checkpoints: what a run saves so that it can continue exactly, and the best weights.

A run directory holds two: ``last`` (everything needed to resume: weights, optimizer,
schedule, loss scaler, progress, every random generator, the epoch's metric sums so far)
and ``best`` (the weights of the best epoch on the monitored metric). They are written
by a background thread (:class:`CheckpointWriter`), atomically, at most every
``TUIDL_CHECKPOINT_INTERVAL`` seconds at epoch ends (default 5) and always at the start,
at the end, at a stop and on request; the best weights are kept in memory meanwhile.
A checkpoint loads with ``weights_only=True``: one that needs code to unpickle is refused.

After an exception in the middle of an epoch nothing is written: the weights in memory
may be half-updated, so the last checkpoint is kept as it is (a ``checkpoint_kept`` note
says which one).
"""

from __future__ import annotations

import io
import math
import os
import pickle
import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np
import torch

from tuidl.core.run import events as E
from tuidl.core.run.rundir import write_atomic
from tuidl.core.preset.schema import ConfigError
from tuidl.core.train.meter import Meter

if TYPE_CHECKING:
    from tuidl.core.train.loop import Trainer

CHECKPOINT_INTERVAL_S = 5.0  # epoch-end checkpoints at most this often ($TUIDL_CHECKPOINT_INTERVAL)
STATUS_EVERY_S = 1.0  # the status file is rewritten at most this often during a run
FORMAT = 1


@dataclass
class Progress:
    """Where a run is; saved in every checkpoint so a resumed run continues exactly."""

    epoch: int = 0  # completed epochs
    step: int = 0  # optimizer steps so far
    batch: int = 0  # batches done in the epoch in progress (mid-epoch checkpoint)
    best_value: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0  # epochs without improvement (early stopping)


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


def save_checkpoint(path: os.PathLike, state: dict, before_write: Optional[Callable[[], None]] = None) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    if before_write is not None:
        before_write()  # fault injection: a full disk
    write_atomic(path, buf.getvalue())


def load_checkpoint(path: os.PathLike, device: torch.device | str = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``: a file that needs arbitrary code to
    unpickle is refused."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise ConfigError(f"no checkpoint at {path}") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"refusing checkpoint {path}: it does not load as plain weights "
                          f"(weights_only=True): {first}") from None


def snapshot(obj: Any) -> Any:
    """A CPU copy of a (nested) state, so it can be written while training goes on."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: snapshot(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(snapshot(v) for v in obj)
    return obj


class CheckpointWriter(threading.Thread):
    """Serialises and writes checkpoints off the training thread, in order. A state is
    copied when it is submitted (it is the state of that moment); at most ``depth``
    wait, after which ``submit`` blocks, so memory stays bounded. ``flush`` waits for
    every write; errors go to ``on_error``, successes to ``on_done``."""

    def __init__(self, before_write: Optional[Callable[[], None]], on_done: Callable, on_error: Callable,
                 depth: int = 2):
        super().__init__(name="tuidl-checkpoints", daemon=True)
        self.before_write, self.on_done, self.on_error = before_write, on_done, on_error
        self.jobs: queue.Queue = queue.Queue(maxsize=depth)
        self.start()

    def submit(self, path: os.PathLike, state: dict, info: dict) -> None:
        self.jobs.put((path, state, info))

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                if job is None:
                    return
                path, state, info = job
                try:
                    save_checkpoint(path, state, self.before_write)
                except OSError as e:
                    self.on_error(info, e)
                else:
                    self.on_done(info)
            finally:
                self.jobs.task_done()

    def flush(self) -> None:
        self.jobs.join()

    def close(self) -> None:
        self.jobs.put(None)
        self.join()


class Checkpoints:
    """The checkpoints of ``trainer``'s run, and the files written at each epoch's end.

    Rank 0 of a data-parallel run writes them; every rank calls :meth:`save` at the same
    points (a mid-epoch ``last`` checkpoint sums the epoch's metrics over the ranks)."""

    def __init__(self, trainer: "Trainer", before_write: Optional[Callable[[], None]] = None):
        self.t = trainer
        self.before_write = before_write
        # seconds between epoch-end checkpoint writes ($TUIDL_CHECKPOINT_INTERVAL, default 5)
        self.interval = float(os.environ.get("TUIDL_CHECKPOINT_INTERVAL", CHECKPOINT_INTERVAL_S))
        self.written = {"last": -math.inf, "best": -math.inf}  # when each was last submitted
        self.best_state: dict | None = None  # the best epoch's weights (CPU), kept in memory
        self.best_progress: dict = {}
        self.best_pending = False  # best weights not yet written
        self.status_at = -math.inf
        self.kept: tuple[int, int] | None = None  # (epoch, batch) of the last ``last`` checkpoint on disk
        self.writer: CheckpointWriter | None = None

    # -- the state -------------------------------------------------------------------
    def state(self, epoch_meter: Meter | None = None) -> dict:
        t = self.t
        return {
            "format": FORMAT,
            "model": t.model.state_dict(),
            "optimizer": t.optimizer.state_dict(),
            "schedule": t.schedule.state_dict(),
            "scaler": t.scaler.state_dict(),
            "progress": vars(t.progress).copy(),
            "rng": rng_state(),
            "shuffle": t.shuffle_gen.get_state(),
            "epoch_shuffle": t.epoch_gen_state,
            "epoch_meter": (t.epoch_meter if epoch_meter is None else epoch_meter).state(),
            "best_state": self.best_state,
        }

    def restore(self) -> None:
        """Continue from the ``last`` checkpoint (a data-parallel run: rank 0 reads it and
        sends it to every rank)."""
        t = self.t
        path = t.run_dir.checkpoint("last")
        state = load_checkpoint(path, t.device) if t.dist is None else t.dist.load(path, load_checkpoint)
        t.model.load_state_dict(state["model"])
        t.optimizer.load_state_dict(state["optimizer"])
        t.scaler.load_state_dict(state["scaler"])
        t.progress = Progress(**state["progress"])
        t.schedule.load_state_dict(state["schedule"], t.progress.epoch, t.progress.step)
        set_rng_state(state["rng"])
        t.shuffle_gen.set_state(state["shuffle"])
        t.epoch_gen_state = state["epoch_shuffle"]
        t.epoch_meter.load(state["epoch_meter"])
        if not t.is_main:
            t.epoch_meter.reset()  # rank 0 carries the epoch's sums so far; each rank adds its own
        self.best_state = state.get("best_state")
        self.kept = (t.progress.epoch, t.progress.batch)

    # -- writing ---------------------------------------------------------------------
    def save(self, kind: str, reason: str) -> None:
        """Write the ``last`` checkpoint (the whole state now) or the ``best`` one (the best
        weights kept in memory), in the background; a ``checkpoint`` event follows."""
        t = self.t
        meter = t.epoch_meter
        if t.dist is not None:  # rank 0 writes; mid-epoch with the epoch's sums so far from every rank
            meter = t.dist.total(meter) if kind == "last" and t.progress.batch else meter
            if not t.is_main:
                return
        path = t.run_dir.checkpoint(kind)
        self.written[kind] = time.monotonic()
        if kind == "last":
            state = snapshot(self.state(meter))
        else:
            self.best_pending = False
            state = {"format": FORMAT, "model": self.best_state, "progress": self.best_progress}
        info = {"epoch": t.progress.epoch, "kind": kind, "reason": reason,
                "path": str(path.relative_to(t.run_dir.path)), "batch": t.progress.batch}
        if self.writer is None:
            self.writer = CheckpointWriter(self.before_write, self._done, self._failed)
        self.writer.submit(path, state, info)

    def epoch_end(self, epoch: int, best: bool, final: bool) -> None:
        """Checkpoints and status at an epoch's end. Short epochs would spend much of their
        time writing files, so the ``last`` and ``best`` files are written at most every
        ``interval`` seconds (and always at the end, at a stop and on request); the best
        weights are kept in memory meanwhile and written when due. The status file is
        rewritten at most every STATUS_EVERY_S (durably at the end)."""
        t = self.t
        now = time.monotonic()
        if best:
            self.best_state = snapshot(t.model.state_dict())
            self.best_progress = vars(t.progress).copy()
            self.best_pending = True
        if self.best_pending and (final or now - self.written["best"] >= self.interval):
            self.save("best", "epoch")
        every = t.preset.train.checkpoint_every
        if final or (epoch % every == 0 and now - self.written["last"] >= self.interval):
            self.save("last", "epoch")
        if final or now - self.status_at >= STATUS_EVERY_S:
            self.status_at = now
            t.run_dir.write_status(durable=final, epoch=epoch, best=t.monitor.best(t.progress),
                                   trained_s=round(t.control.trained_seconds(), 3))

    def kept_note(self) -> str:
        """After an exception mid-epoch: which checkpoint a resume continues from (nothing
        is written then: the weights in memory may be half-updated)."""
        self.flush()
        if self.kept is None:
            return "no checkpoint was written before the failure"
        epoch, batch = self.kept
        return f"kept the checkpoint of epoch {epoch}" + (f", batch {batch}" if batch else "")

    def _done(self, info: dict) -> None:
        if info["kind"] == "last":
            self.kept = (info["epoch"], info["batch"])
        self.t.emit(E.CHECKPOINT, **info)

    def _failed(self, info: dict, error: OSError) -> None:
        self.t.note("checkpoint_failed", f"could not write the {info['kind']} checkpoint of epoch {info['epoch']} "
                    f"({error.strerror or error}); the previous one is kept", level="error")

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
