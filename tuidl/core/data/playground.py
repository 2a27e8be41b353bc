"""The six TensorFlow Playground datasets, generated as Playground's ``src/dataset.ts`` does.

numpy only. Each generator returns the raw 2-D points ``(N, 2)`` and Playground's label
for each point: ``+1`` / ``-1`` for the classification sets, a real number for the
regression sets. Points and labels follow dataset.ts line by line (the same radii,
paddings, noise ranges and label rules: noise is drawn and the label computed on the
noisy coordinates, while the stored point stays clean — except for the spiral, whose
noise moves the points themselves, and the two Gaussians, whose noise is their
variance). The draws are vectorised, so a seed does not reproduce Playground's own
``Math.random`` stream, only its distributions. Where Playground's loops would produce
``2 * ceil(n / 2)`` points for an odd ``n``, these produce exactly ``n`` (the first
class gets the extra point).

:func:`features_of` computes Playground's input features (x1, x2, x1², x2², x1·x2,
sin x1, sin x2) from 2-D points; the trainer uses it to evaluate a model on a grid over
the plane for the decision-boundary picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

#: The plane Playground draws: ``[xmin, xmax, ymin, ymax]``.
EXTENT = [-6.0, 6.0, -6.0, 6.0]

CLASSIFICATION = ("circle", "xor", "gauss", "spiral")

#: multi-gauss centres and signs: ``[cx, cy, sign]``.
GAUSSIANS = np.array([
    [-4.0, 2.5, 1.0],
    [0.0, 2.5, -1.0],
    [4.0, 2.5, 1.0],
    [-4.0, -2.5, -1.0],
    [0.0, -2.5, 1.0],
    [4.0, -2.5, -1.0],
])


def _uniform(rng: np.random.Generator, a: float, b: float, n: int) -> np.ndarray:
    """``randUniform(a, b)``: ``Math.random() * (b - a) + a``."""
    return rng.random(n) * (b - a) + a


def _halves(n: int) -> tuple[int, int]:
    first = (n + 1) // 2
    return first, n - first


def classify_circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 5.0
    pos, neg = _halves(n)
    xs, ys, labels = [], [], []
    for count, (r_lo, r_hi) in ((pos, (0.0, radius * 0.5)), (neg, (radius * 0.7, radius))):
        r = _uniform(rng, r_lo, r_hi, count)
        angle = _uniform(rng, 0.0, 2 * np.pi, count)
        x = r * np.sin(angle)
        y = r * np.cos(angle)
        noise_x = _uniform(rng, -radius, radius, count) * noise
        noise_y = _uniform(rng, -radius, radius, count) * noise
        inside = np.hypot(x + noise_x, y + noise_y) < radius * 0.5
        xs.append(x)
        ys.append(y)
        labels.append(np.where(inside, 1.0, -1.0))
    return np.stack([np.concatenate(xs), np.concatenate(ys)], axis=1), np.concatenate(labels)


def classify_xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    padding = 0.3
    x = _uniform(rng, -5.0, 5.0, n)
    x = x + np.where(x > 0, padding, -padding)
    y = _uniform(rng, -5.0, 5.0, n)
    y = y + np.where(y > 0, padding, -padding)
    noise_x = _uniform(rng, -5.0, 5.0, n) * noise
    noise_y = _uniform(rng, -5.0, 5.0, n) * noise
    label = np.where((x + noise_x) * (y + noise_y) >= 0, 1.0, -1.0)
    return np.stack([x, y], axis=1), label


def classify_gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    # d3.scale.linear().domain([0, .5]).range([0.5, 4])
    variance = 0.5 + (noise - 0.0) / 0.5 * (4.0 - 0.5)
    std = np.sqrt(variance)
    pos, neg = _halves(n)
    points, labels = [], []
    for count, (cx, cy), label in ((pos, (2.0, 2.0), 1.0), (neg, (-2.0, -2.0), -1.0)):
        x = rng.normal(cx, std, count)
        y = rng.normal(cy, std, count)
        points.append(np.stack([x, y], axis=1))
        labels.append(np.full(count, label))
    return np.concatenate(points), np.concatenate(labels)


def classify_spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = n / 2
    pos, neg = _halves(n)
    points, labels = [], []
    for count, delta_t, label in ((pos, 0.0, 1.0), (neg, np.pi, -1.0)):
        i = np.arange(count, dtype=np.float64)
        r = i / half * 5
        t = 1.75 * i / half * 2 * np.pi + delta_t
        x = r * np.sin(t) + _uniform(rng, -1.0, 1.0, count) * noise
        y = r * np.cos(t) + _uniform(rng, -1.0, 1.0, count) * noise
        points.append(np.stack([x, y], axis=1))
        labels.append(np.full(count, label))
    return np.concatenate(points), np.concatenate(labels)


def plane_label(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d3.scale.linear().domain([-10, 10]).range([-1, 1]) of ``x + y`` (not clamped, as in
    Playground)."""
    return (x + y) / 10.0


