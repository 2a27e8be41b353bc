"""tuidl.core.system.telemetry: the tests that start a process (a trainer, the command, a terminal). The
others are in tests/unit/test_telemetry.py."""

from __future__ import annotations

import subprocess
import sys

from tuidl.core.system.telemetry import Sampler, torch_cuda_build

from helpers import ROOT


# -- sources -------------------------------------------------------------------------


# -- CUDA_VISIBLE_DEVICES ------------------------------------------------------------


# -- Sampler -------------------------------------------------------------------------


def test_sampler_with_a_gone_process():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    p = Sampler(None).sample(child.pid)
    assert p["proc"]["cpu"] is None and p["proc"]["rss"] is None


# -- trainer side --------------------------------------------------------------------


def test_torch_cuda_build_reads_without_importing_torch():
    code = ("import sys; from tuidl.core.system.telemetry import torch_cuda_build; "
            "print(repr(torch_cuda_build())); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split("\n")
    import torch

    assert out[0] == repr((True, torch.version.cuda))
    assert out[1] == "False"
    assert torch_cuda_build() == (True, torch.version.cuda)


def test_core_telemetry_imports_nothing_heavy():
    code = ("import sys, tuidl.core.system.telemetry; "
            "print(sorted(m for m in ('textual', 'rich', 'torch', 'pynvml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == "[]"


# -- NvmlSource's own logic, over a stand-in for the NVML library --------------------
# (the driver is the one thing faked: pynvml's real error classes and constants are
# kept, its calls into libnvidia-ml are replaced)


def test_gpu_check_bench_fails_clearly_without_a_gpu():
    root = ROOT
    out = subprocess.run([sys.executable, str(root / "bench" / "gpu_check.py"), "--seconds", "1"],
                         capture_output=True, text=True, cwd=root, timeout=60)
    assert out.returncode == 2
    assert "gpu_check: cannot run here: no NVIDIA driver found" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
