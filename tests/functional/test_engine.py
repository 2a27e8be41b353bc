"""The training engine on real (tiny) runs: events, checkpoints, resume, faults."""


import pytest
import torch

from tuidl.core.run import events as E
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.train import Trainer, load_checkpoint
from tuidl.core.preset.schema import ConfigError
from helpers import of

TINY = """
name = "tiny"
seed = 1
[data]
dataset = "xor"
batch_size = 16
params = { n_samples = 200, noise = 0.1 }
[[model.layers]]
type = "dense"
units = 8
activation = "tanh"
[[model.layers]]
type = "dropout"
rate = 0.1
[[model.layers]]
type = "dense"
units = 2
[train]
epochs = 3
device = "cpu"
optimizer = { name = "adam", lr = 0.02 }
"""


def tiny(overrides=(), text=TINY):
    return P.load_text(text, "tiny.toml", list(overrides))


def train(tmp_path, preset, resume_run=None, **kw):
    run = resume_run or R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    status = Trainer(preset, run, resume=resume_run is not None, handle_signals=False, **kw).run()
    return status, run, E.read_events(run.events_path)


def test_event_stream_contract(tmp_path):
    status, run, evs = train(tmp_path, tiny())
    assert status == "completed"
    assert evs[0]["type"] == "run_started" and evs[0]["schema"] == E.SCHEMA_VERSION
    assert evs[0]["summary"]["total"] == 8 * 2 + 8 + 8 * 2 + 2
    assert evs[0]["data"]["sizes"] == {"train": 140, "val": 30, "test": 30}
    assert evs[0]["task"] == "classification" and evs[0]["loss"] == "cce" and evs[0]["device"] == "cpu"
    assert [e["epoch"] for e in of(evs, "epoch")] == [1, 2, 3]
    for e in of(evs, "epoch"):
        assert set(e["train"]) == {"loss", "acc"} and set(e["val"]) == {"loss", "acc"}
        assert e["samples_per_s"] > 0 and e["lr"] == pytest.approx(0.02)
    assert of(evs, "boundary")[-1]["size"] == 40 and len(of(evs, "boundary")[-1]["values"]) == 40
    test = of(evs, "test")[0]
    assert sum(map(sum, test["confusion"])) == 30 and len(test["samples"]) == 8
    assert evs[-1]["type"] == "run_ended" and evs[-1]["status"] == "completed"
    assert evs[-1]["test"] == test["metrics"]
    kinds = {(c["kind"], c["reason"]) for c in of(evs, "checkpoint")}
    assert ("last", "epoch") in kinds and ("best", "epoch") in kinds
    status_file = run.status()
    assert status_file["status"] == "completed" and status_file["epoch"] == 3
    state = load_checkpoint(run.checkpoint("last"))
    assert state["progress"]["epoch"] == 3


def test_same_seed_same_metrics_and_resolved_preset_reruns(tmp_path):
    _, run, a = train(tmp_path, tiny())
    again = P.load(run.preset_path)  # the resolved preset saved with the run
    _, _, b = train(tmp_path, again)
    assert [e["train"] for e in of(a, "epoch")] == [e["train"] for e in of(b, "epoch")]
    assert of(a, "test")[0]["metrics"] == of(b, "test")[0]["metrics"]
    _, _, c = train(tmp_path, tiny(["seed=2"]))
    assert [e["train"] for e in of(a, "epoch")] != [e["train"] for e in of(c, "epoch")]


@pytest.mark.parametrize("stop_step", [4, 9, 18])
def test_stop_and_resume_equals_uninterrupted(tmp_path, monkeypatch, stop_step):
    overrides = ["train.schedule.name='onecycle'", "train.epochs=3"]
    _, _, whole = train(tmp_path, tiny(overrides))
    monkeypatch.setenv("TUIDL_FAULT", f"stop@{stop_step}")
    status, run, first = train(tmp_path, tiny(overrides))
    assert status == "stopped" and first[-1]["status"] == "stopped"
    assert of(first, "checkpoint")[-1]["reason"] == "stop"
    monkeypatch.delenv("TUIDL_FAULT")
    status, _, both = train(tmp_path, P.load(run.preset_path), resume_run=run)
    assert status == "completed"
    assert [e["epoch"] for e in of(both, "epoch")] == [1, 2, 3]
    assert [e["train"] for e in of(both, "epoch")] == [e["train"] for e in of(whole, "epoch")]
    assert [e["val"] for e in of(both, "epoch")] == [e["val"] for e in of(whole, "epoch")]
    assert of(both, "test")[0]["metrics"] == of(whole, "test")[0]["metrics"]
    assert of(both, "run_started")[-1]["resumed_from"] == (stop_step - 1) // 9


