"""The runs as a table the user shapes: which columns, sorted by what, grouped by what.

Shared by ``tuidl runs --columns/--sort/--group`` and the Runs pane. A column is a fixed
one (``id preset status epochs best duration started tags note project host sweep``)
or any config key or summary metric (:func:`tuidl.core.run.runfilter.row_value`: ``lr``,
``train.optimizer.lr``, ``val_acc``). No UI here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from tuidl.core.preset.schema import ConfigError
from tuidl.core.run.rundir import tags_of
from tuidl.core.run.runfilter import KEY_RE, field_value, row_value
from tuidl.core.run.units import higher_is_better

DEFAULT_COLUMNS = ("id", "preset", "status", "epochs", "best", "duration", "started")
# fixed columns: header, text
FIXED: dict[str, tuple[str, Callable[[Any], str]]] = {
    "id": ("ID", lambda r: r.id),
    "preset": ("PRESET", lambda r: r.preset),
    "status": ("STATUS", lambda r: r.status),
    "epochs": ("EPOCHS", lambda r: r.epochs_text),
    "best": ("BEST VAL", lambda r: r.best_text),
    "duration": ("DURATION", lambda r: r.duration_text),
    "started": ("STARTED", lambda r: r.started_text),
    "tags": ("TAGS", lambda r: " ".join(tags_of(r.status_data))),
    "note": ("NOTE", lambda r: str(r.status_data.get("note") or "")),
    "project": ("PROJECT", lambda r: str(r.status_data.get("project") or "")),
    "host": ("HOST", lambda r: str(r.status_data.get("host") or "")),
    "sweep": ("SWEEP", lambda r: r.sweep_text),
}
ALIASES = {"name": "preset", "tag": "tags", "epoch": "epochs", "best_val": "best", "run": "id"}


def column_key(name: str) -> str:
    """A column's key as the user wrote it (``lr``, ``Best``, ``tag``) made canonical;
    ConfigError for a name that can be no column."""
    name = name.strip()
    low = name.lower()
    low = ALIASES.get(low, low)
    if low in FIXED:
        return low
    if not name or not KEY_RE.fullmatch(name):
        raise ConfigError(f"column {name!r}: a column is one of {', '.join(FIXED)}, a config key or a metric")
    return name


def parse_columns(text: str) -> list[str]:
    """``id,preset,lr,val_acc`` as column keys."""
    cols = [column_key(c) for c in text.split(",") if c.strip()]
    if not cols:
        raise ConfigError("--columns needs at least one column")
    return cols


def header(col: str) -> str:
    return FIXED[col][0] if col in FIXED else col


def cell(row, col: str) -> str:
    """A run's cell in a column (``—`` where a run has no such key)."""
    if col in FIXED:
        return FIXED[col][1](row)
    found, value = row_value(row, col)
    if not found or value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sort_value(row, col: str) -> tuple[int, Any]:
    """A sort key: numbers before text, a run without the value last."""
    if col == "best":
        v = (row.best or {}).get("value")
        return _key(v)
    if col == "started":
        return _key(row.started)
    if col == "duration":
        return _key(row.duration)
    if col == "epochs":
        return _key(row.status_data.get("epoch") if row.logged is None else row.logged.step)
    if col in FIXED:
        text = FIXED[col][1](row)
        return (1, text.lower()) if text else (2, "")
    found, value = row_value(row, col)
    return _key(value) if found else (2, "")


def _key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, (int, float)):
        return (0, float(value)) if not math.isnan(float(value)) else (2, "")
    try:
        number = float(value)
        if not math.isnan(number):
            return (0, number)
    except (TypeError, ValueError):
        pass
    return (1, str(value).lower()) if value not in (None, "") else (2, "")


def parse_sort(text: str) -> tuple[str, bool]:
    """``val_acc``, ``-val_acc`` or ``val_acc:desc`` as (column, descending)."""
    text = text.strip()
    desc = False
    if text.startswith("-"):
        desc, text = True, text[1:]
    for suffix, d in ((":desc", True), (":asc", False)):
        if text.lower().endswith(suffix):
            desc, text = d, text[: -len(suffix)]
    return column_key(text), desc


