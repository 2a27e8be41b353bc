"""Layer health: how each layer of the network trains (docs/instruments.md).

For every layer with parameters, in model order: the gradient norm, the weight norm,
the update-to-weight ratio ``‖Δw‖ / ‖w‖`` of one optimizer step, the fraction of dead
ReLU units (a unit whose output is 0 for every example of the batch; a conv layer's
units are its channels) and the mean and standard deviation of the layer's output.

One measurement covers one training step and costs nothing outside it:
:meth:`Health.arm` (called between two steps) copies the weights and registers forward
hooks on the layers; the next step's forward pass fills the activation figures, and
after that step :meth:`Health.measure` reads the gradients (as the optimizer used them:
after clipping and unscaling) and the update, removes the hooks, sends one ``health``
event and looks for trouble (:class:`Warnings`). Between measurements no hook is
registered: the trainer only looks at :attr:`Health.armed` after each step. A model
compiled with ``train.compile`` does not run Python forward hooks: its ``act_mean``,
``act_std`` and ``dead`` are null.

:class:`Cadence` keeps the instrument's own time at most ``BUDGET`` of the training
time: the next measurement waits at least ``EVERY_S``, and longer when the last one
cost more.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
from torch import nn

from tuidl.core.run import events as E

EVERY_S = 0.25  # at most four measurements a second (a 1-s run gets enough to warn)
BUDGET = 0.02  # ... and the instrument's time at most 2 % of the training time

# warnings (kinds of ``note`` events), each sent once, or again after it cleared
VANISH_RATIO = 1e-3  # first weight layer's gradient per weight / the last layer's
EXPLODE_RATIO = 1e3  # the same ratio, the other way round
EXPLODE_GROWTH = 100.0  # the whole gradient's norm / its norm at the session's first measurement
EXPLODE_NORM = 10.0  # ... and at least this large: a converged run's tiny gradients jitter by 1000× and are harmless
DEAD_FRACTION = 0.7  # dead ReLU units of one layer (shipped presets: at most 0.42 seen)
DEAD_MIN_UNITS = 4  # layers of fewer units are not judged
PERSIST = 3  # consecutive measurements a condition must hold before it is reported (exploding: at once)


class Cadence:
    """When an instrument runs next: at least ``every_s`` apart, and far enough apart
    that its own time stays at most ``budget`` of the time between runs."""

    def __init__(self, every_s: float, budget: float | None = None):
        self.every_s, self.budget = every_s, BUDGET if budget is None else budget
        self.next = -math.inf

    def due(self, now: float) -> bool:
        return now >= self.next

    def spent(self, now: float, seconds: float) -> None:
        self.next = now + max(self.every_s, seconds / self.budget)


@dataclass
class Layer:
    """One measured layer: its summary name and type, its parameters, the module whose
    output is the layer's output, and the ReLU whose zeros count its dead units."""

    index: int
    name: str
    kind: str
    params: list[nn.Parameter]
    output: nn.Module
    relu: Optional[nn.Module]
    weighted: bool  # has a weight matrix or kernel (not a norm layer's scale)
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = sum(p.numel() for p in self.params)


def relu_of(module: nn.Module) -> Optional[nn.Module]:
    """The ReLU that ends ``module`` (itself, the last of a Sequential, a residual
    block's body's), or None."""
    if isinstance(module, nn.ReLU):
        return module
    if isinstance(module, nn.Sequential) and len(module):
        return relu_of(module[-1])
    body = getattr(module, "body", None)
    return relu_of(body) if isinstance(body, nn.Module) else None


def layers_of(model: nn.Module, rows: list[Any]) -> list[Layer]:
    """The layers with trainable parameters, in model order. A built model is a
    Sequential with one module per summary row (names as the summary shows them); any
    other model is measured by its top-level children."""
    if isinstance(model, nn.Sequential) and len(rows) == len(model):
        named = [(r.index, r.name, r.kind, m) for r, m in zip(rows, model)]
    else:
        named = [(i, name, type(m).__name__.lower(), m) for i, (name, m) in enumerate(model.named_children())]
    modules = [m for *_, m in named]
    out = []
    for pos, (index, name, kind, module) in enumerate(named):
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            continue
        relu = relu_of(module)
        if relu is None and pos + 1 < len(modules) and isinstance(modules[pos + 1], nn.ReLU):
            relu = modules[pos + 1]  # a separate relu layer right after
        out.append(Layer(index, name, kind, params, module, relu, any(p.dim() >= 2 for p in params)))
    return out


def _norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t.detach().float()) for t in tensors]))


