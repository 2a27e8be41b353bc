"""Self-supervised objectives: the input is its own target (``train.objective``).

* ``reconstruct``: the model outputs its input (an autoencoder);
* ``denoise``: it gets the input with Gaussian noise added (``train.noise`` standard
  deviations of the normalised input) and outputs the clean input;
* ``mask``: it gets the input with a random part hidden (``train.mask`` of its values
  set to 0, the mean of a standardised input) and outputs the whole input.

:func:`wrap` turns each split of a loaded dataset into a :class:`SelfPart`: its batches
are ``(input as the model sees it, clean input)``, so the loop, the meters and the
evaluation run unchanged, with the regression metrics (``loss`` and ``mae``, per value).
The labels stay with each part (:attr:`SelfPart.labels`): the model never sees them, the
latent map colours its codes by them and the linear probe scores them.

Training batches are corrupted afresh each time (PyTorch's generator, seeded with the
run); validation and test batches with a fixed seed, so their loss compares from epoch
to epoch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import torch

from tuidl.core.data.data import Part

EVAL_SEED = 1234  # the corruption of the validation and test splits, the same every time


def corrupt(x: torch.Tensor, objective: str, noise: float, mask: float,
            generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """``x`` as the model sees it under ``objective`` (a new tensor; ``x`` is not changed)."""
    if objective == "denoise" and noise > 0:
        return x + noise * torch.randn(x.shape, generator=generator, device="cpu").to(x.device)
    if objective == "mask" and mask > 0:
        keep = torch.rand(x.shape, generator=generator, device="cpu").to(x.device) >= mask
        return x * keep
    return x


@dataclass(eq=False)
class SelfPart(Part):
    """A split whose targets are its inputs: ``y`` is ``x`` (the same tensor), ``labels``
    the classes the model is not shown."""

    labels: Any = None
    objective: str = "reconstruct"
    noise: float = 0.0
    mask: float = 0.0
    fixed: bool = False  # corrupt with EVAL_SEED each time (validation, test)

    def seen(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        return corrupt(x, self.objective, self.noise, self.mask, generator)

    def _generator(self) -> Optional[torch.Generator]:
        return torch.Generator().manual_seed(EVAL_SEED) if self.fixed else None

    def batches(self, batch_size: int, shuffle: bool, generator: Optional[torch.Generator] = None,
                drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        noise = self._generator()
        for x, y in super().batches(batch_size, shuffle, generator, drop_last):
            yield self.seen(x, noise), y

    def take(self, indices: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = super().take(indices)
        return self.seen(x, self._generator()), y


def wrap(data: Any, train: Any) -> Any:
    """``data`` (a ``Loaded``) with each split a :class:`SelfPart` for ``train.objective``
    (``train``: the preset's ``train`` table); ``data`` itself for ``supervised``."""
    if train.objective == "supervised":
        return data

    def part(p: Any, fixed: bool) -> Optional[SelfPart]:
        if p is None:
            return None
        if not isinstance(p, Part):
            from tuidl.core.preset.schema import ConfigError

            raise ConfigError(f"train.objective: {train.objective} needs a dataset held in memory, "
                              "not an image folder streamed from disk")
        return SelfPart(p.x, p.x, labels=p.y, objective=train.objective, noise=train.noise, mask=train.mask,
                        fixed=fixed)

    return dataclasses.replace(data, train=part(data.train, False), val=part(data.val, True),
                               test=part(data.test, True))


def labels_of(part: Any) -> Any:
    """A split's class labels: a :class:`SelfPart`'s ``labels``, else its targets."""
    labels = getattr(part, "labels", None)
    return part.y if labels is None else labels
