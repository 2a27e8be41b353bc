"""The Runs pane inside the real app: the tests that start a process (a trainer, the command, a
terminal). The others are in tests/functional/test_runs_pane.py."""

from __future__ import annotations


import pytest

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.run.events import read_events

from helpers import wait_for
from test_runs_pane import SIZE, make_app, runs_shown


@pytest.mark.e2e
async def test_resume_a_stopped_run_and_run_a_preset_again(tmp_path, monkeypatch):
    """u resumes a stopped run from its checkpoint (the real trainer) and the dashboard
    follows it to the end; r loads a run's preset and starts a new run of it."""
    from tuidl.core.train import Trainer

    root = tmp_path / "runs"
    preset = P.load("xor", ["train.epochs=3", "data.params.n_samples=200", "train.device='cpu'"])
    P.resolve(preset)
    run = R.create(root, preset.name, P.dumps(preset))
    monkeypatch.setenv("TUIDL_FAULT", "stop@12")  # as if SIGTERM came during epoch 2
    assert Trainer(preset, run, handle_signals=False).run() == "stopped"
    monkeypatch.delenv("TUIDL_FAULT")
    assert run.status()["status"] == "stopped" and run.checkpoint("last").is_file()

    app = make_app(root, runs_interval=None)  # the spiral preset is loaded, not xor
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        assert pane.select(run.id)
        assert "u resumes it" in str(pane.detail.content)
        await pilot.press("u")
        await wait_for(pilot, lambda: app.session.run is not None and app.session.run.id == run.id, timeout=60,
                       what="the resume")
        assert app.preset.name == "xor"  # the run's own preset is shown
        pane_t = app.panes["training"]
        await wait_for(pilot, lambda: pane_t.view.progress.status == "completed" and pane_t.controls.state == "ended",
                       timeout=150, what="the resumed run to complete")
        assert list(pane_t.run_charts.curves.epoch["loss"].xs) == [1.0, 2.0, 3.0]
        assert run.status()["status"] == "completed"
        assert app.session.run.process.wait(timeout=30) == 0  # the trainer this dashboard started
        events = read_events(run.events_path)
        assert [e["resumed_from"] for e in events if e["type"] == "run_started"][1] >= 1
        assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "completed"

        # r: the run's preset becomes the current one and a new run of it starts
        app.load_preset(P.load("spiral"))
        await pilot.press("5")
        await wait_for(pilot, lambda: pane.scans > 0 and run.id in [r.id for r in pane.rows], what="the list")
        assert pane.select(run.id)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.session.run is not None and app.session.run.id != run.id, timeout=60,
                       what="the new run")
        again = app.session.run
        assert app.preset.name == "xor" and app.session.live
        assert P.load(again.preset_path) == P.load(run.preset_path)
        again.process.terminate()  # (the stop key is tested with the real trainer in test_app)
        again.process.wait(timeout=30)
        await wait_for(pilot, lambda: not app.session.live, timeout=20, what="the dashboard to notice")
        assert again.status()["status"] in ("interrupted", "stopped")


@pytest.mark.e2e
async def test_r_runs_a_command_run_again_where_it_ran(tmp_path):
    """r on a ``tuidl run`` run starts its command again (a new run, in the directory the
    command ran in) and the dashboard follows the new run."""
    import sys

    from tuidl.core.run import command as C

    root, work = tmp_path / "runs", tmp_path / "work"
    work.mkdir()
    writes = "import pathlib; n = len(list(pathlib.Path('.').glob('out*'))); pathlib.Path(f'out{n}').write_text('x')"
    first = C.start([sys.executable, "-c", writes], name="job", runs_root=root, cwd=work)
    assert first.process.wait(timeout=60) == 0 and first.status()["status"] == "completed"
    app = make_app(root, runs_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        assert pane.select(first.id)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.session.run is not None and app.session.run.id != first.id, timeout=60,
                       what="the command's new run")
        again = app.session.run
        await wait_for(pilot, lambda: again.status().get("status") == "completed", timeout=60, what="the command")
        assert (work / "out1").is_file() and again.status()["command"] == first.status()["command"]
