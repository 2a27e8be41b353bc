"""A sweep's folder, ``RUNS/sweeps/ID/`` (:class:`SweepDir`)::

    sweep.json        the sweep: study name, storage URL, the preset (TOML), the spec
    study.db          the Optuna study (SQLite), unless --storage names another database
    events.jsonl      the sweep's own events: sweep_started, trial_started, trial_ended, sweep_ended
    workers/          one status file per worker (driver process): pid, host, status
    stop              a file: every worker of this machine started before it stops
    driver.out/.err   a detached driver's output

The driver (``tuidl.core.sweep.driver``) runs the sweep in it; the study
(``tuidl.core.sweep.study``) reads it. No Optuna here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.preset.schema import ConfigError
from tuidl.core.sweep import spec as S


def default_storage(sweep_path: Path) -> str:
    """The SQLite study file in the sweep's folder."""
    return f"sqlite:///{Path(sweep_path).resolve() / 'study.db'}"


@dataclass
class SweepDir:
    path: Path
    data: dict = field(default_factory=dict, repr=False)

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def runs_root(self) -> Path:
        return self.path.parent.parent

    @property
    def study_name(self) -> str:
        return self.data["study"]

    @property
    def storage_url(self) -> str:
        return self.data["storage"]

    @property
    def spec(self) -> S.SweepSpec:
        return S.SweepSpec.from_json(self.data["spec"])

    def preset(self) -> P.Preset:
        return P.load_text(self.data["preset"], self.data.get("source") or f"sweep {self.id}")

    @property
    def events_path(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def stop_path(self) -> Path:
        return self.path / "stop"

    @staticmethod
    def folder(runs_root, sweep_id: str) -> Path:
        if not R.ID_RE.match(sweep_id):
            raise ConfigError(f"bad sweep id {sweep_id!r}: use letters, digits, '.', '_' or '-'")
        return R.runs_root(runs_root) / "sweeps" / sweep_id

    @classmethod
    def open(cls, runs_root, sweep_id: str) -> "SweepDir":
        path = cls.folder(runs_root, sweep_id)
        try:
            data = json.loads((path / "sweep.json").read_text())
        except FileNotFoundError:
            raise ConfigError(f"no sweep {sweep_id!r} in {path.parent}") from None
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read {path / 'sweep.json'}: {e}") from None
        return cls(path, data)

    @classmethod
    def create(cls, runs_root, sweep_id: str, preset: P.Preset, spec: S.SweepSpec, storage: str | None = None,
               allow_code: tuple[str, ...] = ()) -> "SweepDir":
        """The sweep's folder, made if new. A worker joining a sweep that this runs root
        has already (``--study NAME``) keeps its sweep.json."""
        path = cls.folder(runs_root, sweep_id)
        (path / "workers").mkdir(parents=True, exist_ok=True)
        if not (path / "sweep.json").is_file():
            data = {"id": sweep_id, "study": sweep_id, "storage": storage or default_storage(path),
                    "preset": P.dumps(preset), "source": preset.source, "preset_name": preset.name,
                    "spec": spec.to_json(), "seed": preset.seed, "allow_code": list(allow_code),
                    "created": time.time(), "host": socket.gethostname()}
            R.write_json(path / "sweep.json", data)
        return cls.open(runs_root, sweep_id)

    def request_stop(self) -> None:
        R.write_atomic(self.stop_path, f"{time.time()}\n".encode())

    def stop_requested(self, since: float) -> bool:
        try:
            return self.stop_path.stat().st_mtime >= since
        except FileNotFoundError:
            return False

    def workers(self) -> list[dict]:
        out = []
        for f in sorted((self.path / "workers").glob("*.json")):
            try:
                out.append(json.loads(f.read_text()))
            except (OSError, ValueError):
                continue
        return out

    def live(self) -> bool:
        """A worker of this machine drives the sweep now."""
        return any(w.get("status") == "running" and R.alive_here(w) for w in self.workers())

    @contextlib.contextmanager
    def lock(self):
        """One worker of this machine at a time between counting the trials and asking
        for a new one (so that two never make one trial too many)."""
        with open(self.path / "ask.lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
