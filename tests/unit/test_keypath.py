"""Key paths (tuidl.core.preset.keypath), the one value check (tuidl.core.preset.schema.violations)
shared by the schema and the forms, the one edit path (preset.edit), and the cached
dataset info (catalog.info)."""

import os

import pytest
from hypothesis import given, strategies as st

from tuidl.core.data import catalog
from tuidl.core.preset import keypath
from tuidl.core.preset import preset as P
from tuidl.core.preset.keypath import KeyPathError
from tuidl.core.preset.schema import ConfigError, Problem, opt, read, violations

# ---------------------------------------------------------------------------
# Syntax: both spellings in, one out


@pytest.mark.parametrize("text, parts", [
    ("seed", ("seed",)),
    ("train.optimizer.lr", ("train", "optimizer", "lr")),
    ("model.layers.0.units", ("model", "layers", 0, "units")),
    ("model.layers[0].units", ("model", "layers", 0, "units")),
    ("model.layers[2].layers[0].units", ("model", "layers", 2, "layers", 0, "units")),
    ("model.layers.2.layers.0", ("model", "layers", 2, "layers", 0)),
    ("a[1][2]", ("a", 1, 2)),
    ("[3].units", (3, "units")),
    ("data.params.multi-gauss_x", ("data", "params", "multi-gauss_x")),
])
def test_both_spellings_parse_to_the_same_parts(text, parts):
    assert keypath.parse(text) == parts


@pytest.mark.parametrize("text, canonical", [
    ("model.layers.0.units", "model.layers[0].units"),
    ("model.layers[0].units", "model.layers[0].units"),
    ("model.layers.2.layers.0.units", "model.layers[2].layers[0].units"),
    ("train.epochs", "train.epochs"),
])
def test_one_canonical_form_out(text, canonical):
    assert keypath.normalize(text) == canonical
    assert keypath.format(keypath.parse(text)) == canonical


@pytest.mark.parametrize("text, says", [
    ("", "it is empty"),
    ("a..b", "an empty key"),
    (".a", "an empty key"),
    ("a.", "ends with '.'"),
    ("a[x]", "expected an item number in [], got [x]"),
    ("a[-1]", "expected an item number"),
    ("a[1", "'[' without ']'"),
    ("a]", "']' without '['"),
    ("a[0]b", "expected '.' or '['"),
    ("a.[0]", "an empty key before '['"),
])
def test_bad_syntax_says_what_is_wrong(text, says):
    with pytest.raises(KeyPathError) as e:
        keypath.parse(text)
    assert f"bad key path {text!r}" in str(e.value) and says in str(e.value)


def test_join_parent_within():
    assert keypath.join("", "seed") == "seed"
    assert keypath.join("model.layers", 3) == "model.layers[3]"
    assert keypath.join("model.layers[3]", "units") == "model.layers[3].units"
    assert keypath.parent("data.params.n_samples") == "data.params"
    assert keypath.parent("model.layers.1") == "model.layers"
    assert keypath.parent("seed") == ""
    assert keypath.within("model.layers[0].units", "model.layers")
    assert keypath.within("model.layers.0.units", "model.layers[0]")
    assert keypath.within("train.epochs", "train.epochs")
    assert not keypath.within("model.layers", "model.layers[0]")
    assert not keypath.within("model.layerss", "model.layers")


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-", min_size=1, max_size=8)
parts_strategy = st.lists(st.one_of(names, st.integers(0, 50)), min_size=1, max_size=6).filter(
    lambda parts: isinstance(parts[0], str))


@given(parts_strategy)
def test_round_trip_both_spellings(parts):
    parts = tuple(parts)
    canonical = keypath.format(parts)
    dotted = ".".join(str(p) for p in parts)  # the --set spelling
    assert keypath.parse(canonical) == parts
    assert keypath.parse(dotted) == parts
    assert keypath.normalize(dotted) == canonical == keypath.normalize(canonical)


@given(parts_strategy, st.integers())
def test_set_then_get_round_trips(parts, value):
    data: dict = {}
    # lists must hold the item already: build the containers the path goes through
    node: object = data
    for part, nxt in zip(parts, parts[1:]):
        child: object = [None] * (nxt + 1) if isinstance(nxt, int) else {}
        if isinstance(node, dict):
            node = node.setdefault(str(part), child)
        else:
            node[part] = child  # type: ignore[index]
            node = child
    keypath.set(data, keypath.format(parts), value)
    assert keypath.get(data, ".".join(str(p) for p in parts)) == value


# ---------------------------------------------------------------------------
# Reading and writing


DATA = {"train": {"epochs": 20, "optimizer": {"lr": 0.1}},
        "model": {"layers": [{"type": "dense", "units": 4}, {"type": "residual", "layers": [{"units": 2}]}]}}


