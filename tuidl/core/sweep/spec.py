"""What a sweep varies: ``--grid KEY=V1,V2``, ``--search KEY=log:LOW:HIGH`` and the
preset's ``[sweep]`` table, parsed into one :class:`SweepSpec` and checked against the
preset.

Every problem is a :class:`~tuidl.core.preset.schema.ConfigError` that names the key (and the
flag or the table it came from): an unknown key, an empty grid or range, a log range
whose bounds are not above 0, a value the preset itself refuses (each grid value and each
bound of a range is set into the preset and validated, as ``--set`` would). Pure Python:
no Optuna, no torch (the dashboard can check a sweep as it is typed).

Ranges (``--search`` and ``[sweep.search]``):

==========================  ===================================================
``log:LOW:HIGH``            a number, log-uniform (a learning rate); LOW > 0
``float:LOW:HIGH``          a number, uniform
``int:LOW:HIGH``            an integer, uniform (both ends included)
``choice:A,B,...``          one of the values (a TOML list in the preset)
==========================  ===================================================
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from tuidl.core.preset import keypath
from tuidl.core.preset.keypath import KeyPathError
from tuidl.core.preset.schema import ConfigError, Problem
from tuidl.core.run.units import higher_is_better

KINDS = ("log", "float", "int", "choice")
RANGE_HELP = "expected log:LOW:HIGH, float:LOW:HIGH, int:LOW:HIGH or choice:A,B,..."
METRICS = {m: "maximize" if higher_is_better(m) else "minimize" for m in ("val_loss", "val_acc", "val_mae")}
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


@dataclass
class SweepSpec:
    """A whole sweep: a grid (every combination) or a search (``trials`` picked by
    Optuna's TPE), ranked by ``metric`` at each epoch's end."""

    params: list[Param]
    trials: int = 20
    parallel: int = 1
    metric: str = "val_loss"
    prune: bool = True
    startup_trials: int = 5
    warmup_epochs: int = 1

    @property
    def mode(self) -> str:
        return "grid" if self.params and self.params[0].kind == "grid" else "search"

    @property
    def direction(self) -> str:
        return METRICS[self.metric]

    @property
    def size(self) -> int:
        """Trials in all: a grid's combinations, else ``trials``."""
        if self.mode == "grid":
            return math.prod(len(p.values) for p in self.params)
        return self.trials

    def grid(self) -> list[dict]:
        """A grid's combinations, in order (each a {key: value})."""
        keys = [p.key for p in self.params]
        return [dict(zip(keys, combo)) for combo in itertools.product(*(p.values for p in self.params))]

    def to_json(self) -> dict:
        return {"params": [p.to_json() for p in self.params], "trials": self.trials, "parallel": self.parallel,
                "metric": self.metric, "prune": self.prune, "startup_trials": self.startup_trials,
                "warmup_epochs": self.warmup_epochs}

    @classmethod
    def from_json(cls, data: dict) -> "SweepSpec":
        return cls([Param.from_json(p) for p in data["params"]], **{k: v for k, v in data.items() if k != "params"})


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _value(text: str) -> Any:
    """A value as ``--set`` reads it (TOML: numbers, booleans, quoted strings; else text)."""
    from tuidl.core.preset.preset import parse_value

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


def _assignment(flag: str, text: str) -> tuple[str, str]:
    if "=" not in text:
        raise ConfigError([Problem("", "expected KEY=VALUES, e.g. train.optimizer.lr=1e-3,1e-2", f"{flag} {text}")])
    key, _, rest = text.partition("=")
    return key.strip(), rest


def from_flags(grid: list[str], search: list[str]) -> tuple[list[Param], list[str]]:
    """``--grid`` / ``--search`` flags as params (and each one's source, for messages)."""
    params, sources = [], []
    for flag, items in (("--grid", grid), ("--search", search)):
        for text in items:
            key, rest = _assignment(flag, text)
            source = f"{flag} {text}"
            try:
                key = keypath.normalize(key)
                params.append(parse_grid(key, rest) if flag == "--grid" else parse_range(key, rest))
            except ValueError as e:  # KeyPathError too
                raise ConfigError([Problem(key, str(e), source)]) from None
            sources.append(source)
    return params, sources


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


def base_data(preset) -> dict:
    """The preset as plain data, without its sweep: what each trial varies."""
    from tuidl.core.preset.preset import to_data

    data = to_data(preset)
    data.pop("sweep", None)
    return data


def key_problem(data: dict, param: Param, preset) -> str:
    """Why ``param`` cannot vary this preset ('' if it can): an unknown key, a key that is
    not a value (a table), or a value the preset refuses."""
    from tuidl.core.preset.preset import edit

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
        done = edit(preset, {param.key: value}, base=data)
        if done.problems:
            p = done.problems[0]
            return f"{_show(value)} is refused: {p.path + ': ' if p.path and p.path != param.key else ''}{p.message}"
    return ""


def check(preset, params: list[Param], sources: list[str] | None = None) -> None:
    """Raise ConfigError naming the key (and its flag) of the first problem of ``params``
    on ``preset``."""
    problems = []
    for text in shape_problems(params):
        problems.append(Problem("", text, "tuidl sweep"))
    data = base_data(preset)
    for i, param in enumerate(params):
        why = key_problem(data, param, preset)
        if why:
            source = sources[i] if sources else f"{preset.source or 'preset'}: sweep"
            problems.append(Problem(param.key, why, source))
    if problems:
        raise ConfigError(problems)


def build(preset, grid: list[str] = (), search: list[str] = (), trials: int | None = None,
          parallel: int | None = None, metric: str | None = None, prune: bool | None = None) -> SweepSpec:
    """The sweep of ``tuidl sweep``: the flags' params if any are given, else the preset's
    ``[sweep]`` table's; the numbers from the flags, else the table. Checked against the
    preset (ConfigError naming the key)."""
    table = preset.sweep
    params, sources = from_flags(list(grid), list(search))
    if not params:
        params, problems = from_table(table)
        if problems:
            raise ConfigError(problems).with_source(preset.source)
        sources = None
    if not params:
        raise ConfigError("nothing to sweep: give --grid KEY=V1,V2 or --search KEY=log:LOW:HIGH (or a [sweep] "
                          "table in the preset; see docs/sweeps.md)")
    spec = SweepSpec(params, trials=trials if trials is not None else table.trials,
                     parallel=parallel if parallel is not None else table.parallel,
                     metric=metric or table.metric, prune=table.prune if prune is None else prune,
                     startup_trials=table.startup_trials, warmup_epochs=table.warmup_epochs)
    if spec.trials < 1:
        raise ConfigError([Problem("", f"must be at least 1, got {spec.trials}", "--trials")])
    if spec.parallel < 1:
        raise ConfigError([Problem("", f"must be at least 1, got {spec.parallel}", "--parallel")])
    if spec.metric not in METRICS:
        raise ConfigError([Problem("", f"expected one of {', '.join(METRICS)}, got {spec.metric!r}", "--metric")])
    if preset.data.split.val <= 0:
        raise ConfigError([Problem("data.split.val", f"a sweep ranks trials by {spec.metric} at each epoch: it "
                                   "needs a validation split > 0", preset.source)])
    check(preset, params, sources)
    return spec


def trial_preset(preset, values: dict[str, Any]):
    """The preset of one trial: ``values`` ({key: value}) set, the sweep table left out.
    ConfigError if the preset refuses the combination (a shape that no longer fits)."""
    from tuidl.core.preset.preset import edit, resolve

    done = edit(preset, values, base=base_data(preset))
    if done.problems:
        raise ConfigError(done.problems)
    resolve(done.preset)
    return done.preset


def check_table(table, path: str, problems: list[Problem]) -> None:
    """The preset's ``[sweep]`` on its own (the keys are checked against the preset by
    :func:`check_preset`)."""
    params, found = from_table(table, path)
    problems.extend(found)
    for text in shape_problems(params):
        problems.append(Problem(path, text))


def check_preset(preset, problems: list[Problem]) -> None:
    """The ``[sweep]`` table's keys and values against the rest of the preset."""
    params, found = from_table(preset.sweep)
    if found or not params:
        return
    data = base_data(preset)
    for param in params:
        why = key_problem(data, param, preset)
        if why:
            part = "grid" if param.kind == "grid" else "search"
            problems.append(Problem(f'sweep.{part}."{param.key}"', why))
