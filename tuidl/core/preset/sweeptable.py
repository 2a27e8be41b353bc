"""A preset's ``[sweep]`` table on its own: the keys it varies and their grids or
ranges (:class:`Param`), parsed and checked without Optuna or torch. The preset checks
its table with it; ``tuidl.core.sweep.spec`` builds a whole sweep (flags or table) from
the same parsers.

Ranges (``--search`` and ``[sweep.search]``):

==========================  ===================================================
``log:LOW:HIGH``            a number, log-uniform (a learning rate); LOW > 0
``float:LOW:HIGH``          a number, uniform
``int:LOW:HIGH``            an integer, uniform (both ends included)
``choice:A,B,...``          one of the values (a TOML list in the preset)
==========================  ===================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from tuidl.core.preset import keypath
from tuidl.core.preset.keypath import KeyPathError
from tuidl.core.preset.schema import Problem
from tuidl.core.preset.values import parse_value

KINDS = ("log", "float", "int", "choice")
RANGE_HELP = "expected log:LOW:HIGH, float:LOW:HIGH, int:LOW:HIGH or choice:A,B,..."
#: keys a sweep cannot vary: the name goes into run ids, and a trial has no sweep of its own
FIXED = ("name", "sweep")


@dataclass(frozen=True)
class Param:
    """One key a sweep varies: a grid's values, or a search's range."""

    key: str  # canonical key path: model.layers[0].units
    kind: str  # "grid", or one of KINDS
    values: tuple = ()  # grid and choice
    low: float | int | None = None
    high: float | int | None = None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"key": self.key, "kind": self.kind}
        if self.values:
            out["values"] = list(self.values)
        if self.low is not None:
            out.update(low=self.low, high=self.high)
        return out

    @classmethod
    def from_json(cls, data: dict) -> "Param":
        return cls(data["key"], data["kind"], tuple(data.get("values") or ()), data.get("low"), data.get("high"))

    def text(self) -> str:
        """As typed on the command line (``log:0.0001:0.1``, ``1,2``)."""
        if self.kind == "grid":
            return ",".join(_show(v) for v in self.values)
        if self.kind == "choice":
            return "choice:" + ",".join(_show(v) for v in self.values)
        return f"{self.kind}:{_show(self.low)}:{_show(self.high)}"

    def bounds(self) -> tuple:
        """The values checked against the preset: every grid value or choice, a range's ends."""
        return self.values if self.kind in ("grid", "choice") else (self.low, self.high)


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _value(text: str) -> Any:
    """A value as ``--set`` reads it (:func:`tuidl.core.preset.values.parse_value`)."""
    return parse_value(text.strip())


def _number(text: str, integer: bool) -> float | int:
    text = text.strip()
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not {'an integer' if integer else 'a number'}") from None
    if not integer and not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_range(key: str, spec: Any) -> Param:
    """``log:1e-4:1e-1`` (or a list: a choice) as a :class:`Param`; ValueError says why not."""
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise ValueError("an empty choice: give at least one value")
        return Param(key, "choice", tuple(spec))
    if not isinstance(spec, str):
        raise ValueError(f"{RANGE_HELP}, got {spec!r}")
    kind, sep, rest = spec.partition(":")
    kind = kind.strip()
    if not sep or kind not in KINDS:
        raise ValueError(f"{RANGE_HELP}, got {spec!r}")
    if kind == "choice":
        values = tuple(_value(v) for v in rest.split(",") if v.strip())
        if not values:
            raise ValueError("an empty choice: give at least one value, e.g. choice:adam,sgd")
        return Param(key, "choice", values)
    ends = rest.split(":")
    if len(ends) != 2 or not all(e.strip() for e in ends):
        raise ValueError(f"expected {kind}:LOW:HIGH, got {spec!r}")
    low, high = (_number(e, kind == "int") for e in ends)
    if kind == "log" and (low <= 0 or high <= 0):
        raise ValueError(f"a log range needs bounds above 0, got {_show(low)}:{_show(high)}")
    if low >= high:
        raise ValueError(f"an empty range: LOW must be below HIGH, got {_show(low)}:{_show(high)}")
    return Param(key, kind, (), low, high)


