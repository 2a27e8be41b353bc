"""Logging from your own training script: ``tuidl.init`` / ``run.log`` (docs/logging.md).

::

    import tuidl

    run = tuidl.init(project="mnist", config={"lr": 1e-3})
    for step in range(steps):
        run.wait_if_paused()            # pause / checkpoint-now from the dashboard or the CLI
        if run.should_stop:             # stop from the dashboard, the CLI, SIGTERM
            break
        ...
        run.log({"train/loss": loss, "acc": acc})
    run.finish()

A logged run is an ordinary run directory (``tuidl.core.run.rundir``) with ``config.json``
instead of a preset, written through the same ``EventWriter`` as the trainer; everything
that reads runs reads it.

Never in the way of training: :meth:`Run.log` copies the dict and appends it to a queue
(a microsecond or two); a daemon thread turns what is queued into ``metrics`` events and
appends them every ``FLUSH_S``, at :meth:`Run.finish` and at exit. It also obeys the run's
control folder (pause, resume, stop, checkpoint) and samples the process's CPU, memory and
GPUs every ``TELEMETRY_S``. A bad value, a full disk or an unwritable folder gives one
warning on stderr; nothing raises into the loop.

This module imports only the standard library at import time (``import tuidl`` stays
light: no PyTorch, Textual or plotext); tuidl's own run modules load at :func:`init`,
psutil and NVML in the writer thread. A run of at least 2,000 metrics events gets its
columns cache as it finishes (:meth:`_Columns.keep`: its first opening in the dashboard
reads arrays, not every line), written without numpy.
"""

from __future__ import annotations

import atexit
import collections
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

TYPE_CHECKING = False  # typing's own constant without importing typing (a few ms)
if TYPE_CHECKING:
    from typing import Any
# signal, socket and traceback are imported where used: ``import tuidl`` stays a few ms

FLUSH_S = 0.25  # the writer thread appends what is queued this often (the issue asks for 0.5 s at most)
CONTROL_S = 0.25  # ... and looks at the control folder this often
TELEMETRY_S = 10.0  # ... and samples the process's CPU, RSS and GPUs this often
MAX_PENDING = 64 << 20  # bytes kept in memory while the disk refuses them (full, file-size limit)
ENV_RUN = "TUIDL_RUN_DIR"  # set by ``tuidl run -- CMD``: tuidl.init() in CMD joins that run
ENV_ALL_RANKS = "TUIDL_ALL_RANKS"  # "1": every rank of a data-parallel job writes a run of its own

_now = time.time
_warned: set[str] = set()


def warn(key: str, message: str) -> None:
    """One line on stderr, once per ``key`` in a process."""
    if key in _warned:
        return
    _warned.add(key)
    try:
        print(f"tuidl: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed
        pass


def rank() -> int:
    """This process's rank in a data-parallel job (``RANK``, else ``LOCAL_RANK``), 0 alone."""
    for var in ("RANK", "LOCAL_RANK"):
        try:
            return int(os.environ[var])
        except (KeyError, ValueError):
            continue
    return 0


def number(value: Any) -> float | int | None:
    """A logged value as a number, or None if it is not one. Python and numpy numbers,
    scalar tensors and anything else with ``.item()`` or ``__float__`` count as their
    value (duck-typed: no torch or numpy import); NaN and inf are kept."""
    if type(value) is float or type(value) is int:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):  # numpy.float64 is a float
        return float(value) if isinstance(value, float) else int(value)
    if value is None or isinstance(value, (str, bytes)):
        return None
    item = getattr(value, "item", None)
    if item is not None:
        try:  # a tensor or array of more than one element raises here
            value = item()
        except Exception:  # noqa: BLE001 - whatever the library raises, it is not one number
            return None
        return number(value) if not hasattr(value, "item") else None
    if hasattr(value, "__float__"):
        try:
            return float(value)
        except Exception:  # noqa: BLE001
            return None
    return None


