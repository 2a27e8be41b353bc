"""Sweeps in the dashboard (issue 18, item 5), without starting a process: the Runs pane
groups a sweep's trials under one row (from the sweep tags in their status files), enter
there opens the sweep's view, the queue's waiting entries are listed first (d takes one
out), and the Training
pane's sweep dialog refuses a bad sweep with the sweep parser's own message, naming the
key, before anything starts. Starting a real sweep from the dialog is in
tests/e2e/test_sweep_dialog_e2e.py."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.run.runlist import SweepGroup, group_rows, scan_runs
from tuidl.core.sweep.text import params_short
from tuidl.core.sweep.queue import Queue
from tuidl.ui.screens.sweep import SweepScreen
from tuidl.ui.screens.sweepstart import SweepRequest, SweepStartScreen, check_request

from helpers import SIZE, copy_fixture, make_app, screen_text, wait_for


def trial(root: Path, run_id: str, sweep_id: str, number: int, lr: float, val_loss: float,
          status: str = "completed", later: float = 0.0) -> R.RunDir:
    """The recorded spiral run under a new id (``later`` seconds later), tagged as trial
    ``number`` of a sweep."""
    run = copy_fixture(root, "spiral-demo", run_id, shift_days=later / 86400.0)
    st = run.read_status()
    st.update(status=status, best={"monitor": "val_loss", "value": val_loss, "epoch": 3},
              sweep={"id": sweep_id, "study": sweep_id, "trial": number, "params": {"train.optimizer.lr": lr}})
    R.write_json(run.status_path, st)
    return run


def make_runs(root: Path) -> None:
    root.mkdir(parents=True)
    trial(root, "t0", "sw1", 0, 0.001, 0.40, later=10)
    trial(root, "t1", "sw1", 1, 0.01, 0.20, later=20)
    trial(root, "t2", "sw1", 2, 0.1, 0.90, status="pruned", later=30)
    copy_fixture(root, "spiral-demo", "plain")


def test_group_rows_gathers_each_sweeps_trials_in_order(tmp_path):
    make_runs(tmp_path / "runs")
    listed = group_rows(scan_runs(tmp_path / "runs"))
    groups = [g for g in listed if isinstance(g, SweepGroup)]
    assert len(groups) == 1 and len(listed) == 2  # the sweep and the plain run
    group = groups[0]
    assert [t.id for t in group.trials] == ["t0", "t1", "t2"]  # by trial number
    assert group.best.id == "t1"  # the lowest val_loss
    assert group.counts() == {"completed": 2, "pruned": 1}
    assert group.key == "sweep:sw1" and not group.live
    assert params_short({"train.optimizer.lr": 0.003, "model.layers.0.units": 8}) == "lr=0.003 units=8"
    assert params_short({"a.b": "x" * 50}, width=10) == "b=xxxxxxx…"


async def test_the_runs_pane_shows_a_sweep_as_a_group_and_enter_opens_it(tmp_path):
    root = tmp_path / "runs"
    make_runs(root)
    Queue(root).add("run", "spiral", preset=P.dumps(P.load("spiral")))
    app = make_app(runs_root=root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        pane = app.panes["runs"]
        await wait_for(pilot, lambda: pane.scans and pane.groups, what="the listing")
        keys = pane._shown_ids
        assert keys.index("sweep:sw1") + 1 == keys.index("t0") and keys[keys.index("t0"):][:3] == ["t0", "t1", "t2"]
        text = screen_text(app)
        assert "4 runs (1 sweep)" in text and "1 queued" in text
        assert "sweep sw1" in text and "3/3 trials" in text and "val_loss=0.2000 #1" in text
        assert "└ #1 lr=0.01" in text and "└ #2 lr=0.1" in text
        # a trial is an ordinary run
        pane.select("t1")
        assert pane.selected().id == "t1"
        # the sweep's row: the actions on runs say so, enter opens the sweep
        pane.table.move_cursor(row=keys.index("sweep:sw1"), animate=False)
        await pilot.pause()
        assert pane.selected() is None and pane.selected_group().id == "sw1"
        assert "enter opens the sweep" in screen_text(app)
        await pilot.press("r")
        assert "this row is a sweep" in app.notes[-1].message
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen), what="the sweep view")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, SweepScreen), what="it to close")
        # the queue's waiting entry: the first row; d takes it out of the queue
        assert keys[0] == "queue:q1" and "⧗ queued #1" in text and "queue q1" in text
        pane.table.move_cursor(row=0, animate=False)
        await pilot.pause()
        assert "waits for a free GPU or CPU slot" in screen_text(app)
        await pilot.press("u")
        assert "this row waits in the queue" in app.notes[-1].message
        await pilot.press("d")
        assert [e.status for e in Queue(root).entries()] == ["cancelled"]
        await wait_for(pilot, lambda: "queue:q1" not in pane._shown_ids, what="the entry to leave the list")
        assert "queued" not in screen_text(app).split("\n")[3]


def test_check_request_is_the_sweep_parsers_own_check():
    preset = P.load("xor")
    assert check_request(preset, SweepRequest("grid", ["train.optimizer.lr=1e-3,1e-2"], 20, 1)) == ""
    assert "train.optimizer.lrr" in check_request(preset, SweepRequest("grid", ["train.optimizer.lrr=1,2"], 20, 1))
    problem = check_request(preset, SweepRequest("search", ["train.optimizer.lr=log:0:1"], 20, 1))
    assert "train.optimizer.lr" in problem and "above 0" in problem
    assert "nothing to sweep" in check_request(preset, SweepRequest("grid", [], 20, 1))
    assert "--parallel" in check_request(preset, SweepRequest("grid", ["train.optimizer.lr=1e-3"], 20, 0))
    flags = SweepRequest("search", ["a=log:1:2"], 6, 2, queue=True).flags()
    assert flags == ["--search", "a=log:1:2", "--trials", "6", "--parallel", "2", "--queue"]
    assert SweepRequest("grid", ["a=1,2"], 6, 1).flags() == ["--grid", "a=1,2", "--parallel", "1", "--detach"]


async def test_the_sweep_dialog_refuses_a_bad_sweep_and_starts_nothing(tmp_path):
    root = tmp_path / "runs"
    app = make_app("xor", runs_root=root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "w")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepStartScreen), what="the sweep dialog")
        dialog = app.screen
        first = dialog.query_one("#sweep-key-0", Input)
        # the example is grey text, not a value: Enter on the empty dialog starts nothing and
        # says what to fill in (it came pre-filled with a 3×2 grid, 6 trials nobody chose)
        assert first.value == "" and first.placeholder == "e.g. train.optimizer.lr=1e-3,3e-3,1e-2"
        assert all(dialog.query_one(f"#sweep-key-{i}", Input).value == "" for i in range(4))
        assert dialog.query_one("#sweep-trials").disabled and app.focused is first
        await pilot.press("enter")
        assert dialog.problem.startswith("Vary 1: type a key and its values, e.g. train.optimizer.lr=1e-3,3e-3,1e-2")
        assert isinstance(app.screen, SweepStartScreen) and not dialog.starting
        assert "Vary 1: type a key" in screen_text(app)
        first.value = "train.optimizer.lrr=1e-3,1e-2"
        await pilot.press("enter")
        assert "train.optimizer.lrr" in dialog.problem and isinstance(app.screen, SweepStartScreen)
        # a search: the examples follow the kind, Trials can be set; a bad number is named
        dialog.query_one("#sweep-mode", Select).value = "search"
        await pilot.pause()
        assert first.value == "train.optimizer.lrr=1e-3,1e-2"  # what was typed stays
        key1 = dialog.query_one("#sweep-key-1", Input)
        assert key1.value == "" and key1.placeholder == "e.g. model.layers.0.units=int:4:32"
        assert not dialog.query_one("#sweep-trials").disabled
        first.value = "train.optimizer.lr=log:1e-4:1e-1"
        dialog.query_one("#sweep-parallel", Input).value = "0"
        dialog.action_submit(False)
        assert "--parallel" in dialog.problem
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, SweepStartScreen), what="it to close")
    assert not (root / "sweeps").exists()  # nothing was started
