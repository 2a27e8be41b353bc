"""The learning lab's live instruments in a run: layer health (``health``) and the
neuron view (``neurons``), each computed only while the preset turns it on
(``train.instruments``) or a dashboard watches it (``Control.watching``).

The trainer calls :meth:`LiveInstruments.tick` when a ``step`` event is due (a few
times a second) and :meth:`LiveInstruments.epoch_end` after each epoch (short epochs
see no step event), and :meth:`LiveInstruments.measure` after a step only while
:attr:`LiveInstruments.armed` (a health measurement is under way). With nothing on and nobody watching,
a tick is two look-ups and nothing else runs.

They look at the run's training state (``tuidl.core.train.state.TrainState``: the
model, the learning rate, the progress), not at the Trainer.

A data-parallel run computes neither: its ranks sync at steps rank 0
alone cannot see coming, and the instruments are for learning on one process.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from tuidl.core.train.health import Health
from tuidl.core.train.latent import Latent, code_index
from tuidl.core.train.neurons import Neurons, groups_of
from tuidl.core.train.state import Subject, TrainState


class LiveInstruments:
    """A run's live instruments: ``health`` (None in a data-parallel run) and ``neurons``
    (None where the neuron view does not fit the model or the data).

    ``state``: the training state; ``subject``: its data and loss; ``preset``: the run's
    preset (its ``train.instruments`` flags, model layers and data features); ``rows``:
    the resolved model summary's rows; ``watching``: ``Control.watching``; ``emit``: the
    run's event sender and ``note`` its notes. ``distributed``: a data-parallel run (no instruments);
    ``neurons``: False where the run draws no decision boundary (the neuron view with it)."""

    def __init__(self, state: TrainState, subject: Subject, preset: Any, rows: list, *,
                 watching: Callable[[str], bool], emit: Callable[..., Any], note: Callable[..., Any], device: Any,
                 distributed: bool = False, neurons: bool = True):
        self.state, self.watching = state, watching
        flags = preset.train.instruments
        self.flags = {"health": flags.health, "neurons": flags.neurons,
                      "latent": flags.latent or preset.train.objective != "supervised"}
        self.armed = False  # a health measurement is under way (the next step is measured)
        self.health: Optional[Health] = None
        self.neurons: Optional[Neurons] = None
        self.latent: Optional[Latent] = None
        if distributed:
            return
        index = None if preset.model.custom else code_index(preset.model.layers)
        if index is not None:
            self.latent = Latent(state.model, preset.model.layers, index, subject.data, subject.loss_kind,
                                 preset.train.objective, emit)

        self.health = Health(state.model, rows, emit, note, state.schedule.lr)
        groups = None if preset.model.custom or not neurons else groups_of(state.model, preset.model.layers, rows)
        if groups is not None:
            self.neurons = Neurons(groups, state.model, subject.data, preset.data.params.features, subject.task,
                                   subject.loss_kind, device, emit)

    def wanted(self, instrument: str) -> bool:
        return self.flags[instrument] or self.watching(instrument)

    def tick(self, now: float) -> None:
        """When a step event is due: arm a health measurement of the next step, send the
        neuron view, each when its cadence allows and it is wanted."""
        if self.health is not None and self.health.cadence.due(now) and self.wanted("health"):
            self.health.arm()
            self.armed = self.health.armed
        if self.neurons is not None and self.neurons.cadence.due(now) and self.wanted("neurons"):
            self.neurons(now, self.state.progress.epoch, self.state.progress.step)
        if self.latent is not None and self.latent.cadence.due(now) and self.wanted("latent"):
            self.latent(now, self.state.progress.epoch, self.state.progress.step)

    def measure(self, now: float, epoch: int) -> None:
        """After the armed step (``epoch``: the epoch in progress)."""
        self.health.measure(epoch, self.state.progress.step)
        self.health.cadence.spent(now, self.health.spent)
        self.armed = False

    def epoch_end(self, now: float, final: bool) -> None:
        """After an epoch (short epochs see no step event): a tick, and after the last
        one the trained model's neuron view."""
        if final and self.neurons is not None and self.wanted("neurons"):
            self.neurons.cadence.next = now  # due now
        if final and self.latent is not None:
            self.latent.cadence.next = now
        self.tick(now)
