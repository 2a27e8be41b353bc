"""Loading a preset's dataset: split, normalise, and hand it to the trainer as tensors.

``load(preset, device)`` returns a :class:`Loaded`: the data info, the train / val /
test :class:`Part` s and the normalisation fitted on the training split only.

* Datasets that fit in memory (Playground, digits, MNIST-1D, the torchvision sets, CSV,
  NPZ) become float32 tensors on ``device``; :meth:`Part.batches` batches them by index
  (airbench style, no DataLoader). The permutation is drawn on the CPU from a CPU
  ``torch.Generator`` and then moved, so a checkpoint can save and restore the generator
  whatever the device.
* ``image-folder`` reads from disk through a DataLoader with ``data.workers`` workers
  behind the same interface (:class:`FolderPart`).

Splits are seeded by ``preset.seed`` and stratified when asked and the task is
classification (each split holds each class's share to within one sample). With ``split.official_test`` the dataset's
own test set is the test split and train / val are split from its training part with the
train : val ratio of the preset. Without it, MNIST-1D splits all generated sequences and
the torchvision sets split their (``limit``-ed) training images, leaving the official
test images unused.

Image pixels count as values in [0, 1] (uint8 / 255), as ``ToTensor`` gives them.

:func:`peek` splits and describes a dataset that fits in memory with numpy alone, for the
dashboard's Dataset pane: PyTorch is imported only when tensors are made (by :func:`load`,
or for the torchvision and image-folder sets, which need it to read their files). Its
import took seconds, which the pane spent before it showed anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import numpy as np

from tuidl.core.data import catalog, playground
from tuidl.core.data.kinds.base import Source
from tuidl.core.preset.preset import Preset
from tuidl.core.preset.schema import ConfigError, Problem

_CHUNK_BYTES = 64 << 20  # how much float32 data one conversion step builds at most


class _LazyTorch:
    """``torch``, imported at its first use in this module (then the name is torch itself)."""

    def __getattr__(self, name: str) -> Any:
        import torch as module

        globals()["torch"] = module
        return getattr(module, name)


torch: Any = _LazyTorch()


# ---------------------------------------------------------------------------
# Splits as tensors


def _batch_count(n: int, batch_size: int, drop_last: bool) -> int:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return n // batch_size if drop_last else -(-n // batch_size)


def _permutation(n: int, generator: Optional[torch.Generator]) -> torch.Tensor:
    """A random order of ``n`` indices, drawn where the generator lives (the CPU for a
    CPU generator), returned on the CPU."""
    gen_device = generator.device if generator is not None else torch.device("cpu")
    return torch.randperm(n, generator=generator, device=gen_device).cpu()


@dataclass(eq=False)
class Part:
    """One split held in memory: inputs ``x`` (float32, normalised) and targets ``y``
    (int64 ``(N,)`` for classification, float32 ``(N, targets)`` for regression)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def device(self) -> torch.device:
        return self.x.device

    def num_batches(self, batch_size: int, drop_last: bool = False) -> int:
        return _batch_count(len(self), batch_size, drop_last)

    def batches(self, batch_size: int, shuffle: bool, generator: Optional[torch.Generator] = None,
                drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Minibatches covering every sample once (the last one smaller unless
        ``drop_last``); a new random order per call when ``shuffle``."""
        n = len(self)
        stop = batch_size * self.num_batches(batch_size, drop_last) if drop_last else n
        if not shuffle:
            for i in range(0, stop, batch_size):
                j = min(i + batch_size, stop)
                yield self.x[i:j], self.y[i:j]
            return
        perm = _permutation(n, generator).to(self.x.device)
        for i in range(0, stop, batch_size):
            idx = perm[i:i + batch_size]
            yield self.x.index_select(0, idx), self.y.index_select(0, idx)

    def take(self, indices: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """The samples at ``indices`` (for previews), on the part's device."""
        idx = torch.as_tensor(indices, dtype=torch.long).reshape(-1).to(self.x.device)
        return self.x.index_select(0, idx), self.y.index_select(0, idx)


class _FolderImages:
    """``FolderPart.x``: the split's images, read from disk when indexed."""

    def __init__(self, part: "FolderPart"):
        self._part = part

    def __len__(self) -> int:
        return len(self._part)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self._part),) + tuple(self._part.input_shape)

    def __getitem__(self, key: Any) -> torch.Tensor:
        if isinstance(key, (int, np.integer)):
            i = int(key) + (len(self) if key < 0 else 0)
            if not 0 <= i < len(self):
                raise IndexError(f"index {key} is out of range for {len(self)} images")
            return self._part.take([i])[0][0]
        if isinstance(key, slice):
            return self._part.take(list(range(len(self)))[key])[0]
        return self._part.take(key)[0]


