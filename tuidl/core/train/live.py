"""The learning lab's live instruments in a run: layer health (``health``) and the
neuron view (``neurons``), each computed only while the preset turns it on
(``train.instruments``) or a dashboard watches it (``Control.watching``).

The trainer calls :meth:`LiveInstruments.tick` when a ``step`` event is due (a few
times a second) and :meth:`LiveInstruments.epoch_end` after each epoch (short epochs
see no step event), and :meth:`LiveInstruments.measure` after a step only while
:attr:`LiveInstruments.armed` (a health measurement is under way). With nothing on and nobody watching,
a tick is two look-ups and nothing else runs.

A data-parallel run (``Trainer.dist``) computes neither: its ranks sync at steps rank 0
alone cannot see coming, and the instruments are for learning on one process.
"""

from __future__ import annotations

from typing import Any, Optional

from tuidl.core.train.health import Health
from tuidl.core.train.neurons import Neurons, groups_of


class LiveInstruments:
    """A run's live instruments: ``health`` (None in a data-parallel run) and ``neurons``
    (None where the neuron view does not fit the model or the data)."""

    def __init__(self, trainer: Any):
        t = self.trainer = trainer
        flags = t.preset.train.instruments
        self.flags = {"health": flags.health, "neurons": flags.neurons}
        self.armed = False  # a health measurement is under way (the next step is measured)
        self.health: Optional[Health] = None
        self.neurons: Optional[Neurons] = None
        if t.dist is not None:
            return
        rows = t.resolved.summary.rows
        self.health = Health(t.model, rows, t.emit, t.note, t.schedule.lr)
        groups = None if t.preset.model.custom or not t.boundary.enabled else \
            groups_of(t.model, t.preset.model.layers, rows)
        if groups is not None:
            self.neurons = Neurons(groups, t.model, t.data, t.preset.data.params.features, t.task, t.loss_kind,
                                   t.device, t.emit)

    def wanted(self, instrument: str) -> bool:
        return self.flags[instrument] or self.trainer.control.watching(instrument)

    def tick(self, now: float) -> None:
        """When a step event is due: arm a health measurement of the next step, send the
        neuron view, each when its cadence allows and it is wanted."""
        if self.health is not None and self.health.cadence.due(now) and self.wanted("health"):
            self.health.arm()
            self.armed = self.health.armed
        if self.neurons is not None and self.neurons.cadence.due(now) and self.wanted("neurons"):
            self.neurons(now, self.trainer.progress.epoch, self.trainer.progress.step)

    def measure(self, now: float, epoch: int) -> None:
        """After the armed step (``epoch``: the epoch in progress)."""
        self.health.measure(epoch, self.trainer.progress.step)
        self.health.cadence.spent(now, self.health.spent)
        self.armed = False

    def epoch_end(self, now: float, final: bool) -> None:
        """After an epoch (short epochs see no step event): a tick, and after the last
        one the trained model's neuron view."""
        if final and self.neurons is not None and self.wanted("neurons"):
            self.neurons.cadence.next = now  # due now
        self.tick(now)
