"""Data-parallel training on this machine's CPU: the tests that start a process (a trainer, the
command, a terminal). The others are in tests/unit/test_distributed.py."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from tuidl.core.run import events as E
from tuidl.core.run import launch
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.train import Trainer, load_checkpoint
from helpers import ROOT, of, tuidl
from test_distributed import single, xor, xor_args

# xor without dropout or batch norm; 231 samples leave 161 for training: ten batches of 16
# and a last one of 1, so rank 0 carries that batch alone (weight 2) and rank 1 none (weight 0)
# (deterministic=false only spares each process the import that torch.use_deterministic_algorithms costs)


def assert_same_metrics(a, b, tol=1e-5):
    ea, eb = of(a, "epoch"), of(b, "epoch")
    assert [e["epoch"] for e in ea] == [e["epoch"] for e in eb]
    for x, y in zip(ea, eb):
        for part in ("train", "val"):
            assert x[part].keys() == y[part].keys()
            for key in x[part]:
                assert y[part][key] == pytest.approx(x[part][key], abs=tol), (x["epoch"], part, key)
    ta, tb = of(a, "test")[-1]["metrics"], of(b, "test")[-1]["metrics"]
    assert tb == pytest.approx(ta, abs=tol)


def wait_for_events(tail, seen, predicate, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        seen.extend(tail.poll())
        if any(predicate(e) for e in seen):
            return True
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------------------
# Real runs (about 10 s each: torch starts in three processes)

@pytest.mark.timeout(150)
def test_two_processes_train_like_one_and_only_rank_0_writes(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "tuidl", "train", *xor_args(4), "--nproc", "2",
                             "--runs-dir", str(runs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Data-parallel: 2 processes" in out and "Run completed" in out and "Traceback" not in out + err
    run = R.list_runs(runs)[0]
    evs = E.read_events(run.events_path)

    # one writer: the event stream of a single run
    assert [e["type"] for e in evs].count("run_started") == 1 and [e["type"] for e in evs].count("run_ended") == 1
    assert evs[0]["type"] == "run_started" and evs[-1]["type"] == "run_ended" and evs[-1]["status"] == "completed"
    started = evs[0]
    assert started["world_size"] == 2 and started["batch_size"] == 16 and started["steps_per_epoch"] == 11
    assert started["data"]["sizes"]["train"] == 161
    assert [e["epoch"] for e in of(evs, "epoch")] == [1, 2, 3, 4]
    assert len(of(evs, "test")) == 1
    saves = [(c["epoch"], c["kind"], c["reason"]) for c in of(evs, "checkpoint")]
    assert len(saves) == len(set(saves))
    steps = of(evs, "step")
    # samples/s over a window of the last seconds: the first sync only starts it
    assert steps and "samples_per_s" not in steps[0] and all(s["samples_per_s"] > 0 for s in steps[1:])
    assert [s["step"] for s in steps] == sorted({s["step"] for s in steps})
    status = run.status()
    assert status["status"] == "completed" and status["pid"] == proc.pid  # the torchrun agent: this command
    assert set(os.listdir(run.path)) <= {"preset.toml", "events.jsonl", "status.json", "checkpoints", "control",
                                         "rank1.err"}
    assert sorted(os.listdir(run.checkpoints)) == ["best.pt", "last.pt"]

    # the same numbers as one process with the same global batch
    ref_run, ref = single(tmp_path, xor(4))
    assert_same_metrics(ref, evs)
    # and the same checkpoint format (the bare model's weights)
    mine, theirs = load_checkpoint(run.checkpoint("last")), load_checkpoint(ref_run.checkpoint("last"))
    assert mine["model"].keys() == theirs["model"].keys()
    assert mine["progress"] == pytest.approx(theirs["progress"], abs=1e-5)
    for key in theirs["model"]:
        torch.testing.assert_close(mine["model"][key], theirs["model"][key], atol=1e-5, rtol=1e-4)


@pytest.mark.timeout(150)
def test_control_and_sigterm_on_two_processes_then_resume_on_one(tmp_path):
    preset = xor(16)
    run = launch.start(preset, runs_root=tmp_path / "runs", telemetry=False, nproc=2)
    proc = run.process
    assert os.getsid(proc.pid) == proc.pid
    tail, seen = E.EventTail(run.events_path), []
    try:
        assert wait_for_events(tail, seen, lambda e: e["type"] == "epoch")
        assert run.read_status()["pid"] == proc.pid  # the supervisor (torchrun agent): the run dies with it
        run.send("pause")
        assert wait_for_events(tail, seen, lambda e: e.get("action") == "paused", 20)
        assert run.status()["status"] == "paused"
        run.send("checkpoint")
        assert wait_for_events(tail, seen, lambda e: e["type"] == "checkpoint" and e["reason"] == "requested", 20)
        run.send("resume")
        assert wait_for_events(tail, seen, lambda e: e.get("action") == "resumed", 20)
        run.send("pause")
        assert wait_for_events(tail, seen, lambda e: [x.get("action") for x in seen].count("paused") == 2, 20)
        os.kill(proc.pid, signal.SIGTERM)  # reaches both ranks through torchrun; they stop while paused
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    seen += tail.poll()
    assert seen[-1]["type"] == "run_ended" and seen[-1]["status"] == "stopped" and "SIGTERM" in seen[-1]["message"]
    assert any(e["type"] == "checkpoint" and e["reason"] == "stop" for e in seen)
    assert run.status()["status"] == "stopped"
    stopped_at = load_checkpoint(run.checkpoint("last"))["progress"]["epoch"]
    assert stopped_at < 16

    # the checkpoint of two processes resumes on one, and ends where one process alone would
    assert Trainer(P.load(run.preset_path), run, resume=True, handle_signals=False).run() == "completed"
    evs = E.read_events(run.events_path)
    assert [e["world_size"] for e in of(evs, "run_started")] == [2, 1]
    assert [e["epoch"] for e in of(evs, "epoch")] == list(range(1, 17))
    assert [e["status"] for e in of(evs, "run_ended")] == ["stopped", "completed"]
    _, ref = single(tmp_path, preset)
    assert_same_metrics(ref, evs)


@pytest.mark.timeout(150)
def test_one_process_stopped_by_sigterm_resumes_on_two(tmp_path):
    preset = xor(12)
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))

    def sigterm_in_epoch_4(ev):
        if ev["type"] == "epoch" and ev["epoch"] == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # a real signal, to the trainer's own handler

    assert Trainer(preset, run, listeners=[sigterm_in_epoch_4]).run() == "stopped"
    assert load_checkpoint(run.checkpoint("last"))["progress"]["epoch"] == 3
    out = tuidl("train", "--resume", str(run.path), "--nproc", "2", "--quiet")
    assert out.returncode == 0, out.stderr
    assert f"Run directory: {run.path}" in out.stdout
    evs = E.read_events(run.events_path)
    assert [e["world_size"] for e in of(evs, "run_started")] == [1, 2]
    assert [e["resumed_from"] for e in of(evs, "run_started")] == [0, 3]
    assert [e["epoch"] for e in of(evs, "epoch")] == list(range(1, 13))
    assert run.status()["status"] == "completed"
    _, ref = single(tmp_path, preset)
    assert_same_metrics(ref, evs)


@pytest.mark.timeout(150)
def test_a_rank_that_dies_fails_the_run_naming_it(tmp_path):
    runs = tmp_path / "runs"
    t0 = time.monotonic()
    out = tuidl("train", *xor_args(20), "--nproc", "2", "--runs-dir", str(runs), "--quiet",
                env={"TUIDL_FAULT": "die@4:1"}, timeout=120)  # rank 1 is killed (SIGKILL) at step 4
    assert time.monotonic() - t0 < 90
    assert out.returncode == 1
    assert "rank 1 died (SIGKILL)" in out.stderr and "Traceback" not in out.stdout + out.stderr
    run = R.list_runs(runs)[0]
    status = run.status()
    assert status["status"] == "failed" and "rank 1" in status["message"]
    evs = E.read_events(run.events_path)
    assert len(of(evs, "run_started")) == 1 and len(of(evs, "run_ended")) == 1
    assert evs[-1]["type"] == "run_ended" and evs[-1]["status"] == "failed" and "rank 1" in evs[-1]["message"]


# ---------------------------------------------------------------------------
# The pieces, without launching


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without a GPU")
def test_ddp_check_says_clearly_that_it_needs_a_gpu():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "ddp_check.py")], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 2
    assert "cannot run here" in out.stderr and "GPU" in out.stderr and "Traceback" not in out.stderr