class FolderPart:
    """One split of an image folder, read from disk through a DataLoader. It offers the
    methods of :class:`Part` (``len``, ``num_batches``, ``batches``, ``take``) and its
    ``y``; ``x`` reads images from disk when indexed (``part.x[i]``) and is not held in
    memory."""

    def __init__(self, dataset: Any, indices: np.ndarray, y: torch.Tensor, norm: dict,
                 device: torch.device, workers: int, input_shape: tuple[int, ...]):
        self.dataset = dataset
        self.input_shape = tuple(input_shape)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.y = y
        self.norm = norm
        self._device = torch.device(device)
        self.workers = workers
        shift, scale = _affine(norm, 4)
        self._shift = None if shift is None else torch.from_numpy(shift).to(self._device)
        self._scale = None if scale is None else torch.from_numpy(scale).to(self._device)

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def x(self) -> _FolderImages:
        return _FolderImages(self)

    @property
    def device(self) -> torch.device:
        return self._device

    def num_batches(self, batch_size: int, drop_last: bool = False) -> int:
        return _batch_count(len(self), batch_size, drop_last)

    def _loader(self, batches: list[list[int]]) -> Any:
        from torch.utils.data import DataLoader

        return DataLoader(self.dataset, batch_sampler=batches, num_workers=self.workers,
                          pin_memory=self._device.type == "cuda")

    def _finish(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xb = xb.to(self._device, non_blocking=True).float()
        if self._shift is not None:
            xb = (xb - self._shift) / self._scale
        return xb, yb.to(self._device, non_blocking=True).long()

    def batches(self, batch_size: int, shuffle: bool, generator: Optional[torch.Generator] = None,
                drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self)
        order = _permutation(n, generator).numpy() if shuffle else np.arange(n)
        stop = batch_size * self.num_batches(batch_size, drop_last) if drop_last else n
        chosen = self.indices[order[:stop]]
        groups = [chosen[i:i + batch_size].tolist() for i in range(0, stop, batch_size)]
        if not groups:
            return
        for xb, yb in self._loader(groups):
            yield self._finish(xb, yb)

    def index_batches(self, groups: list[list[int]]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches of the given positions in this split, read through the DataLoader: the
        data-parallel trainer reads each rank's share of the global batches this way."""
        chosen = [self.indices[np.asarray(g, dtype=np.int64)].tolist() for g in groups]
        if not chosen:
            return
        for xb, yb in self._loader(chosen):
            yield self._finish(xb, yb)

    def take(self, indices: Any) -> tuple[torch.Tensor, torch.Tensor]:
        idx = np.asarray(torch.as_tensor(indices, dtype=torch.long).reshape(-1).cpu().numpy())
        items = [self.dataset[int(i)] for i in self.indices[idx]]
        xb = torch.stack([img for img, _ in items]) if items else torch.zeros((0,) + self.input_shape)
        yb = torch.tensor([t for _, t in items], dtype=torch.long)
        return self._finish(xb, yb)


@dataclass(eq=False)
class Loaded:
    info: catalog.DataInfo
    train: Any  # Part or FolderPart
    val: Any = None
    test: Any = None
    norm: dict = field(default_factory=lambda: {"kind": "none"})
    raw_points: Optional[np.ndarray] = None  # Playground: raw 2-D coords of the train split
    raw_extent: Optional[list[float]] = None  # Playground: [xmin, xmax, ymin, ymax]
    notes: list[str] = field(default_factory=list)  # things worth telling the user
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def parts(self) -> dict[str, Any]:
        return {"train": self.train, "val": self.val, "test": self.test}

    def describe(self) -> dict:
        sizes = {k: (len(p) if p is not None else 0) for k, p in self.parts().items()}
        balance: dict[str, list[int]] = {}
        for k, p in self.parts().items():
            if p is None or self.info.task != "classification":
                balance[k] = []
            else:
                labels = p.y if getattr(p, "labels", None) is None else p.labels  # a self-supervised split's
                counts = torch.bincount(labels.detach().cpu().long(), minlength=self.info.num_classes)
                balance[k] = [int(c) for c in counts.tolist()]
        return {
            "dataset": self.info.dataset,
            "input_shape": list(self.info.input_shape),
            "classes": list(self.info.classes),
            "sizes": sizes,
            "balance": balance,
            "normalize": self.norm.get("kind", "none"),
        }

    def transform(self, x: np.ndarray) -> torch.Tensor:
        """New raw inputs ``(N, *input_shape)`` → normalised float32 on the data's device
        (uint8 images count as pixels / 255)."""
        arr = np.asarray(x)
        shape = tuple(self.info.input_shape)
        if arr.shape[1:] != shape:
            raise ValueError(f"expected inputs of shape (N, {', '.join(map(str, shape))}), got {arr.shape}")
        return _to_tensor(arr, np.arange(len(arr)), self.norm, self.device)


# ---------------------------------------------------------------------------
# Normalisation


def _raw_float(chunk: np.ndarray) -> np.ndarray:
    if chunk.dtype == np.uint8:
        return chunk.astype(np.float32) / np.float32(255.0)
    return chunk.astype(np.float32, copy=False)


def _axes(ndim: int) -> tuple[int, ...]:
    """Axes reduced when fitting: all but the feature axis (tabular ``(N, F)``) or the
    channel axis (images ``(N, C, H, W)``, sequences ``(N, C, L)``)."""
    return (0,) if ndim == 2 else (0,) + tuple(range(2, ndim))


def _rows_per_chunk(x: np.ndarray) -> int:
    per_row = int(np.prod(x.shape[1:], dtype=np.int64)) * 4
    return max(1, _CHUNK_BYTES // max(1, per_row))


def _chunks(x: np.ndarray, idx: np.ndarray) -> Iterator[np.ndarray]:
    idx = np.sort(idx)  # statistics do not care about order; memory does
    step = _rows_per_chunk(x)
    for a in range(0, len(idx), step):
        yield _raw_float(x[idx[a:a + step]])


def _fit_norm(kind: str, x: np.ndarray, idx: np.ndarray) -> dict:
    """Normalisation parameters fitted on the rows ``idx`` of ``x`` (the training split)."""
    if kind == "none" or x.ndim < 2:
        return {"kind": "none"}
    axes = _axes(x.ndim)
    per = "feature" if x.ndim == 2 else "channel"
    c = x.shape[1]
    bshape = (1, c) + (1,) * (x.ndim - 2)
    if kind == "standard":
        total = np.zeros(c, np.float64)
        count = 0
        for chunk in _chunks(x, idx):
            total += chunk.sum(axis=axes, dtype=np.float64)
            count += chunk.size // c
        mean = total / max(count, 1)
        sq = np.zeros(c, np.float64)
        m = mean.reshape(bshape).astype(np.float32)
        for chunk in _chunks(x, idx):
            chunk -= m
            sq += np.square(chunk, out=chunk).sum(axis=axes, dtype=np.float64)
        std = np.sqrt(sq / max(count, 1))
        return {"kind": "standard", "per": per, "mean": mean.tolist(), "std": std.tolist()}
    lo = np.full(c, np.inf)
    hi = np.full(c, -np.inf)
    for chunk in _chunks(x, idx):
        lo = np.minimum(lo, chunk.min(axis=axes))
        hi = np.maximum(hi, chunk.max(axis=axes))
    return {"kind": "minmax", "per": per, "min": lo.tolist(), "max": hi.tolist()}


def _affine(norm: dict, ndim: int) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """``(shift, scale)`` shaped to broadcast over ``(N, C, ...)``: x → (x - shift) / scale.
    A constant feature or channel keeps scale 1."""
    kind = norm.get("kind", "none")
    if kind == "standard":
        shift = np.asarray(norm["mean"], np.float64)
        scale = np.asarray(norm["std"], np.float64)
    elif kind == "minmax":
        shift = np.asarray(norm["min"], np.float64)
        scale = np.asarray(norm["max"], np.float64) - shift
    else:
        return None, None
    scale = np.where(scale > 1e-12, scale, 1.0)
    bshape = (1, len(shift)) + (1,) * (ndim - 2)
    return shift.astype(np.float32).reshape(bshape), scale.astype(np.float32).reshape(bshape)


def affine(norm: dict) -> tuple[Optional[list[float]], Optional[list[float]]]:
    """The normalisation as applied, per feature or channel: ``(shift, scale)`` with
    x → (x - shift) / scale (a constant feature's scale is 1), as float32 values; ``(None,
    None)`` without normalisation. What inference outside tuidl must reproduce."""
    shift, scale = _affine(norm, 2)
    if shift is None or scale is None:
        return None, None
    return [float(v) for v in shift.reshape(-1)], [float(v) for v in scale.reshape(-1)]


def _to_tensor(x: np.ndarray, idx: np.ndarray, norm: dict, device: torch.device) -> torch.Tensor:
    """Rows ``idx`` of ``x`` as a normalised float32 tensor on ``device``, converted a
    chunk at a time (a uint8 image set is never held in float on the CPU as a whole)."""
    out = torch.empty((len(idx),) + tuple(x.shape[1:]), dtype=torch.float32, device=device)
    shift, scale = _affine(norm, x.ndim)
    t_shift = None if shift is None else torch.from_numpy(shift).to(device)
    t_scale = None if scale is None else torch.from_numpy(scale).to(device)
    step = _rows_per_chunk(x)
    for a in range(0, len(idx), step):
        rows = np.ascontiguousarray(x[idx[a:a + step]])
        dst = out[a:a + len(rows)]
        dst.copy_(torch.from_numpy(rows).to(device))  # converts to float32 in place
        if rows.dtype == np.uint8:
            dst.div_(255.0)
        if t_shift is not None:
            dst.sub_(t_shift).div_(t_scale)
    return out


# ---------------------------------------------------------------------------
# Splitting


def _count(n: int, fraction: float) -> int:
    return 0 if fraction <= 0 else max(1, int(round(n * fraction)))


def _allocate(sizes: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Split ``total`` over classes in proportion to ``sizes`` (largest remainder, ties
    broken at random): every class gets its exact share rounded up or down. A class
    keeps at least one sample back for training where the total allows."""
    cap = np.where(sizes > 1, sizes - 1, 0)
    quota = sizes * (total / max(int(sizes.sum()), 1))
    out = np.minimum(np.floor(quota).astype(np.int64), cap)
    left = total - int(out.sum())
    order = np.lexsort((rng.random(len(sizes)), -(quota - out)))
    for limit in (cap, sizes):  # first within the caps, then (tiny classes) beyond them
        while left > 0 and (out < limit).any():
            for c in order:
                if left > 0 and out[c] < limit[c]:
                    out[c] += 1
                    left -= 1
    return out


def _split(n: int, strat: Optional[np.ndarray], val: float, test: float, seed: int,
           notes: list[str]) -> tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
    """Indices of train / val / test over ``n`` samples; ``val`` and ``test`` are fractions
    of ``n``. ``strat``: class labels to stratify on, or None. Stratified, every split
    holds each class's share of it to within one sample.

    (Written here with numpy rather than scikit-learn's ``train_test_split``: importing
    scikit-learn costs about 2 s, which every run would pay before its first step.)"""
    n_test, n_val = _count(n, test), _count(n, val)
    if n - n_test - n_val < 1:
        raise ConfigError([Problem("data.split", f"{n} samples are too few for this split "
                                                 f"({n_val} for validation, {n_test} for test)")])
    rng = np.random.default_rng(seed)
    if strat is None:
        perm = rng.permutation(n)
        test_idx, val_idx, rest = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
    else:
        classes, inverse = np.unique(strat, return_inverse=True)
        members = [rng.permutation(np.flatnonzero(inverse == c)) for c in range(len(classes))]
        sizes = np.array([len(m) for m in members])
        n_te = _allocate(sizes, n_test, rng)
        n_va = _allocate(sizes - n_te, n_val, rng)
        test_idx = np.concatenate([m[:a] for m, a in zip(members, n_te)])
        val_idx = np.concatenate([m[a:a + b] for m, a, b in zip(members, n_te, n_va)])
        rest = np.concatenate([m[a + b:] for m, a, b in zip(members, n_te, n_va)])
        test_idx, val_idx, rest = rng.permutation(test_idx), rng.permutation(val_idx), rng.permutation(rest)
        splits = 1 + (n_val > 0) + (n_test > 0)
        short = [f"{c} ({size})" for c, size in zip(classes, sizes) if size < splits]
        if short:
            notes.append(f"too few samples to stratify class(es) {', '.join(short)} across all {splits} splits; "
                         "the other classes are stratified")
    return rest, (val_idx if n_val else None), (test_idx if n_test else None)


# ---------------------------------------------------------------------------
# Sources: what a dataset gives before splitting (each kind loads its own:
# tuidl.core.data.kinds)


def _source(preset: Preset) -> Source:
    return catalog.DATASETS[preset.data.dataset].source(preset.data.params, preset.seed)


def _folder_norm(kind: str, ds: Any, idx: np.ndarray, channels: int, workers: int) -> dict:
    """Per-channel statistics of the training images (one pass through a DataLoader)."""
    if kind == "none":
        return {"kind": "none"}
    from torch.utils.data import DataLoader

    groups = [idx[i:i + 64].tolist() for i in range(0, len(idx), 64)]
    total = np.zeros(channels, np.float64)
    sq = np.zeros(channels, np.float64)
    lo = np.full(channels, np.inf)
    hi = np.full(channels, -np.inf)
    count = 0
    try:
        for xb, _ in DataLoader(ds, batch_sampler=groups, num_workers=workers):
            arr = xb.numpy().astype(np.float64)
            total += arr.sum(axis=(0, 2, 3))
            sq += np.square(arr).sum(axis=(0, 2, 3))
            lo = np.minimum(lo, arr.min(axis=(0, 2, 3)))
            hi = np.maximum(hi, arr.max(axis=(0, 2, 3)))
            count += arr.shape[0] * arr.shape[2] * arr.shape[3]
    except (OSError, ValueError) as e:
        raise ConfigError([Problem("data.params.path", f"cannot read an image: {e}")]) from None
    if kind == "standard":
        mean = total / max(count, 1)
        std = np.sqrt(np.maximum(sq / max(count, 1) - mean * mean, 0.0))
        return {"kind": "standard", "per": "channel", "mean": mean.tolist(), "std": std.tolist()}
    return {"kind": "minmax", "per": "channel", "min": lo.tolist(), "max": hi.tolist()}


# ---------------------------------------------------------------------------


@dataclass(eq=False)
class _Plan:
    """A dataset's source and its split into indices (numpy; no tensors yet)."""

    src: Source
    x: Optional[np.ndarray]  # what the indices index (the official test set apart)
    y: np.ndarray
    train_idx: np.ndarray
    val_idx: Optional[np.ndarray]
    test_idx: Optional[np.ndarray]
    official: bool  # the test split is the dataset's official test set (src.test_x / test_y)
    notes: list[str]


def _plan(preset: Preset) -> _Plan:
    d = preset.data
    split = d.split
    src = _source(preset)
    notes: list[str] = []
    classification = src.info.task == "classification"
    official = split.official_test and src.test_x is not None

    x, y = src.x, src.y
    if not official and src.pool_includes_test and src.test_x is not None:
        x = np.concatenate([x, src.test_x])
        y = np.concatenate([y, src.test_y])
    n = len(y)
    strat = y if (split.stratify and classification) else None
    if official:
        val_frac = split.val / (split.train + split.val)
        train_idx, val_idx, test_idx = _split(n, strat, val_frac, 0.0, preset.seed, notes)
    else:
        train_idx, val_idx, test_idx = _split(n, strat, split.val, split.test, preset.seed, notes)
    return _Plan(src, x, y, train_idx, val_idx, test_idx, official, notes)


@dataclass(eq=False)
class Peek:
    """A dataset split and normalised as :func:`load` does it, held as numpy arrays and
    indices: what the Dataset pane shows (sizes, class balance, samples), no tensors."""

    info: catalog.DataInfo
    describe: dict  # the same as Loaded.describe()
    notes: list[str]
    norm: dict
    train_y: np.ndarray  # the training split's targets
    raw_points: Optional[np.ndarray]  # Playground: raw 2-D coords of the train split
    _x: np.ndarray
    _train_idx: np.ndarray

    def take(self, indices: Any) -> tuple[np.ndarray, np.ndarray]:
        """Training samples ``indices`` (into the split), normalised float32 as the
        trainer sees them, and their targets."""
        idx = self._train_idx[np.asarray(indices, dtype=np.int64).reshape(-1)]
        xs = _raw_float(np.ascontiguousarray(self._x[idx])).copy()
        shift, scale = _affine(self.norm, xs.ndim)
        if shift is not None:
            xs = (xs - shift) / scale
        return xs.astype(np.float32, copy=False), self.train_y[np.asarray(indices, dtype=np.int64).reshape(-1)]


def peek(preset: Preset) -> Optional[Peek]:
    """The preset's dataset split and described with numpy alone (see :class:`Peek`);
    None for an image folder, which only :func:`load` reads."""
    plan = _plan(preset)
    src = plan.src
    if src.folder is not None or plan.x is None:
        return None
    parts = {"train": (plan.y, plan.train_idx), "val": (plan.y, plan.val_idx),
             "test": (src.test_y, None) if plan.official else (plan.y, plan.test_idx)}
    sizes: dict[str, int] = {}
    balance: dict[str, list[int]] = {}
    for name, (ys, idx) in parts.items():
        if name == "test" and plan.official:
            part_y = ys
        else:
            part_y = None if idx is None else ys[idx]
        sizes[name] = 0 if part_y is None else len(part_y)
        if part_y is None or src.info.task != "classification":
            balance[name] = []
        else:
            balance[name] = [int(c) for c in np.bincount(part_y.astype(np.int64), minlength=src.info.num_classes)]
    norm = _fit_norm(preset.data.normalize, plan.x, plan.train_idx)
    describe = {"dataset": src.info.dataset, "input_shape": list(src.info.input_shape),
                "classes": list(src.info.classes), "sizes": sizes, "balance": balance,
                "normalize": norm.get("kind", "none")}
    points = src.points[plan.train_idx] if src.points is not None else None
    return Peek(src.info, describe, plan.notes, norm, np.ascontiguousarray(plan.y[plan.train_idx]), points,
                plan.x, plan.train_idx)


def load(preset: Preset, device: str | torch.device = "cpu") -> Loaded:
    """Load, split and normalise the preset's dataset; the parts live on ``device``."""
    dev = torch.device(device)
    d = preset.data
    plan = _plan(preset)
    src, x, y, notes, official = plan.src, plan.x, plan.y, plan.notes, plan.official
    train_idx, val_idx, test_idx = plan.train_idx, plan.val_idx, plan.test_idx

    if src.folder is not None:
        ds = src.folder
        norm = _folder_norm(d.normalize, ds, train_idx, src.info.input_shape[0], d.workers)
        y_all = torch.from_numpy(y)

        def folder_part(idx: Optional[np.ndarray]) -> Optional[FolderPart]:
            if idx is None:
                return None
            return FolderPart(ds, idx, y_all[torch.from_numpy(idx)].to(dev), norm, dev, d.workers,
                              src.info.input_shape)

        return Loaded(src.info, folder_part(train_idx), folder_part(val_idx), folder_part(test_idx),
                      norm, notes=notes, device=dev)

    assert x is not None
    norm = _fit_norm(d.normalize, x, train_idx)

    def part(xs: np.ndarray, ys: np.ndarray, idx: Optional[np.ndarray]) -> Optional[Part]:
        if idx is None:
            return None
        return Part(_to_tensor(xs, idx, norm, dev), torch.from_numpy(np.ascontiguousarray(ys[idx])).to(dev))

    train = part(x, y, train_idx)
    val = part(x, y, val_idx)
    if official:
        assert src.test_x is not None and src.test_y is not None
        test = part(src.test_x, src.test_y, np.arange(len(src.test_y)))
    else:
        test = part(x, y, test_idx)
    points = extent = None
    if src.points is not None:
        points = src.points[train_idx]
        extent = list(playground.EXTENT)
    return Loaded(src.info, train, val, test, norm, points, extent, notes, dev)
