"""Your own table: a CSV file of features and a label column (``csv``), or a NumPy
``.npz`` of a features array and a labels array (``npz``). Integer or text labels are
classes unless ``task`` says regression (``tuidl.core.data.tables`` reads both)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuidl.core.data.kinds.base import DataInfo, DatasetKind, Source, cached, resolve_path, stamp
from tuidl.core.preset.schema import ConfigError, Problem, opt

TASKS = ("auto", "classification", "regression")


@dataclass
class TableParams:
    path: str = opt(help="the file", path="file")
    label: str = opt("", help="label column (CSV) or array name (NPZ); empty = last column / 'y'")
    features: str = opt("x", help="NPZ only: the array of features")
    task: str = opt("auto", help="classification, regression, or auto (integer or text labels = classes)",
                    choices=TASKS)


class Table(DatasetKind):
    params = TableParams
    group = "custom"
    task = "auto"

    def info(self, params: Any) -> DataInfo:
        path = self._path(params)
        key = (self.name, stamp(path), params.label, params.features if self.name == "npz" else "", params.task)
        return cached(key, lambda: self._read_info(path, params))

    def _path(self, params: Any) -> Path:
        path = resolve_path(params.path)
        if not path.is_file():
            raise ConfigError([Problem("data.params.path", f"file not found: {path}")])
        return path

    def _read(self, path: Path, params: Any) -> tuple:
        """``(x, y, labels, features)``: labels None for regression targets; features the
        names of the inputs (a CSV's header; none for an NPZ)."""
        if self.name == "csv":
            from tuidl.core.data.tables import read_csv

            x, y, labels, features = read_csv(path, params.label, params.task)
            return x, y, labels, list(features)
        from tuidl.core.data.tables import read_npz

        return (*read_npz(path, params.features, params.label or "y", params.task), [])

    def _read_info(self, path: Path, params: Any) -> DataInfo:
        import numpy as np

        x, y, labels, features = self._read(path, params)
        if labels is not None:
            return DataInfo(self.name, "classification", tuple(x.shape[1:]), labels, features=features)
        targets = 1 if y.ndim == 1 else int(np.prod(y.shape[1:]))
        return DataInfo(self.name, "regression", tuple(x.shape[1:]), [], targets, features=features)

    def source(self, params: Any, seed: int) -> Source:
        import numpy as np

        x, y, labels, features = self._read(self._path(params), params)
        if labels is not None:
            info = DataInfo(self.name, "classification", tuple(x.shape[1:]), list(labels), features=features)
            return Source(info, x, y.astype(np.int64))
        y2 = y.reshape(len(y), -1).astype(np.float32)
        info = DataInfo(self.name, "regression", tuple(x.shape[1:]), [], int(y2.shape[1]), features=features)
        return Source(info, x, y2)


KINDS = [
    Table("csv", "a CSV file of features and a label column"),
    Table("npz", "a NumPy .npz with features and labels"),
]
