"""The benchmark scripts under bench/ run and produce well-formed results (tiny settings, one
repetition): the tests that start a process (a trainer, the command, a terminal). The others are
in tests/unit/test_bench.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_bench import BENCH  # puts bench/ on sys.path

import dashboard  # noqa: E402
import memory  # noqa: E402

from tuidl.core.run import events as E  # noqa: E402
from helpers import ROOT  # noqa: E402


def script(name: str, *args: str, timeout: float = 120) -> tuple[int, str, dict | list | None, Path]:
    out = Path(os.environ["TUIDL_RUNS"]).parent / f"{name}.json"
    proc = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), *args, "--json", str(out)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    data = json.loads(out.read_text()) if out.is_file() else None
    return proc.returncode, proc.stdout + proc.stderr, data, out


def test_synthetic_run_follows_the_event_schema(tmp_path):
    run, written = memory.synth_run(tmp_path, steps=5000, every=250, steps_per_s=1000.0, epochs=2)
    events = E.read_events(run.events_path)
    assert len(events) == written
    types = [ev["type"] for ev in events]
    assert types[0] == "run_started" and types[-1] == "run_ended" and types[-2] == "test"
    assert all(isinstance(ev["time"], float) for ev in events)
    assert [ev["time"] for ev in events] == sorted(ev["time"] for ev in events)
    start = events[0]
    assert start["schema"] == E.SCHEMA_VERSION and start["steps_per_epoch"] == 2500
    assert {"summary", "data", "metrics", "device", "pid", "world_size"} <= set(start)
    assert start["summary"]["rows"] and start["data"]["classes"]
    steps = [ev for ev in events if ev["type"] == "step"]
    assert len(steps) == 20 and steps[-1]["step"] == 5000
    assert {"epoch", "step", "epoch_step", "loss", "acc", "lr", "samples_per_s"} <= set(steps[0])
    epochs = [ev for ev in events if ev["type"] == "epoch"]
    assert [ev["epoch"] for ev in epochs] == [1, 2]
    assert {"loss", "acc"} <= set(epochs[0]["train"]) and "top5" in epochs[0]["val"]
    assert sum(1 for t in types if t == "telemetry") == 5  # one a second of a 5 s run
    k = len(start["data"]["classes"])
    test = next(ev for ev in events if ev["type"] == "test")
    assert len(test["confusion"]) == k and len(test["samples"]) == 8
    assert run.status()["status"] == "completed"


def test_the_dashboard_replays_a_synthetic_run_in_a_terminal(tmp_path):
    """The dashboard child on a pseudo-terminal: first frame without torch, then the
    whole replay drawn; memory and CPU readings are there."""
    run, written = memory.synth_run(tmp_path, steps=3000, every=250, steps_per_s=1000.0, epochs=3)
    r = memory.measure(run, "pty", settle=0.2)
    assert r["follow_status"] == "completed"
    assert r["events_received"] == written
    assert r["points"]["loss"] >= 12 and r["rss_start_mb"] > 0
    assert all(n >= 1 for n in r["redraws"].values())


def test_first_frame_comes_without_torch(tmp_path):
    env = dict(os.environ, TUIDL_RUNS=str(tmp_path / "runs"))
    import startup

    r = startup.first_frame_child(env, linger=0.3)
    assert r["torch_at_first_frame"] is False
    assert 0 < r["interpreter"] < r["first_refresh"] and r["full_frame"] > 0


def test_charts_script(tmp_path):
    rc, output, data, _ = script("charts", "--reps", "1", "--sizes", "1000,5000")
    assert rc in (0, 1), output
    assert [r["points"] for r in data["rows"]] == [1000, 5000]
    for row in data["rows"]:
        assert row["chart_ms"] > 0 and row["chart_cost_ms"] > 0 and row["pane_frame_ms"] > 0
        assert len(row["chart_sizes"]) == 3
    assert set(data["targets"]) == {"chart<30ms", "spread<=1.5"}


def test_gpu_bench_says_why_it_cannot_run():
    proc = subprocess.run([sys.executable, str(BENCH / "gpu_bench.py")], capture_output=True, text=True, timeout=60)
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert proc.returncode == 2
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(lines) == 1 and "no NVIDIA GPU" in lines[0]


def test_gpu_bench_code_runs_on_the_cpu(tmp_path):
    """The GPU benchmark's own code (both loops, the sync count), checked on the CPU."""
    rc, output, data, _ = script("gpu_bench", "--device", "cpu", "--quick", "--reps", "1", "--epochs", "1",
                                 "--cases", "mnist1d-cnn", "--precisions", "fp32")
    assert rc == 0, output
    row = data["rows"][0]
    assert set(row["samples_per_s"]) == {"tuidl", "device", "dataloader"}
    assert all(v > 0 for v in row["samples_per_s"].values())
    syncs = data["syncs"]["mnist1d-cnn"]
    assert syncs["steps"] > 0 and syncs["syncs"] is None  # no CUDA: nothing to count


def test_trainer_rate_reads_a_run(tmp_path):
    run, _ = memory.synth_run(tmp_path, steps=4000, every=250, steps_per_s=1000.0, epochs=2)
    events = E.read_events(run.events_path)
    r = dashboard.trainer_rate(events, n_train=200_000)
    assert r["status"] == "completed" and r["step_events"] == 16
    assert r["samples"] == 400_000 and 3.5 < r["seconds"] < 4.5


@pytest.mark.e2e
def test_the_dashboard_follows_a_real_detached_run(tmp_path):
    """bench/dashboard.py's watched side: the real trainer (launch.start), a dashboard
    attached to it in a terminal; throughput from the run's events, the dashboard's CPU
    from the dashboard alone."""
    from tuidl.core.preset import preset as P

    preset = P.load("mnist1d-cnn", ["train.epochs=2", "train.device='cpu'", "data.params.n_samples=1000",
                                    "data.split.train=0.85", "data.split.val=0.15"])
    r = dashboard.watched(preset, tmp_path / "runs", n_train=680, telemetry=False, driver="pty")
    assert r["status"] == "completed" and r["trainer_rc"] == 0
    assert r["samples"] == 1360 and r["samples_per_s"] > 0
    assert r["dash_events"] > 0 and r["dash_cpu_following"] >= 0 and r["dash_cpu_startup"] > 0
    assert r["trainer_cpu"] > 0


def test_logging_bench_runs_tuidl_beside_the_json_lines_floor():
    code, output, data, _ = script("logging_bench", "--steps", "300", "--metrics", "5", "--trackers",
                                   "jsonl,tuidl,no-such-tracker")
    assert code == 0, output
    assert "no-such-tracker: not installed" in output
    by = {r["tracker"]: r for r in data["results"]}
    assert set(by) == {"jsonl", "tuidl"}
    assert by["tuidl"]["written_metrics_events"] == 300  # everything on disk when the run ended
    for r in by.values():
        assert 0 < r["median_us"] <= r["p99_us"] and r["init_to_written_s"] > 0 and r["bytes"] > 0
