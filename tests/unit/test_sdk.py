"""The logging API (tuidl.sdk, docs/logging.md) in this process: the writer, flushing,
bad values, a full disk, control, ranks, joining a ``tuidl run``. What needs a process of
its own (exit, signals, SIGKILL, a file-size limit, the import check) is in
tests/e2e/test_logging_e2e.py."""

import json
import math
import os
import threading
import time

import numpy as np
import pytest

import tuidl
from tuidl import sdk
from tuidl.core.numbers import number
from tuidl.core.run import events as E
from tuidl.core.run import rundir as R


@pytest.fixture(autouse=True)
def _no_process_hooks(monkeypatch):
    """No excepthook / atexit / signal handlers in the test process; no run left over."""
    monkeypatch.setattr(sdk, "_hooks_installed", True)
    monkeypatch.delenv(sdk.ENV_RUN, raising=False)
    for var in ("RANK", "LOCAL_RANK", sdk.ENV_ALL_RANKS):
        monkeypatch.delenv(var, raising=False)
    yield
    if sdk._active is not None:
        sdk._active.finish()


def events(run):
    return E.read_events(run.run_dir.events_path)


def metrics(run):
    return [ev for ev in events(run) if ev["type"] == "metrics"]


class FakeTensor:
    """What a torch tensor offers the logger (no torch import): ``item()`` raises for
    more than one element, as torch's does."""

    def __init__(self, *values):
        self.values = values
        self.shape = (len(values),) if len(values) != 1 else ()

    def item(self):
        if len(self.values) != 1:
            raise RuntimeError(f"a Tensor with {len(self.values)} elements cannot be converted to Scalar")
        return self.values[0]


def test_a_run_is_a_run_directory_with_its_events(tmp_path):
    run = tuidl.init(project="mnist", name="first try", config={"lr": 0.01, "layers": [8, 8]})
    for i in range(5):
        run.log({"train/loss": 1.0 / (i + 1), "acc": i / 10})
    run.summary["best_acc"] = 0.4
    run.finish()
    assert run.dir.parent == tmp_path / "runs"  # $TUIDL_RUNS (conftest)
    assert R.open_run(run.id).path == run.dir and [r.id for r in R.list_runs()] == [run.id]
    evs = events(run)
    first = evs[0]
    assert first["type"] == "run_started" and first["schema"] == 1 and first["source"] == "script"
    assert (first["name"], first["project"], first["config"]) == ("first try", "mnist", {"lr": 0.01, "layers": [8, 8]})
    assert first["pid"] == os.getpid() and "preset" not in first
    ms = metrics(run)
    assert [m["step"] for m in ms] == [0, 1, 2, 3, 4]
    assert ms[1]["values"] == {"train/loss": 0.5, "acc": 0.1}
    assert [ev["type"] for ev in evs[-2:]] == ["summary", "run_ended"]
    assert evs[-2]["values"] == {"best_acc": 0.4}
    assert evs[-1]["status"] == "completed"
    st = run.run_dir.status()
    assert st["status"] == "completed" and st["name"] == "first try" and st["project"] == "mnist"
    assert json.loads(run.run_dir.config_path.read_text()) == {"lr": 0.01, "layers": [8, 8]}


def test_numbers_of_every_kind_count_as_their_value():
    run = tuidl.init()
    run.log({"int": 3, "bool": True, "np32": np.float32(0.5), "np64": np.float64(0.25), "npint": np.int64(7),
             "0d": np.array(1.5), "tensor": FakeTensor(2.5), "nan": math.nan, "inf": -math.inf,
             "nested": {"a": 1, "b": {"c": 2}}})
    run.finish()
    values = metrics(run)[0]["values"]
    assert {k: v for k, v in values.items() if k not in ("nan", "inf")} == {
        "int": 3, "bool": 1, "np32": 0.5, "np64": 0.25, "npint": 7, "0d": 1.5, "tensor": 2.5,
        "nested/a": 1, "nested/b/c": 2}
    assert math.isnan(number(values["nan"])) and number(values["inf"]) == -math.inf


def test_a_value_that_is_not_a_number_warns_once_and_the_loop_goes_on(capsys):
    run = tuidl.init()
    for i in range(3):
        run.log({"loss": 0.5, "note": "hello", "nothing": None, "vector": FakeTensor(1.0, 2.0),
                 "array": np.zeros(3)})
    run.log("not a dict")  # a wrong call is not logged either, and does not raise
    run.finish()
    assert [m["values"] for m in metrics(run)] == [{"loss": 0.5}] * 3
    err = capsys.readouterr().err.splitlines()
    assert len([line for line in err if "'note' is a str" in line]) == 1
    assert len([line for line in err if "'nothing' is None" in line]) == 1
    assert len([line for line in err if "'vector' is a FakeTensor of shape (2,)" in line]) == 1
    assert len([line for line in err if "'array' is a ndarray of shape (3,)" in line]) == 1
    assert len([line for line in err if "run.log(str" in line]) == 1


