"""tuidl.integrations.keras.TuidlCallback with Keras 3 on the torch backend: batch and
epoch logs, the config, and a stop from the dashboard."""

from __future__ import annotations

import os
import time

import pytest

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: tensorflow is not installed
keras = pytest.importorskip("keras")
import numpy as np  # noqa: E402

from tuidl.core.run import rundir as R  # noqa: E402
from tuidl.core.run.events import read_events  # noqa: E402
from tuidl.integrations.keras import TuidlCallback  # noqa: E402


def model():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    return m


def data(n=32):
    x = np.random.default_rng(0).normal(size=(n, 2)).astype("float32")
    return x, x.sum(1, keepdims=True)


def test_batch_and_epoch_logs_and_the_config(tmp_path):
    assert keras.backend.backend() == "torch"
    root = tmp_path / "runs"
    x, y = data()
    model().fit(x, y, batch_size=8, epochs=2, validation_data=data(8), verbose=0,
                callbacks=[TuidlCallback(name="k", dir=root)])
    (run,) = R.list_runs(root)
    events = read_events(run.events_path)
    metrics = [e for e in events if e["type"] == "metrics"]
    assert [e["step"] for e in metrics if "batch/loss" in e["values"]] == list(range(8))
    epochs = [e for e in metrics if "val_loss" in e["values"]]
    assert [(e["step"], e["values"]["epoch"]) for e in epochs] == [(3, 1), (7, 2)]
    assert {"loss", "mae", "val_loss", "val_mae"} <= set(epochs[0]["values"])
    config = events[0]["config"]
    assert config["epochs"] == 2 and config["steps"] == 4 and config["optimizer"]["name"] == "sgd"
    assert run.status()["status"] == "completed"


def test_a_stop_from_the_dashboard_sets_stop_training(tmp_path):
    root = tmp_path / "runs"
    cb = TuidlCallback(dir=root)

    class StopAt(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if cb.step == 2:
                cb.run.run_dir.send("stop")
                deadline = time.monotonic() + 10
                while not cb.run._control.stop.is_set() and time.monotonic() < deadline:
                    time.sleep(0.02)

    x, y = data()
    m = model()
    history = m.fit(x, y, batch_size=8, epochs=20, verbose=0, callbacks=[StopAt(), cb])
    assert cb.step == 3 and len(history.epoch) == 1
    (run,) = R.list_runs(root)
    assert run.status()["status"] == "stopped"
