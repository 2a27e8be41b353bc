"""Find runs: the filter expressions of ``tuidl runs --filter`` and the Runs pane's ``/``.

An expression is terms separated by spaces; a run matches when every term does::

    lr>=0.001 preset~mnist status:completed,stopped tag:baseline host:gpu1 after:2026-12-01 -tag:old

A term is ``KEY OP VALUE`` (``OP`` one of ``: = != ~ !~ > >= < <=``), ``-TERM`` or ``!TERM`` (not), or a
bare word (found in the run's id, name, tags or note). ``:`` and ``=`` are equality, ``~``
is "contains" (case-insensitive), ``,`` separates alternatives (``status:failed,diverged``),
``"..."`` quotes a value with spaces. The keys:

* fields of every run: ``status``, ``tag`` (``tags``), ``note``, ``host``, ``project``,
  ``preset`` (``name``), ``id``, ``sweep``, ``source``, ``kind`` (``preset`` / ``logged``),
  ``epoch``, ``duration`` (seconds), ``started``, ``ended``;
* dates: ``after:DATE`` / ``before:DATE`` (the start; ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM``,
  local time), ``started>=DATE``;
* config keys: a preset run's resolved preset (``train.optimizer.lr``), a logged run's
  ``config.json`` (``lr``, ``optim.lr``); a key matches a whole dotted path or its last parts
  (``lr`` finds ``train.optimizer.lr``); ``config.KEY`` asks the config only;
* summary metrics: a preset run's best monitored value (``val_loss``) and its test figures
  (``test_acc``); a logged run's last value of each metric or what ``run.summary`` set
  (``val/acc``); ``summary.KEY`` asks the summary only.

A key a run does not have does not match (``-KEY:...`` then does). A bad expression raises
:class:`FilterError`: one line naming what is wrong and the column where. No UI here.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import os
import re
import tomllib
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from tuidl.core.preset.schema import ConfigError
from tuidl.core.run.rundir import tags_of
from tuidl.core.run.runindex import configs_of, save_configs

OPS = ("!=", "!~", ">=", "<=", ":", "=", "~", ">", "<")
STATUSES = ("created", "starting", "running", "paused", "completed", "stopped", "pruned", "interrupted",
            "failed", "diverged", "unknown")
FIELDS = ("status", "tag", "tags", "note", "host", "project", "preset", "name", "id", "sweep", "source", "kind",
          "epoch", "duration", "started", "ended", "after", "before")
KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_./\-\[\]]*")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$")


class FilterError(ConfigError):
    """A bad filter expression; ``column`` is 1-based."""

    def __init__(self, expr: str, column: int, what: str) -> None:
        self.expr, self.column, self.what = expr, column, what
        super().__init__(f"filter, column {column}: {what}")


@dataclass(frozen=True)
class Term:
    key: str  # lower-cased field name, or a config / summary key as written
    op: str  # one of OPS, or "" for a bare word
    values: tuple[Any, ...]  # strings; floats for > >= < <=; epoch seconds for dates
    negate: bool
    column: int


@dataclass(frozen=True)
class Filter:
    """A parsed expression: ``match(row)`` says whether a run matches every term."""

    text: str
    terms: tuple[Term, ...]

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def needs_config(self) -> bool:
        return any(t.key not in FIELDS and not t.key.startswith("summary.") and t.op for t in self.terms)

    @functools.cached_property
    def _tests(self) -> tuple[Callable[[Any], bool], ...]:
        return tuple(_compile(t) for t in self.terms)

    def match(self, row) -> bool:
        return all(test(row) for test in self._tests)

    def apply(self, rows: Iterable) -> list:
        tests = self._tests
        if len(tests) == 1:
            out = [r for r in rows if tests[0](r)]
        else:
            out = [r for r in rows if all(test(r) for test in tests)]
        if self.needs_config:
            save_configs()  # the configs read for it, for the next process
        return out


def parse(text: str) -> Filter:
    """The filter for ``text``; :class:`FilterError` for a bad one (the empty text matches all)."""
    terms: list[Term] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        negate = text[i] in "-!" and i + 1 < n and not text[i + 1].isspace()
        if negate:
            i += 1
        m = KEY_RE.match(text, i)
        op = ""
        if m:
            j = m.end()
            op = next((o for o in OPS if text.startswith(o, j)), "")
        if not op:  # a bare word (or a quoted phrase): found in id, name, tags, note
            if text[i] in "\"'":
                value, i = _quoted(text, i)
            else:
                j = i
                while j < n and not text[j].isspace():
                    j += 1
                value, i = text[i:j], j
                if any(o in value for o in ("=", "<", ">", "~")) or value.endswith(":"):
                    raise FilterError(text, i - len(value) + 1,
                                      f"{value!r} is not KEY OP VALUE (a key starts with a letter; "
                                      "OP is one of : = != ~ !~ > >= < <=)")
            if not value:
                raise FilterError(text, start + 1, "'-' with nothing after it")
            terms.append(Term("", "", (value.lower(),), negate, start + 1))
            continue
        key = m.group(0)
        i = m.end() + len(op)
        vcol = i + 1
        if i < n and text[i] in "\"'":
            raw, i = _quoted(text, i)
            alts = [raw]
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            raw, i = text[vcol - 1:j], j
            alts = raw.split(",") if raw else []
        if not raw:
            raise FilterError(text, vcol, f"{key}{op} needs a value")
        if any(a == "" for a in alts):
            raise FilterError(text, vcol, f"{key}{op}{raw}: an empty alternative (two commas, or one at an end)")
        terms.append(_term(text, key, op, alts, negate, start + 1, vcol))
    return Filter(text, tuple(terms))


def _quoted(text: str, i: int) -> tuple[str, int]:
    quote = text[i]
    end = text.find(quote, i + 1)
    if end < 0:
        raise FilterError(text, i + 1, f"a quote ({quote}) that is never closed")
    return text[i + 1:end], end + 1


def _term(text: str, key: str, op: str, alts: list[str], negate: bool, col: int, vcol: int) -> Term:
    low = key.lower()
    field = low if low in FIELDS else ""
    if field == "tags":
        field = "tag"
    if field == "name":
        field = "preset"
    if field in ("after", "before"):
        if op not in (":", "="):
            raise FilterError(text, col, f"{key} takes ':' and a date ({key}:2026-12-01), not '{op}'")
        if len(alts) != 1:
            raise FilterError(text, vcol, f"{key} takes one date")
        return Term(field, ">=" if field == "after" else "<", (_date(text, alts[0], vcol),), negate, col)
    if field in ("started", "ended") and op in (">", ">=", "<", "<="):
        return Term(field, op, tuple(_date(text, a, vcol) for a in alts[:1]), negate, col)
    if op in (">", ">=", "<", "<="):
        if len(alts) != 1:
            raise FilterError(text, vcol, f"{key}{op} takes one number, not a list")
        number = _number(alts[0])
        if number is None:
            raise FilterError(text, vcol, f"{key}{op}{alts[0]}: '{op}' needs a number, not {alts[0]!r}")
        return Term(field or key, op, (number,), negate, col)
    if field == "status" and op in (":", "=", "!="):
        for a in alts:
            if a.lower() not in STATUSES:
                raise FilterError(text, vcol, f"status {a!r} is no run status ({', '.join(STATUSES)})")
    if field == "kind" and op in (":", "=", "!="):
        for a in alts:
            if a.lower() not in ("preset", "logged"):
                raise FilterError(text, vcol, f"kind {a!r}: a run's kind is preset or logged")
    return Term(field or key, op, tuple(a.lower() for a in alts), negate, col)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if not math.isnan(value) else None


def _date(text: str, value: str, col: int) -> float:
    m = _DATE.match(value)
    if not m:
        raise FilterError(text, col, f"{value!r} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
    y, mo, d, hh, mm, ss = (int(g) if g else 0 for g in m.groups())
    try:
        return datetime.datetime(y, mo, d, hh, mm, ss).timestamp()  # local time
    except (OverflowError, ValueError) as e:
        raise FilterError(text, col, f"{value!r} is not a date: {e}") from None


# -- what a run holds ----------------------------------------------------------------------
_CONFIGS: dict[str, tuple[int, dict[str, Any], tuple[str, ...]]] = {}  # run path -> (mtime_ns, flat config, keys)


def flatten(data: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"a": {"b": 1}, "l": [{"u": 2}]}`` as ``{"a.b": 1, "l.0.u": 2}``."""
    out = {} if out is None else out
    if isinstance(data, dict):
        for k, v in data.items():
            flatten(v, f"{prefix}{k}.", out)
    elif isinstance(data, list) and data and all(isinstance(v, (dict, list)) for v in data):
        for k, v in enumerate(data):
            flatten(v, f"{prefix}{k}.", out)
    elif prefix:
        out[prefix[:-1]] = data
    return out


