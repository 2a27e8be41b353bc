"""The `tuidl` command as a user runs it: the tests that start a process (a trainer, the command, a
terminal). The others are in tests/functional/test_cli.py."""

import os
import signal


from tuidl.core.run import events as E
from tuidl.core.run import launch
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from helpers import tuidl, wait_until


def test_train_prints_keras_style_and_runs_lists_it(tmp_path):
    runs = tmp_path / "runs"
    out = tuidl("train", "xor", "--set", "train.epochs=2", "--set", "data.params.n_samples=100", "--runs-dir",
                str(runs))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    epoch_lines = [line for line in lines if line.startswith("Epoch ")]
    assert len(epoch_lines) == 2
    for key in ("loss:", "acc:", "val_loss:", "val_acc:", "samples/s"):
        assert key in epoch_lines[0]
    assert any(line.startswith("Test: test_loss:") for line in lines)
    listing = tuidl("runs", "--runs-dir", str(runs))
    assert listing.returncode == 0
    row = listing.stdout.splitlines()[1].split()
    assert row[1:4] == ["xor", "completed", "2/2"] and row[4].startswith("val_loss=")


def test_diverging_run_exits_1(tmp_path):
    out = tuidl("train", "xor", "--set", "train.epochs=2", "--runs-dir", str(tmp_path),
                env={"TUIDL_FAULT": "nan@3"})
    assert out.returncode == 1 and "Run diverged" in out.stdout


def test_trainer_process_survives_sigterm_and_resumes(tmp_path):
    """The real detached trainer: SIGTERM checkpoints and stops; resume completes it."""
    preset = P.load("spiral", ["train.epochs=60", "data.params.n_samples=1000", "train.device='cpu'"])
    run = launch.start(preset, runs_root=tmp_path, telemetry=False)
    proc = run.process
    assert os.getsid(proc.pid) == proc.pid  # own session: a closing terminal does not end it
    tail = E.EventTail(run.events_path)
    seen = []
    wait_until(lambda: seen.extend(tail.poll()) or any(e["type"] == "epoch" for e in seen))
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    seen += tail.poll()
    assert seen[-1]["type"] == "run_ended" and seen[-1]["status"] == "stopped"
    assert "SIGTERM" in seen[-1]["message"]
    assert run.status()["status"] == "stopped"
    done = len([e for e in seen if e["type"] == "epoch"])
    out = tuidl("train", "--resume", str(run.path), "--quiet")
    assert out.returncode == 0, out.stderr
    evs = E.read_events(run.events_path)
    assert [e["epoch"] for e in evs if e["type"] == "epoch"] == list(range(1, 61))
    assert evs[-1]["status"] == "completed"
    assert [e["resumed_from"] for e in evs if e["type"] == "run_started"][1] in (done, done - 1, done + 1)
    assert (run.path / "trainer.err").exists()


def test_resume_refuses_a_completed_run(tmp_path):
    out = tuidl("train", "xor", "--set", "train.epochs=1", "--runs-dir", str(tmp_path), "--quiet")
    assert out.returncode == 0, out.stderr
    run = R.list_runs(tmp_path)[0]
    again = tuidl("train", "--resume", str(run.path))
    assert again.returncode == 2 and "already completed" in again.stderr
