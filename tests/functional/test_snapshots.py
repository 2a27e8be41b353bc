"""SVG snapshots of each pane at 120×40, on a replayed recorded run (deterministic: the
replay carries its own times, the system pane reads the run's events instead of this
machine, and local times are shown in UTC)."""

from __future__ import annotations

import time

import pytest

from tuidl.core.preset import preset as P
from tuidl.core.run.rundir import RunDir
from tuidl.ui.app import TuidlApp
from helpers import FIXTURES

RUN = FIXTURES / "runs" / "spiral-demo"
SIZE = (120, 40)


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def replay_app() -> TuidlApp:
    run = RunDir(RUN)
    # the Runs pane lists the recorded fixture runs (their own times), not this machine's runs
    return TuidlApp(P.load(run.preset_path), replay=run, system_interval=None, telemetry=False,
                    runs_root=RUN.parent)


async def settle(pilot, key: str) -> None:
    """Replay to the end, show one pane, let it load (the dataset pane loads its data
    when first shown), draw the charts."""
    app: TuidlApp = pilot.app
    dataset = app.panes["dataset"]
    end = time.monotonic() + 30

    async def until(condition) -> None:
        while not condition():
            if time.monotonic() > end:
                raise AssertionError("the app did not settle")
            await pilot.pause(0.05)

    await until(lambda: app.panes["training"].controls.state == "ended")
    await pilot.press(key)
    if key == "2":
        await until(lambda: dataset.result is not None and not dataset.loading)
    if key == "5":
        runs = app.panes["runs"]
        shown = len([d for d in RUN.parent.iterdir() if d.is_dir()])  # preset and logged runs alike
        await until(lambda: runs.scans > 0 and len(runs.rows) == shown)  # the listing complete (figures read)
    await pilot.pause(0.3)
    app.panes["training"].redraw_now()
    app.set_focus(None)
    await pilot.pause(0.2)


@pytest.mark.parametrize("key,pane", [("1", "builder"), ("2", "dataset"), ("3", "training"), ("4", "system"),
                                      ("5", "runs")])
def test_pane_snapshot(snap_compare, key, pane):
    async def run_before(pilot) -> None:
        await settle(pilot, key)
        assert pilot.app.query_one("PaneDeck").active == pane

    assert snap_compare(replay_app(), terminal_size=SIZE, run_before=run_before)


LAB_RUN = FIXTURES / "lab-runs" / "spiral-lab"  # spiral with health, neurons, adversarial and a kept landscape


@pytest.mark.parametrize("tab", ["lab-neurons", "lab-health", "lab-landscape", "lab-adversarial"])
def test_lab_snapshot(snap_compare, tab):
    """The learning lab (i) on a replayed run that recorded every instrument."""
    from tuidl.ui.screens.lab import LabScreen

    run = RunDir(LAB_RUN)
    app = TuidlApp(P.load(run.preset_path), replay=run, system_interval=None, telemetry=False,
                   runs_root=LAB_RUN.parent)

    async def run_before(pilot) -> None:
        end = time.monotonic() + 30
        while app.panes["training"].controls.state != "ended" or not app.session.view.neurons:
            assert time.monotonic() < end, "the replay did not end"
            await pilot.pause(0.05)
        app.push_screen(LabScreen(initial=tab))
        await pilot.pause(0.3)
        app.screen.refresh_view()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
