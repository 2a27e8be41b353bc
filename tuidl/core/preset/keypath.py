"""Key paths into a preset: ``train.optimizer.lr``, ``model.layers[0].units``.

The one place where key paths are parsed, printed, read and written: ``--set``
(:func:`tuidl.core.preset.preset.apply_override`), the schema's problem paths, the dashboard's
forms and panes all go through here.

* **In**: a list item is given either way, ``model.layers[0].units`` or
  ``model.layers.0.units`` (``--set`` has always taken the second). A key made of digits
  alone is an item number.
* **Out**: one canonical form, list items in brackets: ``model.layers[0].units``, as
  every problem names its key (:func:`format`, :func:`normalize`, :func:`join`).

:func:`get` reads a value from plain data (tables and lists) or from the preset's
dataclasses; :func:`set` writes one into plain data, making the tables on the way as
``--set`` does. A bad path raises :class:`KeyPathError` with a message that says where
the path goes wrong (an item number out of range, an unknown key, a value that is not a
table or a list). Pure Python: no torch, no UI.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Union

Part = Union[str, int]
Parts = tuple[Part, ...]

_SPECIAL = ".[]"


class KeyPathError(ValueError):
    """A key path that is not well formed, or that does not lead anywhere in the data."""


# ---------------------------------------------------------------------------
# Syntax


def parse(path: str) -> Parts:
    """``"model.layers[0].units"`` or ``"model.layers.0.units"`` → ``("model", "layers", 0, "units")``.

    Keys are separated by dots; a list item is ``[N]`` or a key of digits alone. Raises
    :class:`KeyPathError` for an empty path, an empty key (``a..b``, ``a.``), or a bracket
    that does not hold an item number (``a[x]``, ``a[1``)."""
    if not isinstance(path, str):
        raise KeyPathError(f"bad key path {path!r}: expected text")
    if not path:
        raise KeyPathError("bad key path '': it is empty")
    parts: list[Part] = []
    i, n = 0, len(path)
    expect_key = True  # at the start, or after a dot
    while i < n:
        ch = path[i]
        if ch == "[":
            if expect_key and parts:  # "a.[0]"
                raise KeyPathError(f"bad key path {path!r}: an empty key before '['")
            end = path.find("]", i)
            if end < 0:
                raise KeyPathError(f"bad key path {path!r}: '[' without ']'")
            index = path[i + 1:end]
            if not (index.isascii() and index.isdigit()):
                raise KeyPathError(f"bad key path {path!r}: expected an item number in [], got [{index}]")
            parts.append(int(index))
            i = end + 1
            expect_key = False
            if i < n and path[i] not in ".[":
                raise KeyPathError(f"bad key path {path!r}: expected '.' or '[' after [{index}]")
        elif ch == ".":
            if expect_key:
                raise KeyPathError(f"bad key path {path!r}: an empty key")
            i += 1
            expect_key = True
            if i == n:
                raise KeyPathError(f"bad key path {path!r}: it ends with '.'")
        elif ch == "]":
            raise KeyPathError(f"bad key path {path!r}: ']' without '['")
        else:
            if not expect_key:  # "a[0]b"
                raise KeyPathError(f"bad key path {path!r}: expected '.' before {path[i:]!r}")
            end = i
            while end < n and path[end] not in _SPECIAL:
                end += 1
            key = path[i:end]
            parts.append(int(key) if key.isascii() and key.isdigit() else key)
            i = end
            expect_key = False
    return tuple(parts)


def format(parts: Iterable[Part]) -> str:  # noqa: A001 - the module's verb: keypath.format
    """The canonical text of a path: keys joined by dots, list items in brackets
    (``("model", "layers", 0, "units")`` → ``"model.layers[0].units"``)."""
    out = ""
    for part in parts:
        out = join(out, part)
    return out


def join(path: str, key: Part) -> str:
    """``path`` one level down: ``join("model.layers", 0)`` → ``"model.layers[0]"``,
    ``join("train", "epochs")`` → ``"train.epochs"``."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def normalize(path: str) -> str:
    """``path`` in the canonical form (``model.layers.0.units`` → ``model.layers[0].units``)."""
    return format(parse(path))


def parent(path: str) -> str:
    """The path of the table or list that holds ``path`` (``""`` for a top-level key)."""
    return format(parse(path)[:-1])


def within(path: str | Parts, scope: str | Parts) -> bool:
    """Whether ``path`` is ``scope`` or lies inside it (``model.layers[0].units`` is
    within ``model.layers``, ``model.layers.0`` and itself; not within ``model.lay``)."""
    p = parse(path) if isinstance(path, str) else tuple(path)
    s = parse(scope) if isinstance(scope, str) else tuple(scope)
    return p[:len(s)] == s


# ---------------------------------------------------------------------------
# Reading and writing


def _what(node: Any) -> str:
    if isinstance(node, bool):
        return "true or false"
    if isinstance(node, int):
        return "an integer"
    if isinstance(node, float):
        return "a number"
    if isinstance(node, str):
        return "a string"
    return type(node).__name__


def _where(parts: Parts) -> str:
    return format(parts) or "the top level"


def _keys(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [str(k) for k in node]
    return [f.name for f in dataclasses.fields(node) if f.init]


def _step(node: Any, part: Part, at: Parts) -> Any:
    """``node``'s item or key ``part`` (``at`` is the path to ``node``, for messages)."""
    if isinstance(node, (list, tuple)):
        if not isinstance(part, int):
            raise KeyPathError(f"{_where(at)} is a list: expected an item number, got {part!r}")
        if part >= len(node):
            raise KeyPathError(f"{_where(at)} has no item {part} (it has {len(node)} "
                               f"item{'s' if len(node) != 1 else ''})")
        return node[part]
    if isinstance(node, dict) or (dataclasses.is_dataclass(node) and not isinstance(node, type)):
        key = str(part)
        keys = _keys(node)
        if key not in keys:
            raise KeyPathError(f"{_where(at)} has no key {key!r} (known keys here: "
                               f"{', '.join(sorted(keys)) or 'none'})")
        return node[key] if isinstance(node, dict) else getattr(node, key)
    raise KeyPathError(f"{_where(at)} is not a table or a list (it is {_what(node)})")


def get(root: Any, path: str | Parts) -> Any:
    """The value at ``path`` in ``root``: plain data (tables, lists) or dataclasses (the
    :class:`~tuidl.core.preset.preset.Preset` itself). Raises :class:`KeyPathError`."""
    parts = parse(path) if isinstance(path, str) else tuple(path)
    node = root
    for i, part in enumerate(parts):
        node = _step(node, part, parts[:i])
    return node


def set(root: dict, path: str | Parts, value: Any) -> None:  # noqa: A001 - keypath.set
    """Put ``value`` at ``path`` in plain data (as read from TOML). A missing table on the
    way is made, as ``--set`` does; a list item must exist already. Raises
    :class:`KeyPathError` for an item number out of range, a key into something that is
    not a table or a list, or a bad path."""
    parts = parse(path) if isinstance(path, str) else tuple(path)
    if not parts:
        raise KeyPathError("bad key path '': it is empty")
    node: Any = root
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, dict) and str(part) not in node:
            node[str(part)] = {}
        node = _step(node, part, parts[:i])
    last, at = parts[-1], parts[:-1]
    if isinstance(node, list):
        _step(node, last, at)  # the item must exist
        node[last] = value  # type: ignore[index]
    elif isinstance(node, dict):
        node[str(last)] = value
    else:
        raise KeyPathError(f"{_where(at)} is not a table or a list (it is {_what(node)})")


__all__ = ["KeyPathError", "Part", "Parts", "parse", "format", "join", "normalize", "parent", "within",
           "get", "set"]
