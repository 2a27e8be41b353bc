"""What a sweep varies (tuidl.core.sweep.spec): --grid / --search flags and the preset's
[sweep] table, parsed and checked against the preset, each problem naming its key."""

import pytest

from tuidl.core.preset import preset as P
from tuidl.core.preset.schema import ConfigError
from tuidl.core.sweep import spec as S

XOR = P.load("xor")


@pytest.mark.parametrize("text,kind,low,high,values", [
    ("log:1e-4:1e-1", "log", 1e-4, 1e-1, ()),
    ("float:0:0.5", "float", 0.0, 0.5, ()),
    ("int:8:64", "int", 8, 64, ()),
    ("choice:adam,sgd", "choice", None, None, ("adam", "sgd")),
    ("choice:8,16", "choice", None, None, (8, 16)),
])
def test_ranges(text, kind, low, high, values):
    p = S.parse_range("k", text)
    assert (p.kind, p.low, p.high, p.values) == (kind, low, high, values)
    assert S.parse_range("k", p.text()) == p  # printed as typed


def test_a_list_in_the_table_is_a_choice():
    assert S.parse_range("k", ["adam", "sgd"]).values == ("adam", "sgd")


@pytest.mark.parametrize("text,needle", [
    ("log:0:1", "a log range needs bounds above 0"),
    ("log:-1:1", "a log range needs bounds above 0"),
    ("float:1:1", "an empty range"),
    ("int:8:4", "an empty range"),
    ("int:8:x", "'x' is not an integer"),
    ("int:1.5:4", "not an integer"),
    ("float:0:inf", "not a finite number"),
    ("uniform:0:1", "expected log:LOW:HIGH"),
    ("log:1e-3", "expected log:LOW:HIGH"),
    ("choice:", "an empty choice"),
    ("", "expected log:LOW:HIGH"),
])
def test_bad_ranges(text, needle):
    with pytest.raises(ValueError, match=needle):
        S.parse_range("k", text)


def test_grid_values_are_read_as_set_reads_them():
    assert S.parse_grid("k", "1e-3,3e-3").values == (1e-3, 3e-3)
    assert S.parse_grid("k", "8,16").values == (8, 16)
    assert S.parse_grid("k", "adam, sgd").values == ("adam", "sgd")
    with pytest.raises(ValueError, match="an empty grid"):
        S.parse_grid("k", "")
    with pytest.raises(ValueError, match="given twice"):
        S.parse_grid("k", "1,1")


def test_a_grid_from_flags():
    spec = S.build(XOR, grid=["train.optimizer.lr=1e-3,3e-3,1e-2", "model.layers.0.units=8,16"])
    assert spec.mode == "grid" and spec.size == 6 and spec.direction == "minimize"
    assert [p.key for p in spec.params] == ["train.optimizer.lr", "model.layers[0].units"]
    assert spec.grid()[1] == {"train.optimizer.lr": 1e-3, "model.layers[0].units": 16}
    assert S.SweepSpec.from_json(spec.to_json()) == spec


def test_a_search_from_flags():
    spec = S.build(XOR, search=["train.optimizer.lr=log:1e-4:1e-1", "train.optimizer.name=choice:adam,sgd"],
                   trials=30, parallel=2, metric="val_acc")
    assert (spec.mode, spec.size, spec.parallel, spec.direction) == ("search", 30, 2, "maximize")


