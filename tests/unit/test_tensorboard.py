"""TensorBoard logdirs as tuidl runs (tuidl.core.run.tbimport) and tuidl runs as event
files (tbexport), on files written by torch's SummaryWriter and Lightning's
TensorBoardLogger, including a file still being written and a record cut in half."""

from __future__ import annotations

import json
import sys
import time

import pytest

pytest.importorskip("tensorboard")

from tuidl import cli  # noqa: E402
from tuidl.core.run import rundir as R  # noqa: E402
from tuidl.core.run import tbexport, tbimport  # noqa: E402
from tuidl.core.run.events import read_events  # noqa: E402
from tuidl.core.run.report import load_history  # noqa: E402


def writer(folder):
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(folder), flush_secs=3600)


def metrics(run: R.RunDir) -> list[tuple[int, dict]]:
    return [(e["step"], e["values"]) for e in read_events(run.events_path) if e["type"] == "metrics"]


def test_import_makes_one_run_per_folder_with_its_scalars_by_step(tmp_path, capsys):
    logdir = tmp_path / "logs"
    for name, scale in (("a", 1.0), ("b", 2.0)):
        with writer(logdir / name) as w:
            for step in range(4):
                w.add_scalar("train/loss", scale / 2 ** step, step)
                w.add_scalar("val/loss", scale * 0.1 * step, step)
            w.add_scalar("lr", float("nan"), 9)
    root = tmp_path / "runs"
    assert cli.main(["import", "tensorboard", str(logdir), "--runs-dir", str(root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[1:] for line in out] == [["a:", "5", "steps"], ["b:", "5", "steps"]]
    runs = {r.read_status()["name"]: r for r in R.list_runs(root)}
    assert set(runs) == {"a", "b"}
    b = runs["b"]
    got = metrics(b)
    assert got[:2] == [(0, {"train/loss": 2.0, "val/loss": 0.0}), (1, {"train/loss": 1.0, "val/loss": 0.2})]
    assert got[-1] == (9, {"lr": "nan"})
    status = b.status()
    assert status["status"] == "completed" and status["source"] == "tensorboard" and status["steps"] == 5
    assert status["tensorboard"] == str((logdir / "b").resolve())
    started = read_events(b.events_path)[0]
    assert started["type"] == "run_started" and started["source"] == "tensorboard" and started["name"] == "b"
    history = load_history(b)  # the dashboard's reader takes it as any logged run
    assert history.logged and history.scalars["train/loss"].values.tolist() == [2.0, 1.0, 0.5, 0.25]
    # importing again rewrites the same runs, it does not add new ones
    with writer(logdir / "b") as w:
        w.add_scalar("train/loss", 0.1, 10)
    assert cli.main(["import", "tensorboard", str(logdir), "--runs-dir", str(root)]) == 0
    assert sorted(r.id for r in R.list_runs(root)) == sorted(r.id for r in runs.values())
    assert metrics(b)[-1] == (10, {"train/loss": 0.1})
    assert [e["type"] for e in read_events(b.events_path)].count("run_started") == 1


def test_a_folder_without_scalars_makes_no_run_and_bad_input_is_one_line(tmp_path, capsys):
    with writer(tmp_path / "logs" / "text") as w:
        w.add_text("note", "hello", 0)
    root = tmp_path / "runs"
    assert cli.main(["import", "tensorboard", str(tmp_path / "logs"), "--runs-dir", str(root)]) == 0
    assert "text: no scalars" in capsys.readouterr().out and R.list_runs(root) == []
    assert cli.main(["import", "tensorboard", str(tmp_path / "nowhere")]) == 2
    (tmp_path / "empty").mkdir()
    assert cli.main(["import", "tensorboard", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "nowhere: no such folder" in err[0] and "no TensorBoard event files" in err[1]


def test_a_missing_tensorboard_package_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    (tmp_path / "logs").mkdir()
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if not installed
    assert cli.main(["import", "tensorboard", str(tmp_path / "logs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: tuidl import: reading TensorBoard files needs the tensorboard package: "
                   "pip install 'tuidl[tensorboard]'")


def test_a_file_still_being_written_and_a_record_cut_in_half(tmp_path):
    logdir, root = tmp_path / "logs", tmp_path / "runs"
    w = writer(logdir / "live")
    w.add_scalar("loss", 1.0, 0)
    w.add_scalar("loss", 0.5, 1)
    w.flush()
    follower = tbimport.Follower(logdir, root)
    follower.sync()
    (source,) = follower.sources.values()
    run = source.run
    assert run.status()["status"] == "running" and run.is_live()
    assert metrics(run) == [(0, {"loss": 1.0}), (1, {"loss": 0.5})]
    w.add_scalar("acc", 0.7, 1)  # step 1 again: a second event at that step
    w.add_scalar("loss", 0.25, 2)
    w.flush()
    follower.sync()
    assert metrics(run) == [(0, {"loss": 1.0}), (1, {"loss": 0.5}), (1, {"acc": 0.7}), (2, {"loss": 0.25})]
    assert load_history(run).scalars["acc"].steps.tolist() == [1.0]
    # a new run folder appears as a new run
    with writer(logdir / "second") as w2:
        w2.add_scalar("loss", 3.0, 0)
    follower.sync()
    assert sorted(r.read_status()["name"] for r in R.list_runs(root)) == ["live", "second"]
    # a record cut in half (the writer is mid-write) is read once it is whole
    path = next((logdir / "live").glob("events.out.tfevents.*"))
    size = path.stat().st_size
    w.add_scalar("loss", 0.125, 3)
    w.add_scalar("loss", 0.0625, 4)
    w.flush()
    whole = path.read_bytes()
    path.write_bytes(whole[:size + 7])  # step 3's record, cut
    follower.sync()
    assert metrics(run)[-1] == (2, {"loss": 0.25})
    path.write_bytes(whole)
    follower.sync()
    assert metrics(run)[-2:] == [(3, {"loss": 0.125}), (4, {"loss": 0.0625})]
    w.close()
    follower.stop()
    status = run.status()
    assert status["status"] == "completed" and status["steps"] == 6
    assert read_events(run.events_path)[-1]["type"] == "run_ended"


def test_follow_in_the_background_while_another_program_writes(tmp_path):
    logdir, root = tmp_path / "logs", tmp_path / "runs"
    (logdir).mkdir()
    follower = tbimport.Follower(logdir, root, every=0.05).start()
    try:
        w = writer(logdir / "bg")
        for step in range(3):
            w.add_scalar("loss", 1.0 / (step + 1), step)
            w.flush()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                runs = R.list_runs(root)
                if runs and any(s == step and "loss" in v for s, v in metrics(runs[0])):
                    break
                time.sleep(0.05)
            else:
                pytest.fail(f"step {step} never reached the run")
        w.close()
    finally:
        follower.stop()
    assert follower.error is None


def test_lightning_tensorboard_logger_files_with_hparams(tmp_path):
    pytest.importorskip("lightning")
    from lightning.pytorch.loggers import TensorBoardLogger

    logger = TensorBoardLogger(save_dir=str(tmp_path / "logs"), name="lit")
    logger.log_hyperparams({"lr": 0.01, "hidden": 8, "opt": "adam"})
    for step in range(3):
        logger.log_metrics({"train_loss": 1.0 - 0.1 * step, "epoch": 0}, step=step)
    logger.log_metrics({"val_loss": 0.95}, step=2)
    logger.finalize("success")
    root = tmp_path / "runs"
    (source,) = tbimport.import_logdir(tmp_path / "logs", root)
    assert source.name == "lit/version_0"
    run = source.run
    assert metrics(run) == [(0, {"hp_metric": -1.0, "train_loss": 1.0, "epoch": 0.0}), (1, {"train_loss": 0.9, "epoch": 0.0}),
                            (2, {"train_loss": 0.8, "epoch": 0.0, "val_loss": 0.95})]
    config = json.loads(run.config_path.read_text())
    assert config == {"lr": 0.01, "hidden": 8, "opt": "adam"}
    assert read_events(run.events_path)[0]["config"] == config


def test_export_writes_event_files_that_import_back_the_same(tmp_path, capsys):
    import tuidl

    root = tmp_path / "runs"
    run = tuidl.init(name="exp", config={"lr": 0.1}, dir=root, telemetry=False)
    for step in range(5):
        run.log({"train/loss": 1.0 / 2 ** step, "val/loss": 2.0 / 2 ** step})
    run.log({"acc": 0.5}, step=7)
    run.finish()
    out = tmp_path / "tb"
    assert cli.main(["export", run.id, "--format", "tensorboard", "--out", str(out), "--runs-dir", str(root)]) == 0
    assert f"wrote 11 scalars to {out}" in capsys.readouterr().out
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(out))  # TensorBoard's own reader sees the scalars
    acc.Reload()
    assert sorted(acc.Tags()["scalars"]) == ["acc", "train/loss", "val/loss"]
    assert [(e.step, round(e.value, 6)) for e in acc.Scalars("val/loss")][:2] == [(0, 2.0), (1, 1.0)]
    (source,) = tbimport.import_logdir(out, tmp_path / "back")
    assert metrics(source.run) == metrics(R.open_run(run.id, root))
