"""A tuidl run as TensorBoard event files (``tuidl export RUN --format tensorboard``).

Written with ``torch.utils.tensorboard.SummaryWriter`` (it needs the tensorboard
package: ``tuidl[tensorboard]``). A logged run: every metric at its step and wall time,
the config as hparams text. A trainer run: each epoch's ``train/*`` and ``val/*``
metrics, the learning rate and samples/s at the epoch's number. No UI here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tuidl.core.run import report
from tuidl.core.run.rundir import RunDir
from tuidl.core.run.tbimport import require_tensorboard


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def export(run: RunDir, directory: Any = None) -> tuple[Path, int]:
    """Write the run's scalars as event files into ``directory`` (default
    ``RUN/tensorboard``). Returns the folder and the number of scalars written."""
    require_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    history = report.load_history(run)
    target = Path(directory) if directory else run.path / "tensorboard"
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    status = run.read_status()
    started = _float(status.get("started")) or 0.0
    writer = SummaryWriter(log_dir=str(target))
    try:
        if history.logged:
            scalars = history.scalars
            t0 = scalars.t0 if scalars.t0 is not None else started
            points = []  # by step, then in the order they came: a step's values lie together
            for order, name in enumerate(scalars.names):
                s = scalars[name]
                points += [(step, order, i, name, t, v) for i, (step, t, v)
                           in enumerate(zip(s.steps.tolist(), s.times.tolist(), s.values.tolist()))]
            points.sort(key=lambda p: (p[0], p[2], p[1]))
            for step, _, _, name, t, v in points:
                writer.add_scalar(name, v, int(step), walltime=t0 + t if math.isfinite(t) else None)
                written += 1
            config = scalars.config
        else:
            for epoch in sorted(history.epochs):
                ev = history.epochs[epoch]
                for split in ("train", "val"):
                    for name, v in (ev.get(split) or {}).items():
                        if _float(v) is not None:
                            writer.add_scalar(f"{split}/{name}", _float(v), int(epoch))
                            written += 1
                for key in ("lr", "samples_per_s"):
                    if _float(ev.get(key)) is not None:
                        writer.add_scalar(key, _float(ev[key]), int(epoch))
                        written += 1
            config = {}
        if config:
            writer.add_text("config", "```\n" + json.dumps(config, indent=1, default=str) + "\n```", 0)
    finally:
        writer.close()
    return target, written
