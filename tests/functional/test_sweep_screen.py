"""The sweep view (tuidl.ui.screens.sweep): a real grid of 4 written here, in this
process, through the core APIs (the sweep's folder, its Optuna study, and each trial an
ordinary run trained by the Trainer in this process, its metric told to Optuna as the
driver tells it). A sweep whose trials are trainer processes: tests/e2e/test_sweep_e2e.py."""

from __future__ import annotations

import pytest

from helpers import make_app, screen_text, settle, wait_for
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.run.events import read_events
from tuidl.core.run.runview import RunView
from tuidl.core.sweep import spec as S
from tuidl.core.sweep import study as ST
from tuidl.core.sweep.sweepdir import SweepDir
from tuidl.core.sweep.text import short_keys
from tuidl.ui.screens.sweep import SweepScreen

GRID = ["train.optimizer.lr=0.003,0.03", "model.layers.0.units=4,8"]


def real_sweep(root, sweep_id: str = "s1") -> dict[int, tuple[str, dict, list[float]]]:
    """A grid of 4 on xor (3 epochs), each trial trained here; {trial: (run id, params,
    validation losses)}."""
    from tuidl.core.train import Trainer

    preset = P.load("xor", ["train.epochs=3"])
    spec = S.build(preset, grid=GRID)
    sweep = SweepDir.create(root, sweep_id, preset, spec)
    study = ST.open_study(spec, sweep.storage_url, sweep.study_name, preset.seed)
    out = {}
    for _ in range(spec.size):
        trial, params = ST.ask(study, spec)
        trial_preset = S.trial_preset(preset, params)
        tag = {"id": sweep_id, "study": sweep.study_name, "trial": trial.number, "params": params}
        run = R.create(root, trial_preset.name, P.dumps(trial_preset), status={"sweep": tag})
        trial.set_user_attr("run_id", run.id)
        assert Trainer(trial_preset, run, handle_signals=False).run() == "completed"
        epochs, losses = RunView(read_events(run.events_path)).epoch_series("loss")["val"]
        for epoch, loss in zip(epochs, losses):
            trial.report(loss, int(epoch))
        trial.set_user_attr("run_status", "completed")
        study.tell(trial, min(losses))
        out[trial.number] = (run.id, params, losses)
    return out


