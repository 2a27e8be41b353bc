"""The learning lab's screen and drawings (tuidl.ui.screens.lab, tuidl.ui.widgets.lab,
tuidl.ui.widgets.neurons), from events built here: the neuron view at 120×40, the
landscape, the adversarial curve and the learning-rate finder's chart."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from tuidl.ui.screens.lab import LabScreen
from tuidl.ui.screens.lrfind import lrfind_renderable
from tuidl.ui.widgets.lab import adversarial_line, adversarial_renderable, landscape_renderable, landscape_summary
from tuidl.ui.widgets.neurons import NeuronView, parse_neurons

from helpers import SIZE, make_app, screen_text, wait_for

N = 16


def neurons_event(hidden=(10, 10), features=("x1", "x2", "x1²", "x2²", "x1x2", "sin(x1)", "sin(x2)")) -> dict:
    """A spiral-sized network's maps: 7 features, two tanh layers, a sigmoid output."""
    xs = np.linspace(-6, 6, N)
    gx, gy = np.meshgrid(xs, xs)
    table = {"x1": gx, "x2": gy, "x1²": gx ** 2, "x2²": gy ** 2, "x1x2": gx * gy, "sin(x1)": np.sin(gx),
             "sin(x2)": np.sin(gy)}
    f = np.stack([table[name].ravel() for name in features], 1)
    rng = np.random.default_rng(0)
    sizes = (len(features),) + tuple(hidden) + (1,)
    weights = [rng.normal(size=(b, a)) for a, b in zip(sizes, sizes[1:])]
    h, layers = f / f.std(0), []
    for k, w in enumerate(weights[:-1]):
        h = np.tanh(h @ w.T)
        layers.append({"name": f"dense {k + 1}", "activation": "tanh",
                       "units": [{"values": h[:, i].reshape(N, N).tolist()} for i in range(w.shape[0])]})
    out = 1 / (1 + np.exp(-(h @ weights[-1].T)))
    return {"type": "neurons", "epoch": 3, "step": 30, "extent": [-6, 6, -6, 6], "size": N,
            "inputs": [{"name": name, "values": table[name].tolist()} for name in features],
            "layers": layers, "weights": [w.tolist() for w in weights],
            "output": {"values": out[:, 0].reshape(N, N).tolist()}}