def _cwd() -> str | None:
    """The working directory (what ``tuidl run --again`` runs the script in), None if gone."""
    try:
        return os.getcwd()
    except OSError:
        return None


def _what(value: Any) -> str:
    """How a value that is not a number is named in a warning."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"a {type(value).__name__} of shape {tuple(shape)}"
    return "None" if value is None else f"a {type(value).__name__}"


def _jsonable(value: Any) -> Any:
    """Config and summary values as JSON: numbers as numbers, containers walked, anything
    else as its ``str``."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    n = number(value)
    return str(value) if n is None else n


def _flatten(values: Mapping, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + "/")
        else:
            yield name, value


class Config:
    """The run's config: ``config.lr``, ``config["lr"]``, ``config.update({...})``.
    Keys set after :func:`init` are written (``config`` event, ``config.json``)."""

    def __init__(self, values: Mapping | None = None, changed: Callable[[dict], None] | None = None):
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_changed", None)
        self.update(values or {})
        object.__setattr__(self, "_changed", changed)

    def update(self, values: Mapping | None = None, **more: Any) -> None:
        new = {str(k): _jsonable(v) for k, v in {**dict(values or {}), **more}.items()}
        self._values.update(new)
        if self._changed is not None and new:
            self._changed(new)

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def keys(self):
        return self._values.keys()

    def items(self):
        return self._values.items()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def __repr__(self) -> str:
        return f"Config({self._values!r})"


class Summary(dict):
    """The run's summary: keys set here (``run.summary["best_acc"] = 0.98``) are written
    in a ``summary`` event, and override the last / best value the dashboard shows."""

    def __init__(self, changed: Callable[[], None]):
        super().__init__()
        self._changed = changed

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()


class _Columns:
    """The events a run writes, gathered as its columns cache holds them
    (tuidl.core.run.columns): each plain ``metrics`` event (finite numbers, string
    names, an int step within 2**53) as numbers in ``array`` columns by the names it
    logged, every other line as written (read back as JSON at the end). At the run's end
    :meth:`save` writes the cache from them: no parse of the file just written, and no
    numpy (``tuidl.core.run.columns_file``). Beyond ``LIMIT`` values kept (other lines
    count by their bytes) it stops (``full``): the end parses the file instead."""

    LIMIT = 1 << 23  # values (8 bytes each: 64 MiB)
    BIG = 2 ** 53

    def __init__(self) -> None:
        self.groups: dict[tuple, list] = {}  # names -> [seq, steps, times, values] (array q, d, d, d)
        self.others: list[list] = []  # [plain metrics events before it, its line]
        self.count = 0  # plain metrics events
        self.size = 0  # bytes encoded
        self.kept = 0
        self.full = False

    def metrics(self, t: float, step: int, values: dict, line: bytes) -> None:
        """A metrics event the fast path wrote (``values``: float and int only)."""
        self.size += len(line)
        if self.full:
            return
        big = self.BIG
        group = self.groups.get(keys := tuple(values))
        if group is None:
            if not keys or not all(type(k) is str for k in keys):
                self.other(line, counted=True)
                return
            from array import array

            group = self.groups[keys] = [array("q"), array("d"), array("d"), array("d")]
        vals = values.values()
        # NaN and inf are written as strings ("nan"), read back as such: more quotes than the
        # names' and the four keys' and "metrics" (a name with an escaped quote in it is
        # kept as its line: the same in the end); an int beyond 2**53 is no exact float
        if line.count(b'"') != 10 + 2 * len(keys) or not (-big < min(vals) and max(vals) < big and -big < step < big):
            self.other(line, counted=True)
            return
        group[0].append(self.count)
        group[1].append(step)
        group[2].append(t)
        group[3].extend(vals)
        self.count += 1
        self.kept += len(keys)
        if self.kept > self.LIMIT:
            self._drop()

    def other(self, line: bytes, counted: bool = False) -> None:
        """Any other line written (``counted``: its bytes are in ``size`` already)."""
        if not counted:
            self.size += len(line)
        if self.full:
            return
        self.others.append([self.count, line])
        self.kept += len(line) >> 3
        if self.kept > self.LIMIT:
            self._drop()

    def _drop(self) -> None:
        self.full = True
        self.groups.clear()
        self.others.clear()

    @staticmethod
    def keep(rec: "_Columns | None", events_path: Any) -> None:
        """The finished history's columns cache (``events.jsonl.columns.npz``), written
        at the end of :meth:`Run.finish` (``run_ended`` on disk) for a run of at least
        ``COLUMNS_CACHE_MIN`` metrics events, so that its first opening in the dashboard
        reads it instead of parsing every line. From ``rec`` (no numpy); after a failed write (``rec`` None) or too long a
        history (``full``), by parsing the file (numpy then). Any failure: no cache, nothing said,
        nothing raised."""
        try:
            if rec is None or rec.full:
                from tuidl.core.run import columns

                columns.read(events_path, keep=True)
            else:
                rec.save(events_path)
        except Exception:  # noqa: BLE001 - the cache is a convenience: never in the script's way
            pass

    def save(self, events_path: Any) -> bool:
        import json

        from tuidl.core.run import columns_file  # (no numpy: the cache written by hand)

        others = [[n, json.loads(line)] for n, line in self.others]
        return columns_file.save_parts(events_path, self.size, self.groups, others, self.count)


