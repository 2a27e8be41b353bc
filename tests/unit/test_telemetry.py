"""tuidl.core.system.telemetry: GPU sources (recorded fakes and the real NVML on a machine
without a driver), CUDA_VISIBLE_DEVICES, the sampler's payload, the trainer thread."""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import psutil
import pytest

from tuidl.core.run.events import EventWriter, read_events
from tuidl.core.preset.schema import ConfigError
from tuidl.core.system.telemetry import (
    FAILED_DURING_RUN,
    GIB,
    NO_DRIVER,
    GpuSample,
    GpuSource,
    GpuUnavailable,
    NvmlSource,
    Sampler,
    TelemetryThread,
    cuda_index,
    format_bytes,
    torch_memory,
    visible_indices,
)

from helpers import FIXTURES
from recorded_gpu import RecordedSource

FIX = FIXTURES / "nvml"
H100 = FIX / "h100x2.json"
NO_DRIVER_FIX = FIX / "no_driver.json"
FAILS = FIX / "fails_mid_run.json"
UUID0 = "GPU-5d6a8a2e-3f0b-4c7e-9a1d-2b6f4e8c9d01"
UUID1 = "GPU-a3c91f7e-6b2d-4e10-8f3a-7c5d9e1b2a64"
ME = os.getpid()

PAYLOAD_KEYS = {"gpus", "host", "proc", "problem"}
GPU_KEYS = {"index", "name", "uuid", "util", "mem_used", "mem_total", "temp", "power",
            "power_limit", "sm_clock", "proc_mem"}


def recorded(path=H100):
    return RecordedSource(path, pids={4242: ME})


# -- sources -------------------------------------------------------------------------


def test_sources_satisfy_the_protocol():
    assert isinstance(NvmlSource(), GpuSource)
    assert isinstance(recorded(), GpuSource)


def test_real_nvml_without_a_driver_says_so():
    """This machine has no NVIDIA driver: NVML must report it, not crash."""
    src = NvmlSource()
    with pytest.raises(GpuUnavailable) as info:
        src.init()
    assert info.value.reason.startswith(NO_DRIVER)
    src.shutdown()  # harmless after a failed init
    with pytest.raises(GpuUnavailable):
        src.sample(0)


def test_real_nvml_sampler_goes_host_only():
    sampler = Sampler(NvmlSource())
    p = sampler.sample(ME)
    assert set(p) == PAYLOAD_KEYS
    assert p["gpus"] == []
    assert p["problem"].startswith("no NVIDIA driver found")
    assert p["host"]["ram_total"] == psutil.virtual_memory().total
    assert p["proc"]["pid"] == ME and p["proc"]["rss"] > 0
    sampler.close()


def test_recorded_source_replays_ticks():
    src = recorded()
    src.init()
    assert src.device_count() == 2
    assert [src.device_uuid(i) for i in range(2)] == [UUID0, UUID1]
    first = src.sample(0)
    assert isinstance(first, GpuSample)
    assert first.name == "NVIDIA H100 80GB HBM3"
    assert first.util == 0 and first.mem_total == 81559 << 20
    assert src.process_memory(0, ME) is None  # tick 0: the trainer has no context yet
    second = src.sample(0)
    assert second.util == 87 and second.power == 402.7 and second.sm_clock == 1980
    assert src.process_memory(0, ME) == 1778 << 20  # recorded pid 4242 mapped to us
    assert src.process_memory(0, 4242) is None  # the recorded pid itself is not ours
    assert src.process_memory(1, ME) is None
    # ticks advance per device; after the last tick the recording loops
    for _ in range(6):
        src.sample(0)
    assert src.sample(0).util == first.util


def test_recorded_init_error_matches_the_real_reason():
    src = RecordedSource(NO_DRIVER_FIX)
    with pytest.raises(GpuUnavailable) as info:
        src.init()
    assert info.value.reason.startswith("no NVIDIA driver found")
    real = NvmlSource()
    with pytest.raises(GpuUnavailable) as real_info:
        real.init()
    assert info.value.reason == real_info.value.reason


def test_recorded_fails_after_k_ticks():
    src = RecordedSource(FAILS)
    src.init()
    src.sample(0), src.sample(0)
    with pytest.raises(GpuUnavailable) as info:
        src.sample(0)
    assert info.value.reason == f"{FAILED_DURING_RUN}: GPU is lost"


def test_bad_recordings_are_config_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json"):
        RecordedSource(bad)
    with pytest.raises(ConfigError, match="missing.json"):
        RecordedSource(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match=r"ticks\[0\].gpus"):
        RecordedSource(data={"devices": [{"name": "x"}], "ticks": [{"gpus": []}]})
    with pytest.raises(ConfigError, match="at_end"):
        RecordedSource(data={"devices": [], "ticks": [], "at_end": "never"})


