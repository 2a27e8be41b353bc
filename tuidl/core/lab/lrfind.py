"""The learning-rate range test (Smith 2017, "Cyclical learning rates"; Lightning's
``Tuner.lr_find``, fastai's ``lr_find``).

A fresh copy of the preset's model (the Trainer's own set-up: same seed, data, batches,
optimizer kind and settings, gradient clipping, penalties and precision; no schedule)
trains for up to ``steps`` minibatches while the learning rate grows exponentially from
``lr_min`` to ``lr_max``. It stops early when the smoothed loss passes ``DIVERGE`` times
the best smoothed loss so far (or is not finite): the learning rate is too large there.

Two suggestions come from the curve:

* ``suggestion`` (tuidl's): the learning rate at the minimum of the raw losses averaged
  over a centred window (``window``: a tenth of the steps, about 0.7 decades of lr with
  the defaults), divided by 10 (fastai's original "minimum over ten" rule). A centred
  average has no lag, where the exponential smoothing, over some 50 steps at β = 0.98,
  trails the raw curve by several decades of lr in a 100-step test; near the divergence
  the window already sees the loss rising, so the minimum lands before the edge, not on
  it; and a minimum is a stable statistic, where a derivative amplifies the noise.
  A tenth of it lies where the loss still falls quickly, well below the divergence.
* ``lightning``: Lightning's ``_LRFinder.suggestion``: the point of steepest descent,
  the most negative ``d loss / d lr`` (a derivative in lr itself, not in log lr) over the
  curve less its first 10 points and its last one, on the loss smoothed as Lightning's
  ``_LRCallback`` smooths it. Derivatives of a noisy curve are noisy, and in linear lr
  the closely spaced small learning rates weigh most: it moves with the seed.

``bench/lr_find.py`` compares short trainings at both suggestions.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Iterator

import numpy as np
import torch

from tuidl.core.preset import preset as P
from tuidl.core.preset.schema import ConfigError
from tuidl.core.lab.prepare import prepared

BETA = 0.98  # exponential smoothing of the loss (fastai, Lightning)
DIVERGE = 4.0  # stop when the smoothed loss exceeds this many times the best
LIGHTNING_SKIP = (10, 1)  # Lightning's suggestion leaves out this many points at the start and at the end


@dataclass
class LRFind:
    """A range test's curve and its suggestions (``lightning`` is None with too few points)."""

    lrs: list[float]
    losses: list[float]  # raw: each step's minibatch loss
    smoothed: list[float]  # exponentially smoothed, bias-corrected
    suggestion: float
    lightning: float | None
    steps_run: int
    diverged: bool
    lr_min: float
    lr_max: float

    def to_json(self, preset: str, lr: float) -> dict[str, Any]:
        """What ``tuidl lr-find --json`` prints (the dashboard reads it)."""
        out = asdict(self)
        out["steps"] = out.pop("steps_run")
        return {**out, "preset": preset, "lr": lr}


def check_range(steps: int, lr_min: float, lr_max: float) -> None:
    if steps < 2:
        raise ConfigError(f"steps must be at least 2, got {steps}")
    if not (math.isfinite(lr_min) and math.isfinite(lr_max) and 0 < lr_min < lr_max):
        raise ConfigError(f"the learning-rate range must have 0 < lr_min < lr_max, got {lr_min:g}..{lr_max:g}")


