"""The event stream: ``events.jsonl`` in a run directory, one JSON object a line.

Everything a run produces goes through it; the dashboard, ``tuidl attach``, replays
and tests are all readers. The schema is documented in ``docs/events.md``.

Writers append whole lines with one ``write`` on an ``O_APPEND`` descriptor. Readers
tolerate a torn last line (a writer killed mid-write): it is held back until it is
complete, and ignored if it never completes.
"""

from __future__ import annotations

import gc
import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import orjson

SCHEMA_VERSION = 1

# Event types, in the order a run emits them.
RUN_STARTED = "run_started"  # schema, preset name, model summary, data/split info, device
STEP = "step"  # aggregated step metrics, a few per second at most
EPOCH = "epoch"  # train / val metrics, lr, samples/s at each epoch end
BOUNDARY = "boundary"  # 2-D datasets: model output over the input plane
CHECKPOINT = "checkpoint"  # a checkpoint was saved
CONTROL = "control"  # paused / resumed / stop requested / checkpoint requested
NOTE = "note"  # early stop, plateau lr drop, divergence, warnings
TELEMETRY = "telemetry"  # GPU / host samples
HEALTH = "health"  # per-layer gradient / weight norms, update ratio, dead units, activations
NEURONS = "neurons"  # 2-D datasets: each hidden unit's output over the input plane, the weights
LATENT = "latent"  # the test set's codes in 2-D (the code layer, or a classifier's penultimate layer)
RECONSTRUCTIONS = "reconstructions"  # self-supervised: a few test inputs, as seen, clean, and the model's output
LANDSCAPE = "landscape"  # the training loss around the weights along two random directions
TEST = "test"  # final test metrics, confusion matrix, sample predictions
ADVERSARIAL = "adversarial"  # test accuracy under FGSM / PGD at several ε
RUN_ENDED = "run_ended"  # status + message (+ test metrics)
# a logged run (tuidl.init / run.log, tuidl run -- CMD): docs/events.md, "Logged runs"
METRICS = "metrics"  # one log call: step and {name: value}, any names
CONFIG = "config"  # config keys set after init (merged)
SUMMARY = "summary"  # keys the user set in run.summary
ALERT = "alert"  # tuidl.alert(title, text, level) from a script: the dashboard delivers it

# how a run can end; "pruned": a sweep stopped a bad trial early (docs/sweeps.md)
END_STATUSES = ("completed", "stopped", "pruned", "diverged", "failed")
# metrics events a finished history holds before its columns cache is written
# (tuidl.core.run.columns; here so that the logging SDK can tell without importing numpy)
COLUMNS_CACHE_MIN = 2000


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as strings so lines stay standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if value != value else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def dumps(ev: dict[str, Any]) -> str:
    """One event as standard JSON, as the stream writes it (non-finite floats as strings):
    for a copy kept elsewhere, or printed (``tuidl landscape RUN --json``)."""
    return json.dumps(_clean(ev), separators=(",", ":"), allow_nan=False)


#: orjson leaves to the json module (a TypeError) what it would write otherwise than the json
#: module does: dataclasses, datetimes, subclasses (numpy's float64 among them)
_ORJSON = orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | \
    orjson.OPT_PASSTHROUGH_SUBCLASS


def encode(ev: dict[str, Any]) -> bytes:
    """One event as the line the stream holds (standard JSON, non-finite floats as
    strings, ``\\n`` at the end), UTF-8. The common case by orjson (a metrics event of 20
    numbers: ~3 µs against the json module's ~20–30 µs); orjson writes NaN and inf as
    ``null`` and refuses ints beyond 64 bits, non-string keys and the types above: a line
    with ``null`` in it, or an event orjson refuses, is written by the json module."""
    try:
        line = orjson.dumps(ev, option=_ORJSON)
    except TypeError:
        pass
    else:
        if b"null" not in line:
            return line
    return (dumps(ev) + "\n").encode("utf-8")


def event(type_: str, /, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "time": round(time.time(), 4), **fields}


