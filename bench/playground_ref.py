"""TensorFlow Playground's own training, in numpy: the reference for the Playground presets.

Playground (github.com/tensorflow/playground, ``src/nn.ts`` and ``src/playground.ts``)
trains a fully connected network by plain gradient descent and reports a *test loss*. This
module does the same, written from reading that source (not a translation of it):

* data: the preset's dataset and noise (``tuidl.core.data.playground`` generates the same
  distributions as ``src/dataset.ts``), 500 points for classification and 1,200 for
  regression (``NUM_SAMPLES_CLASSIFY`` / ``NUM_SAMPLES_REGRESS``), shuffled once, the first
  ``ratio`` of them for training ("Ratio of training to test data", 50 % by default);
* inputs: the chosen features of the raw coordinates (x1, x2 in [-6, 6]; no scaling);
* network: the hidden layers with the activation (tanh by default), one output node, tanh
  for classification and linear for regression; each weight uniform in [-0.5, 0.5), each
  bias 0.1;
* training: one epoch walks the training points in a fixed order; the error derivatives
  of ``0.5 · (output − label)²`` are summed over ``batch`` points (10 by default), then
  every weight moves by ``learning rate × their mean`` (0.03 by default), no momentum;
* loss: the mean of ``0.5 · (output − label)²`` over the points, with labels ±1 for
  classification: what Playground prints as "Test loss".

:func:`playground_loss` puts a tuidl model's test predictions on the same scale: for two
classes its output is ``P(+1) − P(−1)`` (in [-1, 1], like Playground's tanh node), for
regression the prediction itself.

    python bench/playground_ref.py [--epochs 1000] [--seeds 5] [spiral circle ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuidl.core.data import playground as PG  # noqa: E402

SAMPLES = {"classification": 500, "regression": 1200}  # Playground's NUM_SAMPLES_*


@dataclass
class Setting:
    """One Playground configuration (the left panel and the network)."""

    dataset: str
    features: Sequence[str]
    hidden: Sequence[int]
    noise: float = 0.0  # Playground's slider / 100
    ratio: float = 0.5  # training share
    batch: int = 10
    lr: float = 0.03
    activation: str = "tanh"

    @property
    def task(self) -> str:
        return "classification" if self.dataset in PG.CLASSIFICATION else "regression"


_ACT = {
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(a.dtype)),
    "sigmoid": (lambda a: 1 / (1 + np.exp(-a)), lambda a: (1 / (1 + np.exp(-a))) * (1 - 1 / (1 + np.exp(-a)))),
    "linear": (lambda a: a, lambda a: np.ones_like(a)),
}


def split(setting: Setting, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Playground's data: generated, shuffled once, the first ``ratio`` for training.
    Returns (train inputs, train labels, test inputs, test labels); labels ±1 or real."""
    rng = np.random.default_rng(seed)
    points, labels = PG.generate(setting.dataset, SAMPLES[setting.task], setting.noise, rng)
    order = rng.permutation(len(labels))
    points, labels = points[order], labels[order]
    x = PG.features_of(points, setting.features).astype(np.float64)
    cut = int(len(labels) * setting.ratio)
    return x[:cut], labels[:cut], x[cut:], labels[cut:]


class Net:
    def __init__(self, sizes: Sequence[int], activation: str, output: str, rng: np.random.Generator):
        self.w = [rng.random((a, b)) - 0.5 for a, b in zip(sizes[:-1], sizes[1:])]
        self.b = [np.full(b, 0.1) for b in sizes[1:]]
        self.acts = [_ACT[activation]] * (len(sizes) - 2) + [_ACT[output]]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list, list]:
        outs, pre = [x], []
        for w, b, (f, _) in zip(self.w, self.b, self.acts):
            pre.append(outs[-1] @ w + b)
            outs.append(f(pre[-1]))
        return outs[-1][:, 0], outs, pre

    def step(self, x: np.ndarray, y: np.ndarray, lr: float) -> None:
        out, outs, pre = self.forward(x)
        d = (out - y)[:, None]  # dE/d(output) of 0.5·(output − label)²
        for i in reversed(range(len(self.w))):
            d = d * self.acts[i][1](pre[i])  # dE/d(total input), per point
            gw, gb = outs[i].T @ d / len(x), d.mean(axis=0)  # the mean over the batch
            d = d @ self.w[i].T
            self.w[i] -= lr * gw
            self.b[i] -= lr * gb

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(0.5 * (self.forward(x)[0] - y) ** 2))


def train(setting: Setting, epochs: int, seed: int) -> dict:
    """Train as Playground does; the train and test loss after ``epochs`` epochs."""
    xtr, ytr, xte, yte = split(setting, seed)
    rng = np.random.default_rng(seed + 10_000)
    out = "tanh" if setting.task == "classification" else "linear"
    net = Net([xtr.shape[1], *setting.hidden, 1], setting.activation, out, rng)
    for _ in range(epochs):
        for i in range(0, len(ytr), setting.batch):
            net.step(xtr[i:i + setting.batch], ytr[i:i + setting.batch], setting.lr)
    return {"train_loss": net.loss(xtr, ytr), "test_loss": net.loss(xte, yte)}


def reference(setting: Setting, epochs: int = 1000, seeds: int = 5) -> dict:
    """The median test loss over ``seeds`` data + weight draws (Playground's own result
    varies with its random seed, as pressing "regenerate" shows)."""
    runs = [train(setting, epochs, s) for s in range(seeds)]
    tests = sorted(r["test_loss"] for r in runs)
    return {"epochs": epochs, "seeds": seeds, "test_loss": statistics.median(tests),
            "min": tests[0], "max": tests[-1]}


def setting_of(preset) -> Setting:
    """The Playground configuration of a tuidl Playground preset: its dataset, noise,
    features, hidden layers and training share (Playground's "ratio of training to test
    data" slider; tuidl's validation and test splits both count as test data there), and
    Playground's defaults for the rest."""
    layers = [layer for layer in preset.model.layers if layer.kind == "dense"]
    hidden = [layer.units for layer in layers[:-1]]
    acts = {layer.activation for layer in layers[:-1]} or {"tanh"}
    params = preset.data.params
    return Setting(preset.data.dataset, list(params.features), hidden, params.noise,
                   ratio=preset.data.split.train, activation=acts.pop() if len(acts) == 1 else "tanh")


def playground_loss(out, y, task: str) -> float:
    """Playground's loss of a tuidl model's outputs (torch tensors): two-class logits → the
    output P(+1) − P(−1) against ±1, regression → the prediction; ``0.5 · (o − t)²``."""
    import torch

    with torch.no_grad():
        if task == "classification":
            p = torch.softmax(out.float(), dim=1)
            o = p[:, 1] - p[:, 0]
            t = y.float() * 2 - 1
        else:
            o, t = out.float().reshape(-1), y.float().reshape(-1)
        return float((0.5 * (o - t) ** 2).mean())


def main() -> int:
    from tuidl.core.preset import preset as P

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("presets", nargs="*", default=["circle", "xor", "gauss", "spiral", "plane", "multi-gauss"])
    ap.add_argument("--epochs", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    for name in args.presets:
        s = setting_of(P.load(name))
        r = reference(s, args.epochs, args.seeds)
        print(f"{name:<12} {s.dataset:<12} features {','.join(s.features):<40} hidden {s.hidden} noise {s.noise:g}: "
              f"test loss {r['test_loss']:.4f} (min {r['min']:.4f}, max {r['max']:.4f}) after {args.epochs} epochs",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