def lr_find(preset: P.Preset, *, steps: int = 100, lr_min: float = 1e-7, lr_max: float = 1.0,
            device: str | None = None, allow_code: tuple[str, ...] = ()) -> LRFind:
    """Run the range test on ``preset`` (left as it is, as is the global random state)."""
    check_range(steps, lr_min, lr_max)
    constant = P.edit(preset, {"train.schedule.name": "constant", "train.schedule.warmup_epochs": 0}).preset
    lrs, losses, smoothed = [], [], []
    avg, best, diverged = 0.0, math.inf, False
    with prepared(constant, device=device, allow_code=allow_code) as t:
        t.model.train()
        for i, (x, y) in zip(range(steps), _batches(t)):
            lr = lr_min * (lr_max / lr_min) ** (i / (steps - 1))
            for group in t.state.optimizer.param_groups:
                group["lr"] = lr
            loss = float(t.step(x, y)[1].item())
            avg = BETA * avg + (1 - BETA) * loss
            smooth = avg / (1 - BETA ** (i + 1))
            lrs.append(lr), losses.append(loss), smoothed.append(smooth)
            if not math.isfinite(smooth) or (i > 0 and smooth > DIVERGE * best):
                diverged = True
                break
            best = min(best, smooth)
    return LRFind(lrs, losses, smoothed, suggest(lrs, losses), lightning_suggestion(lrs, losses), len(lrs),
                  diverged, lr_min, lr_max)


def _batches(t: Any) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The training batches in the order a run sees them, epoch after epoch (the run's
    shuffle generator, advanced once per epoch as the Trainer does)."""
    size = t.preset.data.batch_size
    while True:
        gen = torch.Generator().manual_seed(0)
        gen.set_state(t.state.shuffle.get_state())
        torch.randperm(8, generator=t.state.shuffle)
        yield from t.data.train.batches(size, shuffle=True, generator=gen)


def window(steps: int) -> int:
    """Points in tuidl's centred average: a tenth of the steps, odd, at least 3."""
    return max(3, steps // 10) | 1


def centred_mean(values: list[float], width: int) -> np.ndarray:
    """Each point's mean over the ``width`` points centred on it (fewer at the ends)."""
    a = np.asarray(values, dtype=float)
    half = width // 2
    return np.array([a[max(0, i - half):i + half + 1].mean() for i in range(len(a))])


def suggest(lrs: list[float], losses: list[float]) -> float:
    """tuidl's suggestion: the lr at the minimum of the centred mean of the raw losses,
    over 10 (never below the first lr tried)."""
    curve = centred_mean(losses, window(len(losses)))
    curve[~np.isfinite(curve)] = np.inf
    return max(lrs[0], lrs[int(np.argmin(curve))] / 10)


def lightning_smoothed(losses: list[float]) -> list[float]:
    """The loss smoothed as Lightning's ``_LRCallback`` does: its bias correction counts
    the steps from one, one more than it has averaged."""
    out, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = BETA * avg + (1 - BETA) * loss
        out.append(avg / (1 - BETA ** (i + 2)))
    return out


def steepest(lrs: list[float], curve: list[float], skip_begin: int, skip_end: int) -> float | None:
    """The lr of the most negative ``d curve / d lr`` (second-order differences on the
    uneven lr grid, first-order at the ends) over the curve less ``skip_begin`` points at
    the start and ``skip_end`` at the end, non-finite points left out; None with fewer
    than two points."""
    ys = np.asarray(curve[skip_begin:len(curve) - skip_end], dtype=float)
    xs = np.asarray(lrs[skip_begin:len(lrs) - skip_end], dtype=float)
    finite = np.isfinite(ys)
    ys, xs = ys[finite], xs[finite]
    if len(ys) < 2:
        return None
    return float(xs[int(np.argmin(np.gradient(ys, xs)))])


def lightning_suggestion(lrs: list[float], losses: list[float]) -> float | None:
    """Lightning's suggestion for the raw ``losses`` at ``lrs`` (see the module docstring)."""
    return steepest(lrs, lightning_smoothed(losses), *LIGHTNING_SKIP)


def apply_lr(path: Any, lr: float) -> None:
    """Rewrite a preset file's ``train.optimizer.lr`` (the rest of its data kept; tomli-w
    writes it, so comments and layout are not kept). The result must load as a preset."""
    import tomllib

    import tomli_w

    from tuidl.core.run.rundir import write_atomic

    data = tomllib.loads(open(path, encoding="utf-8").read())
    data.setdefault("train", {}).setdefault("optimizer", {})["lr"] = lr
    text = tomli_w.dumps(data)
    P.load_text(text, str(path))
    write_atomic(path, text.encode())
