"""RunView, the one reducer of a run's events, without an app: the recorded runs, a
resume, torn and garbage lines, NaN, a pause, and the readers built on it (the
console progress, the report)."""

from __future__ import annotations

import io
import json
import math

import pytest

from tuidl.core.run import events as E
from tuidl.core.run import report
from tuidl.core.run import rundir as R
from tuidl.core.run import runview
from tuidl.core.run.runview import RunProgress, RunView
from tuidl.progress import ConsoleProgress
from helpers import FIXTURES, ended, epoch, started, step

RUNS = FIXTURES / "runs"


def fixture(name: str) -> R.RunDir:
    return R.RunDir(RUNS / name)


# -- the recorded runs ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["spiral-demo", "digits-demo"])
def test_a_recorded_run_reads_as_its_events_say(name):
    run = fixture(name)
    evs = E.read_events(run.events_path)
    kinds = [ev["type"] for ev in evs]
    first, last = evs[0], next(ev for ev in reversed(evs) if ev["type"] == "run_ended")
    epochs = [ev for ev in evs if ev["type"] == "epoch"]
    view = runview.load(run)

    assert view.bad_events == 0 and view.events == len(evs)
    assert view.started == first and view.restarts == 0
    assert view.status == "completed" and view.ended == last and not view.paused
    p = view.progress
    assert (p.run_id, p.epochs, p.steps_per_epoch) == (first["run_id"], first["epochs"], first["steps_per_epoch"])
    assert p.epochs_done == p.epoch == last["epochs_completed"] and p.fraction == 1.0
    assert p.status == "completed" and p.duration == last["duration"] and math.isnan(p.eta())
    assert p.epoch_seconds == [ev["duration"] for ev in epochs]
    assert sorted(view.epochs) == [ev["epoch"] for ev in epochs]
    assert view.steps == kinds.count("step") and view.checkpoints == kinds.count("checkpoint")
    assert view.best() == last["best"] and view.test["type"] == "test"
    assert view.metric_names == first["metrics"] and view.metric_key() == "acc"
    # curves: one point an epoch on the epoch axis; the step axis has the step events too
    c = view.curves
    assert list(c.epoch["loss"].xs) == [float(ev["epoch"]) for ev in epochs]
    assert list(c.epoch["val_loss"].ys) == pytest.approx([ev["val"]["loss"] for ev in epochs])
    assert list(c.epoch["lr"].ys) == pytest.approx([ev["lr"] for ev in epochs])
    assert len(c.step["loss"]) == kinds.count("step") + len(epochs)
    assert len(c.step["val_loss"]) == len(epochs) and c.step["val_loss"].xs[-1] == epochs[-1]["step"]
    assert c.step["acc"].ys[-1] == pytest.approx(epochs[-1]["train"]["acc"])
    # as a compared run: its validation curves
    split, lines = view.compare_curves()
    assert split == "val" and set(lines) >= {"loss", "acc"}
    assert lines["loss"]["epoch"][1] == pytest.approx([ev["val"]["loss"] for ev in epochs])
    assert lines["loss"]["step"][0] == [float(ev["step"]) for ev in epochs]


def test_the_view_is_the_reports_history():
    run = fixture("spiral-demo")
    history = report.load_history(run)
    assert isinstance(history, RunView)
    assert "status completed" in report.summary_text(run, history)
    assert report.epoch_series(history, "loss")["val"][1] == pytest.approx(
        [ev["val"]["loss"] for ev in E.read_events(run.events_path) if ev["type"] == "epoch"])


def test_events_taken_in_batches_or_one_by_one_give_the_same_state():
    evs = E.read_events(fixture("digits-demo").events_path)
    whole = RunView(evs)
    piecewise = RunView()
    for i in range(0, len(evs), 7):
        piecewise.apply(evs[i:i + 7])
    assert piecewise.progress == whole.progress and piecewise.epochs == whole.epochs
    for axis in ("step", "epoch"):
        a, b = getattr(whole.curves, axis), getattr(piecewise.curves, axis)
        assert {k: (list(v.xs), list(v.ys)) for k, v in a.items()} == \
            {k: (list(v.xs), list(v.ys)) for k, v in b.items()}


