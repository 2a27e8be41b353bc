"""The one grammar of a value typed as text: ``--set key=VALUE``, a sweep's grid
(``--grid key=A,B``) and a field of the dashboard's forms all read values with it.

* **booleans**: ``true`` / ``false``, ``yes`` / ``no``, ``on`` / ``off``, in any case;
* **numbers**: as TOML and Python write them (``16``, ``1e-3``, ``1_000``); an integer
  setting takes a float with an integer value (``1e3``);
* **text**: as typed; quote it (``'"yes"'``) to keep a word above as text.

``--set`` does not know the type of the key it sets (the preset's own check does), so
:func:`parse_value` reads TOML syntax if it parses (numbers, booleans, lists, quoted
strings), else one of the boolean words, else the bare text. A form field knows its
type: :func:`parse_scalar` reads the text as that type, with the same words and numbers.
"""

from __future__ import annotations

import math
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

TRUE = ("true", "yes", "on")
FALSE = ("false", "no", "off")


def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML syntax if it parses (numbers, booleans, lists, quoted
    strings), else a boolean word, else the bare text as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        word = text.strip().lower()
        return True if word in TRUE else False if word in FALSE else text


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise ValueError("expected true or false (yes / no, on / off)")


def parse_int(text: str) -> int:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise ValueError("expected a whole number") from None
    if not math.isfinite(number) or not number.is_integer():
        raise ValueError("expected a whole number")
    return int(number)


def parse_float(text: str) -> float:
    try:
        number = float(text.strip())
    except ValueError:
        raise ValueError("expected a number") from None
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def parse_scalar(text: str, tp: Any) -> Any:
    """``text`` as a value of type ``tp`` (int, float, bool; anything else: the text,
    stripped); ValueError says what was expected."""
    if tp is int:
        return parse_int(text)
    if tp is float:
        return parse_float(text)
    if tp is bool:
        return parse_bool(text)
    return text.strip()
