"""Each script in examples/ runs as a user runs it and leaves one completed run with the
metrics its framework logs."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuidl.core.run import rundir as R
from tuidl.core.run.report import load_history

ROOT = Path(__file__).resolve().parents[2]
CASES = {  # script: (the library it needs, the run's name, metrics it must have logged)
    "plain_loop.py": (None, "plain-loop", {"train/loss", "val/loss", "val/acc"}),
    "lightning_fit.py": ("lightning", "lightning-fit", {"train_loss", "val_loss", "epoch"}),
    "hf_trainer.py": ("transformers", "hf-trainer", {"train/loss", "val/loss", "train/learning_rate"}),
    "keras_fit.py": ("keras", "keras-fit", {"batch/loss", "loss", "val_loss", "accuracy", "val_accuracy"}),
}


@pytest.mark.parametrize("script", sorted(CASES))
def test_an_example_runs_and_leaves_its_run(tmp_path, script):
    needs, name, names = CASES[script]
    if needs and importlib.util.find_spec(needs) is None:
        pytest.skip(f"{needs} is not installed")
    assert len((ROOT / "examples" / script).read_text().splitlines()) < 40
    env = {**os.environ, "TUIDL_RUNS": str(tmp_path / "runs"), "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "torch"}
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run,) = R.list_runs(tmp_path / "runs")
    status = run.status()
    assert status["status"] == "completed" and status["name"] == name and status["project"] == "examples"
    history = load_history(run)
    assert names <= set(history.scalars.names), history.scalars.names
