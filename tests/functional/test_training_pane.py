"""The Training pane inside the real app: controls and their keys, the hyperparameter
form, the event stream (every type, garbage included), charts and test results.

Runs are replayed from recorded fixtures or are "live" runs whose trainer is this test
process (a real run directory whose status names our pid): the controls write real
command files, and events are appended with the real EventWriter. The one test that
launches the real trainer is in test_app.py.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from textual.widgets import Button, Input, RichLog

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.run.events import EventWriter, read_events
from tuidl.ui.app import TuidlApp
from tuidl.ui.widgets.charts import MetricChart
from tuidl.ui.follow import Follower
from tuidl.ui.messages import FollowEnded
from tuidl.ui.widgets.form import FieldEditor
from tuidl.ui.messages import RunEvents
from tuidl.ui.widgets.results import ResultsView, confusion_renderable, samples_renderable
from tuidl.ui.panes.training import RunProgress, fmt_duration, progress_text

from helpers import FIXTURES, SIZE, make_app, screen_lines, started, text_of, wait_for

RUNS = FIXTURES / "runs"


def fixture_run(name: str) -> R.RunDir:
    path = RUNS / name
    if not (path / "events.jsonl").is_file():
        pytest.skip(f"fixture run {name} is not recorded yet")
    return R.RunDir(path)


def live_run(tmp_path: Path, preset: P.Preset, epochs: int = 5, steps: int = 10) -> tuple[R.RunDir, EventWriter]:
    """A run directory whose 'trainer' is this process: live for as long as the test."""
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    run.write_status(status="running", pid=os.getpid(), host=socket.gethostname())
    writer = EventWriter(run.events_path)
    writer.write(started(epochs=epochs, steps=steps, t=time.time(), run_id=run.id, preset=preset.name,
                         batch_size=16, summary={"total": 182}, device_name="test cpu", pid=os.getpid(),
                         data={"dataset": "spiral", "input_shape": [4], "classes": ["negative", "positive"],
                               "sizes": {"train": 350, "val": 75, "test": 75}}))
    return run, writer


def commands(run: R.RunDir) -> list[str]:
    return sorted(name.rsplit("-", 1)[-1] for name in os.listdir(run.control_dir) if not name.startswith("."))


async def replayed(pilot, app: TuidlApp) -> None:
    await wait_for(pilot, lambda: app.panes["training"].controls.state == "ended", what="the replay to end")


# -- controls ------------------------------------------------------------------------


async def test_attach_follow_live_and_every_control(tmp_path):
    """Attach shows the history, then live events; each control has a button and a key
    and writes the real command file; the end of the run rings the bell."""
    preset = P.load("spiral")
    run, writer = live_run(tmp_path, preset)
    writer.emit("epoch", epoch=1, step=10, train={"loss": 0.9, "acc": 0.5}, val={"loss": 0.95, "acc": 0.5},
                lr=0.03, samples_per_s=100.0, duration=1.0, best=True)
    app = make_app(preset, attach=run, system_interval=None, telemetry=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.panes["training"]
        await wait_for(pilot, lambda: len(pane.run_charts.curves.epoch["loss"]) == 1, what="the history")
        assert pane.controls.state == "live" and app.session.live
        assert pane.query_one("#btn-start", Button).disabled
        assert not pane.query_one("#btn-pause", Button).disabled
        assert pane.query_one("#train-settings").disabled  # no edits while a run trains
        writer.emit("step", epoch=2, step=15, epoch_step=5, loss=0.8, acc=0.6, lr=0.03, samples_per_s=120.0)
        await wait_for(pilot, lambda: pane.view.progress.step == 15, what="a live step")
        # the progress line follows on the pane's clock (at most once a second)
        await wait_for(pilot, lambda: "epoch 2/5 · step 5/10" in text_of(pane.query_one("#train-progress")),
                       timeout=3, what="the progress line")

        # keyboard paths
        await pilot.press("p", "c")
        assert commands(run) == ["checkpoint", "pause"]
        for name in os.listdir(run.control_dir):
            os.unlink(run.control_dir / name)

        # the trainer confirms the pause: the button turns into Resume
        writer.emit("control", action="paused")
        await wait_for(pilot, lambda: pane.controls.state == "paused", what="paused state")
        assert str(pane.query_one("#btn-pause", Button).label) == "Resume [p]"
        await pilot.click("#btn-pause")
        assert commands(run) == ["resume"]
        writer.emit("control", action="resumed")
        await wait_for(pilot, lambda: pane.controls.state == "live", what="resumed state")
        assert str(pane.query_one("#btn-pause", Button).label) == "Pause [p]"

        await pilot.click("#btn-checkpoint")
        await pilot.click("#btn-stop")
        await pilot.press("x")
        assert commands(run) == ["checkpoint", "resume", "stop", "stop"]

        # the run ends: controls go back, the form is editable again, the log says so
        writer.emit("control", action="stop_requested")
        writer.emit("checkpoint", epoch=1, kind="last", reason="stop", path="checkpoints/last.pt")
        writer.emit("run_ended", status="stopped", message="stop requested", epochs_completed=1, best=None,
                    test=None, duration=3.0)
        await wait_for(pilot, lambda: pane.controls.state == "ended", what="ended state")
        assert app.bells == 1 and "stopped" in app.title
        assert not pane.query_one("#btn-start", Button).disabled
        assert pane.query_one("#btn-pause", Button).disabled
        assert pane.query_one("#btn-stop", Button).disabled
        assert not pane.query_one("#train-settings").disabled
        log = "\n".join(line.text for line in pane.query_one("#event-log", RichLog).lines)
        assert "stop requested" in log and "run ended: stopped" in log and "checkpoint last saved" in log
        assert not app.session.live
        # nothing to control now: the keys are off (the footer greys them)
        await pilot.press("p")
        assert commands(run) == ["checkpoint", "resume", "stop", "stop"]
        assert app.check_action("pause", ()) is None and app.check_action("start", ()) is True
    writer.close()


async def test_a_trainer_that_dies_silently_is_reported(tmp_path):
    preset = P.load("spiral")
    run, writer = live_run(tmp_path, preset)
    writer.close()
    app = make_app(preset, attach=run, system_interval=None, telemetry=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.panes["training"].view.progress.epochs == 5, what="run_started")
        assert app.session.live
        (run.path / "trainer.err").write_text("Traceback (most recent call last):\nRuntimeError: boom\n")
        run.write_status(status="running", pid=99_999_999)  # no such process
        await wait_for(pilot, lambda: not app.session.live, timeout=10, what="the follower to notice")
        assert app.panes["training"].controls.state == "ended" and app.bells == 1
        assert any("gone" in n.message for n in app.notes)
        log = "\n".join(line.text for line in app.panes["training"].run_charts.event_log.lines)
        assert "ended without a word: interrupted" in log and "RuntimeError: boom" in log


async def test_hyperparameter_form(tmp_path):
    """Bad values show an error and leave the preset alone; good ones reach every pane;
    edits from other panes show in the form; a preset that cannot train says why."""
    app = make_app(runs_root=tmp_path / "runs")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        pane = app.panes["training"]
        original = app.preset
        lr = next(e for e in pane.query(FieldEditor) if e.path == "train.optimizer.lr")
        field = lr.query_one(Input)

        async def type_into(editor: FieldEditor, text: str, keys: bool = False) -> None:
            editor.control.focus()
            editor.control.value = "" if keys else text
            await pilot.press(*(text if keys else ""), "enter")

        for n, bad in enumerate(("abc", "-1", "0", "100")):
            await type_into(lr, bad, keys=n == 0)
            assert lr.error, bad
            assert "✗" in text_of(lr.query_one(".fe-msg"))
            assert app.preset is original and app.preset.train.optimizer.lr == 0.03
        assert field.has_class("-invalid")

        await type_into(lr, "0.01")
        # the edit travels as messages (editor -> pane -> app): wait for it, a loaded machine lags
        await wait_for(pilot, lambda: app.preset.train.optimizer.lr == 0.01, what="lr applied")
        assert not lr.error
        assert app.preset is not original
        assert app.query_one("#builder-pane").preset.train.optimizer.lr == 0.01  # passed on
        assert "learning rate" in text_of(pane.query_one("#field-help"))  # focused field's help

        # fine alone but not with the rest: Nesterov momentum needs SGD with momentum
        pane.open_section("Optimizer details")
        await pilot.pause()
        nesterov = next(e for e in pane.query(FieldEditor) if e.path == "train.optimizer.nesterov")
        before = app.preset
        nesterov.control.value = True
        await wait_for(pilot, lambda: nesterov.error, what="nesterov refused")
        assert "sgd" in nesterov.error
        assert app.preset is before
        # fixing it elsewhere applies the pending change
        next(e for e in pane.query(FieldEditor) if e.path == "train.optimizer.name").control.value = "sgd"
        await pilot.pause()
        momentum = next(e for e in pane.query(FieldEditor) if e.path == "train.optimizer.momentum")
        await type_into(momentum, "0.9")
        await wait_for(pilot, lambda: app.preset.train.optimizer.momentum == 0.9, what="momentum applied")
        opt = app.preset.train.optimizer
        assert (opt.name, opt.momentum, opt.nesterov) == ("sgd", 0.9, True)
        assert not nesterov.error

        batch = next(e for e in pane.query(FieldEditor) if e.path == "data.batch_size")
        await type_into(batch, "64")
        await wait_for(pilot, lambda: app.preset.data.batch_size == 64, what="batch size applied")

        # an edit from another pane shows here
        from tuidl.ui.messages import PresetEdited

        edited = P.load("spiral", ["train.epochs=7", "train.optimizer.lr=0.2", "train.early_stopping.enabled=true",
                                   "model.layers.2.units=3"])
        app.query_one("#builder-pane").post_message(PresetEdited(edited, origin="builder"))
        await wait_for(pilot, lambda: app.preset is edited, what="the builder's edit")
        pane.open_section("Early stopping")
        await pilot.pause()
        values = {e.path: e.value for e in pane.query(FieldEditor)}
        assert values["train.epochs"] == 7 and values["train.optimizer.lr"] == 0.2
        assert values["train.early_stopping.enabled"] is True

        # that preset cannot train (3 outputs for 2 classes): the pane and Start say why
        note = pane.query_one("#train-settings-problem")
        assert note.display and "cannot start yet" in text_of(note)
        await pilot.click("#btn-start")
        await wait_for(pilot, lambda: not app.session.launching and app.notes, what="the error")
        assert any("model.layers[2]" in n.message for n in app.notes)
        assert app.session.run is None and pane.controls.state == "idle"
        assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# -- replays ---------------------------------------------------------------------------


def trained(tmp_path: Path, name: str, overrides: list[str] = ()) -> R.RunDir:
    """A real run of a built-in preset by tuidl's trainer, in this process."""
    from tuidl.core.train import Trainer

    preset = P.load(name, list(overrides))
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    assert Trainer(preset, run, handle_signals=False).run() == "completed"
    return run


