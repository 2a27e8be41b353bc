"""Ctrl+C (SIGINT) and SIGTERM to a headless `tuidl train`: checkpoint, end as stopped,
resume to the same end as an uninterrupted run."""

import signal
import subprocess
import sys
import time

import pytest

from tuidl.core.run import events as E
from tuidl.core.run import rundir as R

from helpers import run_cli

ARGS = ["xor", "--set", "train.epochs=30", "--set", "data.params.n_samples=1500", "--set", "train.device='cpu'"]


def start(tmp_path):
    return subprocess.Popen([sys.executable, "-m", "tuidl", "train", *ARGS, "--runs-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_epochs(tmp_path, n, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        runs = R.list_runs(tmp_path)
        if runs and len([e for e in E.read_events(runs[0].events_path) if e["type"] == "epoch"]) >= n:
            return runs[0]
        time.sleep(0.05)
    raise AssertionError("no epochs in time")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_with_checkpoint_and_resume_completes(tmp_path, sig):
    proc = start(tmp_path)
    run = wait_for_epochs(tmp_path, 2)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    evs = E.read_events(run.events_path)
    assert evs[-1]["type"] == "run_ended" and evs[-1]["status"] == "stopped"
    assert signal.Signals(sig).name in evs[-1]["message"]
    assert [c for c in evs if c["type"] == "checkpoint"][-1]["reason"] == "stop"
    assert f"Resume with: tuidl train --resume {run.path}" in out
    assert run.status()["status"] == "stopped"
    if sig == signal.SIGTERM:
        return  # resuming after SIGTERM: test_cli.py's detached trainer
    resumed = run_cli("train", "--resume", str(run.path), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    evs = E.read_events(run.events_path)
    assert [e["epoch"] for e in evs if e["type"] == "epoch"] == list(range(1, 31))
    assert evs[-1]["status"] == "completed"
