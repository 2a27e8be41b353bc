"""A logged run (tuidl.init / run.log, tuidl run -- CMD) read by everything that reads
runs: RunView's metrics, config, summary and process figures, the chart pairing rules,
the list of runs, export and the headless replay. The run directories are written by
hand exactly as the logging writer writes them (helpers.logged_run)."""

from __future__ import annotations

import csv
import io
import math

import pytest

import helpers
from tuidl.core.run import rundir as R
from tuidl.core.run import report, runview
from tuidl.core.run.runlist import delete_run, scan_runs
from tuidl.core.run.runview import RunView
from tuidl.core.run.scalars import ChartGroup, base_name, chart_groups, lower_is_better
from tuidl.core.preset.schema import ConfigError


def started(**more):
    return {"type": "run_started", "time": 100.0, "schema": 1, "source": "script", "name": "s", "project": None,
            "config": {"lr": 0.1}, "host": "h", "pid": 1, "argv": ["t.py"], **more}


def metrics(step, t, **values):
    return {"type": "metrics", "time": t, "step": step, "values": values}


def test_runview_takes_any_metric_names_by_step_and_time():
    view = RunView([started(),
                    metrics(0, 101.0, **{"train/loss": 2.0, "my metric.x": 1}),
                    metrics(5, 102.5, **{"train/loss": 1.0, "val/loss": "nan"}),
                    {"type": "metrics", "time": 103.0, "values": {"train/loss": "inf"}},  # no step: the next one
                    metrics(7, 104.0, **{"train/loss": None, "my metric.x": 3})])
    assert view.logged and view.source == "script" and view.status == "running"
    assert view.scalars.names == ["train/loss", "my metric.x", "val/loss"]
    loss = view.scalars["train/loss"]
    assert loss.steps.tolist() == [0.0, 5.0, 6.0, 7.0]
    assert loss.times.tolist() == [1.0, 2.5, 3.0, 4.0]  # seconds since run_started
    assert loss.values[:2].tolist() == [2.0, 1.0] and math.isinf(loss.values[2]) and math.isnan(loss.values[3])
    assert view.scalars["my metric.x"].steps.tolist() == [0.0, 7.0]
    assert math.isnan(view.scalars["val/loss"].values[0])
    assert view.progress.step == 7
    assert view.bad_events == 0


def test_points_of_one_name_keep_their_order_across_events_of_different_names():
    events = [started()]
    for i in range(30):
        values = {"loss": float(30 - i)}
        if i % 3 == 0:
            values["val_loss"] = float(40 - i)
        events.append(metrics(i, 100.0 + i, **values))
    view = RunView(events[:10])
    view.apply(events[10:])  # live: the arrays grow batch by batch
    assert view.scalars["loss"].steps.tolist() == [float(i) for i in range(30)]
    assert view.scalars["loss"].values.tolist() == [float(30 - i) for i in range(30)]
    assert view.scalars["val_loss"].steps.tolist() == [float(i) for i in range(0, 30, 3)]


def test_summary_is_last_and_best_overridden_by_summary_events():
    view = RunView([started(),
                    metrics(0, 101, loss=1.0, acc=0.5, **{"val/accuracy": 0.4}),
                    metrics(1, 102, loss=0.2, acc=0.9, **{"val/accuracy": 0.8}),
                    metrics(2, 103, loss=0.5, acc=0.7, **{"val/accuracy": "nan"}),
                    {"type": "summary", "time": 104, "values": {"acc": 0.99, "test_score": 7}}])
    s = view.summary()
    assert s["loss"]["last"] == 0.5 and s["loss"]["best"] == 0.2 and s["loss"]["step"] == 2
    assert s["acc"]["best"] == 0.9 and s["acc"]["last"] == 0.99 and s["acc"]["set"]  # set by the run
    assert s["val/accuracy"]["last"] == 0.8 and s["val/accuracy"]["best"] == 0.8  # NaN is never last nor best
    assert s["test_score"] == {"value": 7, "set": True}


def test_config_merges_and_process_figures_come_from_telemetry():
    view = RunView([started(), {"type": "config", "time": 101, "values": {"epochs": 3, "lr": 0.2}},
                    {"type": "telemetry", "time": 102, "gpus": [], "host": {"cpu": 1.0},
                     "process": {"pid": 9, "cpu_percent": 55.0, "rss_bytes": 1 << 20}}])
    assert view.config == {"lr": 0.2, "epochs": 3}
    assert view.process == {"pid": 9, "cpu": 55.0, "rss": 1 << 20}


def test_malformed_logged_events_are_counted_never_raised():
    view = RunView([started(), {"type": "metrics", "time": 1, "step": 0, "values": [1, 2]},
                    {"type": "metrics", "time": 1, "step": "x", "values": {"a": 1}},
                    {"type": "config", "time": 1, "values": 3}, {"type": "summary", "time": 1}])
    assert view.bad_events == 4 and view.scalars.names == []