def parse_grid(key: str, values: Any) -> Param:
    """``1e-3,3e-3`` (or a list) as a grid :class:`Param`; ValueError says why not."""
    if isinstance(values, str):
        values = [_value(v) for v in values.split(",") if v.strip()]
    if not isinstance(values, (list, tuple)):
        values = [values]
    if not values:
        raise ValueError("an empty grid: give at least one value, e.g. KEY=1,2")
    if len(set(map(repr, values))) != len(values):
        raise ValueError(f"a value is given twice: {', '.join(_show(v) for v in values)}")
    return Param(key, "grid", tuple(values))


def from_table(table: Any, path: str = "sweep") -> tuple[list[Param], list[Problem]]:
    """The preset's ``[sweep]`` table's grid and search as params, and its problems
    (``table``: the preset's :class:`~tuidl.core.preset.preset.Sweep`)."""
    params, problems = [], []
    for part, parse in (("grid", parse_grid), ("search", parse_range)):
        entries = getattr(table, part)
        if not isinstance(entries, dict):
            problems.append(Problem(f"{path}.{part}", "expected a table of KEY = ..., e.g. "
                                    + ('"train.optimizer.lr" = [1e-3, 1e-2]' if part == "grid" else
                                       '"train.optimizer.lr" = "log:1e-4:1e-1"')))
            continue
        for key, spec in entries.items():
            where = f'{path}.{part}."{key}"'
            try:
                params.append(parse(keypath.normalize(str(key)), spec))
            except ValueError as e:
                problems.append(Problem(where, str(e)))
    return params, problems


def shape_problems(params: list[Param], where: str = "sweep") -> list[str]:
    """Problems of the params together (a grid and a search mixed, a key twice)."""
    out = []
    kinds = {p.kind == "grid" for p in params}
    if len(kinds) > 1:
        out.append("give a grid or a search, not both (a grid runs every combination; a search picks trials)")
    keys = [p.key for p in params]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        out.append(f"{key} is given twice")
    return out


def key_problem(data: dict, param: Param, refused: Callable[[str, Any], list[Problem]]) -> str:
    """Why ``param`` cannot vary the preset ``data`` ('' if it can): an unknown key, a key
    that is not a value (a table), or a value the preset refuses (``refused(key, value)``:
    the problems of the preset with that value set)."""
    parts = keypath.parse(param.key)
    if str(parts[0]) in FIXED:
        return f"a sweep cannot vary {parts[0]!r}"
    try:
        current = keypath.get(data, parts)
    except KeyPathError as e:
        return f"unknown key: {e}"
    if isinstance(current, (dict, list)):
        return "not a single value (it is a table or a list): give a key inside it"
    for value in param.bounds():
        problems = refused(param.key, value)
        if problems:
            p = problems[0]
            return f"{_show(value)} is refused: {p.path + ': ' if p.path and p.path != param.key else ''}{p.message}"
    return ""


def check_table(table, path: str, problems: list[Problem]) -> None:
    """The preset's ``[sweep]`` on its own (the keys are checked against the preset by
    :func:`check_params`)."""
    params, found = from_table(table, path)
    problems.extend(found)
    for text in shape_problems(params):
        problems.append(Problem(path, text))


def check_params(data: dict, params: list[Param], refused: Callable[[str, Any], list[Problem]],
                 problems: list[Problem]) -> None:
    """The ``[sweep]`` table's ``params`` against the rest of the preset (``data``, without
    its sweep; ``refused``: as :func:`key_problem`)."""
    for param in params:
        why = key_problem(data, param, refused)
        if why:
            part = "grid" if param.kind == "grid" else "search"
            problems.append(Problem(f'sweep.{part}."{param.key}"', why))
