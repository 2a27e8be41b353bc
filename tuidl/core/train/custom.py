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

from tuidl.core.model.layers import Row, Summary
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


def _shape(size) -> tuple[int, ...] | None:
    """A module's output size as torchinfo saw it, less the batch axis; None when it is
    not one tensor's (a tuple of tensors, an LSTM's (output, state))."""
    if isinstance(size, (list, tuple)) and len(size) > 1 and all(isinstance(n, int) for n in size):
        return tuple(size[1:])
    return None


def summarize(model: nn.Module, input_shape: tuple[int, ...], name: str) -> Summary:
    """A custom model's summary, as torchinfo reads it from one forward pass of two zero
    samples: every module that ran, in that order, named by its attribute path and
    indented by depth (``net.1``), with its output shape and its own parameters (those
    of its children are on their rows, so the rows add up to the totals). The model's
    own parameters that no child holds are a last row, ``Class (own parameters)``."""
    import torchinfo

    with torch.no_grad():
        stats = torchinfo.summary(model, input_data=torch.zeros(2, *input_shape), depth=100, verbose=0,
                                  mode="eval", device="cpu")
    model.train()
    top, rows = stats.summary_list[0], []
    for layer in stats.summary_list[1:]:
        path, up = [layer.var_name], layer.parent_info
        while up is not None and up.depth > 0:
            path.insert(0, up.var_name)
            up = up.parent_info
        trainable, own = layer.leftover_trainable_params(), layer.leftover_params()
        rows.append(Row(len(rows), "  " * (layer.depth - 1) + ".".join(path), layer.class_name,
                        _shape(layer.input_size) or (), _shape(layer.output_size), trainable, own - trainable))
    trainable, own = top.leftover_trainable_params(), top.leftover_params()
    if own:
        rows.append(Row(len(rows), top.class_name, "own parameters", tuple(input_shape), None, trainable,
                        own - trainable))
    return Summary(name, tuple(input_shape), rows, output=_shape(top.output_size))


def custom_model(ref: str, allowed: tuple[str, ...], info, resolved: P.Resolved) -> nn.Module:
    """A user's own ``nn.Module`` named by ``model.custom = "module:Class"``. A preset
    alone never runs code: the same name must be given on the command line with
    ``--allow-code``. The module is imported from the working directory (or anywhere on
    ``sys.path``); the working directory is on the path only while it is imported, so a
    module that imports a sibling of its own later, at run time, should do it at the
    top. The class is called as ``Class(input_shape, outputs)``; its output shape is
    checked with one forward pass before training, and ``resolved.summary`` becomes its
    real summary (:func:`summarize`)."""
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
    try:
        summary = summarize(model, tuple(info.input_shape), resolved.summary.name)
    except Exception as e:  # noqa: BLE001 - the user's code, run again under torchinfo's hooks
        raise ConfigError(f"model.custom: {ref}: its summary failed: {type(e).__name__}: {e}") from None
    resolved.summary.rows, resolved.summary.output = summary.rows, shape
    return model


def real_summary(resolved: P.Resolved, allowed: tuple[str, ...]) -> P.Resolved:
    """``resolved`` with the real summary of its model: a custom model is built (the
    command line must allow its code: ConfigError otherwise) and its modules listed; a
    layer stack's summary is real already."""
    if resolved.preset.model.custom:
        custom_model(resolved.preset.model.custom, tuple(allowed), resolved.info, resolved)
    return resolved
