"""Fitting a model to its data (tuidl.core.model.fit): what changes for each kind of switch."""

from __future__ import annotations

import pytest

from tuidl.core.preset import preset as P
from tuidl.core.model.fit import data_signature, fit_to_data, model_problem


def switched(name: str, *overrides: str) -> P.Preset:
    return P.load(name, list(overrides))


@pytest.mark.parametrize("name,overrides,first,units,loss", [
    # flat Playground data → 8×8 images, 10 classes: flatten first, 10 outputs
    ("spiral", ["data.dataset='digits'", "data.params={}"], "flatten", 10, "auto"),
    # classification → regression: one output
    ("spiral", ["data.dataset='plane'"], "dense", 1, "auto"),
    # regression → classification with a loss set by hand: the loss follows (one output
    # unit suits two classes: auto picks bce for it)
    ("plane", ["data.dataset='spiral'", "train.loss='mse'"], "dense", 1, "auto"),
    # bce on two classes stays; ten classes need cce
    ("spiral", ["train.loss='bce'", "model.layers[2].units=1", "data.dataset='digits'", "data.params={}"],
     "flatten", 10, "auto"),
    # a CNN for images on flat data: a small MLP takes its place
    ("digits-cnn", ["data.dataset='spiral'", "data.params={}"], "dense", 2, "auto"),
    # an RNN for sequences on images
    ("mnist1d-gru", ["data.dataset='digits'", "data.params={}", "data.split.official_test=false"],
     "flatten", 10, "auto"),
])
def test_fit_to_data(name, overrides, first, units, loss):
    overrides = [o.replace("model.layers[2].units", "model.layers.2.units") for o in overrides]
    preset = switched(name, *overrides)
    assert model_problem(preset)
    fitted = fit_to_data(preset)
    assert fitted.preset is not None and fitted.changes and fitted.before, fitted
    assert not model_problem(fitted.preset)
    layers = fitted.preset.model.layers
    assert layers[0].kind == first and layers[-1].units == units and fitted.preset.train.loss == loss
    assert fitted.preset.data == preset.data and fitted.preset.train.optimizer == preset.train.optimizer


def test_a_fitting_model_is_left_alone_and_bce_on_two_classes_stays():
    preset = switched("spiral", "train.loss='bce'", "model.layers.2.units=1")
    assert not model_problem(preset)
    fitted = fit_to_data(preset)
    assert fitted.preset is preset and not fitted.changes and not fitted.changed
    # another 2-class set keeps the one-unit bce output
    other = switched("spiral", "train.loss='bce'", "model.layers.2.units=1", "data.dataset='circle'")
    assert fit_to_data(other).preset is other


def test_what_cannot_be_fitted_says_why():
    custom = switched("spiral", "model.custom='mymodels:Net'", "model.layers=[]", "data.dataset='digits'",
                      "data.params={}")
    assert fit_to_data(custom).changes == []
    missing = switched("spiral", "data.dataset='csv'", "data.params={path='nope.csv'}")
    assert model_problem(missing) == ""  # the data is the problem, not the model
    assert data_signature(missing) is None
    autoencoder = switched("digits-ae", "data.dataset='mnist1d'", "data.params={n_samples=1000}")
    fitted = fit_to_data(autoencoder)
    assert fitted.preset is None and fitted.changes == [] and "outputs its input" in fitted.problem


def test_early_stopping_follows_the_task():
    preset = switched("spiral", "train.early_stopping.enabled=true", "train.early_stopping.monitor='val_acc'",
                      "data.dataset='plane'")
    fitted = fit_to_data(preset)
    assert fitted.preset.train.early_stopping.monitor == "val_loss"
    assert any("early stopping" in c for c in fitted.changes)
