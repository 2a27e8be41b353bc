"""Layer health (tuidl/core/train/health.py) on hand-built models: the figures against
torch's own computation, dead units, the layers it measures, the cadence, the warnings.
Training runs with the instrument on are in tests/functional/test_live_instruments.py."""

import math

import pytest
import torch
from torch import nn

from tuidl.core.model import layers as L
from tuidl.core.model.model import build
from tuidl.core.train.health import Cadence, Health, Warnings, layers_of

SPECS = [{"type": "dense", "units": 6, "activation": "relu"}, {"type": "dense", "units": 5},
         {"type": "relu"}, {"type": "dropout", "rate": 0.0}, {"type": "dense", "units": 3, "activation": "tanh"}]


def model_and_rows(specs=SPECS, shape=(4,)):
    problems = []
    layers = L.parse_layers(specs, "model.layers", problems)
    assert not problems
    torch.manual_seed(0)
    return build(layers, shape), L.infer(layers, shape).rows


class Sink:
    def __init__(self):
        self.events, self.notes = [], []

    def emit(self, type_, **fields):
        self.events.append({"type": type_, **fields})

    def note(self, kind, message, level="info", **extra):
        self.notes.append((kind, level, message))


def measured_step(model, rows, x, y, lr=0.1):
    """One SGD step measured by Health; returns (event, weights before, grads)."""
    sink = Sink()
    health = Health(model, rows, sink.emit, sink.note, lambda: lr)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    before = [p.detach().clone() for p in model.parameters()]
    health.arm()
    loss = nn.functional.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    opt.step()
    health.measure(epoch=1, step=7)
    return sink.events[-1], before, grads, health


def test_figures_equal_torchs_own():
    model, rows = model_and_rows()
    x, y = torch.randn(32, 4), torch.randn(32, 3)
    ev, before, grads, health = measured_step(model, rows, x, y)
    assert ev["type"] == "health" and ev["epoch"] == 1 and ev["step"] == 7
    assert [layer["name"] for layer in ev["layers"]] == ["dense_1", "dense_2", "dense_3"]
    assert [layer["index"] for layer in ev["layers"]] == [0, 1, 4]
    params = list(model.parameters())
    with torch.no_grad():  # each layer's output, as the trained forward pass saw it (weights before the step)
        copy = [p.detach().clone() for p in params]
        for p, b in zip(params, before):
            p.copy_(b)
        h1 = model[0](x)
        h2 = model[1](h1)
        out = model[4](model[3](model[2](h2)))
        for p, c in zip(params, copy):
            p.copy_(c)
    outputs = [h1, h2, out]
    for k, layer in enumerate(ev["layers"]):
        w, b = params[2 * k], params[2 * k + 1]
        g = torch.cat([grads[2 * k].flatten(), grads[2 * k + 1].flatten()])
        old = torch.cat([before[2 * k].flatten(), before[2 * k + 1].flatten()])
        new = torch.cat([w.detach().flatten(), b.detach().flatten()])
        assert layer["grad_norm"] == pytest.approx(g.norm().item(), rel=1e-3)
        assert layer["weight_norm"] == pytest.approx(new.norm().item(), rel=1e-3)
        assert layer["update_ratio"] == pytest.approx(((new - old).norm() / old.norm()).item(), rel=1e-3)
        assert layer["act_mean"] == pytest.approx(outputs[k].mean().item(), rel=1e-3, abs=1e-6)
        assert layer["act_std"] == pytest.approx(outputs[k].std().item(), rel=1e-3)
    # dense_1 ends with its own relu, dense_2 has a relu layer after it, dense_3 has tanh: no dead figure
    assert ev["layers"][0]["dead"] == pytest.approx(1 - (h1 != 0).any(dim=0).float().mean().item())
    assert ev["layers"][1]["dead"] == pytest.approx(1 - (h2 > 0).any(dim=0).float().mean().item())
    assert ev["layers"][2]["dead"] is None
    # everything it hooked is gone
    assert not health.armed and all(not m._forward_hooks for m in model.modules())


def test_a_layer_forced_dead_reads_dead_1():
    model, rows = model_and_rows()
    with torch.no_grad():
        model[0][0].bias.fill_(-100.0)  # dense_1's pre-activation is negative for every example
    ev, *_ = measured_step(model, rows, torch.randn(16, 4), torch.randn(16, 3))
    assert ev["layers"][0]["dead"] == 1.0 and ev["layers"][0]["act_mean"] == 0.0
    assert ev["layers"][0]["grad_norm"] == 0.0  # nothing flows back through dead units


def test_conv_units_are_channels_and_norm_layers_are_measured():
    specs = [{"type": "conv1d", "filters": 4, "kernel_size": 3, "activation": "relu"}, {"type": "batch_norm"},
             {"type": "flatten"}, {"type": "dense", "units": 2}]
    model, rows = model_and_rows(specs, (1, 10))
    found = layers_of(model, rows)
    assert [(la.name, la.kind, la.relu is not None, la.weighted) for la in found] == [
        ("conv1d_1", "conv1d", True, True), ("batch_norm_1", "batch_norm", False, False),
        ("dense_1", "dense", False, True)]
    with torch.no_grad():
        model[0][0].bias[:2] = -100.0  # two channels of four dead everywhere
        model[0][0].bias[2:] = 100.0
    ev, *_ = measured_step(model, rows, torch.randn(8, 1, 10), torch.randn(8, 2))
    assert ev["layers"][0]["dead"] == 0.5