def test_steps_count_on_and_follow_the_users_steps():
    run = tuidl.init()
    run.log({"a": 1})  # 0
    run.log({"a": 2}, step=10)
    run.log({"a": 3})  # 11
    run.log({"b": 1}, commit=False)  # 12, and the next call stays on 12
    run.log({"c": 1})
    run.finish()
    assert [m["step"] for m in metrics(run)] == [0, 10, 11, 12, 12]


def test_log_only_queues_and_the_thread_writes_within_half_a_second():
    run = tuidl.init()
    path = run.run_dir.events_path
    run.log({"x": 1.0})
    assert len(run._queue) == 1  # nothing written on the caller's thread
    deadline = time.monotonic() + 5
    while not any(ev["type"] == "metrics" for ev in E.read_events(path)):
        assert time.monotonic() < deadline, "nothing written"
        time.sleep(0.02)
    t_logged = time.time()
    run.log({"x": 2.0})
    while len([ev for ev in E.read_events(path) if ev["type"] == "metrics"]) < 2:
        time.sleep(0.02)
    assert time.time() - t_logged < 0.5 + 0.5  # FLUSH_S 0.25, slack for a busy machine
    run.finish()


def test_a_full_disk_warns_once_keeps_what_is_logged_and_writes_it_when_it_can(capsys):
    run = tuidl.init()
    run.log({"x": 0})
    run._flush()
    fd = run._writer._fd
    real = os.dup(fd)
    full = os.open("/dev/full", os.O_WRONLY)  # every write: ENOSPC, a real full device
    os.dup2(full, fd)
    try:
        for i in range(1, 200):
            run.log({"x": i})
            if i % 50 == 0:
                run._flush()
    finally:
        os.dup2(real, fd)  # space again
        os.close(real)
        os.close(full)
    err = capsys.readouterr().err
    assert err.count("No space left on device") == 1 and "kept in memory" in err
    run.log({"x": 200})
    run.finish()
    assert [m["values"]["x"] for m in metrics(run)] == list(range(201))  # nothing lost, nothing twice
    assert events(run)[-1]["status"] == "completed"


