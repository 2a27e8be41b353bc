"""A user's own ``nn.Module``, named by ``model.custom = "module:Class"`` and allowed on
the command line with ``--allow-code``."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Iterator

import torch
from torch import nn

from tuidl.core.preset import preset as P
from tuidl.core.preset.schema import ConfigError


@contextlib.contextmanager
def _cwd_importable() -> Iterator[None]:
    """The working directory on ``sys.path`` while the user's module is imported, and
    off it again afterwards (unless it was there before), so the rest of the process
    does not import from wherever it happened to start."""
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if added:
            try:
                sys.path.remove(cwd)
            except ValueError:
                pass


def custom_model(ref: str, allowed: tuple[str, ...], info, resolved: P.Resolved) -> nn.Module:
    """A user's own ``nn.Module`` named by ``model.custom = "module:Class"``. A preset
    alone never runs code: the same name must be given on the command line with
    ``--allow-code``. The module is imported from the working directory (or anywhere on
    ``sys.path``); the working directory is on the path only while it is imported, so a
    module that imports a sibling of its own later, at run time, should do it at the
    top. The class is called as ``Class(input_shape, outputs)``; its output shape and
    parameters are checked with one forward pass before training."""
    from tuidl.core.model.layers import Row
    from tuidl.core.model.model import count_params

    P.check_code(resolved.preset, allowed)
    module_name, _, class_name = ref.partition(":")
    try:
        with _cwd_importable():
            cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"model.custom: cannot import {ref!r}: {e}") from None
    outputs = info.num_classes if info.task == "classification" else info.targets
    if resolved.loss == "bce":
        outputs = 1
    try:
        model = cls(tuple(info.input_shape), outputs)
        with torch.no_grad():
            out = model.eval()(torch.zeros(2, *info.input_shape))
        model.train()
    except Exception as e:  # noqa: BLE001 - the user's code: report, don't crash
        raise ConfigError(f"model.custom: {ref}(input_shape={tuple(info.input_shape)}, outputs={outputs}) "
                          f"failed: {type(e).__name__}: {e}") from None
    shape = tuple(out.shape[1:])
    problem = P.output_problem(info, shape, resolved.loss)
    if problem:
        raise ConfigError(f"model.custom: {problem}")
    trainable, frozen = count_params(model)
    resolved.summary.rows = [Row(0, class_name, "custom", tuple(info.input_shape), shape, trainable, frozen)]
    return model
