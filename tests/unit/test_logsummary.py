"""The light reader of a finished logged run's summary (tuidl.core.run.logsummary) gives
what a RunView gives: names, last / best / step of each metric, summary overrides, the last
step, the source; and the runs list's figures of a finished logged run come from it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import helpers
from tuidl.core.run import runlist
from tuidl.core.run.logsummary import read_summary
from tuidl.core.run.runview import RunView

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def view_of(path: Path) -> RunView:
    from tuidl.core.run.events import EventTail

    view = RunView()
    view.apply(EventTail(path))
    return view


def same(a, b) -> bool:
    """Equal, NaN equal to NaN (summaries hold NaN where a metric has no finite value)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


def check_like_runview(path: Path) -> None:
    light, view = read_summary(path), view_of(path)
    assert light.names == view.scalars.names
    assert same(light.summary(), view.summary())
    assert light.last_step == view.scalars.last_step
    assert light.events == view.scalars.events
    assert light.logged == view.logged and light.source == view.source


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("events.jsonl")), ids=lambda p: p.parent.name)
def test_the_fixture_runs_summaries_are_runviews(path):
    check_like_runview(path)


def test_odd_events_are_taken_as_runview_takes_them(tmp_path):
    """Steps left out (the one after the last), as strings, not finite or junk; values as
    strings, booleans, null, objects; NaN and inf; names logged in different sets; no
    values; summary events over a metric and beside them; a torn last line."""
    lines = [
        {"type": "run_started", "time": 10.0, "schema": 1, "source": "command", "name": "x"},
        {"type": "metrics", "time": 11.0, "step": 0, "values": {"train/loss": 2.0, "val/acc": 0.1}},
        {"type": "metrics", "time": 12.0, "values": {"train/loss": 1.5}},  # step: the one after the last
        {"type": "metrics", "time": 13.0, "step": "7", "values": {"train/loss": "1.25", "lr": True}},
        {"type": "metrics", "time": 14.0, "step": "nan", "values": {"train/loss": 0.0}},  # not taken
        {"type": "metrics", "time": 15.0, "step": "x", "values": {"train/loss": 0.0}},  # not taken
        {"type": "metrics", "time": 16.0, "step": 3, "values": {"train/loss": None, "val/acc": "NaN"}},
        {"type": "metrics", "time": 17.0, "step": 9, "values": {"val/acc": 0.9, "score": {"a": 1}}},
        {"type": "metrics", "time": 18.0, "step": 10, "values": {"val/acc": float("inf"), "train/loss": 0.5}},
        {"type": "metrics", "time": 19.0, "step": 11.5, "values": []},  # not taken
        {"type": "metrics", "time": 19.5, "step": 12},  # no values: not taken
        {"type": "summary", "time": 20.0, "values": {"val/acc": 0.95, "best_f1": 0.7}},
        {"type": "summary", "time": 20.5, "values": "junk"},
        {"type": "epoch", "time": 21.0, "epoch": 1},
        {"type": "run_ended", "time": 22.0, "status": "completed"},
    ]
    path = tmp_path / "events.jsonl"
    text = "".join(json.dumps(e, allow_nan=True) + "\n" for e in lines) + "[1, 2]\n" + '{"type": "metr'
    path.write_text(text)
    check_like_runview(path)
    light = read_summary(path)
    assert light.names == ["train/loss", "val/acc", "lr", "score"]
    assert light.last_step == 10.0 and light.events == 6  # step 0, the one after it, "7", 3, 9, 10
    loss = light.summary()["train/loss"]
    assert loss["best"] == 0.5 and loss["last"] == 0.5 and loss["step"] == 10.0
    acc = light.summary()["val/acc"]
    assert acc["best"] == 0.9 and acc["last"] == 0.95 and acc["set"]  # the summary's value overrides the last
    assert light.source == "command"


def test_a_run_of_only_a_preset_is_no_logged_run(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"type": "run_started", "time": 1.0, "preset": "xor", "source": "x"}) + "\n")
    check_like_runview(path)
    assert not read_summary(path).logged and read_summary(path).source == ""


def test_a_finished_logged_runs_figures_need_no_runview(tmp_path, monkeypatch):
    """The runs list's figures of a finished logged run are those a RunView gives, read
    without one (a listing of thousands of logged runs built one each)."""
    run = helpers.logged_run(tmp_path, steps=40, metrics=["loss", "val_loss", "val_acc"], every={"val_loss": 5},
                             summary={"test_acc": 0.93})
    view = view_of(run.events_path)
    built: list[int] = []
    init = RunView.__init__
    monkeypatch.setattr(RunView, "__init__", lambda self, *a, **k: (built.append(1), init(self, *a, **k))[1])
    runlist._FIGURES.clear()
    figures = runlist.logged_figures(run)
    assert not built
    full = view.summary()
    assert figures.step == int(view.scalars.last_step) == 39
    assert figures.metrics == 3
    assert figures.best == {"monitor": "val_loss", "value": full["val_loss"]["best"], "step": full["val_loss"]["step"]}
    assert figures.summary == {name: fig.get("value", fig.get("last")) for name, fig in full.items()}
    assert figures.summary["test_acc"] == 0.93
