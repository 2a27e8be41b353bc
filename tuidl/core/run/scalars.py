"""A logged run's metrics (``metrics`` events, docs/events.md): any names, by step and
by time, kept as plain arrays of floats (one :class:`Scalar` per name, never an object
per point), the summary of each (last and best) and how names pair on charts.

No UI here. :class:`tuidl.core.run.runview.RunView` fills a :class:`Scalars` from the
events; the dashboard, ``tuidl export`` and the Runs pane read it.

Pairing (:func:`chart_groups`): ``X`` and ``val_X``, ``train/X`` and ``val/X``,
``train_X`` and ``val_X``, ``X/train`` and ``X/val`` share one chart, as the train and
validation lines of a trainer run do.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from itertools import chain
from typing import Any, Iterable

import numpy as np

from tuidl.core.numbers import to_float
from tuidl.core.run import events as E

__all__ = ["ChartGroup", "Scalar", "Scalars", "base_name", "chart_groups", "lower_is_better"]


FLUSH_AT = 8192  # events held as they came at most: then they go into the arrays (480 bytes an event
# of 20 metrics there, against about 2 KB as parsed JSON)


class _Column:
    """A growing array of floats (amortised doubling); ``array`` is a read-only view of
    what it holds."""

    __slots__ = ("_a", "n")

    def __init__(self) -> None:
        self._a = np.empty(64, dtype=np.float64)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        m = values.size
        if self.n + m > self._a.size:
            grown = np.empty(max(2 * self._a.size, self.n + m), dtype=np.float64)
            grown[:self.n] = self._a[:self.n]
            self._a = grown
        self._a[self.n:self.n + m] = values
        self.n += m

    @property
    def array(self) -> np.ndarray:
        view = self._a[:self.n]
        view.flags.writeable = False
        return view


class Scalar:
    """One metric's points in the order they came: ``steps``, ``times`` (seconds since
    the run's first event) and ``values`` as read-only numpy arrays of floats (a value
    that is not a number is NaN). Its last and best finite values are kept as points
    come (a summary never reads the whole history again)."""

    __slots__ = ("name", "_steps", "_times", "_values", "_lower", "_last", "_best")

    def __init__(self, name: str) -> None:
        self.name = name
        self._steps, self._times, self._values = _Column(), _Column(), _Column()
        self._lower: bool | None = None  # lower_is_better(name), worked out at the first points
        self._last = self._best = math.nan

    def _extend(self, steps: np.ndarray, times: np.ndarray, values: np.ndarray) -> None:
        self._steps.extend(steps)
        self._times.extend(times)
        self._values.extend(values)
        finite = values[np.isfinite(values)]
        if finite.size:
            if self._lower is None:
                self._lower = lower_is_better(self.name)
            self._last = float(finite[-1])
            best = float(finite.min() if self._lower else finite.max())
            if math.isnan(self._best) or (best < self._best if self._lower else best > self._best):
                self._best = best

    @property
    def steps(self) -> np.ndarray:
        return self._steps.array

    @property
    def times(self) -> np.ndarray:
        return self._times.array

    @property
    def values(self) -> np.ndarray:
        return self._values.array

    def __len__(self) -> int:
        return self._values.n

    def __repr__(self) -> str:
        return f"Scalar({self.name!r}, {len(self)} points)"

    def xs(self, axis: str) -> np.ndarray:
        """The x of each point on ``axis``: ``step`` or ``time``."""
        return self.times if axis == "time" else self.steps

    def last(self) -> float:
        """The latest finite value (NaN when none is)."""
        return self._last

    def best(self) -> float:
        """The lowest finite value (the highest for an accuracy-like name: see
        :func:`lower_is_better`); NaN when none is."""
        return self._best


@functools.lru_cache(maxsize=4096)  # asked for each metric of each of thousands of logged runs (the runs list)
def lower_is_better(name: str) -> bool:
    """A loss or an error (lower is better), not an accuracy-like rate (higher is better):
    the name's last part, after any ``train``/``val`` marks, read by
    :func:`tuidl.core.run.units.higher_is_better` plus the usual rate words."""
    from tuidl.core.run.units import higher_is_better

    base = base_name(name)[0].lower()
    last = base.replace("/", " ").replace(".", " ").replace("-", "_").split()[-1] if base.strip() else base
    if higher_is_better(last):
        return False
    words = ("acc", "accuracy", "top1", "top5", "f1", "precision", "recall", "auc", "iou", "map", "bleu",
             "rouge", "r2", "dice", "reward", "return", "score")
    return not any(last == w or last.endswith("_" + w) or last.startswith(w + "_") for w in words)


# -- pairing -----------------------------------------------------------------------------
_VAL = (("val/", "train/"), ("val_", "train_"), ("val_", ""), ("validation/", "train/"))
_VAL_SUFFIX = (("/val", "/train"), ("_val", "_train"))


def base_name(name: str) -> tuple[str, str]:
    """``(X, split)`` of a name: ``val/loss`` → (``loss``, ``val``), ``train_loss`` →
    (``loss``, ``train``), ``loss/val`` → (``loss``, ``val``), ``loss`` → (``loss``, "")."""
    for val, train in _VAL:
        if name.startswith(val):
            return name[len(val):], "val"
        if train and name.startswith(train):
            return name[len(train):], "train"
    for val, train in _VAL_SUFFIX:
        if name.endswith(val):
            return name[:-len(val)], "val"
        if name.endswith(train):
            return name[:-len(train)], "train"
    return name, ""


@dataclass(frozen=True)
class ChartGroup:
    """One chart: ``title`` (the base name), ``train`` (a name or None) and ``val``
    (its validation partner, or None)."""

    title: str
    train: str | None
    val: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.train, self.val) if n is not None)


def _partners(val_name: str) -> list[str]:
    """The train names a validation name pairs with, in order of preference."""
    out = []
    for val, train in _VAL:
        if val_name.startswith(val):
            out.append(train + val_name[len(val):])
    for val, train in _VAL_SUFFIX:
        if val_name.endswith(val):
            out.append(val_name[:-len(val)] + train)
    return out


def chart_groups(names: Iterable[str]) -> list[ChartGroup]:
    """The charts for these metric names, in the order the names came: a validation
    name and its train partner on one chart (see the module docstring), every other
    name on a chart of its own."""
    names = list(dict.fromkeys(names))
    present = set(names)
    partner_of: dict[str, str] = {}  # train name -> val name
    paired_val: set[str] = set()
    for name in names:
        if base_name(name)[1] != "val":
            continue
        for train in _partners(name):
            if train in present and train not in partner_of and train != name:
                partner_of[train] = name
                paired_val.add(name)
                break
    groups = []
    for name in names:
        if name in paired_val:
            continue
        if name in partner_of:
            groups.append(ChartGroup(base_name(name)[0] or name, name, partner_of[name]))
        elif base_name(name)[1] == "val":
            groups.append(ChartGroup(name, None, name))
        else:
            groups.append(ChartGroup(name, name, None))
    return groups


# -- the store ----------------------------------------------------------------------------
class _Block:
    """The metrics events that logged the same names, as they came (a few lists; turned
    into arrays per name when a reader asks: :meth:`Scalars._flush`)."""

    __slots__ = ("names", "seq", "steps", "times", "rows", "chunks")

    def __init__(self, names: tuple) -> None:
        self.names = names
        self.seq: list[int] = []  # the event's place among the run's metrics events
        self.steps: list[float] = []
        self.times: list[float] = []
        self.rows: list[dict] = []  # each event's values (the same names, in the same order)
        self.chunks: list[tuple[np.ndarray, ...]] = []  # events taken as columns: (seq, steps, times, values)


def _rows_array(rows: list[dict], width: int) -> np.ndarray:
    """Events' ``values`` (objects of the same ``width`` names, in the same order) as a
    2-D array of floats, one row an event; a value that is no number is NaN."""
    try:
        flat = np.fromiter(chain.from_iterable(map(dict.values, rows)), dtype=np.float64, count=len(rows) * width)
    except (TypeError, ValueError):
        flat = np.array([to_float(v) for row in rows for v in row.values()], dtype=np.float64)
    return flat.reshape(len(rows), width)


class Scalars:
    """Every metric of a logged run by name (in the order names first came), the
    summary values the run set, and the config (run_started's, merged with ``config``
    events).

    Taking an event is cheap: its values go into the block of events that logged the
    same names (a list append); the blocks become one array per name when a reader
    asks for a :class:`Scalar` (:meth:`get`, ``scalars[name]``) or when
    :data:`FLUSH_AT` events wait, and only what came since the last time."""

    def __init__(self) -> None:
        self._by_name: dict[str, Scalar] = {}
        self._blocks: dict[tuple, _Block] = {}
        self._pending = 0  # events taken and not yet in the arrays
        self.set_summary: dict[str, Any] = {}  # what summary events said (overrides)
        self.config: dict[str, Any] = {}
        self.t0: float | None = None  # the time x = 0 (the run's first event)
        self.last_step = -1.0
        self.events = 0  # metrics events taken
        self.version = 0  # grows with each change (readers compare it)

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Scalar:
        if self._pending:
            self._flush()
        return self._by_name[name]

    def get(self, name: str) -> Scalar | None:
        if self._pending:
            self._flush()
        return self._by_name.get(name)

    @property
    def names(self) -> list[str]:
        """The metrics' names, in the order they first came."""
        return list(self._by_name)

    @property
    def by_name(self) -> dict[str, Scalar]:
        if self._pending:
            self._flush()
        return self._by_name

    def add(self, step: Any, time_: Any, values: dict) -> None:
        """One ``metrics`` event: ``step`` (None: the step after the last one), its
        ``time`` and ``{name: value}``."""
        if type(step) is int or type(step) is float:
            s = float(step)
        else:
            s = to_float(step) if step is not None else self.last_step + 1
        if not math.isfinite(s):
            raise ValueError(f"step is {step!r}")
        t = time_ if type(time_) is float else to_float(time_)
        if self.t0 is None:
            self.start_time(t)
        if s > self.last_step:
            self.last_step = s
        names = tuple(values)
        block = self._blocks.get(names)
        if block is None:
            if not all(isinstance(n, str) for n in names):
                raise ValueError("a metric name is not a string")
            block = self._blocks[names] = _Block(names)
            for name in names:
                if name not in self._by_name:
                    self._by_name[name] = Scalar(name)
        block.seq.append(self.events)
        block.steps.append(s)
        block.times.append(t - self.t0 if self.t0 is not None else math.nan)
        block.rows.append(values)
        self._pending += 1
        self.events += 1
        self.version += 1

    def add_events(self, events: list[dict]) -> list[tuple[int, Exception]]:
        """Many ``metrics`` events (dicts), in order: what :meth:`add` does for each, at
        a fraction of its cost for the usual run (each event logs the same names as the
        one before, with a number for its step and time: a few list appends). Returns
        ``(index, error)`` of each event not taken (``values`` missing or not an object, a
        step that is no finite number, a name that is no string). ``events`` may also be
        a :class:`tuidl.core.run.columns.MetricsColumns` (see :meth:`add_columns`)."""
        if not isinstance(events, list):
            if self.t0 is not None:
                self.add_columns(events)
                return []
            events = events.events()  # the run's first event: it sets the time the others count from
        errors: list[tuple[int, Exception]] = []
        names: tuple | None = None
        seq = steps = times = rows = None
        last_step, n, fast = self.last_step, self.events, 0
        for i, ev in enumerate(events):
            values = ev.get("values")
            if type(values) is not dict:
                errors.append((i, KeyError("values") if "values" not in ev else E.Malformed("values is not an object")))
                continue
            step, t = ev.get("step"), ev.get("time")
            keys = tuple(values)
            if (keys != names or self.t0 is None or (type(step) is not int and type(step) is not float)
                    or (type(t) is not float and type(t) is not int)):
                # a new set of names, the run's first event, a step or a time to convert: the long way
                self.last_step, self.events = last_step, n
                try:
                    self.add(step, t, values)
                except (TypeError, ValueError) as e:
                    errors.append((i, e))
                    continue
                last_step, n = self.last_step, self.events
                names = keys
                block = self._blocks[keys]
                seq, steps, times, rows = block.seq.append, block.steps.append, block.times.append, block.rows.append
                continue
            s = float(step)
            if s - s != 0.0:  # inf or NaN
                errors.append((i, ValueError(f"step is {step!r}")))
                continue
            if s > last_step:
                last_step = s
            seq(n)
            steps(s)
            times(t - self.t0)
            rows(values)
            n += 1
            fast += 1
        self.last_step, self.events = last_step, n
        self._pending += fast
        self.version += fast
        if self._pending >= FLUSH_AT:
            self._flush()
        return errors

    def add_columns(self, cols: Any) -> None:
        """Plain metrics events as columns (a :class:`tuidl.core.run.columns.MetricsColumns`):
        what :meth:`add_events` does with the same events, without an object per event.
        The run's first event (no ``t0`` yet) must come the ordinary way."""
        if self.t0 is None:
            raise ValueError("the run's first event comes as an event, not as columns")
        base, t0 = self.events, self.t0
        for names, seq, steps, times, values in cols.groups:
            block = self._blocks.get(names)
            if block is None:
                block = self._blocks[names] = _Block(names)
                for name in names:
                    if name not in self._by_name:
                        self._by_name[name] = Scalar(name)
            block.chunks.append((seq + base, steps, times - t0, values))
        if cols.max_step > self.last_step:
            self.last_step = cols.max_step
        self.events += cols.count
        self._pending += cols.count
        self.version += cols.count
        if self._pending >= FLUSH_AT:
            self._flush()

    def _flush(self) -> None:
        """Move what the blocks took since the last time into each name's arrays, in
        the order the events came."""
        parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {}
        for block in self._blocks.values():
            chunks, block.chunks = block.chunks, []
            if block.rows:
                chunks.append((np.array(block.seq, dtype=np.int64), np.array(block.steps, dtype=np.float64),
                               np.array(block.times, dtype=np.float64), _rows_array(block.rows, len(block.names))))
                block.seq, block.steps, block.times, block.rows = [], [], [], []
            for seq, steps, times, rows in chunks:
                for j, name in enumerate(block.names):
                    parts.setdefault(name, []).append((seq, steps, times, rows[:, j]))
        for name, chunks in parts.items():
            if len(chunks) == 1:
                _seq, steps, times, values = chunks[0]
            else:  # logged in events of different names: back in the order they came
                seq = np.concatenate([c[0] for c in chunks])
                steps, times, values = (np.concatenate([c[i] for c in chunks]) for i in (1, 2, 3))
                if not (np.diff(seq) > 0).all():
                    order = np.argsort(seq, kind="stable")
                    steps, times, values = steps[order], times[order], values[order]
            self._by_name[name]._extend(steps, times, values)
        self._pending = 0

    def start_time(self, t: Any) -> None:
        """The run's first event: times count from it."""
        if self.t0 is None:
            f = to_float(t)
            if math.isfinite(f):
                self.t0 = f

    def summary(self) -> dict[str, dict[str, Any]]:
        """``{name: {"last": v, "best": v, "step": s}}`` of each metric, then every key
        a ``summary`` event set, which overrides (``{"value": v}`` for a key that is
        no metric; a metric's key sets its ``last``)."""
        out: dict[str, dict[str, Any]] = {}
        for name, scalar in self.by_name.items():
            steps = scalar.steps
            out[name] = {"last": scalar.last(), "best": scalar.best(),
                         "step": float(steps[-1]) if len(steps) else math.nan}
        return with_set_summary(out, self.set_summary)


def with_set_summary(out: dict[str, dict[str, Any]], set_summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``out`` (each metric's last, best and step) with the keys a ``summary`` event set
    on top: a metric's key sets its ``last``, any other key gets ``{"value": v}``."""
    for key, value in set_summary.items():
        if key in out:
            out[key] = {**out[key], "last": value, "set": True}
        else:
            out[key] = {"value": value, "set": True}
    return out
