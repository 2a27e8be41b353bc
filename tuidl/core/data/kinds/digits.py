"""scikit-learn's bundled 8×8 handwritten digits (1,797 images, pixels 0..16)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuidl.core.data.kinds.base import DataInfo, DatasetKind, Source
from tuidl.core.preset.schema import ConfigError, Problem

COUNT = 1_797


@dataclass
class DigitsParams:
    pass


class Digits(DatasetKind):
    params = DigitsParams
    group = "bundled"
    pixel_max = 16.0

    def info(self, params: Any) -> DataInfo:
        return DataInfo(self.name, "classification", (1, 8, 8), [str(i) for i in range(10)])

    def source(self, params: Any, seed: int) -> Source:
        """Read straight from the file scikit-learn ships (``sklearn/datasets/data/digits.csv.gz``:
        64 pixels and the label per row), so that loading them does not import
        scikit-learn (about 2 s)."""
        import importlib.util

        import numpy as np

        spec = importlib.util.find_spec("sklearn")
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError([Problem("data.dataset", "the digits dataset needs scikit-learn installed")])
        path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
        if not path.is_file():  # a future layout: fall back to the public loader
            from sklearn.datasets import load_digits

            d = load_digits()
            table = np.column_stack([d.data, d.target])
        else:
            table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        x = table[:, :64].reshape(-1, 1, 8, 8).astype(np.float32)
        y = table[:, 64].astype(np.int64)
        return Source(self.info(params), x, y)

    def samples(self, params: Any) -> str:
        return f"{COUNT:,}"


KINDS = [Digits("digits", "scikit-learn's 1,797 8×8 handwritten digits")]
