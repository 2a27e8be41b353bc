"""Alert rules: what is worth telling the user about a run, and how to tell them.

The rules are the ``[alerts]`` table of the config file (:mod:`tuidl.core.config`)::

    [alerts]
    nan = true                      # the loss becomes NaN or inf
    stall_minutes = 10              # no progress for this long while running (0: off)
    ended = ["completed", "stopped", "failed", "diverged", "interrupted"]
    gpu_idle_minutes = 5            # a GPU of a training run under gpu_idle_util % this long (0: off)
    gpu_idle_util = 5
    thresholds = ["val_acc > 0.95", "loss < 0.05"]
    script = true                   # tuidl.alert() calls from a script
    bell = true                     # delivery: the terminal's bell
    title = true                    # ... and its window title
    desktop = true                  # ... a desktop notification (OSC 9 and OSC 777)
    notify = ["https://ntfy.sh/my-topic"]   # ... webhooks (also --notify URL)

:func:`from_table` reads it (every problem names the file and key), :func:`to_table`
writes it back. Nothing here reads events: :mod:`tuidl.core.alerts.watch` does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = ["Alert", "AlertRules", "END_STATUSES", "LEVELS", "RuleError", "Threshold", "from_table",
           "level_of", "parse_threshold", "to_table"]

LEVELS = ("info", "warn", "error")
END_STATUSES = ("completed", "stopped", "pruned", "diverged", "failed", "interrupted")
OPS = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}
_THRESHOLD = re.compile(r"^\s*(?P<metric>[^<>=\s](?:[^<>=]*[^<>=\s])?)\s*(?P<op>>=|<=|>|<)\s*(?P<value>\S+)\s*$")


class RuleError(ValueError):
    """A rule that cannot be read: one line naming the key and what is wrong."""


def level_of(value: Any) -> str:
    """``info``, ``warn`` or ``error`` from what a script or a file says (``WARN``,
    ``warning``, an ``AlertLevel``); ``warn`` for anything else."""
    text = str(getattr(value, "value", value) or "").strip().lower()
    if text.startswith("warn"):
        return "warn"
    return text if text in LEVELS else "warn"


@dataclass(frozen=True)
class Threshold:
    """``metric op value``: fires when the metric's latest value crosses to that side."""

    metric: str
    op: str
    value: float

    def holds(self, x: float) -> bool:
        return math.isfinite(x) and OPS[self.op](x, self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


def parse_threshold(text: str) -> Threshold:
    """``"val_acc > 0.95"`` (operators ``>``, ``>=``, ``<``, ``<=``)."""
    m = _THRESHOLD.match(str(text))
    if not m:
        raise RuleError(f"{text!r} is not METRIC > VALUE (or >=, <, <=)")
    try:
        value = float(m["value"])
    except ValueError:
        raise RuleError(f"{text!r}: {m['value']!r} is not a number") from None
    if not math.isfinite(value):
        raise RuleError(f"{text!r}: the value must be a finite number")
    return Threshold(m["metric"], m["op"], value)


@dataclass(frozen=True)
class AlertRules:
    """What fires (see the module docstring) and where it goes."""

    nan: bool = True
    stall_minutes: float = 10.0
    ended: tuple[str, ...] = ("completed", "stopped", "failed", "diverged", "interrupted")
    gpu_idle_minutes: float = 5.0
    gpu_idle_util: float = 5.0
    thresholds: tuple[Threshold, ...] = ()
    script: bool = True
    bell: bool = True
    title: bool = True
    desktop: bool = True
    notify: tuple[str, ...] = ()

    def with_notify(self, urls: list[str] | tuple[str, ...]) -> "AlertRules":
        """These rules with more webhook URLs (``--notify``), each once."""
        return replace(self, notify=tuple(dict.fromkeys([*self.notify, *urls])))


@dataclass(frozen=True)
class Alert:
    """One alert: ``kind`` is ``nan``, ``stall``, ``ended``, ``threshold``, ``gpu_idle`` or
    ``script`` (a ``tuidl.alert`` call); ``level`` ``info`` / ``warn`` / ``error``."""

    run_id: str
    kind: str
    title: str
    text: str = ""
    level: str = "warn"
    time: float = 0.0
    host: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def headline(self) -> str:
        """One line: ``title · run (host)``."""
        where = f"{self.run_id} ({self.host})" if self.host else self.run_id
        return f"{self.title} · {where}" if where else self.title


_BOOLS = ("nan", "script", "bell", "title", "desktop")
_NUMBERS = ("stall_minutes", "gpu_idle_minutes", "gpu_idle_util")


def from_table(table: Any, where: str = "config") -> AlertRules:
    """Rules from the config file's ``[alerts]`` table (a missing key keeps its default).
    :class:`RuleError` names ``where`` (the file) and the key of the first problem."""
    if table is None:
        return AlertRules()
    if not isinstance(table, dict):
        raise RuleError(f"{where}: [alerts] must be a table")
    known = {f.name for f in fields(AlertRules)}
    for key in table:
        if key not in known:
            raise RuleError(f"{where}: alerts.{key} is not a known key (known: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for key in _BOOLS:
        if key in table:
            if not isinstance(table[key], bool):
                raise RuleError(f"{where}: alerts.{key} must be true or false, got {table[key]!r}")
            values[key] = table[key]
    for key in _NUMBERS:
        if key in table:
            v = table[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise RuleError(f"{where}: alerts.{key} must be a number >= 0, got {v!r}")
            values[key] = float(v)
    if "ended" in table:
        ended = _strings(table["ended"], where, "ended")
        bad = [s for s in ended if s not in END_STATUSES]
        if bad:
            raise RuleError(f"{where}: alerts.ended: {bad[0]!r} is not one of {', '.join(END_STATUSES)}")
        values["ended"] = tuple(ended)
    if "thresholds" in table:
        items = _strings(table["thresholds"], where, "thresholds")
        try:
            values["thresholds"] = tuple(parse_threshold(t) for t in items)
        except RuleError as e:
            raise RuleError(f"{where}: alerts.thresholds: {e}") from None
    if "notify" in table:
        urls = _strings(table["notify"], where, "notify")
        from tuidl.core.alerts.webhooks import check_url

        for url in urls:
            problem = check_url(url)
            if problem:
                raise RuleError(f"{where}: alerts.notify: {problem}")
        values["notify"] = tuple(urls)
    return AlertRules(**values)


def _strings(value: Any, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{where}: alerts.{key} must be a list of strings, got {value!r}")
    return list(value)


def to_table(rules: AlertRules) -> dict[str, Any]:
    """The ``[alerts]`` table for ``rules`` (what :func:`from_table` reads back)."""
    out: dict[str, Any] = {}
    for f in fields(AlertRules):
        value = getattr(rules, f.name)
        if f.name == "thresholds":
            value = [str(t) for t in value]
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        out[f.name] = value
    return out
