"""The torchvision image sets: MNIST, Fashion-MNIST, Kuzushiji-MNIST, CIFAR-10 and
CIFAR-100. They download on first use (``data.params.download``) into the data cache or
``data.params.root``; archives a user put there are unpacked first, and a missing file or
a failed download says which files to put where. torchvision is imported only to load.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from tuidl.core.data.kinds.base import DataInfo, DatasetKind, Source, cache_dir, resolve_path
from tuidl.core.preset.schema import ConfigError, Problem, opt

#: input shape and class count of each set
SHAPES = {
    "mnist": ((1, 28, 28), 10),
    "fashion-mnist": ((1, 28, 28), 10),
    "kmnist": ((1, 28, 28), 10),
    "cifar10": ((3, 32, 32), 10),
    "cifar100": ((3, 32, 32), 100),
}
#: training / official test images of each set (before ``limit``)
COUNTS = {
    "mnist": (60_000, 10_000),
    "fashion-mnist": (60_000, 10_000),
    "kmnist": (60_000, 10_000),
    "cifar10": (50_000, 10_000),
    "cifar100": (50_000, 10_000),
}
FASHION = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"]
CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@dataclass
class TorchvisionParams:
    root: str = opt("", help="folder with the files (empty = the tuidl data cache)", path="folder")
    download: bool = opt(True, help="download on first use if the files are missing")
    limit: int = opt(0, help="use only the first N training images (0 = all)", min=0, max=10_000_000)


class TorchvisionSet(DatasetKind):
    params = TorchvisionParams
    group = "torchvision"
    official_test = True
    downloads = True

    def info(self, params: Any) -> DataInfo:
        shape, n = SHAPES[self.name]
        names = {"fashion-mnist": FASHION, "cifar10": CIFAR10}.get(self.name, [str(i) for i in range(n)])
        return DataInfo(self.name, "classification", shape, list(names))

    def source(self, params: Any, seed: int) -> Source:
        return _torchvision(self.name, self.info(params), params)

    def samples(self, params: Any) -> str:
        train, test = COUNTS[self.name]
        limit = getattr(params, "limit", 0)
        if limit:
            train = min(train, limit)
        return f"{train:,} + {test:,} official test"


KINDS = [
    TorchvisionSet("mnist", "MNIST 28×28 digits (downloads 11 MB)"),
    TorchvisionSet("fashion-mnist", "Fashion-MNIST 28×28 clothing (downloads 30 MB)"),
    TorchvisionSet("kmnist", "Kuzushiji-MNIST 28×28 (downloads 20 MB)"),
    TorchvisionSet("cifar10", "CIFAR-10 32×32 colour (downloads 163 MB)"),
    TorchvisionSet("cifar100", "CIFAR-100 32×32 colour (downloads 161 MB)"),
]


_TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST",
                "cifar10": "CIFAR10", "cifar100": "CIFAR100"}
_CIFAR_CLASSES: dict[str, type] = {}


def _torchvision_class(name: str) -> type:
    """The torchvision dataset class. For CIFAR, a subclass that checks the batch files
    exist instead of comparing their MD5 sums, so copies from any mirror (or re-pickled
    ones) load; a damaged file still fails to unpickle and is reported."""
    import torchvision.datasets as tvd

    base = getattr(tvd, _TORCHVISION[name])
    if name not in ("cifar10", "cifar100"):
        return base
    if name not in _CIFAR_CLASSES:
        _CIFAR_CLASSES[name] = type(base.__name__, (base,), {
            "__module__": base.__module__,
            "train_list": [[f, None] for f, _ in base.train_list],
            "test_list": [[f, None] for f, _ in base.test_list],
            "meta": {**base.meta, "md5": None},
        })
    return _CIFAR_CLASSES[name]


def _expected(name: str, cls: type, root: Path) -> tuple[Path, list[str], str]:
    """The folder torchvision reads, the files it needs there, and an alternative."""
    if name.startswith("cifar"):
        files = [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
        return root / cls.base_folder, files, f"or the archive {cls.filename} in {root}"
    folder = root / cls.__name__ / "raw"
    files = [os.path.splitext(f)[0] for f, _ in cls.resources]
    return folder, files, "(or the same files gzipped, with .gz)"


def _present(name: str, cls: type, root: Path) -> bool:
    folder, files, _ = _expected(name, cls, root)
    if all((folder / f).is_file() for f in files):
        return True
    if not name.startswith("cifar"):  # torchvision's legacy processed/*.pt files
        processed = root / cls.__name__ / "processed"
        return (processed / "training.pt").is_file() and (processed / "test.pt").is_file()
    return False


def _unpack_local(name: str, cls: type, root: Path) -> None:
    """Use archives the user put in place: gunzip MNIST-family .gz files next to
    themselves; extract a CIFAR .tar.gz into the root."""
    folder, files, _ = _expected(name, cls, root)
    try:
        if name.startswith("cifar"):
            archive = root / cls.filename
            if not all((folder / f).is_file() for f in files) and archive.is_file():
                from torchvision.datasets.utils import extract_archive

                extract_archive(str(archive), str(root))
            return
        for f in files:
            gz = folder / (f + ".gz")
            if not (folder / f).is_file() and gz.is_file():
                tmp = folder / f".{f}.{os.getpid()}.tmp"
                with gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.replace(tmp, folder / f)
    except (OSError, EOFError, ValueError) as e:
        raise ConfigError([Problem("data.params.root", f"cannot unpack the {name} archive in "
                                                       f"{folder if not name.startswith('cifar') else root}: {e}")]) from None


@contextlib.contextmanager
def _network_timeout(seconds: float) -> Iterator[None]:
    old = socket.getdefaulttimeout()
    if old is None:
        socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def download_reason(error: BaseException) -> str:
    """Why a torchvision download failed, in a few words. torchvision's own message is a
    header ("Error downloading x.gz:") then, per mirror, "Tried URL, got:" and the error:
    the reason is in those last lines (``<urlopen error [Errno -2] Name or service not
    known>``: "no network? name or service not known")."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    details = [line for line in lines if not line.startswith(("Error downloading", "Tried "))]
    reasons = []
    for line in details:
        line = re.sub(r"^<urlopen error (.*)>$", r"\1", line)
        line = re.sub(r"^\[Errno -?\d+\]\s*", "", line).strip().rstrip(":")
        if line and line not in reasons:
            reasons.append(line)
    if not reasons:
        return type(error).__name__
    text = "; ".join(reasons)
    offline = any(word in text.lower() for word in ("name or service not known", "temporary failure in name",
                                                     "network is unreachable", "nodename nor servname"))
    return f"no network? {text[0].lower() + text[1:]}" if offline else text


