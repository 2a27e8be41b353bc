"""Where a run trains and from which seed: the device a preset asks for, seeding every
generator, and the warm-up a standby trainer does before its run arrives."""

from __future__ import annotations

import contextlib
import os
import random
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn

from tuidl.core.run import events as E
from tuidl.core.preset.schema import ConfigError


def pick_device(name: str) -> torch.device:
    """The device a preset asks for; a clear error when it is not there."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            why = "PyTorch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise ConfigError(f"train.device: {name!r} requested, but {why}; use --device cpu")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"train.device: {name!r} requested, but only "
                              f"{torch.cuda.device_count()} CUDA device(s) are visible")
        return torch.device("cuda", index)
    if name == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ConfigError("train.device: 'mps' requested, but Apple's MPS is not available here")
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    import platform

    return platform.processor() or platform.machine() or "CPU"


def seed_everything(seed: int, deterministic: bool, device: torch.device | None = None) -> None:
    """Seed every generator. ``deterministic`` asks PyTorch for deterministic kernels on
    CUDA; CPU kernels already are (and the switch costs ~2 s of imports at start-up)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic and device is not None and device.type == "cuda":
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def warm_up() -> None:
    """Load what a run needs before its first step: the data and model modules, and
    PyTorch's compiler stack, which PyTorch imports at the first optimizer it builds
    (over a second on a small CPU). A standby trainer (``launch.Standby``) calls this
    while it waits for its run."""
    from tuidl.core.data import data
    from tuidl.core.model import model  # noqa: F401

    layer = nn.Linear(2, 1)
    opt = torch.optim.Adam(layer.parameters())
    layer(torch.zeros(1, 2)).sum().backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


@contextlib.contextmanager
def telemetry(emit: Callable[..., Any], device: torch.device, enabled: bool = True) -> Iterator[None]:
    """``telemetry`` events (GPUs, the host, this process) about once a second while
    inside (``tuidl.core.system.telemetry``), if ``enabled``."""
    thread = None
    if enabled:
        try:
            from tuidl.core.system.telemetry import TelemetryThread
        except ImportError:
            pass
        else:
            thread = TelemetryThread(lambda payload: emit(E.TELEMETRY, **payload), device=device)
            thread.start()
    try:
        yield
    finally:
        if thread is not None:
            thread.stop()
