"""New inputs for a run's model, as raw values in the units of the run's dataset (what its
own files hold, before the normalisation), from:

* ``.npz`` (the array ``x``, or the only array) or ``.npy``: ``(N, *input_shape)``, or one
  sample ``input_shape``; for one-channel images ``(N, H, W)`` too;
* ``.csv`` (or ``.tsv``): one sample per row, an optional header; a row holds the model's
  features, or a whole sample flattened (64 pixels for the 8×8 digits); for a Playground
  run two columns are the points (x1, x2) and its features are computed from them; for a
  CSV run a header picks the run's feature columns by name (its label column and any
  other column left out, with a note);
* an image file (png, jpg, ...) or a folder of them, for a model that takes images: read as
  the image-folder dataset reads them (RGB, resized bilinearly to the run's size, then
  grayscale for one channel), pixels as the dataset holds them (0..255 → [0, 1]; the
  digits' 0..16).

Every problem is a :class:`ConfigError` naming the file, and the shape expected and got.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tuidl.core.data import catalog, playground
from tuidl.core.preset.schema import ConfigError
from tuidl.core.data.tables import parse_float, read_rows

TABLE_SUFFIXES = (".csv", ".tsv")
ARRAY_SUFFIXES = (".npz", ".npy")


@dataclass
class Inputs:
    """Raw inputs ``(N, *input_shape)`` and a name for each (file name or row)."""

    x: np.ndarray
    names: list[str]
    notes: list[str] = field(default_factory=list)  # what was done to them, for the user


def _dims(shape: tuple[int, ...]) -> str:
    return f"(N, {', '.join(map(str, shape))})"


def describe_input(info: catalog.DataInfo, preset: Any = None) -> dict:
    """What the model takes, in words (the card's ``input``)."""
    shape = tuple(info.input_shape)
    out: dict[str, Any] = {}
    if len(shape) == 3:
        out["layout"] = "images, channels first (N, C, H, W)"
    elif len(shape) == 2:
        out["layout"] = "sequences, channels first (N, C, L)"
    else:
        out["layout"] = f"a vector of {shape[0]} features per sample"
    out.update(catalog.DATASETS[info.dataset].raw_input(preset.data.params if preset is not None else None, shape))
    return out


# -- shapes ---------------------------------------------------------------------------------

def fit_shape(arr: np.ndarray, shape: tuple[int, ...], where: str) -> np.ndarray:
    """``arr`` as ``(N, *shape)``: one sample gets a batch axis, one-channel images
    ``(N, H, W)`` a channel axis; anything else is refused, saying what was expected."""
    if tuple(arr.shape) == shape:
        arr = arr[None]
    elif len(shape) == 3 and shape[0] == 1 and arr.ndim == 3 and tuple(arr.shape[1:]) == shape[1:]:
        arr = arr[:, None]
    if tuple(arr.shape[1:]) == shape and arr.ndim == len(shape) + 1:
        if not len(arr):
            raise ConfigError(f"{where}: no samples (shape {tuple(arr.shape)})")
        return arr
    message = f"{where}: expected inputs of shape {_dims(shape)} for this run's model, got {tuple(arr.shape)}"
    if len(shape) >= 2 and arr.ndim == len(shape) + 1 and tuple(arr.shape[2:]) == shape[1:]:
        message += f": {arr.shape[1]} channels, the model takes {shape[0]}"
    elif len(shape) == 3 and arr.ndim == 4 and tuple(arr.shape[1:3]) == shape[1:]:
        message += (f": channels last ({arr.shape[3]}); the model takes {shape[0]}, channels first "
                    "(np.transpose(x, (0, 3, 1, 2)))")
    raise ConfigError(message)


def _finite(arr: np.ndarray, where: str) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise ConfigError(f"{where}: the inputs must be numbers, got an array of {arr.dtype}")
    if arr.dtype.kind == "f":
        bad = np.argwhere(~np.isfinite(arr))
        if len(bad):
            raise ConfigError(f"{where}: sample {int(bad[0][0])} holds {arr[tuple(bad[0])]} (not a finite number)")
    return arr if arr.dtype in (np.uint8, np.float32) else arr.astype(np.float32)


# -- arrays -----------------------------------------------------------------------------------

def _read_array(path: Path, shape: tuple[int, ...]) -> Inputs:
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.files)
                if "x" in keys:
                    key = "x"
                elif len(keys) == 1:
                    key = keys[0]
                else:
                    raise ConfigError(f"{path}: holds {len(keys)} arrays ({', '.join(keys[:8]) or 'none'}); "
                                      "name the inputs 'x'")
                arr = z[key]
    except ConfigError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged or foreign file, whatever numpy says
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"{path}: cannot read it as a NumPy {path.suffix.lower()} file: {first}") from None
    arr = _finite(fit_shape(np.asarray(arr), shape, str(path)), str(path))
    return Inputs(arr, [str(i) for i in range(len(arr))])