async def test_a_builtin_preset_as_shipped_shows_its_test_figure_against_the_claimed_range(tmp_path):
    """The trainer puts the preset's range (presets/reference.json) in run_started; the
    results view says where the run's test figure falls. gauss as shipped trains in a
    second or two."""
    from tuidl.core.preset import reference
    from tuidl.ui.widgets.results import WHERE_WORDS

    run = trained(tmp_path, "gauss")
    events = read_events(run.events_path)
    ref = next(e for e in events if e["type"] == "run_started")["reference"]
    assert ref == reference.of_name("gauss") and ref["metric"] == "acc"
    acc = next(e for e in events if e["type"] == "test")["metrics"]["acc"]
    where = reference.place(ref, {"acc": acc}).where
    assert where == ("below" if acc < ref["low"] else "above" if acc > ref["high"] else "within")
    app = make_app(P.load(run.preset_path), replay=run, low_bandwidth=True)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        shown = text_of(app.panes["training"].query_one("#test-reference"))
        assert app.panes["training"].query_one("#test-reference").display
    assert "gauss as shipped, 5 seeds:" in shown
    assert f"{100 * ref['low']:.1f}%–{100 * ref['high']:.1f}% test accuracy" in shown
    assert f"This run {100 * acc:.1f}%: {WHERE_WORDS[where]}" in shown
    assert "●" in shown

    # the preset changed: the range is not its, and the view says nothing of it
    run = trained(tmp_path, "gauss", ["train.epochs=2"])
    assert "reference" not in next(e for e in read_events(run.events_path) if e["type"] == "run_started")
    app = make_app(P.load(run.preset_path), replay=run, low_bandwidth=True)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        assert text_of(app.panes["training"].query_one("#test-metrics")).startswith("Test")
        assert text_of(app.panes["training"].query_one("#test-reference")).strip() == ""
        assert not app.panes["training"].query_one("#test-reference").display  # no blank line in its place


