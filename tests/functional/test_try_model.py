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
    await wait_for(pilot, lambda: app.panes["training"].controls.state == "ended", what="the replay")
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


def colour_run(tmp_path) -> R.RunDir:
    """A run of a small model on an image folder of colour images (red and blue
    squares, 8×8), trained here."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, channel in (("red", 0), ("blue", 2)):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        for i in range(20):
            px = rng.integers(0, 60, (8, 8, 3), dtype=np.uint8)
            px[:, :, channel] = rng.integers(180, 255, (8, 8), dtype=np.uint8)
            Image.fromarray(px, "RGB").save(tmp_path / "imgs" / name / f"{i}.png")
    preset = tmp_path / "colours.toml"
    preset.write_text(f'name = "colours"\nseed = 0\n[data]\ndataset = "image-folder"\n'
                      f'params = {{ path = "{tmp_path / "imgs"}", image_size = [8, 8] }}\n'
                      '[[model.layers]]\ntype = "flatten"\n[[model.layers]]\ntype = "dense"\nunits = 2\n'
                      '[train]\nepochs = 3\n')
    return trained(tmp_path, str(preset), 3)


async def test_a_colour_image_model_is_tried_on_its_test_images_and_on_a_file(tmp_path):
    """A 3-channel model said it worked for one channel only, and 'loading the model…'
    stayed for ever. It now shows the run's own test images (n / p) with their true
    class and the model's answer, or an image file (o)."""
    run = colour_run(tmp_path)
    app = make_app(P.load(run.preset_path), replay=run, runs_root=tmp_path / "runs", low_bandwidth=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_try(pilot, app)
        await wait_for(pilot, lambda: screen.sample is not None, what="the first image")
        await pilot.pause()
        text = screen_text(app)
        assert "one channel" not in text and "loading the model" not in text
        first = screen.sample
        assert first.source.startswith("test sample 1 of ") and first.label in (0, 1)
        truth = screen.class_names[first.label]
        assert f"true class: {truth}" in text and "▀" in text  # the picture, in colour half blocks
        predictor = screen.predictor
        assert np.allclose(screen.probs, predictor.probabilities(first.x)[0])
        assert f"the model says {screen.answer_class}" in text
        await pilot.press("n")
        assert screen.sample.source.startswith("test sample 2 of ")
        await pilot.press("p")
        assert screen.sample.source == first.source and torch_equal(screen.sample.x, first.x)
        # an image file of the user's own (a bigger one: resized to the run's 8×8)
        from PIL import Image

        mine = tmp_path / "mine.png"
        Image.new("RGB", (32, 32), (250, 10, 10)).save(mine)
        await pilot.press("o")
        await pilot.press(*str(mine), "enter")
        await pilot.pause()
        assert screen.sample.source == "mine.png" and screen.sample.label is None
        assert np.allclose(screen.probs, predictor.probabilities(predictor.from_file(mine).x)[0])
        assert np.allclose(screen.sample.picture[:, 0, 0], [250 / 255, 10 / 255, 10 / 255], atol=0.01)  # seen as it is
        assert "resized 32×32 → 8×8" in screen_text(app)
        await pilot.press("o", *"nothing.png", "enter")
        assert "no such file" in screen_text(app)
        await pilot.press("escape")  # the path line first, then the screen
        assert isinstance(app.screen, TryModelScreen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TryModelScreen), what="it to close")


def torch_equal(a, b) -> bool:
    return bool((a == b).all())
