"""What a built-in preset, trained as shipped, reaches: the test figure's median and range
over seeds, as ``bench/accuracy.py`` measured it and wrote it to ``presets/reference.json``
(the one source: the descriptions state the same figures, and
``tests/functional/test_reference_results.py`` ties the two together).

A run gets its preset's range in its ``run_started`` event (``reference``) when its preset
is a built-in one as shipped: everything equal but the seed (the range is over seeds), the
device and how often it checkpoints. Its test figure is then placed below, within or above
that range (:func:`place`)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pathlib import Path

from tuidl.core.numbers import to_float

#: Written by bench/accuracy.py. (The preset module is imported only where a preset is
#: compared: RunView places a test figure without it.)
FILE = Path(__file__).resolve().parents[2] / "presets" / "reference.json"

#: What may differ from the shipped preset for its range to still apply.
IGNORED = (("seed",), ("train", "device"), ("train", "checkpoint_every"), ("train", "instruments"))

#: The test metrics a range can be of: a classifier's accuracy, a regression's loss.
METRICS = ("acc", "loss")


@lru_cache(maxsize=1)
def _table() -> dict[str, dict]:
    try:
        data = json.loads(FILE.read_text())
    except (OSError, ValueError):
        return {}
    presets = data.get("presets") if isinstance(data, dict) else None
    return presets if isinstance(presets, dict) else {}


def valid(ref: Any) -> dict | None:
    """A range as ``{metric, median, low, high, seeds}``, or None when it is not one (an
    event's field is data from elsewhere)."""
    if not isinstance(ref, dict) or ref.get("metric") not in METRICS:
        return None
    nums = [to_float(ref.get(k)) for k in ("median", "low", "high")]
    seeds = to_float(ref.get("seeds"))
    if not all(math.isfinite(v) for v in nums + [seeds]) or not nums[1] <= nums[0] <= nums[2] or seeds < 1:
        return None
    return {"metric": ref["metric"], "median": nums[0], "low": nums[1], "high": nums[2], "seeds": int(seeds)}


def of_name(name: str) -> dict | None:
    """The range measured for the built-in preset ``name`` (None if there is none)."""
    return valid(_table().get(name))


def _comparable(preset: Any) -> dict:
    from tuidl.core.preset import preset as P

    data = P.to_data(preset)
    for path in IGNORED:
        node = data
        for key in path[:-1]:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return data


def for_preset(preset: Any) -> dict | None:
    """The range of a :class:`~tuidl.core.preset.preset.Preset` if it is a built-in preset
    as shipped (but for the seed, the device, checkpointing and instruments), else None."""
    from tuidl.core.preset import preset as P

    ref = of_name(preset.name)
    if ref is None or preset.name not in P.builtin_names():
        return None
    try:
        shipped = P.load(preset.name)
    except Exception:  # a damaged built-in file: no claim to hold the run against
        return None
    return ref if _comparable(shipped) == _comparable(preset) else None


@dataclass(frozen=True)
class Placement:
    """A test figure against a range: ``where`` is ``"below"``, ``"within"`` or
    ``"above"`` (for a loss, below the range is better)."""
    metric: str
    value: float
    median: float
    low: float
    high: float
    seeds: int
    where: str


def place(ref: Any, metrics: Any) -> Placement | None:
    """Where a test event's ``metrics`` fall against a range (None when the range is not
    valid or the metric is missing)."""
    ref = valid(ref)
    if ref is None or not isinstance(metrics, dict):
        return None
    value = to_float(metrics.get(ref["metric"]))
    if not math.isfinite(value):
        return None
    where = "below" if value < ref["low"] else "above" if value > ref["high"] else "within"
    return Placement(ref["metric"], value, ref["median"], ref["low"], ref["high"], ref["seeds"], where)