def run_config(run, recheck: bool = True) -> dict[str, Any]:
    """A run's config, flat (dotted keys): the resolved preset of a preset run, the
    ``config.json`` of a logged run; ``{}`` when unreadable. Cached by the file's mtime;
    ``recheck=False`` (a run that is not live: its config no longer changes) takes the
    cached one without looking at the file. Runs whose configs the runs root's store
    (:class:`~tuidl.core.run.runindex.ConfigStore`) holds as one share one dict: do not
    change what this returns."""
    return _config_of(run, recheck)[0]


_NO_CONFIG: tuple[dict[str, Any], None] = ({}, None)


def _config_of(run, recheck: bool = True, logged: bool = False) -> tuple[dict[str, Any], tuple[str, ...] | None]:
    """:func:`run_config` and the config's keys (its shape). ``logged``: the run was listed
    as a logged run (a config.json, no preset.toml): its config.json is looked for first."""
    key = str(run.path)  # (strings, not Paths: a filter may ask for 10,000 runs' configs)
    cached = _CONFIGS.get(key)
    if not recheck and cached is not None:
        return cached[1], cached[2]
    names = ("/config.json", "/preset.toml") if logged else ("/preset.toml", "/config.json")
    for name in names:
        path = key + name
        try:
            stamp = os.stat(path).st_mtime_ns
            break
        except OSError:
            continue
    else:
        return _NO_CONFIG
    if cached is not None and cached[0] == stamp:
        return cached[1], cached[2]
    root, _, run_id = key.rpartition("/")
    store = configs_of(root)  # kept in the runs root: a new process parses nothing twice
    kept = store.entry(run_id, stamp)
    if kept is not None:
        return _shared(key, *kept)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        data = json.loads(raw) if name == "/config.json" else tomllib.loads(raw.decode())
    except (OSError, ValueError, UnicodeDecodeError):
        data = {}
    flat, shape = _interned(flatten(data))
    if data:
        store.put(run_id, stamp, flat)
    _CONFIGS[key] = (stamp, flat, shape)
    return flat, shape