# -- progress, pause, resume --------------------------------------------------------------


def test_progress_pause_and_what_changed():
    view = RunView()
    applied = view.apply([started(epochs=4, steps=10), step(1, 5, 5)])
    assert [c.what for c in applied.changes] == ["started"] and view.status == "running"
    p = view.progress
    assert (p.epoch, p.epoch_step, p.step, p.samples_per_s) == (1, 5, 5, 80.0)
    assert p.fraction == pytest.approx(0.125)
    assert p.eta() == pytest.approx(4 * 0.875 * 10 * 8 / 80.0)  # from the step rate before an epoch ends
    applied = view.apply([{"type": "control", "time": 101.5, "action": "paused"}])
    assert view.paused and view.status == "running" and [c.what for c in applied.changes] == ["paused"]
    applied = view.apply([{"type": "control", "time": 101.6, "action": "resumed"},
                          {"type": "control", "time": 101.7, "action": "checkpoint_requested"}])
    assert not view.paused and [c.what for c in applied.changes] == ["resumed"]
    view.apply([epoch(1, 10, best=True)])
    assert (p.epochs_done, p.epoch_step, view.best_epoch) == (1, 10, 1)
    assert p.eta() == pytest.approx(3 * 2.0)  # the mean epoch time now
    view.apply([{"type": "control", "time": 103.0, "action": "paused"}])
    applied = view.apply([ended("stopped", epochs=1)])
    assert not view.paused and view.status == "stopped" and p.status == "stopped" and applied.ended
    assert [c.what for c in applied.changes] == ["ended"]
    assert math.isnan(p.eta()) and p.fraction == pytest.approx(0.25)


def test_a_resumed_run_goes_on_in_the_same_view():
    """run_started, epochs, run_ended (stopped), then a second trainer resumes it."""
    view = RunView()
    first = view.apply([started(epochs=4), step(1, 5, 5), epoch(1, 10), epoch(2, 20),
                {"type": "checkpoint", "time": 103, "epoch": 2, "kind": "last", "reason": "stop",
                 "path": "checkpoints/last.pt", "batch": 0},
                ended("stopped", epochs=2)])
    assert view.status == "stopped" and view.progress.epochs_done == 2
    applied = view.apply([started(epochs=6, resumed_from=2, t=200.0)])
    assert [c.what for c in applied.changes] == ["started"]
    assert view.restarts == 1 and view.ended is None and view.status == "running"
    assert view.started["time"] == 100.0 and view.run_info["time"] == 200.0 and view.run_info["resumed_from"] == 2
    p = view.progress
    assert (p.epochs, p.epochs_done, p.status, p.message) == (6, 2, "", "")
    view.apply([epoch(3, 30, t=202.0), ended("completed", epochs=6, t=210)])
    assert sorted(view.epochs) == [1, 2, 3] and list(view.curves.epoch["loss"].xs) == [1.0, 2.0, 3.0]
    assert view.status == "completed" and view.checkpoints == 1
    assert [t.ev["reason"] for t in first.taken if t.kind == "checkpoint"] == ["stop"]


