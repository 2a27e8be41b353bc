"""The neuron view: what every hidden unit computes over the input plane, as
TensorFlow Playground draws its network (docs/instruments.md).

For a 2-D Playground dataset and a model of dense layers (with activations, dropout
and normalisation between them), on an n×n grid over the plane the boundary is drawn
on (:func:`~tuidl.core.train.visuals.plane_inputs`): each input feature's value, each
hidden unit's output (after its layer's activation, normalisation and dropout, in
evaluation mode), the output as the boundary shows it
(:func:`~tuidl.core.train.visuals.plane_values`), and every dense layer's weights,
sent as one ``neurons`` event. Models the view does not fit (convolutions, recurrent
layers, residual blocks, a custom model, data that are not 2-D points) get none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
from torch import nn

from tuidl.core.run import events as E
from tuidl.core.train.health import Cadence
from tuidl.core.train.visuals import plane_inputs, plane_values, rounded

EVERY_S = 1.0  # at most one a second (and one after the last epoch)
GRID = 16  # grid points per side (a unit is drawn in about 8×4 terminal cells)
MAX_UNITS = 64  # hidden units in all: more would not fit a terminal (nor a small event)
BETWEEN = ("dropout", "batch_norm", "layer_norm", "relu", "gelu", "tanh", "sigmoid", "silu", "leaky_relu")


@dataclass
class Group:
    """A dense layer and the layers after it up to the next dense layer: its units'
    outputs are the last of these layers' outputs."""

    name: str
    linear: nn.Linear
    activation: Optional[str]
    modules: list[nn.Module] = field(default_factory=list)


def groups_of(model: nn.Module, specs: list[Any], rows: list[Any]) -> Optional[list[Group]]:
    """The model as dense groups, or None when the view does not fit it (the first layer
    is not dense, a layer is neither dense nor in ``BETWEEN``, more than ``MAX_UNITS``
    hidden units, or the model is not the Sequential built from ``specs``)."""
    if not isinstance(model, nn.Sequential) or len(model) != len(specs) or not specs or specs[0].kind != "dense":
        return None
    groups: list[Group] = []
    for spec, row, module in zip(specs, rows, model):
        if spec.kind == "dense":
            linear = module if isinstance(module, nn.Linear) else module[0]
            activation = spec.activation if spec.activation != "none" else None
            groups.append(Group(row.name, linear, activation, [module]))
        elif spec.kind in BETWEEN:
            groups[-1].modules.append(module)
            if spec.kind not in ("dropout", "batch_norm", "layer_norm") and groups[-1].activation is None:
                groups[-1].activation = spec.kind
        else:
            return None
    if sum(g.linear.out_features for g in groups[:-1]) > MAX_UNITS:
        return None
    return groups


def _maps(values: torch.Tensor, n: int) -> list[list[list[float]]]:
    """Columns of ``(n * n, k)`` values as k n×n nested lists, 3 decimals."""
    arr = rounded(values, 3)
    return [arr[:, j].reshape(n, n).tolist() for j in range(arr.shape[1])]


class Neurons:
    """The neuron-view instrument of one run (``groups`` from :func:`groups_of`)."""

    def __init__(self, groups: list[Group], model: nn.Module, data: Any, features: list[str], task: str,
                 loss_kind: str, device: torch.device, emit: Callable[..., Any], size: int = GRID,
                 every_s: float | None = None):
        self.groups, self.model, self.data, self.features = groups, model, data, list(features)
        self.task, self.loss_kind, self.device, self.emit, self.size = task, loss_kind, device, emit, size
        self.cadence = Cadence(EVERY_S if every_s is None else every_s)

    def fields(self) -> dict[str, Any]:
        """The event's fields (all but ``epoch`` and ``step``)."""
        n = self.size
        x = plane_inputs(self.data, self.features, n, self.device)
        inputs = [{"name": name, "values": grid, "min": round(float(col.min()), 3), "max": round(float(col.max()), 3)}
                  for name, grid, col in zip(self.features, _maps(x, n), x.T)]
        layers = []
        training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                h = x
                for group in self.groups:
                    for module in group.modules:
                        h = module(h)
                    layers.append({"name": group.name, "activation": group.activation, "units": [
                        {"values": grid, "min": round(float(col.min()), 3), "max": round(float(col.max()), 3)}
                        for grid, col in zip(_maps(h, n), h.T)]})
                output = _maps(plane_values(h, self.task, self.loss_kind)[:, None], n)[0]
                weights = [rounded(g.linear.weight, 3).tolist() for g in self.groups]
                biases = [rounded(g.linear.bias, 3).tolist() if g.linear.bias is not None else None
                          for g in self.groups]
        finally:
            self.model.train(training)
        xmin, xmax, ymin, ymax = self.data.raw_extent
        return {"extent": [xmin, xmax, ymin, ymax], "size": n, "inputs": inputs, "layers": layers[:-1],
                "weights": weights, "biases": biases, "output": {"values": output, "name": layers[-1]["name"]}}

    def __call__(self, now: float, epoch: int, step: int) -> None:
        t0 = time.perf_counter()
        fields = self.fields()
        self.emit(E.NEURONS, epoch=epoch, step=step, **fields, seconds=round(time.perf_counter() - t0, 5))
        self.cadence.spent(now, time.perf_counter() - t0)
