"""A trained run's model, ready to answer: its best (else last) checkpoint in the model
its preset builds, with the data's own normalisation (fitted on the run's training
split, as in training). What the dashboard's "try the model" asks.

* :meth:`Predictor.probabilities` takes normalised inputs and returns class
  probabilities (softmax; a one-output BCE model gives ``[1 - p, p]``);
* :meth:`Predictor.from_points` turns raw 2-D points of a Playground dataset into its
  input features, normalised;
* :meth:`Predictor.from_ink` turns a drawing (ink in [0, 1] on the model's grid) into
  a normalised image: no ink is the training images' darkest value and full ink their
  brightest, so a drawing is on the data's own scale (digits: 0–16, MNIST: 0–255).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from . import preset as P
from .rundir import RunDir


@dataclass
class Predictor:
    model: torch.nn.Module
    data: Any  # tuidl.core.data.Loaded: the run's data, normalised as in training
    preset: P.Preset
    loss: str  # "cce", "bce" or "mse"
    checkpoint: str  # "best" or "last"
    epoch: int

    @classmethod
    def from_run(cls, run: RunDir, which: str | None = None) -> "Predictor":
        from .lab.prepare import checkpoint_of, load_weights, prepared

        preset = P.load(run.preset_path)
        with prepared(preset, device="cpu") as trainer:
            kind, state = checkpoint_of(run, which)
            at = load_weights(trainer, state)
            model = trainer.model.eval()
            return cls(model, trainer.data, preset, trainer.loss_kind, kind, at["epoch"])

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.data.info.classes]

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor) -> np.ndarray:
        out = self.model(x).float()
        if self.loss == "bce":
            p = torch.sigmoid(out[:, :1])
            return torch.cat([1 - p, p], dim=1).cpu().numpy()
        if self.loss == "cce":
            return torch.softmax(out, dim=1).cpu().numpy()
        return out.cpu().numpy()

    def from_points(self, points: np.ndarray) -> torch.Tensor:
        from .playground import features_of

        if self.data.raw_points is None:
            raise ValueError(f"{self.preset.data.dataset} is not a 2-D dataset")
        feats = features_of(np.asarray(points, dtype=np.float64).reshape(-1, 2), self.preset.data.params.features)
        return self.data.transform(feats)

    def from_ink(self, ink: np.ndarray) -> torch.Tensor:
        shape = tuple(self.data.info.input_shape)
        ink = np.clip(np.asarray(ink, dtype=np.float32), 0.0, 1.0)
        if len(shape) != 3 or ink.size != int(np.prod(shape)):
            raise ValueError(f"a drawing of {ink.shape} does not fit the model's input {shape}")
        x = self.data.train.x
        low, high = float(x.min()), float(x.max())  # no ink and full ink, normalised
        return torch.from_numpy(low + ink.reshape((1,) + shape) * (high - low)).to(x.dtype)