def test_epochs_trained_again_after_a_resume_replace_their_first_points():
    """A trainer killed after epoch 3's event but before its checkpoint: the run resumes
    from epoch 2 and trains epoch 3 again. The table and the curves keep the new epoch 3;
    the first one's points (by epoch and by step) are gone, and so is its best mark."""
    view = RunView()
    view.apply([started(epochs=4), step(1, 5, 5), epoch(1, 10), epoch(2, 20, best=True), step(3, 25, 5),
                epoch(3, 30, loss=0.9, best=True)])
    assert view.best_epoch == 3 and list(view.curves.step["loss"].xs) == [5.0, 10.0, 20.0, 25.0, 30.0]
    view.apply([started(epochs=4, resumed_from=2, t=200.0)])
    assert sorted(view.epochs) == [1, 2] and view.best_epoch == 2
    assert view.progress.epochs_done == 2 and view.progress.epoch == 2
    assert list(view.curves.epoch["loss"].xs) == [1.0, 2.0] and list(view.curves.step["loss"].xs) == [5.0, 10.0, 20.0]
    view.apply([step(3, 25, 5, loss=0.3, t=201.0), epoch(3, 30, loss=0.2, t=202.0), epoch(4, 40, t=203.0)])
    assert list(view.curves.epoch["loss"].xs) == [1.0, 2.0, 3.0, 4.0]
    assert list(view.curves.epoch["loss"].ys)[2] == 0.2 and view.epochs[3]["train"]["loss"] == 0.2
    assert list(view.curves.step["loss"].xs) == [5.0, 10.0, 20.0, 25.0, 30.0, 40.0]


def test_the_dashboard_series_cut_like_the_curves():
    from tuidl.ui.series import Series

    view = RunView(curve=Series)
    view.apply([started(epochs=4), epoch(1, 10), epoch(2, 20), epoch(3, 30),
                started(epochs=4, resumed_from=2, t=200.0), epoch(3, 30, loss=0.1, t=201.0)])
    line = view.curves.epoch["loss"]
    assert list(line.xs) == [1.0, 2.0, 3.0] and float(line.ys[-1]) == 0.1 and line.last() == (3.0, 0.1)


# -- bad input ----------------------------------------------------------------------------


def test_garbage_is_counted_and_passed_over_never_raised():
    view = RunView()
    applied = view.apply([
        started(),
        "not an event", [1, 2, 3], None,
        {"no": "type"}, {"type": 7}, {"type": "something_new", "x": 1},  # not ours: passed over, not bad
        {"type": "step", "time": 101, "epoch": 1, "step": "three"},  # malformed
        {"type": "step", "time": 101, "epoch": 1},  # no step: malformed
        {"type": "epoch", "time": 102, "train": {"loss": 1}},  # no epoch: malformed
        {"type": "control", "time": 102, "action": ["paused"]},  # unhashable: malformed
        {"type": "note", "time": 102, "level": {"x": 1}, "message": "?"},  # malformed
        {"type": "epoch", "time": 103, "epoch": "nan", "step": None, "train": "junk", "val": 5},
        {"type": "run_ended", "time": 104},
    ])
    bad = applied.bad
    assert view.bad_events == len(bad) == 8
    assert [t.problem for t in bad[:3]] == ["not an object"] * 3
    assert bad[3].problem == "ValueError: step is 'three'" and bad[4].problem == "KeyError: 'step'"
    assert view.steps == 0 and not view.paused and view.notes == []
    # what was whole was taken: an epoch with odd fields, a bare run_ended
    assert 0 in view.epochs and view.status == "completed" and view.progress.status == "completed"
    assert [t.kind for t in applied.taken if t.kind != "malformed"] == ["run_started", "epoch", "run_ended"]


def test_a_torn_last_line_and_junk_lines_in_the_file(tmp_path):
    path = tmp_path / "events.jsonl"
    with open(path, "w") as f:
        f.write(json.dumps(started()) + "\n")
        f.write("{this is not json\n")
        f.write("[1, 2, 3]\n")
        f.write(json.dumps(step(1, 5, 5)) + "\n")
        f.write('{"type": "epoch", "time": 106, "ep')  # torn: a writer killed mid-line
    view = runview.load(path)
    assert view.progress.step == 5 and view.epochs == {} and view.status == "running"
    assert view.bad_events == 1  # the JSON list; the junk line is not an event at all


