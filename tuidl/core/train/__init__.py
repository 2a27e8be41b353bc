"""Training: ``Trainer(preset, run).run()`` trains a preset into its run directory.

The package, one concern a module (read ``loop`` first, top to bottom):

``loop``         the Trainer: set-up, fit (the epochs), one epoch, evaluate, start and end
``state``        the training state the loop owns (model, optimizer, schedule, scaler,
                 progress, shuffle generators, best weights) and the checkpoint dict
``steps``        the training step, put together once at set-up (fp32 / autocast / fp16);
                 the loss and L1 / L2 penalties
``checkpoints``  ``last`` / ``best`` checkpoints of the training state: the writer
                 thread, save and restore; ``load_checkpoint``
``control``      signals, the control folder (pause / resume / stop / checkpoint), the
                 training clock that leaves pauses out
``reporting``    the report window (``step`` events, samples/s) used by one process and by
                 the ranks of a data-parallel run alike; ``epoch`` events
``visuals``      the decision boundary, the test results and samples
``live``         the learning lab's live instruments, on while the preset or a dashboard asks:
``health``       layer health (gradient / weight norms, update ratio, dead units) and its warnings
``neurons``      the neuron view of a 2-D Playground model
``meter``        running metric sums
``optim``        the optimizer and learning-rate schedule
``runtime``      the device, seeding, the standby trainer's warm-up
``custom``       a user's own model class (``model.custom`` with ``--allow-code``)

Fault injection (``tuidl.core.train.faults``) hooks into the step and the checkpoint writes;
data-parallel runs add ``tuidl.core.system.distributed``. The trainer process itself is
``python -m tuidl.core.train.trainer RUN``.
"""

from typing import Any

__all__ = ["Trainer", "load_checkpoint"]


def __getattr__(name: str) -> Any:
    """``Trainer`` and ``load_checkpoint`` are imported when first asked for: a module of
    this package that needs no PyTorch (``control``, which the logging API uses) imports
    without it."""
    if name == "Trainer":
        from tuidl.core.train.loop import Trainer

        return Trainer
    if name == "load_checkpoint":
        from tuidl.core.train.checkpoints import load_checkpoint

        return load_checkpoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
