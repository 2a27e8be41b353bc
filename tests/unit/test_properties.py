"""Property-based: random presets and random --set overrides either validate and build a
model whose summary matches a real forward pass, or are rejected cleanly."""

import tomli_w
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from tuidl.core.preset import preset as P
from tuidl.core.model.model import build, count_params
from tuidl.core.preset.schema import ConfigError

from test_layers import layer_strategy

OUTPUTS = {"xor": 2, "spiral": 2, "plane": 1, "digits": 10, "mnist1d": 10}
DATASETS = {"xor": {"n_samples": 50}, "spiral": {"n_samples": 50, "features": ["x1", "x2", "x1x2"]},
            "plane": {"n_samples": 50}, "digits": {}, "mnist1d": {"n_samples": 200}}

scalars = st.one_of(st.integers(-5, 10**13), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                    st.text(max_size=6), st.lists(st.integers(0, 3), max_size=3))
keys = st.sampled_from([
    "seed", "train.epochs", "data.batch_size", "train.optimizer.lr", "train.optimizer.name", "train.loss",
    "train.schedule.name", "train.schedule.warmup_epochs", "data.split.train", "data.split.val",
    "data.normalize", "train.early_stopping.enabled", "train.early_stopping.monitor", "train.device",
    "train.precision", "model.layers.0.units", "model.layers.0.type", "model.layers.1.rate", "data.dataset",
    "train.label_smoothing", "data.params.noise", "train.optimizer.momentum", "name", "nonsense.key",
])


VALID: list[str] = []


def override(key, value):
    return f"{key}={tomli_w.dumps({'v': value})[4:].strip()}"


flat = st.one_of(
    st.builds(lambda u, a: {"type": "dense", "units": u, "activation": a}, st.integers(1, 16),
              st.sampled_from(["relu", "tanh", "gelu", "none"])),
    st.sampled_from([{"type": t} for t in ("batch_norm", "layer_norm", "relu", "silu", "sigmoid")]),
    st.builds(lambda r: {"type": "dropout", "rate": r}, st.floats(0, 0.9)),
)
spatial = st.one_of(
    st.builds(lambda f, k: {"type": "CONV", "filters": f, "kernel_size": k}, st.integers(1, 8), st.integers(1, 3)),
    st.sampled_from([{"type": t} for t in ("batch_norm", "layer_norm", "relu", "gelu")]),
    st.builds(lambda t: {"type": t, "pool_size": 2}, st.sampled_from(["max_pool", "avg_pool"])),
)
RANK = {"xor": 1, "spiral": 1, "plane": 1, "digits": 3, "mnist1d": 2}


def fitting(dataset):
    """Stacks made to fit the dataset's input rank, so the valid path gets exercised."""
    if RANK[dataset] == 1:
        return st.lists(flat, min_size=1, max_size=4)
    conv = "conv2d" if RANK[dataset] == 3 else "conv1d"
    layer = spatial.map(lambda d: {**d, "type": conv} if d["type"] == "CONV" else d)
    if RANK[dataset] == 2:
        layer = st.one_of(layer, st.builds(lambda u: {"type": "gru", "units": u, "return_sequences": True},
                                           st.integers(1, 4)))
    return st.lists(layer, min_size=1, max_size=4)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), dataset=st.sampled_from(sorted(DATASETS)),
       sets=st.one_of(st.just([]), st.lists(st.tuples(keys, scalars), max_size=2)))
def test_random_presets_validate_or_fail_cleanly(data, dataset, sets):
    layers = data.draw(st.one_of(fitting(dataset), st.lists(layer_strategy, min_size=1, max_size=4)))
    data = {"name": "prop", "data": {"dataset": dataset, "params": DATASETS[dataset]},
            "model": {"layers": layers + [{"type": "flatten"}, {"type": "dense", "units": OUTPUTS[dataset]}]},
            "train": {"epochs": 1}}
    text = tomli_w.dumps(data)
    try:
        preset = P.load_text(text, "prop.toml", [override(k, v) for k, v in sets])
        resolved = P.resolve(preset)
    except ConfigError as e:  # each problem names the file, or the override that caused it
        assert all(p.source == "prop.toml" or p.source.startswith("--set ") for p in e.problems), str(e)
        return
    VALID.append(dataset)
    shape = resolved.info.input_shape
    model = build(preset.model.layers, shape).eval()
    with torch.no_grad():
        out = model(torch.randn(2, *shape))
    assert tuple(out.shape[1:]) == resolved.summary.output_shape
    assert count_params(model) == (resolved.summary.trainable, resolved.summary.frozen)
    # and the resolved preset round-trips through TOML unchanged
    assert P.to_data(P.load_text(P.dumps(preset), "again")) == P.to_data(preset)


def test_the_property_saw_valid_presets():
    """Guard against a generator that only ever produces rejected presets."""
    assert len(VALID) >= 10, VALID