def _missing(name: str, cls: type, root: Path, reason: str) -> ConfigError:
    folder, files, alt = _expected(name, cls, root)
    listed = ", ".join(files[:-1]) + " and " + files[-1]
    return ConfigError([Problem("data.params.root",
                                f"{reason}. Put {listed} in {folder} {alt}, or set data.params.root "
                                f"to a folder that holds them")])


def _torchvision(name: str, info: DataInfo, params: TorchvisionParams) -> Source:
    root = resolve_path(params.root) if params.root else cache_dir() / name
    cls = _torchvision_class(name)
    _unpack_local(name, cls, root)
    if not _present(name, cls, root):
        if not params.download:
            raise _missing(name, cls, root, f"the {name} files are missing and data.params.download "
                                            "is false")
        try:
            with _network_timeout(60):
                cls(str(root), train=True, download=True)
        except Exception as e:  # no network, a firewall, a bad mirror...
            reason = download_reason(e)
            if not _present(name, cls, root):
                raise _missing(name, cls, root, f"could not download {name} ({reason})") from None
        if not _present(name, cls, root):
            raise _missing(name, cls, root, f"the {name} download left no usable files")
    folder = _expected(name, cls, root)[0]
    try:
        train = cls(str(root), train=True, download=False)
        test = cls(str(root), train=False, download=False)
        x, y = _tv_arrays(train)
        tx, ty = _tv_arrays(test)
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError([Problem("data.params.root", f"cannot read the {name} files in {folder}: "
                                                       f"{type(e).__name__}: {e}")]) from None
    if name == "cifar100" and len(getattr(train, "classes", [])) == info.num_classes:
        info = DataInfo(name, info.task, info.input_shape, [str(c) for c in train.classes])
    for what, xs, ys in (("training", x, y), ("test", tx, ty)):
        if tuple(xs.shape[1:]) != tuple(info.input_shape):
            raise ConfigError([Problem("data.params.root", f"the {name} {what} images in {folder} have "
                                                           f"shape {tuple(xs.shape[1:])}, expected "
                                                           f"{tuple(info.input_shape)}")])
        if len(ys) != len(xs) or (len(ys) and (ys.min() < 0 or ys.max() >= info.num_classes)):
            raise ConfigError([Problem("data.params.root", f"the {name} {what} labels in {folder} do not "
                                                           f"match the images (need {len(xs)} labels in "
                                                           f"0..{info.num_classes - 1})")])
    if params.limit:
        x, y = x[:params.limit], y[:params.limit]
    return Source(info, x, y, tx, ty)


def _tv_arrays(ds: Any) -> tuple[Any, Any]:
    import numpy as np
    import torch

    data = ds.data
    if isinstance(data, torch.Tensor):
        arr = data.numpy()
    else:
        arr = np.asarray(data)
    if arr.ndim == 3:  # MNIST family: (N, H, W)
        arr = arr[:, None, :, :]
    elif arr.ndim == 4 and arr.shape[-1] in (1, 3):  # CIFAR: (N, H, W, C)
        arr = arr.transpose(0, 3, 1, 2)
    targets = ds.targets
    y = targets.numpy() if isinstance(targets, torch.Tensor) else np.asarray(targets)
    return np.ascontiguousarray(arr, dtype=np.uint8), y.astype(np.int64)
