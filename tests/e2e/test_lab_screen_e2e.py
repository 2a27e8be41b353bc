"""The dashboard's lab as a user reaches it, with the processes it starts: the
learning-rate finder (r) sweeps in a `tuidl lr-find` process and enter applies its
suggestion; the lab (i) computes an ended run's loss landscape and adversarial test from
its checkpoint in a `tuidl landscape|adversarial` process. Their in-process twin (the
drawings, the keys): tests/functional/test_lab_screen.py."""

from __future__ import annotations

import json

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.ui.screens.lab import LabScreen
from tuidl.ui.screens.lrfind import LRFindScreen

from helpers import SIZE, make_app, run_cli, screen_text, wait_for


async def test_lr_find_sweeps_and_enter_applies_the_suggestion(tmp_path):
    app = make_app(P.load("xor"), runs_root=tmp_path / "runs")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await pilot.click("#btn-lr-find")  # the Training pane's button (the key r does the same)
        await wait_for(pilot, lambda: isinstance(app.screen, LRFindScreen), what="the finder")
        screen = app.screen
        await wait_for(pilot, lambda: screen.result is not None or screen.failure, timeout=120, what="the sweep")
        assert screen.failure is None, screen.failure
        assert "Suggested lr (tuidl)" in screen_text(app)
        suggestion = screen.result["suggestion"]
        assert 1e-7 < suggestion < 1.0 and suggestion != app.preset.train.optimizer.lr
        await pilot.press("enter")
        applied = float(f"{suggestion:.3g}")  # 3 significant digits
        await wait_for(pilot, lambda: app.preset.train.optimizer.lr == applied, what="the lr applied")
        # the Training pane's form shows it
        await wait_for(pilot, lambda: f"{suggestion:.3g}" in screen_text(app), what="the form to show it")


async def test_the_lab_computes_an_ended_runs_landscape_and_attack_from_its_checkpoint(tmp_path):
    runs = tmp_path / "runs"
    done = run_cli("train", "xor", "--set", "train.epochs=3", "--runs-dir", str(runs), "--quiet")
    assert done.returncode == 0, done.stderr
    run = R.RunDir(next(p for p in runs.iterdir() if p.is_dir()))
    app = make_app(P.load(run.preset_path), replay=run, runs_root=runs, low_bandwidth=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.panes["training"].controls.state == "ended", what="the replay")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, LabScreen) and app.screen.neurons.is_mounted,
                       what="the lab")
        lab = app.screen
        await pilot.press("]", "]")
        assert lab.active == "lab-landscape"
        await pilot.press("c")
        await wait_for(pilot, lambda: "landscape" in lab.results, timeout=120, what="the landscape")
        await wait_for(pilot, lambda: "the weights now: loss" in screen_text(app), what="it drawn")
        assert (run.path / "lab" / "landscape.json").is_file()  # kept with the run
        await pilot.press("]", "c")
        await wait_for(pilot, lambda: "adversarial" in lab.results, timeout=120, what="the attack")
        await wait_for(pilot, lambda: "clean test accuracy" in screen_text(app), what="it drawn")
        ev = json.loads((run.path / "lab" / "adversarial.json").read_text())
        assert ev["pgd"] == sorted(ev["pgd"], reverse=True)
