"""The six TensorFlow Playground datasets (``circle``, ``xor``, ``gauss``, ``spiral``, and
the regression sets ``plane`` and ``multi-gauss``): 2-D points generated from the seed
(``tuidl.core.data.playground``), the model's features computed from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuidl.core.data.kinds.base import DataInfo, DatasetKind, Source
from tuidl.core.preset.schema import Problem, opt

PLAYGROUND_FEATURES = ("x1", "x2", "x1_sq", "x2_sq", "x1x2", "sin_x1", "sin_x2")


@dataclass
class PlaygroundParams:
    n_samples: int = opt(500, help="points generated", min=10, max=1_000_000)
    noise: float = opt(0.0, help="noise level, as Playground's slider / 100", min=0.0, max=0.5)
    features: list[str] = opt(factory=lambda: ["x1", "x2"], help="input features",
                              choices=PLAYGROUND_FEATURES)

    def validate(self, path, problems):
        if not self.features:
            problems.append(Problem(f"{path}.features", "pick at least one feature"))
        if len(set(self.features)) != len(self.features):
            problems.append(Problem(f"{path}.features", "a feature is listed twice"))


class Playground(DatasetKind):
    params = PlaygroundParams
    group = "playground"
    takes_points = True

    def info(self, params: Any) -> DataInfo:
        classes = ["negative", "positive"] if self.task == "classification" else []
        return DataInfo(self.name, self.task, (len(params.features),), classes)

    def source(self, params: Any, seed: int) -> Source:
        from tuidl.core.data import playground

        data = playground.make(self.name, params.n_samples, params.noise, params.features, seed)
        return Source(self.info(params), data.x, data.y, points=data.points)

    def samples(self, params: Any) -> str:
        return f"{getattr(params, 'n_samples', 0):,}"

    def raw_input(self, params: Any, shape: tuple[int, ...]) -> dict:
        return {"raw": "Playground features of points (x1, x2) in [-6, 6]",
                "features": list(getattr(params, "features", []) or [])}


KINDS = [
    Playground("circle", "one class inside a circle, one outside"),
    Playground("xor", "classes by the sign of x1·x2"),
    Playground("gauss", "two Gaussian blobs"),
    Playground("spiral", "two interleaved spirals"),
    Playground("plane", "regression: a tilted plane", task="regression"),
    Playground("multi-gauss", "regression: a sum of Gaussians", task="regression"),
]