def test_get_from_data_and_from_the_preset_dataclasses():
    assert keypath.get(DATA, "model.layers.1.layers[0].units") == 2
    assert keypath.get(DATA, "train.optimizer") == {"lr": 0.1}
    preset = P.load("spiral")
    assert keypath.get(preset, "train.optimizer.lr") == preset.train.optimizer.lr
    assert keypath.get(preset, "data.split.train") == preset.data.split.train
    assert keypath.get(preset, "model.layers[0].units") == preset.model.layers[0].units


@pytest.mark.parametrize("path, says", [
    ("model.layers[5].units", "model.layers has no item 5 (it has 2 items)"),
    ("model.layers.1.layers.3", "model.layers[1].layers has no item 3 (it has 1 item)"),
    ("train.epochz", "train has no key 'epochz' (known keys here: epochs, optimizer)"),
    ("nothing", "the top level has no key 'nothing'"),
    ("train.epochs.max", "train.epochs is not a table or a list (it is an integer)"),
    ("model.layers.first", "model.layers is a list: expected an item number, got 'first'"),
])
def test_get_bad_paths_say_where(path, says):
    with pytest.raises(KeyPathError) as e:
        keypath.get(DATA, path)
    assert says in str(e.value)


def test_get_unknown_field_of_a_dataclass():
    with pytest.raises(KeyPathError, match="train has no key 'epochz' \\(known keys here: channels_last"):
        keypath.get(P.load("spiral"), "train.epochz")


def test_set_makes_tables_but_not_list_items():
    data: dict = {"model": {"layers": [{"units": 1}]}}
    keypath.set(data, "train.optimizer.lr", 0.5)
    keypath.set(data, "model.layers[0].units", 7)
    keypath.set(data, "model.layers.0.activation", "relu")
    assert data == {"model": {"layers": [{"units": 7, "activation": "relu"}]}, "train": {"optimizer": {"lr": 0.5}}}
    with pytest.raises(KeyPathError, match=r"model.layers has no item 1 \(it has 1 item\)"):
        keypath.set(data, "model.layers.1.units", 3)
    with pytest.raises(KeyPathError, match=r"model.layers has no item 4"):
        keypath.set(data, "model.layers[4]", {})
    with pytest.raises(KeyPathError, match=r"train.optimizer.lr is not a table or a list \(it is a number\)"):
        keypath.set(data, "train.optimizer.lr.x", 1)
    with pytest.raises(KeyPathError, match="bad key path"):
        keypath.set(data, "train..lr", 1)
    assert data["train"] == {"optimizer": {"lr": 0.5}}  # nothing half-made by a refused path


def test_set_override_both_spellings():
    for key in ("model.layers.0.units", "model.layers[0].units"):
        preset = P.load("spiral", [f"{key}=12"])
        assert preset.model.layers[0].units == 12
    with pytest.raises(ConfigError) as e:
        P.load("spiral", ["model.layers.9.units=3"])
    assert str(e.value) == "--set model.layers.9.units=3: model.layers has no item 9 (it has 3 items)"
    with pytest.raises(ConfigError) as e:
        P.load("spiral", ["train.epochs.x=3"])
    assert str(e.value) == "--set train.epochs.x=3: train.epochs is not a table or a list (it is an integer)"
    with pytest.raises(ConfigError) as e:
        P.load("spiral", ["train..epochs=3"])
    assert "--set train..epochs=3: bad key path 'train..epochs'" in str(e.value)


def test_a_problem_is_blamed_on_the_override_in_either_spelling():
    for key in ("model.layers.0.units", "model.layers[0].units"):
        with pytest.raises(ConfigError) as e:
            P.load("spiral", [f"{key}=0"])
        assert str(e.value) == f"--set {key}=0: must be at least 1, got 0"


# ---------------------------------------------------------------------------
# One value check: the schema's problems and the forms' messages come from it


def test_violations_say_each_rule_once():
    assert [str(v) for v in violations(0, {"min": 1})] == ["must be at least 1, got 0"]
    assert [v.message for v in violations(10**7, {"max": 1_000_000})] == ["must be at most 1,000,000"]
    assert [v.message for v in violations(0.0, {"gt": 0.0})] == ["must be greater than 0.0"]
    assert [v.message for v in violations(1.0, {"lt": 1.0})] == ["must be less than 1.0"]
    assert [v.message for v in violations(float("nan"), {"min": 0})] == ["expected a finite number"]
    assert [v.message for v in violations("x3", {"choices": ("x1", "x2")})] == ["expected one of 'x1', 'x2'"]
    items = violations(["x1", "x9", "x2"], {"choices": ("x1", "x2")})
    assert [(v.index, v.value) for v in items] == [(1, "x9")]
    assert violations(None, {"min": 1}) == [] and violations(True, {"min": 5}) == []
    assert violations(5, {"min": 1, "max": 10}) == []


