"""What the integration modules share: the one-line answer to a missing extra."""

from __future__ import annotations

import importlib
from types import ModuleType


def need(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module`` or end the program with one line naming the pip command (a
    ``SystemExit``: no traceback)."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        if err.name is not None and err.name.split(".")[0] != module.split(".")[0]:
            raise  # the framework is there but broken: its own error says more
        raise SystemExit(f"error: {what} needs {module.split('.')[0]}: pip install 'tuidl[{extra}]'") from None
