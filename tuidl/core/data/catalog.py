"""The datasets a preset can name, their parameters, and what they look like.

Pure Python (no numpy or torch at import): the dashboard uses this to show input shapes
and classes before any data is loaded. Each dataset is a kind in
``tuidl.core.data.kinds`` (one class in one file: its parameters, info, loading, sample
count and raw inputs); :data:`DATASETS` is their registry. ``tuidl.core.data.data`` does
the splitting and the tensors.

:func:`info` peeks at files (a CSV or NPZ is read, an image folder listed). Every pane
asks it about the same data after each edit, so what it found is kept, keyed by the
file's path, size and modification time and the parameters that change the answer:
a file changed on disk is read again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tuidl.core.data.kinds import REGISTRY as DATASETS
from tuidl.core.data.kinds.base import IMAGE_SUFFIXES, DataInfo, DatasetKind, cache_dir, resolve_path
from tuidl.core.data.kinds.imagefolder import ImageFolderParams
from tuidl.core.data.kinds.playground import PLAYGROUND_FEATURES, PlaygroundParams
from tuidl.core.data.kinds.table import TASKS, TableParams
from tuidl.core.data.kinds.vision import CIFAR10, FASHION, TorchvisionParams
from tuidl.core.preset import keypath
from tuidl.core.preset.schema import Problem, read

__all__ = ["CIFAR10", "DATASETS", "FASHION", "IMAGE_SUFFIXES", "PLAYGROUND_FEATURES", "TASKS", "DataInfo",
           "DatasetKind", "ImageFolderParams", "PATH_PARAMS", "PlaygroundParams", "TableParams", "TorchvisionParams",
           "absolute", "absolute_params", "cache_dir", "info", "parse_params", "resolve_path"]


def parse_params(dataset: str, params: Any, path: str, problems: list[Problem]) -> Any:
    kind = DATASETS.get(dataset)
    if kind is None:
        problems.append(Problem(keypath.join(keypath.parent(path), "dataset"),
                                f"unknown dataset {dataset!r} (known: {', '.join(DATASETS)})"))
        return None
    return read(kind.params, params if params is not None else {}, path, problems)


#: The parameters that name a file or folder. A preset holds them absolute: a relative one
#: is made absolute once, when the preset is read (:func:`absolute`, from
#: :func:`tuidl.core.preset.preset.load` and :func:`~tuidl.core.preset.preset.edit`).
PATH_PARAMS = ("path", "root")


def absolute(path: str, base: Path | str) -> str:
    """``path`` (``~`` expanded) as an absolute path, a relative one taken from ``base``."""
    return os.path.normpath(os.path.join(os.path.abspath(base), os.path.expanduser(path)))


def absolute_params(data: Any, base: Path | str) -> None:
    """Make the path parameters of a preset's ``data`` table (plain data, as read from
    TOML) absolute, in place, relative ones taken from ``base``. Anything that is not a
    table or a non-empty string is left for validation to report."""
    params = data.get("params") if isinstance(data, dict) else None
    if not isinstance(params, dict):
        return
    for key in PATH_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and value:
            params[key] = absolute(value, base)


def info(dataset: str, params: Any) -> DataInfo:
    """Input shape, task and classes of a dataset, without loading it (files are peeked,
    and what was found is kept until the file changes)."""
    return DATASETS[dataset].info(params)
