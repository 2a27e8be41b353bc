"""A logged run's ``metrics`` events as columns: the fast path of reading a big history.

A logged run is mostly ``metrics`` events (``{"type": "metrics", "time", "step",
"values": {name: number}}``), each a dict of dicts when parsed. :func:`compact` turns
each run of consecutive *plain* ones (a number for the step and the time, numbers for
the values, string names) into one :class:`MetricsColumns`: numpy arrays grouped by the
names the events logged. Every other event, and a metrics event that is not plain, is
left as it was, in its place. :meth:`tuidl.core.run.runview.RunView.apply` takes such a
list as it takes the events themselves, with the same state at the end (RunView stays
the one place where events become state; tests/unit/test_columns.py compares the two
paths), for a fraction of the cost.

**The columns cache.** A finished run's compacted history is kept next to its events
file (``events.jsonl.columns.npz``: numpy arrays and a JSON header, read without
pickle), so reading it again takes milliseconds, not the parse of every line
(0.45 s of CPU for 50,000 events × 20 metrics). The logging SDK writes it as a run
finishes (:func:`save_parts`, from the columns its writer kept as it wrote: ``tuidl/sdk.py``),
so a logged run's first opening reads it too; else it is written by whoever reads a whole
finished history (the dashboard's follower as the run is opened,
:func:`tuidl.core.run.runview.load`: ``tuidl export``, compared runs) when the file ends with ``run_ended`` and holds at least
:data:`CACHE_MIN` metrics events, and it is used only while the events file has the
size and modification time it was written for (a resumed run appends: the cache is
passed over, and written again when the run ends again). A cache that cannot be written
(a read-only directory) or read (damaged, another format) is passed over.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from tuidl.core.run import columns_file
from tuidl.core.run import events as E
from tuidl.core.run.columns_file import CACHE_MIN, CACHE_SUFFIX, FORMAT, cache_path, save_parts  # noqa: F401
from tuidl.core.run.columns_file import stamp as _stamp

__all__ = ["CACHE_MIN", "MetricsColumns", "cache_path", "cached", "compact", "count", "read", "save", "save_parts"]

# CACHE_MIN (metrics events: a smaller history reads fast enough without a cache), the
# file's name and format, and its writing: tuidl.core.run.columns_file (no numpy there,
# for the logging SDK)
_BIG = 2 ** 53  # an int beyond this is no exact float: such an event takes the ordinary path


class MetricsColumns:
    """``count`` consecutive plain ``metrics`` events as arrays. ``groups``: one
    ``(names, seq, steps, times, values)`` per set of names logged, in the order each
    first came: the events' places among the ``count`` (int64), their steps and times
    (as written: float64) and their values (float64, one row an event, one column a
    name). ``max_step``: the largest step."""

    __slots__ = ("count", "groups", "max_step")

    def __init__(self, count: int, groups: list[tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                 max_step: float) -> None:
        self.count = count
        self.groups = groups
        self.max_step = max_step

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"MetricsColumns({self.count} events, {len(self.groups)} groups)"

    def events(self) -> list[dict[str, Any]]:
        """The events again, as dicts (the ordinary path's input)."""
        out: list[Any] = [None] * self.count
        for names, seq, steps, times, values in self.groups:
            for i, s, t, row in zip(seq.tolist(), steps.tolist(), times.tolist(), values.tolist()):
                out[i] = {"type": E.METRICS, "time": t, "step": s, "values": dict(zip(names, row))}
        return out


def count(items: Iterable[Any]) -> int:
    """How many events a list of events and :class:`MetricsColumns` holds."""
    return sum(item.count if type(item) is MetricsColumns else 1 for item in items)


def compact(events: list[Any]) -> list[Any]:
    """The events with each run of consecutive plain metrics events as one
    :class:`MetricsColumns` (see the module docstring); everything else as it was."""
    with E.gc_paused:  # (the batch's objects all live on while it is compacted: see there)
        return _compact(events)


def _compact(events: list[Any]) -> list[Any]:
    out: list[Any] = []
    run: list[dict] = []  # the current run of plain-looking metrics events
    groups: dict[tuple, list] = {}  # its events by the names they logged: names -> [seq, events]
    names: tuple | None = None
    seqs = evs = None
    metrics, big = E.METRICS, _BIG
    for ev in events:
        if type(ev) is dict and ev.get("type") == metrics:
            values, step, t = ev.get("values"), ev.get("step"), ev.get("time")
            if (type(values) is dict and (type(step) is float or type(step) is int)
                    and (type(t) is float or type(t) is int) and -big < step < big and -big < t < big):
                keys = tuple(values)
                if keys != names:
                    group = groups.get(keys)
                    if group is None:
                        group = groups[keys] = [[], []]
                    names, (seqs, evs) = keys, group
                seqs.append(len(run))
                run.append(ev)
                evs.append(ev)
                continue
        if run:
            out.extend(_columns(run, groups))
            run, groups, names = [], {}, None
        out.append(ev)
    if run:
        out.extend(_columns(run, groups))
    return out


def _columns(run: list[dict], groups: dict[tuple, list]) -> list[Any]:
    """One run of plain-looking metrics events (``groups``: their places and the events
    by the names they logged) as columns; the events themselves when a value is no
    plain number or a name no string: the ordinary path reads them."""
    out = []
    max_step = -math.inf
    for keys, (seq, evs) in groups.items():
        flat_values = list(chain.from_iterable(map(dict.values, map(_VALUES, evs))))
        kinds = set(map(type, flat_values))
        if (not kinds <= _NUMBERS or not all(type(k) is str for k in keys)
                or (int in kinds and not all(-_BIG < v < _BIG for v in flat_values if type(v) is int))):
            return _split(run, keys)
        n = len(evs)
        steps = np.fromiter(map(_STEP, evs), dtype=np.float64, count=n)
        times = np.fromiter(map(_TIME, evs), dtype=np.float64, count=n)
        values = np.fromiter(flat_values, dtype=np.float64, count=n * len(keys)).reshape(n, len(keys))
        out.append((keys, np.array(seq, dtype=np.int64), steps, times, values))
        max_step = max(max_step, float(steps.max()))
    return [MetricsColumns(len(run), out, max_step)]


def _split(run: list[dict], keys: tuple) -> list[Any]:
    """A run of metrics events some of which (of the names ``keys``) log a value that
    is no plain number, or a name that is no string: those events as they are, in their
    places, the others compacted."""
    def plain(ev: dict) -> bool:
        values = ev["values"]
        return tuple(values) != keys or (all(type(k) is str for k in keys) and all(
            type(v) is float or (type(v) is int and -_BIG < v < _BIG) for v in values.values()))

    out: list[Any] = []
    part: list[dict] = []
    for ev in run:
        if plain(ev):
            part.append(ev)
            continue
        out.extend(compact(part))
        out.append(ev)
        part = []
    out.extend(compact(part))
    return out


_VALUES, _STEP, _TIME = itemgetter("values"), itemgetter("step"), itemgetter("time")
_NUMBERS = {float, int}


# -- the cache ------------------------------------------------------------------------------
def save(events_path: str | os.PathLike, items: list[Any], offset: int, *, over: bool = False) -> bool:
    """Keep a whole history read (``items``: events and :class:`MetricsColumns`, the
    file's first ``offset`` bytes) as the events file's columns cache, when the run has
    ended (its last event is ``run_ended``, or ``over``: the caller knows it writes no
    more, a script killed before its end), the history holds at least
    :data:`CACHE_MIN` metrics events and the file is still ``offset`` bytes long.
    True when written. (A run that writes again makes the cache stale, by the file's
    size and mtime: ``over`` only spares the writes while a run is live.)"""
    events_path = Path(events_path)
    stamp = _stamp(events_path)
    if stamp is None or stamp[0] != offset:
        return False
    last = items[-1] if items else None
    if not over and (type(last) is not dict or last.get("type") != E.RUN_ENDED):
        return False
    cols = [item for item in items if type(item) is MetricsColumns]
    if sum(c.count for c in cols) < CACHE_MIN:
        return False
    parts: dict[tuple, list[tuple[np.ndarray, ...]]] = {}
    others: list[list[Any]] = []
    n = 0
    for item in items:
        if type(item) is MetricsColumns:
            for names, seq, steps, times, values in item.groups:
                parts.setdefault(names, []).append((seq + n, steps, times, values))
            n += item.count
        else:
            others.append([n, item])
    groups = {names: tuple(np.concatenate([p[i] for p in ps]) if len(ps) > 1 else ps[0][i] for i in range(4))
              for names, ps in parts.items()}
    return _write(events_path, stamp, groups, others, n)


def _write(events_path: Path, stamp: tuple[int, int], groups: dict[tuple, tuple[np.ndarray, ...]],
           others: list[list[Any]], n: int) -> bool:
    arrays = [tuple((a.dtype.str, a.shape, np.ascontiguousarray(a)) for a in arrs) for arrs in groups.values()]
    return columns_file.write(events_path, stamp, list(groups), arrays, others, n)


def cached(events_path: str | os.PathLike) -> tuple[list[Any], int] | None:
    """The events file's history from its columns cache, as :func:`compact` gives it
    (events and :class:`MetricsColumns`, in order), and the bytes of the file it covers;
    None when there is no cache for the file as it is now."""
    events_path = Path(events_path)
    stamp = _stamp(events_path)
    path = cache_path(events_path)
    if stamp is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode("utf-8"))
            if (header.get("format") != FORMAT or header.get("size") != stamp[0]
                    or header.get("mtime_ns") != stamp[1]):
                return None
            n = int(header["count"])
            groups = []
            for g, names in enumerate(header["names"]):
                names = tuple(names)
                seq, steps, times, values = (z[f"{key}{g}"] for key in ("seq", "steps", "times", "values"))
                k = len(seq)
                if not (all(type(name) is str for name in names) and seq.dtype == np.int64
                        and steps.shape == times.shape == (k,) and values.shape == (k, len(names))
                        and steps.dtype == times.dtype == values.dtype == np.float64
                        and (k == 0 or (seq[0] >= 0 and seq[-1] < n and (np.diff(seq) > 0).all()))
                        and np.isfinite(steps).all()):
                    return None
                groups.append((names, seq, steps, times, values))
            others = header["others"]
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError, io.UnsupportedOperation):
        return None
    if sum(len(g[1]) for g in groups) != n:
        return None
    items: list[Any] = []
    at = 0
    for pos, ev in [*others, [n, None]]:
        if not isinstance(pos, int) or not at <= pos <= n:
            return None
        if pos > at:
            items.append(_segment(groups, at, pos))
            at = pos
        if ev is not None:
            items.append(ev)
    return items, stamp[0]


def _segment(groups: list[tuple], start: int, end: int) -> MetricsColumns:
    """The metrics events ``start`` to ``end`` (their places in the whole history) of the
    cache's groups, as one :class:`MetricsColumns`."""
    out = []
    max_step = -math.inf
    for names, seq, steps, times, values in groups:
        i, j = np.searchsorted(seq, (start, end))
        if j > i:
            out.append((names, seq[i:j] - start, steps[i:j], times[i:j], values[i:j]))
            max_step = max(max_step, float(steps[i:j].max()))
    return MetricsColumns(end - start, out, max_step)


def read(events_path: str | os.PathLike, keep: bool = True) -> tuple[list[Any], int]:
    """A whole history: its events, compacted (:func:`compact`), and the bytes of the
    file they cover (a tail reads on from there). From the columns cache when the file
    has one; else parsed, and kept as its cache (``keep``: see :func:`save`)."""
    got = cached(events_path)
    if got is not None:
        return got
    tail = E.EventTail(events_path)
    items: list[Any] = []
    while True:
        batch = tail.poll()
        if not batch:
            break
        items.extend(compact(batch))
    offset = tail.complete_offset
    if keep:
        save(events_path, items, offset)
    return items, offset
