"""Layer specs: the pure-Python shapes and parameter counts agree with real modules."""

import pytest
import torch
from hypothesis import given, settings, strategies as st

from tuidl.core.model import layers as L
from tuidl.core.model.model import build, count_params
from tuidl.core.preset.schema import ConfigError, Problem


def parse(items):
    problems: list[Problem] = []
    out = L.parse_layers(items, "model.layers", problems)
    assert not problems, problems
    return out


STACKS = {
    "dense": ((5,), [{"type": "dense", "units": 7, "activation": "relu"}, {"type": "dense", "units": 3, "bias": False}]),
    "conv1d": ((2, 30), [{"type": "conv1d", "filters": 4, "kernel_size": 5, "stride": 2, "padding": 1},
                         {"type": "conv1d", "filters": 3, "kernel_size": 3, "padding": "valid"}]),
    "conv2d": ((3, 12, 10), [{"type": "conv2d", "filters": 6, "kernel_size": 3, "activation": "gelu"},
                             {"type": "conv2d", "filters": 2, "kernel_size": 2, "stride": 2, "padding": "valid"}]),
    "pooling": ((4, 11, 9), [{"type": "max_pool", "pool_size": 2}, {"type": "avg_pool", "pool_size": 3, "stride": 1},
                             {"type": "global_avg_pool"}]),
    "pool1d": ((4, 17), [{"type": "max_pool", "pool_size": 3}, {"type": "avg_pool"}, {"type": "flatten"}]),
    "norms": ((3, 8, 8), [{"type": "batch_norm"}, {"type": "layer_norm"}, {"type": "flatten"},
                          {"type": "batch_norm"}, {"type": "layer_norm"}]),
    "norm1d": ((3, 8), [{"type": "batch_norm"}, {"type": "layer_norm"}]),
    "activations": ((6,), [{"type": t} for t in ("relu", "gelu", "tanh", "sigmoid", "silu")]
                    + [{"type": "leaky_relu", "negative_slope": 0.2}, {"type": "dropout", "rate": 0.3}]),
    "lstm": ((3, 12), [{"type": "lstm", "units": 5, "return_sequences": True, "num_layers": 2},
                       {"type": "lstm", "units": 4, "bidirectional": True}]),
    "gru": ((3, 12), [{"type": "gru", "units": 5, "bidirectional": True, "return_sequences": True},
                      {"type": "gru", "units": 2}]),
    "residual": ((4, 10), [{"type": "residual", "layers": [{"type": "conv1d", "filters": 4},
                                                           {"type": "batch_norm"}, {"type": "relu"}]},
                           {"type": "flatten"}, {"type": "residual", "layers": [{"type": "dense", "units": 40}]}]),
    # an autoencoder's way back: a code marker, then reshape, upsample and transposed convolutions
    "decoder1d": ((12,), [{"type": "code"}, {"type": "reshape", "shape": [3, 4]},
                          {"type": "conv_transpose1d", "filters": 5, "kernel_size": 4, "stride": 2, "padding": 1},
                          {"type": "upsample", "factor": 3},
                          {"type": "conv_transpose1d", "filters": 1, "kernel_size": 3, "stride": 2,
                           "output_padding": 1, "activation": "sigmoid"}]),
    "decoder2d": ((2, 3, 3), [{"type": "reshape", "shape": [18]}, {"type": "dense", "units": 32},
                              {"type": "reshape", "shape": [2, 4, 4]}, {"type": "upsample"},
                              {"type": "conv_transpose2d", "filters": 3, "kernel_size": 3, "stride": 2,
                               "padding": 1, "output_padding": 1, "bias": False}]),
}


@pytest.mark.parametrize("name", sorted(STACKS))
def test_summary_matches_a_real_forward_pass(name):
    shape, items = STACKS[name]
    specs = parse(items)
    summary = L.infer(specs, shape)
    assert not summary.errors
    model = build(specs, shape).eval()
    x = torch.randn(2, *shape)
    for row, module in zip(summary.rows, model):
        x = module(x)
        assert tuple(x.shape[1:]) == row.output_shape, row
        assert count_params(module) == (row.trainable, row.frozen), row


def test_every_layer_type_is_covered():
    used = {item["type"] for _, items in STACKS.values() for item in items}
    assert used == set(L.LAYER_TYPES)


def test_shape_mismatch_names_index_type_and_both_shapes():
    specs = parse([{"type": "conv2d", "filters": 4}, {"type": "dense", "units": 3}])
    summary = L.infer(specs, (1, 8, 8))
    row = summary.rows[1]
    assert row.output_shape is None
    assert "layer 1 (dense)" in row.error and "(4, 8, 8)" in row.error and "(features,)" in row.error
    with pytest.raises(ConfigError) as e:
        L.check_stack(specs, (1, 8, 8))
    assert "model.layers[1]" in str(e.value)


def test_layers_after_a_misfit_are_not_evaluated():
    specs = parse([{"type": "lstm", "units": 3}, {"type": "dense", "units": 3}, {"type": "dense", "units": 2}])
    rows = L.infer(specs, (5,)).rows
    assert rows[0].error and "sequence" in rows[0].error
    assert all("not evaluated" in r.error for r in rows[1:])


