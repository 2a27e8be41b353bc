"""The representation a model learns, while it learns it (docs/instruments.md):

* the **latent map** (``latent`` events): the codes of the test set, the output of the
  model's ``code`` layer (an autoencoder's bottleneck) or, for a classifier, of its
  penultimate layer (the input of its last weighted layer), drawn in 2-D: 2-D codes as
  they are, wider ones through their first two principal components (scikit-learn's
  PCA), each point with the class the model never saw (self-supervised) or learnt;
* **reconstructions** (``reconstructions`` events, self-supervised objectives only):
  the same few test inputs, as the model sees them (noisy or masked), the clean input,
  and the model's output.

Sent at most every ``EVERY_S`` seconds and less often when they cost more than 2 % of
the training time (``Cadence``), and after the last epoch; on for self-supervised
objectives, for a classifier with ``train.instruments.latent`` or while a dashboard
watches (``watch_latent``). :func:`code_index`, :func:`encoder` and :func:`codes` are
what the linear probe (``tuidl.core.lab.probe``) reads the representation with.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn

from tuidl.core.run import events as E
from tuidl.core.train.health import Cadence
from tuidl.core.train.objective import labels_of

EVERY_S = 2.0  # at most one pair of events every two seconds (and one after the last epoch)
MAX_POINTS = 2000  # codes drawn: the first of the split (a terminal shows no more)
SAMPLES = 8  # reconstructions: test inputs shown
MAX_SIDE = 16  # reconstructions: images wider than this are sent at every second pixel
WEIGHTED = ("dense", "conv1d", "conv2d", "lstm", "gru", "conv_transpose1d", "conv_transpose2d")


def code_index(specs: list[Any]) -> Optional[int]:
    """The layer whose output is the code: the ``code`` layer; else the layer before the
    last weighted one (a classifier's penultimate representation); None when the model
    has a single weighted layer (nothing before it but the input)."""
    for i, spec in enumerate(specs):
        if spec.kind == "code":
            return i
    weighted = [i for i, spec in enumerate(specs) if spec.kind in WEIGHTED]
    if len(weighted) < 2 or weighted[-1] == 0:
        return None
    return weighted[-1] - 1


def encoder(model: nn.Module, index: int) -> nn.Module:
    """The model up to and including layer ``index`` (a layer stack's Sequential)."""
    return model[: index + 1]  # type: ignore[index]


@torch.no_grad()
def codes(module: nn.Module, x: torch.Tensor, batch: int = 1024) -> np.ndarray:
    """``module``'s outputs for ``x`` in evaluation mode, flat, as float32 ``(N, D)``."""
    training = module.training
    module.eval()
    try:
        out = [module(x[i:i + batch]).float().flatten(1).cpu() for i in range(0, len(x), batch)]
    finally:
        module.train(training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


class Projection:
    """Codes → 2-D points: as they are (≤ 2 dimensions) or their first two principal
    components, each axis's sign kept from one call to the next (a PCA's axes may flip
    as the codes change; the map should not)."""

    def __init__(self) -> None:
        self.signs: Optional[np.ndarray] = None
        self.last: Optional[np.ndarray] = None

    def __call__(self, z: np.ndarray) -> tuple[np.ndarray, str, list[float]]:
        if z.shape[1] <= 2:
            pts = z if z.shape[1] == 2 else np.column_stack([z[:, 0], np.zeros(len(z))])
            return pts, "direct", []
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=0)
        pts = pca.fit_transform(z)
        if self.last is not None and len(self.last) == len(pts):
            flip = np.sign((self.last * pts).sum(axis=0))
            pts = pts * np.where(flip == 0, 1, flip)
        self.last = pts
        return pts, "pca", [round(float(v), 4) for v in pca.explained_variance_ratio_]


class Latent:
    """The latent map and reconstructions of one run (``index``: :func:`code_index`)."""

    def __init__(self, model: nn.Module, specs: list[Any], index: int, data: Any, loss_kind: str,
                 objective: str, emit: Callable[..., Any], every_s: float = EVERY_S):
        self.model, self.index, self.emit, self.loss_kind = model, index, emit, loss_kind
        self.layer = f"{specs[index].kind}_{sum(1 for s in specs[: index + 1] if s.kind == specs[index].kind)}"
        has_test = data.test is not None and len(data.test) > 0
        self.part, self.split = (data.test, "test") if has_test else (data.val, "val")
        self.classes = list(data.info.classes) if data.info.task == "classification" else []
        self.objective = objective
        self.cadence = Cadence(every_s)
        self.project = Projection()

    @property
    def ready(self) -> bool:
        return self.part is not None and len(self.part) > 0

    def latent_fields(self) -> dict[str, Any]:
        part = self.part
        n = min(len(part), MAX_POINTS)
        z = codes(encoder(self.model, self.index), part.x[:n])
        pts, method, explained = self.project(z)
        labels = labels_of(part)[:n].detach().cpu().numpy()
        label_list = labels.astype(int).tolist() if self.classes else np.round(labels.reshape(n, -1)[:, 0].astype(np.float64), 3).tolist()
        return {"layer": self.layer, "dim": int(z.shape[1]), "method": method, "explained": explained,
                "points": np.round(pts.astype(np.float64), 3).tolist(), "labels": label_list, "classes": self.classes,
                "split": self.split, "of": len(part)}

    @torch.no_grad()
    def reconstruction_fields(self) -> dict[str, Any]:
        part = self.part
        seen, clean = part.take(range(min(SAMPLES, len(part))))
        training = self.model.training
        self.model.eval()
        try:
            out = self.model(seen).float()
        finally:
            self.model.train(training)
        if self.loss_kind == "bce":
            out = torch.sigmoid(out)
        image = seen.dim() == 4
        shrink = (lambda t: t[:, :, ::2, ::2]) if image and seen.shape[-1] > MAX_SIDE else (lambda t: t)
        as_list = lambda t: np.round(shrink(t).detach().cpu().numpy().astype(np.float64), 2).tolist()  # noqa: E731
        labels = labels_of(part)[: len(seen)].detach().cpu().numpy()
        return {"kind": "image" if image else "sequence" if seen.dim() == 3 else "vector",
                "inputs": as_list(seen), "targets": as_list(clean), "outputs": as_list(out),
                "labels": labels.astype(int).tolist() if self.classes else [], "objective": self.objective}

    def __call__(self, now: float, epoch: int, step: int) -> None:
        if not self.ready:
            return
        t0 = time.perf_counter()
        at = {"epoch": epoch, "step": step}
        if self.objective != "supervised":
            fields = self.reconstruction_fields()
            self.emit(E.RECONSTRUCTIONS, **at, **fields)
        fields = self.latent_fields()
        spent = time.perf_counter() - t0
        self.emit(E.LATENT, **at, **fields, seconds=round(spent, 5))
        self.cadence.spent(now, spent)