def test_missing_readings_are_none_not_zero():
    data = json.loads(H100.read_text())
    del data["ticks"][0]["gpus"][1]["power"]
    data["ticks"][0]["gpus"][1]["temp"] = None
    src = RecordedSource(data=data)
    src.init()
    s = src.sample(1)
    assert s.power is None and s.temp is None and s.util == 0


# -- CUDA_VISIBLE_DEVICES ------------------------------------------------------------

UUIDS = [UUID0, UUID1]


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),  # unset: all
        ("", []),  # empty: none
        ("0", [0]),
        ("1", [1]),
        ("1,0", [1, 0]),  # CUDA order, not NVML order
        (" 0 , 1 ", [0, 1]),
        ("0,0,1", [0, 1]),
        ("0,7,1", [0]),  # stops at the first device that does not exist
        ("-1", []),
        ("1,-1,0", [1]),
        (UUID1, [1]),
        ("GPU-a3c9", [1]),  # unique prefix
        ("a3c91f7e", [1]),  # without the GPU- prefix
        (f"{UUID1},0", [1, 0]),
        ("GPU-", []),  # ambiguous prefix ends the list
        ("GPU-ffff", []),  # unknown
        ("MIG-1234", []),
        ("0,GPU-nope,1", [0]),
    ],
)
def test_visible_indices(value, expected):
    env = {} if value is None else {"CUDA_VISIBLE_DEVICES": value}
    assert visible_indices(env, UUIDS) == expected


def test_visible_indices_without_uuids_takes_indices_as_given():
    assert visible_indices({"CUDA_VISIBLE_DEVICES": "3,1"}) == [3, 1]
    assert visible_indices({"CUDA_VISIBLE_DEVICES": "GPU-a3c9"}) == []
    assert visible_indices({"CUDA_VISIBLE_DEVICES": "1"}, []) == []  # no devices at all


def test_cuda_index():
    assert cuda_index("cuda:1") == 1
    assert cuda_index("cuda") == 0
    assert cuda_index("cpu") is None and cuda_index(None) is None and cuda_index("cuda:x") is None


# -- Sampler -------------------------------------------------------------------------


def test_sampler_payload_is_the_telemetry_event():
    sampler = Sampler(recorded(), env={})
    sampler.sample(ME)
    time.sleep(0.12)
    p = sampler.sample(ME)
    assert set(p) == PAYLOAD_KEYS
    assert p["problem"] is None
    assert [g["index"] for g in p["gpus"]] == [0, 1]
    assert all(set(g) == GPU_KEYS for g in p["gpus"])
    g0 = p["gpus"][0]
    assert g0["util"] == 87 and g0["uuid"] == UUID0 and g0["proc_mem"] == 1778 << 20
    assert p["gpus"][1]["proc_mem"] is None
    host = p["host"]
    assert host["ram_total"] == psutil.virtual_memory().total
    assert 0 < host["ram_used"] <= host["ram_total"]
    assert isinstance(host["cpu"], float) and 0 <= host["cpu"] <= 100
    proc = p["proc"]
    assert proc["pid"] == ME and proc["cpu"] is not None and proc["rss"] > 0
    json.dumps(p)  # plain JSON


def test_sampler_first_process_cpu_is_unknown_not_zero():
    sampler = Sampler(recorded(), env={})
    assert sampler.sample(ME)["proc"]["cpu"] is None
    assert sampler.sample(None)["proc"] is None


def test_sampler_respects_cuda_visible_devices():
    p = Sampler(recorded(), env={"CUDA_VISIBLE_DEVICES": "GPU-a3c9"}).sample(ME)
    assert [g["index"] for g in p["gpus"]] == [1]
    p = Sampler(recorded(), env={"CUDA_VISIBLE_DEVICES": "1,0"}).sample(ME)
    assert [g["index"] for g in p["gpus"]] == [1, 0]
    p = Sampler(recorded(), env={"CUDA_VISIBLE_DEVICES": ""}).sample(ME)
    assert p["gpus"] == [] and p["problem"].startswith("no GPU visible")


def test_sampler_with_no_driver_keeps_host_figures():
    sampler = Sampler(RecordedSource(NO_DRIVER_FIX))
    for _ in range(3):
        p = sampler.sample(ME)
        assert p["gpus"] == [] and p["problem"].startswith("no NVIDIA driver found")
        assert p["host"]["ram_total"] == psutil.virtual_memory().total
    assert sampler.state == "failed"


