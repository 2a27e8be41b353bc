"""Lab results kept with a run: ``RUN/lab/<name>.json``, the event object of a result
computed from the run's checkpoint after it ended (``tuidl landscape RUN``). Plain files,
no PyTorch: the dashboard and ``tuidl export`` read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tuidl.core.run import events as E
from tuidl.core.run.rundir import RunDir, write_atomic
from tuidl.core.numbers import number


def path(run: RunDir, name: str) -> Path:
    return run.path / "lab" / f"{name}.json"


def save(run: RunDir, name: str, ev: dict[str, Any]) -> Path:
    target = path(run, name)
    target.parent.mkdir(exist_ok=True)
    write_atomic(target, (E.dumps(ev) + "\n").encode())
    return target


def saved(run: RunDir, name: str) -> dict[str, Any] | None:
    """The result kept in the run's ``lab/`` folder, or None (none, or unreadable)."""
    try:
        ev = json.loads(path(run, name).read_text())
    except (OSError, ValueError):
        return None
    return ev if isinstance(ev, dict) else None


def newest(*results: dict[str, Any] | None) -> dict[str, Any] | None:
    """Of results of one kind (the run's event, one kept, one just computed), the latest."""
    found = [ev for ev in results if isinstance(ev, dict)]
    if not found:
        return None

    def when(ev: dict) -> float:
        try:
            return number(ev.get("time"))
        except (TypeError, ValueError):
            return 0.0
    return max(found, key=when)
