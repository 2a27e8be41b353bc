"""Presets: loading, overrides, round trips and every kind of rejected input."""

import pytest

from tuidl.core.preset import preset as P
from tuidl.core.preset.schema import ConfigError
from helpers import ROOT

GOOD = """
name = "t"
seed = 3
[data]
dataset = "xor"
params = { n_samples = 100 }
[[model.layers]]
type = "dense"
units = 4
activation = "relu"
[[model.layers]]
type = "dense"
units = 2
[train]
epochs = 2
"""


def write(tmp_path, text, name="p.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", P.builtin_names())
def test_builtin_presets_validate_and_round_trip(name):
    preset = P.load(name)
    resolved = P.resolve(preset)
    assert resolved.summary.total > 0 and preset.description
    again = P.load_text(P.dumps(preset), "again")
    assert P.to_data(again) == P.to_data(preset)


def test_downloading_presets_say_so():
    for name in P.builtin_names():
        preset = P.load(name)
        if preset.data.dataset in ("mnist", "fashion-mnist", "kmnist", "cifar10", "cifar100"):
            assert "download" in preset.description.lower(), name


def test_defaults_are_filled_in(tmp_path):
    preset = P.load(write(tmp_path, GOOD))
    text = P.dumps(preset)
    for key in ("batch_size = 32", "[train.optimizer]", 'name = "adam"', "lr = 0.001", "[train.early_stopping]",
                "[data.split]", "noise = 0.0", "label_smoothing = 0.0"):
        assert key in text


def test_overrides(tmp_path):
    path = write(tmp_path, GOOD)
    preset = P.load(path, ["train.epochs=7", "train.optimizer.lr=0.5", "train.optimizer.name=sgd",
                           "model.layers.0.units=9", 'data.params.features=["x1","x2","x1x2"]', "train.device=cpu"])
    assert preset.train.epochs == 7 and preset.train.optimizer.lr == 0.5 and preset.train.optimizer.name == "sgd"
    assert preset.model.layers[0].units == 9
    assert preset.data.params.features == ["x1", "x2", "x1x2"]
    assert P.resolve(preset).info.input_shape == (3,)


BAD = [
    ("toml syntax", "name = \n", [], "not valid TOML"),
    ("unknown key", GOOD + "\nfoo = 1\n", [], "train.foo: unknown key"),
    ("unknown top key", "bogus = 1\n" + GOOD, [], "bogus: unknown key"),
    ("wrong type", GOOD, ["train.epochs='ten'"], "--set train.epochs='ten': expected an integer, got string 'ten'"),
    ("bool for int", GOOD, ["data.batch_size=true"], "--set data.batch_size=true: expected an integer"),
    ("zero epochs", GOOD, ["train.epochs=0"], "--set train.epochs=0: must be at least 1"),
    ("negative batch", GOOD, ["data.batch_size=-4"], "--set data.batch_size=-4: must be at least 1"),
    ("lr zero", GOOD, ["train.optimizer.lr=0"], "--set train.optimizer.lr=0: must be greater than 0"),
    ("lr negative", GOOD, ["train.optimizer.lr=-1e-3"], "--set train.optimizer.lr=-1e-3: must be greater than 0"),
    ("split sum", GOOD, ["data.split.train=0.5"], "--set data.split.train=0.5: data.split: train + val + test must sum to 1"),
    ("unknown dataset", GOOD, ["data.dataset='imagenet'"], "--set data.dataset='imagenet': expected one of"),
    ("unknown layer", GOOD, ["model.layers.1.type='dense2'"], "--set model.layers.1.type='dense2': unknown layer type 'dense2'"),
    ("empty layers", GOOD.split("[[model.layers]]")[0] + "[model]\nlayers = []\n[train]\nepochs=1\n", [],
     "model.layers: the layer list is empty"),
    ("shape misfit", GOOD, ["data.dataset='digits'", "data.params={}"], "model.layers[0]"),
    ("wrong output size", GOOD, ["model.layers.1.units=3"], "--set model.layers.1.units=3: model.layers[1]: the last layer must output (2,) for 2 classes"),
    ("huge layer", GOOD, ["model.layers.0.units=1000000000000"], "--set model.layers.0.units=1000000000000: must be at most"),
    ("huge model", GOOD, ["model.layers.0.units=1000000", "model.layers.1.units=1000000"],
     "--set model.layers.1.units=1000000: model.layers: the model has"),
    ("bad feature", GOOD, ["data.params.features=['x3']"], "--set data.params.features=['x3']: data.params.features[0]: expected one of"),
    ("bad param", GOOD, ["data.params.noise=5"], "--set data.params.noise=5: must be at most 0.5"),
    ("unknown param", GOOD, ["data.params.colour=1"], "--set data.params.colour=1: unknown key"),
    ("bad device", GOOD, ["train.device='tpu'"], "--set train.device='tpu': expected auto, cpu"),
    ("bad precision", GOOD, ["train.precision='fp8'"], "--set train.precision='fp8': expected one of"),
    ("nesterov", GOOD, ["train.optimizer.nesterov=true"], "--set train.optimizer.nesterov=true: needs optimizer 'sgd'"),
    ("bce vs classes", GOOD, ["train.loss='mse'"], "is for regression"),
    ("name traversal", GOOD, ["name='../../etc'"], "--set name='../../etc': use 1-64 letters"),
    ("official test", GOOD, ["data.split.official_test=true"], "--set data.split.official_test=true: dataset 'xor' has no official test set"),
    ("bad set", GOOD, ["train.epochs"], "--set train.epochs: expected path.to.key=value"),
    ("nan", GOOD, ["train.optimizer.lr=nan"], "--set train.optimizer.lr=nan: expected a finite number"),
]