def test_the_range_gauge_puts_the_figure_inside_the_bracket_only_when_it_is_in_the_range():
    from tuidl.core.preset.reference import place
    from tuidl.ui.widgets.results import gauge, reference_text

    ref = {"metric": "acc", "median": 0.67, "low": 0.64, "high": 0.69, "seeds": 5}
    for acc, where in ((0.66, "within"), (0.64, "within"), (0.60, "below"), (0.75, "above")):
        line = gauge(place(ref, {"acc": acc})).plain
        dot, left, right = line.index("●"), line.find("├"), line.find("┤")
        assert line.count("●") == 1
        if where == "within":  # the dot may sit on an end of the bracket
            assert (left == -1 or left < dot) and (right == -1 or dot < right), line
        elif where == "below":
            assert dot < left, line
        else:
            assert right < dot, line
    text = reference_text(place(ref, {"acc": 0.60}), "mnist1d-mlp").plain
    assert "mnist1d-mlp as shipped, 5 seeds: 64.0%–69.0% test accuracy (median 67.0%)" in text
    assert "This run 60.0%: below the range (worse than those seeds)" in text
    loss = {"metric": "loss", "median": 0.02, "low": 0.01, "high": 0.03, "seeds": 5}
    assert "below the range (better than those seeds)" in reference_text(place(loss, {"loss": 0.005})).plain
    assert reference_text(None) == ""


