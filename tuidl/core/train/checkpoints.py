"""Checkpoints: a run's training state (``tuidl.core.train.state.TrainState``) saved so
that it can continue exactly, and the best weights.

A run directory holds two: ``last`` (everything needed to resume: weights, optimizer,
schedule, loss scaler, progress, every random generator, the epoch's metric sums so far:
``TrainState.checkpoint``) and ``best`` (the weights of the best epoch on the monitored metric). They are written
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
import threading
import time
from typing import Any, Callable, Optional

import torch

from tuidl.core.run import events as E
from tuidl.core.run.rundir import RunDir, write_atomic
from tuidl.core.preset.schema import ConfigError
from tuidl.core.train.state import TrainState

CHECKPOINT_INTERVAL_S = 5.0  # epoch-end checkpoints at most this often ($TUIDL_CHECKPOINT_INTERVAL)


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
    """The checkpoints of a run: its training ``state`` saved into ``run``'s directory
    (``emit`` sends the ``checkpoint`` events and notes).

    Rank 0 of a data-parallel run (``dist``) writes them; every rank calls :meth:`save`
    at the same points (a mid-epoch ``last`` checkpoint sums the epoch's metrics over the
    ranks). ``every``: ``train.checkpoint_every``."""

    def __init__(self, state: TrainState, run: RunDir, emit: Callable[..., Any], *, dist: Any = None,
                 device: torch.device | str = "cpu", every: int = 1,
                 before_write: Optional[Callable[[], None]] = None):
        self.state, self.run, self.emit, self.dist, self.device, self.every = state, run, emit, dist, device, every
        self.is_main = dist is None or dist.main
        self.before_write = before_write
        # seconds between epoch-end checkpoint writes ($TUIDL_CHECKPOINT_INTERVAL, default 5)
        self.interval = float(os.environ.get("TUIDL_CHECKPOINT_INTERVAL", CHECKPOINT_INTERVAL_S))
        self.written = {"last": -math.inf, "best": -math.inf}  # when each was last submitted
        self.best_pending = False  # best weights not yet written
        self.kept: tuple[int, int] | None = None  # (epoch, batch) of the last ``last`` checkpoint on disk
        self.writer: CheckpointWriter | None = None

    def restore(self) -> None:
        """Continue from the ``last`` checkpoint (a data-parallel run: rank 0 reads it and
        sends it to every rank; rank 0 carries the epoch's sums so far, each rank adds its own)."""
        path = self.run.checkpoint("last")
        loaded = load_checkpoint(path, self.device) if self.dist is None else self.dist.load(path, load_checkpoint)
        self.state.restore(loaded, epoch_sums=self.is_main)
        self.kept = (self.state.progress.epoch, self.state.progress.batch)

    # -- writing ---------------------------------------------------------------------
    def save(self, kind: str, reason: str) -> None:
        """Write the ``last`` checkpoint (the whole state now) or the ``best`` one (the best
        weights kept in memory), in the background; a ``checkpoint`` event follows."""
        st = self.state
        meter = st.epoch_meter
        if self.dist is not None:  # rank 0 writes; mid-epoch with the epoch's sums so far from every rank
            meter = self.dist.total(meter) if kind == "last" and st.progress.batch else meter
            if not self.is_main:
                return
        path = self.run.checkpoint(kind)
        self.written[kind] = time.monotonic()
        if kind == "last":
            saved = snapshot(st.checkpoint(meter))
        else:
            self.best_pending = False
            saved = st.best_checkpoint()
        info = {"epoch": st.progress.epoch, "kind": kind, "reason": reason,
                "path": str(path.relative_to(self.run.path)), "batch": st.progress.batch}
        if self.writer is None:
            self.writer = CheckpointWriter(self.before_write, self._done, self._failed)
        self.writer.submit(path, saved, info)

    def epoch_end(self, epoch: int, best: bool, final: bool) -> None:
        """Checkpoints at an epoch's end. Short epochs would spend much of their time
        writing files, so the ``last`` and ``best`` files are written at most every
        ``interval`` seconds (and always at the end, at a stop and on request); the best
        weights are kept in memory meanwhile and written when due."""
        now = time.monotonic()
        if best:
            self.state.keep_best(snapshot(self.state.model.state_dict()))
            self.best_pending = True
        if self.best_pending and (final or now - self.written["best"] >= self.interval):
            self.save("best", "epoch")
        if final or (epoch % self.every == 0 and now - self.written["last"] >= self.interval):
            self.save("last", "epoch")

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
        self.emit(E.CHECKPOINT, **info)

    def _failed(self, info: dict, error: OSError) -> None:
        self.emit(E.NOTE, level="error", kind="checkpoint_failed",
                  message=f"could not write the {info['kind']} checkpoint of epoch {info['epoch']} "
                          f"({error.strerror or error}); the previous one is kept")

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
