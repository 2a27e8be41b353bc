"""What a run's Trainer asks of the lab: the ``landscape`` and ``adversarial`` control
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

from typing import Any

from tuidl.core.run import events as E
from tuidl.core.preset.schema import ConfigError


def answer_requests(t: Any) -> None:
    """Compute what the control folder asked for since the last step, then forget it."""
    with t.control.pause_clock():
        for name in sorted(t.control.requests):
            compute(t, name)
    t.control.requests.clear()


def at_end(t: Any) -> None:
    """After the ``test`` event of a completed run: the adversarial test, if the preset
    turns it on."""
    if t.preset.train.instruments.adversarial:
        with t.control.pause_clock():
            compute(t, "adversarial")


def compute(t: Any, name: str) -> None:
    """One instrument on the trainer's model as it is now, sent as its event."""
    # imported here: the analyses import tuidl.core.train, whose Trainer imports this module
    from tuidl.core.lab.adversarial import adversarial_event
    from tuidl.core.lab.landscape import landscape_event

    try:
        if name == "landscape":
            t.emit(E.LANDSCAPE, **landscape_event(t, epoch=t.progress.epoch, step=t.progress.step))
        else:
            eps = t.preset.train.instruments.adversarial_eps
            t.emit(E.ADVERSARIAL, **adversarial_event(t, eps, epoch=t.progress.epoch, step=t.progress.step))
    except ConfigError as e:
        t.note("lab", f"no {name} computed: {e}", level="warning")
    except Exception as e:  # noqa: BLE001 - an instrument must not end the run it looks at
        t.note("lab", f"the {name} computation failed: {type(e).__name__}: {e}", level="warning")