@pytest.mark.parametrize("opt", ["sgd", "rmsprop", "adam", "adamw"])
@pytest.mark.parametrize("schedule", ["constant", "step", "cosine", "onecycle", "plateau"])
def test_every_optimizer_and_schedule_trains(tmp_path, opt, schedule):
    # one-cycle peaks at 10 × lr unless told: 0.2 makes RMSprop's loss rise on this net, so the peak is set
    overrides = [f"train.optimizer.name='{opt}'", f"train.schedule.name='{schedule}'", "train.epochs=2",
                 "train.schedule.warmup_epochs=1", "train.schedule.step_size=1", "train.schedule.patience=0",
                 "train.schedule.max_lr=0.05"]
    if opt == "sgd":
        overrides += ["train.optimizer.momentum=0.9", "train.optimizer.nesterov=true"]
    status, _, evs = train(tmp_path, tiny(overrides))
    assert status == "completed"
    epochs = of(evs, "epoch")
    lrs = [e["lr"] for e in epochs]
    assert all(lr > 0 for lr in lrs)
    # it trained: the loss fell, over the epochs and from the first step to the validation at the end
    first_step = of(evs, "step")[0]["loss"]
    assert epochs[-1]["train"]["loss"] < epochs[0]["train"]["loss"] < first_step
    assert epochs[-1]["val"]["loss"] < first_step
    if schedule == "constant":
        assert lrs[0] == pytest.approx(0.02 * 0.01)  # warmup starts at lr / 100
        assert lrs[1] == pytest.approx(0.02)


def test_schedules_move_the_learning_rate(tmp_path):
    _, _, evs = train(tmp_path, tiny(["train.schedule.name='step'", "train.schedule.step_size=1",
                                      "train.schedule.gamma=0.5"]))
    assert [e["lr"] for e in of(evs, "epoch")] == pytest.approx([0.02, 0.01, 0.005])
    _, _, evs = train(tmp_path, tiny(["train.schedule.name='cosine'"]))
    lrs = [e["lr"] for e in of(evs, "epoch")]
    assert lrs[0] > lrs[1] > lrs[2]


def test_regularization_and_clipping_run(tmp_path):
    status, _, evs = train(tmp_path, tiny(["train.l1=0.001", "train.l2=0.01", "train.grad_clip=0.5",
                                           "train.optimizer.weight_decay=0.01", "train.label_smoothing=0.1"]))
    assert status == "completed"
    plain = train(tmp_path, tiny())[2]
    assert of(evs, "epoch")[0]["train"] != of(plain, "epoch")[0]["train"]


def test_early_stopping_restores_best(tmp_path):
    status, run, evs = train(tmp_path, tiny(["train.epochs=10", "train.early_stopping.enabled=true",
                                             "train.early_stopping.patience=2",
                                             "train.early_stopping.min_delta=100"]))
    assert status == "completed"
    assert len(of(evs, "epoch")) == 3  # epoch 1 is best; 2 and 3 don't improve by 100
    notes = [n["kind"] for n in of(evs, "note")]
    assert "early_stop" in notes and "restore_best" in notes
    assert evs[-1]["best"]["epoch"] == 1 and evs[-1]["epochs_completed"] == 3


def test_regression_and_bce(tmp_path):
    status, _, evs = train(tmp_path, tiny(["data.dataset='plane'", "model.layers.2.units=1"]))
    assert status == "completed" and set(of(evs, "epoch")[0]["train"]) == {"loss", "mae"}
    assert evs[0]["loss"] == "mse"
    status, _, evs = train(tmp_path, tiny(["model.layers.2.units=1", "train.loss='bce'"]))
    assert status == "completed" and evs[0]["loss"] == "bce"
    assert of(evs, "epoch")[-1]["train"]["acc"] > 0.5


