"""GPU and host telemetry: what the system pane shows and ``telemetry`` events carry.

No Textual and no CUDA context here. NVML (package ``nvidia-ml-py``, module
``pynvml``) and ``torch`` are imported lazily, the first inside :meth:`NvmlSource.init`,
the second inside :func:`torch_memory`, so importing this module costs nothing.

Pieces
------
``GpuSource``
    The small interface in front of NVML: :class:`NvmlSource` (the real driver) and
    a test's recorded JSON fixture (``tests/recorded_gpu.py``).
``visible_indices``
    Which NVML devices ``CUDA_VISIBLE_DEVICES`` leaves visible, in CUDA order.
``Sampler``
    A GPU source plus psutil: one call gives one ``telemetry`` payload. It never
    raises for a missing or failing GPU; it goes host-only and says why in ``problem``.
``torch_memory`` / ``TelemetryThread``
    The trainer side: PyTorch's allocator figures and a daemon thread that emits one
    payload a second.

The ``telemetry`` payload
-------------------------
``Sampler.sample`` returns (all sizes in bytes)::

    {
      "gpus": [                       # visible GPUs in CUDA order: the run's
        {"index": 0,                  #   "cuda:N" is gpus[N]; index = NVML /
         "name": "NVIDIA H100 ...",   #   nvidia-smi index
         "uuid": "GPU-...",
         "util": 63,                  # % (None when the driver has no reading)
         "mem_used": ..., "mem_total": ...,
         "temp": 54,                  # degrees C
         "power": 312.5,              # W
         "power_limit": 700.0,        # W (the enforced limit)
         "sm_clock": 1980,            # MHz
         "proc_mem": ...}             # driver's used memory of the trainer pid on
      ],                              #   this GPU (None: unknown / not using it)
      "host": {"cpu": 12.5,           # % of all cores
               "ram_used": ..., "ram_total": ...,   # used = total - available
               "name": "hostname"},
      "proc": {"pid": 1234, "cpu": 101.0, "rss": ...} | None,   # cpu: % of one core
      "problem": None | "no NVIDIA driver found (...)",
    }

A missing reading is ``None``, never ``0``. :class:`TelemetryThread` adds ``torch``
(``{allocated, reserved, peak}`` or ``None`` off CUDA) and ``torch_cuda`` (the CUDA
version PyTorch was built with, ``None`` for a build without CUDA).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


GIB = 1 << 30
MIB = 1 << 20


class GpuUnavailable(Exception):
    """The GPU source cannot give readings; ``reason`` is one line for people."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class GpuSample:
    """One GPU's readings at one moment. A reading the driver doesn't have is None."""

    index: int
    name: str
    uuid: str | None
    util: float | None  # %
    mem_used: int | None  # bytes
    mem_total: int | None  # bytes
    temp: float | None  # degrees C
    power: float | None  # W
    power_limit: float | None  # W
    sm_clock: int | None  # MHz

    def to_event(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "uuid": self.uuid,
            "util": self.util,
            "mem_used": self.mem_used,
            "mem_total": self.mem_total,
            "temp": self.temp,
            "power": self.power,
            "power_limit": self.power_limit,
            "sm_clock": self.sm_clock,
        }


@runtime_checkable
class GpuSource(Protocol):
    """The small interface in front of NVML."""

    def init(self) -> None:
        """Start; raises :class:`GpuUnavailable` with a human reason."""

    def device_count(self) -> int: ...

    def device_uuid(self, index: int) -> str | None:
        """The device's UUID (``GPU-...``), to resolve ``CUDA_VISIBLE_DEVICES``."""

    def sample(self, index: int) -> GpuSample:
        """Readings of device ``index`` (NVML order); raises GpuUnavailable."""

    def process_memory(self, index: int, pid: int) -> int | None:
        """Bytes the driver counts for ``pid`` on device ``index``; None if unknown."""

    def shutdown(self) -> None: ...


