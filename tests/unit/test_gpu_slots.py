"""Which GPUs a sweep's trials and the queue's runs get (``driver.gpu_slots``,
``queue.slots_here``), and how the GPUs are counted (``telemetry.cuda_gpu_count``):
without an NVIDIA driver NVML says so and PyTorch is not asked. NVML and CUDA are faked
here (this machine has neither); the real count runs in bench/gpu_check.py on a GPU."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from tuidl.core.preset import preset as P
from tuidl.core.system import telemetry as T
from tuidl.core.preset.schema import ConfigError
from tuidl.core.sweep.driver import gpu_slots
from tuidl.core.sweep.queue import slots_here


class NVMLError(Exception):
    pass


class NVMLError_LibraryNotFound(NVMLError):  # noqa: N801 (pynvml's own class names)
    pass


class NVMLError_NoPermission(NVMLError):  # noqa: N801
    pass


def fake_nvml(monkeypatch, error: type[Exception] | None) -> list[str]:
    """A pynvml whose nvmlInit raises ``error`` (or starts); the calls made, in order."""
    calls: list[str] = []

    def init() -> None:
        calls.append("init")
        if error is not None:
            raise error()

    module = types.SimpleNamespace(NVMLError=NVMLError, nvmlInit=init,
                                   nvmlShutdown=lambda: calls.append("shutdown"))
    monkeypatch.setitem(sys.modules, "pynvml", module)
    return calls


def fake_cuda(monkeypatch, count: int | None) -> None:
    """PyTorch sees ``count`` CUDA GPUs; None: asking it fails the test."""
    def ask() -> bool:
        if count is None:
            raise AssertionError("PyTorch was asked although NVML said there is no driver")
        return count > 0

    monkeypatch.setattr(torch.cuda, "is_available", ask)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count or 0)


def test_no_driver_means_no_gpu_without_asking_pytorch(monkeypatch):
    calls = fake_nvml(monkeypatch, NVMLError_LibraryNotFound)
    fake_cuda(monkeypatch, None)
    assert T.cuda_gpu_count() == 0 and calls == ["init"]


@pytest.mark.parametrize("error", [None, NVMLError_NoPermission])
def test_otherwise_pytorch_counts(monkeypatch, error):
    calls = fake_nvml(monkeypatch, error)
    fake_cuda(monkeypatch, 3)
    assert T.cuda_gpu_count() == 3
    assert calls == (["init", "shutdown"] if error is None else ["init"])


def test_slots_for_trials(monkeypatch):
    fake_nvml(monkeypatch, None)
    auto = P.load("xor", ["train.device='auto'"])
    fake_cuda(monkeypatch, 0)
    assert gpu_slots(auto, 2) == [] and slots_here(3) == ["cpu"] * 3  # the CPU: no GPU each
    with pytest.raises(ConfigError, match="no CUDA GPU is visible"):
        gpu_slots(P.load("xor", ["train.device='cuda'"]), 1)
    fake_cuda(monkeypatch, 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert gpu_slots(auto, 2) == ["0", "1"] and slots_here() == ["0", "1"] and slots_here(1) == ["0"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")  # this process's own GPUs, by their names
    assert gpu_slots(auto, 2) == ["3", "5"]
    with pytest.raises(ConfigError, match="only 2 CUDA GPU"):
        gpu_slots(auto, 3)
    assert gpu_slots(P.load("xor", ["train.device='cpu'"]), 4) == []
