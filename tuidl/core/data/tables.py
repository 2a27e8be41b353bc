"""Reading user tables: CSV files and NumPy ``.npz`` archives (numpy and the stdlib only).

Both readers return features as float32 ``x`` and the target ``y``:

* classification: ``labels`` is the sorted list of class names (strings; integer labels
  sort by value) and ``y`` holds class indices (int64, ``(N,)``);
* regression: ``labels`` is ``None`` and ``y`` is float32 ``(N,)`` or ``(N, k)``.

With ``task="auto"`` integer or text labels mean classification and floating-point
labels mean regression. A bad file raises :class:`ConfigError` whose key path is
``data.params.<key>`` and whose message names the file and the row or column.
"""

from __future__ import annotations

import csv
import math
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from tuidl.core.preset.schema import ConfigError, Problem

TASKS = ("auto", "classification", "regression")
_MAX_SHOWN = 12


def _err(key: str, message: str) -> ConfigError:
    return ConfigError([Problem(f"data.params.{key}", message)])


def _names(names: Sequence[str]) -> str:
    shown = [repr(n) for n in list(names)[:_MAX_SHOWN]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def parse_float(text: str) -> float | None:
    """``float(text)``, or None when it is not a number."""
    try:
        return float(text)
    except ValueError:
        return None


def _parse_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise _err("task", f"expected one of {', '.join(TASKS)}, got {task!r}")


# ---------------------------------------------------------------------------
# Labels

def _classes_from_text(values: list[str]) -> tuple[np.ndarray, list[str]]:
    """Class indices and sorted names for text labels; integer labels sort by value."""
    ints = [_parse_int(v) for v in values]
    if all(i is not None for i in ints):
        uniq = sorted(set(ints))  # type: ignore[type-var]
        index = {v: i for i, v in enumerate(uniq)}
        return np.array([index[v] for v in ints], dtype=np.int64), [str(v) for v in uniq]
    floats = [parse_float(v) for v in values]
    if all(f is not None for f in floats):
        # Numeric but not integer: one class per distinct number, ordered by value.
        first: dict[float, str] = {}
        for f, v in zip(floats, values):
            first.setdefault(f, v)  # type: ignore[arg-type]
        uniq_f = sorted(first)
        index_f = {v: i for i, v in enumerate(uniq_f)}
        return (np.array([index_f[f] for f in floats], dtype=np.int64),  # type: ignore[index]
                [first[f] for f in uniq_f])
    uniq_s = sorted(set(values))
    index_s = {v: i for i, v in enumerate(uniq_s)}
    return np.array([index_s[v] for v in values], dtype=np.int64), uniq_s


def _classes_from_array(y: np.ndarray) -> tuple[np.ndarray, list[str]]:
    uniq, inverse = np.unique(y, return_inverse=True)
    if y.dtype.kind == "f":
        names = [str(int(v)) if float(v).is_integer() else format(float(v), "g") for v in uniq]
    elif y.dtype.kind == "S":
        names = [v.decode("utf-8", "replace") for v in uniq]
    else:
        names = [str(v) for v in uniq.tolist()]
    return inverse.reshape(-1).astype(np.int64), names


# ---------------------------------------------------------------------------
# CSV

def read_rows(path: Path, key: str | None = "path", limit: int | None = None) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a CSV file as ``(line number, stripped cells)``, the first
    ``limit`` of them if given; the delimiter is a comma, else (no comma in the first
    line) a tab or a semicolon. A file that cannot be read raises :class:`ConfigError`
    naming it (under ``data.params.<key>``; ``key=None``: the message alone, for files
    that are not a preset's)."""
    def fail(message: str) -> ConfigError:
        return _err(key, message) if key else ConfigError(message)

    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            delimiter = ","
            for line in f:
                if line.strip():
                    if "," not in line:
                        delimiter = "\t" if "\t" in line else ";" if ";" in line else ","
                    break
            f.seek(0)
            reader = csv.reader(f, delimiter=delimiter)
            rows = []
            for row in reader:
                cells = [c.strip() for c in row]
                if not any(cells):
                    continue  # blank line
                rows.append((reader.line_num, cells))
                if limit is not None and len(rows) >= limit:
                    break
            return rows
    except UnicodeDecodeError:
        raise fail(f"{path}: not a text CSV file (not UTF-8)") from None
    except csv.Error as e:
        raise fail(f"{path}: not a readable CSV file: {e}") from None
    except OSError as e:
        raise fail(f"cannot read {path}: {e.strerror or e}") from None


def read_csv(path: str | Path, label: str = "", task: str = "auto"
             ) -> tuple[np.ndarray, np.ndarray, list[str] | None, list[str]]:
    """Read a CSV file: ``(x, y, labels_or_None, feature_column_names)``.

    The first row is a header unless every cell in it is a number (then the columns are
    named ``"0"``, ``"1"``, ...). ``label`` names the label column; empty means the last
    column. Every other column is a feature and must hold finite numbers.
    """
    _check_task(task)
    path = Path(path)
    rows = read_rows(path)
    if not rows:
        raise _err("path", f"{path} is empty")
    first_line, first = rows[0]
    has_header = not all(parse_float(c) is not None for c in first)
    if has_header:
        columns = first
        data = rows[1:]
        if len(set(columns)) != len(columns):
            dup = sorted({c for c in columns if columns.count(c) > 1})
            raise _err("path", f"{path}: the header names column(s) {_names(dup)} more than once")
    else:
        columns = [str(i) for i in range(len(first))]
        data = rows
    if len(columns) < 2:
        raise _err("path", f"{path} has {len(columns)} column; need at least one feature column "
                           "and a label column")
    if not data:
        raise _err("path", f"{path} has a header but no data rows")
    if label:
        if label not in columns:
            raise _err("label", f"{path} has no column {label!r} (columns: {_names(columns)})")
        li = columns.index(label)
    else:
        li = len(columns) - 1
    width = len(columns)
    for line, cells in data:
        if len(cells) != width:
            raise _err("path", f"{path}: line {line} has {len(cells)} fields, expected {width} "
                               f"(as in {'the header' if has_header else 'line ' + str(first_line)})")
    feature_idx = [i for i in range(width) if i != li]
    names = [columns[i] for i in feature_idx]
    x = np.empty((len(data), len(feature_idx)), dtype=np.float32)
    for r, (line, cells) in enumerate(data):
        for c, i in enumerate(feature_idx):
            text = cells[i]
            v = parse_float(text)
            if v is None or not math.isfinite(v):
                what = "an empty cell" if text == "" else f"{text!r}"
                raise _err("path", f"{path}: line {line}, column {columns[i]!r}: {what} is not "
                                   f"{'a finite number' if v is not None else 'a number'}")
            x[r, c] = v
    raw = [cells[li] for _, cells in data]
    lines = [line for line, _ in data]
    for line, v in zip(lines, raw):
        if v == "":
            raise _err("label", f"{path}: line {line}: the label column {columns[li]!r} is empty")
    if task == "auto":
        is_float = all(parse_float(v) is not None for v in raw)
        is_int = all(_parse_int(v) is not None for v in raw)
        task = "classification" if is_int or not is_float else "regression"
    if task == "classification":
        y, labels = _classes_from_text(raw)
        return x, y, labels, names
    y = np.empty(len(raw), dtype=np.float32)
    for r, (line, v) in enumerate(zip(lines, raw)):
        f = parse_float(v)
        if f is None or not math.isfinite(f):
            raise _err("label", f"{path}: line {line}, label column {columns[li]!r}: {v!r} is not a "
                                "finite number (the task is regression)")
        y[r] = f
    return x, y, None, names


# ---------------------------------------------------------------------------
# NPZ

def read_npz(path: str | Path, features_key: str = "x", label_key: str = "y", task: str = "auto"
             ) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Read features ``features_key`` and labels ``label_key`` from a ``.npz`` archive:
    ``(x, y, labels_or_None)``. Features must be numeric, with the samples along axis 0."""
    _check_task(task)
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except OSError as e:
        raise _err("path", f"cannot read {path}: {e.strerror or e}") from None
    except (ValueError, zipfile.BadZipFile) as e:
        raise _err("path", f"{path} is not a NumPy .npz archive ({e})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _err("path", f"{path} holds a single array; expected a .npz archive with "
                           f"arrays {features_key!r} and {label_key!r} (save one with np.savez)")
    with archive:
        keys = list(archive.files)
        for key, name in ((features_key, "features"), (label_key, "label")):
            if key not in keys:
                raise _err(name, f"{path} has no array {key!r} (arrays: {_names(keys) or 'none'})")
        try:
            x_raw = archive[features_key]
            y_raw = archive[label_key]
        except ValueError as e:  # object arrays need pickle
            raise _err("path", f"{path}: cannot read the arrays without pickle ({e}); "
                               "save plain numeric arrays") from None
        except (OSError, zipfile.BadZipFile, EOFError) as e:
            raise _err("path", f"{path}: damaged archive ({e})") from None
    if x_raw.dtype.kind not in "biuf":
        raise _err("features", f"{path}: array {features_key!r} has dtype {x_raw.dtype}, "
                               "expected numbers")
    if x_raw.ndim == 0 or len(x_raw) == 0:
        raise _err("features", f"{path}: array {features_key!r} has no samples (shape {x_raw.shape})")
    x = x_raw.astype(np.float32)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise _err("features", f"{path}: array {features_key!r} holds a non-finite value at "
                               f"index {tuple(int(i) for i in bad)}")
    if y_raw.ndim == 0 or len(y_raw) != len(x):
        raise _err("label", f"{path}: array {label_key!r} has shape {y_raw.shape} but "
                            f"{features_key!r} has {len(x)} samples")
    kind = y_raw.dtype.kind
    if kind not in "biufUS":
        raise _err("label", f"{path}: array {label_key!r} has dtype {y_raw.dtype}, "
                            "expected numbers or text")
    if task == "auto":
        task = "regression" if kind == "f" else "classification"
    if task == "classification":
        y = y_raw
        if y.ndim > 1:
            if int(np.prod(y.shape[1:])) != 1:
                raise _err("label", f"{path}: class labels {label_key!r} must be one per sample, "
                                    f"got shape {y_raw.shape}")
            y = y.reshape(len(y))
        if kind == "f" and not np.isfinite(y).all():
            raise _err("label", f"{path}: array {label_key!r} holds a non-finite label at index "
                                f"{int(np.argwhere(~np.isfinite(y))[0][0])}")
        y_idx, labels = _classes_from_array(y)
        return x, y_idx, labels
    if kind in "US":
        raise _err("label", f"{path}: array {label_key!r} holds text, which cannot be a "
                            "regression target (set data.params.task to classification)")
    y_f = y_raw.astype(np.float32)
    if not np.isfinite(y_f).all():
        bad = np.argwhere(~np.isfinite(y_f))[0]
        raise _err("label", f"{path}: array {label_key!r} holds a non-finite value at index "
                            f"{tuple(int(i) for i in bad)}")
    return x, y_f, None
