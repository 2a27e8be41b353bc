"""The loss landscape around a model's weights (Li et al. 2018, "Visualizing the loss
landscape of neural nets"): the loss at ``θ + α·δ + β·η`` over a grid of α, β in
``[-span, span]``, and on a finer line along δ alone.

δ and η are random Gaussian directions, each **filter-normalised**: every filter of a
weight tensor (an output unit's row of a dense layer, a convolution's output channel:
one slice along the first axis) is scaled to the norm of the same filter of the weights,
so that a step of 1 changes each filter by as much as it weighs, and the picture does
not depend on how the network happens to scale its layers. Biases and the parameters of
normalisation layers (every one-dimensional parameter) get a zero direction, as in the
paper. The weights are put back exactly afterwards.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

SAMPLES = 1000  # training examples the loss is measured on (the first of a fixed random order)
LINE_PER_CELL = 4  # the 1-D line has this many points per grid interval


def filter_normalised(params: list[torch.Tensor], gen: torch.Generator) -> list[torch.Tensor]:
    """A random direction with one tensor per parameter (see the module docstring)."""
    out = []
    for p in params:
        if p.dim() <= 1:
            out.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=gen, dtype=torch.float32).to(p.device, p.dtype)
        shape = (-1,) + (1,) * (p.dim() - 1)
        scale = p.detach().flatten(1).norm(dim=1) / d.flatten(1).norm(dim=1).clamp_min(1e-12)
        out.append(d * scale.view(shape))
    return out


def landscape(model: nn.Module, loss_of: Callable[[nn.Module], float], *, steps: int = 21, span: float = 1.0,
              seed: int = 0) -> dict[str, Any]:
    """The loss ``loss_of(model)`` over the ``steps × steps`` grid (rows over β, columns
    over α) and along δ (``line``); the model in evaluation mode meanwhile, its weights and
    mode as before afterwards. Returns the ``landscape`` event's fields but ``epoch``,
    ``step`` and ``samples``."""
    params = [p for p in model.parameters() if p.requires_grad]
    base = [p.detach().clone() for p in params]
    gen = torch.Generator().manual_seed(seed)
    delta, eta = filter_normalised(params, gen), filter_normalised(params, gen)
    alphas = np.linspace(-span, span, steps).tolist()
    line_alphas = np.linspace(-span, span, LINE_PER_CELL * (steps - 1) + 1).tolist()
    training = model.training
    t0 = time.perf_counter()

    def put(values: list[torch.Tensor]) -> None:
        with torch.no_grad():
            for p, v in zip(params, values):
                p.copy_(v)

    def at(a: float, b: float) -> float:
        put([w + a * d + b * e for w, d, e in zip(base, delta, eta)])
        return round(float(loss_of(model)), 6)

    model.eval()
    try:
        grid = [[at(a, b) for a in alphas] for b in alphas]
        line = [at(a, 0.0) for a in line_alphas]
        put(base)
        center = round(float(loss_of(model)), 6)
    finally:
        put(base)
        model.train(training)
    return {"span": span, "steps": steps, "alphas": _round(alphas), "grid": grid, "line_alphas": _round(line_alphas),
            "line": line, "center_loss": center, "seconds": round(time.perf_counter() - t0, 3)}


def _round(values: list[float]) -> list[float]:
    return [round(v, 6) for v in values]


def sample_loss(subject: Any, samples: int = SAMPLES, seed: int = 0) -> tuple[Callable[[nn.Module], float], int]:
    """``(loss_of, n)``: the training loss of a model on a fixed sample of ``n ≤ samples``
    training examples of ``subject`` (a :class:`~tuidl.core.train.state.Subject`), without
    gradients."""
    part = subject.data.train
    order = torch.randperm(len(part), generator=torch.Generator().manual_seed(seed))[:samples]
    x, y = part.take(order)
    from tuidl.core.train.steps import loss_target

    target = loss_target(subject.loss_kind, y)

    @torch.no_grad()
    def loss_of(model: nn.Module) -> float:
        return float(subject.loss_fn(model(x).float(), target))

    return loss_of, len(order)


def landscape_event(model: nn.Module, subject: Any, *, epoch: int, step: int, steps: int = 21, span: float = 1.0,
                    samples: int = SAMPLES) -> dict[str, Any]:
    """The ``landscape`` event's fields for ``model`` as it is now, on ``subject``'s
    training data and loss (a :class:`~tuidl.core.train.state.Subject`)."""
    seed = subject.seed
    loss_of, n = sample_loss(subject, samples, seed)
    return {"epoch": epoch, "step": step, **landscape(model, loss_of, steps=steps, span=span, seed=seed),
            "samples": n}
