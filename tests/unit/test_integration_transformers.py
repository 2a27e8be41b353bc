"""tuidl.integrations.transformers.TuidlCallback with a real transformers.Trainer training
a tiny BERT built from a config (no download) for a few steps on the CPU."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
import torch  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainerCallback, TrainingArguments  # noqa: E402

from tuidl.core.run import rundir as R  # noqa: E402
from tuidl.core.run.events import read_events  # noqa: E402
from tuidl.integrations.transformers import TuidlCallback  # noqa: E402


class Data(torch.utils.data.Dataset):
    def __init__(self, n=32):
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(1, 30, (n, 8), generator=g)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": int(self.ids[i, 0] % 2)}


def trainer(tmp_path, callback, steps=6, more=()):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=32, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                        intermediate_size=8, max_position_embeddings=16, num_labels=2)
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=steps, per_device_train_batch_size=4,
                             learning_rate=1e-3, logging_steps=1, eval_strategy="steps", eval_steps=3,
                             save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True)
    return Trainer(model=BertForSequenceClassification(config), args=args, train_dataset=Data(),
                   eval_dataset=Data(8), callbacks=[callback, *more])


def test_training_logs_every_step_with_args_as_config(tmp_path):
    root = tmp_path / "runs"
    trainer(tmp_path, TuidlCallback(name="bert", dir=root)).train()
    (run,) = R.list_runs(root)
    events = read_events(run.events_path)
    metrics = [e for e in events if e["type"] == "metrics"]
    train = [e["step"] for e in metrics if "train/loss" in e["values"]]
    assert train == [1, 2, 3, 4, 5, 6]
    assert all("train/learning_rate" in e["values"] for e in metrics if "train/loss" in e["values"])
    assert [e["step"] for e in metrics if "val/loss" in e["values"]] == [3, 6]
    config = events[0]["config"]
    assert config["max_steps"] == 6 and config["learning_rate"] == 1e-3 and config["model"]["hidden_size"] == 8
    summary = [e for e in events if e["type"] == "summary"][-1]["values"]
    assert summary["train_runtime"] > 0
    assert run.status()["status"] == "completed"


class StopAt(TrainerCallback):
    def __init__(self, tuidl_cb, at):
        self.cb, self.at = tuidl_cb, at

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == self.at:  # what the dashboard's x does, then the writer thread takes it
            import time

            self.cb.run.run_dir.send("stop")
            deadline = time.monotonic() + 10
            while not self.cb.run._control.stop.is_set() and time.monotonic() < deadline:
                time.sleep(0.02)


def test_a_stop_from_the_dashboard_stops_training(tmp_path):
    root = tmp_path / "runs"
    cb = TuidlCallback(dir=root)
    t = trainer(tmp_path, cb, steps=50, more=[StopAt(cb, 2)])
    t.train()
    assert t.state.global_step == 3
    (run,) = R.list_runs(root)
    assert run.status()["status"] == "stopped"