def _header(rows: list[tuple[int, list[str]]]) -> list[str] | None:
    """The first row's cells when they are a header (not all numbers)."""
    if rows and not all(parse_float(c) is not None for c in rows[0][1]):
        return rows[0][1]
    return None


def run_columns(preset: Any) -> tuple[str, list[str] | None]:
    """A CSV run's label column and its feature columns, by name: the label is
    ``data.params.label``, or the last column of the run's own file; the features are the
    other columns of that file's header (None when the file is gone or has no header)."""
    params = preset.data.params
    try:
        header = _header(read_rows(Path(params.path), key=None, limit=1))
    except ConfigError:  # the training file is gone or unreadable: only the preset is known
        header = None
    label = params.label or (header[-1] if header else "")
    return label, [c for c in header if c != label] if header else None


def _columns(path: Path, header: list[str], preset: Any, notes: list[str]) -> list[int] | None:
    """The columns of a CSV run's inputs to keep, by the header's names: the run's features
    in the run's order when the header names them all, else every column but the run's
    label. None: keep them all."""
    label, features = run_columns(preset)
    if features and all(f in header for f in features) and len(set(header)) == len(header):
        keep = [header.index(f) for f in features]
    elif label and label in header:
        keep = [i for i, c in enumerate(header) if c != label]
    else:
        return None
    left = [c for i, c in enumerate(header) if i not in keep]
    if label in left:
        notes.append(f"{path.name}: the column {label!r} is the run's label: left out")
    others = [c for c in left if c != label]
    if others:
        notes.append(f"{path.name}: not features of this run, left out: {', '.join(map(repr, others))}")
    if keep != sorted(keep):
        notes.append(f"{path.name}: columns taken in the run's order: {', '.join(header[i] for i in keep)}")
    return keep


def _read_table(path: Path, shape: tuple[int, ...], info: catalog.DataInfo, preset: Any) -> Inputs:
    rows = read_rows(path, key=None)  # as the csv dataset reads its file
    header = _header(rows)
    if header is not None:
        rows = rows[1:]
    if not rows:
        raise ConfigError(f"{path}: no data rows")
    notes: list[str] = []
    csv_run = preset is not None and info.dataset == "csv"
    keep = _columns(path, header, preset, notes) if csv_run and header is not None else None
    if keep is not None:
        for line, cells in rows:
            if len(cells) != len(header):
                raise ConfigError(f"{path}: line {line} has {len(cells)} values, expected {len(header)} "
                                  "(as the header)")
        rows = [(line, [cells[i] for i in keep]) for line, cells in rows]
    width = len(rows[0][1])
    size = int(np.prod(shape))
    takes_points = catalog.DATASETS[info.dataset].takes_points
    features = list(preset.data.params.features) if preset is not None and takes_points else []
    points = takes_points and width == 2 and size != 2
    if width != size and not points:
        names = run_columns(preset)[1] if csv_run else None
        if features:
            expect = f"{size}: the features {', '.join(features)}" + (" (or 2: points x1, x2)" if size != 2 else "")
        elif names:
            expect = f"{size}: the run's features {', '.join(names)} (a header naming them picks them by name)"
        elif len(shape) > 1:
            expect = f"{size}: one sample of {'×'.join(map(str, shape))} flattened"
        else:
            expect = f"{size}: the model's features"
        raise ConfigError(f"{path}: line {rows[0][0]} has {width} values, expected {expect}")
    x = np.empty((len(rows), width), np.float32)
    for r, (line, cells) in enumerate(rows):
        if len(cells) != width:
            raise ConfigError(f"{path}: line {line} has {len(cells)} values, expected {width} (as line {rows[0][0]})")
        for c, cell in enumerate(cells):
            v = parse_float(cell)
            if v is None or not math.isfinite(v):
                what = "an empty cell" if cell == "" else repr(cell)
                raise ConfigError(f"{path}: line {line}, column {c + 1}: {what} is not a finite number")
            x[r, c] = v
    if points:
        x = playground.features_of(x, features)
        notes.append(f"two columns taken as points (x1, x2); the model's features computed: {', '.join(features)}")
    return Inputs(x.reshape((len(x),) + shape), [f"line {line}" for line, _ in rows], notes)