def landscape_event(steps=11) -> dict:
    a = np.linspace(-1, 1, steps)
    grid = 0.1 + (a[None, :] - 0.1) ** 2 + 2 * a[:, None] ** 2  # lowest at α = 0.1, β = 0
    return {"type": "landscape", "epoch": 5, "span": 1.0, "steps": steps, "alphas": a.tolist(), "betas": a.tolist(),
            "grid": grid.tolist(), "line_alphas": a.tolist(), "line": (0.1 + (a - 0.1) ** 2).tolist(),
            "center_loss": float(grid[steps // 2, steps // 2]), "samples": 512}


def adversarial_event() -> dict:
    return {"type": "adversarial", "epoch": 5, "eps": [0, 0.1, 0.2], "clean": 0.95, "fgsm": [0.95, 0.6, 0.3],
            "pgd": [0.95, 0.5, 0.1], "pgd_steps": 10, "samples": 200, "eps_unit": "std"}


def plain(renderable, width=110) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_a_neurons_event_becomes_columns_with_their_weights():
    n = parse_neurons(neurons_event())
    assert [len(c) for c in n.columns] == [7, 10, 10, 1]
    assert n.titles == ["inputs", "dense 1 (tanh)", "dense 2 (tanh)", "output"]
    unit = n.columns[2][3]
    assert unit.weights_in.shape == (10,)  # one weight from each unit of dense 1
    assert np.nanmax(np.abs(n.columns[0][2].values)) <= 1.0  # x1² (up to 36) is scaled to be drawn
    assert n.columns[0][2].high == pytest.approx(36.0)  # its real range is kept
    with pytest.raises(ValueError):
        parse_neurons({"extent": [0, 1]})


async def test_the_neuron_view_fits_120x40_and_a_unit_can_be_picked():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(LabScreen())
        await wait_for(pilot, lambda: isinstance(app.screen, LabScreen) and app.screen.neurons.is_mounted,
                       what="the lab")
        view = app.screen.query_one(NeuronView)
        view.show(neurons_event())
        await pilot.pause()
        lines = view.plain_lines(*view.size)
        assert view.size.width >= 110 and view.size.height <= 36
        text = "\n".join(lines)
        for title in ("inputs", "dense 1 (tanh)", "dense 2 (tanh)", "output"):
            assert title in lines[0]
        for feature in ("x1", "x2", "x1²", "sin(x1)"):
            assert feature in text
        # every map is drawn: as many unit labels "10" as layers of ten units
        assert text.count("10 ") >= 2 or text.count(" 10") >= 2
        assert view.selected == (1, 0) and "dense 1 #1" in lines[0]
        assert "weights in" in text and "sin(x2)" in text
        await pilot.press("down", "down", "right")
        assert view.selected == (2, 2)
        assert "dense 2 #3" in view.plain_lines(*view.size)[0]
        # a click on the output's map picks it
        lay = view._current_layout()
        left, top = view._origin(lay, 3, 0)
        await pilot.click(NeuronView, offset=(left + 1, top + 1))
        assert view.selected == (3, 0) and view.unit.name == "output"


def test_the_landscape_marks_the_centre_and_the_lowest_point():
    ev = landscape_event()
    where = landscape_summary(ev)
    assert where["alpha"] == pytest.approx(0.0, abs=0.11) and where["beta"] == pytest.approx(0.0)
    text = plain(landscape_renderable(ev))
    assert "◆" in text and "the weights now: loss" in text
    assert "1-D slice" in text
    assert "no loss landscape yet" in plain(landscape_renderable(None))
    assert "not readable" in plain(landscape_renderable({"grid": [1, 2]}))


def test_the_adversarial_curve_and_its_results_line():
    text = plain(adversarial_renderable(adversarial_event()))
    assert "clean test accuracy 95.0%" in text
    assert "50.0%" in text and "10.0%" in text and "PGD (10 steps)" in text
    assert adversarial_line(adversarial_event()).plain == "Adversarial (PGD)  ε 0 95% · ε 0.1 50% · ε 0.2 10%"
    assert "not readable" in plain(adversarial_renderable({"eps": [0, 1], "fgsm": [1], "pgd": [1, 0]}))


def test_the_lr_finder_screen_shows_the_sweep_and_both_suggestions():
    lrs = np.logspace(-6, 0, 60)
    losses = 2.3 - 1.5 / (1 + np.exp(-(np.log10(lrs) + 3) * 2))
    result = {"lrs": lrs.tolist(), "losses": losses.tolist(), "smoothed": losses.tolist(), "suggestion": 3e-3,
              "lightning": 1e-4, "steps": 60, "diverged": False, "lr": 0.03, "lr_min": 1e-6, "lr_max": 1.0}
    text = plain(lrfind_renderable(result, 90))
    assert "Suggested lr (tuidl): 0.003" in text and "Lightning's suggestion: 0.0001" in text
    assert "The preset's lr: 0.03" in text
    assert "1e-06" in text and "0.001" in text  # a log axis, labelled in learning rates
    assert "enter applies tuidl's suggestion" in text


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_the_lr_finder_fits_the_screen_and_applies_a_rate_of_three_digits(monkeypatch, size):
    """Issue 24: at 80×24 the dialog cut its explanation, and the rate applied showed as
    0.00200923300256504. The sweep's process (``tuidl lr-find --json``, tested in
    tests/e2e/test_lab_screen_e2e.py) answers here with a recorded result."""
    import json

    from tuidl.core.preset import preset as P
    from tuidl.ui.screens import lrfind as L
    from tuidl.ui.widgets.form import FieldEditor

    lrs = np.logspace(-7, 0, 100)
    losses = 0.7 - 0.1 / (1 + np.exp(-(np.log10(lrs) + 3) * 2))
    result = {"lrs": lrs.tolist(), "losses": losses.tolist(), "smoothed": losses.tolist(),
              "suggestion": 0.00200923300256504, "lightning": 5.09e-07, "steps": 100, "diverged": False,
              "lr": 0.03, "lr_min": 1e-7, "lr_max": 1.0}

    async def answered(args):
        assert args[0] == "lr-find" and args[-1] == "--json"
        return 0, json.dumps(result), ""

    monkeypatch.setattr(L, "run_tuidl_async", answered)
    app = make_app(P.load("spiral"))
    async with app.run_test(size=size) as pilot:
        await pilot.press("3", "r")
        await wait_for(pilot, lambda: isinstance(app.screen, L.LRFindScreen) and app.screen.result is not None,
                       what="the finder's result")
        await pilot.pause()
        shown = " ".join(line.strip(" │") for line in screen_text(app).splitlines())
        for text in ("Learning-rate finder", "Suggested lr (tuidl): 0.00201", "The preset's lr: 0.03",
                     "escape keeps the learning rate."):
            assert text in shown, f"{text!r} is not on the {size} screen:\n{screen_text(app)}"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.preset.train.optimizer.lr == 0.00201, what="the rate applied")
        lr = next(e for e in app.panes["training"].query(FieldEditor) if e.path == "train.optimizer.lr")
        assert lr.control.value == "0.00201"


async def test_the_lab_opens_with_i_says_what_to_do_without_a_run_and_closes():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, LabScreen) and app.screen.neurons.is_mounted,
                       what="the lab")
        await pilot.pause()
        text = screen_text(app)
        assert "no run yet" in text and "Neurons" in text and "Layer health" in text
        await pilot.press("]")
        assert app.screen.active == "lab-health"
        await pilot.press("c")  # not a computing tab: it says where c works
        assert any("c computes" in n.message for n in app.notes)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LabScreen), what="the lab to close")


