"""TensorBoard logdirs as tuidl runs (``tuidl import tensorboard``, ``tuidl tensorboard``).

One run per run folder (a folder that holds ``events.out.tfevents.*`` files, as
TensorBoard itself counts runs). The files are read with the tensorboard package's own
reader (``EventFileLoader``: it keeps its offset, so a file still being written is read
again from where it stopped, and a record cut in half is read once it is whole).
Scalars become ``metrics`` events (values at one step merged into one event), the
hparams (the hparams plugin's session info, or Lightning's ``hparams.yaml``) the config.

The imported run is an ordinary logged run (``source: "tensorboard"``); its status file
names the folder (``tensorboard``), so importing the same folder again rewrites that run
instead of making a second one. No UI here.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Iterator

from tuidl.core.run import events as E
from tuidl.core.run import rundir as R

EVENT_FILE = "events.out.tfevents."
SOURCE = "tensorboard"
LIVE_S = 120.0  # a folder whose files changed within this is followed as running, not ended


class MissingExtra(Exception):
    """A library of an extra is not installed: the message is one line with the pip command."""


def require_tensorboard() -> None:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise MissingExtra("reading TensorBoard files needs the tensorboard package: "
                           "pip install 'tuidl[tensorboard]'") from None


def run_folders(logdir: Path) -> list[Path]:
    """The run folders under ``logdir`` (itself included): those holding an event file."""
    found = {p.parent for p in Path(logdir).rglob(f"{EVENT_FILE}*") if p.is_file()}
    return sorted(found)


def run_name(logdir: Path, folder: Path) -> str:
    """The run's name: the folder's path inside the logdir (``lightning_logs/version_0``),
    or the logdir's own name for events right in it."""
    rel = folder.relative_to(logdir)
    return str(rel) if str(rel) != "." else (Path(logdir).resolve().name or "tensorboard")


def _hparams_yaml(folder: Path) -> dict:
    path = folder / "hparams.yaml"  # Lightning's TensorBoardLogger writes it beside its events
    if not path.is_file():
        return {}
    try:
        import yaml

        data = yaml.safe_load(path.read_text())
    except Exception:  # noqa: BLE001 - no yaml, a tag safe_load refuses: the events' hparams still count
        return {}
    return data if isinstance(data, dict) else {}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


class Source:
    """One TensorBoard run folder and the tuidl run it is read into. :meth:`poll` reads
    what the folder's files gained since the last call and appends it to the run."""

    def __init__(self, folder: Path, logdir: Path, root: Path):
        require_tensorboard()
        self.folder = Path(folder).resolve()
        self.name = run_name(Path(logdir), Path(folder))
        self.root = Path(root)
        self.run: R.RunDir | None = None
        self._writer: E.EventWriter | None = None
        self._loaders: dict[Path, Any] = {}
        self._step: int | None = None  # the step being gathered, not yet written
        self._values: dict[str, Any] = {}
        self._time = 0.0
        self.first: float | None = None  # the first event's wall time
        self.last: float | None = None
        self.config: dict[str, Any] = {}
        self.steps = 0  # metrics events written
        self.ended = False

    # -- reading ------------------------------------------------------------------
    def _files(self) -> list[Path]:
        return sorted(p for p in self.folder.glob(f"{EVENT_FILE}*") if p.is_file())

    def _events(self) -> Iterator[Any]:
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

        for path in self._files():
            loader = self._loaders.get(path)
            if loader is None:
                loader = self._loaders[path] = EventFileLoader(str(path))
            yield from loader.Load()

    def _read(self) -> list[dict]:
        """The new events of the folder's files as ``metrics`` events: the values of
        consecutive events at one step in one (a step whose values are split between two
        reads gives two events at that step, as the event stream allows)."""
        from tensorboard.util import tensor_util

        out: list[dict] = []
        for event in self._events():
            wall = float(event.wall_time)
            if self.first is None and wall > 0:
                self.first = wall
            self.last = max(self.last or wall, wall)
            if not event.HasField("summary"):
                continue
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                if plugin == "hparams":
                    self._take_hparams(value.metadata.plugin_data.content)
                    continue
                if plugin != "scalars" or not value.HasField("tensor"):
                    continue
                try:
                    array = tensor_util.make_ndarray(value.tensor)
                    # float32 (what SummaryWriter stores) by its shortest repr: 0.1, not 0.10000000149
                    number = float(str(array.reshape(()))) if array.dtype.kind == "f" else float(array.item())
                except (ValueError, TypeError):
                    continue
                step = int(event.step)
                if self._step is not None and step != self._step and self._values:
                    out.append(self._metrics())
                self._step, self._time = step, wall
                self._values[value.tag] = number
        if self._values:
            out.append(self._metrics())
        return out

    def _metrics(self) -> dict:
        ev = {"type": "metrics", "time": round(self._time, 4), "step": self._step,
              "values": self._values}
        self._values = {}
        self.steps += 1
        return ev

    def _take_hparams(self, content: bytes) -> None:
        from tensorboard.plugins.hparams import plugin_data_pb2

        try:
            data = plugin_data_pb2.HParamsPluginData.FromString(content)
        except Exception:  # noqa: BLE001 - a newer layout: the scalars still count
            return
        if not data.HasField("session_start_info"):
            return
        for key, v in data.session_start_info.hparams.items():
            kind = v.WhichOneof("kind")
            self.config[key] = getattr(v, kind) if kind else None

    # -- writing ------------------------------------------------------------------
    def _open(self, live: bool) -> None:
        """The run for this folder: the one an earlier import made (rewritten), or a new one."""
        status = {"source": SOURCE, "project": None, "tensorboard": str(self.folder)}
        config = {**_hparams_yaml(self.folder), **self.config}
        self.run = find_import(self.root, self.folder)
        if self.run is None:
            self.run = R.create_logged(self.root, self.name, _jsonable(config), status=status)
        else:
            R.write_json(self.run.config_path, _jsonable(config), durable=False)
            self.run.events_path.unlink(missing_ok=True)
        self._writer = E.EventWriter(self.run.events_path)
        started = self.first or time.time()
        self.run.write_status(status="running" if live else "completed", pid=os.getpid(),
                              host=socket.gethostname(), started=started, message="", ended=None)
        self._writer.write({"type": "run_started", "time": round(started, 4), "schema": E.SCHEMA_VERSION,
                            "run_id": self.run.id, "source": SOURCE, "name": self.name, "project": None,
                            "config": _jsonable(config), "host": socket.gethostname(), "pid": os.getpid(),
                            "argv": [], "tensorboard": str(self.folder)})

    def poll(self, live: bool = False) -> int:
        """Read what is new and append it to the run (made when the first scalar comes;
        ``live``: its status is ``running`` until :meth:`end`). Returns the metrics events
        written."""
        before = self.steps
        new = self._read()
        if self.run is None and new:  # a folder with no scalars (yet) makes no run
            self._open(live)
        if new:
            self._writer.append(b"".join(E.encode(ev) for ev in new))
            self.run.write_status(durable=False, steps=self.steps)
        return self.steps - before

    def end(self, message: str = "imported from TensorBoard") -> None:
        """Read what is left and end the run (``completed``)."""
        if self.ended:
            return
        self.poll(live=False)
        self.ended = True
        if self.run is None:
            return
        started, ended = self.first or time.time(), self.last or time.time()
        duration = round(max(0.0, ended - started), 3)
        self._writer.write({"type": "run_ended", "time": round(ended, 4), "status": "completed",
                            "message": message, "steps": self.steps, "duration": duration})
        self._writer.close()
        self.run.write_status(status="completed", message=message, ended=ended, steps=self.steps,
                              trained_s=duration)

    def idle_for(self) -> float:
        """Seconds since any of the folder's files last changed."""
        mtimes = [p.stat().st_mtime for p in self._files()]
        return time.time() - max(mtimes) if mtimes else 0.0


