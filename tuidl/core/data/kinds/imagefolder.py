"""Your own images, one subfolder per class (``image-folder``), read from disk through
torchvision's ``ImageFolder`` (resized, optionally grayscale): the only kind that is not
held in memory (``tuidl.core.data.data.FolderPart`` streams it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuidl.core.data.kinds.base import IMAGE_SUFFIXES, DataInfo, DatasetKind, Source, cached, resolve_path, stamp
from tuidl.core.preset.schema import ConfigError, Problem, opt


@dataclass
class ImageFolderParams:
    path: str = opt(help="folder with one subfolder of images per class", path="folder")
    image_size: list[int] = opt(factory=lambda: [32, 32], help="resize to [height, width]", min=4, max=1024)
    grayscale: bool = opt(False, help="convert to one channel")

    def validate(self, path, problems):
        if len(self.image_size) != 2:
            problems.append(Problem(f"{path}.image_size", "expected [height, width]"))


class ImageFolder(DatasetKind):
    params = ImageFolderParams
    group = "custom"

    def info(self, params: Any) -> DataInfo:
        root = resolve_path(params.path)
        if not root.is_dir():
            raise ConfigError([Problem("data.params.path", f"folder not found: {root}")])
        key = ("image-folder", stamp(root), tuple(params.image_size), params.grayscale)
        return cached(key, lambda: _read_info(root, params))

    def source(self, params: Any, seed: int) -> Source:
        return _image_folder(self.info(params), params)


KINDS = [ImageFolder("image-folder", "your images, one subfolder per class")]


def _read_info(root: Path, params: ImageFolderParams) -> DataInfo:
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(classes) < 2:
        raise ConfigError([Problem("data.params.path",
                                   f"{root} needs at least two class subfolders, found {len(classes)}")])
    h, w = params.image_size
    return DataInfo("image-folder", "classification", (1 if params.grayscale else 3, h, w), classes)


def _is_image_file(path: str) -> bool:
    name = os.path.basename(path)
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def _image_folder(info: DataInfo, params: ImageFolderParams) -> Source:
    import numpy as np
    from torchvision import datasets, transforms

    root = resolve_path(params.path)
    h, w = params.image_size
    steps: list[Any] = [transforms.Resize((h, w))]
    if params.grayscale:
        steps.append(transforms.Grayscale(num_output_channels=1))
    steps.append(transforms.ToTensor())
    try:
        ds = datasets.ImageFolder(str(root), transform=transforms.Compose(steps),
                                  is_valid_file=_is_image_file, allow_empty=True)
    except (OSError, ValueError) as e:
        raise ConfigError([Problem("data.params.path", f"cannot read the image folder {root}: {e}")]) from None
    # Hidden folders (.ipynb_checkpoints, ...) are not classes: map onto the catalog's.
    new_index = {c: i for i, c in enumerate(info.classes)}
    old_to_new = {i: new_index[c] for c, i in ds.class_to_idx.items() if c in new_index}
    samples = [(p, old_to_new[t]) for p, t in ds.samples if t in old_to_new]
    counts = np.bincount(np.array([t for _, t in samples], dtype=np.int64), minlength=len(info.classes))
    empty = [c for c, k in zip(info.classes, counts) if k == 0]
    if empty:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise ConfigError([Problem("data.params.path",
                                   f"no images in {', '.join(str(root / c) for c in empty)} "
                                   f"(looked for {suffixes})")])
    ds.classes = list(info.classes)
    ds.class_to_idx = new_index
    ds.samples = ds.imgs = samples
    ds.targets = [t for _, t in samples]
    return Source(info, None, np.asarray(ds.targets, np.int64), folder=ds)