def test_the_schema_and_the_form_say_the_same():
    from tuidl.ui.widgets.form import check_value, parse_text

    cases = [(0, {"min": 1}), (2.0, {"lt": 1.0}), (0.0, {"gt": 0.0}), (10**9, {"max": 1_000_000}),
             (float("inf"), {"max": 1.0}), ("adamx", {"choices": ("sgd", "adam")})]
    for value, checks in cases:
        (found,) = violations(value, checks)
        assert check_value(value, checks) == found.message
        assert str(found) == f"{found.message}, got {value!r}"
    with pytest.raises(ValueError, match="^must be at least 1$"):
        parse_text("0", int, {"min": 1})

    from dataclasses import dataclass

    @dataclass
    class Thing:
        n: int = opt(3, min=1, max=10)
        names: list[str] = opt(factory=list, choices=("a", "b"))

    with pytest.raises(ConfigError) as e:
        read(Thing, {"n": 0, "names": ["a", "c"]})
    assert [str(p) for p in e.value.problems] == ["n: must be at least 1, got 0",
                                                  "names[1]: expected one of 'a', 'b', got 'c'"]


def test_a_list_item_of_the_wrong_type_is_said_once():
    with pytest.raises(ConfigError) as e:
        P.load("spiral", ['data.params.features=["x1", 5]'])
    assert [p.path for p in e.value.problems] == ["data.params.features[1]"]
    assert "expected a string, got integer 5" in str(e.value)


# ---------------------------------------------------------------------------
# One edit path for the panes


def test_edit_returns_the_new_preset_or_the_problems_by_key():
    preset = P.load("spiral")
    done = P.edit(preset, [("train.epochs", 7), ("model.layers.0.units", 5)])
    assert done.preset is not None and not done.problems
    assert done.preset.train.epochs == 7 and done.preset.model.layers[0].units == 5
    assert preset.train.epochs != 7  # the preset given is left alone
    bad = P.edit(preset, {"train.epochs": 0, "data.split.train": 0.9})
    assert bad.preset is None
    assert {p.path: p.message for p in bad.problems} == {
        "train.epochs": "must be at least 1, got 0",
        "data.split": "train + val + test must sum to 1, got 0.9 + 0.15 + 0.15 = 1.2"}
    assert bad.data["train"]["epochs"] == 0  # the draft keeps what was set
    assert "train.epochs: must be at least 1, got 0" in bad.brief() and "spiral" not in bad.brief()
    # the next edit completes the draft
    again = P.edit(preset, [("train.epochs", 3), ("data.split.val", 0.05), ("data.split.test", 0.05)],
                   base=bad.data)
    assert again.preset is not None and again.preset.train.epochs == 3 and again.preset.data.split.train == 0.9
    with pytest.raises(KeyPathError):
        P.edit(preset, [("model.layers[9].units", 1)])


# ---------------------------------------------------------------------------
# Dataset info is read from a file once, until the file changes


def test_table_info_is_cached_until_the_file_changes(tmp_path, monkeypatch):
    from tuidl.core.data import tables

    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n")
    calls = []
    real = tables.read_csv
    monkeypatch.setattr(tables, "read_csv", lambda *a, **k: calls.append(a) or real(*a, **k))
    params = catalog.TableParams(path=str(path))
    first = catalog.info("csv", params)
    for _ in range(3):
        assert catalog.info("csv", params) == first
    assert len(calls) == 1 and first.classes == ["x", "y"] and first.input_shape == (2,)
    # other parameters are another question
    assert catalog.info("csv", catalog.TableParams(path=str(path), label="label")) == first
    assert len(calls) == 2
    first.classes.append("mutated")  # each caller gets its own copy
    assert catalog.info("csv", params).classes == ["x", "y"]
    # the file changes: read again
    path.write_text("a,b,c,label\n1,2,3,x\n3,4,5,y\n5,6,7,z\n")
    os.utime(path, ns=(1, 10**18))
    changed = catalog.info("csv", params)
    assert changed.input_shape == (3,) and changed.classes == ["x", "y", "z"] and len(calls) == 3
    # a bad file: the problem is kept too, and still raised each time
    path.write_text("")
    os.utime(path, ns=(1, 2 * 10**18))
    for _ in range(2):
        with pytest.raises(ConfigError, match="is empty"):
            catalog.info("csv", params)
    assert len(calls) == 4
    path.unlink()
    with pytest.raises(ConfigError, match="file not found"):
        catalog.info("csv", params)


def test_image_folder_info_sees_a_new_class(tmp_path):
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
    params = catalog.ImageFolderParams(path=str(tmp_path))
    assert catalog.info("image-folder", params).classes == ["cat", "dog"]
    (tmp_path / "eel").mkdir()
    os.utime(tmp_path, ns=(1, 10**18))
    assert catalog.info("image-folder", params).classes == ["cat", "dog", "eel"]


def test_problem_paths_name_the_dataset_key():
    problems: list[Problem] = []
    assert catalog.parse_params("imagenet", {}, "data.params", problems) is None
    assert problems[0].path == "data.dataset"