# ---------------------------------------------------------------------------------
# NVML error names -> reasons people can act on. Keys are pynvml's class names
# without the "NVMLError_" prefix; the tests' recorded fixtures use the same keys.

NO_DRIVER = "no NVIDIA driver found"

INIT_REASONS = {
    "LibraryNotFound": f"{NO_DRIVER} (the NVML library libnvidia-ml is not installed)",
    "DriverNotLoaded": "NVIDIA driver not loaded (is there a GPU, and is the kernel module loaded?)",
    "NoPermission": "no permission to query the NVIDIA driver (NVML: insufficient permissions)",
    "LibRmVersionMismatch": "NVIDIA driver and NVML library versions differ (reload the driver or reboot)",
    "FunctionNotFound": "NVIDIA driver too old for this NVML",
    "GpuIsLost": "a GPU fell off the bus (NVML: GPU is lost)",
    "ResetRequired": "a GPU needs a reset (NVML: GPU requires restart)",
    "Timeout": "the NVIDIA driver did not answer (NVML: timeout)",
    "OperatingSystem": "the operating system blocked the NVIDIA driver query",
    "InsufficientPower": "a GPU lacks external power (check its power cables)",
    "CorruptedInforom": "a GPU's infoROM is corrupted",
}

# Errors that mean "this reading is not available", not "NVML is broken".
_MISSING_READING = ("NotSupported", "NoPermission", "NoData", "NotReady", "NotFound",
                    "FunctionNotFound", "ArgumentVersionMismatch")

FAILED_DURING_RUN = "NVML failed during the run"


def _nvml_error_name(err: BaseException) -> str:
    return type(err).__name__.removeprefix("NVMLError_")


def init_reason(err: BaseException) -> str:
    """The human reason for an NVML error raised by ``nvmlInit``."""
    name = _nvml_error_name(err)
    if name in INIT_REASONS:
        return INIT_REASONS[name]
    return f"NVML failed to start: {err}"