async def test_replay_fills_the_charts_and_shows_the_test_results():
    run = fixture_run("spiral-demo")
    events = read_events(run.events_path)
    epochs = [e for e in events if e["type"] == "epoch"]
    test = next(e for e in events if e["type"] == "test")
    app = make_app(P.load(run.preset_path), replay=run, low_bandwidth=True)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        pane = app.panes["training"]
        c = pane.run_charts.curves
        assert len(c.epoch["loss"]) == len(epochs) == len(c.epoch["val_loss"]) == len(c.epoch["val_metric"])
        assert list(c.epoch["loss"].xs) == [float(e["epoch"]) for e in epochs]
        assert list(c.epoch["val_loss"].ys) == pytest.approx([e["val"]["loss"] for e in epochs])
        assert len(c.step["val_loss"]) == len(epochs)
        assert c.step["val_loss"].xs[-1] == epochs[-1]["step"]
        assert pane.view.progress.status == "completed" and pane.view.progress.fraction == 1.0
        assert "100%" in text_of(pane.query_one("#train-progress"))
        # charts draw on their own timers
        await wait_for(pilot, lambda: pane.query_one("#loss-chart", MetricChart).redraws > 0, what="a redraw")
        assert "waiting" not in pane.query_one("#loss-chart", MetricChart).render_text(60, 16)
        # the results: metrics, confusion matrix, samples
        results = pane.query_one(ResultsView)
        assert results.test_event == test
        assert pane.query_one("#train-tabs").active == "tab-results"
        metrics = text_of(results.query_one("#test-metrics"))
        assert f"{100 * test['metrics']['acc']:.1f}%" in metrics
        conf = test["confusion"]
        shown = text_of(results.query_one("#test-confusion"))
        assert "Confusion matrix" in shown
        for row in conf:
            for v in row:
                assert str(v) in shown
        assert "true" in text_of(results.query_one("#test-samples"))
        # the boundary plot got the run's boundary events
        assert pane.query_one("BoundaryPlot").display
        assert pane.query_one("BoundaryPlot").epoch == [e for e in events if e["type"] == "boundary"][-1]["epoch"]

        # chart toggles
        loss = pane.query_one("#loss-chart", MetricChart)
        lr = pane.query_one("#lr-chart", MetricChart)
        assert loss.fps == 1 and app.animation_level == "none"  # --low-bandwidth
        assert loss.x_label == "step"
        await pilot.press("e")
        assert loss.x_label == "epoch" and pane.run_charts.x_axis == "epoch"
        assert loss._lines["train"].series is c.epoch["loss"]
        await pilot.press("e", "l")
        assert loss._lines["train"].series is c.step["loss"]
        assert loss.log_y and lr.log_y
        await pilot.press("l", "m")
        assert not loss.log_y
        assert loss.smooth == pytest.approx(0.6) and lr.smooth == 0
        await pilot.press("m")
        assert loss.smooth == 0
        assert "x: steps [e]" in text_of(pane.query_one("#chart-modes"))
        # hyperparameters fold away and come back
        assert pane.settings_visible()
        await pilot.press("h")
        assert not pane.settings_visible() and not pane.query_one("#train-settings").display
        await pilot.press("h")
        assert pane.query_one("#train-settings").display


