"""The lab on a run's checkpoint (``tuidl landscape RUN``, ``tuidl adversarial RUN``):
the model and data rebuilt from the run's saved ``preset.toml`` by the Trainer's own
set-up, the weights of its ``best`` or ``last`` checkpoint, the analysis, and the result
kept with the run as ``RUN/lab/<name>.json``: the same object as the event a live run
sends (``docs/events.md``), plus ``checkpoint`` (which one it was computed from)."""

from __future__ import annotations

from typing import Any

from tuidl.core.run import events as E
from tuidl.core.preset import preset as P
from tuidl.core.run.rundir import RunDir
from tuidl.core.lab.adversarial import adversarial_event
from tuidl.core.lab.kept import save
from tuidl.core.lab.landscape import landscape_event
from tuidl.core.lab.prepare import checkpoint_of, load_weights, prepared

KINDS = {"landscape": E.LANDSCAPE, "adversarial": E.ADVERSARIAL}


def analyse(run: RunDir, name: str, *, which: str | None = None, device: str | None = None,
            allow_code: tuple[str, ...] = (), eps: list[float] | None = None, **options: Any) -> dict[str, Any]:
    """``name`` (``landscape`` or ``adversarial``) of the run's ``which`` checkpoint (None:
    the best one if written, else the last) as an event, saved in the run. ``eps`` (the
    adversarial test's; default the preset's ``train.instruments.adversarial_eps``) and
    ``options`` (the landscape's ``steps``, ``span``) go to the analysis."""
    preset = P.load(run.require_preset(f"tuidl {name}"))
    kind, state = checkpoint_of(run, which)
    with prepared(preset, device=device, allow_code=allow_code) as t:
        at = load_weights(t, state)
        if name == "landscape":
            fields = landscape_event(t.model, t.subject, **at, **options)
        else:
            fields = adversarial_event(t.model, t.subject, eps if eps is not None else preset.train.instruments.adversarial_eps, **at)
    ev = E.event(KINDS[name], **fields, checkpoint=kind)
    save(run, name, ev)
    return ev