class EventWriter:
    """Appends events to a file. Safe to share between threads of one process, and
    between processes (``O_APPEND``: each :meth:`append` of a batch lands whole, after
    whatever another writer appended). The one writer of every run source: the trainer
    (:meth:`write` / :meth:`emit`, one event at a time) and the logging API
    (``tuidl.sdk``: many encoded events in one :meth:`append`)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._end_torn_line()

    def _end_torn_line(self) -> None:
        """A writer killed mid-line (SIGKILL) leaves a torn last line; a resumed run
        starts on a fresh line so its own first event stays readable."""
        try:
            with open(self.path, "rb") as f:
                f.seek(0, os.SEEK_END)
                if f.tell() == 0:
                    return
                f.seek(-1, os.SEEK_END)
                torn = f.read(1) != b"\n"
        except OSError:
            return
        if torn:
            os.write(self._fd, b"\n")

    def write(self, ev: dict[str, Any], sync: bool = False) -> dict[str, Any]:
        self.append(encode(ev), sync=sync)
        return ev

    def append(self, data: bytes | bytearray | memoryview, sync: bool = False) -> int:
        """Append encoded events (:func:`encode`, whole lines). On an error (a full
        disk, a file-size limit) the ``OSError`` is raised with ``written``: the bytes
        that did land, so a caller that keeps the rest and appends it later completes
        the torn line instead of repeating what is there."""
        done = 0
        try:
            with memoryview(data) as view:  # released on the way out: the caller may resize data
                while done < len(view):
                    done += os.write(self._fd, view[done:])
            if sync:
                os.fsync(self._fd)
        except OSError as err:
            err.written = done
            raise
        return done

    def emit(self, type_: str, /, sync: bool = False, **fields: Any) -> dict[str, Any]:
        return self.write(event(type_, **fields), sync=sync)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "EventWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _GcPaused:
    """``with gc_paused:`` holds the cyclic garbage collector off while a batch of events
    is parsed or taken.

    Every object a batch makes (an event's dicts, what the view keeps of them) stays
    alive at least until the batch is taken, so the collector's passes over them free
    nothing, and they were about half the time of reading a big run (50,000 events:
    0.47 s of CPU with them, 0.31 s without). Threads may nest it: the collector runs
    again when the last one leaves (if it ran when the first came)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._was_enabled = True

    def __enter__(self) -> None:
        with self._lock:
            self._users += 1
            if self._users == 1:
                self._was_enabled = gc.isenabled()
                gc.disable()

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._was_enabled:
                gc.enable()


gc_paused = _GcPaused()


class EventTail:
    """Incremental reader: each :meth:`poll` returns the complete events appended since
    the last call. Works before the file exists, and on a file still being written."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._offset = 0
        self._partial = b""
        self.bad_lines = 0
        self.behind = False
        """The last :meth:`poll` stopped at its ``max_bytes``: more of the file waits
        (a reader catching up with a run's history can tell its last batch)."""

    @property
    def offset(self) -> int:
        """Bytes of the file read so far (a torn last line included)."""
        return self._offset

    @property
    def complete_offset(self) -> int:
        """Bytes of the file read so far, up to the end of its last complete line."""
        return self._offset - len(self._partial)

    def start_at(self, offset: int) -> None:
        """Read on from ``offset`` (the end of a line: what a columns cache covers)."""
        self._offset, self._partial = offset, b""

    def poll(self, max_bytes: int = 8 << 20) -> list[dict[str, Any]]:
        self.behind = False
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read(max_bytes)
        except FileNotFoundError:
            return []
        if not chunk:
            return []
        self._offset += len(chunk)
        self.behind = len(chunk) >= max_bytes
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # b"" when data ended with a newline
        out = []
        append, loads = out.append, orjson.loads  # orjson: a 50,000-event run reads in a fraction of a second
        with gc_paused:
            for line in lines:
                try:
                    append(loads(line))
                except orjson.JSONDecodeError:
                    if not line.strip():
                        continue
                    try:  # what orjson refuses and Python's json reads (NaN written as a bare word)
                        append(json.loads(line))
                    except ValueError:
                        self.bad_lines += 1
        return out

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            batch = self.poll()
            if not batch:
                return
            yield from batch


def read_events(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every complete event in a file; a torn last line is skipped."""
    return list(EventTail(path))


class Malformed(Exception):
    """An event of a known type that cannot be taken (it is counted, then passed over)."""
