"""Numbers read from events, status files and readings: the one set of converters.

An event's field may be a float, an int, ``"nan"`` / ``"inf"`` text (JSON has no NaN:
``docs/events.md``), None (missing) or, in a damaged file, anything at all. Readers
never raise on such a value:

* :func:`number`: a metric as a float (``"nan"`` text included, None → NaN); raises
  ``ValueError`` / ``TypeError`` for anything else, for readers that count what they
  cannot take;
* :func:`to_float`: any value as a float, NaN (or ``default``) when it is not a number;
* :func:`to_int`: any value as an int (truncated), ``default`` when it is not a finite number;
* :func:`finite`: a finite float, or None (missing, NaN, infinite, a boolean, junk): a
  reading to show, or not.

Pure Python, no imports from tuidl.
"""

from __future__ import annotations

import math
from typing import Any, Optional


def number(value: Any) -> float:
    """A metric from an event as a float (``"nan"``/``"inf"`` strings included)."""
    if isinstance(value, str):
        return float(value)
    return float("nan") if value is None else float(value)


def to_float(value: Any, default: float = math.nan) -> float:
    """``value`` as a float; ``default`` (NaN) for what is not a number."""
    try:
        return number(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def to_int(value: Any, default: int = 0) -> int:
    """``value`` as an int (a float truncated); ``default`` for what is not a finite number."""
    f = to_float(value)
    return int(f) if math.isfinite(f) else default


def finite(value: Any) -> Optional[float]:
    """``value`` as a finite float, or None (missing, NaN, infinite, a boolean, junk)."""
    if isinstance(value, bool):
        return None
    f = to_float(value)
    return f if math.isfinite(f) else None