def test_nan_and_inf_are_kept_as_nan_and_never_raise():
    view = RunView([started(), step(1, 1, 1, loss="nan"), step(1, 2, 2, loss=float("inf")),
                    step(1, 3, 3, loss=None), {"type": "step", "time": 1, "step": "inf", "epoch": 1},
                    {"type": "epoch", "time": 2, "epoch": 1, "step": "nan", "train": {"loss": "nan", "acc": "x"},
                     "val": None, "lr": "inf", "samples_per_s": "nan", "duration": "-inf", "best": False}])
    loss = view.curves.step["loss"]
    assert list(loss.xs) == [1.0, 2.0, 3.0]  # the epoch's step is NaN: no point on the step axis
    assert math.isnan(loss.ys[0]) and loss.ys[1] == math.inf and math.isnan(loss.ys[2])
    assert view.bad_events == 1  # a step at step "inf"
    e = view.curves.epoch
    assert math.isnan(e["loss"].ys[0]) and math.isnan(e["acc"].ys[0]) and e["lr"].ys[0] == math.inf
    assert "val_loss" not in e  # no validation split
    p = view.progress
    assert p.samples_per_s == 80.0 and p.epoch_seconds == [] and p.step == 3
    assert view.compare_curves()[0] == "train"  # a compared run without validation shows its training curve


def test_telemetry_and_boundary_keep_the_latest():
    view = RunView([started(),
                    {"type": "telemetry", "time": 5.0, "torch": {"allocated": 1}, "torch_cuda": "12.4"},
                    {"type": "telemetry", "time": 6.0, "host": {"cpu": 5}},
                    {"type": "boundary", "time": 7.0, "epoch": 0, "values": []},
                    {"type": "boundary", "time": 8.0, "epoch": 1, "values": []}])
    assert view.trainer.torch == {"allocated": 1} and view.trainer.torch_cuda is True
    assert view.telemetry["time"] == 6.0 and view.boundary["epoch"] == 1


def test_the_trainer_is_the_latest_run_starteds():
    """Who trains the run (the System pane's figures): pid, host, device and start time of the
    latest run_started; a pid that is not a positive number is none."""
    view = RunView([started(pid=4242, host="gpu-node-7", device="cuda:1", t=50.0)])
    t = view.trainer
    assert (t.pid, t.host, t.device, t.started) == (4242, "gpu-node-7", "cuda:1", 50.0)
    view.apply([started(pid=5151, device="cpu", t=80.0, resumed_from=1)])  # resumed elsewhere, on the CPU
    assert (t.pid, t.host, t.device, t.started) == (5151, None, "cpu", 80.0)
    for pid in (0, -3, "4242", None, 1.5):
        assert RunView([started(pid=pid)]).trainer.pid is None
    assert RunView([started(time="x")]).trainer.started is None
    assert RunView().trainer == runview.Trainer()  # no run_started: nothing said


def test_whether_pytorch_has_cuda_is_the_latest_word_on_it():
    """torch_cuda: the run_started's (a CUDA version or null), else its cuda device says yes,
    else not said; a later telemetry event's word replaces it, and its CUDA memory figures stay
    the latest that came, before the run_started too."""
    assert RunView([started(torch_cuda="12.4", device="cpu")]).trainer.torch_cuda is True
    assert RunView([started(torch_cuda=None, device="cuda:0")]).trainer.torch_cuda is False
    assert RunView([started(device="cuda")]).trainer.torch_cuda is True
    assert RunView([started(device="cpu")]).trainer.torch_cuda is None
    assert RunView([started(torch_cuda=12, device="cpu")]).trainer.torch_cuda is None  # not a version: not said
    torch = {"allocated": 1, "reserved": 2, "peak": 3}
    view = RunView([{"type": "telemetry", "time": 1.0, "torch": torch, "torch_cuda": "12.4"}, started(device="cpu")])
    assert view.trainer.torch == torch and view.trainer.torch_cuda is None  # the run_started said nothing of CUDA
    view.apply([{"type": "telemetry", "time": 2.0, "torch_cuda": None}])
    assert view.trainer.torch_cuda is False and view.trainer.torch == torch  # no torch key: the figures stay
    view.apply([{"type": "telemetry", "time": 3.0, "torch": "junk"}])
    assert view.trainer.torch is None