def test_kernel_larger_than_input_is_a_shape_error():
    specs = parse([{"type": "conv1d", "filters": 2, "kernel_size": 9, "padding": "valid"}])
    assert "kernel" in L.infer(specs, (1, 5)).rows[0].error


def test_huge_model_refused_before_allocation():
    specs = parse([{"type": "dense", "units": 1_000_000}, {"type": "dense", "units": 1_000_000}])
    with pytest.raises(ConfigError, match="parameters"):
        build(specs, (10,))


def test_summary_renders_like_keras():
    specs = parse([{"type": "flatten"}, {"type": "dense", "units": 10}])
    text = L.infer(specs, (1, 8, 8), "digits").render()
    assert 'Model: "digits"' in text
    assert "dense_1 (dense)" in text and "(10,)" in text and "650" in text
    assert "Total params: 650 (2.54 KB)" in text
    assert "Non-trainable params: 0 (0 B)" in text


def test_bad_layer_fields_are_reported_with_paths():
    problems: list[Problem] = []
    L.parse_layers([{"type": "dense", "units": 0}, {"type": "conv1d", "filters": 2, "padding": "full"},
                    {"type": "nope"}, {"units": 3}, {"type": "dropout", "rate": 1.0, "extra": 1}],
                   "model.layers", problems)
    text = "\n".join(map(str, problems))
    assert "model.layers[0].units: must be at least 1" in text
    assert "model.layers[1].padding" in text
    assert "model.layers[2].type: unknown layer type 'nope'" in text
    assert "model.layers[3].type: unknown layer type no type" in text
    assert "model.layers[4].extra: unknown key" in text
    assert "model.layers[4].rate: must be less than 1.0" in text


# -- property: any stack either fails inference cleanly or matches a real forward pass --

layer_strategy = st.one_of(
    st.builds(lambda u, a: {"type": "dense", "units": u, "activation": a}, st.integers(1, 12),
              st.sampled_from(L.ACTIVATIONS)),
    st.builds(lambda f, k, s, p: {"type": "conv1d", "filters": f, "kernel_size": k, "stride": s,
                                  "padding": p if s == 1 else (0 if p == "same" else p)},
              st.integers(1, 6), st.integers(1, 5), st.integers(1, 3), st.sampled_from(["same", "valid", 1])),
    st.builds(lambda f, k: {"type": "conv2d", "filters": f, "kernel_size": k}, st.integers(1, 4), st.integers(1, 3)),
    st.builds(lambda k, t: {"type": t, "pool_size": k}, st.integers(1, 3), st.sampled_from(["max_pool", "avg_pool"])),
    st.sampled_from([{"type": t} for t in ("flatten", "global_avg_pool", "batch_norm", "layer_norm", "relu", "tanh")]),
    st.builds(lambda u, b, r: {"type": "gru", "units": u, "bidirectional": b, "return_sequences": r},
              st.integers(1, 4), st.booleans(), st.booleans()),
    st.builds(lambda u, r: {"type": "lstm", "units": u, "return_sequences": r}, st.integers(1, 4), st.booleans()),
)
shape_strategy = st.one_of(st.tuples(st.integers(1, 8)), st.tuples(st.integers(1, 3), st.integers(1, 16)),
                           st.tuples(st.integers(1, 3), st.integers(1, 10), st.integers(1, 10)))


@settings(max_examples=60, deadline=None)
@given(st.lists(layer_strategy, min_size=1, max_size=5), shape_strategy)
def test_random_stacks_infer_or_fail_cleanly(items, shape):
    specs = parse(items)
    summary = L.infer(specs, shape)
    if summary.errors:
        with pytest.raises(ConfigError):
            L.check_stack(specs, shape)
        return
    model = build(specs, shape).eval()
    out = model(torch.randn(2, *shape))
    assert tuple(out.shape[1:]) == summary.output_shape
    assert count_params(model) == (summary.trainable, summary.frozen)


def test_transposed_convolutions_undo_strided_ones_and_misfits_are_named():
    specs = parse([{"type": "conv1d", "filters": 4, "kernel_size": 4, "stride": 2, "padding": 1},
                   {"type": "conv_transpose1d", "filters": 1, "kernel_size": 4, "stride": 2, "padding": 1}])
    assert [r.output_shape for r in L.infer(specs, (1, 40)).rows] == [(4, 20), (1, 40)]
    bad = L.infer(parse([{"type": "reshape", "shape": [3, 5]}]), (16,)).rows[0]
    assert "15 values for (3, 5), got (16,)" in bad.error
    flat = L.infer(parse([{"type": "conv_transpose2d", "filters": 2}]), (16,)).rows[0]
    assert "add a reshape layer" in flat.error
    problems: list[Problem] = []
    L.parse_layers([{"type": "conv_transpose1d", "filters": 2, "stride": 2, "output_padding": 2},
                    {"type": "reshape", "shape": []}], "model.layers", problems)
    assert [p.path for p in problems] == ["model.layers[0].output_padding", "model.layers[1].shape"]


def test_the_summary_marks_the_code_between_encoder_and_decoder():
    specs = parse([{"type": "dense", "units": 2}, {"type": "code"}, {"type": "dense", "units": 5}])
    lines = L.infer(specs, (5,)).render().splitlines()
    at = next(i for i, line in enumerate(lines) if "(code)" in line)
    assert "encoder" in lines[at + 1] and "decoder" in lines[at + 1] and "dense_2" in lines[at + 2]
