"""tuidl: a terminal workbench for training neural networks with PyTorch.

``import tuidl`` is light: it loads nothing until a name is used. The logging API
(``tuidl.init``, ``tuidl.log``, ``tuidl.finish``, ``tuidl.alert``, ``tuidl.config``, ``tuidl.Run``; see
``tuidl.sdk`` and docs/logging.md) imports only the standard library, so a training
script can ``import tuidl as wandb`` without loading Textual or plotext (and without
tuidl importing PyTorch itself).
"""

from __future__ import annotations

__all__ = ["init", "log", "finish", "alert", "AlertLevel", "config", "summary", "run", "Run"]


def __getattr__(name: str) -> object:
    if name in ("init", "log", "finish", "alert", "AlertLevel", "config", "Run"):
        from tuidl import sdk

        return getattr(sdk, name)
    if name in ("run", "summary"):  # the current run (None before init), its summary
        from tuidl import sdk

        run = sdk._active
        return run if name == "run" else (run.summary if run is not None else None)
    raise AttributeError(f"module 'tuidl' has no attribute {name!r}")
