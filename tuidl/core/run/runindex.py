"""A persistent index of the runs in a runs root, so that listing 10,000 runs reads no
status file and no event log that it read before (issue 28).

The index is one JSON file in the runs root, ``.tuidl-index.json`` (a dot name: no run
directory, :func:`~tuidl.core.run.rundir.list_runs` passes it by). It holds, for each
finished run, what its row in the list needs: its status file as it was read, the file's
size and mtime, whether it has a checkpoint and, for a logged run, the figures read from
its events (with the events file's size and mtime). An entry is used only while the
stamps it was made with are those of the files now; anything else is read again. Live
runs are never kept (their status changes every few seconds), nor is anything the index
cannot be sure of.

It is a cache: a missing, torn, foreign or old-version file is an empty index, and two
processes writing it at once lose one's additions at worst. Written atomically
(temp file + rename) and only when something in it changed. No UI here.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

INDEX_NAME = ".tuidl-index.json"
VERSION = 1

Stamp = tuple[int, int]  # (size, mtime_ns)


def stamp_of(path: str | os.PathLike) -> Stamp | None:
    """A file's (size, mtime in ns), or None when it is missing."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns)


class RunIndex:
    """The index of one runs root: ``get`` an entry whose stamps still hold, ``put`` one,
    ``keep_only`` the runs still there, ``save`` when changed."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.path = self.root / INDEX_NAME
        self.entries: dict[str, dict[str, Any]] = {}
        self.dirty = False
        self._file_stamp: Stamp | None = None
        self.loaded = False  # load() ran to its end once
        self.lock = threading.Lock()

    def load(self) -> None:
        """Read the file again if it changed since it was read (another process wrote it).
        Under :attr:`lock`: a second thread (the Runs pane's listing while the app's read-ahead
        parses the file) waits for the entries instead of taking the stamp as read and the
        index as empty, and no listing walks the entries while they are replaced."""
        with self.lock:
            stamp = stamp_of(self.path)
            if stamp == self._file_stamp:
                self.loaded = True
                return
            entries: dict[str, dict[str, Any]] = {}
            if stamp is not None:
                try:
                    data = json.loads(self.path.read_bytes())
                    if isinstance(data, dict) and data.get("version") == VERSION and isinstance(data.get("runs"), dict):
                        entries = {k: v for k, v in data["runs"].items() if isinstance(v, dict)}
                except (OSError, ValueError, UnicodeDecodeError):
                    entries = {}
            # what this process found and has not saved yet stays
            if self.dirty:
                entries.update(self.entries)
            self.entries = entries
            self._file_stamp = stamp
            self.loaded = True

    def get(self, run_id: str, status: Stamp | None, events: Stamp | None = None) -> dict[str, Any] | None:
        """The entry of a run if the status file (and, for a logged run, the events file)
        are still as they were when it was made."""
        entry = self.entries.get(run_id)
        if entry is None or status is None or entry.get("s") != list(status):
            return None
        if entry.get("f") is not None and entry.get("e") != (list(events) if events else None):
            return None
        return entry

    def put(self, run_id: str, entry: dict[str, Any]) -> None:
        if self.entries.get(run_id) != entry:
            self.entries[run_id] = entry
            self.dirty = True

    def drop(self, run_id: str) -> None:
        if self.entries.pop(run_id, None) is not None:
            self.dirty = True

    def keep_only(self, run_ids: set[str]) -> None:
        """Forget the runs that are gone."""
        for run_id in [k for k in self.entries if k not in run_ids]:
            del self.entries[run_id]
            self.dirty = True

    def save(self) -> bool:
        """Write the index if it changed (atomically; a runs root that cannot be written
        keeps no index, and the listing works as without one). True if written."""
        if not self.dirty:
            return False
        from tuidl.core.run.rundir import write_atomic

        data = json.dumps({"version": VERSION, "runs": self.entries}, separators=(",", ":")).encode()
        try:
            write_atomic(self.path, data, durable=False)
        except OSError:
            return False
        self.dirty = False
        self._file_stamp = stamp_of(self.path)
        return True


_INDEXES: dict[str, RunIndex] = {}
_LOCK = threading.Lock()


def index_of(root: str | os.PathLike) -> RunIndex:
    """The index of a runs root (one object per root and process), read again if its file
    changed."""
    key = str(root)
    with _LOCK:
        index = _INDEXES.get(key)
        if index is None:
            index = _INDEXES[key] = RunIndex(root)
    index.load()
    return index


def index_if_read(root: str | os.PathLike) -> RunIndex | None:
    """The index of a runs root if this process has read it, else None (and nothing read
    now): a first screen of the newest runs reads their ~200 status files sooner than it
    would parse the index of 10,000 (4 MB)."""
    with _LOCK:
        index = _INDEXES.get(str(root))
    return index if index is not None and index.loaded else None


CONFIGS_NAME = ".tuidl-configs.json"


class ConfigStore:
    """The runs' configs, flat (``runfilter.run_config``), kept in the runs root so that a
    filter or a column on a config key in a new process parses no preset.toml it parsed
    before: ``{"configs": {digest: flat}, "runs": {run id: [config file's mtime_ns, digest]}}``
    (runs that share a config share one copy). A cache like the index."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.path = Path(root) / CONFIGS_NAME
        self.configs: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, list] = {}
        self.dirty = False
        self.lock = threading.Lock()
        try:
            data = json.loads(self.path.read_bytes())
            if isinstance(data, dict) and data.get("version") == VERSION:
                self.configs = {k: v for k, v in (data.get("configs") or {}).items() if isinstance(v, dict)}
                self.runs = {k: v for k, v in (data.get("runs") or {}).items()
                             if isinstance(v, list) and len(v) == 2 and v[1] in self.configs}
        except (OSError, ValueError, UnicodeDecodeError, AttributeError):
            self.configs, self.runs = {}, {}

    def get(self, run_id: str, mtime_ns: int) -> dict[str, Any] | None:
        found = self.entry(run_id, mtime_ns)
        return found[2] if found is not None else None

    def entry(self, run_id: str, mtime_ns: int) -> tuple[int, str, dict[str, Any]] | None:
        """``(mtime_ns, digest, config)`` of a run whose config file is as it was (runs that
        share a config share its digest and its one dict)."""
        entry = self.runs.get(run_id)
        if entry is None or entry[0] != mtime_ns:
            return None
        config = self.configs.get(entry[1])
        return (entry[0], entry[1], config) if config is not None else None

    def put(self, run_id: str, mtime_ns: int, flat: dict[str, Any]) -> None:
        import hashlib

        try:
            text = json.dumps(flat, sort_keys=True, default=str)
        except (TypeError, ValueError):
            return
        digest = hashlib.sha1(text.encode()).hexdigest()[:16]
        with self.lock:
            self.configs.setdefault(digest, json.loads(text))
            self.runs[run_id] = [mtime_ns, digest]
            self.dirty = True

    def save(self) -> bool:
        with self.lock:
            if not self.dirty:
                return False
            from tuidl.core.run.rundir import write_atomic

            used = {d for _m, d in self.runs.values()}
            data = {"version": VERSION, "configs": {d: c for d, c in self.configs.items() if d in used},
                    "runs": self.runs}
            try:
                write_atomic(self.path, json.dumps(data, separators=(",", ":")).encode(), durable=False)
            except OSError:
                return False
            self.dirty = False
            return True


_STORES: dict[str, ConfigStore] = {}


def configs_of(root: str | os.PathLike) -> ConfigStore:
    """The config store of a runs root (read once per process)."""
    key = str(root)
    store = _STORES.get(key)  # (asked for each run a filter reads)
    if store is None:
        with _LOCK:
            store = _STORES.get(key)
            if store is None:
                store = _STORES[key] = ConfigStore(root)
    return store


def save_configs() -> None:
    """Write every config store that took new configs."""
    for store in list(_STORES.values()):
        store.save()