@pytest.mark.parametrize("label,text,overrides,expected", BAD, ids=[b[0] for b in BAD])
def test_rejected_with_file_and_key(tmp_path, label, text, overrides, expected):
    """Every error names the file and key, or the override (``--set key=value``) that
    caused it: not the file it overrode (issue 13)."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        P.resolve(P.load(path, overrides))
    message = str(e.value)
    if expected and expected.startswith("--set "):
        assert str(path) not in message
    else:
        assert str(path) in message
    if expected:
        assert expected in message
    else:
        assert "parameters" in message


def test_missing_file_and_unknown_name():
    with pytest.raises(ConfigError, match="preset file not found"):
        P.load("/nonexistent/x.toml")
    with pytest.raises(ConfigError, match="no preset named 'nope'"):
        P.load("nope")


def test_binary_file_is_not_toml(tmp_path):
    path = tmp_path / "x.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    with pytest.raises(ConfigError, match="not"):
        P.load(path)


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(tmp_path, GOOD)
    with pytest.raises(ConfigError) as e:
        P.load(path, ["train.epochs=0", "data.batch_size=0", "train.optimizer.lr=-1"])
    assert len(e.value.problems) == 3


def test_reference_docs_tables_keep_one_row_per_key():
    """A list default (``adversarial_eps``, a dataset's ``features``) was written over
    several lines and broke docs/presets.md's Markdown tables (issue 24): every row of a
    table is one line of four cells."""
    import re

    lines = P.reference_markdown().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("| key |"):
            j = i + 2
            while j < len(lines) and lines[j].strip():
                row = lines[j]
                assert row.startswith("| `") and row.endswith(" |"), f"line {j + 1} breaks the table: {row!r}"
                assert len(re.findall(r"(?<!\\)\|", row)) == 5, f"line {j + 1} is not four cells: {row!r}"
                j += 1
    assert any(line.startswith("| `train.instruments.adversarial_eps` | `[0.0, 0.05, 0.1, 0.2, 0.3]` |")
               for line in lines)


def test_reference_docs_are_current():

    doc = ROOT / "docs" / "presets.md"
    assert doc.read_text() == P.reference_markdown(), "run: python -m tuidl.core.preset.preset > docs/presets.md"