def test_nan_loss_ends_as_diverged_with_last_good_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("TUIDL_FAULT", "nan@12")
    status, run, evs = train(tmp_path, tiny())
    assert status == "diverged" and evs[-1]["status"] == "diverged"
    assert "nan" in evs[-1]["message"]
    assert [e["epoch"] for e in of(evs, "epoch")] == [1]  # epoch 1 (9 steps) completed before step 12
    state = load_checkpoint(run.checkpoint("last"))
    assert state["progress"]["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert run.status()["status"] == "diverged"


def test_exception_mid_epoch_fails_truthfully(tmp_path, monkeypatch):
    monkeypatch.setenv("TUIDL_FAULT", "error@14")
    status, run, evs = train(tmp_path, tiny())
    assert status == "failed" and evs[-1]["message"] == "InjectedFault: injected failure at step 14"
    assert len(of(evs, "epoch")) == 1
    # the real exception path: the error note, then which checkpoint was kept (none is written)
    notes = {n["kind"]: n for n in of(evs, "note")}
    assert notes["error"]["level"] == "error" and notes["error"]["message"] == evs[-1]["message"]
    assert notes["checkpoint_kept"]["message"] == "kept the checkpoint of epoch 1"
    assert [c["reason"] for c in of(evs, "checkpoint") if c["kind"] == "last"] == ["start", "epoch"]
    assert load_checkpoint(run.checkpoint("last"))["progress"]["epoch"] == 1


def test_out_of_memory_suggests_smaller_batch(tmp_path, monkeypatch):
    monkeypatch.setenv("TUIDL_FAULT", "oom@3")
    status, _, evs = train(tmp_path, tiny())
    assert status == "failed"
    assert "smaller batch size" in evs[-1]["message"] and "data.batch_size=8" in evs[-1]["message"]


def test_disk_full_during_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    monkeypatch.setenv("TUIDL_FAULT", "diskfull@4")
    status, run, evs = train(tmp_path, tiny())
    assert status == "completed"
    failed = [n for n in of(evs, "note") if n["kind"] == "checkpoint_failed"]
    assert len(failed) == 1 and "No space left" in failed[0]["message"]
    assert load_checkpoint(run.checkpoint("last"))["progress"]["epoch"] == 3
    assert not [p for p in run.checkpoints.iterdir() if p.name.endswith(".tmp")]


class Evil:
    def __reduce__(self):
        return (print, ("owned",))


def test_checkpoint_that_needs_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": Evil()}, path)
    with pytest.raises(ConfigError, match="weights_only"):
        load_checkpoint(path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="refusing checkpoint"):
        load_checkpoint(path)


def test_cuda_request_without_cuda_is_bad_input(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="train.device"):
        train(tmp_path, tiny(["train.device='cuda'"]))


def test_control_pause_resume_checkpoint_stop(tmp_path):
    preset = tiny(["train.epochs=200", "data.params.n_samples=2000"])
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    trainer = Trainer(preset, run, handle_signals=False)
    seen = []

    def listener(ev):
        seen.append(ev["type"] if ev["type"] != "control" else ev["action"])
        if ev["type"] == "epoch" and ev["epoch"] == 1:
            run.send("pause")
        if ev.get("action") == "paused":
            run.send("checkpoint")
            run.send("resume")
        if ev.get("action") == "resumed":
            run.send("stop")

    trainer.listeners.append(listener)
    assert trainer.run() == "stopped"
    order = [s for s in seen if s in ("paused", "checkpoint_requested", "resumed", "stop_requested")]
    assert order == ["paused", "checkpoint_requested", "resumed", "stop_requested"]
    assert run.status()["status"] == "stopped"


def test_short_epochs_checkpoint_at_most_every_interval(tmp_path, monkeypatch):
    monkeypatch.setenv("TUIDL_CHECKPOINT_INTERVAL", "3600")
    status, run, evs = train(tmp_path, tiny(["train.epochs=6"]))
    assert status == "completed"
    written = [(c["kind"], c["epoch"]) for c in of(evs, "checkpoint")]
    # the start, the first best, then nothing until the end (the pending best, the last)
    assert written[:2] == [("last", 0), ("best", 1)]
    assert written[-1] == ("last", 6) and len(written) <= 4
    best_epoch = evs[-1]["best"]["epoch"]
    assert load_checkpoint(run.checkpoint("best"))["progress"]["epoch"] == best_epoch
    assert load_checkpoint(run.checkpoint("last"))["progress"]["epoch"] == 6


def test_a_dataset_that_is_not_a_plane_trains_without_boundary(tmp_path):
    status, _, evs = train(tmp_path, P.load("digits-mlp", ["train.epochs=1", "train.device='cpu'"]))
    assert status == "completed" and not of(evs, "boundary")
    assert "top5" in of(evs, "epoch")[0]["val"] and of(evs, "test")[0]["samples"]