def _round(value: float) -> float:
    """Four significant digits (NaN and infinities stay as they are)."""
    return float(f"{value:.4g}")


def _measured(value: float) -> Optional[float]:
    """Four significant digits; NaN (not measured) as None."""
    return None if math.isnan(value) else _round(value)


class Health:
    """The layer-health instrument of one model: ``emit`` and ``note`` send events,
    ``lr()`` is the learning rate (for the warnings' words)."""

    def __init__(self, model: nn.Module, rows: list[Any], emit: Callable[..., Any], note: Callable[..., Any],
                 lr: Callable[[], float], every_s: float | None = None):
        self.layers = layers_of(model, rows)
        self.emit = emit
        self.cadence = Cadence(EVERY_S if every_s is None else every_s)
        self.warnings = Warnings(self.layers, note, lr)
        self.armed = False
        self.handles: list[Any] = []
        self.before: list[list[torch.Tensor]] = []
        self.acts: dict[int, torch.Tensor] = {}  # layer position -> [mean, std] of its output, on the device
        self.dead: dict[int, torch.Tensor] = {}  # layer position -> fraction of dead ReLU units, on the device
        self.spent = 0.0  # seconds of this measurement so far
        self.measurements = 0

    def arm(self) -> None:
        """Measure the next training step."""
        if self.armed or not self.layers:
            return
        t0 = time.perf_counter()
        self.armed = True
        self.acts, self.dead = {}, {}
        self.before = [[p.detach().clone() for p in layer.params] for layer in self.layers]
        for pos, layer in enumerate(self.layers):
            self.handles.append(layer.output.register_forward_hook(self._activation_hook(pos)))
            if layer.relu is not None:
                self.handles.append(layer.relu.register_forward_hook(self._dead_hook(pos)))
        self.spent = time.perf_counter() - t0

    def disarm(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles, self.before, self.armed = [], [], False

    def _activation_hook(self, pos: int) -> Callable:
        def hook(module: nn.Module, inputs: Any, out: Any) -> None:
            if module.training and isinstance(out, torch.Tensor):
                t0 = time.perf_counter()
                o = out.detach().float()
                self.acts[pos] = torch.stack([o.mean(), o.std() if o.numel() > 1 else o.new_zeros(())])
                self.spent += time.perf_counter() - t0
        return hook

    def _dead_hook(self, pos: int) -> Callable:
        def hook(module: nn.Module, inputs: Any, out: Any) -> None:
            if module.training and isinstance(out, torch.Tensor) and out.dim() >= 2:
                t0 = time.perf_counter()
                dims = [d for d in range(out.dim()) if d != 1]  # every example (and position) of each unit
                self.dead[pos] = 1.0 - (out.detach() != 0).any(dim=dims).float().mean()
                self.spent += time.perf_counter() - t0
        return hook

    def measure(self, epoch: int, step: int) -> None:
        """After the armed step (``epoch`` in progress, ``step`` done): read (one transfer
        from the device), send, look for trouble."""
        t0 = time.perf_counter()
        before, acts, dead = self.before, self.acts, self.dead
        self.disarm()
        self.acts, self.dead = {}, {}
        rows = []
        for pos, (layer, old) in enumerate(zip(self.layers, before)):
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in layer.params]
            weight = _norm(layer.params)
            update = _norm([p.detach() - o for p, o in zip(layer.params, old)]) / _norm(old)
            missing = weight.new_full((1,), math.nan)
            rows.append(torch.cat([torch.stack([_norm(grads), weight, update]),
                                   acts.get(pos, missing.expand(2)), dead.get(pos, missing[0]).reshape(1)]))
        figures = torch.stack(rows).cpu().tolist()
        layers = [self._row(layer, row) for layer, row in zip(self.layers, figures)]
        self.measurements += 1
        self.emit(E.HEALTH, epoch=epoch, step=step, layers=layers,
                  seconds=round(self.spent + time.perf_counter() - t0, 5))
        self.warnings.check(layers)
        self.spent += time.perf_counter() - t0

    @staticmethod
    def _row(layer: Layer, figures: list[float]) -> dict:
        grad, weight, update, mean, std, dead = figures
        return {"index": layer.index, "name": layer.name, "kind": layer.kind, "grad_norm": _round(grad),
                "weight_norm": _round(weight), "update_ratio": _measured(update), "dead": _measured(dead),
                "act_mean": _measured(mean), "act_std": _measured(std)}


