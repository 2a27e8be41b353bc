"""A run's checkpoint in its model, ready for inference: the model and data rebuilt from the
run's saved ``preset.toml`` by the Trainer's own set-up (:func:`tuidl.core.lab.prepare.prepared`:
the same seed gives the same split, so the normalisation is the one fitted on the run's
training split), the ``best`` or ``last`` weights loaded, evaluation mode."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from tuidl.core.preset import preset as P
from tuidl.core.data.data import affine
from tuidl.core.lab.prepare import checkpoint_of, load_weights, prepared
from tuidl.core.run.rundir import RunDir

BATCH = 1024  # inputs per forward pass


@dataclass(eq=False)
class RunModel:
    """A run's model with the weights of one checkpoint (``kind`` at ``epoch`` / ``step``)."""

    run: RunDir
    preset: P.Preset
    trainer: Any  # tuidl.core.train.Trainer after its set-up
    kind: str
    epoch: int
    step: int

    @property
    def model(self) -> nn.Module:
        return self.trainer.model

    @property
    def data(self) -> Any:
        return self.trainer.data

    @property
    def info(self) -> Any:
        return self.trainer.data.info

    @property
    def loss_kind(self) -> str:
        return self.trainer.loss_kind

    @property
    def device(self) -> torch.device:
        return self.trainer.device

    def fresh(self) -> nn.Module:
        """The same architecture with new weights (on the CPU), as code outside the run
        would rebuild it: ``tuidl.core.model.model.build(preset.model.layers, input_shape)``,
        or the allowed custom class."""
        from tuidl.core.model.model import build
        from tuidl.core.train.custom import custom_model

        p = self.preset
        if p.model.custom:
            return custom_model(p.model.custom, self.trainer.allow_code, self.info, self.trainer.resolved)
        return build(p.model.layers, tuple(self.info.input_shape))

    @torch.no_grad()
    def outputs(self, x: torch.Tensor, model: nn.Module | None = None) -> torch.Tensor:
        """The model's raw outputs (logits, or values for regression) for normalised inputs,
        in evaluation mode, as float32 on the CPU."""
        model = self.model if model is None else model
        model.eval()
        device = next(iter(model.parameters()), torch.empty(0)).device
        outs = [model(x[i:i + BATCH].to(device)).float().cpu() for i in range(0, len(x), BATCH)]
        return torch.cat(outs) if outs else torch.empty((0,))

    def samples(self, limit: int) -> tuple[torch.Tensor, str]:
        """The first ``limit`` samples of the test split (else validation, else training),
        normalised as the model sees them, on the CPU; and the split's name."""
        for name in ("test", "val", "train"):
            part = self.data.parts()[name]
            if part is not None and len(part):
                x, _ = part.take(np.arange(min(limit, len(part))))
                return x.float().cpu(), name
        raise ValueError("the run's data has no samples")

    def normalisation(self) -> dict:
        """The inputs' normalisation, fitted on the run's training split, as applied."""
        norm = dict(self.data.norm)
        shift, scale = affine(norm)
        out: dict[str, Any] = {"kind": norm.get("kind", "none")}
        if shift is None:
            out["formula"] = "none: the model takes the inputs as they are"
            return out
        out["per"] = norm.get("per", "feature")
        for key in ("mean", "std", "min", "max"):
            if key in norm:
                out[key] = [float(v) for v in norm[key]]
        out["shift"], out["scale"] = shift, scale
        axis = "channel (axis 1)" if out["per"] == "channel" else "feature"
        out["formula"] = f"x_model = (x - shift) / scale, per {axis}"
        return out


def probabilities(out: torch.Tensor, loss_kind: str) -> torch.Tensor:
    """Class probabilities of a classifier's outputs: softmax, or for a single sigmoid
    output (binary cross-entropy) ``[1 - p, p]``."""
    if loss_kind == "bce":
        p = torch.sigmoid(out.float().reshape(len(out), -1)[:, 0])
        return torch.stack([1 - p, p], dim=1)
    return torch.softmax(out.float(), dim=1)


@contextlib.contextmanager
def open_model(run: RunDir, which: str | None = None, device: str | None = "cpu",
               allow_code: tuple[str, ...] = (), purpose: str = "export") -> Iterator[RunModel]:
    """The run's ``which`` checkpoint (None: the best one if written, else the last) in its
    model, on ``device`` (default the CPU), in evaluation mode."""
    preset = P.load(run.require_preset(f"tuidl {purpose}"))
    kind, state = checkpoint_of(run, which, purpose)
    with prepared(preset, device=device or "cpu", allow_code=allow_code) as t:
        at = load_weights(t, state)
        t.model.eval()
        yield RunModel(run, preset, t, kind, at["epoch"], at["step"])
