"""Try the model (t): a drawing pad on an image model's own grid and a point over a 2-D
model's plane, with the answer of the run's real model (trained here, in this process)."""

from __future__ import annotations

import numpy as np
import pytest

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.serve.touch import Predictor
from tuidl.ui.screens.trymodel import TryModelScreen
from tuidl.ui.widgets.drawpad import DrawPad, PointPad

from helpers import SIZE, make_app, run_cli, screen_text, wait_for


def trained(tmp_path, name: str, epochs: int) -> R.RunDir:
    runs = tmp_path / "runs"
    done = run_cli("train", name, "--set", f"train.epochs={epochs}", "--runs-dir", str(runs), "--quiet")
    assert done.returncode == 0, done.stderr
    return R.RunDir(next(p for p in runs.iterdir() if p.is_dir()))


def replaying(tmp_path, name: str, epochs: int):
    """The dashboard replaying a run of ``name`` trained here for ``epochs``."""
    run = trained(tmp_path, name, epochs)
    return make_app(P.load(run.preset_path), replay=run, runs_root=tmp_path / "runs", low_bandwidth=True)


async def open_try(pilot, app) -> TryModelScreen:
    await wait_for(pilot, lambda: app.training.run_state == "ended", what="the replay")
    await pilot.press("t")
    await wait_for(pilot, lambda: isinstance(app.screen, TryModelScreen), what="the try screen")
    screen = app.screen
    await wait_for(pilot, lambda: screen.predictor is not None or screen.failure, timeout=60, what="the model")
    assert screen.failure is None, screen.failure
    return screen


async def test_a_digit_drawn_on_the_pad_gets_the_models_own_answer(tmp_path):
    app = replaying(tmp_path, "digits-mlp", 3)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_try(pilot, app)
        pad = screen.query_one(DrawPad)
        assert pad.pixels.shape == (8, 8)  # the model's own grid
        # a real test digit, as ink (digits' pixels are 0–16): the pad answers as the model does
        predictor = screen.predictor
        part = predictor.data.test
        raw = np.round((part.x[0].numpy() - part.x.min().item()) / (part.x.max() - part.x.min()).item() * 16)
        pad.set_pixels(raw.reshape(8, 8) / 16.0)
        await pilot.pause()
        expected = predictor.probabilities(predictor.from_ink(raw.reshape(8, 8) / 16.0))[0]
        assert np.allclose(screen.probs, expected)
        assert screen.answer_class == predictor.classes[int(np.argmax(expected))]
        assert f"the model says {screen.answer_class}" in screen_text(app)
        # drawing with the keyboard changes the picture and the answer follows
        await pilot.press("c")
        assert pad.pixels.sum() == 0
        before = screen.probs.copy()
        await pilot.press("space", "d", "up", "up", "left")
        assert pad.pixels.sum() >= 4 and not np.allclose(screen.probs, before)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TryModelScreen), what="it to close")


async def test_a_point_moved_over_the_plane_gets_the_models_answer_there(tmp_path):
    app = replaying(tmp_path, "xor", 5)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_try(pilot, app)
        pad = screen.query_one(PointPad)
        assert pad.plane is not None  # drawn over the run's decision boundary
        for key in ["right"] * 12 + ["up"] * 12:
            await pilot.press(key)
        x, y = pad.point
        assert x > 0 and y > 0
        expected = screen.predictor.probabilities(screen.predictor.from_points(np.array([[x, y]])))[0]
        assert np.allclose(screen.probs, expected)
        assert f"at ({x:.2f}, {y:.2f})" in screen_text(app)
        upper_right = screen.answer_class
        for key in ["left"] * 24:
            await pilot.press(key)
        assert screen.answer_class != upper_right  # xor: the upper-left quadrant is the other class


async def test_without_a_trained_model_t_says_what_to_do(tmp_path):
    app = make_app(runs_root=tmp_path / "runs")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        assert any("no trained model to try yet" in n.message for n in app.notes)
        assert not isinstance(app.screen, TryModelScreen)


def test_a_drawing_of_the_wrong_size_is_refused(tmp_path):
    run = trained(tmp_path, "digits-mlp", 1)
    predictor = Predictor.from_run(run)
    with pytest.raises(ValueError, match="does not fit the model's input"):
        predictor.from_ink(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="not a 2-D dataset"):
        predictor.from_points(np.zeros((1, 2)))