def test_an_unwritable_folder_warns_and_training_goes_on(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    run = tuidl.init(dir=blocker / "runs")  # a folder that cannot be made: its parent is a file
    for i in range(10):
        run.log({"x": i})
        run.wait_if_paused()
        assert not run.should_stop
    run.finish()
    assert run.id is None
    err = capsys.readouterr().err
    assert err.count("tuidl: cannot write a run in") == 1 and "training goes on" in err


def test_an_exception_in_the_with_block_fails_the_run_with_its_last_line():
    with pytest.raises(ValueError):
        with tuidl.init() as run:
            run.log({"x": 1})
            raise ValueError("loss went sideways")
    st = run.run_dir.status()
    assert st["status"] == "failed" and st["message"] == "ValueError: loss went sideways"
    assert events(run)[-1]["message"] == "ValueError: loss went sideways"


def test_a_stop_from_the_control_folder_reaches_should_stop():
    run = tuidl.init()
    assert not run.should_stop
    R.RunDir(run.dir).send("stop")  # what the dashboard and `tuidl stop` do
    deadline = time.monotonic() + 5
    steps = 0
    while not run.should_stop:
        assert time.monotonic() < deadline, "the stop never arrived"
        run.log({"x": steps})
        steps += 1
        time.sleep(0.01)
    run.finish()
    assert run.run_dir.status()["status"] == "stopped"
    assert {"type": "control", "action": "stop_requested"}.items() <= \
        next(ev for ev in events(run) if ev["type"] == "control").items()


def test_pause_blocks_wait_if_paused_until_resume_and_checkpoint_now_calls_back():
    saved = []
    run = tuidl.init(on_checkpoint=lambda: saved.append(threading.current_thread()))
    run.wait_if_paused()  # the loop says it obeys
    rd = R.RunDir(run.dir)
    rd.send("checkpoint")
    deadline = time.monotonic() + 5
    while not saved:
        assert time.monotonic() < deadline
        run.wait_if_paused()
        time.sleep(0.01)
    assert saved == [threading.main_thread()]  # in the training thread, not the writer's
    rd.send("pause")
    while rd.read_status().get("status") != "paused":
        assert time.monotonic() < deadline + 5
        time.sleep(0.01)
    threading.Timer(0.6, rd.send, ("resume",)).start()
    t0 = time.monotonic()
    run.wait_if_paused()
    assert time.monotonic() - t0 >= 0.5
    assert run._control.paused_s >= 0.5  # paused time is not training time
    run.finish()
    assert [ev["action"] for ev in events(run) if ev["type"] == "control"] == \
        ["checkpoint_requested", "paused", "resumed"]
    assert run.run_dir.status()["status"] == "completed"


def test_only_rank_0_writes_unless_every_rank_is_asked_for(monkeypatch, tmp_path):
    monkeypatch.setenv("RANK", "1")
    quiet = tuidl.init(name="ddp")
    quiet.log({"x": 1})
    quiet.finish()
    assert quiet.id is None and not (tmp_path / "runs").exists()
    loud = tuidl.init(name="ddp", all_ranks=True)
    loud.finish()
    assert loud.id is not None and "-ddp-rank1-" in loud.id


def test_init_inside_tuidl_run_joins_that_run(monkeypatch):
    root = R.runs_root()
    made = R.create_logged(root, "cmd", {}, status={"source": "command"})
    made.write_status(status="running", pid=os.getpid())
    monkeypatch.setenv(sdk.ENV_RUN, str(made.path))
    run = tuidl.init(config={"lr": 0.1})
    run.log({"x": 1})
    run.finish()
    assert run.dir == made.path and len(R.list_runs()) == 1
    evs = E.read_events(made.events_path)
    assert [ev["type"] for ev in evs] == ["config", "metrics"]  # run_started and run_ended are the supervisor's
    st = made.read_status()
    assert st["status"] == "running" and st["script_status"] == "completed" and st["script_pid"] == os.getpid()
    assert json.loads(made.config_path.read_text()) == {"lr": 0.1}


def test_module_level_calls_work_as_wandbs():
    wandb = tuidl
    wandb.config.batch_size = 32  # before init: goes into the run's config
    run = wandb.init(config={"lr": 0.1})
    assert wandb.run is run and wandb.config.lr == 0.1 and wandb.config["batch_size"] == 32
    wandb.config.update({"epochs": 3})
    wandb.log({"loss": 1.0})
    wandb.summary["best"] = 0.5
    wandb.finish()
    assert wandb.run is None
    evs = events(run)
    assert evs[0]["config"] == {"lr": 0.1, "batch_size": 32}
    assert {"type": "config", "values": {"epochs": 3}}.items() <= \
        next(ev for ev in evs if ev["type"] == "config").items()
    assert json.loads(run.run_dir.config_path.read_text()) == {"lr": 0.1, "batch_size": 32, "epochs": 3}
    assert next(ev for ev in evs if ev["type"] == "summary")["values"] == {"best": 0.5}


def test_a_second_init_finishes_the_first_run():
    first = tuidl.init(name="a")
    second = tuidl.init(name="b")
    assert first.finished and first.run_dir.status()["status"] == "completed"
    second.finish()
    assert len(R.list_runs()) == 2


def test_run_again_says_why_a_run_cannot_be_run_again(tmp_path):
    from tuidl.core.run import command as C

    root = tmp_path / "runs"
    preset_run = R.create(root, "spiral", 'name = "spiral"\n')
    with pytest.raises(ValueError, match=r"trained from a preset: re-run its preset"):
        C.again_of(preset_run)
    imported = R.create_logged(root, "tb", {}, status={"source": "tensorboard"})
    with pytest.raises(ValueError, match=r"does not say what command or script made it"):
        C.again_of(imported)
    old = R.create_logged(root, "old", {}, status={"source": "command", "command": ["python", "x.py"]})
    with pytest.raises(ValueError, match=r"which directory it ran in .* run it again by hand: python x.py"):
        C.again_of(old)
    gone = R.create_logged(root, "gone", {}, status={"source": "command", "command": ["python", "x.py"],
                                                     "cwd": str(tmp_path / "nowhere")})
    with pytest.raises(ValueError, match=r"ran in .*nowhere, which is gone"):
        C.again_of(gone)
    there = R.create_logged(root, "ok", {}, status={"source": "command", "command": ["python", "x.py"],
                                                    "cwd": str(tmp_path), "project": "p"})
    assert C.again_of(there) == (["python", "x.py"], str(tmp_path), "ok", "p")


def test_alert_is_an_event_the_dashboard_reads_back(capsys):
    """tuidl.alert(title, text, level), trackio's call shape: an ``alert`` event in the
    run's stream, which RunView and the alert rules read back."""
    from tuidl.core.alerts.rules import AlertRules
    from tuidl.core.alerts.watch import RunAlerts
    from tuidl.core.run.runview import RunView

    run = tuidl.init(name="alerting")
    tuidl.alert("val acc low", "0.31 after 200 steps", level=tuidl.AlertLevel.ERROR)
    run.alert("checkpoint saved", level="INFO")
    run.alert("no text")
    run.finish()
    got = [ev for ev in events(run) if ev["type"] == "alert"]
    assert [(ev["title"], ev["text"], ev["level"]) for ev in got] == [
        ("val acc low", "0.31 after 200 steps", "error"), ("checkpoint saved", "", "info"), ("no text", "", "warn")]
    assert all(isinstance(ev["time"], float) for ev in got)
    assert "tuidl alert [ERROR] val acc low: 0.31 after 200 steps" in capsys.readouterr().err
    assert RunView(events(run)).alerts == got
    fired = RunAlerts(AlertRules(ended=())).feed(events(run), now=time.time())
    assert [(a.kind, a.title, a.level) for a in fired] == [("script", "val acc low", "error"),
                                                          ("script", "checkpoint saved", "info"),
                                                          ("script", "no text", "warn")]


def test_alert_before_init_warns_and_does_not_raise(capsys):
    tuidl.alert("nothing to attach it to")
    assert "before tuidl.init()" in capsys.readouterr().err