class NvmlSource:
    """The real GPUs, through NVML (``pynvml`` from ``nvidia-ml-py``).

    Handles, names and UUIDs are looked up once in :meth:`init` and cached; a sample is
    six small NVML calls per GPU, no subprocess.
    """

    def __init__(self) -> None:
        self._nvml: Any = None
        self._handles: list[Any] = []
        self._names: list[str] = []
        self._uuids: list[str | None] = []
        self._mem_v2: bool = True

    def init(self) -> None:
        try:
            import pynvml
        except ImportError:
            raise GpuUnavailable(
                f"{NO_DRIVER}: the NVML bindings (package nvidia-ml-py) are not installed"
            ) from None
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as err:
            raise GpuUnavailable(init_reason(err)) from None
        except OSError as err:  # a broken libnvidia-ml that fails to load
            raise GpuUnavailable(f"{NO_DRIVER} (loading NVML failed: {err})") from None
        self._nvml = pynvml
        try:
            count = pynvml.nvmlDeviceGetCount()
            handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            names = [self._text(pynvml.nvmlDeviceGetName(h)) for h in handles]
            uuids = [self._optional(lambda h=h: self._text(pynvml.nvmlDeviceGetUUID(h))) for h in handles]
        except pynvml.NVMLError as err:
            self.shutdown()
            raise GpuUnavailable(init_reason(err)) from None
        self._handles, self._names, self._uuids = handles, names, uuids

    @staticmethod
    def _text(value: Any) -> str:
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

    def _optional(self, read: Callable[[], Any]) -> Any:
        """One reading: None when the device doesn't support it; raises
        GpuUnavailable when NVML itself fails."""
        try:
            return read()
        except self._nvml.NVMLError as err:
            if _nvml_error_name(err) in _MISSING_READING:
                return None
            raise GpuUnavailable(f"{FAILED_DURING_RUN}: {err}") from None

    def _need(self) -> Any:
        if self._nvml is None:
            raise GpuUnavailable(f"{FAILED_DURING_RUN}: NVML is not initialised")
        return self._nvml

    def device_count(self) -> int:
        return len(self._handles)

    def device_uuid(self, index: int) -> str | None:
        return self._uuids[index]

    def _memory(self, handle: Any) -> tuple[int | None, int | None]:
        nv = self._nvml
        if self._mem_v2 and hasattr(nv, "nvmlMemory_v2"):
            # v2 reports "used" without the driver-reserved part, as nvidia-smi does.
            try:
                info = nv.nvmlDeviceGetMemoryInfo(handle, version=nv.nvmlMemory_v2)
                return int(info.used), int(info.total)
            except nv.NVMLError as err:
                if _nvml_error_name(err) not in (
                    "FunctionNotFound", "ArgumentVersionMismatch", "NotSupported", "InvalidArgument"
                ):
                    raise GpuUnavailable(f"{FAILED_DURING_RUN}: {err}") from None
                self._mem_v2 = False
        info = self._optional(lambda: nv.nvmlDeviceGetMemoryInfo(handle))
        if info is None:
            return None, None
        return int(info.used), int(info.total)

    def sample(self, index: int) -> GpuSample:
        nv = self._need()
        try:
            h = self._handles[index]
        except IndexError:
            raise GpuUnavailable(f"{FAILED_DURING_RUN}: no GPU {index}") from None
        util = self._optional(lambda: nv.nvmlDeviceGetUtilizationRates(h))
        mem_used, mem_total = self._memory(h)
        temp = self._optional(lambda: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))
        power = self._optional(lambda: nv.nvmlDeviceGetPowerUsage(h))
        limit = self._optional(lambda: nv.nvmlDeviceGetEnforcedPowerLimit(h))
        if limit is None:
            limit = self._optional(lambda: nv.nvmlDeviceGetPowerManagementLimit(h))
        clock = self._optional(lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM))
        return GpuSample(
            index=index,
            name=self._names[index],
            uuid=self._uuids[index],
            util=None if util is None else float(util.gpu),
            mem_used=mem_used,
            mem_total=mem_total,
            temp=None if temp is None else float(temp),
            power=None if power is None else power / 1000.0,
            power_limit=None if limit is None else limit / 1000.0,
            sm_clock=None if clock is None else int(clock),
        )

    def process_memory(self, index: int, pid: int) -> int | None:
        nv = self._need()
        handle = self._handles[index]
        procs = None
        # newest call first; older drivers lack _v3 (FunctionNotFound -> None here)
        for name in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetComputeRunningProcesses_v2"):
            fn = getattr(nv, name, None)
            if fn is not None:
                procs = self._optional(lambda fn=fn: fn(handle))
                if procs is not None:
                    break
        for p in procs or ():
            if int(p.pid) == pid:
                used = p.usedGpuMemory
                return None if used is None else int(used)
        # Not listed: the process has no context on this GPU, or it lives in another
        # PID namespace (a container), where NVML's pids are the host's.
        return None

    def shutdown(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass
        self._nvml = None
        self._handles, self._names, self._uuids = [], [], []


# ---------------------------------------------------------------------------------


def visible_indices(env: Mapping[str, str] | None = None,
                    uuids: Sequence[str | None] | None = None) -> list[int] | None:
    """The NVML indices ``CUDA_VISIBLE_DEVICES`` leaves visible, in CUDA order.

    ``None`` when the variable is unset (all devices visible); ``[]`` when it is empty
    or hides everything. Entries are indices (``"0,2"``) or UUIDs / unique UUID
    prefixes (``"GPU-8f1c"``, with or without the ``GPU-`` prefix). As in the CUDA
    runtime, the list ends at the first entry that names no device (``"-1"``, an index
    past the end, an unknown or ambiguous UUID); duplicates are skipped.

    With ``uuids`` (one per NVML device) indices are checked against the device count;
    with ``uuids=None``, plain indices are taken as they are and UUIDs cannot be
    resolved.
    NVML numbers devices in PCI bus order; CUDA does too under
    ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` and, on servers with identical GPUs, by default.
    """
    env = os.environ if env is None else env
    raw = env.get("CUDA_VISIBLE_DEVICES")
    if raw is None:
        return None
    out: list[int] = []
    known = uuids is not None
    uuids = list(uuids or ())
    count = len(uuids)
    for token in raw.split(","):
        token = token.strip()
        if not token:
            break
        index: int | None = None
        if token.lstrip("+-").isdigit():
            value = int(token)
            if value < 0 or (known and value >= count):
                break
            index = value
        else:
            want = token.lower()
            if want.startswith("mig-"):
                break  # MIG instances have no per-GPU NVML readings of their own
            if not want.startswith("gpu-"):
                want = "gpu-" + want
            matches = [i for i, u in enumerate(uuids) if u and u.lower().startswith(want)]
            if len(matches) != 1:
                break
            index = matches[0]
        if index not in out:
            out.append(index)
    return out


# NVML failing to start for one of these reasons means there is no NVIDIA driver here, so
# no CUDA device either (libnvidia-ml ships with the driver that CUDA needs).
NO_DRIVER_ERRORS = ("LibraryNotFound", "DriverNotLoaded")


def cuda_gpu_count() -> int:
    """How many CUDA GPUs a process started here would see (``CUDA_VISIBLE_DEVICES``
    counts). Without an NVIDIA driver that is 0, found through NVML in milliseconds
    instead of importing PyTorch (over a second); otherwise PyTorch counts them."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except ImportError:
        pass  # (no bindings: PyTorch decides)
    except pynvml.NVMLError as err:
        if _nvml_error_name(err) in NO_DRIVER_ERRORS:
            return 0
    except OSError:  # a broken libnvidia-ml: PyTorch decides
        pass
    else:
        pynvml.nvmlShutdown()
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def cuda_index(device: str | None) -> int | None:
    """``"cuda:1"`` -> 1, ``"cuda"`` -> 0, anything else -> None."""
    if not device or not isinstance(device, str):
        return None
    kind, _, rest = device.partition(":")
    if kind != "cuda":
        return None
    if not rest:
        return 0
    return int(rest) if rest.isdigit() else None


def torch_cuda_build() -> tuple[bool, str | None]:
    """(PyTorch installed, CUDA version it was built with or None), without importing
    torch: ``torch/version.py`` is read and parsed; only if that fails is torch
    imported. Call it off the UI thread."""
    spec = importlib.util.find_spec("torch")
    if spec is None:
        return False, None
    for folder in spec.submodule_search_locations or ():
        path = Path(folder) / "version.py"
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in tree.body:
            target = value = None
            if isinstance(node, ast.AnnAssign):
                target, value = node.target, node.value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            if isinstance(target, ast.Name) and target.id == "cuda" and value is not None:
                try:
                    cuda = ast.literal_eval(value)
                except ValueError:
                    break
                return True, (str(cuda) if cuda else None)
    try:
        import torch
    except Exception:
        return True, None
    return True, torch.version.cuda


# ---------------------------------------------------------------------------------


class Sampler:
    """A GPU source plus psutil: ``sample(pid)`` gives one ``telemetry`` payload.

    The GPU source is started on the first sample. If it cannot start, or fails later,
    the sampler keeps going host-only, with ``problem`` saying why; :meth:`retry`
    starts it again on the next sample. psutil ``Process`` objects are cached per pid.
    Not thread-safe: use it from one thread at a time.
    """

    MIN_CPU_INTERVAL = 0.1  # s; a shorter window gives a meaningless CPU %

    def __init__(self, source: GpuSource | None, env: Mapping[str, str] | None = None):
        import psutil

        self._psutil = psutil
        self.source = source
        self.env = env
        self.state = "new" if source is not None else "off"  # new, ok, failed, off
        self.problem: str | None = None if source is not None else "no GPU source"
        self.visible: list[int] = []
        self._procs: dict[int, Any] = {}
        self._host_name = socket.gethostname()
        psutil.cpu_percent(None)  # prime: the first call has no window to measure
        self._cpu_at = time.monotonic()
        self._cpu_last: float | None = None

    # -- GPU source --------------------------------------------------------------
    def _start(self) -> None:
        try:
            self.source.init()
        except GpuUnavailable as err:
            self._fail(err.reason, shutdown=False)
            return
        except Exception as err:  # a source must never take the sampler down
            self._fail(f"NVML failed to start: {err}", shutdown=False)
            return
        try:
            count = self.source.device_count()
            uuids = [self.source.device_uuid(i) for i in range(count)]
        except GpuUnavailable as err:
            self._fail(err.reason)
            return
        except Exception as err:
            self._fail(f"NVML failed to start: {err}")
            return
        env = os.environ if self.env is None else self.env
        vis = visible_indices(env, uuids)
        self.visible = list(range(count)) if vis is None else vis
        self.state = "ok"
        if count == 0:
            self.problem = "no NVIDIA GPU found (the driver is loaded but lists no devices)"
        elif not self.visible:
            self.problem = (
                f"no GPU visible: CUDA_VISIBLE_DEVICES={env.get('CUDA_VISIBLE_DEVICES', '')!r} "
                f"hides all {count}"
            )
        else:
            self.problem = None

    def _fail(self, reason: str, shutdown: bool = True) -> None:
        self.state = "failed"
        self.problem = reason
        self.visible = []
        if shutdown:
            try:
                self.source.shutdown()
            except Exception:
                pass

    def retry(self) -> None:
        """Start the GPU source again on the next sample (after a failure)."""
        if self.source is None:
            return
        if self.state == "ok":
            try:
                self.source.shutdown()
            except Exception:
                pass
        self.state = "new"

    def _gpus(self, pid: int | None) -> list[dict[str, Any]]:
        if self.state == "new":
            self._start()
        if self.state != "ok":
            return []
        out = []
        try:
            for i in self.visible:
                entry = self.source.sample(i).to_event()
                entry["proc_mem"] = self.source.process_memory(i, pid) if pid else None
                out.append(entry)
        except GpuUnavailable as err:
            self._fail(err.reason)
            return []
        except Exception as err:
            self._fail(f"{FAILED_DURING_RUN}: {err}")
            return []
        return out

    # -- host --------------------------------------------------------------------
    def _host(self) -> dict[str, Any]:
        ps = self._psutil
        now = time.monotonic()
        if now - self._cpu_at >= self.MIN_CPU_INTERVAL:
            self._cpu_last = float(ps.cpu_percent(None))
            self._cpu_at = now
        vm = ps.virtual_memory()
        return {
            "cpu": self._cpu_last,
            "ram_used": int(vm.total - vm.available),
            "ram_total": int(vm.total),
            "name": self._host_name,
        }

    def _proc(self, pid: int | None) -> dict[str, Any] | None:
        if not pid:
            return None
        ps = self._psutil
        proc = self._procs.get(pid)
        first = proc is None
        try:
            if first:
                if len(self._procs) > 16:
                    self._procs.clear()
                proc = self._procs[pid] = ps.Process(pid)
            with proc.oneshot():
                if proc.status() == ps.STATUS_ZOMBIE:  # it has ended (its parent has not reaped it yet):
                    raise ps.NoSuchProcess(pid)  # its memory reads 0 B, which is no reading
                cpu = proc.cpu_percent(None)
                rss = proc.memory_info().rss
        except ps.NoSuchProcess:
            self._procs.pop(pid, None)
            return {"pid": pid, "cpu": None, "rss": None, "gone": True}
        except ps.AccessDenied:
            return {"pid": pid, "cpu": None, "rss": None}
        # psutil's first cpu_percent has no window yet: it is a placeholder 0.0
        return {"pid": pid, "cpu": None if first else float(cpu), "rss": int(rss)}

    def sample(self, trainer_pid: int | None = None) -> dict[str, Any]:
        """One ``telemetry`` payload (without ``torch``). Never raises for GPU trouble."""
        gpus = self._gpus(trainer_pid) if self.source is not None else []
        return {
            "gpus": gpus,
            "host": self._host(),
            "proc": self._proc(trainer_pid),
            "problem": self.problem,
        }

    def close(self) -> None:
        if self.source is not None and self.state == "ok":
            try:
                self.source.shutdown()
            except Exception:
                pass
        self.state = "new" if self.source is not None else "off"
        self._procs.clear()


# ---------------------------------------------------------------------------------


def torch_memory(device: Any) -> dict[str, int] | None:
    """PyTorch's caching-allocator figures for ``device``, in bytes:
    ``{allocated, reserved, peak}``; None off CUDA or before CUDA is initialised
    (so a telemetry thread never creates a CUDA context of its own)."""
    import torch

    dev = torch.device(device) if not isinstance(device, torch.device) else device
    if dev.type != "cuda" or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    index = dev.index if dev.index is not None else torch.cuda.current_device()
    return {
        "allocated": int(torch.cuda.memory_allocated(index)),
        "reserved": int(torch.cuda.memory_reserved(index)),
        "peak": int(torch.cuda.max_memory_allocated(index)),
    }


def _torch_cuda_version() -> str | None:
    import torch

    return torch.version.cuda


class TelemetryThread(threading.Thread):
    """Daemon thread for the trainer: every ``period`` seconds it builds a payload
    (``Sampler.sample(pid)`` plus ``torch`` and ``torch_cuda``) and calls
    ``emit(payload)``, e.g. ``lambda p: writer.emit("telemetry", **p)``.

    The first payload goes out at once. ``stop()`` ends it (and joins); errors in
    ``emit`` are counted in ``errors`` and do not end the thread.
    """

    def __init__(self, emit: Callable[[dict[str, Any]], Any], *, device: Any = None,
                 pid: int | None = None, period: float = 1.0,
                 source: GpuSource | None | str = "nvml",
                 env: Mapping[str, str] | None = None):
        super().__init__(name="tuidl-telemetry", daemon=True)
        self.emit = emit
        self.device = device
        self.pid = os.getpid() if pid is None else pid
        self.period = float(period)
        self._source = NvmlSource() if source == "nvml" else source
        self._env = env
        self._halt = threading.Event()
        self.errors = 0
        self.last_error: BaseException | None = None
        self.emitted = 0

    def payload(self, sampler: Sampler, torch_cuda: str | None) -> dict[str, Any]:
        p = sampler.sample(self.pid)
        torch_fig = None
        if self.device is not None:
            try:
                torch_fig = torch_memory(self.device)
            except Exception as err:  # a broken CUDA context must not end telemetry
                self.last_error = err
        p["torch"] = torch_fig
        p["torch_cuda"] = torch_cuda
        if torch_cuda is None:
            note = "PyTorch built without CUDA"
            p["problem"] = note if not p["problem"] else f"{note}; {p['problem']}"
        return p

    def run(self) -> None:
        sampler = Sampler(self._source, env=self._env)
        try:
            torch_cuda = _torch_cuda_version()
        except Exception:
            torch_cuda = None
        try:
            while not self._halt.is_set():
                started = time.monotonic()
                try:
                    self.emit(self.payload(sampler, torch_cuda))
                    self.emitted += 1
                except Exception as err:
                    self.errors += 1
                    self.last_error = err
                self._halt.wait(max(0.0, self.period - (time.monotonic() - started)))
        finally:
            sampler.close()

    def stop(self, timeout: float | None = 5.0) -> None:
        self._halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)


# ---------------------------------------------------------------------------------


def format_bytes(n: float | None) -> str:
    """``23.1 GiB``, ``512 MiB``; ``—`` for an unknown size."""
    if n is None:
        return "—"
    n = float(n)
    if abs(n) >= GIB:
        return f"{n / GIB:.1f} GiB"
    if abs(n) >= MIB:
        return f"{n / MIB:.0f} MiB"
    if abs(n) >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n:.0f} B"
