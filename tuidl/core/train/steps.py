"""One training step, chosen once at set-up.

:func:`make_step` puts the step together from the run's settings before the first
batch: the forward pass and loss (plain fp32, or under autocast for bf16 / fp16), the
backward pass and update (plain, with gradient clipping, or through fp16's loss scaler),
then what the preset adds (L1 / L2 penalties, a data-parallel rank's share of the batch,
a per-step schedule) and the fault-injection hook (``core.faults``). The fp32 step
branches on nothing: it is what a hand-written loop does.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch
from torch import nn

Step = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
ForwardLoss = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def make_loss(kind: str, label_smoothing: float) -> nn.Module:
    if kind == "cce":
        return nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    if kind == "bce":
        return nn.BCEWithLogitsLoss()
    return nn.MSELoss()


def loss_target(kind: str, y: torch.Tensor) -> torch.Tensor:
    if kind == "bce":
        return y.float().unsqueeze(1)
    return y


def penalty(model: nn.Module, l1: float, l2: float) -> torch.Tensor | float:
    """L1 / L2 penalties on weight matrices and kernels (not biases or norm scales)."""
    total: torch.Tensor | float = 0.0
    for p in model.parameters():
        if p.dim() < 2:
            continue
        if l1:
            total = total + l1 * p.abs().sum()
        if l2:
            total = total + l2 * p.pow(2).sum()
    return total


def make_step(*, model: nn.Module, forward: Callable, loss_fn: nn.Module, loss_kind: str,
              optimizer: torch.optim.Optimizer, scaler: Any, amp_dtype: Optional[torch.dtype], device_type: str,
              channels_last: bool = False, clip: float = 0.0, l1: float = 0.0, l2: float = 0.0,
              after_step: Optional[Callable[[], None]] = None,
              weigh: Optional[Callable] = None,
              hook: Optional[Callable[[ForwardLoss], ForwardLoss]] = None) -> Step:
    """The training step: ``step(x, y) -> (out, loss, y)`` trains on one batch and returns
    the model's output and the (unweighted) loss for the metrics, and the labels they go
    with (a data-parallel rank with no share of the batch gets none back: ``weigh``).
    ``forward`` is the model as trained (compiled, or under DDP); ``after_step`` runs
    after each optimizer step (a one-cycle schedule); ``hook`` wraps the forward pass
    (fault injection)."""
    if amp_dtype is None:  # fp32: no autocast to enter and leave at every step
        def forward_loss(x, y):
            out = forward(x)
            return out, loss_fn(out, loss_target(loss_kind, y))
    else:
        def forward_loss(x, y):
            with torch.autocast(device_type, dtype=amp_dtype):
                out = forward(x)
                return out, loss_fn(out.float(), loss_target(loss_kind, y))
    if channels_last:
        plain_layout = forward_loss

        def forward_loss(x, y):
            return plain_layout(x.contiguous(memory_format=torch.channels_last), y)
    if hook is not None:
        forward_loss = hook(forward_loss)

    if scaler.is_enabled():  # fp16: the loss scaler guards against underflow
        def update(total):
            scaler.scale(total).backward()
            if clip:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            scaler.step(optimizer)
            scaler.update()
    elif clip:
        def update(total):
            total.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
    else:
        def update(total):
            total.backward()
            optimizer.step()

    regularized = bool(l1 or l2)

    def step(x, y):
        out, loss = forward_loss(x, y)
        total = loss + penalty(model, l1, l2) if regularized else loss
        if weigh is not None:  # this rank's share of the global batch (DDP averages over ranks)
            total, out, y = weigh(loss, total, out, y)
        optimizer.zero_grad(set_to_none=True)
        update(total)
        if after_step is not None:
            after_step()
        return out, loss, y

    return step