async def test_replay_of_an_image_classifier_shows_a_10x10_matrix_and_images():
    run = fixture_run("digits-demo")
    events = read_events(run.events_path)
    test = next(e for e in events if e["type"] == "test")
    app = make_app(P.load(run.preset_path), replay=run)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        pane = app.panes["training"]
        assert pane.query_one("#metric-chart", MetricChart).title == "accuracy"
        assert not pane.query_one("BoundaryPlot").display  # not a 2-D dataset
        results = pane.query_one(ResultsView)
        assert results.test_event == test
        assert len(test["confusion"]) == 10
        shown = text_of(results.query_one("#test-confusion"))
        assert "recall" in shown and "9" in shown
        assert "▀" in text_of(results.query_one("#test-samples"))  # half-block images


def test_confusion_matrix_renderers():
    from rich.console import Console

    console = Console(width=120, record=True, file=open(os.devnull, "w"))
    console.print(confusion_renderable([[5, 1], [0, 4]], ["cat", "dog"]))
    text = console.export_text()
    assert "cat" in text and "dog" in text and "83%" in text and "100%" in text
    # many classes: one shaded cell per pair, the worst confusions listed
    k = 20
    m = [[(30 if i == j else (7 if (i, j) == (3, 5) else 0)) for j in range(k)] for i in range(k)]
    console.print(confusion_renderable(m, [f"c{i}" for i in range(k)]))
    text = console.export_text()
    assert "20 classes" in text and "c3→c5 (7)" in text
    assert "no confusion matrix" in str(confusion_renderable("garbage"))
    regression = samples_renderable([{"true": [1.0], "pred": [0.5], "input": [0.1, 0.2]}], task="regression")
    console.print(regression)
    assert "err 0.5" in console.export_text()


def test_progress_line():
    p = RunProgress(epochs=10, steps_per_epoch=20, batch_size=10, epoch=3, epoch_step=10, epochs_done=2,
                    samples_per_s=100.0)
    assert p.fraction == pytest.approx(0.25)
    assert p.eta() == pytest.approx(7.5 * 20 * 10 / 100)
    p.epoch_seconds = [4.0, 6.0]
    assert p.eta() == pytest.approx(7.5 * 5.0)
    text = progress_text(p).plain
    assert "epoch 3/10" in text and "step 10/20" in text and "25%" in text and "ETA 37s" in text
    assert "100 samples/s" in text
    p.status, p.duration = "completed", 75.0
    assert "completed in 1m15s" in progress_text(p).plain
    assert fmt_duration(4000) == "1h06m" and fmt_duration(float("nan")) == "—"
    assert "No run yet" in progress_text(RunProgress()).plain


