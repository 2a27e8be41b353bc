"""A GPU source that replays a recorded JSON fixture (``tests/fixtures/nvml/``): the
System pane and the telemetry sampler are tested against it, as against the real NVML
(``tuidl.core.system.telemetry.NvmlSource``), on machines without a GPU.

Fixture format (``RecordedSource``)
-----------------------------------
A JSON object::

    {
      "format": "tuidl-nvml/1",
      "description": "free text",
      "init_error": null,             # or an NVML error name ("LibraryNotFound",
                                      #   "DriverNotLoaded", "NoPermission", ...):
                                      #   init() fails with the same reason the
                                      #   real NvmlSource gives
      "devices": [                    # what NVML enumerates, in NVML order
        {"name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-...", "mem_total": 85520809984}
      ],
      "ticks": [                      # one entry per sampling tick
        {"gpus": [                    # one entry per device, same order
           {"util": 63, "mem_used": ..., "temp": 54, "power": 312.5,
            "power_limit": 700.0, "sm_clock": 1980}
         ],                           # a reading left out or null is "not supported"
         "processes": {"0": [{"pid": 4242, "used_memory": 22548578304}]}}
      ],                              # compute processes per device index
      "fail_after": null,             # or k: sampling fails after k ticks ...
      "fail_error": "GPU is lost",    # ... with this NVML message
      "at_end": "loop"                # after the last tick: "loop" or "hold"
    }

A tick advances per device: the n-th ``sample(i)`` returns ``ticks[n]["gpus"][i]`` and
``process_memory(i, pid)`` reads the tick last sampled for device ``i``. Recorded pids
can be mapped to live ones with ``RecordedSource(path, pids={4242: os.getpid()})``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tuidl.core.preset.schema import ConfigError
from tuidl.core.system.telemetry import FAILED_DURING_RUN, INIT_REASONS, GpuSample, GpuUnavailable


class RecordedSource:
    """Replays a recorded JSON fixture (format in the module docstring)."""

    READINGS = ("util", "mem_used", "temp", "power", "power_limit", "sm_clock")

    def __init__(self, path: str | os.PathLike | None = None, *, data: Mapping | None = None,
                 pids: Mapping[int, int] | None = None):
        if data is None:
            if path is None:
                raise ValueError("RecordedSource needs a path or data")
            self.path = Path(path)
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except OSError as err:
                raise ConfigError(f"{self.path}: cannot read the GPU recording: {err.strerror}") from None
            except ValueError as err:
                raise ConfigError(f"{self.path}: not a JSON GPU recording: {err}") from None
        else:
            self.path = Path(path) if path else None
        self._data = self._check(data)
        self._pids = {live: recorded for recorded, live in (pids or {}).items()}
        self._started = False
        self._count: dict[int, int] = {}
        self._last: dict[int, int] = {}

    def _check(self, data: Any) -> dict:
        where = str(self.path) if self.path else "GPU recording"
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: the recording must be a JSON object")
        devices = data.get("devices", [])
        ticks = data.get("ticks", [])
        if not isinstance(devices, list) or not all(isinstance(d, Mapping) for d in devices):
            raise ConfigError(f"{where}: devices: expected a list of objects")
        if not isinstance(ticks, list):
            raise ConfigError(f"{where}: ticks: expected a list")
        for t, tick in enumerate(ticks):
            gpus = tick.get("gpus") if isinstance(tick, Mapping) else None
            if not isinstance(gpus, list) or len(gpus) != len(devices):
                raise ConfigError(f"{where}: ticks[{t}].gpus: expected one entry per device ({len(devices)})")
        if data.get("at_end", "loop") not in ("loop", "hold"):
            raise ConfigError(f"{where}: at_end: expected \"loop\" or \"hold\"")
        return dict(data)

    def init(self) -> None:
        err = self._data.get("init_error")
        if err:
            raise GpuUnavailable(INIT_REASONS.get(err, f"NVML failed to start: {err}"))
        self._started = True
        self._count.clear()
        self._last.clear()

    def _need(self) -> None:
        if not self._started:
            raise GpuUnavailable(f"{FAILED_DURING_RUN}: NVML is not initialised")

    def device_count(self) -> int:
        self._need()
        return len(self._data.get("devices", []))

    def device_uuid(self, index: int) -> str | None:
        self._need()
        return self._data["devices"][index].get("uuid")

    def _tick_index(self, n: int) -> int:
        ticks = self._data.get("ticks", [])
        if not ticks:
            raise GpuUnavailable(f"{FAILED_DURING_RUN}: the recording has no ticks")
        if n < len(ticks):
            return n
        return n % len(ticks) if self._data.get("at_end", "loop") == "loop" else len(ticks) - 1

    def sample(self, index: int) -> GpuSample:
        self._need()
        n = self._count.get(index, 0)
        fail_after = self._data.get("fail_after")
        if fail_after is not None and n >= int(fail_after):
            raise GpuUnavailable(f"{FAILED_DURING_RUN}: {self._data.get('fail_error') or 'Unknown Error'}")
        t = self._tick_index(n)
        self._count[index] = n + 1
        self._last[index] = t
        dev = self._data["devices"][index]
        rec = self._data["ticks"][t]["gpus"][index]
        values = {k: rec.get(k) for k in self.READINGS}
        return GpuSample(
            index=index,
            name=str(dev.get("name", f"GPU {index}")),
            uuid=dev.get("uuid"),
            util=values["util"],
            mem_used=values["mem_used"],
            mem_total=rec.get("mem_total", dev.get("mem_total")),
            temp=values["temp"],
            power=values["power"],
            power_limit=values["power_limit"],
            sm_clock=values["sm_clock"],
        )

    def process_memory(self, index: int, pid: int) -> int | None:
        self._need()
        if index not in self._last:
            return None
        procs = self._data["ticks"][self._last[index]].get("processes", {}).get(str(index), [])
        if pid in self._pids:
            want = self._pids[pid]
        elif pid in self._pids.values():
            return None  # a recorded pid mapped to a live one stands for that one only
        else:
            want = pid
        for p in procs:
            if int(p.get("pid", -1)) == want:
                used = p.get("used_memory")
                return None if used is None else int(used)
        return None

    def shutdown(self) -> None:
        self._started = False
