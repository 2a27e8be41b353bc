"""The Runs pane over many runs (issue 28, scale): the first listing reads the newest run
directories only; while the pane is hidden it stops there (the app starts unslowed by the
rest), and when it is shown it lists every run, then logged runs' figures."""

from __future__ import annotations

import time

import helpers
from helpers import wait_for
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.ui.panes import runs_listing as runs_module


async def test_a_long_list_shows_the_newest_first_and_the_rest_when_shown(tmp_path, monkeypatch):
    monkeypatch.setattr(runs_module, "FIRST_SCREEN", 2)
    root = tmp_path / "runs"
    now = time.time()
    ids = []
    for i in range(3):
        preset = P.load("xor")
        run = R.create(root, P.run_name(preset), P.dumps(preset), preset=preset.name)
        run.write_status(status="completed", started=now - 100 * (4 - i), ended=now - 100 * (4 - i) + 5, epoch=1,
                         epochs=1)
        ids.append(run.id)
    logged = helpers.logged_run(root, "script", metrics=("train/loss", "val/acc"), steps=10, t0=now)
    app = helpers.make_app(None, runs_root=root, runs_interval=None, defer_panes=False)  # the Runs pane there, hidden
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.panes["runs"]
        await wait_for(pilot, lambda: pane.table.row_count == 2, what="the newest runs")
        await pilot.pause(0.5)
        assert pane.scans == 0 and pane.table.row_count == 2  # hidden: no more than the newest
        assert {r.id for r in pane.rows} == set(sorted([*ids, logged.id])[-2:])  # (ids begin with the time)
        assert all(r.logged.pending for r in pane.rows if r.logged is not None)  # no events read yet
        await pilot.press("5")
        await wait_for(pilot, lambda: pane.scans > 0, what="the whole listing")
        assert pane.table.row_count == 4 and {r.id for r in pane.rows} == {*ids, logged.id}
        row = next(r for r in pane.rows if r.id == logged.id)
        assert not row.logged.pending and row.epochs_text == "step 9 · 2 metrics"


async def test_the_timer_lists_a_costly_root_less_often(tmp_path):
    root = tmp_path / "runs"
    preset = P.load("xor")
    R.create(root, P.run_name(preset), P.dumps(preset), preset=preset.name).write_status(status="completed")
    app = helpers.make_app(None, runs_root=root, runs_interval=None)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await helpers.runs_shown(pilot, app)
        await wait_for(pilot, lambda: not pane._scanning, what="the listing done")
        pane._scan_cost = 60.0  # a listing that took a minute: the next waits ten
        pane._timed_refresh()
        assert not pane._scanning
        pane._scan_cost = 0.0
        pane._timed_refresh()
        assert pane._scanning
