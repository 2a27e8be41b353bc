"""What a run's training loop asks of the lab: the ``landscape`` and ``adversarial`` control
commands (``Control.requests``), answered at the next step, and the adversarial test at
the end of a completed run with ``train.instruments.adversarial``.

Each computation is left out of the training clock (``Control.pause_clock``), leaves the
weights, the optimizer and the random generators as they were (the training goes on as
if it had not happened), and is sent as its event. One that cannot be made (a regression
model, no test split) or fails sends a warning ``note`` of kind ``lab`` instead: an
instrument never ends a run.

A data-parallel run does not answer the control commands (its ranks step together); its
rank 0 runs the test at the end, as it does the ``test``.
"""

from __future__ import annotations

from typing import Any, Callable

from tuidl.core.run import events as E
from tuidl.core.preset.schema import ConfigError


class RunLab:
    """The lab's one-off instruments in a run: they look at the training ``state``'s model
    (a :class:`~tuidl.core.train.state.TrainState`) on ``subject``'s data and loss,
    out of the training clock of ``control``; ``emit`` sends their events and notes.
    ``cfg``: the preset's ``train.instruments``."""

    def __init__(self, state: Any, subject: Any, control: Any, emit: Callable[..., Any], cfg: Any):
        self.state, self.subject, self.control, self.emit, self.cfg = state, subject, control, emit, cfg

    def answer_requests(self) -> None:
        """Compute what the control folder asked for since the last step, then forget it."""
        with self.control.pause_clock():
            for name in sorted(self.control.requests):
                self.compute(name)
        self.control.requests.clear()

    def at_end(self) -> None:
        """After the ``test`` event of a completed run: the adversarial test, if the preset
        turns it on."""
        if self.cfg.adversarial:
            with self.control.pause_clock():
                self.compute("adversarial")

    def compute(self, name: str) -> None:
        """One instrument on the model as it is now, sent as its event."""
        # imported here: the analyses import torch, which a run has loaded by now
        from tuidl.core.lab.adversarial import adversarial_event
        from tuidl.core.lab.landscape import landscape_event

        model, at = self.state.model, {"epoch": self.state.progress.epoch, "step": self.state.progress.step}
        try:
            if name == "landscape":
                self.emit(E.LANDSCAPE, **landscape_event(model, self.subject, **at))
            else:
                self.emit(E.ADVERSARIAL, **adversarial_event(model, self.subject, self.cfg.adversarial_eps, **at))
        except ConfigError as e:
            self._warn(f"no {name} computed: {e}")
        except Exception as e:  # noqa: BLE001 - an instrument must not end the run it looks at
            self._warn(f"the {name} computation failed: {type(e).__name__}: {e}")

    def _warn(self, message: str) -> None:
        self.emit(E.NOTE, level="warning", kind="lab", message=message)