async def test_every_event_type_garbage_and_unknown_types(tmp_path):
    """Each documented type is handled; unknown types, junk and a torn line are not fatal."""
    preset = P.load("spiral")
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    lines = [
        started(epochs=2, steps=4, run_id=run.id,
                data={"classes": ["negative", "positive"], "input_shape": [2], "sizes": {"train": 32}}),
        {"type": "telemetry", "time": 100.5, "gpus": [], "host": {"cpu": 5}, "problem": "no GPU here"},
        {"type": "step", "time": 101.0, "epoch": 1, "step": 2, "epoch_step": 2, "loss": 0.7, "acc": 0.5,
         "lr": 0.1, "samples_per_s": 80.0},
        {"type": "step", "time": 101.2, "epoch": 1, "step": "three"},  # malformed: logged once
        {"type": "step", "time": 101.5, "epoch": 1, "step": 3, "epoch_step": 3, "loss": "nan", "acc": 0.5,
         "lr": 0.1, "samples_per_s": 80.0},
        {"type": "epoch", "time": 102.0, "epoch": 1, "step": 4, "train": {"loss": 0.6, "acc": 0.6},
         "val": None, "lr": 0.1, "samples_per_s": 90.0, "duration": 2.0, "best": False},
        {"type": "boundary", "time": 102.1, "epoch": 1, "extent": [-1, 1, -1, 1], "size": 2,
         "values": [[0.1, 0.9], [0.4, 0.6]], "points": [[0, 0, 1]]},
        {"type": "checkpoint", "time": 102.2, "epoch": 1, "kind": "best", "reason": "epoch",
         "path": "checkpoints/best.pt"},
        {"type": "control", "time": 102.3, "action": "paused"},
        {"type": "control", "time": 102.4, "action": "resumed"},
        {"type": "control", "time": 102.5, "action": "checkpoint_requested"},
        {"type": "note", "time": 102.6, "level": "warning", "kind": "lr_drop", "message": "lr 0.1 → 0.01"},
        {"type": "note", "time": 102.7, "level": "info", "kind": "early_stop", "message": "early stopping: done"},
        {"type": "note", "time": 102.8, "level": "error", "kind": "divergence", "message": "the loss became nan"},
        {"type": "something_new", "time": 103.0, "whatever": [1, 2, 3]},
        {"type": "test", "time": 104.0, "metrics": {"loss": 0.5, "acc": 0.75},
         "confusion": [[3, 1], [1, 3]], "samples": [{"true": 1, "pred": 0, "input": [0.5, -0.5]}]},
        {"type": "run_ended", "time": 105.0, "status": "diverged", "message": "the loss became nan",
         "epochs_completed": 1, "best": {"epoch": 1, "monitor": "val_acc", "value": 0.75}, "test": None,
         "duration": 5.0},
    ]
    with open(run.events_path, "w") as f:
        for ev in lines[:5]:
            f.write(json.dumps(ev) + "\n")
        f.write("{this is not json\n")
        f.write("[1, 2, 3]\n")
        for ev in lines[5:]:
            f.write(json.dumps(ev) + "\n")
        f.write('{"type": "step", "time": 106, "ep')  # torn last line
    run.write_status(status="diverged")
    app = make_app(preset, replay=run)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        pane = app.panes["training"]
        log = "\n".join(line.text for line in pane.query_one("#event-log", RichLog).lines)
        for expected in ("run started", "epoch 1: loss 0.6000", "checkpoint best saved", "paused", "resumed",
                         "checkpoint requested", "lr 0.1 → 0.01", "early stopping: done",
                         "DIVERGED: the loss became nan", "Test  loss 0.5000", "run ended: diverged",
                         "best val_acc 75.0%", "telemetry: no GPU here", "ignored a malformed step event"):
            assert expected in log, expected
        assert pane.bad_events == 1
        assert len(pane.run_charts.curves.step["loss"]) == 3  # two step events + the epoch mean
        assert pane.query_one("BoundaryPlot").epoch == 1
        assert pane.query_one(ResultsView).test_event is not None
        assert pane.view.progress.status == "diverged"
        assert "+5s" in log  # times are relative to the run's start


# -- following -----------------------------------------------------------------------------


async def test_follower_batches_and_replays_in_real_time(tmp_path):
    """Events travel in batches; speed N replays N× faster than they were written."""
    from textual.app import App

    run = R.create(tmp_path / "runs", "x", P.dumps(P.load("spiral")))
    with EventWriter(run.events_path) as w:
        for i in range(300):
            w.write({"type": "step", "time": 1000.0 + i * 0.01, "step": i, "loss": 1.0})
        w.write({"type": "run_ended", "time": 1003.0, "status": "completed", "message": "done"})

    class Sink(App):
        def __init__(self):
            super().__init__()
            self.batches: list[int] = []
            self.ended: FollowEnded | None = None

        def on_run_events(self, m: RunEvents) -> None:
            self.batches.append(len(m.events))
            if m.taken is not None:
                m.taken()  # the follower holds back the next batch until this one is handled

        def on_follow_ended(self, m: FollowEnded) -> None:
            self.ended = m

    from tuidl.ui.follow import follow

    sink = Sink()
    async with sink.run_test() as pilot:
        follow(sink, run, replay=True, speed=0)
        await wait_for(pilot, lambda: sink.ended is not None, what="fast replay")
        assert sum(sink.batches) == 301 and len(sink.batches) == 1
        assert sink.ended.status == "completed" and sink.ended.replay

        sink.batches.clear()
        sink.ended = None
        t0 = time.monotonic()
        follow(sink, run, replay=True, speed=3.0)  # 3 s of events in about 1 s
        await wait_for(pilot, lambda: sink.ended is not None, what="timed replay")
        took = time.monotonic() - t0
        assert 0.8 < took < 3.0, took
        assert sum(sink.batches) == 301
        assert 3 <= len(sink.batches) <= 20  # grouped per tick, not one message per event


