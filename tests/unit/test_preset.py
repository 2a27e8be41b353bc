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


# ---------------------------------------------------------------------------
# A relative data path means relative to the preset file it is written in (issue 24).

CSV_PRESET = """
name = "mycsv"
[data]
dataset = "csv"
params = { path = "mydata.csv", label = "species" }
[[model.layers]]
type = "dense"
units = 3
"""


def csv_project(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "mydata.csv").write_text("a,b,species\n" + "".join(f"{i},{i % 3},{'xyz'[i % 3]}\n" for i in range(30)))
    return write(proj, CSV_PRESET, "mycsv.toml")


def test_a_relative_data_path_is_the_preset_files_and_held_absolute(tmp_path, monkeypatch):
    preset_file = csv_project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    preset = P.load(preset_file)
    assert preset.data.params.path == str(tmp_path / "proj" / "mydata.csv")
    assert P.resolve(preset).info.classes == ["x", "y", "z"]
    # a run's copy of the preset works from the run's own folder
    run_copy = write(tmp_path / "elsewhere", P.dumps(preset), "preset.toml")
    again = P.load(run_copy)
    assert again.data.params.path == str(tmp_path / "proj" / "mydata.csv")
    assert P.resolve(again).info.input_shape == (2,)


def test_a_preset_named_by_a_relative_path_reads_its_data_beside_it(tmp_path, monkeypatch):
    csv_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    preset = P.load("proj/mycsv.toml")
    assert preset.data.params.path == str(tmp_path / "proj" / "mydata.csv")


def test_an_override_or_an_edit_path_is_the_working_directorys(tmp_path, monkeypatch):
    preset_file = csv_project(tmp_path)
    (tmp_path / "other.csv").write_text("a,b,species\n" + "".join(f"{i},{i},{'pq'[i % 2]}\n" for i in range(20)))
    monkeypatch.chdir(tmp_path)
    preset = P.load(preset_file, ["data.params.path=other.csv"])
    assert preset.data.params.path == str(tmp_path / "other.csv")
    edited = P.edit(P.load(preset_file), [("data.params.path", "other.csv")])
    assert edited.preset is not None and edited.preset.data.params.path == str(tmp_path / "other.csv")
    assert edited.data["data"]["params"]["path"] == "other.csv"  # the draft keeps what was typed


def test_a_home_path_expands_and_an_image_root_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    preset = P.load_text('[data]\ndataset = "csv"\nparams = { path = "~/d.csv" }\n[[model.layers]]\ntype = "dense"\n'
                         'units = 2\n', "t")
    assert preset.data.params.path == str(tmp_path / "d.csv")
    cifar = P.load(write(tmp_path, '[data]\ndataset = "cifar10"\nparams = { root = "cache" }\n'))
    assert cifar.data.params.root == str(tmp_path / "cache")
    assert P.load(write(tmp_path, '[data]\ndataset = "cifar10"\n')).data.params.root == ""  # the default cache


@pytest.mark.parametrize("name,overrides,expected", [
    ("spiral", [], "spiral"),
    ("xor", ["data.dataset=circle"], "xor-circle"),
    ("fashion-cnn", [], "fashion-cnn"),  # fashion-mnist: the name says it
    ("mnist-mlp", ["data.dataset=kmnist"], "mnist-mlp-kmnist"),
])
def test_a_run_is_named_after_what_it_trains(name, overrides, expected):
    assert P.run_name(P.load(name, overrides)) == expected


def test_a_run_switched_to_a_users_file_or_folder_names_it(tmp_path):
    preset_file = csv_project(tmp_path)
    (tmp_path / "proj" / "pics").mkdir()
    csv = P.load("spiral", ["data.dataset=csv", f'data.params={{ path = "{tmp_path}/proj/mydata.csv" }}'])
    assert P.run_name(csv) == "spiral-mydata"
    assert P.run_name(P.load(preset_file)) == "mycsv-mydata"
    data = P.to_data(P.load("spiral"))
    data["data"] = {"dataset": "image-folder", "params": {"path": str(tmp_path / "proj" / "pics")}}
    assert P.run_name(P.from_dict(data)) == "spiral-pics"
    data["name"] = "my-pics"
    assert P.run_name(P.from_dict(data)) == "my-pics"


@pytest.mark.parametrize("text,value", [("yes", True), ("On", True), ("true", True), ("TRUE", True),
                                        ("no", False), ("off", False), ("False", False)])
def test_set_and_the_form_read_booleans_alike(text, value):
    """One value grammar (tuidl.core.preset.values): what a form's switch field takes as
    text, --set takes too."""
    from tuidl.core.preset.values import parse_scalar, parse_value

    assert parse_scalar(text, bool) is value and parse_value(text) is value
    assert P.load("spiral", [f"train.compile={text}"]).train.compile is value
    assert parse_value('"yes"') == "yes" and parse_value("1") == 1  # quoted: text; a number stays one
    with pytest.raises(ValueError, match="true or false"):
        parse_scalar("1", bool)
