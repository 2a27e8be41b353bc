"""The run directory: ``<runs root>/<id>/``, the one place a run keeps what it makes.

::

    preset.toml        the resolved preset (every default filled in); a logged run
                       (``tuidl.init``, ``tuidl run -- CMD``) has ``config.json`` instead
    events.jsonl       the event stream (see tuidl.core.run.events, docs/events.md)
    status.json        status, pid, epoch, best metric; written atomically
    checkpoints/       last.pt and best.pt, written atomically
    control/           commands for the trainer (pause, resume, stop, checkpoint)
    trainer.out/.err   the trainer process's stdout and stderr
    output.log         ``tuidl run -- CMD``: the command's stdout and stderr

A run is identified by its directory. Ids are checked so they can never point outside
the runs root.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: status writes go unlocked
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import subprocess

from tuidl.core.preset.schema import ConfigError

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# control commands (docs/events.md, "Control"); a name has no "-" (it ends the file name)
COMMANDS = ("pause", "resume", "stop", "checkpoint",
            "prune",  # a sweep gives up on this trial: checkpoint, end as ``pruned``
            "watch_health", "watch_neurons", "watch_latent",  # a dashboard looks at an instrument: compute it for a while
            "landscape", "adversarial")  # compute this once, now
LIVE = ("starting", "running", "paused")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/@+=-]{0,63}$")
NOTE_MAX = 2000


def tags_of(status: dict) -> list[str]:
    """A status file's tags (``[]`` when none)."""
    tags = status.get("tags")
    return [str(t) for t in tags] if isinstance(tags, list) else []


def check_tag(tag: str) -> str:
    """A tag is one word (letters, digits, ``_ . : / @ + = -``, not first ``-`` or ``+``),
    at most 64 characters; ConfigError naming it otherwise."""
    if not TAG_RE.match(tag):
        raise ConfigError(f"bad tag {tag!r}: one word of letters, digits and _ . : / @ + = - "
                          "(at most 64, not starting with - or +)")
    return tag