def health_event(step_: int, grad: float, dead=None) -> dict:
    layers = [{"index": 0, "name": "dense_1", "kind": "dense", "grad_norm": grad, "weight_norm": 2.0,
               "update_ratio": 0.01, "dead": dead, "act_mean": 0.1, "act_std": 0.5},
              {"index": 2, "name": "dense_2", "kind": "dense", "grad_norm": 1.0, "weight_norm": 1.0,
               "update_ratio": None, "dead": None, "act_mean": 0.0, "act_std": 1.0}]
    return {"type": "health", "time": 9.0, "epoch": 1, "step": step_, "layers": layers}


def test_health_is_a_series_per_layer_and_neurons_the_latest():
    neurons = {"type": "neurons", "time": 9.5, "epoch": 1, "step": 8, "extent": [-6, 6, -6, 6], "size": 2,
               "inputs": [], "layers": [], "weights": [], "output": {"values": [[0.5, 0.5], [0.5, 0.5]]}}
    view = RunView([started(), health_event(3, 0.5, dead=0.25), health_event(7, "nan"), neurons,
                    {"type": "health", "time": 10.0, "epoch": 1, "step": 9, "layers": "garbage"},
                    {"type": "neurons", "time": 10.0, "epoch": 1, "step": 9}])
    assert list(view.health) == ["dense_1", "dense_2"] and view.bad_events == 2
    first = view.health["dense_1"]
    assert (first.index, first.kind, len(first)) == (0, "dense", 2) and list(first.step) == [3.0, 7.0]
    assert first.grad_norm[0] == 0.5 and math.isnan(first.grad_norm[1])
    assert first.dead[0] == 0.25 and math.isnan(first.dead[1])  # null: NaN
    assert math.isnan(view.health["dense_2"].update_ratio[0]) and list(view.health["dense_2"].act_std) == [1.0, 1.0]
    assert view.last_health["step"] == 7 and view.neurons == neurons


def test_regression_runs_chart_mae():
    view = RunView([started(task="regression", metrics=["loss", "mae"]),
                    step(1, 2, 2, mae=0.3)])
    assert view.metric_key() == "mae" and list(view.curves.step["mae"].ys) == [0.3]
    assert RunView().metric_key("regression") == "mae" and RunView().metric_key() == "acc"


def test_progress_fraction_and_eta():
    p = RunProgress(epochs=10, steps_per_epoch=20, batch_size=10, epoch=3, epoch_step=10, epochs_done=2,
                    samples_per_s=100.0)
    assert p.fraction == pytest.approx(0.25) and p.eta() == pytest.approx(7.5 * 20 * 10 / 100)
    assert RunProgress().fraction == 0.0 and math.isnan(RunProgress().eta())


# -- the console progress reads it ----------------------------------------------------------


def test_console_progress_prints_from_the_view():
    out = io.StringIO()
    console = ConsoleProgress(out, live=True)
    for ev in [started(epochs=2, steps=10), step(1, 5, 5), {"type": "step", "time": 1, "step": "x"},
               epoch(1, 10, best=True), {"type": "note", "time": 3, "level": "warning", "message": "careful"},
               {"type": "control", "time": 4, "action": "paused"},
               {"type": "test", "time": 5, "metrics": {"loss": 0.5, "acc": 0.75}}, ended(epochs=2)]:
        console(ev)
    text = out.getvalue()
    assert console.epochs == 2 and console.steps == 10 and console.view.bad_events == 1
    assert "Run r1: spiral on cpu (cpu, fp32)" in text and "Epoch 1/2  5/10 [" in text
    assert "Epoch 1/2 [========================] 2.0s 90 samples/s - loss: 0.4000" in text and " *\n" in text
    assert "warning: careful\n" in text and "[paused]\n" in text and "Test: test_loss: 0.5000" in text
    assert text.endswith("Run completed: trained 2 epochs (9s)\n")