def sort_rows(rows: list, col: str, desc: bool = False) -> list:
    """Rows sorted by a column; runs without the value stay last either way."""
    have = [r for r in rows if sort_value(r, col)[0] < 2]
    rest = [r for r in rows if sort_value(r, col)[0] == 2]
    have.sort(key=lambda r: (sort_value(r, col), r.id), reverse=desc)
    return have + rest


def best_row(rows: list):
    """The run with the best value of the metric most of them monitor (higher for an
    accuracy, lower for a loss or an error), else None."""
    scored = [r for r in rows if r.best and isinstance(r.best.get("value"), (int, float))
              and math.isfinite(float(r.best["value"]))]
    if not scored:
        return None
    monitors: dict[str, int] = {}
    for r in scored:
        monitors[str(r.best.get("monitor", ""))] = monitors.get(str(r.best.get("monitor", "")), 0) + 1
    monitor = max(monitors, key=monitors.get)
    scored = [r for r in scored if str(r.best.get("monitor", "")) == monitor]
    return (max if higher_is_better(monitor) else min)(scored, key=lambda r: float(r.best["value"]))


@dataclass
class Group:
    """Runs that share a value of the grouping key."""

    key: str  # the grouping key
    value: str  # its value ("—" for runs without it)
    rows: list

    @property
    def best(self):
        return best_row(self.rows)

    @property
    def title(self) -> str:
        best = self.best
        text = f"{self.key}={self.value} · {len(self.rows)} run{'s' if len(self.rows) != 1 else ''}"
        return text + (f" · best {best.best_text} ({best.id})" if best is not None else "")


GROUP_FIELDS = ("preset", "project", "sweep", "status", "host", "tag", "kind", "source")


def group_value(row, key: str) -> list[str]:
    """The group(s) a run belongs to for a key (a run with two tags is in both)."""
    low = ALIASES.get(key.lower(), key.lower())
    low = "tag" if low == "tags" else low
    if low in GROUP_FIELDS:
        value = field_value(row, low)
        if isinstance(value, list):
            return [str(v) for v in value] or ["—"]
        return [str(value)] if value not in (None, "") else ["—"]
    found, value = row_value(row, key)
    return [cell(row, key) if found else "—"]


def group_rows_by(rows: list, key: str, sort: tuple[str, bool] | None = None) -> list[Group]:
    """Groups of the runs by their value of ``key``, runs without it in a last ``—`` group.
    Unsorted, the groups come in order of their value (numbers by value) and each keeps
    its runs in the order given. With ``sort`` (a column, descending), each group's runs
    are sorted by it and the groups come in the order of their first runs: the group of
    the run that sorts first leads (groups with no value in that column go after, by
    value), as a sorted table's top row is the one sought."""
    groups: dict[str, Group] = {}
    for row in rows:
        for value in group_value(row, key):
            groups.setdefault(value, Group(key, value, [])).rows.append(row)
    out = sorted(groups.values(), key=lambda g: (g.value == "—", _key(g.value)))
    if sort is None:
        return out
    for g in out:
        g.rows = sort_rows(g.rows, *sort)
    rank = {id(row): i for i, row in enumerate(sort_rows([r for r in rows if sort_value(r, sort[0])[0] < 2], *sort))}
    return sorted(out, key=lambda g: (g.value == "—", rank.get(id(g.rows[0]), len(rank))))  # stable: else by value


def config_diff(rows: list) -> list[tuple[str, list[str]]]:
    """The config keys whose values differ between runs (a key a run lacks reads ``—``),
    in key order, each with its value for every run in order."""
    from tuidl.core.run.runfilter import run_config

    configs = [run_config(r.run) for r in rows]
    keys = sorted({k for c in configs for k in c})
    out = []
    for k in keys:
        values = [_text(c[k]) if k in c else "—" for c in configs]
        if len(set(values)) > 1:
            out.append((k, values))
    return out


def summary_rows(rows: list) -> list[tuple[str, list[str]]]:
    """Status, best and every summary metric any of the runs has, for each run."""
    from tuidl.core.run.runfilter import run_summary

    summaries = [run_summary(r) for r in rows]
    out = [("status", [r.status for r in rows]), ("best", [r.best_text for r in rows])]
    for k in sorted({k for s in summaries for k in s}):
        out.append((k, [_text(s[k]) if k in s and s[k] is not None else "—" for s in summaries]))
    return out


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