class Warnings:
    """Plain-words ``note`` events (level ``warning``) about the measurements: kinds
    ``vanishing_gradients``, ``exploding_gradients`` and ``dead_units``. A condition is
    reported when it held for ``PERSIST`` measurements in a row (exploding gradients: at
    the first), and again only after a measurement where it did not hold."""

    def __init__(self, layers: list[Layer], note: Callable[..., Any], lr: Callable[[], float]):
        self.note, self.lr = note, lr
        self.sizes = {layer.index: layer.size for layer in layers}
        self.weighted = [layer.index for layer in layers if layer.weighted]
        self.units = {layer.index: _units(layer) for layer in layers}
        self.streak: dict[str, int] = {}
        self.first_total: Optional[float] = None

    def check(self, rows: list[dict]) -> None:
        dead = self._dead(rows)
        # dead units stop the gradient too: that is not the vanishing of a deep sigmoid stack
        vanishing = None if dead is not None else self._vanishing(rows)
        for kind, message, persist in (("vanishing_gradients", vanishing, PERSIST),
                                       ("exploding_gradients", self._exploding(rows), 1),
                                       ("dead_units", dead, PERSIST)):
            if message is None:
                self.streak[kind] = 0
                continue
            self.streak[kind] = self.streak.get(kind, 0) + 1
            if self.streak[kind] == persist:
                self.note(kind, message, level="warning")

    def _per_weight(self, rows: list[dict]) -> list[tuple[dict, float]]:
        """The weight layers' gradient norms per parameter (RMS): comparable across sizes."""
        by_index = {r["index"]: r for r in rows}
        out = []
        for index in self.weighted:
            g = by_index[index]["grad_norm"]
            out.append((by_index[index], g / math.sqrt(self.sizes[index])))
        return out

    def _depth_ratio(self, rows: list[dict]) -> Optional[tuple[dict, float, dict]]:
        """(first layer, its gradient per weight / the last layer's, last layer)."""
        per = self._per_weight(rows)
        if len(per) < 2 or not per[-1][1] > 0:
            return None
        (first, g0), (last, g1) = per[0], per[-1]
        return first, g0 / g1, last

    def _vanishing(self, rows: list[dict]) -> Optional[str]:
        found = self._depth_ratio(rows)
        if found is None or not found[1] < VANISH_RATIO:
            return None
        first, ratio, last = found
        return (f"gradients vanish in the first layers: {first['name']}'s gradient per weight is {ratio:.1g} of the "
                f"last layer's ({last['name']}), so the first layers barely learn — deep stacks of sigmoid or tanh "
                f"layers do this; try relu, batch normalization or fewer layers")

    def _exploding(self, rows: list[dict]) -> Optional[str]:
        grads = [r["grad_norm"] for r in rows]
        if not all(math.isfinite(g) for g in grads):
            if all(r["update_ratio"] == 0 for r in rows):
                return None  # fp16's loss scaler skipped this step: it lowers its scale and tries again
            return ("gradients explode: some gradients are no longer finite; lower the learning rate or clip "
                    "gradients (train.grad_clip)")
        total = math.sqrt(sum(g * g for g in grads))
        if self.first_total is None:
            self.first_total = total
        if self.first_total > 0 and total > EXPLODE_GROWTH * self.first_total and total > EXPLODE_NORM:
            return (f"gradients explode: their norm grew to {total:.3g}, {total / self.first_total:.0f}× what it was at "
                    f"the start; lower the learning rate or clip gradients (train.grad_clip)")
        found = self._depth_ratio(rows)
        if found is not None and found[1] > EXPLODE_RATIO:
            first, ratio, last = found
            return (f"gradients explode toward the input: {first['name']}'s gradient per weight is {ratio:.3g}× the "
                    f"last layer's ({last['name']}); lower the learning rate, clip gradients (train.grad_clip) or "
                    f"add batch normalization")
        return None

    def _dead(self, rows: list[dict]) -> Optional[str]:
        judged = [r for r in rows if r["dead"] is not None and self.units[r["index"]] >= DEAD_MIN_UNITS]
        worst = max(judged, key=lambda r: r["dead"], default=None)
        if worst is None or not worst["dead"] > DEAD_FRACTION:
            return None
        return (f"most units are dead: {worst['dead']:.0%} of {worst['name']}'s ReLU units output 0 for every example "
                f"— the learning rate {self.lr():.3g} is likely too high; lower it, or try leaky_relu")


def _units(layer: Layer) -> int:
    """How many units the layer's ReLU judges: the output size of its last weight."""
    weights = [p for p in layer.params if p.dim() >= 2]
    return weights[-1].shape[0] if weights else 0