def multi_gauss_label(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The signed, clamped closeness to the nearest of six centres; the value largest in
    absolute size wins (the first one on a tie, as Playground's strict ``>``)."""
    d = np.hypot(x[:, None] - GAUSSIANS[None, :, 0], y[:, None] - GAUSSIANS[None, :, 1])
    # d3.scale.linear().domain([0, 2]).range([1, 0]).clamp(true)
    closeness = np.clip(1.0 - d / 2.0, 0.0, 1.0)
    values = GAUSSIANS[None, :, 2] * closeness
    pick = np.argmax(np.abs(values), axis=1)
    return values[np.arange(len(x)), pick] + 0.0  # + 0.0 turns -0.0 into 0.0


def regress(label: Callable[[np.ndarray, np.ndarray], np.ndarray]
            ) -> Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]:
    """A regression set: points uniform over the plane, ``label`` of each point moved by
    noise (Playground's regress_plane and regress_gaussian, which differ only in it)."""
    def generate(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        radius = 6.0
        x = _uniform(rng, -radius, radius, n)
        y = _uniform(rng, -radius, radius, n)
        noise_x = _uniform(rng, -radius, radius, n) * noise
        noise_y = _uniform(rng, -radius, radius, n) * noise
        return np.stack([x, y], axis=1), label(x + noise_x, y + noise_y)

    return generate


GENERATORS: dict[str, Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]] = {
    "circle": classify_circle,
    "xor": classify_xor,
    "gauss": classify_gauss,
    "spiral": classify_spiral,
    "plane": regress(plane_label),
    "multi-gauss": regress(multi_gauss_label),
}

_FEATURES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda x, y: x,
    "x2": lambda x, y: y,
    "x1_sq": lambda x, y: x * x,
    "x2_sq": lambda x, y: y * y,
    "x1x2": lambda x, y: x * y,
    "sin_x1": lambda x, y: np.sin(x),
    "sin_x2": lambda x, y: np.sin(y),
}
FEATURES = tuple(_FEATURES)  # the names ``data.params.features`` takes (the Playground kind's list)


def features_of(points: np.ndarray, features: Sequence[str]) -> np.ndarray:
    """Playground's input features of 2-D points ``(N, 2)``, in the order listed: float32
    ``(N, len(features))``."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"expected points of shape (N, 2), got {pts.shape}")
    unknown = [f for f in features if f not in _FEATURES]
    if unknown:
        raise ValueError(f"unknown Playground feature(s) {unknown}; known: {', '.join(FEATURES)}")
    x, y = pts[:, 0], pts[:, 1]
    cols = [_FEATURES[f](x, y) for f in features]
    return np.stack(cols, axis=1).astype(np.float32) if cols else np.zeros((len(pts), 0), np.float32)


@dataclass
class PlaygroundData:
    dataset: str
    task: str  # "classification" or "regression"
    points: np.ndarray  # (N, 2) float64, raw coordinates
    labels: np.ndarray  # (N,) Playground's labels: ±1 or a real value
    x: np.ndarray  # (N, F) float32 features
    y: np.ndarray  # int64 (N,) classes 0/1, or float32 (N, 1)


def generate(dataset: str, n_samples: int, noise: float, seed: int | np.random.Generator = 0
             ) -> tuple[np.ndarray, np.ndarray]:
    """Raw points ``(N, 2)`` and Playground labels ``(N,)`` of one dataset."""
    if dataset not in GENERATORS:
        raise ValueError(f"unknown Playground dataset {dataset!r}; known: {', '.join(GENERATORS)}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return GENERATORS[dataset](int(n_samples), float(noise), rng)


def to_classes(labels: np.ndarray) -> np.ndarray:
    """Playground's -1 / +1 labels as class indices 0 / 1 (int64)."""
    return (np.asarray(labels) > 0).astype(np.int64)


def make(dataset: str, n_samples: int, noise: float, features: Sequence[str],
         seed: int | np.random.Generator = 0) -> PlaygroundData:
    """A whole Playground dataset: points, labels, the chosen features and targets."""
    points, labels = generate(dataset, n_samples, noise, seed)
    x = features_of(points, features)
    if dataset in CLASSIFICATION:
        return PlaygroundData(dataset, "classification", points, labels, x, to_classes(labels))
    return PlaygroundData(dataset, "regression", points, labels, x,
                          labels.astype(np.float32).reshape(-1, 1))
