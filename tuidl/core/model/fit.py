"""Fit a model to its data, the way TensorFlow Playground keeps its network fitted to
the data it is shown.

Changing the dataset of a preset can leave a model that no longer fits: a dense layer
first on images, ten outputs for two classes, ``bce`` for a regression. :func:`fit_to_data`
makes the smallest change that fits the model again:

1. **The input end.** A flatten layer goes first when the data is not flat and the model
   starts with a dense layer; layers made for another input (convolutions, pooling and
   recurrent layers in front of the first dense or flatten layer) go when they cannot
   take the new input. As a last resort the layers become a small MLP.
2. **The output end.** The last dense layer (trailing activations, dropout and norms
   aside) gets as many units as the data needs: one per class (or 1 for ``bce`` on two
   classes), one per regression target; a model that does not end in a dense layer gets
   one.
3. **The loss** becomes ``auto`` when the one set no longer suits the data, and early
   stopping watches ``val_loss`` when its metric does not exist for the new task.

Pure Python, no torch: the dashboard calls it as you edit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from tuidl.core.data import catalog
from tuidl.core.model.layers import fmt_shape, infer, parse_layers
from tuidl.core.preset.preset import Preset, from_dict, output_problem, pick_loss, resolve, to_data
from tuidl.core.preset.schema import ConfigError

#: Layers that keep the shape they get: skipped when looking for the output layer.
SHAPE_KEEPING = {"dropout", "batch_norm", "layer_norm", "relu", "gelu", "tanh", "sigmoid", "leaky_relu", "silu"}
#: Layers made for a sequence or an image input.
SPATIAL = {"conv1d", "conv2d", "max_pool", "avg_pool", "global_avg_pool", "lstm", "gru", "residual"}
HIDDEN_UNITS = 32  # the small MLP of the last resort


@dataclass
class Fitted:
    """What :func:`fit_to_data` did: the fitted ``preset`` (None when the model could
    not be fitted, see ``problem``), the ``changes`` in words, and ``before``: why the
    model did not fit ("" when it did)."""

    preset: Preset | None
    changes: list[str] = field(default_factory=list)
    before: str = ""
    problem: str = ""

    @property
    def changed(self) -> bool:
        return self.preset is not None and bool(self.changes)


def model_problem(preset: Preset) -> str:
    """Why the model does not fit the data ("" when it does, or when the data itself
    cannot be read: that is not the model's fault)."""
    try:
        catalog.info(preset.data.dataset, preset.data.params)
    except (ConfigError, OSError, ValueError):
        return ""
    try:
        resolve(preset)
    except ConfigError as e:
        return "; ".join(str(p.message) for p in e.problems[:1]) or str(e)
    except (OSError, ValueError) as e:
        return str(e)
    return ""


def _stack_error(layers: list[dict], shape: tuple[int, ...]) -> str:
    """The first misfit of a layer stack (tables) on ``shape``, or ""."""
    problems: list = []
    parsed = parse_layers(copy.deepcopy(layers), "model.layers", problems, allow_empty=True)
    if problems:
        return str(problems[0])
    bad = infer(parsed, shape).errors
    return bad[0].error if bad else ""


def _out_shape(layers: list[dict], shape: tuple[int, ...]) -> tuple[int, ...] | None:
    problems: list = []
    parsed = parse_layers(copy.deepcopy(layers), "model.layers", problems, allow_empty=True)
    return infer(parsed, shape).output_shape if not problems else None


def _fit_input(layers: list[dict], shape: tuple[int, ...], changes: list[str]) -> list[dict]:
    """Layers that take ``shape`` (the output end aside), with what was done in ``changes``."""
    if not layers or not _stack_error(layers, shape):
        return layers
    flat = len(shape) == 1
    kinds = [layer.get("type") for layer in layers]
    trials: list[tuple[list[dict], str]] = []
    if not flat and kinds[0] == "dense":
        trials.append(([{"type": "flatten"}, *layers], f"a flatten layer first: the data is {fmt_shape(shape)}"))
    first_dense = next((i for i, k in enumerate(kinds) if k in ("dense", "flatten")), None)
    if first_dense and any(k in SPATIAL for k in kinds[:first_dense]):
        # the feature extractor made for another input goes; what reads its features
        # stays, if it still has a hidden dense layer (else the small MLP does better)
        rest = layers[first_dense:]
        if not flat and rest[0].get("type") == "dense":
            rest = [{"type": "flatten"}, *rest]
        if sum(layer.get("type") == "dense" for layer in rest) >= 2:
            trials.append((rest, f"removed the layers made for another input ({', '.join(kinds[:first_dense])})"))
    for trial, change in trials:
        if not _stack_error(trial, shape):
            changes.append(change)
            return trial
    return layers


def _needed_outputs(info: catalog.DataInfo, out: tuple[int, ...] | None, loss: str) -> int:
    if info.task == "regression":
        return info.targets
    if info.num_classes == 2 and loss in ("auto", "bce") and out == (1,):
        return 1
    return info.num_classes


def _fit_output(layers: list[dict], info: catalog.DataInfo, loss: str, changes: list[str]) -> list[dict]:
    """The last dense layer outputs what the data needs; one is added if there is none."""
    out = _out_shape(layers, info.input_shape)
    need = _needed_outputs(info, out, loss if loss in ("auto", "bce") else "auto")
    index = len(layers) - 1
    while index >= 0 and layers[index].get("type") in SHAPE_KEEPING:
        index -= 1
    layers = copy.deepcopy(layers)
    if index >= 0 and layers[index].get("type") == "dense":
        if out == (need,) and layers[index].get("units") == need:
            return layers
        before = layers[index].get("units")
        layers[index]["units"] = need
        what = f"{info.num_classes} classes" if info.task == "classification" else \
            f"{info.targets} regression target{'s' if info.targets != 1 else ''}"
        changes.append(f"the last dense layer (layer {index}) outputs {need} instead of {before}, for {what}")
        return layers
    if out is not None and len(out) > 1:
        layers.append({"type": "flatten"})
    layers.append({"type": "dense", "units": need})
    changes.append(f"a dense output layer of {need} units at the end")
    return layers


def _fit_loss(data: dict, info: catalog.DataInfo, changes: list[str]) -> None:
    train = data["train"]
    loss = train.get("loss", "auto")
    out = _out_shape(data["model"]["layers"], info.input_shape)
    if loss != "auto" and out is not None and output_problem(info, out, loss):
        train["loss"] = "auto"
        changes.append(f"loss {loss} → auto ({pick_loss(info, out, 'auto')} for this data)")
    es = train.get("early_stopping") or {}
    monitor = es.get("monitor", "val_loss")
    if (monitor == "val_acc" and info.task != "classification") or (monitor == "val_mae" and info.task != "regression"):
        es["monitor"] = "val_loss"
        changes.append(f"early stopping watches val_loss ({monitor} does not exist for {info.task})")


def _small_mlp(info: catalog.DataInfo) -> list[dict]:
    layers: list[dict] = [{"type": "flatten"}] if len(info.input_shape) > 1 else []
    layers.append({"type": "dense", "units": HIDDEN_UNITS, "activation": "relu"})
    layers.append({"type": "dense", "units": info.num_classes if info.task == "classification" else info.targets})
    return layers


def fit_to_data(preset: Preset) -> Fitted:
    """The preset with its model fitted to its data (see the module's doc). Never raises
    for a model that cannot be fitted: ``Fitted.problem`` says why."""
    before = model_problem(preset)
    if not before:
        return Fitted(preset, [], "")
    if preset.model.custom:
        return Fitted(None, [], before, "a custom model class is not fitted here: change it in its code")
    if preset.train.objective != "supervised":  # the decoder must draw the new input: the builder's work
        return Fitted(None, [], before, f"a {preset.train.objective} model outputs its input: change the "
                                        "decoder's last layers (and the reshape) in the builder for this data")
    try:
        info = catalog.info(preset.data.dataset, preset.data.params)
    except (ConfigError, OSError, ValueError) as e:
        return Fitted(None, [], before, f"the data cannot be read: {e}")
    data = to_data(preset)
    problem = "no simple change fits this model to the data"
    for last_resort in (False, True):
        changes: list[str] = []
        layers = data["model"]["layers"]
        if last_resort:
            layers = _small_mlp(info)
            changes.append(f"the layers made way for a small MLP ({len(layers)} layers): "
                           "the old ones could not take this data")
        else:
            layers = _fit_input(layers, info.input_shape, changes)
            if _stack_error(layers, info.input_shape):
                continue
        trial = copy.deepcopy(data)
        trial["model"]["layers"] = _fit_output(layers, info, trial["train"].get("loss", "auto"), changes)
        _fit_loss(trial, info, changes)
        try:
            fitted = from_dict(trial, preset.source)
            resolve(fitted)
        except ConfigError as e:
            problem = "; ".join(str(p) for p in e.problems[:1])
            continue
        return Fitted(fitted, changes, before)
    return Fitted(None, [], before, problem)


def data_signature(preset: Preset) -> tuple | None:
    """What the model depends on in the data: task, input shape, classes / targets
    (None when the data cannot be read)."""
    try:
        info = catalog.info(preset.data.dataset, preset.data.params)
    except (ConfigError, OSError, ValueError):
        return None
    return (info.task, tuple(info.input_shape), tuple(info.classes), info.targets)


__all__ = ["Fitted", "fit_to_data", "model_problem", "data_signature"]
