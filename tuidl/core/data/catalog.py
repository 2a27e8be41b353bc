"""The datasets a preset can name, their parameters, and what they look like.

Pure Python (numpy at most, no torch): the dashboard uses this to show input shapes
and classes before any data is loaded. ``tuidl.core.data.data`` does the loading.

:func:`info` peeks at files (a CSV or NPZ is read, an image folder listed). Every pane
asks it about the same data after each edit, so what it found is kept, keyed by the
file's path, size and modification time and the parameters that change the answer:
a file changed on disk is read again.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tuidl.core.preset import keypath
from tuidl.core.preset.schema import ConfigError, Problem, opt, read

PLAYGROUND_FEATURES = ("x1", "x2", "x1_sq", "x2_sq", "x1x2", "sin_x1", "sin_x2")
TASKS = ("auto", "classification", "regression")


def cache_dir() -> Path:
    """Where downloaded and generated datasets live (``TUIDL_DATA`` overrides)."""
    env = os.environ.get("TUIDL_DATA")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("tuidl")) / "datasets"


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


@dataclass
class DigitsParams:
    pass


@dataclass
class Mnist1dParams:
    n_samples: int = opt(5000, help="sequences generated (mnist1d's generator)", min=100, max=1_000_000)
    noise_scale: float = opt(0.25, help="correlated noise scale", min=0.0, max=10.0)
    shuffle_seq: bool = opt(False, help="permute the 40 positions by one fixed permutation (drawn from the seed; "
                                        "the same for train and test): the paper's 'shuffle' row, where "
                                        "order no longer means anything")


@dataclass
class TorchvisionParams:
    root: str = opt("", help="folder with the files (empty = the tuidl data cache)", path="folder")
    download: bool = opt(True, help="download on first use if the files are missing")
    limit: int = opt(0, help="use only the first N training images (0 = all)", min=0, max=10_000_000)


@dataclass
class ImageFolderParams:
    path: str = opt(help="folder with one subfolder of images per class", path="folder")
    image_size: list[int] = opt(factory=lambda: [32, 32], help="resize to [height, width]", min=4, max=1024)
    grayscale: bool = opt(False, help="convert to one channel")

    def validate(self, path, problems):
        if len(self.image_size) != 2:
            problems.append(Problem(f"{path}.image_size", "expected [height, width]"))


@dataclass
class TableParams:
    path: str = opt(help="the file", path="file")
    label: str = opt("", help="label column (CSV) or array name (NPZ); empty = last column / 'y'")
    features: str = opt("x", help="NPZ only: the array of features")
    task: str = opt("auto", help="classification, regression, or auto (integer or text labels = classes)",
                    choices=TASKS)


@dataclass
class DatasetKind:
    name: str
    params: type
    group: str
    description: str
    task: str = "classification"
    official_test: bool = False
    downloads: bool = False


DATASETS: dict[str, DatasetKind] = {
    d.name: d
    for d in [
        DatasetKind("circle", PlaygroundParams, "playground", "one class inside a circle, one outside"),
        DatasetKind("xor", PlaygroundParams, "playground", "classes by the sign of x1·x2"),
        DatasetKind("gauss", PlaygroundParams, "playground", "two Gaussian blobs"),
        DatasetKind("spiral", PlaygroundParams, "playground", "two interleaved spirals"),
        DatasetKind("plane", PlaygroundParams, "playground", "regression: a tilted plane", task="regression"),
        DatasetKind("multi-gauss", PlaygroundParams, "playground", "regression: a sum of Gaussians",
                    task="regression"),
        DatasetKind("digits", DigitsParams, "bundled", "scikit-learn's 1,797 8×8 handwritten digits"),
        DatasetKind("mnist1d", Mnist1dParams, "generated", "MNIST-1D: 40-step sequences, 10 classes",
                    official_test=True),
        DatasetKind("mnist", TorchvisionParams, "torchvision", "MNIST 28×28 digits (downloads 11 MB)",
                    official_test=True, downloads=True),
        DatasetKind("fashion-mnist", TorchvisionParams, "torchvision",
                    "Fashion-MNIST 28×28 clothing (downloads 30 MB)", official_test=True, downloads=True),
        DatasetKind("kmnist", TorchvisionParams, "torchvision", "Kuzushiji-MNIST 28×28 (downloads 20 MB)",
                    official_test=True, downloads=True),
        DatasetKind("cifar10", TorchvisionParams, "torchvision", "CIFAR-10 32×32 colour (downloads 163 MB)",
                    official_test=True, downloads=True),
        DatasetKind("cifar100", TorchvisionParams, "torchvision", "CIFAR-100 32×32 colour (downloads 161 MB)",
                    official_test=True, downloads=True),
        DatasetKind("image-folder", ImageFolderParams, "custom", "your images, one subfolder per class"),
        DatasetKind("csv", TableParams, "custom", "a CSV file of features and a label column", task="auto"),
        DatasetKind("npz", TableParams, "custom", "a NumPy .npz with features and labels", task="auto"),
    ]
}

TORCHVISION_SHAPES = {
    "mnist": ((1, 28, 28), 10),
    "fashion-mnist": ((1, 28, 28), 10),
    "kmnist": ((1, 28, 28), 10),
    "cifar10": ((3, 32, 32), 10),
    "cifar100": ((3, 32, 32), 100),
}
FASHION = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"]
CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass
class DataInfo:
    """What the model sees: input shape, task, and the classes (for classification)."""

    dataset: str
    task: str  # "classification" or "regression"
    input_shape: tuple[int, ...]
    classes: list[str]
    targets: int = 1  # regression outputs
    features: list[str] = dataclasses.field(default_factory=list)  # the inputs' names, where the data has them (a CSV's header)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def parse_params(dataset: str, params: Any, path: str, problems: list[Problem]) -> Any:
    kind = DATASETS.get(dataset)
    if kind is None:
        problems.append(Problem(keypath.join(keypath.parent(path), "dataset"),
                                f"unknown dataset {dataset!r} (known: {', '.join(DATASETS)})"))
        return None
    out = read(kind.params, params if params is not None else {}, path, problems)
    return out


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


def resolve_path(path: str) -> Path:
    return Path(path).expanduser()


def _table_info(name: str, params: TableParams) -> DataInfo:
    path = resolve_path(params.path)
    if not path.is_file():
        raise ConfigError([Problem("data.params.path", f"file not found: {path}")])
    key = (name, _stamp(path), params.label, params.features if name == "npz" else "", params.task)
    return _cached(key, lambda: _read_table_info(name, path, params))


def _read_table_info(name: str, path: Path, params: TableParams) -> DataInfo:
    import numpy as np

    features: list[str] = []
    if name == "csv":
        from tuidl.core.data.tables import read_csv

        x, y, labels, features = read_csv(path, params.label, params.task)
    else:
        from tuidl.core.data.tables import read_npz

        x, y, labels = read_npz(path, params.features, params.label or "y", params.task)
    if labels is not None:
        return DataInfo(name, "classification", tuple(x.shape[1:]), labels, features=list(features))
    targets = 1 if y.ndim == 1 else int(np.prod(y.shape[1:]))
    return DataInfo(name, "regression", tuple(x.shape[1:]), [], targets, features=list(features))


def _image_folder_info(params: ImageFolderParams) -> DataInfo:
    root = resolve_path(params.path)
    if not root.is_dir():
        raise ConfigError([Problem("data.params.path", f"folder not found: {root}")])
    key = ("image-folder", _stamp(root), tuple(params.image_size), params.grayscale)
    return _cached(key, lambda: _read_image_folder_info(root, params))


def _read_image_folder_info(root: Path, params: ImageFolderParams) -> DataInfo:
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(classes) < 2:
        raise ConfigError([Problem("data.params.path",
                                   f"{root} needs at least two class subfolders, found {len(classes)}")])
    h, w = params.image_size
    return DataInfo("image-folder", "classification", (1 if params.grayscale else 3, h, w), classes)


# ---------------------------------------------------------------------------
# What info() found in files, kept: the panes ask about the same data after each edit.

INFO_CACHE_SIZE = 32
_info_cache: "OrderedDict[tuple, DataInfo | ConfigError]" = OrderedDict()
_info_lock = threading.Lock()


def _stamp(path: Path) -> tuple:
    """A file or folder as far as its contents may have changed: where it is, its size and
    modification time (a folder's changes when an entry is added, removed or renamed)."""
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


def _cached(key: tuple, compute: Callable[[], DataInfo]) -> DataInfo:
    """``compute()``'s answer for ``key``, kept (a :class:`ConfigError` too: a file that
    does not read is not read again until it changes). Each caller gets its own copy."""
    with _info_lock:
        found = _info_cache.get(key)
        if found is not None:
            _info_cache.move_to_end(key)
    if found is None:
        try:
            found = compute()
        except ConfigError as e:
            found = e
        with _info_lock:
            _info_cache[key] = found
            while len(_info_cache) > INFO_CACHE_SIZE:
                _info_cache.popitem(last=False)
    if isinstance(found, ConfigError):
        raise ConfigError(found.problems)
    return dataclasses.replace(found, input_shape=tuple(found.input_shape), classes=list(found.classes),
                               features=list(found.features))


def clear_info_cache() -> None:
    """Forget what :func:`info` read from files."""
    with _info_lock:
        _info_cache.clear()


def info(dataset: str, params: Any) -> DataInfo:
    """Input shape, task and classes of a dataset, without loading it (files are peeked,
    and what was found is kept until the file changes)."""
    kind = DATASETS[dataset]
    if kind.group == "playground":
        classes = ["negative", "positive"] if kind.task == "classification" else []
        return DataInfo(dataset, kind.task, (len(params.features),), classes)
    if dataset == "digits":
        return DataInfo(dataset, "classification", (1, 8, 8), [str(i) for i in range(10)])
    if dataset == "mnist1d":
        return DataInfo(dataset, "classification", (1, 40), [str(i) for i in range(10)])
    if dataset in TORCHVISION_SHAPES:
        shape, n = TORCHVISION_SHAPES[dataset]
        names = {"fashion-mnist": FASHION, "cifar10": CIFAR10}.get(dataset, [str(i) for i in range(n)])
        return DataInfo(dataset, "classification", shape, list(names))
    if dataset == "image-folder":
        return _image_folder_info(params)
    return _table_info(dataset, params)
