"""What every dataset kind is: :class:`DatasetKind` (the base class a kind's file
subclasses), :class:`DataInfo` (what the model sees, known without loading) and
:class:`Source` (what loading gives before the split).

A kind says, in one class: its parameters (a dataclass read by the preset's schema), its
info (:meth:`DatasetKind.info`, pure Python: the dashboard asks it as you type), how to
load it (:meth:`DatasetKind.source`: PyTorch and torchvision are imported there, never at
import time), how many samples it has before loading (:meth:`DatasetKind.samples`) and
what its raw inputs are (:meth:`DatasetKind.raw_input`, :attr:`DatasetKind.pixel_max`,
:attr:`DatasetKind.takes_points`: what a served model reads).

What :meth:`DatasetKind.info` finds in files is kept by :func:`cached`, keyed by the
file's path, size and modification time (:func:`stamp`) and the parameters that change
the answer: a file changed on disk is read again.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional

from tuidl.core.preset.schema import ConfigError

if TYPE_CHECKING:
    import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def cache_dir() -> Path:
    """Where downloaded and generated datasets live (``TUIDL_DATA`` overrides)."""
    env = os.environ.get("TUIDL_DATA")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("tuidl")) / "datasets"


def resolve_path(path: str) -> Path:
    """A path parameter as a path (``~`` expanded). A preset holds its paths absolute: a
    relative one was made absolute when the preset was read (``catalog.absolute_params``)."""
    return Path(path).expanduser()


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


@dataclass
class Source:
    """What a dataset gives before splitting."""

    info: DataInfo
    x: Optional[np.ndarray]  # (N, *shape): float or uint8 pixels; None for image folders
    y: np.ndarray  # int64 (N,) or float32 (N, k)
    test_x: Optional[np.ndarray] = None  # the official test set, if any
    test_y: Optional[np.ndarray] = None
    pool_includes_test: bool = False  # without official_test, split train + test together
    points: Optional[np.ndarray] = None  # Playground raw 2-D coords
    folder: Any = None  # an ImageFolder


class DatasetKind:
    """One dataset a preset can name (``data.dataset``). A kind's file defines a subclass
    and registers an instance per name it serves (the six Playground sets share a class).

    Class attributes: ``params`` (the dataclass of ``data.params``), ``group`` (playground,
    bundled, generated, torchvision, custom), ``task`` (classification, regression or
    auto: the parameters say), ``official_test`` (it has its own test set), ``downloads``
    (it downloads on first use), ``pixel_max`` (images whose pixels are not 0..255 bytes:
    their largest value), ``takes_points`` (a served model's table of two columns is
    points whose features are computed)."""

    params: ClassVar[type]
    group: ClassVar[str] = "custom"
    task: str = "classification"
    official_test: ClassVar[bool] = False
    downloads: ClassVar[bool] = False
    pixel_max: ClassVar[Optional[float]] = None
    takes_points: ClassVar[bool] = False

    def __init__(self, name: str, description: str, **overrides: Any):
        self.name, self.description = name, description
        for key, value in overrides.items():  # per name: a regression Playground set, a test set
            setattr(self, key, value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def info(self, params: Any) -> DataInfo:
        """Input shape, task and classes without loading (files are peeked at, and what
        was found is kept until the file changes)."""
        raise NotImplementedError

    def source(self, params: Any, seed: int) -> Source:
        """The dataset, loaded (raises ConfigError naming the ``data.params`` key at fault)."""
        raise NotImplementedError

    def samples(self, params: Any) -> str:
        """How many samples it has, as far as is known without loading it."""
        return "known once loaded"

    def raw_input(self, params: Any, shape: tuple[int, ...]) -> dict:
        """What a served model's raw inputs are, in words (the model card's ``input``
        beside its ``layout``)."""
        if self.pixel_max is not None:
            return {"raw": f"pixel intensities 0..{self.pixel_max:g} (0 = background), as float"}
        if len(shape) == 3:
            return {"raw": "pixels in [0, 1] (uint8 pixels divided by 255, as torchvision's ToTensor gives them)"}
        return {"raw": "the values as the dataset's own files hold them"}


# ---------------------------------------------------------------------------
# What info() found in files, kept: the panes ask about the same data after each edit.

INFO_CACHE_SIZE = 32
_info_cache: "OrderedDict[tuple, DataInfo | ConfigError]" = OrderedDict()
_info_lock = threading.Lock()


def stamp(path: Path) -> tuple:
    """A file or folder as far as its contents may have changed: where it is, its size and
    modification time (a folder's changes when an entry is added, removed or renamed)."""
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


def cached(key: tuple, compute: Callable[[], DataInfo]) -> DataInfo:
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
