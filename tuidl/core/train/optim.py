"""The optimizer and the learning-rate schedule a preset names."""

from __future__ import annotations

import math
from typing import Any

import torch

from tuidl.core.preset import preset as P


def make_optimizer(cfg: P.Optimizer, params) -> torch.optim.Optimizer:
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.rho, eps=cfg.eps, momentum=cfg.momentum,
                                   weight_decay=cfg.weight_decay)
    cls = torch.optim.AdamW if cfg.name == "adamw" else torch.optim.Adam
    return cls(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, weight_decay=cfg.weight_decay)


class Schedule:
    """The preset's learning-rate schedule on top of PyTorch's schedulers, with an
    optional linear warmup. ``after_step`` runs after every optimizer step (only
    one-cycle, ``per_step``, has anything to do there), ``after_epoch`` after each
    epoch's validation."""

    def __init__(self, opt: torch.optim.Optimizer, cfg: P.Schedule, lr: float, epochs: int, steps: int):
        S = torch.optim.lr_scheduler
        self.cfg, self.opt, self.base_lr = cfg, opt, lr
        self.epochs, self.steps = epochs, steps
        warm = min(cfg.warmup_epochs, epochs)
        self.per_step = cfg.name == "onecycle"
        self.plateau = None
        self.sched: Any = None
        if cfg.name == "onecycle":
            pct = warm / epochs if warm else 0.3
            self.sched = S.OneCycleLR(opt, max_lr=cfg.max_lr or lr * 10, total_steps=max(1, epochs * steps),
                                      pct_start=min(max(pct, 0.01), 0.99))
            return
        if cfg.name == "plateau":
            self.warm = warm
            self.plateau = S.ReduceLROnPlateau(opt, mode="min", factor=cfg.factor, patience=cfg.patience,
                                               min_lr=cfg.min_lr)
            if warm:
                self._set_lr(lr * 0.01)
            return
        if cfg.name == "step":
            main = S.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
        elif cfg.name == "cosine":
            main = S.CosineAnnealingLR(opt, T_max=max(1, epochs - warm), eta_min=cfg.min_lr)
        else:  # constant: nothing to schedule (a torch scheduler would wrap every optimizer step)
            main = None
        if warm:
            main = main or S.ConstantLR(opt, factor=1.0, total_iters=0)
            ramp = S.LinearLR(opt, start_factor=0.01, end_factor=1.0, total_iters=warm)
            self.sched = S.SequentialLR(opt, [ramp, main], milestones=[warm])
        else:
            self.sched = main

    def _set_lr(self, lr: float) -> None:
        for group in self.opt.param_groups:
            group["lr"] = lr

    def lr(self) -> float:
        return float(self.opt.param_groups[0]["lr"])

    def after_step(self) -> None:
        if self.per_step:
            self.sched.step()

    def after_epoch(self, epoch: int, metric: float | None) -> None:
        if self.per_step:
            return
        if self.plateau is not None:
            if epoch < self.warm:
                self._set_lr(self.base_lr * (0.01 + 0.99 * epoch / self.warm))
            elif epoch == self.warm and self.warm:
                self._set_lr(self.base_lr)
            elif metric is not None and math.isfinite(metric):
                self.plateau.step(metric)
            return
        if self.sched is not None:
            self.sched.step()

    def state_dict(self) -> dict:
        target = self.plateau if self.plateau is not None else self.sched
        return {"sched": None if target is None else target.state_dict(),
                "lr": [g["lr"] for g in self.opt.param_groups]}

    def load_state_dict(self, state: dict, epochs_done: int = 0, steps_done: int = 0) -> None:
        """Restore a checkpoint's schedule. One saved for another run length (a run resumed
        with more epochs, whose schedule follows its length: cosine, one-cycle, a warmup
        capped by the epochs) is built again for this length and moved on to where the run
        is, so the rest of the run follows the schedule of a run planned this long."""
        target = self.plateau if self.plateau is not None else self.sched
        saved = state.get("sched")
        if self.plateau is None and target is not None and saved is not None \
                and _lengths(saved) != _lengths(target.state_dict()):
            self._fast_forward(epochs_done, steps_done)
            return
        if target is not None and saved is not None:
            target.load_state_dict(saved)
        for group, lr in zip(self.opt.param_groups, state["lr"]):
            group["lr"] = lr

    def _fast_forward(self, epochs_done: int, steps_done: int) -> None:
        for group in self.opt.param_groups:  # as before the first step: the schedulers start from here
            group["lr"] = self.base_lr
            for key in ("initial_lr", "max_lr", "min_lr"):
                group.pop(key, None)
        import warnings

        self.__init__(self.opt, self.cfg, self.base_lr, self.epochs, self.steps)  # type: ignore[misc]
        with warnings.catch_warnings():  # replaying the steps taken: no optimizer step goes with them
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)`")
            if self.per_step:
                for _ in range(steps_done):
                    self.after_step()
            else:
                for epoch in range(1, epochs_done + 1):
                    self.after_epoch(epoch, None)


_LENGTH_KEYS = ("T_max", "total_steps", "total_iters", "_milestones", "milestones")


def _lengths(state: Any) -> list:
    """The fields of a scheduler's state that follow the run's length (nested ones too)."""
    out: list = []
    if isinstance(state, dict):
        for key in sorted(state, key=str):
            if key in _LENGTH_KEYS:
                out.append((key, state[key]))
            elif key == "_schedulers" and isinstance(state[key], list):
                out += [_lengths(s) for s in state[key]]
    return out
