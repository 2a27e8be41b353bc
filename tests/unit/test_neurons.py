"""The neuron view (tuidl/core/train/neurons.py) on a small Playground model: the maps'
shapes, the output against the boundary and the model's own output, a unit's value by
hand, and the models it does not fit. Runs with the view on: tests/functional/test_live_instruments.py."""

import numpy as np
import pytest
import torch

from tuidl.core.data import data as D
from tuidl.core.preset import preset as P
from tuidl.core.model.model import build
from tuidl.core.data.playground import features_of
from tuidl.core.train.neurons import Neurons, groups_of
from tuidl.core.train.visuals import BOUNDARY_GRID, Boundary, plane_values

XOR = """
name = "tiny"
seed = 1
[data]
dataset = "xor"
batch_size = 16
params = { n_samples = 200, noise = 0.1, features = ["x1", "x2", "x1x2"] }
[[model.layers]]
type = "dense"
units = 5
activation = "tanh"
[[model.layers]]
type = "dropout"
rate = 0.5
[[model.layers]]
type = "dense"
units = 4
[[model.layers]]
type = "relu"
[[model.layers]]
type = "dense"
units = 2
[train]
device = "cpu"
"""


@pytest.fixture(scope="module")
def setup():
    preset = P.load_text(XOR, "tiny.toml")
    resolved = P.resolve(preset)
    data = D.load(preset, "cpu")
    torch.manual_seed(0)
    model = build(preset.model.layers, data.info.input_shape)
    return preset, resolved.summary.rows, data, model


def neurons(setup, size=16, emit=None):
    preset, rows, data, model = setup
    groups = groups_of(model, preset.model.layers, rows)
    return Neurons(groups, model, data, preset.data.params.features, "classification", "cce",
                   torch.device("cpu"), emit or (lambda *a, **k: None), size=size)


def test_maps_have_the_grid_shape_and_every_unit(setup):
    f = neurons(setup).fields()
    assert f["size"] == 16 and f["extent"] == [-6.0, 6.0, -6.0, 6.0]
    assert [i["name"] for i in f["inputs"]] == ["x1", "x2", "x1x2"]
    assert [(la["name"], la["activation"], len(la["units"])) for la in f["layers"]] == [
        ("dense_1", "tanh", 5), ("dense_2", "relu", 4)]
    maps = [i["values"] for i in f["inputs"]] + [u["values"] for la in f["layers"] for u in la["units"]]
    maps.append(f["output"]["values"])
    assert all(np.shape(m) == (16, 16) for m in maps)
    assert [np.shape(w) for w in f["weights"]] == [(5, 3), (4, 5), (2, 4)]  # out × in, from the features on
    for unit in f["layers"][0]["units"]:
        assert unit["min"] == pytest.approx(np.min(unit["values"]), abs=1e-3)
        assert unit["max"] == pytest.approx(np.max(unit["values"]), abs=1e-3)
    # row 0 is ymin, column 0 xmin: x1 grows along a row, x2 down the rows
    x1, x2 = np.array(f["inputs"][0]["values"]), np.array(f["inputs"][1]["values"])
    assert (np.diff(x1[0]) > 0).all() and (np.diff(x2[:, 0]) > 0).all() and np.ptp(x1[:, 0]) == 0


def test_output_map_equals_the_boundary_and_the_model(setup):
    preset, rows, data, model = setup
    sent = []
    Boundary(data, preset.data.params, 0, "classification", "cce", lambda x: model.eval()(x),
             lambda t, **k: sent.append(k), torch.device("cpu"))(0, force=True)
    model.train()
    f = neurons(setup, size=BOUNDARY_GRID).fields()
    assert f["output"]["values"] == sent[0]["values"]
    assert model.training  # the view leaves the model as it found it


def test_a_units_map_is_that_units_activation(setup):
    preset, rows, data, model = setup
    f = neurons(setup).fields()
    r, c = 3, 11  # the grid point at row 3 (y), column 11 (x)
    xs = np.linspace(-6, 6, 16)
    x = data.transform(features_of(np.array([[xs[c], xs[r]]]), ["x1", "x2", "x1x2"]))
    assert f["inputs"][2]["values"][r][c] == pytest.approx(x[0, 2].item(), abs=1e-3)
    w1, b1 = model[0][0].weight.detach(), model[0][0].bias.detach()
    h1 = torch.tanh(x @ w1.T + b1)[0]  # dropout is off in evaluation
    for j in range(5):
        assert f["layers"][0]["units"][j]["values"][r][c] == pytest.approx(h1[j].item(), abs=1e-3)
    h2 = torch.relu(h1 @ model[2].weight.detach().T + model[2].bias.detach())
    assert f["layers"][1]["units"][1]["values"][r][c] == pytest.approx(h2[1].item(), abs=1e-3)
    out = plane_values(model.eval()(x), "classification", "cce")
    model.train()
    assert f["output"]["values"][r][c] == pytest.approx(out[0].item(), abs=1e-3)
    assert f["weights"][0][4][2] == pytest.approx(w1[4, 2].item(), abs=1e-3)


def test_sends_a_neurons_event(setup):
    sent = []
    n = neurons(setup, emit=lambda t, **k: sent.append((t, k)))
    n(now=5.0, epoch=2, step=40)
    assert sent[0][0] == "neurons" and sent[0][1]["epoch"] == 2 and sent[0][1]["step"] == 40
    assert not n.cadence.due(5.5) and n.cadence.due(6.0)  # at most one a second


@pytest.mark.parametrize("layers, input_shape", [
    ([{"type": "flatten"}, {"type": "dense", "units": 4}], (2,)),  # the first layer is not dense
    ([{"type": "dense", "units": 4}, {"type": "residual", "layers": [{"type": "dense", "units": 4}]},
      {"type": "dense", "units": 2}], (2,)),
    ([{"type": "dense", "units": 40, "activation": "relu"}, {"type": "dense", "units": 40},
      {"type": "dense", "units": 2}], (2,)),  # 80 hidden units: too many to draw
])
def test_models_the_view_does_not_fit(layers, input_shape):
    from tuidl.core.model import layers as L

    problems = []
    specs = L.parse_layers(layers, "model.layers", problems)
    model = build(specs, input_shape)
    rows = L.infer(specs, input_shape).rows
    assert not problems and groups_of(model, specs, rows) is None


def test_a_model_other_than_the_built_one_does_not_fit(setup):
    preset, rows, data, model = setup
    assert groups_of(torch.nn.Sequential(*list(model)[:2]), preset.model.layers, rows) is None