class Run:
    """One logged run. Made by :func:`init`; use it as a context manager or call
    :meth:`finish` (at exit it is called for you)."""

    def __init__(self, *, name: str, project: str | None, config: Mapping | None, root: Any,
                 on_checkpoint: Callable[[], Any] | None = None, telemetry: bool = True,
                 run_dir: Any = None, enabled: bool = True):
        self.name = name
        self.project = project
        self.on_checkpoint = on_checkpoint
        self.summary = Summary(self._summary_changed)
        self.config = Config(config, self._config_changed)
        self.run_dir = None  # tuidl.core.run.rundir.RunDir, None when nothing is written
        self.joined = False  # True: a ``tuidl run`` supervisor owns the run; this script logs into it
        self.finished = False
        self._step = 0
        self._queue: collections.deque = collections.deque()
        self._append = self._queue.append
        self._writer = None
        self._control = None
        self._cooperative = False  # the loop reads should_stop / calls wait_if_paused
        self._failure: tuple[str, str] | None = None  # (status, message) from an exception that ends the script
        self._summary_dirty = False
        self._pending = bytearray()  # encoded events the disk refused, written first next time
        self._lock = threading.Lock()  # one flush at a time (the writer thread, finish)
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._telemetry = telemetry
        self._stop_seen = False
        self._metrics_events = 0  # metrics events encoded (the columns cache is written at the end for many)
        self._columns: _Columns | None = _Columns() if enabled else None  # the events as written, for that cache
        if enabled:
            self._open(root, run_dir)

    # -- the API -------------------------------------------------------------------
    @property
    def id(self) -> str | None:
        return self.run_dir.id if self.run_dir is not None else None

    @property
    def dir(self) -> Path | None:
        return self.run_dir.path if self.run_dir is not None else None

    def log(self, metrics: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        """Queue ``metrics`` (names to numbers) at ``step`` (default: one more than the last
        step; ``commit=False`` keeps the next call on the same step). Returns at once; never
        raises."""
        try:
            if step is None:
                step = self._step
            if commit is not False:
                self._step = step + 1
            self._append((_now(), step, dict(metrics)))
        except Exception as err:  # noqa: BLE001 - never into the user's loop
            warn("log-call", f"run.log({type(metrics).__name__}, step={step!r}) was not logged: {err} "
                             "(log takes a dict of names to numbers and an int step)")

    def alert(self, title: str, text: str | None = None, level: Any = "WARN", webhook_url: str | None = None) -> None:
        """An ``alert`` event (trackio's call shape): the dashboard delivers it as it does
        its own alerts (bell, desktop notification, webhooks; docs/alerts.md). ``level``:
        ``AlertLevel.INFO``, ``WARN`` (default) or ``ERROR``, or the same as a string.
        ``webhook_url``: also POST it there (in a thread; a failure is one warning).
        Also one line on stderr. Returns at once; never raises."""
        try:
            lvl = _level(level)
            ev = self._emit("alert", title=str(title), text="" if text is None else str(text), level=lvl)
            print(f"tuidl alert [{lvl.upper()}] {ev['title']}" + (f": {ev['text']}" if ev["text"] else ""),
                  file=sys.stderr, flush=True)
            if webhook_url:
                from tuidl.core.alerts.webhooks import send_in_thread

                send_in_thread(webhook_url, ev["title"], ev["text"], lvl, run_id=self.id or "",
                               failed=lambda problem: warn(f"webhook:{webhook_url}", problem))
        except Exception as err:  # noqa: BLE001 - never into the user's loop
            warn("alert-call", f"tuidl.alert({title!r}) was not recorded: {err}")

    @property
    def should_stop(self) -> bool:
        """True once a stop was asked for (the dashboard, ``RunDir.send("stop")``, SIGTERM):
        leave the loop, save what you need, and the run ends as ``stopped``."""
        self._cooperative = True
        control = self._control
        return control is not None and control.stop.is_set()

    def wait_if_paused(self) -> None:
        """Call once a step: runs ``on_checkpoint`` when a checkpoint was asked for, and
        blocks while the run is paused (paused time is not training time)."""
        self._cooperative = True
        control = self._control
        if control is None:
            return
        if control.checkpoint_now:
            self._checkpoint()
        if control.paused:
            with control.pause_clock():
                while control.paused and not control.stop.is_set():
                    time.sleep(0.05)
                    if control.checkpoint_now:
                        self._checkpoint()

    def finish(self, exit_code: int | None = None) -> None:
        """Write everything queued and end the run: ``completed``; ``failed`` for a
        non-zero ``exit_code`` or an exception that ends the script; ``stopped`` after a
        stop, Ctrl+C or SIGTERM. Under ``tuidl run`` the command's end ends the run."""
        if self.finished:
            return
        self.finished = True
        global _active
        if _active is self:
            _active = None
        if self.run_dir is None:
            return
        try:
            self._finish(exit_code)
        except Exception as err:  # noqa: BLE001 - never into the user's script, not even at its end
            warn("finish", f"finishing run {self.id} hit {type(err).__name__}: {err}")

    def _finish(self, exit_code: int | None) -> None:
        status, message = self._outcome(exit_code)
        self._halt.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)
        duration = round(self._control.trained_seconds(), 3) if self._control else None
        if self._summary_dirty or self.summary:  # the summary before the end: readers see it with the run
            self._summary_dirty = False
            self._emit("summary", values=_jsonable(dict(self.summary)))
        if not self.joined:
            self._emit("run_ended", status=status, message=message, steps=self._step, duration=duration)
        self._flush()
        if self._pending:
            warn("unwritten", f"{len(self._pending)} bytes of {self.run_dir.events_path} could not be written")
        if self._writer is not None:
            self._writer.close()
        try:
            if self.joined:  # the supervisor ends the run with the command; it reads how the script ended
                self.run_dir.write_status(script_status=status, script_message=message)
            else:
                self.run_dir.write_status(status=status, message=message, ended=time.time(),
                                          steps=self._step, trained_s=duration)
        except OSError as err:
            warn("status", f"cannot write {self.run_dir.status_path}: {err}")
        if not self.joined and not self._pending and self._metrics_events >= self._E.COLUMNS_CACHE_MIN:
            _Columns.keep(self._columns, self.run_dir.events_path)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if exc is not None:
            self._ended_by(kind, exc)
        self.finish()

    def __repr__(self) -> str:
        return f"<tuidl.Run {self.id or '(not recorded)'} {self.name!r}>"

    # -- start ----------------------------------------------------------------------
    def _open(self, root: Any, run_dir: Any) -> None:
        from tuidl.core.run import events as E
        from tuidl.core.run import rundir as R
        from tuidl.core.train.control import Control
        import socket

        self._E = E
        config = self.config.as_dict()
        try:
            if run_dir is not None:  # joined: ``tuidl run`` made it and owns its status and end
                self.run_dir = R.RunDir(run_dir)
                self.joined = True
                self._columns = None  # the supervisor writes to the file too, and ends the run
                if config:
                    try:
                        old = json_load(self.run_dir.config_path)
                    except (OSError, ValueError):
                        old = {}
                    R.write_json(self.run_dir.config_path, {**old, **config}, durable=False)
                self.run_dir.write_status(script_pid=os.getpid(), **({"project": self.project} if self.project else {}))
            else:
                self.run_dir = R.create_logged(R.runs_root(root), self.name, config,
                                               status={"source": "script", "project": self.project})
                self.run_dir.write_status(status="running", pid=os.getpid(), host=socket.gethostname(),
                                          started=time.time(), message="")
            self._writer = E.EventWriter(self.run_dir.events_path)
        except OSError as err:
            where = run_dir or R.runs_root(root)
            warn("open", f"cannot write a run in {where}: {err}; this run is not recorded (training goes on)")
            self.run_dir = None
            self._append = lambda item: None
            return
        if self.joined:
            if config:
                self._emit("config", values=config)
        else:
            self._emit("run_started", schema=E.SCHEMA_VERSION, source="script", run_id=self.run_dir.id,
                       name=self.name, project=self.project, config=config, host=socket.gethostname(),
                       pid=os.getpid(), argv=list(sys.argv), executable=sys.executable, cwd=_cwd())
        self._control = Control(self.run_dir, self._emit)
        self._control.start_session(False)
        self._flush()
        self._thread = threading.Thread(target=self._work, name="tuidl-log-writer", daemon=True)
        self._thread.start()

    # -- the writer thread ------------------------------------------------------------
    def _emit(self, type_: str, /, **fields: Any) -> dict:
        ev = {"type": type_, "time": round(_now(), 4), **fields}
        self._append(ev)
        return ev

    def _config_changed(self, new: dict) -> None:
        if self.run_dir is None or self.finished:
            return
        self._emit("config", values=new)
        try:
            from tuidl.core.run import rundir as R

            R.write_json(self.run_dir.config_path, self.config.as_dict(), durable=False)
        except OSError as err:
            warn("config", f"cannot write {self.run_dir.config_path}: {err}")

    def _summary_changed(self) -> None:
        self._summary_dirty = True

    def _work(self) -> None:
        next_telemetry = time.monotonic()
        sampler = None
        while not self._halt.wait(FLUSH_S):
            try:
                self._obey()
                self._flush()
                if self._telemetry and not self.joined and time.monotonic() >= next_telemetry:
                    sampler = self._sample(sampler)
                    next_telemetry = time.monotonic() + TELEMETRY_S
            except Exception as err:  # noqa: BLE001 - the thread must go on whatever happens
                warn("thread", f"the logging thread hit {type(err).__name__}: {err}")
        if sampler is not None:
            try:
                sampler.close()
            except Exception:  # noqa: BLE001
                pass

    def _encode(self, item: Any, out: bytearray) -> None:
        E = self._E
        rec = self._columns
        if type(item) is tuple:
            self._metrics_events += 1
            t, step, metrics = item
            for value in metrics.values():  # the common case: plain numbers, the dict is the log call's own copy
                if type(value) is not float and type(value) is not int:
                    break
            else:
                if type(step) is int:
                    t = round(t, 4)
                    try:
                        line = E.encode({"type": "metrics", "time": t, "step": step, "values": metrics})
                    except TypeError:  # a key JSON cannot take (a tuple): the slow path names it as text
                        pass
                    else:
                        out += line
                        if rec is not None:
                            rec.metrics(t, step, metrics, line)
                        return
            values = {}
            for key, value in _flatten(metrics):
                n = number(value)
                if n is None:
                    warn(f"value:{key}", f"run.log: {key!r} is {_what(value)}, not a number: not logged "
                                         "(warned once per name)")
                    continue
                values[key if type(key) is str else str(key)] = n
            if type(step) is not int:
                step = number(step)
                step = int(step) if step is not None and step == step else self._step
            line = E.encode({"type": "metrics", "time": round(t, 4), "step": step, "values": values})
        else:
            try:
                line = E.encode(item)
            except (TypeError, ValueError):
                line = E.encode(_jsonable(item))
        out += line
        if rec is not None:
            rec.other(line)

    def _flush(self) -> None:
        """Encode what is queued and append it (and what the disk refused before)."""
        if self._writer is None:
            return
        with self._lock:
            if self._summary_dirty:
                self._summary_dirty = False
                self._emit("summary", values=_jsonable(dict(self.summary)))
            queue = self._queue
            data = self._pending
            popleft = queue.popleft
            for _ in range(len(queue)):
                self._encode(popleft(), data)
            if not data:
                return
            try:
                self._writer.append(data)
                self._pending = bytearray()
            except OSError as err:
                self._columns = None  # what reaches the file is no longer sure to be what was encoded
                del data[:getattr(err, "written", 0)]
                if len(data) > MAX_PENDING:  # drop the oldest whole lines
                    cut = data.find(b"\n", len(data) - MAX_PENDING)
                    del data[:cut + 1]
                self._pending = data
                warn("write", f"cannot write {self.run_dir.events_path}: {err.strerror or err}; what is logged "
                              f"is kept in memory (up to {MAX_PENDING >> 20} MiB) and written when it can be")

    def _obey(self) -> None:
        """The control folder's commands (pause / resume / stop / checkpoint)."""
        control = self._control
        if control is None:
            return
        control.poll()
        if control.stop.is_set() and not self._stop_seen:
            self._stop_seen = True
            if self.joined:
                self.run_dir.write_status(stop_requested=time.time())
            if not self._cooperative:  # the loop never looks at should_stop: stop it as Ctrl+C would
                import _thread

                _thread.interrupt_main()
        if control.paused and not self._cooperative:
            control.paused = False
            self.run_dir.write_status(status="running")
            self._emit("control", action="resumed")
            self._emit("note", level="warning", kind="pause",
                       message="this script does not call run.wait_if_paused(): it cannot pause")
        if control.checkpoint_now and self.on_checkpoint is None:
            control.checkpoint_now = False
            self._emit("note", level="warning", kind="checkpoint",
                       message="this script has no on_checkpoint callback: nothing to write")

    def _checkpoint(self) -> None:
        """The script's ``on_checkpoint``, in the training thread, when asked from outside."""
        self._control.checkpoint_now = False
        try:
            self.on_checkpoint()
        except Exception as err:  # noqa: BLE001 - a failing callback must not end the loop
            warn("on_checkpoint", f"on_checkpoint raised {type(err).__name__}: {err}")
            self._emit("note", level="error", kind="checkpoint_failed", message=f"on_checkpoint: {err}")
            return
        self._emit("note", level="info", kind="checkpoint", message="the script's on_checkpoint ran (asked for)",
                   step=self._step)

    def _sample(self, sampler: Any) -> Any:
        """One ``telemetry`` event: the host, this process (CPU, RSS) and its GPUs (NVML,
        where present). The first call only primes psutil's CPU window."""
        if sampler is None:
            try:
                from tuidl.core.system import telemetry as T

                sampler = T.Sampler(T.NvmlSource())
                sampler.sample(os.getpid())
            except Exception as err:  # noqa: BLE001 - no psutil, say: logging goes on without
                self._telemetry = False
                warn("telemetry", f"no process figures: {err}")
            return sampler
        self._emit("telemetry", **telemetry_payload(sampler, os.getpid()))
        return sampler

    # -- the end ----------------------------------------------------------------------
    def _ended_by(self, kind: Any, exc: BaseException) -> None:
        """An exception that ends the script: ``failed`` with its last line, ``stopped``
        for Ctrl+C (or a stop that interrupted the loop)."""
        if isinstance(exc, KeyboardInterrupt):
            reason = self._control.stop_reason if self._control is not None and self._control.stop.is_set() else ""
            self._failure = ("stopped", reason or "KeyboardInterrupt (Ctrl+C)")
        elif isinstance(exc, SystemExit):
            code = exc.code
            if code not in (None, 0):
                self._failure = ("failed", f"exit status {code}")
        else:
            import traceback

            line = traceback.format_exception_only(kind, exc)[-1].strip()
            self._failure = ("failed", line)

    def _outcome(self, exit_code: int | None) -> tuple[str, str]:
        if self._failure is not None:
            return self._failure
        if exit_code not in (None, 0):
            return "failed", f"exit status {exit_code}"
        if self._control is not None and self._control.stop.is_set():
            return "stopped", self._control.stop_reason
        return "completed", f"{self._step} steps"

    def _signal(self, signum: int) -> None:
        """SIGTERM / SIGHUP: a stop. A loop that reads should_stop leaves it; one that
        does not is interrupted as by Ctrl+C (and so is a second signal)."""
        import signal

        control = self._control
        name = signal.Signals(signum).name
        again = control.stop.is_set()
        control.request_stop(f"{name} received")
        self._emit("control", action="stop_requested", signal=name)
        if again or not self._cooperative:
            raise KeyboardInterrupt(f"{name} received")