_STORED: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {}  # a stored config's digest -> (flat, keys)


def _shared(key: str, stamp: int, digest: str, config: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A run's config as the store keeps it: one flat dict for every run of that config."""
    shared = _STORED.get(digest)
    if shared is None:
        shared = _STORED[digest] = _interned(config)
    _CONFIGS[key] = (stamp, *shared)
    return shared


def _interned(config: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A flat config with its keys interned, and its shape (its keys, one tuple for every
    config of those keys)."""
    flat = {(k if k in _INTERN else _INTERN.setdefault(k, k)): v for k, v in config.items()}
    keys = tuple(flat)
    return flat, _SHAPES.setdefault(keys, keys)


_INTERN: dict[str, str] = {}  # config keys are shared by thousands of runs: one string each


def run_summary(row) -> dict[str, Any]:
    """A run's summary metrics: a preset run's best monitored value and test figures
    (``test_acc``); a logged run's last value of each metric, or what ``run.summary`` set."""
    out: dict[str, Any] = {}
    if row.logged is not None:
        out.update(row.logged.summary)
    st = row.status_data
    best = st.get("best")
    if isinstance(best, dict) and best.get("monitor"):
        out.setdefault(str(best["monitor"]), best.get("value"))
    test = st.get("test")
    if isinstance(test, dict):
        for k, v in test.items():
            out.setdefault(f"test_{k}", v)
    return out


def _summary_lookup(row, key: str) -> tuple[bool, Any]:
    """``_lookup(run_summary(row), key)`` without making the dict (a filter on a metric
    asks it of each of 10,000 runs): the same places looked at in the same order."""
    logged = row.logged.summary if row.logged is not None else {}
    st = row.status_data
    best = st.get("best")
    monitor = str(best["monitor"]) if isinstance(best, dict) and best.get("monitor") else None
    test = st.get("test")
    test = test if isinstance(test, dict) else {}
    if key in logged:
        return True, logged[key]
    if key == monitor:
        return True, best.get("value")
    if key.startswith("test_") and key[5:] in test:
        return True, test[key[5:]]
    tail = "." + key
    for k, v in logged.items():
        if k.endswith(tail):
            return True, v
    if monitor is not None and monitor.endswith(tail):
        return True, best.get("value")
    for k, v in test.items():
        if f"test_{k}".endswith(tail):
            return True, v
    return False, None


# (id of a config's keys, short key) -> its full key: by id, as hashing a tuple of a preset's ~100
# keys for each run cost more than the lookup (the tuples are _SHAPES', kept for the process's life)
_SUFFIX: dict[tuple[int, str], str | None] = {}
_SHAPES: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per set of config keys


def _lookup(d: dict[str, Any], key: str, shape: tuple[str, ...] | None = None) -> tuple[bool, Any]:
    """``key`` in a flat dict: the whole key, else the first key ending in ``.key``. With
    ``shape`` (the dict's keys, shared by every run of a preset) which key a short key
    names is worked out once per shape."""
    if key in d:
        return True, d[key]
    if shape is None:
        tail = "." + key
        return next(((True, v) for k, v in d.items() if k.endswith(tail)), (False, None))
    full = _SUFFIX.get((id(shape), key), "")
    if full == "":
        tail = "." + key
        full = next((k for k in shape if k.endswith(tail)), None)
        _SUFFIX[(id(shape), key)] = full
    return (True, d[full]) if full is not None else (False, None)


def read_configs(rows: list) -> int:
    """Read ahead the configs of listed runs (``RunRow``) that a filter on a config key
    would read, and keep them in the runs root's store: the first such filter then reads
    none (10,000 runs' preset files: about 10 s of parsing, done once per runs root). The
    number of runs read."""
    for row in rows:
        _config_of(row.run, row.live, row.logged is not None)
    save_configs()
    return len(rows)


def _config_lookup(row, key: str) -> tuple[bool, Any]:
    flat, shape = _config_of(row.run, row.live, row.logged is not None)
    return _lookup(flat, key, shape if flat else None)


def row_value(row, key: str) -> tuple[bool, Any]:
    """The value of a config key or a summary metric of a run (found, value). Kept with
    the row of a run that is not live (its config and summary no longer change; a new
    status file makes a new row), so a second filter on the same key reads a dict."""
    cache = getattr(row, "cache", None)
    if cache is None or row.live:
        return _row_value(row, key)
    hit = cache.get(key)
    if hit is None:
        hit = cache[key] = _row_value(row, key)
    return hit


def _row_value(row, key: str) -> tuple[bool, Any]:
    if key.startswith("summary."):
        return _summary_lookup(row, key[8:])
    if key.startswith("config."):
        return _config_lookup(row, key[7:])
    found, value = _config_lookup(row, key)
    return (found, value) if found else _summary_lookup(row, key)


_FIELDS: dict[str, Callable[[Any], Any]] = {
    "status": lambda row: row.status,
    "tag": lambda row: tags_of(row.status_data),
    "note": lambda row: str(row.status_data.get("note") or ""),
    "host": lambda row: str(row.status_data.get("host") or ""),
    "project": lambda row: str(row.status_data.get("project") or ""),
    "preset": lambda row: row.preset,
    "id": lambda row: row.id,
    "sweep": lambda row: str((row.sweep or {}).get("id") or ""),
    "source": lambda row: row.logged.source if row.logged is not None else "trainer",
    "kind": lambda row: "logged" if row.logged is not None else "preset",
    "epoch": lambda row: row.status_data.get("epoch"),
    "duration": lambda row: row.duration,
    "started": lambda row: row.started,
    "after": lambda row: row.started,
    "before": lambda row: row.started,
    "ended": lambda row: row.status_data.get("ended"),
}


_TEXT_FIELDS = frozenset(("status", "note", "host", "project", "preset", "id", "sweep", "source", "kind"))


def field_value(row, field: str) -> Any:
    """A run's value of one of :data:`FIELDS`."""
    get = _FIELDS.get(field)
    return get(row) if get is not None else None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).lower()


def _equal(value: Any, want: str) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = _number(want)
        if number is not None:
            return math.isclose(float(value), number, rel_tol=1e-9, abs_tol=0.0) or float(value) == number
    return _text(value) == want


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


def _term_matches(term: Term, row) -> bool:
    if not term.op:  # a bare word
        word = term.values[0]
        st = row.status_data
        return (word in row.id.lower() or word in row.preset.lower() or word in str(st.get("note") or "").lower()
                or any(word in t.lower() for t in tags_of(st)))
    if term.key in FIELDS:
        value = field_value(row, term.key)
    else:
        found, value = row_value(row, term.key)
        if not found:
            return False
    if term.op in _COMPARE:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        return not math.isnan(number) and _COMPARE[term.op](number, term.values[0])
    items = value if isinstance(value, list) else [value]
    if value is None or (isinstance(value, list) and not value):
        items = []
    if term.op in (":", "="):
        return any(_equal(v, w) for v in items for w in term.values)
    if term.op == "!=":
        return bool(items) and not any(_equal(v, w) for v in items for w in term.values)
    contains = any(w in _text(v) for v in items for w in term.values)
    return contains if term.op == "~" else not contains  # "!~"


def _compile(term: Term) -> Callable[[Any], bool]:
    """A term as one function of a row (what :func:`_term_matches` says, with the term's
    values worked out once: a filter over 10,000 runs asks each term 10,000 times)."""
    if not term.op or term.op in ("~", "!~"):
        test = functools.partial(_term_matches, term)
    elif term.key in _TEXT_FIELDS and term.op in (":", "=", "!="):  # one string per run: a set lookup
        get, wants = _FIELDS[term.key], frozenset(term.values)
        if term.op == "!=":
            def test(row):
                return get(row).lower() not in wants
        else:
            def test(row):
                return get(row).lower() in wants
    else:
        if term.key in FIELDS:
            get = _FIELDS[term.key]

            def value_of(row):
                return True, get(row)
        else:
            def value_of(row):
                return row_value(row, term.key)

        if term.op in _COMPARE:
            compare, bound = _COMPARE[term.op], term.values[0]

            def test(row):
                found, value = value_of(row)
                if not found or value is None or isinstance(value, str) and not value:
                    return False
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    return False
                return number == number and compare(number, bound)
        else:
            wants = frozenset(term.values)
            numbers = tuple(n for n in (_number(w) for w in term.values) if n is not None)
            equal = term.op in (":", "=")

            def same(v) -> bool:
                if isinstance(v, str):
                    return v.lower() in wants
                if numbers and isinstance(v, (int, float)) and not isinstance(v, bool):
                    x = float(v)
                    if any(x == n or math.isclose(x, n, rel_tol=1e-9, abs_tol=0.0) for n in numbers):
                        return True
                return _text(v) in wants

            def test(row):
                found, value = value_of(row)
                if not found or value is None:
                    return False
                items = value if isinstance(value, list) else (value,)
                hit = any(same(v) for v in items)
                return hit if equal else (bool(items) and not hit)
    if term.negate:
        return lambda row: not test(row)
    return test


def warm_configs(rows: Iterable) -> None:
    """Read (and cache) every run's config ahead of a filter that asks for one."""
    for row in rows:
        run_config(row.run)
