"""numpy stand-ins for the two per-dot loops of plotext 5's line drawing (issue 28).

plotext joins a line's points dot by dot (``_utility.get_lines``) and groups the dots into
braille / block characters (``_utility.hd_group``) in Python, some 15 µs a dot: ten noisy
lines of a compare overlay are ~35,000 dots, 0.4 s a draw on this machine. Decimating the
points cannot help: the dots are what is drawn (plotext already drops duplicates), and a
min-max reduction per dot column keeps every one of them.

:func:`install` replaces those two functions, in plotext's own module, with numpy versions
that give the same lists (the same dots, the same characters: a chart's text is unchanged,
``tests/unit/test_plotfast.py`` draws with both and compares), and hand any input they do
not handle (a point that is not an integer dot, a marker of another size in the same line)
to plotext's own. plotext is pinned below 6 (``pyproject.toml``); :func:`install` checks
that the functions it replaces exist and leaves plotext alone where they do not. No UI here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["get_lines", "hd_group", "install", "installed"]

_ORIG: dict[str, object] = {}


def _int_array(values) -> np.ndarray | None:
    """``values`` as a 1-D int64 array when every one is a Python int (plotext's dot
    coordinates), else None (a NaN, None, a float or a date string: plotext's own code)."""
    if not all(type(v) is int for v in values):
        return None
    return np.fromiter(values, dtype=np.int64, count=len(values))


def get_lines(x, y, *other):
    """plotext's ``get_lines``: the dots of the segments between consecutive points
    (``x[i], y[i]`` → ``x[i+1], y[i+1]``), each segment ``max(|dx|, |dy|) + 1`` dots
    spaced as plotext's ``linspace`` spaces them, its last dot left to the next segment;
    ``other`` (markers, colours, styles: one a point) repeated for each segment's dots."""
    orig = _ORIG["get_lines"]
    n = len(x)
    if n < 2 or len(y) != n:
        return orig(x, y, *other)
    xa, ya = _int_array(x), _int_array(y)
    if xa is None or ya is None or not other or any(len(o) != n for o in other):
        return orig(x, y, *other)
    x0, y0 = xa[:-1], ya[:-1]
    dx, dy = xa[1:] - x0, ya[1:] - y0
    a = np.maximum(np.abs(dx), np.abs(dy)) + 1  # dots of each segment, its end included
    counts = a - 1  # what each segment adds (its end is the next one's start)
    seg = np.repeat(np.arange(n - 1), counts)
    start = np.cumsum(counts) - counts
    k = (np.arange(seg.size) - np.repeat(start, counts)).astype(np.float64)
    # linspace(lower, upper, a) is lower + k * slope, slope = (upper - lower) / (a - 1), in floats
    div = np.maximum(a - 1, 1).astype(np.float64)
    sx = np.where(a > 1, dx / div, 0.0)[seg]
    sy = np.where(a > 1, dy / div, 0.0)[seg]
    xl = np.trunc(x0[seg].astype(np.float64) + k * sx).astype(np.int64).tolist()
    yl = np.trunc(y0[seg].astype(np.float64) + k * sy).astype(np.int64).tolist()
    xl.append(x[-1])
    yl.append(y[-1])
    rep = np.append(seg, n - 1).tolist()
    return [xl, yl] + [[o[i] for i in rep] for o in other]


def hd_group(x, y, xf, yf):
    """plotext's ``hd_group``: the dots ``x, y`` (one a point, each with its marker's
    factors ``xf × yf`` dots a character) grouped by character: each character's column,
    row and its dots as a tuple of 0/1, top row first."""
    orig = _ORIG["hd_group"]
    n = len(x)
    if n == 0 or len(y) != n or len(set(xf)) != 1 or len(set(yf)) != 1:
        return orig(x, y, xf, yf)
    xa, ya = _int_array(x), _int_array(y)
    if xa is None or ya is None:
        return orig(x, y, xf, yf)
    fx, fy = int(xf[0]), int(yf[0])
    cx, cy = xa // fx, ya // fy
    bit = (fy - 1 - ya % fy) * fx + xa % fx  # the tuple's order: rows top down, columns left to right
    key = (cx - cx.min()) * (int(cy.max() - cy.min()) + 1) + (cy - cy.min())
    _keys, first, inv = np.unique(key, return_index=True, return_inverse=True)
    masks = np.zeros(first.size, dtype=np.int64)
    np.bitwise_or.at(masks, inv.reshape(-1), np.left_shift(np.int64(1), bit))
    bits = (masks[:, None] >> np.arange(fx * fy, dtype=np.int64)) & 1
    return cx[first].tolist(), cy[first].tolist(), list(map(tuple, bits.tolist()))


def installed() -> bool:
    return bool(_ORIG)


def install(plotext_module) -> bool:
    """Put :func:`get_lines` and :func:`hd_group` in place of plotext's (once); False (and
    nothing changed) where this plotext lacks them."""
    if _ORIG:
        return True
    ut = getattr(plotext_module, "_utility", None)
    if ut is None or not all(callable(getattr(ut, name, None)) for name in ("get_lines", "hd_group")):
        return False
    _ORIG["get_lines"], _ORIG["hd_group"] = ut.get_lines, ut.hd_group
    ut.get_lines, ut.hd_group = get_lines, hd_group
    return True


def uninstall(plotext_module) -> None:
    """plotext's own functions back (tests compare the two)."""
    ut = plotext_module._utility
    if _ORIG:
        ut.get_lines, ut.hd_group = _ORIG.pop("get_lines"), _ORIG.pop("hd_group")