def json_load(path: Path) -> dict:
    import json

    data = json.loads(Path(path).read_text())
    return data if isinstance(data, dict) else {}


def telemetry_payload(sampler: Any, pid: int, pids: list[int] | None = None) -> dict:
    """A ``telemetry`` event's fields: the existing payload (``Sampler.sample``) plus
    ``process`` (docs/events.md): ``pid``'s CPU (% of one core) and RSS, summed over
    ``pids`` when given (a command's process tree)."""
    payload = sampler.sample(pid)
    proc = payload.get("proc") or {}
    cpu, rss = proc.get("cpu"), proc.get("rss")
    if pids:
        import psutil

        cpu, rss = cpu or 0.0, rss or 0
        for child in pids:
            extra = sampler._proc(child)
            if extra and extra.get("rss") is not None:
                cpu += extra.get("cpu") or 0.0
                rss += extra["rss"]
    payload["process"] = {"pid": pid, "cpu_percent": cpu, "rss_bytes": rss}
    return payload


# -- one run at a time per process, as wandb and trackio ---------------------------------
_active: Run | None = None
_hooks_installed = False
_pending_config: dict[str, Any] = {}


def init(project: str | None = None, name: str | None = None, config: Mapping | None = None,
         dir: str | os.PathLike | None = None, *, on_checkpoint: Callable[[], Any] | None = None,
         all_ranks: bool | None = None, telemetry: bool = True, **_ignored: Any) -> Run:
    """Start a run (and finish the one this process had). ``dir``: the runs root (default
    ``$TUIDL_RUNS`` or a per-user folder). Under ``tuidl run -- CMD`` it joins that run.
    In a data-parallel job only rank 0 writes (``all_ranks=True`` or ``TUIDL_ALL_RANKS=1``:
    every rank writes a run of its own, named ``NAME-rankN``); other ranks get a run that
    records nothing. Never raises for an unwritable folder: it warns and records nothing."""
    global _active
    if _active is not None:
        _active.finish()
    every = all_ranks if all_ranks is not None else os.environ.get(ENV_ALL_RANKS) == "1"
    r = rank()
    name = name or Path(sys.argv[0] or "run").stem or "run"
    if r and every:
        name = f"{name}-rank{r}"
    merged = {**_pending_config, **dict(config or {})}
    _pending_config.clear()
    joined = os.environ.get(ENV_RUN) if r == 0 else None
    run = Run(name=name, project=project, config=merged, root=dir, on_checkpoint=on_checkpoint,
              telemetry=telemetry, run_dir=joined or None, enabled=r == 0 or every)
    _active = run
    _install_hooks()
    return run


