"""A user's own data with real trainer processes (issue 24): a dashboard Start of a preset
in the user's folder, and a trainer that fails at once. Without processes:
tests/functional/test_own_data.py."""

from __future__ import annotations

import pytest

from tuidl.core.preset import preset as P
from tuidl.core.run import launch
from tuidl.core.run import rundir as R
from helpers import make_app, own_project, wait_for, wait_until


async def test_dashboard_start_of_a_preset_with_a_relative_image_folder(tmp_path, monkeypatch):
    """`tuidl proj/myimgs.toml`, then 3, s: the trainer, which reads the run's own copy of
    the preset in the run folder, finds the images the Dataset pane found."""
    own_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    app = make_app(P.load("proj/myimgs.toml"), runs_root=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await pilot.press("s")
        await wait_for(pilot, lambda: app.session.run is not None, timeout=30, what="the launch")
        run = app.session.run
        await wait_for(pilot, lambda: run.status().get("status") not in R.LIVE + ("created",), timeout=120,
                       what="the run's end", run=run)
    assert run.status()["status"] == "completed", (run.status(), (run.path / "trainer.err").read_text())


def test_a_trainer_that_fails_at_once_reads_as_failed(tmp_path, monkeypatch):
    """The launcher says ``starting`` once its trainer runs; a trainer that failed before
    that (bad input found at once, a warm standby trainer is quick) must stay ``failed``,
    not read as ``interrupted`` by the dead pid the launcher wrote over its status. The
    launcher is made late here (it waits for its trainer to end) to force that order."""
    proj = own_project(tmp_path)
    preset = P.load(proj / "mycsv.toml")
    later = launch._starting

    def late(run, pid, *rest):
        (proj / "mydata.csv").unlink(missing_ok=True)  # the trainer will find no data
        wait_until(lambda: not R.pid_alive(pid), timeout=120, what="the trainer's end")
        return later(run, pid, *rest)

    monkeypatch.setattr(launch, "_starting", late)
    run = launch.start(preset, tmp_path / "runs", telemetry=False)
    assert run.process.wait(timeout=60) == 2
    status = run.status()
    assert status["status"] == "failed", status
    assert "data.params.path: file not found" in status["message"]
