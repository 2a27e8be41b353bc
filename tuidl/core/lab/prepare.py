"""A preset's model, data, loss and optimizer as the Trainer builds them, for the lab's
analyses: the Trainer's own set-up runs (the same seed gives the same weights, split and
batches), but no run is started or written, the caller's preset is not touched, and the
global random generators (and PyTorch's determinism switches) are left as they were."""

from __future__ import annotations

import contextlib
import copy
import tempfile
from typing import Any, Iterator

import torch

from tuidl.core.preset import preset as P
from tuidl.core.run.rundir import RunDir
from tuidl.core.preset.schema import ConfigError
from tuidl.core.train.checkpoints import load_checkpoint
from tuidl.core.train.state import rng_state, set_rng_state
from tuidl.core.train.loop import Trainer


@contextlib.contextmanager
def isolated_rng() -> Iterator[None]:
    """Whatever seeds or draws inside, the global generators (Python, NumPy, PyTorch,
    CUDA) and PyTorch's determinism settings are as before afterwards."""
    state = rng_state()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    benchmark = torch.backends.cudnn.benchmark
    try:
        yield
    finally:
        set_rng_state(state)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.backends.cudnn.benchmark = benchmark


@contextlib.contextmanager
def prepared(preset: P.Preset, *, device: str | None = None, allow_code: tuple[str, ...] = ()) -> Iterator[Trainer]:
    """A :class:`Trainer` of a copy of ``preset`` after its set-up (``model``, ``data``,
    ``loss_fn``, ``optimizer``, ``step``...), never run. Its run directory is a temporary
    folder nothing is written to."""
    with isolated_rng(), tempfile.TemporaryDirectory(prefix="tuidl-lab-") as tmp:
        trainer = Trainer(copy.deepcopy(preset), RunDir(tmp), device=device, handle_signals=False,
                          allow_code=allow_code)
        trainer._setup()  # the Trainer's own set-up: the same model, data and step as a run
        yield trainer


def checkpoint_of(run: RunDir, which: str | None = None, purpose: str = "analyse") -> tuple[str, dict]:
    """``(kind, state)`` of a run's ``best`` or ``last`` checkpoint (``which`` None: the
    best one if written, else the last); a clear error when there is none (``nothing to
    <purpose>``)."""
    kinds = [which] if which else ["best", "last"]
    for kind in kinds:
        path = run.checkpoint(kind)
        if path.is_file():
            return kind, load_checkpoint(path)
    wanted = f"{which} checkpoint" if which else "checkpoint"
    raise ConfigError(f"run {run.id} has no {wanted} yet ({run.checkpoints}/): nothing to {purpose}")


def load_weights(trainer: Trainer, state: dict) -> dict[str, Any]:
    """Put a checkpoint's weights into the trainer's model; ``{epoch, step}`` it was at."""
    try:
        trainer.model.load_state_dict(state["model"])
    except (KeyError, RuntimeError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"the checkpoint does not fit the run's model: {first}") from None
    progress = state.get("progress") or {}
    return {"epoch": int(progress.get("epoch", 0)), "step": int(progress.get("step", 0))}