def test_a_fast_replay_waits_for_the_ui(tmp_path):
    """At most MAX_PENDING batches are posted and not yet handled: a replay never piles
    up events in the message queue, however slow the receiver."""
    import threading

    from tuidl.ui.follow import MAX_BATCH, MAX_PENDING

    run = R.create(tmp_path / "runs", "x", P.dumps(P.load("spiral")))
    with EventWriter(run.events_path) as w:
        for i in range(MAX_BATCH * 6):
            w.write({"type": "step", "time": 1000.0 + i * 0.001, "step": i, "loss": 1.0})
        w.write({"type": "run_ended", "time": 1100.0, "status": "completed", "message": "done"})

    class SlowTarget:
        def __init__(self):
            self.waiting: list[RunEvents] = []
            self.most_waiting = 0
            self.events = 0
            self.lock = threading.Lock()

        def post_message(self, m):
            with self.lock:
                if isinstance(m, RunEvents):
                    self.waiting.append(m)
                    self.most_waiting = max(self.most_waiting, len(self.waiting))
            return True

        def handle_one(self) -> bool:
            with self.lock:
                if not self.waiting:
                    return False
                m = self.waiting.pop(0)
            self.events += len(m.events)
            m.taken()
            return True

    target = SlowTarget()
    follower = Follower(run, target, replay=True)  # type: ignore[arg-type]
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(follower()))
    thread.start()
    deadline = time.monotonic() + 30
    while thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)  # a slow UI
        target.handle_one()
    thread.join(5)
    while target.handle_one():
        pass
    assert result == ["completed"]
    assert target.events == MAX_BATCH * 6 + 1
    assert target.most_waiting == MAX_PENDING


def test_follower_survives_a_missing_file(tmp_path):
    """Polling before the trainer wrote anything is fine (and posts nothing)."""
    run = R.RunDir(tmp_path / "nothing-yet")

    class Target:
        def __init__(self):
            self.messages = []

        def post_message(self, m):
            self.messages.append(m)
            return True

    target = Target()
    follower = Follower(run, target, replay=True)  # type: ignore[arg-type]
    assert follower() in ("unknown", "detached")
    assert [type(m).__name__ for m in target.messages] == ["FollowEnded"]


