"""Typed, validated configuration: plain dataclasses read from untrusted dicts.

Every dataclass field can carry metadata that the reader enforces:

* ``min`` / ``max``: inclusive numeric bounds;
* ``gt`` / ``lt``: exclusive numeric bounds;
* ``choices``: the allowed values;
* ``help``: one line for documentation and the UI.

:func:`violations` is the one check of a value against those rules: :func:`read` uses it
(each problem ends ``, got VALUE``), and so do the dashboard's forms
(:func:`tuidl.ui.widgets.form.check_value`, the same message without the value).

:func:`read` builds a dataclass from a dict and collects *every* problem it finds,
each with its key path, into a :class:`ConfigError`. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import MISSING, dataclass, field
from typing import Any, Union

from tuidl.core.preset.keypath import join


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration, at one key path."""

    path: str
    message: str
    source: str = ""

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        key = f"{self.path}: " if self.path else ""
        return f"{where}{key}{self.message}"

    @property
    def brief(self) -> str:
        """Without the file: for a preset edited in the dashboard, which is no longer what
        the file says. An override (``--set key=value``) is still named."""
        where = f"{self.source}: " if self.source.startswith("--set ") else ""
        key = f"{self.path}: " if self.path else ""
        return f"{where}{key}{self.message}"


class ConfigError(Exception):
    """A configuration was rejected. Carries every problem found, each with its path."""

    def __init__(self, problems: list[Problem] | Problem | str, source: str = ""):
        if isinstance(problems, str):
            problems = [Problem("", problems, source)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = [
            p if p.source or not source else dataclasses.replace(p, source=source) for p in problems
        ]
        super().__init__("\n".join(str(p) for p in self.problems))

    def with_source(self, source: str) -> "ConfigError":
        return ConfigError(
            [p if p.source else dataclasses.replace(p, source=source) for p in self.problems]
        )

    def brief(self) -> str:
        """Every problem, without the file (see :attr:`Problem.brief`), on one line."""
        return "; ".join(p.brief for p in self.problems)


def opt(default: Any = MISSING, *, help: str = "", factory: Any = MISSING, **checks: Any) -> Any:
    """A dataclass field with a help line and checks (min, max, gt, lt, choices)."""
    meta = {"help": help, **checks}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return " or ".join(type_name(a) for a in args)
    if origin is list:
        (inner,) = typing.get_args(tp) or (Any,)
        return f"a list of {type_name(inner)}"
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def describe(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "table"}
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{kind.get(type(value), type(value).__name__)} {text}"


def _coerce(value: Any, tp: Any, path: str, problems: list[Problem]) -> Any:
    """Check ``value`` against the annotation ``tp``; return the value to store."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            trial: list[Problem] = []
            out = _coerce(value, arg, path, trial)
            if not trial:
                return out
        problems.append(Problem(path, f"expected {type_name(tp)}, got {describe(value)}"))
        return MISSING
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value in allowed and type(value) in {type(a) for a in allowed}:
            return value
        problems.append(
            Problem(path, f"expected one of {', '.join(repr(a) for a in allowed)}, got {value!r}")
        )
        return MISSING
    if origin is list:
        (inner,) = typing.get_args(tp) or (Any,)
        if not isinstance(value, (list, tuple)):
            problems.append(Problem(path, f"expected {type_name(tp)}, got {describe(value)}"))
            return MISSING
        return [_coerce(v, inner, join(path, i), problems) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        return read(tp, value, path, problems)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif isinstance(value, tp):
        return value
    problems.append(Problem(path, f"expected {type_name(tp)}, got {describe(value)}"))
    return MISSING


@dataclass(frozen=True)
class Violation:
    """A value that breaks one of a field's rules (``min``, ``max``, ``gt``, ``lt``,
    ``choices``, finite numbers)."""

    index: int | None  # the list item at fault, for a list value
    message: str  # what is wrong, e.g. "must be at least 1"
    value: Any  # the value (or list item) at fault

    def __str__(self) -> str:
        return f"{self.message}, got {self.value!r}"


def violations(value: Any, checks: dict) -> list[Violation]:
    """Every rule in ``checks`` (a field's metadata) that ``value`` breaks; a list is
    checked item by item. ``None`` and items already rejected by type are skipped."""
    if value is None or value is MISSING:
        return []
    items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    out: list[Violation] = []
    for i, v in items:
        if v is None or v is MISSING:
            continue
        if "choices" in checks and v not in checks["choices"]:
            out.append(Violation(i, "expected one of " + ", ".join(repr(c) for c in checks["choices"]), v))
            continue
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        if v != v or v in (float("inf"), float("-inf")):
            out.append(Violation(i, "expected a finite number", v))
            continue
        if "min" in checks and v < checks["min"]:
            out.append(Violation(i, f"must be at least {checks['min']}", v))
        if "max" in checks and v > checks["max"]:
            out.append(Violation(i, f"must be at most {checks['max']:,}", v))
        if "gt" in checks and not v > checks["gt"]:
            out.append(Violation(i, f"must be greater than {checks['gt']}", v))
        if "lt" in checks and not v < checks["lt"]:
            out.append(Violation(i, f"must be less than {checks['lt']}", v))
    return out


def _check(value: Any, meta: dict, path: str, problems: list[Problem]) -> None:
    for v in violations(value, meta):
        problems.append(Problem(path if v.index is None else join(path, v.index), str(v)))


def read(cls: type, data: Any, path: str = "", problems: list[Problem] | None = None) -> Any:
    """Build ``cls`` from ``data``; raise :class:`ConfigError` if ``problems`` is not given."""
    own = problems is None
    problems = [] if own else problems
    if not isinstance(data, dict):
        problems.append(Problem(path, f"expected a table, got {describe(data)}"))
        if own:
            raise ConfigError(problems)
        return MISSING
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            problems.append(Problem(join(path, key), f"unknown key (known keys here: {known})"))
    kwargs: dict[str, Any] = {}
    before = len(problems)
    for name, f in fields.items():
        where = join(path, name)
        if name in data:
            value = _coerce(data[name], hints[name], where, problems)
            _check(value, dict(f.metadata), where, problems)
            if value is not MISSING:
                kwargs[name] = value
        elif f.default is MISSING and f.default_factory is MISSING:  # type: ignore[misc]
            problems.append(Problem(where, f"missing; expected {type_name(hints[name])}"))
    result: Any = MISSING
    if len(problems) == before:
        result = cls(**kwargs)
        validate = getattr(result, "validate", None)
        if validate is not None:
            validate(path, problems)
    if own and problems:
        raise ConfigError(problems)
    return result


def to_dict(obj: Any) -> Any:
    """A dataclass tree as plain TOML-ready data (``None`` values are dropped)."""
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in dataclasses.fields(obj):
            value = to_dict(getattr(obj, f.name))
            if value is not None:
                out[f.name] = value
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items() if v is not None}
    return obj


def help_of(cls: type, name: str) -> str:
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f.metadata.get("help", "")
    return ""


def checks_of(cls: type, name: str) -> dict:
    for f in dataclasses.fields(cls):
        if f.name == name:
            return {k: v for k, v in f.metadata.items() if k != "help"}
    return {}