# -- images ---------------------------------------------------------------------------------

def _is_image(path: Path) -> bool:
    return path.suffix.lower() in catalog.IMAGE_SUFFIXES and not path.name.startswith(".")


def _read_image(path: Path, shape: tuple[int, ...]) -> tuple[np.ndarray, str]:
    from PIL import Image, UnidentifiedImageError

    channels, h, w = shape
    try:
        with Image.open(path) as img:
            img.load()
            mode, size = img.mode, img.size
            rgb = img.convert("RGB")  # as torchvision's image loader reads every image
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read it as an image ({e})") from None
    steps = []
    if size != (w, h):
        rgb = rgb.resize((w, h), Image.Resampling.BILINEAR)
        steps.append(f"resized {size[0]}×{size[1]} → {w}×{h}")
    if channels == 1:
        out = np.asarray(rgb.convert("L"), np.uint8)[None]
        if mode != "L":
            steps.append(f"{mode} → grayscale")
    elif channels == 3:
        out = np.asarray(rgb, np.uint8).transpose(2, 0, 1)
        if mode != "RGB":
            steps.append(f"{mode} → RGB")
    else:
        raise ConfigError(f"{path}: the model takes {channels} channels; an image gives 1 (grayscale) or 3 (RGB)")
    return out, ", ".join(steps)


def _images(paths: list[Path], shape: tuple[int, ...], info: catalog.DataInfo) -> Inputs:
    arrays, names, done = [], [], {}
    for p in paths:
        arr, steps = _read_image(p, shape)
        arrays.append(arr)
        names.append(p.name)
        if steps:
            done.setdefault(steps, []).append(p.name)
    x = np.stack(arrays)
    notes = []
    for steps, files in done.items():
        which = files[0] if len(files) == 1 else f"{len(files)} images ({', '.join(files[:3])}{', …' if len(files) > 3 else ''})"
        notes.append(f"{which}: {steps}, to the run's input {shape[0]}×{shape[1]}×{shape[2]}")
    top = catalog.DATASETS[info.dataset].pixel_max
    if top is not None:
        x = x.astype(np.float32) * np.float32(top / 255.0)
        notes.append(f"pixels 0..255 scaled to 0..{top:g}, the range of the {info.dataset} data")
    return Inputs(x, names, notes)


# -- any input ------------------------------------------------------------------------------

def read_inputs(source: str | Path, info: catalog.DataInfo, preset: Any = None) -> Inputs:
    """Raw inputs for a model taking ``info.input_shape`` from a file or folder."""
    path = Path(source).expanduser()
    shape = tuple(info.input_shape)
    images = len(shape) == 3
    suffixes = ", ".join(sorted(catalog.IMAGE_SUFFIXES))
    if not path.exists():
        raise ConfigError(f"no such file or folder: {path}")
    if path.is_dir():
        if not images:
            raise ConfigError(f"{path}: a folder of images, but this run's model takes {_dims(shape)}, not images")
        files = sorted(p for p in path.iterdir() if p.is_file() and _is_image(p))
        if not files:
            raise ConfigError(f"{path}: no images in this folder (looked for {suffixes})")
        return _images(files, shape, info)
    suffix = path.suffix.lower()
    if suffix in ARRAY_SUFFIXES:
        return _read_array(path, shape)
    if suffix in TABLE_SUFFIXES:
        return _read_table(path, shape, info, preset)
    if suffix in catalog.IMAGE_SUFFIXES:
        if not images:
            raise ConfigError(f"{path}: an image, but this run's model takes {_dims(shape)}, not images")
        return _images([path], shape, info)
    raise ConfigError(f"{path}: unknown input type {suffix or '(no extension)'!r}: give a .npz or .npy array, "
                      f"a .csv table, an image ({suffixes}) or a folder of images")