@pytest.mark.parametrize("grid,search,needle", [
    (["train.optimizer.lrx=1,2"], [], "--grid train.optimizer.lrx=1,2: train.optimizer.lrx: unknown key"),
    (["model.layers.7.units=1,2"], [], "model.layers[7].units: unknown key: model.layers has no item 7"),
    ([], ["train.optimizer.lr=log:0:1"], "--search train.optimizer.lr=log:0:1: train.optimizer.lr: a log range"),
    ([], ["train.optimizer.lr=float:0.1:0.01"], "train.optimizer.lr: an empty range"),
    ([], ["train.optimizer.lr=log:1e-4:20"], "train.optimizer.lr: 20 is refused: must be at most 10"),
    (["train.epochs=0,1"], [], "train.epochs: 0 is refused: must be at least 1"),
    ([], ["train.optimizer.name=choice:adam,foo"], "train.optimizer.name: foo is refused"),
    (["train.optimizer=1,2"], [], "train.optimizer: not a single value"),
    (["name=a,b"], [], "name: a sweep cannot vary 'name'"),
    (["train.optimizer.lr="], [], "train.optimizer.lr: an empty grid"),
    (["train.optimizer.lr"], [], "--grid train.optimizer.lr: expected KEY=VALUES"),
    (["train.epochs=1,2"], ["train.optimizer.lr=log:1e-3:1e-1"], "a grid or a search, not both"),
])
def test_bad_specs_name_the_key(grid, search, needle):
    with pytest.raises(ConfigError) as e:
        S.build(XOR, grid=grid, search=search)
    assert needle in str(e.value)


def test_nothing_to_sweep():
    with pytest.raises(ConfigError, match="nothing to sweep"):
        S.build(XOR)


def test_a_sweep_needs_a_validation_split():
    preset = P.load("xor", ["data.split.val=0", "data.split.train=0.85"])
    with pytest.raises(ConfigError, match="data.split.val: a sweep ranks trials by val_loss"):
        S.build(preset, grid=["train.epochs=1,2"])


TABLE = """
[sweep]
trials = 6
parallel = 2
metric = "val_acc"
startup_trials = 2

[sweep.search]
"train.optimizer.lr" = "log:1e-4:1e-1"
"model.layers.0.units" = "int:4:16"
"train.optimizer.name" = ["adam", "sgd"]
"""


def xor_text() -> str:
    return (P.PRESETS_DIR / "xor.toml").read_text()


def test_the_sweep_table():
    preset = P.load_text(xor_text() + TABLE, "mine.toml")
    spec = S.build(preset)
    assert (spec.mode, spec.trials, spec.parallel, spec.metric, spec.startup_trials) == ("search", 6, 2, "val_acc", 2)
    assert [p.kind for p in spec.params] == ["log", "int", "choice"]
    assert S.build(preset, trials=3, parallel=1).trials == 3  # flags win over the table
    again = P.load_text(P.dumps(preset), "again")  # the table is saved with the preset
    assert again.sweep == preset.sweep


@pytest.mark.parametrize("table,needle", [
    ('[sweep.search]\n"train.optimizer.lrx" = "log:1e-4:1e-1"\n',
     'mine.toml: sweep.search."train.optimizer.lrx": unknown key'),
    ('[sweep.search]\n"train.optimizer.lr" = "log:0:1"\n',
     'mine.toml: sweep.search."train.optimizer.lr": a log range needs bounds above 0'),
    ('[sweep.grid]\n"train.epochs" = []\n', 'mine.toml: sweep.grid."train.epochs": an empty grid'),
    ('[sweep]\ngrid = 3\n', "mine.toml: sweep.grid: expected a table"),
    ('[sweep]\nparallel = 0\n', "mine.toml: sweep.parallel: must be at least 1"),
    ('[sweep]\nmetric = "acc"\n', "mine.toml: sweep.metric"),
    ('[sweep]\ntrails = 3\n', "mine.toml: sweep.trails: unknown key"),
])
def test_bad_sweep_tables_name_the_key(table, needle):
    with pytest.raises(ConfigError) as e:
        P.load_text(xor_text() + "\n" + table, "mine.toml")
    assert needle in str(e.value)


def test_a_preset_without_a_sweep_saves_none():
    assert "[sweep" not in P.dumps(XOR)


def test_trial_preset():
    preset = P.load_text(xor_text() + TABLE, "mine.toml")
    trial = S.trial_preset(preset, {"train.optimizer.lr": 0.02, "model.layers[0].units": 12})
    assert trial.train.optimizer.lr == 0.02 and trial.model.layers[0].units == 12
    assert trial.sweep.is_default() and "[sweep" not in P.dumps(trial)
    assert preset.train.optimizer.lr == 0.03  # the base is untouched