def log(metrics: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """``run.log`` on the run of :func:`init`."""
    run = _active
    if run is None:
        warn("no-run", "tuidl.log() before tuidl.init(): not logged")
        return
    run.log(metrics, step, commit)


class AlertLevel:
    """The levels of :func:`alert`, by trackio's names (their values are what the
    ``alert`` event holds)."""

    INFO = "info"
    WARN = "warn"
    ERROR = "error"


def _level(level: Any) -> str:
    text = str(getattr(level, "value", level) or "").strip().lower()
    return "warn" if text.startswith("warn") else text if text in ("info", "error") else "warn"


def alert(title: str, text: str | None = None, level: Any = AlertLevel.WARN, webhook_url: str | None = None) -> None:
    """``run.alert`` on the run of :func:`init` (trackio's ``alert``)."""
    run = _active
    if run is None:
        warn("no-run-alert", "tuidl.alert() before tuidl.init(): not recorded")
        return
    run.alert(title, text, level, webhook_url)


def finish(exit_code: int | None = None) -> None:
    """``run.finish`` on the run of :func:`init`."""
    if _active is not None:
        _active.finish(exit_code)


class _ConfigProxy:
    """``tuidl.config``: the current run's config (before :func:`init`, what is set here
    goes into the next run's config)."""

    def _target(self) -> Any:
        return _active.config if _active is not None else None

    def update(self, values: Mapping | None = None, **more: Any) -> None:
        target = self._target()
        if target is None:
            _pending_config.update({**dict(values or {}), **more})
        else:
            target.update(values, **more)

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})

    __setitem__ = __setattr__

    def __getattr__(self, key: str) -> Any:
        target = self._target()
        if target is None:
            try:
                return _pending_config[key]
            except KeyError:
                raise AttributeError(key) from None
        return getattr(target, key)

    def __getitem__(self, key: str) -> Any:
        target = self._target()
        return _pending_config[key] if target is None else target[key]

    def __contains__(self, key: object) -> bool:
        target = self._target()
        return key in (_pending_config if target is None else target)

    def __iter__(self) -> Iterator[str]:
        return iter(list(_pending_config if self._target() is None else self._target()))

    def get(self, key: str, default: Any = None) -> Any:
        target = self._target()
        return (_pending_config if target is None else target).get(key, default)

    def as_dict(self) -> dict[str, Any]:
        target = self._target()
        return dict(_pending_config) if target is None else target.as_dict()

    def __repr__(self) -> str:
        return f"tuidl.config({self.as_dict()!r})"


config = _ConfigProxy()


# -- the end of the script ------------------------------------------------------------
def _install_hooks() -> None:
    """Once per process: the exception hook (an exception ending the script fails the
    run with its last line), SIGTERM / SIGHUP (a stop, where nobody else handles them),
    finish at exit, and no run in a forked child (a DataLoader worker)."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous = sys.excepthook

    def excepthook(kind, exc, tb):
        if _active is not None:
            _active._ended_by(kind, exc)
        previous(kind, exc, tb)

    sys.excepthook = excepthook
    atexit.register(_at_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_forked)
    import signal

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is not None and signal.getsignal(sig) is signal.SIG_DFL:
                signal.signal(sig, _on_signal)


def _on_signal(signum: int, frame: Any) -> None:
    import signal

    run = _active
    if run is None or run._control is None:  # nothing to stop cleanly: as if no handler were set
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    run._signal(signum)


def _at_exit() -> None:
    if _active is not None:
        _active.finish()


def _forked() -> None:
    """A forked child (a DataLoader worker) does not own its parent's run."""
    global _active
    if _active is not None:
        _active.finished = True
        _active._append = lambda item: None
        _active = None