async def test_a_replayed_run_shows_its_adversarial_test_in_the_results_and_the_lab():
    """The recorded spiral run with every instrument: the results say the accuracy under
    attack, the lab draws the health series, the neuron maps and the kept landscape."""
    from tuidl.core.run.rundir import RunDir
    from tuidl.core.preset import preset as P
    from helpers import FIXTURES, text_of

    run = RunDir(FIXTURES / "lab-runs" / "spiral-lab")
    app = make_app(P.load(run.preset_path), replay=run, low_bandwidth=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.panes["training"].controls.state == "ended", what="the replay")
        line = text_of(app.panes["training"].query_one("#test-adversarial"))
        assert line.startswith("Adversarial (PGD)  ε 0 99% · ε 0.05 95%") and "ε 0.3 19%" in line
        view = app.session.view
        assert set(view.health) == {"dense_1", "dense_2", "dense_3"} and len(view.health["dense_1"]) == 4
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, LabScreen) and app.screen.neurons.is_mounted,
                       what="the lab")
        lab = app.screen
        await wait_for(pilot, lambda: lab.neurons.neurons is not None, what="the neuron maps")
        assert [len(c) for c in lab.neurons.neurons.columns] == [7, 10, 10, 1]
        await pilot.press("]")
        await wait_for(pilot, lambda: "dense_3" in screen_text(app), what="the health table")
        await pilot.press("]")
        await wait_for(pilot, lambda: "(best checkpoint)" in screen_text(app), what="the kept landscape")


PLAYGROUND = ["circle", "gauss", "multi-gauss", "plane", "spiral", "xor"]


@pytest.mark.parametrize("name", PLAYGROUND)
def test_every_playground_presets_neuron_view_fits_120x40(name):
    """Each built-in Playground preset's network, as the trainer maps it, laid out in the
    lab's neuron view at 120×40: every unit drawn, maps at least 3 characters wide."""
    import torch

    from tuidl.core.data import data as D
    from tuidl.core.preset import preset as P
    from tuidl.core.model.model import build
    from tuidl.core.train.neurons import Neurons, groups_of
    from tuidl.ui.widgets.neurons import SIDE_W, _layout

    preset = P.load(name)
    data = D.load(preset, "cpu")
    model = build(preset.model.layers, data.info.input_shape)
    groups = groups_of(model, preset.model.layers, P.resolve(preset).summary.rows)
    assert groups is not None, f"{name}: the neuron view does not take its model"
    event = Neurons(groups, model, data, preset.data.params.features, data.info.task, P.resolve(preset).loss,
                    torch.device("cpu"), lambda *a, **k: None).fields()
    n = parse_neurons(event)
    # the lab at 120×40: its tab pane is 120 wide and 34 high
    lay = _layout(n, 120 - SIDE_W - 1, 34)
    assert lay is not None and lay.map_w >= 3 and lay.map_h >= 2, name
    for col, units in enumerate(n.columns):
        last = NeuronView._origin(lay, col, len(units) - 1)
        assert last[0] + lay.map_w <= 120 - SIDE_W - 1 and last[1] + lay.map_h < 34, (name, col)


async def test_a_finished_run_without_neuron_maps_says_why_and_how_to_record_them():
    """The Neurons tab of a finished spiral run recorded without the tab open only said
    which datasets it supports."""
    from tuidl.core.run.rundir import RunDir
    from tuidl.core.preset import preset as P
    from helpers import FIXTURES

    run = RunDir(FIXTURES / "runs" / "spiral-demo")  # recorded without the neuron view
    app = make_app(P.load(run.preset_path), replay=run, low_bandwidth=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.panes["training"].controls.state == "ended", what="the replay")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, LabScreen) and app.screen.neurons.is_mounted,
                       what="the lab")
        await wait_for(pilot, lambda: "nothing was recorded" in screen_text(app), what="the reason")
        text = " ".join(screen_text(app).split())
        assert "only while this tab is open during training" in text
        assert "train.instruments.neurons = true" in text
        assert "shows 2-D Playground datasets" not in text
