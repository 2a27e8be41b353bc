"""The one grammar of a value typed as text: ``--set key=VALUE``, a sweep's grid
(``--grid key=A,B``) and a field of the dashboard's forms all read values with it.

Untyped (``--set``, where only the preset's own check knows the key's type):
:func:`parse_value` reads TOML syntax if it parses (numbers, ``true`` / ``false``, lists,
quoted strings), else the bare text as a string.
"""

from __future__ import annotations

from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML syntax if it parses (numbers, booleans, lists, quoted
    strings), else the bare text as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