def test_sampler_survives_nvml_failing_mid_run_and_retries():
    sampler = Sampler(RecordedSource(FAILS, pids={4242: ME}), env={})
    assert len(sampler.sample(ME)["gpus"]) == 2
    assert len(sampler.sample(ME)["gpus"]) == 2
    p = sampler.sample(ME)
    assert p["gpus"] == [] and p["problem"] == "NVML failed during the run: GPU is lost"
    assert p["host"]["ram_total"] > 0 and p["proc"]["rss"] > 0
    assert sampler.sample(ME)["problem"] == p["problem"]  # stays failed, no crash
    sampler.retry()  # a fresh init resets the recording: readings come back
    p = sampler.sample(ME)
    assert len(p["gpus"]) == 2 and p["problem"] is None


def test_sampler_with_no_gpus_says_so():
    data = {"devices": [], "ticks": []}
    p = Sampler(RecordedSource(data=data), env={}).sample(None)
    assert p["gpus"] == [] and p["problem"].startswith("no NVIDIA GPU found")


def test_sampler_is_cheap():
    """About once a second it must cost well under 1 % of a core (10 ms)."""
    sampler = Sampler(recorded(), env={})
    sampler.sample(ME)
    start = time.process_time()
    for _ in range(50):
        sampler.sample(ME)
    per_sample = (time.process_time() - start) / 50
    assert per_sample < 0.005, f"{per_sample * 1000:.2f} ms per sample"


# -- trainer side --------------------------------------------------------------------


def test_torch_memory_is_none_off_cuda():
    assert torch_memory("cpu") is None
    import torch

    assert torch_memory(torch.device("cpu")) is None
    if not torch.cuda.is_available():
        assert torch_memory("cuda:0") is None  # no driver: no figures, no crash


def test_telemetry_thread_writes_events(tmp_path):
    path = tmp_path / "events.jsonl"
    writer = EventWriter(path)
    got = threading.Event()
    seen = []

    def emit(payload):
        writer.emit("telemetry", **payload)
        seen.append(payload)
        if len(seen) >= 3:
            got.set()

    th = TelemetryThread(emit, device="cpu", period=0.05, source=recorded())
    assert th.daemon
    th.start()
    assert got.wait(10)
    th.stop()
    assert not th.is_alive()
    writer.close()
    events = read_events(path)
    assert len(events) >= 3 and all(e["type"] == "telemetry" for e in events)
    import torch

    for e in events:
        assert {"gpus", "host", "proc", "problem", "torch", "torch_cuda"} <= set(e)
        assert e["torch"] is None  # device cpu
        assert e["torch_cuda"] == torch.version.cuda
        assert e["proc"]["pid"] == ME
    assert len(events[-1]["gpus"]) == 2
    assert th.errors == 0


def test_telemetry_thread_survives_emit_errors():
    calls = []

    def emit(payload):
        calls.append(payload)
        raise OSError("disk full")

    th = TelemetryThread(emit, period=0.02, source=None)
    th.start()
    deadline = time.monotonic() + 10
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    th.stop()
    assert len(calls) >= 3 and th.errors >= 3 and isinstance(th.last_error, OSError)


def test_format_bytes():
    assert format_bytes(None) == "—"
    assert format_bytes(81559 << 20) == "79.6 GiB"
    assert format_bytes(512 << 20) == "512 MiB"
    assert format_bytes(3 * GIB) == "3.0 GiB"
    assert format_bytes(2048) == "2 KiB" and format_bytes(12) == "12 B"


# -- NvmlSource's own logic, over a stand-in for the NVML library --------------------
# (the driver is the one thing faked: pynvml's real error classes and constants are
# kept, its calls into libnvidia-ml are replaced)