def test_metrics_taken_in_bulk_match_one_at_a_time():
    """RunView takes metrics events in a row in one go (Scalars.add_events); each name's
    arrays, last and best are what taking them one at a time gives, across the arrays'
    flushes, new names, steps and times to convert and malformed events among them."""
    from tuidl.core.run import scalars as S

    events = [started()]
    for i in range(S.FLUSH_AT + 500):  # more than one flush of the arrays
        values = {"train/loss": 5.0 - i / 1000, "val/acc": 0.5 + i / 40_000}
        if i % 7 == 0:
            values["val/loss"] = "nan" if i == 14 else 6.0 - i / 1000
        step = None if i == 100 else str(i) if i == 200 else i  # no step: the next; a string: converted
        events.append({"type": "metrics", "time": 100.0 + i / 10, "step": step, "values": values})
    events[50] = {"type": "metrics", "time": 105.0, "step": "x", "values": {"train/loss": 1.0}}  # malformed
    events[60] = {"type": "metrics", "time": 106.0, "step": 59, "values": [1, 2]}  # malformed
    events[70] = {"type": "metrics", "time": 107.0, "step": float("inf"), "values": {"train/loss": 1.0}}
    bulk = RunView(events)
    one = RunView(events[:1])
    for ev in events[1:]:
        one.apply([ev])
    assert bulk.bad_events == one.bad_events == 3 and bulk.events == one.events == len(events)
    assert bulk.scalars.names == one.scalars.names == ["train/loss", "val/acc", "val/loss"]
    for name in bulk.scalars.names:
        a, b = bulk.scalars[name], one.scalars[name]
        for axis in ("steps", "times", "values"):
            assert getattr(a, axis).tolist() == pytest.approx(getattr(b, axis).tolist(), nan_ok=True), (name, axis)
        assert (a.last(), a.best()) == (b.last(), b.best())
    loss = bulk.scalars["train/loss"]
    steps = loss.steps.tolist()
    assert steps == sorted(steps) and 100.0 in steps and 200.0 in steps  # the step after 99; "200" converted
    assert len(steps) == S.FLUSH_AT + 500 - 3  # three malformed events: no point
    assert bulk.scalars["val/acc"].best() == pytest.approx(0.5 + (S.FLUSH_AT + 499) / 40_000)  # a rate: highest
    assert loss.best() == pytest.approx(5.0 - (S.FLUSH_AT + 499) / 1000) == loss.last()
    assert bulk.progress.step == S.FLUSH_AT + 499


def test_applied_counts_metrics_events_and_lists_the_malformed_ones():
    view = RunView([started()])
    applied = view.apply([metrics(0, 101.0, loss=1.0), {"type": "note", "time": 101.0, "message": "hi"},
                          metrics(1, 102.0, loss=0.5), {"type": "metrics", "time": 103.0, "values": 3}])
    assert applied.metrics == 2
    assert [t.kind for t in applied.taken] == ["note", "malformed"]
    assert applied.bad[0].problem == "Malformed: values is not an object"


def test_the_last_and_best_follow_points_as_they_come():
    view = RunView([started(), metrics(0, 101.0, loss=3.0, acc=0.2), metrics(1, 102.0, loss=1.0, acc=0.9)])
    assert (view.scalars["loss"].last(), view.scalars["loss"].best()) == (1.0, 1.0)
    view.apply([metrics(2, 103.0, loss=2.0, acc="nan"), metrics(3, 104.0, loss="inf", acc=0.5)])
    loss, acc = view.scalars["loss"], view.scalars["acc"]
    assert (loss.last(), loss.best()) == (2.0, 1.0)  # inf and NaN are kept, never last or best
    assert (acc.last(), acc.best()) == (0.5, 0.9)
    assert view.summary()["acc"] == {"last": 0.5, "best": 0.9, "step": 3.0}


def test_a_trainer_run_is_not_logged():
    assert not RunView([helpers.started()]).logged


@pytest.mark.parametrize("names, groups", [
    (["train/loss", "val/loss"], [ChartGroup("loss", "train/loss", "val/loss")]),
    (["loss", "val_loss", "acc", "val_acc"], [ChartGroup("loss", "loss", "val_loss"), ChartGroup("acc", "acc", "val_acc")]),
    (["train_loss", "val_loss", "loss"], [ChartGroup("loss", "train_loss", "val_loss"), ChartGroup("loss", "loss", None)]),
    (["loss/train", "loss/val", "lr"], [ChartGroup("loss", "loss/train", "loss/val"), ChartGroup("lr", "lr", None)]),
    (["val/acc", "grad norm"], [ChartGroup("val/acc", None, "val/acc"), ChartGroup("grad norm", "grad norm", None)]),
    (["val/loss", "train/loss"], [ChartGroup("loss", "train/loss", "val/loss")]),  # the order names came in
])
def test_pairing_rules(names, groups):
    assert chart_groups(names) == groups


