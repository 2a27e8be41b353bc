"""Runs that outlive the dashboard, with the real trainer process.

* a trainer killed (SIGKILL) in the middle of an epoch leaves a readable run that
  reads as ``interrupted`` and resumes from the dashboard; two dashboards attached to
  the resumed run both follow it, and pause / checkpoint / resume work from either;
* SIGHUP to a dashboard (the real ``tuidl`` in a pseudo-terminal) that started a run
  ends the dashboard, not the run; a new dashboard reattaches to the whole history;
* a headless ``tuidl train`` (as under nohup) is attached to like any run, and what a
  dashboard that followed it live shows equals a replay of its directory afterwards;
* a recorded run fed live and replayed gives the same charts and results;
* two runs at once write two separate, complete directories.

Every wait has a timeout; processes started here are ended here on failure.
"""

from __future__ import annotations

import os
import socket
import time


from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.run.events import EventWriter, read_events
from tuidl.ui.app import TuidlApp
import helpers
from helpers import FIXTURES, SIZE, make_app, wait_for

RUNS = FIXTURES / "runs"


def pane_state(app: TuidlApp) -> dict:
    """What the Training pane shows of a run: every series, progress and test results."""
    pane = app.panes["training"]
    curves = {}
    for axis, group in (("step", pane.run_charts.curves.step), ("epoch", pane.run_charts.curves.epoch)):
        for key, series in group.items():
            curves[f"{axis}.{key}"] = (list(series.xs), [round(float(y), 9) for y in series.ys])
    p = pane.view.progress
    return {"curves": curves, "test": (pane.view.test or {}).get("metrics"),
            "confusion": (pane.view.test or {}).get("confusion"), "status": p.status,
            "epochs_done": p.epochs_done, "step": p.step, "epochs": p.epochs}


# -- SIGKILL in the middle of an epoch ----------------------------------------------------


# -- SIGHUP to the dashboard -------------------------------------------------------------------


# -- headless runs ---------------------------------------------------------------------------


async def test_a_recorded_run_fed_live_and_replayed_shows_the_same(tmp_path):
    """The fixture's events written into a live run directory a few at a time, followed
    by an attached dashboard, then the fixture replayed: same series, same results."""
    fixture = R.RunDir(RUNS / "spiral-demo")
    events = read_events(fixture.events_path)
    preset = P.load(fixture.preset_path)
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    run.write_status(status="running", pid=os.getpid(), host=socket.gethostname())
    live = make_app(preset, attach=run)
    with EventWriter(run.events_path) as w:
        async with live.run_test(size=SIZE) as pilot:
            for i in range(0, len(events), 40):
                for ev in events[i:i + 40]:
                    w.write(ev)
                await pilot.pause(0.02)
            run.write_status(status="completed")
            await wait_for(pilot, lambda: live.panes["training"].view.progress.status == "completed"
                           and live.panes["training"].controls.state == "ended", what="the live run's end")
            followed = pane_state(live)
    replay = make_app(preset, replay=fixture)
    async with replay.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay.panes["training"].controls.state == "ended", what="the replay")
        replayed = pane_state(replay)
    assert followed == replayed
    assert len(followed["curves"]["epoch.val_loss"][0]) == 30
    assert followed["test"] == next(e for e in events if e["type"] == "test")["metrics"]


# -- several runs at once ----------------------------------------------------------------------


async def test_the_follower_follows_a_run_resumed_after_it_said_the_run_ended(tmp_path):
    """Issue 13: the follower stopped at run_ended and the app started a new one when it
    saw the run live again. Now the one follower says the run ended and keeps watching:
    resumed later (from the command line, say), the same run's new events follow on."""
    preset = P.load("spiral")
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    started = helpers.started(epochs=2, run_id=run.id, pid=os.getpid())

    def epoch(n: int) -> dict:
        return helpers.epoch(n, 10 * n, loss=1.0 / n, val_loss=1.1 / n, t=time.time(), best=True)

    def ended(status: str, n: int) -> dict:
        return helpers.ended(status, n, t=time.time())

    w = EventWriter(run.events_path)
    run.write_status(status="running", pid=os.getpid(), host=socket.gethostname())
    w.write({**started, "time": time.time(), "resumed_from": 0})
    app = make_app(preset, attach=run)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.panes["training"]
        await wait_for(pilot, lambda: app.session.live and pane.controls.state == "live", what="the live run")
        follower = app.session.follower
        w.write(epoch(1))
        w.write(ended("stopped", 1))
        run.write_status(status="stopped")
        await wait_for(pilot, lambda: pane.controls.state == "ended" and follower.final_status == "stopped",
                       what="the end, said by the follower")
        await pilot.pause(1.5)  # the follower watches on (more slowly); nothing else happens
        assert app.session.follower is follower and not app.session.live
        # resumed later, from elsewhere: a new trainer of the same run
        run.write_status(status="starting", pid=os.getpid(), host=socket.gethostname())
        w.write({**started, "time": time.time(), "resumed_from": 1})
        run.write_status(status="running")
        await wait_for(pilot, lambda: app.session.live and pane.controls.state == "live", timeout=10,
                       what="the resumed run, followed")
        w.write(epoch(2))
        w.write(ended("completed", 2))
        run.write_status(status="completed")
        await wait_for(pilot, lambda: pane.view.progress.status == "completed" and not app.session.live, timeout=10,
                       what="its end")
        assert app.session.follower is follower  # one follower throughout, no restart
        assert list(pane.run_charts.curves.epoch["loss"].xs) == [1.0, 2.0]
    w.close()


async def test_attach_to_a_run_resumed_after_it_ended_keeps_following(tmp_path):
    """The history ends with a run_ended, but the run was resumed since (its status is
    live and newer): the dashboard does not call it ended, and follows the new trainer."""
    preset = P.load("spiral")
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    started = helpers.started(epochs=3, run_id=run.id, pid=os.getpid())

    def epoch(n: int) -> dict:
        return helpers.epoch(n, 10 * n, loss=1.0 / n, val_loss=1.1 / n, t=time.time(), best=True)

    w = EventWriter(run.events_path)
    w.write({**started, "time": time.time() - 5, "resumed_from": 0})
    w.write(epoch(1))
    w.write({"type": "run_ended", "time": time.time() - 1, "status": "stopped", "message": "stop requested",
             "epochs_completed": 1, "best": None, "test": None, "duration": 3.0})
    # resumed: a new trainer (this process) is starting and has not written yet
    run.write_status(status="starting", pid=os.getpid(), host=socket.gethostname())
    app = make_app(preset, attach=run)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.panes["training"]
        await wait_for(pilot, lambda: len(pane.run_charts.curves.epoch["loss"]) == 1, what="the history")
        await pilot.pause(0.8)  # longer than a follower needs to give up on an ended stream
        assert app.session.live and pane.controls.state == "live" and app.session.ended is None
        w.write({**started, "time": time.time(), "resumed_from": 1})
        w.write(epoch(2))
        await wait_for(pilot, lambda: len(pane.run_charts.curves.epoch["loss"]) == 2, what="the resumed trainer's epoch")
        assert not pane.view.progress.status and app.session.live
        w.write(epoch(3))
        w.write({"type": "run_ended", "time": time.time(), "status": "completed", "message": "trained 3 epochs",
                 "epochs_completed": 3, "best": None, "test": None, "duration": 2.0})
        run.write_status(status="completed")
        await wait_for(pilot, lambda: pane.controls.state == "ended" and not app.session.live, what="the end")
        assert pane.view.progress.status == "completed" and list(pane.run_charts.curves.epoch["loss"].xs) == [1.0, 2.0, 3.0]
    w.close()