async def test_overfitting_is_marked_on_the_loss_chart_and_explained(tmp_path):
    """A replayed run whose validation loss turns up while training loss falls: the
    loss chart draws a line at the turn, its tooltip and the line under the charts say
    what it means, and ``o`` steps to the next mark (early stopping's kept epoch)."""
    from helpers import ended, epoch, started

    train = [1.0, 0.7, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1]
    val = [1.0, 0.8, 0.6, 0.55, 0.6, 0.7, 0.8, 0.9]
    run = R.create(tmp_path / "runs", "spiral", P.dumps(P.load("spiral")))
    writer = EventWriter(run.events_path)
    for ev in [started(epochs=8)] + [epoch(i + 1, 10 * (i + 1), loss=t, val_loss=v, best=i == 3)
                                     for i, (t, v) in enumerate(zip(train, val))]:
        writer.write(ev)
    writer.write({"type": "note", "time": 103.0, "level": "info", "kind": "restore_best",
                  "message": "restored the weights of epoch 4"})
    end = ended(epochs=8)
    end["best"] = {"epoch": 4, "monitor": "val_loss", "value": 0.55}
    writer.write(end)
    writer.close()
    run.write_status(status="completed")
    app = make_app(P.load("spiral"), replay=run, low_bandwidth=True)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        charts = app.panes["training"].run_charts
        assert [(m.kind, m.epoch, m.step) for m in charts.fit_marks] == [("kept", 4, 40.0), ("overfit", 4, 40.0)]
        chart = app.panes["training"].query_one("#loss-chart", MetricChart)
        chart.redraw()
        assert len(chart.mark_columns) == 1  # both marks are at step 40: one line
        column, marks = chart.mark_columns[0]
        assert {m.text for m in marks} == {m.text for m in charts.fit_marks}
        # the mouse over the line explains it; elsewhere no tooltip
        await pilot.hover(chart, offset=(column, 5))
        await wait_for(pilot, lambda: chart.tooltip is not None, what="the mark's tooltip")
        assert "early stopping kept this epoch's weights" in str(chart.tooltip)
        assert "validation loss starts rising (0.55 → 0.9)" in str(chart.tooltip)
        # two marks: which they are, until o explains one (the first press explains the
        # first: it never swaps an explanation that was showing for another, issue 24)
        note = text_of(app.panes["training"].query_one("#fit-note"))
        assert note.strip() == "┃ epoch 4: its weights kept  ┃ epoch 4: overfitting begins  (o explains each)", note
        await pilot.press("o")
        note = text_of(app.panes["training"].query_one("#fit-note"))
        assert "early stopping kept" in note and "(1/2, o: next)" in note
        await pilot.press("o")
        note = text_of(app.panes["training"].query_one("#fit-note"))
        assert "overfitting" in note and "(2/2, o: next)" in note
        await pilot.press("o")
        assert "(1/2, o: next)" in text_of(app.panes["training"].query_one("#fit-note"))
        await pilot.press("o")
        # how the run ended comes first on the state line; a line too narrow cuts the run's id
        # (it read "○ ended  replay of" and "○ ended  RUN:", the rest wrapped out of sight)
        state = next(line for line in screen_lines(app) if "○ ended" in line)
        assert "○ ended  completed · replay of " in state, state
        # the whole explanation shows, also at 80 columns (it stopped at "weight decay or")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        shown = " ".join(line.strip() for line in screen_lines(app))
        assert "try dropout, weight decay or early stopping  (2/2, o: next)" in shown, shown
        state = next(line for line in screen_lines(app) if "○ ended" in line).rstrip()
        assert "○ ended  completed · replay of " in state and state.endswith("…"), state
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        # on the epoch axis the line moves to epoch 4
        await pilot.press("e")
        chart.redraw()
        assert chart.marks_shown and chart.marks_shown[0].x == 4.0


async def test_a_batch_that_arrives_while_the_dashboard_closes_is_dropped():
    """The follower can deliver a batch after the dashboard began to close (a run that
    ended just before ``q``, or a test leaving ``run_test``): its test event used to reach
    a Results view already taken down (NoMatches '#test-metrics', the app's exit code 1).
    It is dropped, and the follower is still told it was taken."""
    from tuidl.ui.messages import RunEvents

    run = fixture_run("spiral-demo")
    test = next(e for e in read_events(run.events_path) if e["type"] == "test")
    app = make_app(P.load(run.preset_path), replay=run, low_bandwidth=True)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        run_id = app.session.run.id
        results = app.panes["training"].query_one(ResultsView)
        results.test_event = None
    taken = []
    app.on_run_events(RunEvents(run_id, [test], taken=lambda: taken.append(True)))  # after the shutdown
    assert taken == [True] and results.test_event is None


async def test_a_run_end_that_arrives_while_the_dashboard_closes_is_dropped():
    """The same for the follower's last word: a trainer that ended just as the dashboard
    closed (seen in the suite: ScreenStackError 'No screens on stack' from the run's end,
    the app's exit code 1). Nothing is left to show it on; the run's folder has it."""
    from tuidl.ui.messages import FollowEnded

    run = fixture_run("spiral-demo")
    app = make_app(P.load(run.preset_path), replay=run, low_bandwidth=True)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        run_id = app.session.run.id
    app.on_follow_ended(FollowEnded(run_id, "failed", "killed"))  # after the shutdown: no error
    assert app.session.run.id == run_id