def find_import(root: Path, folder: Path) -> R.RunDir | None:
    """The run an earlier import of ``folder`` made under ``root``, if any."""
    if not Path(root).is_dir():
        return None
    for run in R.list_runs(root):
        try:
            if run.read_status().get("tensorboard") == str(folder):
                return run
        except (OSError, ValueError):
            continue
    return None


def import_logdir(logdir: Path, root: Path) -> list[Source]:
    """Import every run folder of ``logdir`` into ``root``, each ended as ``completed``
    (a folder without scalars makes no run: ``source.run`` is None)."""
    require_tensorboard()
    logdir = Path(logdir)
    if not logdir.is_dir():
        raise FileNotFoundError(f"{logdir}: no such folder")
    sources = []
    for folder in run_folders(logdir):
        source = Source(folder, logdir, root)
        source.end()
        sources.append(source)
    return sources


class Follower:
    """Keeps ``root`` in step with a live ``logdir``: every ``every`` seconds it reads what
    each run folder's files gained, and makes a run for each new run folder. A folder
    idle for :data:`LIVE_S` when first seen is imported whole and ended; the others are
    followed as running until :meth:`stop` ends them."""

    def __init__(self, logdir: Path, root: Path, every: float = 1.0):
        require_tensorboard()
        self.logdir, self.root, self.every = Path(logdir), Path(root), every
        self.sources: dict[Path, Source] = {}
        self._halt = None
        self._thread = None
        self.error: str | None = None

    def sync(self) -> int:
        """One pass: new folders, new events. Returns the metrics events written."""
        written = 0
        for folder in run_folders(self.logdir):
            key = folder.resolve()
            source = self.sources.get(key)
            if source is None:
                source = self.sources[key] = Source(folder, self.logdir, self.root)
                if source.idle_for() > LIVE_S:
                    source.end()
                    written += source.steps
                    continue
            if not source.ended:
                written += source.poll(live=True)
        return written

    def start(self) -> "Follower":
        import threading

        self._halt = threading.Event()
        self.sync()
        self._thread = threading.Thread(target=self._loop, name="tuidl-tensorboard", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._halt.wait(self.every):
            try:
                self.sync()
            except Exception as err:  # noqa: BLE001 - keep following; say what went wrong once
                self.error = f"{type(err).__name__}: {err}"

    def stop(self) -> None:
        """Stop following: each followed run gets what is left and ends."""
        if self._halt is not None:
            self._halt.set()
            self._thread.join(10)
        for source in self.sources.values():
            if not source.ended:
                source.end("followed from TensorBoard until the dashboard closed")