async def opened(pilot, app, sweep_id: str = "s1", root=None, **kwargs) -> tuple[SweepScreen, list]:
    results: list = []
    screen = SweepScreen(root or R.runs_root(), sweep_id, **kwargs)
    app.push_screen(screen, results.append)
    await wait_for(pilot, lambda: screen.loads > 0, timeout=60, what="the sweep to be read")
    await settle(pilot)
    return screen, results


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The grid, trained once for the tests that only read it: (runs root, trials)."""
    import os

    root = tmp_path_factory.mktemp("sweep") / "runs"
    with pytest.MonkeyPatch.context() as mp:  # what the per-test set-up (conftest) gives a test
        mp.setenv("TUIDL_RUNS", str(root))
        mp.setenv("TUIDL_DATA", os.environ["TUIDL_TEST_DATA"])
        mp.setenv("TUIDL_CHECKPOINT_INTERVAL", "0")
        return root, real_sweep(root)


@pytest.fixture
def grid(trained, monkeypatch):
    monkeypatch.setenv("TUIDL_RUNS", str(trained[0]))  # R.runs_root(): the trained grid's
    return trained[1]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_sweep_view_ranks_the_trials_and_shows_the_best_importances_and_curves(grid, size):
    by_value = sorted(grid, key=lambda n: min(grid[n][2]))  # val_loss: lower is better
    best = by_value[0]
    app = make_app("xor")
    async with app.run_test(size=size) as pilot:
        screen, _ = await opened(pilot, app)
        assert screen.error is None, screen.error
        view = screen.view
        assert [t.number for t in view.trials] == by_value
        assert view.best.number == best and view.best.value == pytest.approx(min(grid[best][2]))
        # the table: ranked as the metric says, one column per parameter, the run ids
        table = screen.table
        assert [str(c.label) for c in table.columns.values()] == ["RANK", "TRIAL", "STATE", "VAL_LOSS", "lr",
                                                                   "units", "RUN"]
        assert table.row_count == 4
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(4)]
        assert [int(r[1]) for r in rows] == by_value
        assert rows[0][0] == "★1" and [r[0] for r in rows[1:]] == ["2", "3", "4"]  # the best marked
        assert [r[-1] for r in rows] == [grid[n][0] for n in by_value]
        assert all(r[2] == "completed" for r in rows)
        values = [float(r[3]) for r in rows]
        assert values == sorted(values)
        # the title line
        text = screen_text(app)
        assert "Sweep s1" in text and "val_loss (lower is better)" in text
        assert "4 of 4 trials (4 complete)" in text and "not running" in text
        # the best trial in one line
        lr, units = grid[best][1]["train.optimizer.lr"], grid[best][1]["model.layers[0].units"]
        assert f"Best: trial {best}, val_loss {min(grid[best][2]):.4g}: lr={lr:.4g} units={units}" in text
        # Optuna's importances, as bars
        assert set(view.importances) == {"train.optimizer.lr", "model.layers[0].units"}
        assert "Parameter importance" in text and "█" in text
        assert "needs 2 complete trials" not in text
        # the top curves: one line per trial (4 < k = 5), best first, each its own run's validation loss
        chart = screen.chart
        await wait_for(pilot, lambda: chart.redraws > 0 and not chart.dirty, what="the chart")
        assert chart.series_keys() == [str(n) for n in by_value]
        assert screen.curve_labels == [
            f"#{n} lr={grid[n][1]['train.optimizer.lr']:.4g} units={grid[n][1]['model.layers[0].units']}"
            for n in by_value]
        for n in by_value:
            series = chart._lines[str(n)].series
            xs, ys = series.view(100)
            assert list(xs) == [1.0, 2.0, 3.0] and list(ys) == pytest.approx(grid[n][2])
        assert chart.failure is None
        assert "val_loss by epoch, top 4" in screen_text(app)


async def test_the_top_k_curves_are_the_k_best_trials(grid):
    by_value = sorted(grid, key=lambda n: min(grid[n][2]))
    app = make_app("xor")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, _ = await opened(pilot, app, top_k=2)
        assert screen.chart.series_keys() == [str(n) for n in by_value[:2]]
        assert len(screen.curve_labels) == 2


async def test_enter_on_a_trial_returns_its_run_id_and_escape_none(grid):
    by_value = sorted(grid, key=lambda n: min(grid[n][2]))
    app = make_app("xor")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, results = await opened(pilot, app)
        assert screen.table.has_focus
        await pilot.press("down", "enter")  # the second ranked trial
        await wait_for(pilot, lambda: results, what="the screen to close")
        assert results == [grid[by_value[1]][0]] and app.screen is not screen

        screen, results = await opened(pilot, app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: results, what="the screen to close")
        assert results == [None] and app.screen is not screen


async def test_r_reads_the_sweep_again_and_keeps_the_row(grid):
    app = make_app("xor")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, _ = await opened(pilot, app)
        await pilot.press("down", "down")
        chosen = screen.chosen_row_key()
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.loads >= 2, what="the second read")
        assert screen.chosen_row_key() == chosen and screen.table.row_count == 4
        assert screen._timer is None  # not live: no timer


async def test_a_sweep_that_is_not_there_is_one_plain_line():
    app = make_app("xor")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, results = await opened(pilot, app, sweep_id="nope")
        assert screen.error.startswith("no sweep 'nope' in ")
        text = screen_text(app)
        assert "no sweep 'nope'" in text and "Traceback" not in text
        assert screen.table.row_count == 0
        await pilot.press("enter", "escape")
        await wait_for(pilot, lambda: results, what="the screen to close")
        assert results == [None]


async def test_a_broken_study_is_one_plain_line():
    from test_sweep_cli import fake_sweep

    fake_sweep(R.runs_root(), [0.5, 0.2])
    SweepDir.folder(R.runs_root(), "s1").joinpath("study.db").write_bytes(b"not a database")
    app = make_app("xor")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, _ = await opened(pilot, app)
        assert screen.error and "\n" not in screen.error
        assert screen.error in screen_text(app) or screen.error[:60] in screen_text(app)
        assert "Traceback" not in screen_text(app)


async def test_few_complete_trials_need_two_for_importances():
    from test_sweep_cli import fake_sweep

    fake_sweep(R.runs_root(), [0.5, "PRUNED"])
    app = make_app("xor")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, _ = await opened(pilot, app)
        assert screen.view.importances is None
        assert "needs 2 complete trials" in screen_text(app)


async def test_a_live_sweep_is_read_again_on_a_timer(grid, monkeypatch):
    monkeypatch.setattr(SweepDir, "live", lambda self: True)
    app = make_app("xor")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, _ = await opened(pilot, app, interval=0.2)
        assert screen._timer is not None and "● live" in screen_text(app)
        await wait_for(pilot, lambda: screen.loads >= 3, what="the reads on the timer")
        monkeypatch.setattr(SweepDir, "live", lambda self: False)
        await wait_for(pilot, lambda: screen._timer is None, what="the timer to stop")
        loads = screen.loads
        await pilot.pause(0.6)
        assert screen.loads == loads  # no more reads once the sweep is not live


def test_short_keys_are_the_shortest_unique_tails():
    assert short_keys(["train.optimizer.lr", "model.layers[0].units"]) == {
        "train.optimizer.lr": "lr", "model.layers[0].units": "units"}
    assert short_keys(["model.layers[0].units", "model.layers[1].units"]) == {
        "model.layers[0].units": "layers[0].units", "model.layers[1].units": "layers[1].units"}


def test_the_screen_module_imports_neither_torch_nor_optuna(monkeypatch):
    """Opening the module costs nothing: Optuna and PyTorch are imported by the worker."""
    import importlib
    import sys

    import tuidl.ui.screens as screens

    monkeypatch.setattr(screens, "sweep", screens.sweep)  # put back after the test, as sys.modules is
    for name in ("torch", "optuna"):
        monkeypatch.setitem(sys.modules, name, None)  # an import of either now fails
    monkeypatch.delitem(sys.modules, "tuidl.ui.screens.sweep")
    module = importlib.import_module("tuidl.ui.screens.sweep")
    assert module.SweepScreen is not SweepScreen


async def test_x_stops_a_live_sweep_as_tuidl_sweep_stop_does(grid, monkeypatch):
    """x is offered only while the sweep runs; it writes the sweep's stop request, which
    its driver reads (tests/e2e/test_sweep_e2e.py: a detached sweep stopped)."""
    app = make_app("xor")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, _ = await opened(pilot, app)
        assert screen.check_action("stop_sweep", ()) is False  # ended: nothing to stop
        assert "Stop sweep" not in screen_text(app)
        await pilot.press("escape")
    monkeypatch.setattr(SweepDir, "live", lambda self: True)
    app = make_app("xor")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, _ = await opened(pilot, app, interval=0.2)
        sweep = SweepDir.open(None, screen.sweep_id)  # the grid's runs root ($TUIDL_RUNS)
        assert not sweep.stop_path.exists()
        await wait_for(pilot, lambda: "Stop sweep" in screen_text(app), what="x in the footer")
        await pilot.press("x")
        try:
            assert sweep.stop_path.exists() and sweep.stop_requested(0.0)
            assert "asked sweep" in app.notes[-1].message
        finally:
            sweep.stop_path.unlink(missing_ok=True)  # the grid is shared by the module's tests
