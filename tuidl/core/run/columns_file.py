"""Writing the columns cache (``events.jsonl.columns.npz``, tuidl.core.run.columns) with
the standard library alone: numpy's ``.npz`` format (a zip of ``.npy`` arrays, stored),
written by hand, so that the logging SDK keeps a finished run's cache without importing
numpy (0.35 s at the end of a script's ``finish()``). ``columns.save`` writes through here
too: one writer, one format; ``columns.cached`` reads it with ``numpy.load`` (no pickle).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

from tuidl.core.run import events as E

FORMAT = 1
CACHE_SUFFIX = ".columns.npz"
CACHE_MIN = E.COLUMNS_CACHE_MIN
_ORDER = "<" if sys.byteorder == "little" else ">"


def cache_path(events_path: str | os.PathLike) -> Path:
    p = Path(events_path)
    return p.with_name(p.name + CACHE_SUFFIX)


def stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    """A ``.npy`` file's header (format 1.0) for a C-ordered array: the magic, the
    length, the dict, padded to a multiple of 64 bytes with ``\\n`` last."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    pad = -(10 + len(text) + 1) % 64
    text = text + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin-1")


def save_parts(events_path: str | os.PathLike, offset: int, groups: dict[tuple, tuple],
               others: list[list[Any]], count: int) -> bool:
    """Keep a whole history as the events file's columns cache from its parts, as the
    logging SDK gathers them while it writes the file (``tuidl/sdk.py``): ``groups``, the
    plain metrics events by the names they logged, ``names -> (seq, steps, times,
    values)`` as ``array.array`` (``q``: their places among the ``count`` plain ones;
    ``d``: steps, times, and the values row after row); ``others``, every other event as
    ``[the number of plain ones before it, the event as read back]``, in order. Written
    only when the file is ``offset`` bytes long, ends with ``run_ended`` and holds at
    least :data:`CACHE_MIN` plain metrics events (as ``columns.save``). True when written."""
    events_path = Path(events_path)
    st = stamp(events_path)
    if st is None or st[0] != offset or count < CACHE_MIN:
        return False
    last = others[-1] if others else None
    if last is None or last[0] != count or type(last[1]) is not dict or last[1].get("type") != E.RUN_ENDED:
        return False
    arrays = []
    for names, (seq, steps, times, values) in groups.items():
        k = len(seq)
        if not names or not (len(steps) == len(times) == k and len(values) == k * len(names)):
            return False
        arrays.append(((f"{_ORDER}i8", (k,), seq), (f"{_ORDER}f8", (k,), steps), (f"{_ORDER}f8", (k,), times),
                       (f"{_ORDER}f8", (k, len(names)), values)))
    return write(events_path, st, list(groups), arrays, others, count)


def write(events_path: Path, st: tuple[int, int], names: list[tuple], arrays: list[tuple], others: list[list[Any]],
          n: int) -> bool:
    """The cache file: a JSON header (the format, the events file's size and mtime it
    stands for, ``n`` plain metrics events, the names of each group, the other events
    with their places) and each group's four arrays (``(descr, shape, buffer)``),
    written to a temporary file and moved in place, unless the events file changed
    meanwhile. True when written."""
    header = {"format": FORMAT, "size": st[0], "mtime_ns": st[1], "count": n,
              "names": [list(ns) for ns in names], "others": others}
    try:
        text = json.dumps(header, allow_nan=True).encode("utf-8")
    except (TypeError, ValueError):
        return False
    members = [("header", "|u1", (len(text),), text)]
    for g, group in enumerate(arrays):
        for key, (descr, shape, data) in zip(("seq", "steps", "times", "values"), group):
            members.append((f"{key}{g}", descr, shape, data))
    target = cache_path(events_path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # (readers in threads)
    try:
        with open(tmp, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
            for name, descr, shape, data in members:
                with z.open(name + ".npy", "w", force_zip64=True) as out:
                    out.write(npy_header(descr, shape))
                    view = memoryview(data)
                    if view.nbytes:  # (an empty view cannot be cast)
                        out.write(view.cast("B"))
        if stamp(events_path) != st:  # written to meanwhile
            os.unlink(tmp)
            return False
        os.replace(tmp, target)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True