def test_base_names_and_which_way_is_better():
    assert base_name("val/loss") == ("loss", "val") and base_name("train_acc") == ("acc", "train")
    assert base_name("loss/val") == ("loss", "val") and base_name("lr") == ("lr", "")
    assert lower_is_better("val/loss") and lower_is_better("train_mae")
    assert not lower_is_better("val/acc") and not lower_is_better("eval accuracy") and not lower_is_better("val_f1")


def test_the_runs_list_shows_a_logged_run(tmp_path):
    run = helpers.logged_run(tmp_path, "my-script", steps=50, metrics=["train/loss", "val/loss", "val/acc"],
                             every={"val/loss": 10, "val/acc": 10})
    trainer_run = helpers.copy_fixture(tmp_path, "spiral-demo", "spiral-demo")
    rows = {r.id: r for r in scan_runs(tmp_path)}
    row = rows[run.id]
    assert row.preset == "my-script" and row.status == "completed"
    assert row.epochs_text == "step 49 · 3 metrics"
    assert row.best["monitor"] == "val/loss" and row.best_text.startswith("val/loss=")
    assert row.best["value"] == pytest.approx(min(helpers_values("val/loss", i, 50) for i in range(0, 50, 10)))
    assert not row.resumable
    assert rows[trainer_run.id].logged is None
    assert R.open_run(run.id, tmp_path).logged
    delete_run(run)
    assert not run.path.exists()


def test_a_live_logged_run_is_read_on_from_where_the_last_scan_stopped(tmp_path, monkeypatch):
    """The Runs pane scans every 2 s: a live logged run's events are read once, each
    scan only what was appended since (it re-read the whole file every scan)."""
    from tuidl.core.run import events as E
    from tuidl.core.run import runlist

    run = helpers.logged_run(tmp_path, "live", steps=200, metrics=["loss"], status="running")
    read: list[int] = []
    poll = E.EventTail.poll
    monkeypatch.setattr(E.EventTail, "poll", lambda self, *a, **k: (read.append(len(out := poll(self, *a, **k))), out)[1])
    assert runlist.logged_figures(run).step == 199
    first = sum(read)
    assert first >= 200
    with E.EventWriter(run.events_path) as w:
        for step in range(200, 205):
            w.write({"type": "metrics", "time": 1_000_100.0 + step, "step": step, "values": {"loss": 0.1}})
    read.clear()
    assert runlist.logged_figures(run).step == 204
    assert sum(read) == 5  # only the new events
    run.events_path.write_text(run.events_path.read_text().splitlines(keepends=True)[0])  # cut: read again from the start
    read.clear()
    assert runlist.logged_figures(run).step is None and sum(read) == 1


def helpers_values(name, i, steps):
    return 2.0 * math.exp(-i / max(1, steps / 4)) + (0.1 if "val" in name else 0.0)


def test_resume_of_a_logged_run_is_refused_in_one_line(tmp_path):
    run = helpers.logged_run(tmp_path, status="failed")
    with pytest.raises(ConfigError, match="is a logged run"):
        run.require_preset("tuidl train --resume")


def test_export_of_a_logged_run(tmp_path):
    run = helpers.logged_run(tmp_path, steps=20, metrics=["loss", "val_loss"], every={"val_loss": 5},
                             summary={"test_acc": 0.93}, config={"lr": 0.01, "layers": [64, 64]})
    done = report.export(run)
    rows = list(csv.reader(io.StringIO(done.csv_path.read_text())))
    assert rows[0] == ["step", "time", "loss", "val_loss"]
    assert len(rows) == 21 and rows[1][0] == "0" and rows[2][3] == ""  # val_loss every 5 steps only
    assert float(rows[6][3]) == pytest.approx(helpers_values("val_loss", 5, 20))
    md = done.md_path.read_text()
    assert '"lr": 0.01' in md and "| loss |" in md and "test_acc" in md and "• train  x validation" in md
    assert not done.problems
    text = report.summary_text(run, report.load_history(run))
    assert "20 steps, 2 metrics, status completed" in text and "loss: last" in text


def test_a_logged_run_of_50000_steps_by_20_metrics_loads(tmp_path):
    names = [f"train/m{i}" for i in range(10)] + [f"val/m{i}" for i in range(10)]
    run = helpers.logged_run(tmp_path, steps=50_000, metrics=names, values=lambda name, i: i * 0.5)
    view = runview.load(run)
    assert len(view.scalars) == 20 and all(len(view.scalars[n]) == 50_000 for n in names)
    assert view.summary()["val/m3"]["best"] == 0.0 and view.summary()["val/m3"]["last"] == 49_999 * 0.5