def test_no_hooks_between_measurements():
    model, rows = model_and_rows()
    sink = Sink()
    health = Health(model, rows, sink.emit, sink.note, lambda: 0.1)
    assert all(not m._forward_hooks for m in model.modules())
    health.arm()
    assert sum(len(m._forward_hooks) for m in model.modules()) == 3 + 2  # 3 outputs, 2 relus
    health.measure(1, 1)  # a step without a forward pass: activations not seen are null
    assert sink.events[-1]["layers"][0]["act_mean"] is None and sink.events[-1]["layers"][0]["dead"] is None
    assert all(not m._forward_hooks for m in model.modules())


def test_cadence_keeps_the_cost_within_the_budget():
    c = Cadence(0.5, budget=0.02)
    assert c.due(0.0)
    c.spent(10.0, 0.001)
    assert not c.due(10.4) and c.due(10.5)
    c.spent(20.0, 0.05)  # an expensive measurement: wait 0.05 / 0.02 = 2.5 s
    assert not c.due(22.4) and c.due(22.5)


def rows_of(grads, dead=None, names=("dense_1", "dense_2", "dense_3")):
    return [{"index": i, "name": n, "kind": "dense", "grad_norm": g, "weight_norm": 1.0, "update_ratio": 0.01,
             "dead": None if dead is None else dead[i], "act_mean": 0.0, "act_std": 1.0}
            for i, (n, g) in enumerate(zip(names, grads))]


def warnings_for(specs=None):
    model, rows = model_and_rows(specs or [{"type": "dense", "units": 8, "activation": "relu"},
                                           {"type": "dense", "units": 8, "activation": "relu"},
                                           {"type": "dense", "units": 2}])
    sink = Sink()
    return Warnings(layers_of(model, rows), sink.note, lambda: 1.0), sink


def test_warnings_fire_after_persisting_and_again_only_after_clearing():
    w, sink = warnings_for()
    sizes = [4 * 8 + 8, 8 * 8 + 8, 8 * 2 + 2]
    vanishing = [1e-6 * math.sqrt(sizes[0]), 1.0, math.sqrt(sizes[2])]  # per weight: 1e-6 of the last layer's
    for _ in range(2):
        w.check(rows_of(vanishing))
    assert sink.notes == []
    for _ in range(5):
        w.check(rows_of(vanishing))
    assert [n[:2] for n in sink.notes] == [("vanishing_gradients", "warning")]
    assert "dense_1's gradient per weight is 1e-06 of the last layer's (dense_3)" in sink.notes[0][2]
    w.check(rows_of([1.0, 1.0, 1.0]))  # cleared
    for _ in range(3):
        w.check(rows_of(vanishing))
    assert [n[0] for n in sink.notes] == ["vanishing_gradients"] * 2


def test_dead_units_warning_names_the_layer_and_the_learning_rate():
    w, sink = warnings_for()
    for _ in range(3):
        w.check(rows_of([0.0, 0.0, 1.0], dead=[0.25, 0.875, None]))
    assert [n[0] for n in sink.notes] == ["dead_units"]  # dead units, not vanishing gradients
    assert sink.notes[0][2].startswith("most units are dead: 88% of dense_2's ReLU units output 0 for every "
                                       "example — the learning rate 1 is likely too high")


def test_exploding_gradients_warn_at_once():
    w, sink = warnings_for()
    w.check(rows_of([1.0, 1.0, 1.0]))
    w.check(rows_of([50.0, 50.0, 50.0]))
    assert sink.notes == []
    w.check(rows_of([200.0, 100.0, 50.0]))
    assert [n[0] for n in sink.notes] == ["exploding_gradients"] and "train.grad_clip" in sink.notes[0][2]
    w.check(rows_of([math.nan, 1.0, 1.0]))  # still exploding: said once
    assert len(sink.notes) == 1


def test_tiny_gradients_that_grow_are_not_an_explosion():
    """A dashboard that starts watching a converged run: its first gradients are tiny
    (1e-4) and jitter to 1000× that, still far below any danger (seen live on spiral)."""
    w, sink = warnings_for()
    w.check(rows_of([1e-4, 1e-4, 1e-4]))
    for _ in range(5):
        w.check(rows_of([0.07, 0.05, 0.02]))
    assert sink.notes == []


def test_a_step_fp16_skipped_is_not_an_explosion():
    w, sink = warnings_for()
    skipped = rows_of([math.inf, math.inf, math.inf])
    for row in skipped:
        row["update_ratio"] = 0.0  # the loss scaler did not step
    w.check(rows_of([1.0, 1.0, 1.0]))
    w.check(skipped)
    assert sink.notes == []
    w.check(rows_of([math.inf, 1.0, 1.0]))  # a step taken with gradients that are not finite
    assert [n[0] for n in sink.notes] == ["exploding_gradients"] and "no longer finite" in sink.notes[0][2]
