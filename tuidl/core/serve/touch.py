"""A trained run's model, ready to answer one input at a time: what the dashboard's "try
the model" asks. It is :class:`.runmodel.RunModel` (the best, else last, checkpoint in the
model its preset builds, with the normalisation fitted on the run's training split) plus
the two ways a person gives it an input:

* :meth:`Predictor.from_points` turns raw 2-D points of a Playground dataset into its
  input features, normalised;
* :meth:`Predictor.from_ink` turns a drawing (ink in [0, 1] on the model's grid) into a
  normalised image: no ink is the training images' darkest value and full ink their
  brightest, so a drawing is on the data's own scale (digits: 0–16, MNIST: 0–255).

:meth:`Predictor.probabilities` gives class probabilities (softmax; a one-output BCE model
gives ``[1 - p, p]``), as ``tuidl predict`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tuidl.core.run.rundir import RunDir
from tuidl.core.serve.runmodel import RunModel, open_model, probabilities


@dataclass
class Predictor:
    run_model: RunModel

    @classmethod
    def from_run(cls, run: RunDir, which: str | None = None) -> "Predictor":
        with open_model(run, which, purpose="try") as m:
            return cls(m)  # the model and data outlive the set-up's scratch folder

    @property
    def data(self):
        return self.run_model.data

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.run_model.info.classes]

    def probabilities(self, x: torch.Tensor) -> np.ndarray:
        out = self.run_model.outputs(x)
        if self.run_model.info.task != "classification":
            return out.numpy()
        return probabilities(out, self.run_model.loss_kind).numpy()

    def from_points(self, points: np.ndarray) -> torch.Tensor:
        from tuidl.core.data.playground import features_of

        preset = self.run_model.preset
        if self.data.raw_points is None:
            raise ValueError(f"{preset.data.dataset} is not a 2-D dataset")
        feats = features_of(np.asarray(points, dtype=np.float64).reshape(-1, 2), preset.data.params.features)
        return self.data.transform(feats)

    def from_ink(self, ink: np.ndarray) -> torch.Tensor:
        shape = tuple(self.run_model.info.input_shape)
        ink = np.clip(np.asarray(ink, dtype=np.float32), 0.0, 1.0)
        if len(shape) != 3 or ink.size != int(np.prod(shape)):
            raise ValueError(f"a drawing of {ink.shape} does not fit the model's input {shape}")
        x = self.data.train.x
        low, high = float(x.min()), float(x.max())  # no ink and full ink, normalised
        return torch.from_numpy(low + ink.reshape((1,) + shape) * (high - low)).to(x.dtype)
