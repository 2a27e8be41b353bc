"""A remote host's runs, copied into a local cache folder as ordinary run directories.

Everything that reads run directories (the Runs pane, ``RunView``, the charts, attach)
reads a copy as it reads a local run. Each copy holds the run's ``preset.toml`` or
``config.json``, its ``status.json`` (as the remote machine reads it, plus ``remote``:
the host and whether it has a checkpoint there), its ``events.jsonl`` (byte for byte,
appended as it comes) and ``remote.json`` (the host: what makes it a copy).

The copy's events file is the client's offset: its size is how many bytes of the remote
file it has, so a reconnect (or a dashboard started tomorrow) asks only for the rest.
Commands for a remote run (``RunDir.send``: pause, stop, ...; :func:`request_relaunch`)
land in the copy's ``control/`` folder, as for a local run, and the client takes them
from there to the link."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from tuidl.core.remote import protocol as W
from tuidl.core.run import rundir as R

MARK = "remote.json"
RELAUNCH = "relaunch"  # continue from the last checkpoint, on the remote machine


class Gap(Exception):
    """Events arrived that do not follow the bytes the copy has: start the link over."""


def cache_root() -> Path:
    """Where copies live: ``$TUIDL_REMOTE_CACHE``, else tuidl's cache folder's ``remote``."""
    env = os.environ.get("TUIDL_REMOTE_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("tuidl")) / "remote"


def host_folder(host: str) -> str:
    """A host as a folder name (``user@gpu1:22`` -> ``user@gpu1_22``)."""
    return re.sub(r"[^A-Za-z0-9@._-]", "_", host).strip(".") or "host"


def is_copy(run: R.RunDir) -> bool:
    return (run.path / MARK).is_file()


def host_of(run: R.RunDir) -> str | None:
    """The host a run is a copy of; None for a run of this machine."""
    try:
        return str(json.loads((run.path / MARK).read_text())["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def request_relaunch(run: R.RunDir) -> None:
    """Ask the remote machine to continue the run from its last checkpoint (the client
    takes the request to the link, as it takes pause or stop)."""
    _request(run, RELAUNCH)


def _request(run: R.RunDir, command: str) -> None:
    run.control_dir.mkdir(exist_ok=True)
    R.write_atomic(run.control_dir / f"{time.time_ns():020d}-{command}", b"", durable=False)


class Mirror:
    """The copies of one host's runs (``root``: its folder of run directories)."""

    def __init__(self, host: str, root: os.PathLike | str | None = None) -> None:
        self.host = host
        self.root = Path(root) if root else cache_root() / host_folder(host) / "runs"
        self.remote_host = ""  # the host's own name (its hello), for status files that lack one
        self.duplicates = 0  # event messages dropped as already here (a reconnect's overlap)
        self.lines = 0  # event lines taken
        self.bytes = 0
        self._controls: dict[str, int] | None = None  # copy id -> its control folder's mtime when last listed

    # -- what the copy has -------------------------------------------------------------
    def runs(self) -> list[R.RunDir]:
        return [r for r in R.list_runs(self.root) if is_copy(r)]

    def offsets(self) -> dict[str, int]:
        out = {}
        for run in self.runs():
            try:
                out[run.id] = os.path.getsize(run.events_path)
            except OSError:
                out[run.id] = 0
        return out

    def take_requests(self) -> list[tuple[str, str]]:
        """The commands given to the copies (``(run id, command)``, oldest first), taken.
        A copy's control folder is listed only when it changed (one ``stat`` a copy,
        five times a second, for a host with a thousand runs)."""
        if self._controls is None:
            self._controls = {run.id: -1 for run in self.runs()}
        out = []
        recent = time.time_ns() - 2_000_000_000  # a folder changed lately is listed anyway: mtimes are coarse
        for run_id, seen in list(self._controls.items()):
            run = R.RunDir(self.root / run_id)
            try:
                stamp = os.stat(run.control_dir).st_mtime_ns
            except OSError:
                continue
            if stamp == seen and stamp < recent:
                continue
            self._controls[run_id] = stamp
            try:
                names = sorted(os.listdir(run.control_dir))
            except OSError:
                continue
            for name in names:
                if name.startswith("."):
                    continue
                try:
                    os.unlink(run.control_dir / name)
                except OSError:
                    continue
                command = name.rsplit("-", 1)[-1]
                if command in R.COMMANDS or command == RELAUNCH:
                    out.append((run.id, command))
        return out

    # -- taking messages ---------------------------------------------------------------
    def apply(self, msg: dict[str, Any]) -> None:
        kind = msg.get("t")
        if kind == "run":
            self._run(msg)
        elif kind == "events":
            self._events(msg)
        elif kind == "reset":
            path = self._path(msg.get("id"))
            if path is not None and path.is_dir():
                with open(path / "events.jsonl", "wb"):
                    pass
        elif kind == "runs":
            self._prune(msg.get("ids") or [])

    def _path(self, run_id: Any) -> Path | None:
        if not isinstance(run_id, str) or not R.ID_RE.match(run_id):
            return None
        return self.root / run_id

    def _run(self, msg: dict[str, Any]) -> None:
        path = self._path(msg.get("id"))
        if path is None:
            return
        status = dict(msg.get("status") or {})
        status.setdefault("host", self.remote_host or self.host)
        status["remote"] = {"host": self.host, "checkpoint": bool(msg.get("checkpoint"))}
        if not path.is_dir():
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=self.root))
            (tmp / "control").mkdir()
            (tmp / "checkpoints").mkdir()
            files = msg.get("files") or {}
            if not any(name in files for name in ("preset.toml", "config.json")):
                files = {"config.json": "{}\n"}  # its files were not sent: still a run directory
            for name in ("preset.toml", "config.json"):
                if isinstance(files.get(name), str):
                    R.write_atomic(tmp / name, W.data_bytes(files[name]), durable=False)
            R.write_atomic(tmp / MARK, json.dumps({"host": self.host}).encode(), durable=False)
            (tmp / "events.jsonl").touch()
            R.write_json(tmp / "status.json", status, durable=False)
            os.rename(tmp, path)
            if self._controls is not None:
                self._controls[path.name] = -1
            return
        R.write_json(path / "status.json", status, durable=False)

    def _events(self, msg: dict[str, Any]) -> None:
        path = self._path(msg.get("id"))
        if path is None or not path.is_dir():
            raise Gap(f"events of a run not announced: {msg.get('id')!r}")
        data = W.data_bytes(str(msg.get("data", "")))
        offset = int(msg.get("offset", -1))
        events = path / "events.jsonl"
        size = os.path.getsize(events) if events.exists() else 0
        if offset + len(data) <= size:  # all of it is here already
            self.duplicates += 1
            return
        if offset != size:
            if offset > size:
                raise Gap(f"{msg.get('id')}: events from byte {offset}, the copy has {size}")
            data = data[size - offset:]  # the part not here yet
        fd = os.open(events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            done = 0
            while done < len(view):
                done += os.write(fd, view[done:])
        finally:
            os.close(fd)
        self.lines += data.count(b"\n")
        self.bytes += len(data)

    def _prune(self, ids: list) -> None:
        keep = set(map(str, ids))
        for run in self.runs():
            if run.id not in keep:
                shutil.rmtree(run.path, ignore_errors=True)
                if self._controls is not None:
                    self._controls.pop(run.id, None)
