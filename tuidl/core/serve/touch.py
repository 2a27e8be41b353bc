"""A trained run's model, ready to answer one input at a time: what the dashboard's "try
the model" asks. It is :class:`.runmodel.RunModel` (the best, else last, checkpoint in the
model its preset builds, with the normalisation fitted on the run's training split) plus
the two ways a person gives it an input:

* :meth:`Predictor.from_points` turns raw 2-D points of a Playground dataset into its
  input features, normalised;
* :meth:`Predictor.from_ink` turns a drawing (ink in [0, 1] on the model's grid) into a
  normalised image: no ink is the training images' darkest value and full ink their
  brightest, so a drawing is on the data's own scale (digits: 0–16, MNIST: 0–255);
* :meth:`Predictor.sample` gives a sample of the run's own test split (else validation,
  else training) with its true label, and :meth:`Predictor.from_file` reads an input
  from a file as ``tuidl predict`` does (an image, resized to the run's size): what a
  colour image model is tried with, where a drawing would look nothing like its data.

:meth:`Predictor.probabilities` gives class probabilities (softmax; a one-output BCE model
gives ``[1 - p, p]``), as ``tuidl predict`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from tuidl.core.data.data import affine
from tuidl.core.run.rundir import RunDir
from tuidl.core.serve.inputs import read_inputs
from tuidl.core.serve.runmodel import RunModel, open_model, probabilities


@dataclass
class Sample:
    """One input to try: ``x`` normalised as the model takes it ``(1, *input_shape)``,
    ``picture`` the same on the data's own scale (what a person sees), the true class
    index (None: unknown, or not classification), and where it came from."""

    x: torch.Tensor
    picture: np.ndarray
    label: int | None
    source: str
    notes: list[str] = field(default_factory=list)


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

    def sample(self, index: int) -> Sample:
        """Sample ``index`` (wrapping around) of the test split, else the validation or
        training split, with its true class."""
        for name in ("test", "val", "train"):
            part = self.data.parts()[name]
            if part is not None and len(part):
                break
        else:
            raise ValueError("the run's data has no samples")
        i = index % len(part)
        x, y = part.take(np.array([i]))
        x = x.float().cpu()
        label = None
        if self.run_model.info.task == "classification" and y.ndim == 1:
            label = int(y[0])
        return Sample(x, self.picture(x[0]), label, f"{name} sample {i + 1} of {len(part)}")

    def from_file(self, path: str | Path) -> Sample:
        """The first input a file gives (an image resized to the run's size, an array,
        a row of a table), as ``tuidl predict`` reads it; a problem is a ConfigError
        naming the file."""
        inputs = read_inputs(path, self.run_model.info, self.run_model.preset)
        x = self.data.transform(inputs.x[:1]).float().cpu()
        notes = list(inputs.notes)
        if len(inputs.x) > 1:
            notes.append(f"{len(inputs.x)} inputs there: the first one is shown")
        return Sample(x, self.picture(x[0]), None, inputs.names[0] if inputs.names else str(path), notes)

    def picture(self, x: torch.Tensor) -> np.ndarray:
        """A normalised input back on the data's own scale (the normalisation undone)."""
        arr = x.detach().cpu().numpy().astype(np.float64)
        shift, scale = affine(self.data.norm)
        if shift is None or scale is None:
            return arr
        shift_a, scale_a = np.asarray(shift), np.asarray(scale)
        if shift_a.size == arr.size:
            shape = arr.shape
        elif arr.ndim >= 2 and shift_a.size == arr.shape[0]:  # per channel
            shape = (-1,) + (1,) * (arr.ndim - 1)
        else:
            shape = (-1,)
        return arr * scale_a.reshape(shape) + shift_a.reshape(shape)