def runs_root(override: str | os.PathLike | None = None) -> Path:
    """The runs root: ``--runs-dir``, else ``$TUIDL_RUNS``, else a per-user data folder."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("TUIDL_RUNS")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("tuidl")) / "runs"


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder, fsync, rename.
    Readers see the old file or the new one, never a half-written one. On failure
    (a full disk, say) the old file is left as it was and the error is raised.
    ``durable=False`` skips the fsyncs: still atomic for readers and if the process
    dies, but a power cut may lose the update (fine for a progress note rewritten
    every second)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if durable:
        fsync_dir(path.parent)


def write_json(path: str | os.PathLike, data: Any, durable: bool = True) -> None:
    write_atomic(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode(), durable)


def alive_here(record: dict | None) -> bool:
    """A record of a process (``{"host", "pid", ...}``: a queue worker, a sweep's driver)
    names a process of this machine that is alive."""
    return bool(record) and record.get("host") == socket.gethostname() and pid_alive(int(record.get("pid") or 0))


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our own exited child not yet reaped) is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass
class RunDir:
    path: Path
    #: the trainer process this one started for the run (``launch.start`` / ``launch.resume``:
    #: a new process, the standby that took it, or a ``launch.Forked`` trainer), else None;
    #: not part of the run's identity
    process: Optional["subprocess.Popen"] = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.path, Path):  # (a listing of 10,000 runs makes each Path once)
            self.path = Path(self.path)

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def preset_path(self) -> Path:
        return self.path / "preset.toml"

    @property
    def config_path(self) -> Path:
        """A logged run's config (``tuidl.init(config=...)``), in place of a preset."""
        return self.path / "config.json"

    @property
    def output_path(self) -> Path:
        """``tuidl run -- CMD``: the command's stdout and stderr."""
        return self.path / "output.log"

    @property
    def logged(self) -> bool:
        """A logged run (``tuidl.init`` / ``run.log``, ``tuidl run -- CMD``): it has a
        config.json and no preset.toml, so it cannot be resumed or re-run from a preset."""
        return not self.preset_path.is_file() and self.config_path.is_file()

    def require_preset(self, what: str) -> Path:
        """The run's preset.toml, for ``what`` (resume, re-run, export the model, ...);
        a logged run has none: one clear line (a ConfigError) instead."""
        if self.logged:
            raise ConfigError(f"{what}: run {self.id} is a logged run (tuidl.init / tuidl run): it has no preset "
                              "to train from, only its config.json")
        return self.preset_path

    @property
    def events_path(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def control_dir(self) -> Path:
        return self.path / "control"

    def checkpoint(self, which: str = "last") -> Path:
        return self.checkpoints / f"{which}.pt"

    # -- status ---------------------------------------------------------------
    def read_status(self) -> dict[str, Any]:
        try:
            data = json.loads(self.status_path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    @contextlib.contextmanager
    def _status_lock(self) -> Iterator[None]:
        """Hold the run directory's lock (``flock``) while ``status.json`` is read and
        rewritten: the trainer and whoever launched it both update it, and a read-update-
        write of one must not lose the other's fields."""
        if fcntl is None:
            yield
            return
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:  # the run directory is gone: the write fails as it did before
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def write_status(self, durable: bool = True, **fields: Any) -> dict[str, Any]:
        """Update fields of ``status.json``. Progress updates during a run pass
        ``durable=False``: the status and end of a run are always written durably."""
        with self._status_lock():
            data = self.read_status()
            data.update(fields, updated=time.time())
            write_json(self.status_path, data, durable)
        return data

    def write_status_if_unchanged(self, seen: dict[str, Any], **fields: Any) -> bool:
        """Update fields of ``status.json`` only if it still is ``seen`` (as read
        before): nobody wrote it meanwhile. A launcher says ``starting`` this way once
        its trainer runs, which must never cover what that trainer wrote already (a
        trainer that failed at once would read as ``interrupted``). True if written."""
        with self._status_lock():
            if self.read_status() != seen:
                return False
            write_json(self.status_path, {**seen, **fields, "updated": time.time()})
        return True

    def tag(self, add: "list[str] | tuple[str, ...]" = (), remove: "list[str] | tuple[str, ...]" = ()) -> list[str]:
        """Add and remove tags (``status.json``'s ``tags``, under the status lock, written
        atomically: a live trainer's own status updates keep them). The tags, in order."""
        for t in (*add, *remove):
            check_tag(t)
        with self._status_lock():
            data = self.read_status()
            tags = [t for t in data.get("tags") or [] if isinstance(t, str) and t not in remove]
            tags += [t for t in dict.fromkeys(add) if t not in tags]
            data.update(tags=tags, updated=time.time())
            write_json(self.status_path, data)
        return tags

    def set_note(self, note: str) -> None:
        """The run's note (``status.json``'s ``note``; empty removes it), as :meth:`tag`."""
        note = " ".join(str(note).split())
        if len(note) > NOTE_MAX:
            raise ConfigError(f"a note has at most {NOTE_MAX} characters (this one has {len(note)})")
        with self._status_lock():
            data = self.read_status()
            if note:
                data["note"] = note
            else:
                data.pop("note", None)
            data["updated"] = time.time()
            write_json(self.status_path, data)

    def status(self) -> dict[str, Any]:
        """The status file, with a live status whose process is gone reported as
        ``interrupted`` (killed, machine rebooted, ...)."""
        data = self.read_status()
        state = data.get("status", "unknown")
        if state in LIVE:
            # a remote run's copy (tuidl --remote) holds the status as its own machine read it
            same_host = data.get("host") in (None, socket.gethostname()) and "remote" not in data
            if same_host and not pid_alive(int(data.get("pid", 0) or 0)):
                data = {**data, "status": "interrupted",
                        "message": data.get("message") or "the trainer process is gone"}
        return data

    def is_live(self) -> bool:
        return self.status().get("status") in LIVE

    # -- control --------------------------------------------------------------
    def send(self, command: str) -> None:
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}")
        self.control_dir.mkdir(exist_ok=True)
        name = f"{time.time_ns():020d}-{secrets.token_hex(3)}-{command}"
        write_atomic(self.control_dir / name, b"")

    def take_commands(self) -> list[str]:
        try:
            names = sorted(os.listdir(self.control_dir))
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            if name.startswith("."):
                continue
            try:
                os.unlink(self.control_dir / name)
            except FileNotFoundError:
                continue  # another reader took it
            command = name.rsplit("-", 1)[-1]
            if command in COMMANDS:
                out.append(command)
        return out


def new_id(name: str) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", name)[:48].strip(".-") or "run"
    return f"{stamp}-{safe}-{secrets.token_hex(2)}"


def create(root: str | os.PathLike, name: str, preset_toml: str, status: dict | None = None,
           preset: str | None = None) -> RunDir:
    """Create a run directory atomically: it appears complete (with its preset) or not at all.
    ``name`` goes into its id (:func:`tuidl.core.preset.preset.run_name`); ``preset``: the
    preset's own name, for the status (default ``name``). ``status``: more fields for its
    first status file (a sweep's trial: ``sweep``)."""
    return _create(root, name, {"preset.toml": preset_toml.encode()}, {**(status or {}), "preset": preset or name})


def create_logged(root: str | os.PathLike, name: str, config: dict, status: dict | None = None) -> RunDir:
    """Create a logged run's directory atomically (``tuidl.init``, ``tuidl run``): its
    ``config.json`` in place of a preset. ``status``: more fields (``name``, ``project``,
    ``source``)."""
    data = (json.dumps(config, indent=1, sort_keys=True, default=str) + "\n").encode()
    return _create(root, name, {"config.json": data}, {**(status or {}), "name": name})


def _create(root: str | os.PathLike, name: str, files: dict[str, bytes], status: dict) -> RunDir:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for _ in range(10):
        run_id = new_id(name)
        final = root / run_id
        if final.exists():
            continue
        tmp = Path(tempfile.mkdtemp(prefix=f".{run_id}.", dir=root))
        (tmp / "checkpoints").mkdir()
        (tmp / "control").mkdir()
        for file, data in files.items():
            write_atomic(tmp / file, data)
        write_json(tmp / "status.json", {**status, "status": "created", "created": time.time(),
                                         "host": socket.gethostname()})
        try:
            os.rename(tmp, final)
        except OSError:
            continue
        fsync_dir(root)
        return RunDir(final)
    raise OSError(f"could not create a run directory under {root}")


def is_run_dir(path: Path) -> bool:
    """A run directory: a trainer run's (``preset.toml``) or a logged run's (``config.json``)."""
    return (path / "preset.toml").is_file() or (path / "config.json").is_file()


def open_run(ref: str | os.PathLike, root: str | os.PathLike | None = None) -> RunDir:
    """A run by id (inside the runs root) or by path to its directory."""
    ref_s = str(ref)
    base = runs_root(root)
    p = Path(ref_s).expanduser()
    if ID_RE.match(ref_s) and (base / ref_s).is_dir():
        p = base / ref_s
    elif not p.is_dir():
        if ID_RE.match(ref_s):
            raise ConfigError(f"no run {ref_s!r} in {base}")
        if "/" not in ref_s and ".." not in ref_s:
            raise ConfigError(f"bad run id {ref_s!r}")
        raise ConfigError(f"no run directory at {p}")
    if not is_run_dir(p):
        raise ConfigError(f"{p} is not a run directory (it has no preset.toml or config.json)")
    return RunDir(p.resolve())


def list_runs(root: str | os.PathLike | None = None) -> list[RunDir]:
    base = runs_root(root)
    if not base.is_dir():
        return []
    runs = [RunDir(p) for p in base.iterdir()
            if p.is_dir() and not p.name.startswith(".") and is_run_dir(p)]
    return sorted(runs, key=lambda r: r.id)


def tail_lines(path: str | os.PathLike, n: int) -> list[str]:
    """The last ``n`` non-empty lines of a log file (only its last 8 KiB are read), or none."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-n:]
