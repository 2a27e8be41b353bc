"""What a sweep varies: ``--grid KEY=V1,V2``, ``--search KEY=log:LOW:HIGH`` and the
preset's ``[sweep]`` table, parsed into one :class:`SweepSpec` and checked against the
preset.

Every problem is a :class:`~tuidl.core.preset.schema.ConfigError` that names the key (and the
flag or the table it came from): an unknown key, an empty grid or range, a log range
whose bounds are not above 0, a value the preset itself refuses (each grid value and each
bound of a range is set into the preset and validated, as ``--set`` would). Pure Python:
no Optuna, no torch (the dashboard can check a sweep as it is typed).

The grids and ranges themselves (``log:LOW:HIGH``, ``choice:A,B``...) are parsed by
``tuidl.core.preset.sweeptable``, which the preset's own ``[sweep]`` check uses too.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from tuidl.core.preset import keypath
from tuidl.core.preset import preset as P
from tuidl.core.preset.schema import ConfigError, Problem
from tuidl.core.preset.sweeptable import Param, from_table, key_problem, parse_grid, parse_range, shape_problems
from tuidl.core.run.units import higher_is_better

METRICS = {m: "maximize" if higher_is_better(m) else "minimize" for m in ("val_loss", "val_acc", "val_mae")}


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


def base_data(preset) -> dict:
    """The preset as plain data, without its sweep: what each trial varies."""
    return P.sweep_base(preset)


def check(preset, params: list[Param], sources: list[str] | None = None) -> None:
    """Raise ConfigError naming the key (and its flag) of the first problem of ``params``
    on ``preset``."""
    problems = []
    for text in shape_problems(params):
        problems.append(Problem("", text, "tuidl sweep"))
    data = base_data(preset)
    for i, param in enumerate(params):
        why = key_problem(data, param, P.refusal(preset, data))
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
    done = P.edit(preset, values, base=base_data(preset))
    if done.problems:
        raise ConfigError(done.problems)
    P.resolve(done.preset)
    return done.preset
