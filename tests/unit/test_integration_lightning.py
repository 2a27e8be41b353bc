"""tuidl.integrations.lightning.TuidlLogger with a real lightning.Trainer fitting a tiny
model on the CPU: metrics, hyperparameters, the end, and the dashboard's stop and pause
(sent through the run's control folder, as the dashboard sends them)."""

from __future__ import annotations

import importlib
import sys
import threading
import time

import pytest

pytest.importorskip("lightning")
import lightning as L  # noqa: E402
import torch  # noqa: E402

from tuidl.core.run import rundir as R  # noqa: E402
from tuidl.core.run.events import read_events  # noqa: E402
from tuidl.integrations.lightning import TuidlControl, TuidlLogger  # noqa: E402


class Tiny(L.LightningModule):
    def __init__(self, lr: float = 0.05, hidden: int = 4, on_step=None):
        super().__init__()
        self.save_hyperparameters(ignore=["on_step"])
        self.net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
        self.on_step = on_step
        self.step_times: list[float] = []

    def training_step(self, batch, i):
        self.step_times.append(time.monotonic())
        if self.on_step is not None:
            self.on_step(self, len(self.step_times))
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, i):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def loader():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 2, generator=g)
    data = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
    return torch.utils.data.DataLoader(data, batch_size=8)


def fit(model, logger, epochs=2):
    trainer = L.Trainer(max_epochs=epochs, logger=logger, accelerator="cpu", devices=1, log_every_n_steps=1,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, loader(), loader())
    return trainer


def only_run(root) -> R.RunDir:
    (run,) = R.list_runs(root)
    return run


def test_a_fit_writes_its_metrics_hyperparameters_and_end(tmp_path):
    root = tmp_path / "runs"
    logger = TuidlLogger(name="tiny", project="lit", dir=root)
    trainer = fit(Tiny(), logger)
    run = only_run(root)
    assert logger.version == run.id and logger.name == "tiny"
    assert any(isinstance(cb, TuidlControl) for cb in trainer.callbacks)  # the logger added its callback
    events = read_events(run.events_path)
    metrics = [e for e in events if e["type"] == "metrics"]
    train = [(e["step"], e["values"]["train_loss"]) for e in metrics if "train_loss" in e["values"]]
    assert [s for s, _ in train] == list(range(8))  # 4 batches x 2 epochs, at the global step
    val = [e for e in metrics if "val_loss" in e["values"]]
    assert [e["step"] for e in val] == [3, 7] and all(e["values"]["epoch"] in (0, 1) for e in val)
    config = [e for e in events if e["type"] == "config"]
    assert config and config[-1]["values"] == {"lr": 0.05, "hidden": 4}
    status = run.status()
    assert status["status"] == "completed" and status["project"] == "lit" and status["source"] == "script"
    assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "completed"


def wait_for(condition, what):
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_stop_from_the_dashboard_ends_the_fit_after_the_batch(tmp_path):
    root = tmp_path / "runs"
    logger = TuidlLogger(dir=root)

    def on_step(model, n):
        if n == 3:
            logger.experiment.run_dir.send("stop")  # what the dashboard's x does
            wait_for(lambda: logger.experiment._control.stop.is_set(), "the writer thread to take the stop")

    model = Tiny(on_step=on_step)
    trainer = fit(model, logger, epochs=5)
    assert len(model.step_times) == 3 and trainer.global_step == 3 and trainer.should_stop
    run = only_run(root)
    assert run.status()["status"] == "stopped"
    actions = [e.get("action") for e in read_events(run.events_path) if e["type"] == "control"]
    assert "stop_requested" in actions


def test_a_pause_holds_training_between_steps_until_resume(tmp_path):
    root = tmp_path / "runs"
    logger = TuidlLogger(dir=root)
    state = {}

    def on_step(model, n):
        if n == 2:
            run = logger.experiment
            run.run_dir.send("pause")
            wait_for(lambda: run._control.paused, "the pause")
            state["paused_at"] = time.monotonic()
            threading.Timer(1.0, run.run_dir.send, args=("resume",)).start()

    model = Tiny(on_step=on_step)
    fit(model, logger, epochs=1)
    assert len(model.step_times) == 4
    assert model.step_times[2] - state["paused_at"] >= 0.9  # step 3 waited for the resume
    assert model.step_times[3] - model.step_times[2] < 0.9
    run = only_run(root)
    actions = [e.get("action") for e in read_events(run.events_path) if e["type"] == "control"]
    assert "paused" in actions and "resumed" in actions
    assert run.status()["status"] == "completed"


def test_a_failing_fit_ends_the_run_failed_with_the_exception(tmp_path):
    root = tmp_path / "runs"

    def on_step(model, n):
        if n == 2:
            raise ValueError("bad batch")

    with pytest.raises(ValueError):
        fit(Tiny(on_step=on_step), TuidlLogger(dir=root))
    status = only_run(root).status()
    assert status["status"] == "failed" and status["message"] == "ValueError: bad batch"


def test_without_lightning_one_line_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "lightning.pytorch", None)
    monkeypatch.delitem(sys.modules, "tuidl.integrations.lightning")
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module("tuidl.integrations.lightning")
    assert str(exit_.value) == ("error: tuidl.integrations.lightning needs lightning: "
                                "pip install 'tuidl[lightning]'")
