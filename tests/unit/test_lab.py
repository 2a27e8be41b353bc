"""The learning lab's analyses (tuidl.core.lab): the learning-rate range test, the loss
landscape, the adversarial test, and how a run sends them (the Trainer in this process).
The commands are in tests/functional/test_lab_cli.py, a live run's control command in
tests/e2e/test_lab_e2e.py."""

import io
import math
import random

import numpy as np
import pytest
import torch

from tuidl.core.run import events as E
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.lab import adversarial as A
from tuidl.core.lab import landscape as L
from tuidl.core.lab import lrfind as F
from tuidl.core.lab.prepare import checkpoint_of, load_weights, prepared
from tuidl.core.run.runview import RunView
from tuidl.core.preset.schema import ConfigError
from tuidl.core.train import Trainer

from helpers import of


def xor(epochs=12, **edits):
    return P.edit(P.load("xor"), {"train.epochs": epochs, "train.device": "cpu", **edits}).preset


def train(preset, root, listeners=()):
    run = R.create(root, preset.name, P.dumps(preset))
    events = []
    Trainer(preset, run, handle_signals=False, listeners=[events.append, *listeners]).run()
    return run, events


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A trained XOR run (12 epochs: test accuracy about 0.99) and its preset."""
    preset = xor()
    run, events = train(preset, tmp_path_factory.mktemp("runs"))
    assert of(events, "run_ended")[-1]["status"] == "completed"
    return run, preset


# -- the learning-rate range test -------------------------------------------------------


@pytest.fixture(scope="module")
def digits_curve():
    return F.lr_find(P.edit(P.load("digits-mlp"), {"train.device": "cpu"}).preset, steps=100)


def test_lr_find_sweeps_exponentially_and_stops_when_the_loss_diverges(digits_curve):
    r = digits_curve
    assert len(r.lrs) == len(r.losses) == len(r.smoothed) == r.steps_run <= 100
    ratios = np.diff(np.log(r.lrs))
    assert r.lrs[0] == pytest.approx(1e-7) and np.allclose(ratios, math.log(1e7) / 99)
    assert r.smoothed[0] == pytest.approx(r.losses[0])  # bias-corrected: the first point is the first loss
    # Adam on the digits MLP diverges well before lr 1: the test stops there
    assert r.diverged and r.smoothed[-1] > F.DIVERGE * min(r.smoothed[:-1])
    assert min(r.smoothed) < 0.8 * r.smoothed[0]  # the model learned somewhere in the sweep


def test_suggestions_are_finite_and_in_the_swept_range(digits_curve):
    r = digits_curve
    for lr in (r.suggestion, r.lightning):
        assert math.isfinite(lr) and r.lrs[0] <= lr <= r.lrs[-1]
    # tuidl's: a tenth of the averaged minimum, where Adam trains this MLP well (its preset: 1e-3)
    assert 3e-4 <= r.suggestion <= 1e-2
    # the JSON the dashboard reads
    out = r.to_json("digits-mlp", 0.001)
    assert {"lrs", "losses", "smoothed", "suggestion", "lightning", "steps", "diverged", "preset", "lr"} <= set(out)
    assert out["steps"] == r.steps_run


def test_lr_find_leaves_the_preset_and_the_random_state_alone(tmp_path):
    preset = xor(epochs=2)
    before = P.to_data(preset)
    _, first = train(preset, tmp_path / "a")
    torch.manual_seed(123), np.random.seed(5), random.seed(7)
    states = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    F.lr_find(preset, steps=30)
    assert torch.equal(states[0], torch.get_rng_state())
    assert np.array_equal(states[1], np.random.get_state()[1]) and states[2] == random.getstate()
    assert P.to_data(preset) == before
    _, second = train(preset, tmp_path / "b")  # the same seed trains to the same numbers
    assert [e["train"] for e in of(first, "epoch")] == [e["train"] for e in of(second, "epoch")]


def test_lr_find_refuses_a_range_it_cannot_sweep():
    with pytest.raises(ConfigError, match="at least 2"):
        F.lr_find(xor(), steps=1)
    with pytest.raises(ConfigError, match="lr_min < lr_max"):
        F.lr_find(xor(), lr_min=1.0, lr_max=0.1)


def test_lightnings_rule_is_the_steepest_descent_in_lr_after_the_skipped_points():
    lrs = np.logspace(-6, 0, 60).tolist()
    curve = [2.0] * 60
    for i in range(3, 60):
        curve[i] = 1.9  # a drop inside the 10 skipped points does not count
    for i in range(41, 60):
        curve[i] = 1.0  # the steepest drop afterwards: between points 40 and 41
    assert F.steepest(lrs, curve, 10, 1) in (lrs[40], lrs[41])
    curve[41] = float("nan")  # non-finite points are left out
    assert F.steepest(lrs, curve, 10, 1) in (lrs[40], lrs[42])
    assert F.steepest(lrs[:12], curve[:12], 10, 1) is None  # one point left: no gradient
    # Lightning's smoothing: its bias correction counts one step more than it averaged
    assert F.lightning_smoothed([1.0, 1.0])[0] == pytest.approx(0.02 / (1 - 0.98 ** 2))


def test_tuidls_suggestion_holds_still_under_noise():
    """A valley at lr 1e-2 under noise: the suggestion stays near a tenth of it."""
    lrs = np.logspace(-7, 0, 100)
    valley = 2 - 1.5 * np.exp(-((np.log10(lrs) + 2) ** 2) / 0.5)
    for seed in range(5):
        noisy = valley + np.random.default_rng(seed).normal(0, 0.15, 100)
        assert 1e-3 / 2 <= F.suggest(lrs.tolist(), noisy.tolist()) <= 1e-3 * 2


def test_apply_lr_rewrites_only_the_learning_rate(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(P.find("xor").read_text())
    before = P.to_data(P.load(path))
    F.apply_lr(path, 0.0042)
    after = P.to_data(P.load(path))
    assert after["train"]["optimizer"]["lr"] == 0.0042
    after["train"]["optimizer"]["lr"] = before["train"]["optimizer"]["lr"]
    assert after == before


# -- the loss landscape ---------------------------------------------------------------


def test_directions_are_filter_normalised_with_zero_biases():
    layer = torch.nn.Linear(5, 3)
    d = L.filter_normalised([layer.weight, layer.bias], torch.Generator().manual_seed(0))
    assert torch.allclose(d[0].norm(dim=1), layer.weight.norm(dim=1))
    assert torch.equal(d[1], torch.zeros(3))


def test_landscape_of_a_trained_model_has_its_minimum_at_the_weights(trained):
    run, preset = trained
    with prepared(preset) as t:
        at = load_weights(t, checkpoint_of(run)[1])
        weights = {k: v.clone() for k, v in t.model.state_dict().items()}
        ev = L.landscape_event(t.model, t.subject, **at, steps=21, span=1.0)
        assert all(torch.equal(v, t.model.state_dict()[k]) for k, v in weights.items())
        assert t.model.training  # its mode as before
    grid = np.array(ev["grid"])
    assert grid.shape == (21, 21) and len(ev["alphas"]) == 21 and ev["samples"] == 350
    j, i = np.unravel_index(grid.argmin(), grid.shape)
    assert abs(ev["alphas"][i]) <= 0.2 and abs(ev["alphas"][j]) <= 0.2
    assert abs(ev["line_alphas"][int(np.argmin(ev["line"]))]) <= 0.2
    assert grid[10, 10] == ev["center_loss"]  # the centre is the weights themselves
    assert grid.max() > 5 * ev["center_loss"]  # and the loss rises away from them
    assert ev["epoch"] == at["epoch"] and ev["seconds"] < 30


# -- the adversarial test -------------------------------------------------------------


def test_accuracy_under_attack_never_rises_with_eps(trained):
    run, preset = trained
    with prepared(preset) as t:
        at = load_weights(t, checkpoint_of(run)[1])
        ev = A.adversarial_event(t.model, t.subject, [1.0, 0.0, 0.1, 0.3, 0.6], **at)
        clean = float((A.predicted(t.model(t.data.test.x), t.loss_kind) == t.data.test.y).float().mean())
    assert ev["eps"] == [0.0, 0.1, 0.3, 0.6, 1.0] and ev["split"] == "test" and ev["eps_unit"] == "std"
    assert ev["clean"] == pytest.approx(clean, abs=1e-6) and clean > 0.9
    for attack in ("fgsm", "pgd"):
        accs = ev[attack]
        assert accs[0] == ev["clean"]
        assert all(b <= a for a, b in zip(accs, accs[1:])), accs
    assert ev["pgd"][-1] < ev["clean"] - 0.2  # a trained model is clearly fooled at the largest ε
    assert ev["eps_scale"] == pytest.approx(1.0, abs=0.05)  # standardised inputs: one std is 1


def test_an_example_fooled_at_a_small_eps_stays_fooled_at_a_larger_one(monkeypatch):
    """An attack that fools every example at ε 0.1 but none at 0.3 (a weak attack can
    miss what a smaller one found): at 0.3 they still count as fooled."""
    model = torch.nn.Linear(1, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[-1.0], [1.0]])), model.bias.zero_()  # class 1 iff x > 0
    x, y = torch.tensor([[1.0], [2.0], [-1.0]]), torch.tensor([1, 1, 0])
    monkeypatch.setattr(A, "fgsm", lambda model, loss_fn, x, target, eps: -x if eps == 0.1 else x)
    ev = A.robust(model, x, y, [0.0, 0.1, 0.3], loss_kind="cce")
    assert ev["clean"] == 1.0 and ev["fgsm"] == [1.0, 0.0, 0.0]


def test_adversarial_needs_classification_and_sizes_at_least_zero(trained):
    with pytest.raises(ConfigError, match="≥ 0"):
        A.check_eps([0.1, -0.1])
    with prepared(P.load("plane")) as t:
        assert t.task == "regression"
        with pytest.raises(ConfigError, match="classification"):
            A.adversarial_event(t.model, t.subject, [0.1], epoch=0, step=0)


# -- in a run -------------------------------------------------------------------------


def test_a_run_answers_a_landscape_request_and_trains_as_without_it(tmp_path):
    from tuidl.progress import ConsoleProgress

    preset = xor(epochs=3, **{"train.instruments.adversarial": True})
    _, plain = train(preset, tmp_path / "a")
    run = R.create(tmp_path / "b", preset.name, P.dumps(preset))
    run.send("landscape")  # taken at the first step
    events, console = [], ConsoleProgress(io.StringIO(), live=False)
    Trainer(preset, run, handle_signals=False, listeners=[events.append, console]).run()
    kinds = [e["type"] for e in events if e["type"] != "checkpoint"]  # (those come from a writer thread)
    assert kinds.count("landscape") == 1 and kinds.index("landscape") < kinds.index("epoch")
    assert kinds[-3:] == ["test", "adversarial", "run_ended"]
    # the weights were put back: the run trained as the one without the request
    assert [e["train"] for e in of(plain, "epoch")] == [e["train"] for e in of(events, "epoch")]
    view = RunView(E.read_events(run.events_path))
    assert view.landscape["step"] == 1 and view.adversarial["eps"] == [0.0, 0.05, 0.1, 0.2, 0.3]
    printed = console.stream.getvalue()
    assert "Loss landscape at epoch 0, step 1" in printed and "Adversarial test at epoch 3" in printed
    assert " FGSM " in printed and "0.3 " in printed


def test_runview_counts_a_malformed_lab_event():
    view = RunView([{"type": "landscape", "time": 1, "alphas": [0, 1], "grid": [[1, 2]]},
                    {"type": "adversarial", "time": 1, "eps": [0, 1], "fgsm": [1], "pgd": [1, 1]}])
    assert view.bad_events == 2 and view.landscape is None and view.adversarial is None


def test_export_shows_the_adversarial_curve(trained, tmp_path):
    from tuidl.core.run import report
    from tuidl.core.lab import runs

    run, _ = trained
    runs.analyse(run, "adversarial", eps=[0.0, 0.2])
    text = report.to_markdown(run, report.load_history(run))
    assert "## Adversarial test" in text and "accuracy (%) under attack" in text and "     0.2 " in text
