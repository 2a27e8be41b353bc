"""A built-in preset's claimed range (presets/reference.json, written by
bench/accuracy.py) and where a run's test figure falls against it."""

from __future__ import annotations

import json

import pytest

from tuidl.core.preset import preset as P
from tuidl.core.preset import reference
from tuidl.core.run.runview import RunView

RANGE = {"metric": "acc", "median": 0.67, "low": 0.64, "high": 0.69, "seeds": 5}


def test_every_range_in_the_file_is_valid_and_names_a_builtin_preset():
    table = json.loads(reference.FILE.read_text())["presets"]
    assert table, "presets/reference.json has no ranges: run python bench/accuracy.py"
    for name, ref in table.items():
        assert name in P.builtin_names(), name
        assert reference.valid(ref) is not None, (name, ref)


def test_a_preset_as_shipped_gets_its_range_and_a_changed_one_none():
    ref = reference.of_name("digits-mlp")
    assert ref is not None and ref["metric"] == "acc" and ref["seeds"] == 5
    assert reference.for_preset(P.load("digits-mlp")) == ref
    # the range is over seeds; the device, checkpointing and instruments don't change it
    for same in (["seed=7"], ["train.device='cpu'"], ["train.checkpoint_every=5"], ["train.instruments.health=true"]):
        assert reference.for_preset(P.load("digits-mlp", same)) == ref, same
    for changed in (["train.epochs=3"], ["train.optimizer.lr=0.1"], ["data.batch_size=64"],
                    ["model.layers[1].units=16"]):
        assert reference.for_preset(P.load("digits-mlp", changed)) is None, changed
    # a preset of one's own under a built-in name is not the built-in one
    other = P.load("digits-mlp", ["train.epochs=3"])
    other.name = "mine"
    assert reference.for_preset(other) is None


def test_place_says_below_within_or_above():
    assert reference.place(RANGE, {"acc": 0.665}).where == "within"
    assert reference.place(RANGE, {"acc": 0.64}).where == "within"  # the ends belong to the range
    assert reference.place(RANGE, {"acc": 0.69}).where == "within"
    assert reference.place(RANGE, {"acc": 0.639}).where == "below"
    assert reference.place(RANGE, {"acc": 0.70}).where == "above"
    p = reference.place(RANGE, {"loss": 1.2, "acc": 0.65})
    assert (p.metric, p.value, p.low, p.high, p.median, p.seeds) == ("acc", 0.65, 0.64, 0.69, 0.67, 5)
    loss = {"metric": "loss", "median": 0.02, "low": 0.01, "high": 0.03, "seeds": 5}
    assert reference.place(loss, {"loss": 0.005}).where == "below"


@pytest.mark.parametrize("bad", [None, "67%", {}, {**RANGE, "metric": "top5"}, {**RANGE, "low": 0.7},
                                 {**RANGE, "high": "x"}, {**RANGE, "seeds": 0}, {**RANGE, "median": float("nan")}])
def test_a_bad_range_or_missing_metric_places_nothing(bad):
    assert reference.place(bad, {"acc": 0.5}) is None
    assert reference.place(RANGE, {"loss": 0.5}) is None
    assert reference.place(RANGE, None) is None


def test_runview_places_the_test_figure_against_the_run_started_range():
    start = {"type": "run_started", "time": 1.0, "schema": 1, "run_id": "r", "preset": "mnist1d-mlp",
             "epochs": 1, "task": "classification", "reference": RANGE}
    test = {"type": "test", "time": 2.0, "metrics": {"loss": 1.5, "acc": 0.7}}
    view = RunView([start])
    assert view.test_placement is None  # no test yet
    view = RunView([start, test])
    assert view.test_placement.where == "above" and view.test_placement.value == 0.7
    assert RunView([{**start, "reference": None}, test]).test_placement is None  # not a preset as shipped
