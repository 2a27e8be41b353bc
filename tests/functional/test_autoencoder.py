"""Self-supervised training (issue 31): autoencoders learn to reproduce their input, the
latent map and reconstructions are sent while they learn, and the linear probe measures
what the codes are worth. The tiny presets train on the CPU in seconds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tuidl.core.preset import preset as P
from tuidl.core.preset.schema import ConfigError
from tuidl.core.run import rundir as R
from tuidl.core.run.runview import RunView
from tuidl.core.train.objective import EVAL_SEED, SelfPart, corrupt


def train(tmp_path, name: str, *overrides: str):
    from tuidl.core.train import Trainer

    torch.set_num_threads(1)
    preset = P.load(name, [*overrides, "train.device='cpu'"])
    P.resolve(preset)
    run = R.create(tmp_path, preset.name, P.dumps(preset))
    events: list[dict] = []
    trainer = Trainer(preset, run, listeners=[events.append], handle_signals=False)
    assert trainer.run() == "completed"
    return trainer, run, events


def of(events, kind):
    return [e for e in events if e["type"] == kind]


@pytest.fixture(scope="module")
def digits_ae(tmp_path_factory):
    return train(tmp_path_factory.mktemp("runs"), "digits-ae", "train.epochs=4")


def test_an_autoencoder_learns_to_reproduce_its_input(digits_ae):
    trainer, _run, events = digits_ae
    started = of(events, "run_started")[0]
    assert started["objective"] == "reconstruct" and started["task"] == "regression"
    assert started["data"]["balance"]["test"] and sum(started["data"]["balance"]["test"]) == len(trainer.data.test)
    first = of(events, "step")[0]["loss"]
    test = of(events, "test")[-1]["metrics"]["loss"]
    assert test < 0.5 * first, (first, test)  # the reconstruction error falls
    epochs = [e["val"]["loss"] for e in of(events, "epoch")]
    assert epochs[-1] < epochs[0]


def test_the_latent_map_has_a_code_per_test_sample_and_the_reconstructions_show_the_same_inputs(digits_ae):
    trainer, _run, events = digits_ae
    latent = of(events, "latent")
    assert latent, "no latent event"
    n = len(trainer.data.test)
    for ev in latent:
        assert len(ev["points"]) == len(ev["labels"]) == ev["of"] == n
        assert ev["dim"] == 2 and ev["method"] == "direct" and ev["layer"] == "code_1"
    assert sorted(set(latent[-1]["labels"])) == list(range(10))
    # the codes are the encoder's outputs for the test inputs, in order
    from tuidl.core.train.latent import codes, encoder

    z = codes(encoder(trainer.model, 4), trainer.data.test.x)
    assert np.allclose(latent[-1]["points"], z, atol=2e-3)
    recon = of(events, "reconstructions")
    assert len(recon) == len(latent) and recon[-1]["kind"] == "image"
    assert all(r["inputs"] == recon[0]["inputs"] for r in recon)  # the same test inputs every time
    assert len(recon[-1]["outputs"]) == 8 and len(recon[-1]["outputs"][0][0]) == 8  # (1, 8, 8) images
    view = RunView(events)
    assert view.latent is latent[-1] and view.reconstructions is recon[-1]


def test_the_trained_encoders_probe_beats_a_random_encoders(digits_ae, capsys):
    import json

    from tuidl.cli import main
    from tuidl.core.lab import kept

    _trainer, run, _events = digits_ae
    assert main(["probe", str(run.path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert kept.saved(run, "probe") == result and result["checkpoint"] == "best"
    assert result["layer"] == "code_1" and result["dim"] == 2 and result["test_samples"] == 270
    probe, ari = result["probe"], result["ari"]
    assert probe["trained"] > probe["random"] + 0.1, probe
    assert ari["trained"] > ari["random"], ari
    assert probe["raw"] > 0.85  # 64 raw pixels: a linear model reads digits well


def test_a_classifiers_penultimate_layer_has_a_latent_map(tmp_path):
    trainer, _run, events = train(tmp_path, "digits-mlp", "train.epochs=1", "train.instruments.latent=true")
    latent = of(events, "latent")
    assert latent and latent[-1]["layer"] == "dropout_1" and latent[-1]["dim"] == 128
    assert latent[-1]["method"] == "pca" and len(latent[-1]["explained"]) == 2
    assert len(latent[-1]["points"]) == len(trainer.data.test)
    assert not of(events, "reconstructions")  # a classifier reconstructs nothing


def test_a_conv_autoencoder_on_mnist1d_sends_sequences(tmp_path):
    trainer, _run, events = train(tmp_path, "mnist1d-conv-ae", "train.epochs=1", "data.params.n_samples=1000")
    recon = of(events, "reconstructions")[-1]
    assert recon["kind"] == "sequence" and len(recon["outputs"][0][0]) == 40
    assert of(events, "latent")[-1]["method"] == "pca"


def test_denoising_and_masking_corrupt_the_input_not_the_target():
    x = torch.ones(64, 1, 8, 8)
    noisy = corrupt(x, "denoise", 0.5, 0.0)
    assert noisy.shape == x.shape and 0.3 < float((noisy - x).std()) < 0.7 and bool((x == 1).all())
    masked = corrupt(x, "mask", 0.0, 0.25)
    assert 0.2 < float((masked == 0).float().mean()) < 0.3
    part = SelfPart(x, x, labels=torch.zeros(64, dtype=torch.long), objective="mask", mask=0.5, fixed=True)
    (a, ya), (b, yb) = next(part.batches(64, False)), next(part.batches(64, False))
    assert torch.equal(a, b) and torch.equal(ya, x) and not torch.equal(a, x)  # the same hidden part each time
    assert torch.equal(a, corrupt(x, "mask", 0.0, 0.5, torch.Generator().manual_seed(EVAL_SEED)))


@pytest.mark.parametrize("overrides, where, words", [
    (["model.layers[8].shape=[1, 4, 16]"], "model.layers[8]", "the input's shape (1, 8, 8) for reconstruct, got (1, 4, 16)"),
    (["train.loss='cce'"], "model.layers[8]", "use 'mse' or 'bce'"),
])
def test_a_self_supervised_preset_that_cannot_work_is_refused_at_its_key(overrides, where, words):
    with pytest.raises(ConfigError) as e:
        P.resolve(P.load("digits-ae", overrides))
    assert e.value.problems[0].path == where and words in str(e.value)


def test_one_code_layer_marks_the_bottleneck():
    edit = P.edit(P.load("digits-ae"), {"model.layers[2]": {"type": "code"}})
    assert edit.preset is not None, edit.problems
    with pytest.raises(ConfigError) as e:
        P.resolve(edit.preset)
    assert e.value.problems[0].path == "model.layers[4]" and "one code layer" in str(e.value)


def test_probe_text_names_each_figure():
    from tuidl.core.lab.probe import probe_text

    text = probe_text({"dim": 2, "layer": "code_1", "train_samples": 1257, "test_samples": 270, "split": "test",
                       "probe": {"trained": 0.563, "random": 0.315, "raw": 0.952},
                       "ari": {"trained": 0.35, "random": 0.113, "raw": 0.52}})
    lines = text.splitlines()
    assert "2-D codes of code_1" in lines[0] and "1,257 training samples, 270 test" in lines[0]
    assert lines[2].split()[-2:] == ["56.3%", "0.350"] and "random encoder" in lines[3] and "raw inputs" in lines[4]