class FakeNvml:
    def __init__(self, **fail):
        import pynvml as real

        self.real = real
        self.fail = fail  # call name -> NVML error code
        self.calls: list[str] = []

    def module(self):
        import types

        real = self.real
        mod = types.ModuleType("pynvml")
        mod.__dict__.update({k: v for k, v in real.__dict__.items() if not k.startswith("nvml")
                             or k.startswith("nvmlMemory")})

        def call(name, value):
            def fn(*args, **kwargs):
                self.calls.append(name)
                if name in self.fail:
                    raise real.NVMLError(self.fail[name])
                return value(*args, **kwargs) if callable(value) else value
            return fn

        ns = types.SimpleNamespace
        mod.nvmlInit = call("init", None)
        mod.nvmlShutdown = call("shutdown", None)
        mod.nvmlDeviceGetCount = call("count", 2)
        mod.nvmlDeviceGetHandleByIndex = call("handle", lambda i: f"h{i}")
        mod.nvmlDeviceGetName = call("name", lambda h: "NVIDIA H200")
        mod.nvmlDeviceGetUUID = call("uuid", lambda h: f"GPU-{h}")
        mod.nvmlDeviceGetUtilizationRates = call("util", ns(gpu=42, memory=10))
        mod.nvmlDeviceGetMemoryInfo = call(
            "mem", lambda h, version=None: ns(used=(5 << 30) if version else (6 << 30), total=141 << 30))
        mod.nvmlDeviceGetTemperature = call("temp", 61)
        mod.nvmlDeviceGetPowerUsage = call("power", 412_345)  # mW
        mod.nvmlDeviceGetEnforcedPowerLimit = call("limit", 700_000)
        mod.nvmlDeviceGetPowerManagementLimit = call("mgmt_limit", 650_000)
        mod.nvmlDeviceGetClockInfo = call("clock", 1980)
        mod.nvmlDeviceGetComputeRunningProcesses = call(
            "procs", [ns(pid=ME, usedGpuMemory=3 << 30), ns(pid=1, usedGpuMemory=None)])
        mod.nvmlDeviceGetComputeRunningProcesses_v2 = call(
            "procs_v2", [ns(pid=ME, usedGpuMemory=2 << 30)])
        return mod


def nvml_source(monkeypatch, **fail):
    fake = FakeNvml(**fail)
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    return NvmlSource(), fake


def test_nvml_source_readings_and_units(monkeypatch):
    src, fake = nvml_source(monkeypatch)
    src.init()
    assert src.device_count() == 2 and src.device_uuid(1) == "GPU-h1"
    s = src.sample(1)
    assert s == GpuSample(index=1, name="NVIDIA H200", uuid="GPU-h1", util=42.0,
                          mem_used=5 << 30, mem_total=141 << 30, temp=61.0, power=412.345,
                          power_limit=700.0, sm_clock=1980)
    assert src.process_memory(0, ME) == 3 << 30
    assert src.process_memory(0, 12345) is None
    assert src.process_memory(0, 1) is None  # the driver has no figure (WDDM)
    src.shutdown()
    assert "shutdown" in fake.calls


def test_nvml_source_unsupported_readings_are_none(monkeypatch):
    real = FakeNvml().real
    src, _ = nvml_source(monkeypatch, power=real.NVML_ERROR_NOT_SUPPORTED,
                         limit=real.NVML_ERROR_NOT_SUPPORTED,
                         temp=real.NVML_ERROR_FUNCTION_NOT_FOUND,
                         procs=real.NVML_ERROR_FUNCTION_NOT_FOUND)
    src.init()
    s = src.sample(0)
    assert s.power is None and s.temp is None
    assert s.power_limit == 650.0  # the management limit when the enforced one is missing
    assert s.util == 42.0
    assert src.process_memory(0, ME) == 2 << 30  # older drivers: the _v2 call


@pytest.mark.parametrize(
    "code, reason",
    [
        ("NVML_ERROR_LIBRARY_NOT_FOUND", "no NVIDIA driver found"),
        ("NVML_ERROR_DRIVER_NOT_LOADED", "NVIDIA driver not loaded"),
        ("NVML_ERROR_NO_PERMISSION", "no permission to query the NVIDIA driver"),
        ("NVML_ERROR_LIB_RM_VERSION_MISMATCH", "NVIDIA driver and NVML library versions differ"),
        ("NVML_ERROR_UNKNOWN", "NVML failed to start: Unknown Error"),
    ],
)
def test_nvml_source_init_reasons(monkeypatch, code, reason):
    real = FakeNvml().real
    src, _ = nvml_source(monkeypatch, init=getattr(real, code))
    with pytest.raises(GpuUnavailable) as info:
        src.init()
    assert info.value.reason.startswith(reason)
    p = Sampler(src).sample(None)
    assert p["problem"].startswith(reason) and p["gpus"] == []


def test_nvml_source_failing_mid_run(monkeypatch):
    real = FakeNvml().real
    fake = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    sampler = Sampler(NvmlSource(), env={})
    assert len(sampler.sample(ME)["gpus"]) == 2
    fake.fail["util"] = real.NVML_ERROR_GPU_IS_LOST
    p = sampler.sample(ME)
    assert p["gpus"] == [] and p["problem"] == "NVML failed during the run: GPU is lost"
    assert p["host"]["ram_total"] > 0
    assert "shutdown" in fake.calls
