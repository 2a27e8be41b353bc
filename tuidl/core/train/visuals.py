"""What a run shows besides numbers: the decision boundary of a 2-D Playground dataset
(``boundary`` events) and the test results with a few samples (the ``test`` event)."""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import torch

from tuidl.core.run import events as E

BOUNDARY_EVERY_S = 1.0  # boundary events: at most one a second (and one after the last epoch)
BOUNDARY_GRID = 40  # grid points per side
TEST_SAMPLES = 8


class Boundary:
    """The model's output over the input plane of a 2-D Playground dataset, as
    TensorFlow Playground draws it. ``predict(x)`` is the model's output in evaluation
    mode; only the process that writes the run (rank 0) emits anything, and only for a
    dataset with raw 2-D points."""

    def __init__(self, data: Any, params: Any, seed: int, task: str, loss_kind: str,
                 predict: Callable[[torch.Tensor], torch.Tensor], emit: Callable[..., Any], device: torch.device,
                 enabled: bool = True):
        # params: the preset's data.params (a Playground dataset's have the input features)
        self.data, self.params, self.seed, self.task, self.loss_kind = data, params, seed, task, loss_kind
        self.predict, self.emit, self.device = predict, emit, device
        self.enabled = enabled and data.raw_points is not None and data.info.input_shape[0] >= 1
        self.last = 0.0
        self.points: list | None = None  # a sample of training points, drawn once

    def __call__(self, epoch: int, force: bool = False) -> None:
        """Emit the boundary if one is due (at most every BOUNDARY_EVERY_S, or ``force``)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < BOUNDARY_EVERY_S:
            return
        self.last = now
        d = self.data
        n = BOUNDARY_GRID
        out = self.predict(plane_inputs(d, self.params.features, n, self.device))
        grid = rounded(plane_values(out, self.task, self.loss_kind), 3).reshape(n, n).tolist()
        if self.points is None:
            rng = np.random.default_rng(self.seed)
            idx = rng.permutation(len(d.raw_points))[:200]
            ys = d.train.y.cpu().numpy()
            self.points = [[round(float(d.raw_points[i, 0]), 3), round(float(d.raw_points[i, 1]), 3),
                            round(float(np.ravel(ys[i])[0]), 3)] for i in idx]
        self.emit(E.BOUNDARY, epoch=epoch, extent=list(d.raw_extent), size=n, values=grid, points=self.points)


def plane_inputs(data: Any, features: Any, n: int, device: torch.device) -> torch.Tensor:
    """The model's inputs at an n×n grid over a 2-D Playground dataset's plane
    (``data.raw_extent``), row by row from ymin, each row from xmin: the preset's
    features of each point, normalised as the training data was. ``(n * n, F)``."""
    from tuidl.core.data.playground import features_of

    xmin, xmax, ymin, ymax = data.raw_extent
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n))
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    return data.transform(features_of(pts, features)).to(device)


def rounded(t: torch.Tensor, decimals: int) -> np.ndarray:
    """A tensor's values as float64 numbers rounded to ``decimals`` (float32's own
    digits would come back as 0.12099999934434891 in JSON)."""
    return np.round(t.detach().double().cpu().numpy(), decimals)


def plane_values(out: torch.Tensor, task: str, loss_kind: str) -> torch.Tensor:
    """What the plane shows of the model's output ``(N, outputs)``: the regression
    output, or the probability of the positive class. ``(N,)`` float."""
    out = out.float()
    if task == "regression":
        return out[:, 0]
    if loss_kind == "bce":
        return torch.sigmoid(out[:, 0])
    return torch.softmax(out, dim=1)[:, 1]


def test_results(part: Any, out: torch.Tensor, metrics: dict, task: str, loss_kind: str,
                 num_classes: int) -> dict[str, Any]:
    """The ``test`` event's fields: the metrics, the confusion matrix (classification) and
    the first few test samples with their predictions (inputs shrunk for previews)."""
    fields: dict[str, Any] = {"metrics": metrics}
    y = part.y
    if task == "classification":
        pred = (out[:, 0] > 0).long() if loss_kind == "bce" else out.argmax(dim=1)
        k = num_classes
        conf = torch.bincount(y.to(pred.device) * k + pred, minlength=k * k).reshape(k, k)
        fields["confusion"] = conf.cpu().tolist()
    else:
        pred = out
    samples = []
    for i in range(min(TEST_SAMPLES, len(part))):
        xi = part.x[i].float().cpu()
        if xi.numel() > 3 * 32 * 32:
            xi = xi[:, ::2, ::2] if xi.dim() == 3 else xi.flatten()[:256]
        t = y[i]
        samples.append({
            "true": int(t) if task == "classification" else [round(float(v), 4) for v in t.flatten()],
            "pred": int(pred[i]) if task == "classification" else [round(float(v), 4) for v in pred[i].flatten()],
            "input": np.round(xi.numpy(), 3).tolist(),
        })
    fields["samples"] = samples
    return fields
