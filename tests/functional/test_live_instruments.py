"""The live instruments in real (tiny) runs, the trainer in this process: layer health's
warnings where they belong and not on a shipped preset, nothing computed when off, the
neuron view only where it fits. The hand-built cases are in tests/unit/test_health.py
and tests/unit/test_neurons.py; a dashboard's watch_health reaching a live trainer
process is in tests/e2e/test_live_instruments_e2e.py."""

import pytest

from tuidl.core.run import events as E
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.run.runview import RunView
from tuidl.core.train import Trainer, health
from helpers import of


def dense_stack(activation, n, units, lr, optimizer="adam", dataset="xor", epochs=4):
    layers = "".join(f'[[model.layers]]\ntype = "dense"\nunits = {units}\nactivation = "{activation}"\n'
                     for _ in range(n))
    return f"""
name = "lab"
seed = 0
[data]
dataset = "{dataset}"
batch_size = 16
{'params = { n_samples = 300, noise = 0.1 }' if dataset == 'xor' else ''}
{'[[model.layers]]' + chr(10) + 'type = "flatten"' if dataset != 'xor' else ''}
{layers}
[[model.layers]]
type = "dense"
units = {2 if dataset == 'xor' else 10}
[train]
epochs = {epochs}
device = "cpu"
optimizer = {{ name = "{optimizer}", lr = {lr} }}
"""


@pytest.fixture
def often(monkeypatch):
    """A health measurement at every tick (each epoch end, each step event), whatever it costs."""
    monkeypatch.setattr(health, "EVERY_S", 0.0)
    monkeypatch.setattr(health, "BUDGET", 1e9)


def train(tmp_path, preset, listeners=()):
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    trainer = Trainer(preset, run, handle_signals=False, listeners=list(listeners))
    status = trainer.run()
    return status, E.read_events(run.events_path), trainer


def warnings(evs):
    return [e["kind"] for e in of(evs, "note") if e["level"] == "warning"]


def test_a_deep_sigmoid_net_warns_of_vanishing_gradients(tmp_path, often):
    preset = P.load_text(dense_stack("sigmoid", 8, 10, 0.03), "lab.toml", ["train.instruments.health=true"])
    status, evs, _ = train(tmp_path, preset)
    assert status == "completed" and len(of(evs, "health")) >= 3
    assert warnings(evs) == ["vanishing_gradients"]
    note = next(e for e in of(evs, "note") if e["kind"] == "vanishing_gradients")
    assert note["message"].startswith("gradients vanish in the first layers: dense_1's gradient per weight is ")
    view = RunView(evs)
    assert list(view.health) == [f"dense_{i}" for i in range(1, 10)]
    assert len(view.health["dense_1"]) == len(of(evs, "health"))


def test_a_huge_learning_rate_kills_relu_units(tmp_path, often):
    preset = P.load_text(dense_stack("relu", 2, 64, 1.0, "sgd", "digits", epochs=6), "lab.toml",
                         ["train.instruments.health=true"])
    status, evs, _ = train(tmp_path, preset)
    assert warnings(evs) == ["dead_units"]
    note = next(e for e in of(evs, "note") if e["kind"] == "dead_units")
    assert "ReLU units output 0 for every example — the learning rate 1 is likely too high" in note["message"]
    assert max(layer["dead"] for layer in of(evs, "health")[-1]["layers"] if layer["dead"] is not None) > 0.5


@pytest.mark.parametrize("name, overrides", [("spiral", ["train.epochs=25"]), ("digits-mlp", ["train.epochs=4"])])
def test_shipped_presets_get_no_warning(tmp_path, often, name, overrides):
    preset = P.load(name, overrides + ["train.device='cpu'", "train.instruments.health=true"])
    status, evs, _ = train(tmp_path, preset)
    assert status == "completed" and len(of(evs, "health")) >= 4
    assert warnings(evs) == []


def test_nothing_is_computed_when_off_and_nobody_watches(tmp_path, often):
    seen = []

    def no_hooks(ev):  # at every event the trainer sends: no instrument hook left on the model
        trainer = trainers[0]
        seen.append(trainer.instruments.armed or any(m._forward_hooks for m in trainer.model.modules()))

    trainers = []
    original = Trainer._setup

    def setup(self):
        original(self)
        trainers.append(self)

    Trainer._setup = setup
    try:
        status, evs, _ = train(tmp_path, P.load("spiral", ["train.epochs=5", "train.device='cpu'"]), [
            lambda ev: no_hooks(ev) if trainers else None])
    finally:
        Trainer._setup = original
    assert status == "completed" and seen and not any(seen)
    assert of(evs, "health") == [] and of(evs, "neurons") == []


def test_neuron_view_on_a_playground_preset(tmp_path):
    preset = P.load("xor", ["train.epochs=3", "train.device='cpu'", "train.instruments.neurons=true"])
    status, evs, trainer = train(tmp_path, preset)
    sent = of(evs, "neurons")
    assert sent and sent[-1]["epoch"] == 3  # the last one shows the trained model
    last = sent[-1]
    assert [la["name"] for la in last["layers"]] == ["dense_1", "dense_2"] and last["output"]["name"] == "dense_3"
    assert len(last["weights"]) == 3 and len(last["weights"][0][0]) == len(preset.data.params.features)
    assert RunView(evs).neurons == last
    assert of(evs, "health") == []  # one instrument on is not the other


def test_no_neuron_view_for_data_that_are_not_2d_points(tmp_path):
    preset = P.load("digits-mlp", ["train.epochs=1", "train.device='cpu'", "train.instruments.neurons=true"])
    status, evs, trainer = train(tmp_path, preset)
    assert status == "completed" and trainer.instruments.neurons is None and of(evs, "neurons") == []


def test_health_follows_the_watch_command(tmp_path, often):
    """watch_health through the control folder turns it on for WATCH_S."""
    preset = P.load("spiral", ["train.epochs=30", "train.device='cpu'"])
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    trainer = Trainer(preset, run, handle_signals=False)
    # the control folder read at every step: at the default (every 0.25 s) a fast moment
    # trained the last 20 epochs before the command was read, and the test failed once
    trainer.control.every_s = 0.0
    epochs = []

    def on_epoch(ev):
        if ev["type"] == "epoch":
            epochs.append(ev["epoch"])
            if ev["epoch"] == 10:
                run.send("watch_health")

    trainer.listeners.append(on_epoch)
    assert trainer.run() == "completed"
    sent = of(E.read_events(run.events_path), "health")
    assert sent and all(e["epoch"] > 10 for e in sent)
