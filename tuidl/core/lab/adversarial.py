"""The adversarial test: how much of the test accuracy survives small, deliberate
changes of the input (Goodfellow et al. 2015, FGSM; Madry et al. 2018, PGD).

For each ε of ``train.instruments.adversarial_eps`` every test example (at most
``SAMPLES``) is attacked within an L∞ ball of radius ε around it:

* **FGSM**: one step ``x + ε·sign(∇ₓ loss)``;
* **PGD**: a random start in the ball, then ``PGD_STEPS`` steps of ``2.5·ε / PGD_STEPS``
  along the gradient's sign, each projected back into the ball.

**Units**: ε is in standard deviations of the input the model sees (the normalised
input): one unit is the standard deviation of the model's training inputs (``eps_scale``,
1 for ``data.normalize = "standard"``). The attacked input is not clipped to the data's
range.

**Accuracy cannot rise with ε, by construction and honestly**: an example counts as
robust at ε only if it is classified correctly clean and under the same attack at every
ε' ≤ ε of the list (a perturbation within ε' is also within ε, so a fooled example stays
fooled). At ε = 0 the accuracy is the clean accuracy.

Classification only: a regression model has no accuracy to attack.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import torch
from torch import nn

from tuidl.core.preset.schema import ConfigError
from tuidl.core.train.steps import loss_target, make_loss

SAMPLES = 1000  # test examples attacked at most (the first of the split, which is in random order)
PGD_STEPS = 10
BATCH = 250  # examples attacked at once


def check_eps(eps: list[float]) -> list[float]:
    """The ε list sorted, without repeats; a clear error for a negative or non-finite one."""
    for e in eps:
        if not (isinstance(e, (int, float)) and math.isfinite(e) and e >= 0):
            raise ConfigError(f"ε must be a number ≥ 0 (in standard deviations of the input), got {e!r}")
    if not eps:
        raise ConfigError("give at least one ε")
    return sorted(set(float(e) for e in eps))


def predicted(out: torch.Tensor, loss_kind: str) -> torch.Tensor:
    return (out[:, 0] > 0).long() if loss_kind == "bce" else out.argmax(dim=1)


def _input_grad(model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    loss = loss_fn(model(x).float(), target)
    return torch.autograd.grad(loss, x)[0]


def fgsm(model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, target: torch.Tensor, eps: float) -> torch.Tensor:
    return x + eps * _input_grad(model, loss_fn, x, target).sign()


def pgd(model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, target: torch.Tensor, eps: float, steps: int,
        gen: torch.Generator) -> torch.Tensor:
    step = 2.5 * eps / steps
    delta = ((torch.rand(x.shape, generator=gen) * 2 - 1) * eps).to(x.device, x.dtype)
    for _ in range(steps):
        delta = (delta + step * _input_grad(model, loss_fn, x + delta, target).sign()).clamp(-eps, eps)
    return x + delta


def robust(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: list[float], *, loss_kind: str, scale: float = 1.0,
           pgd_steps: int = PGD_STEPS, seed: int = 0) -> dict[str, Any]:
    """Clean, FGSM and PGD accuracy of ``model`` on ``(x, y)`` at each ε (sorted, ε in
    units of ``scale``); the model in evaluation mode meanwhile, its mode as before after.
    Returns the ``adversarial`` event's fields but ``epoch``."""
    eps = check_eps(eps)
    loss_fn = make_loss(loss_kind, 0.0)
    gen = torch.Generator().manual_seed(seed)
    training = model.training
    model.eval()
    t0 = time.perf_counter()
    try:
        batches = [_attack_batch(model, loss_fn, x[a:a + BATCH], y[a:a + BATCH], eps, loss_kind=loss_kind,
                                 scale=scale, pgd_steps=pgd_steps, gen=gen) for a in range(0, len(y), BATCH)]
    finally:
        model.train(training)
    clean, by_fgsm, by_pgd = (torch.cat(rows, dim=-1).sum(dim=-1) for rows in zip(*batches))
    n = len(y)
    return {"eps": eps, "clean": _acc(clean, n), "fgsm": [_acc(c, n) for c in by_fgsm],
            "pgd": [_acc(c, n) for c in by_pgd], "pgd_steps": pgd_steps, "samples": n, "eps_unit": "std",
            "eps_scale": round(scale, 6), "seconds": round(time.perf_counter() - t0, 3)}


def _attack_batch(model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: list[float], *,
                  loss_kind: str, scale: float, pgd_steps: int, gen: torch.Generator):
    """``(right, fgsm, pgd)`` for one batch: which examples are right clean, and for each
    attack a ``(len(eps), n)`` table of those still right at each ε and every smaller one."""
    target = loss_target(loss_kind, y)
    right = _correct(model, x, y, loss_kind)

    def survivors(attack: Callable[[float], torch.Tensor]) -> torch.Tensor:
        rows, alive = [], right
        for e in eps:
            if e > 0:
                alive = alive & _correct(model, attack(e * scale), y, loss_kind)
            rows.append(alive)
        return torch.stack(rows)

    return (right, survivors(lambda e: fgsm(model, loss_fn, x, target, e)),
            survivors(lambda e: pgd(model, loss_fn, x, target, e, pgd_steps, gen)))


def _correct(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_kind: str) -> torch.Tensor:
    with torch.no_grad():
        return predicted(model(x), loss_kind) == y


def _acc(count: torch.Tensor, n: int) -> float:
    return round(float(count) / max(n, 1), 6)


def input_scale(part: Any, samples: int = SAMPLES) -> float:
    """One ε unit in the model's input: the standard deviation of (a sample of) the
    training inputs, 1 when it is 0 or not a number."""
    x, _ = part.take(torch.arange(min(len(part), samples)))
    sd = float(x.float().std()) if x.numel() > 1 else 1.0
    return sd if math.isfinite(sd) and sd > 0 else 1.0


def adversarial_event(model: torch.nn.Module, subject: Any, eps: list[float], *, epoch: int, step: int,
                      samples: int = SAMPLES) -> dict[str, Any]:
    """The ``adversarial`` event's fields for ``model`` as it is now, on ``subject``'s
    (a :class:`~tuidl.core.train.state.Subject`) test split (the validation split when it has none). Raises ConfigError for a
    regression model or a run with neither split."""
    if subject.task != "classification":
        raise ConfigError("the adversarial test is for classification; this model does regression")
    split, part = next(((name, p) for name, p in (("test", subject.data.test), ("val", subject.data.val))
                        if p is not None and len(p)), (None, None))
    if part is None:
        raise ConfigError("the adversarial test needs a test or validation split; this data has neither")
    x, y = part.take(torch.arange(min(len(part), samples)))
    fields = robust(model, x.float(), y, eps, loss_kind=subject.loss_kind, scale=input_scale(subject.data.train),
                    seed=subject.seed)
    return {"epoch": epoch, "step": step, **fields, "split": split}
