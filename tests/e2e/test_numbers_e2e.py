"""Numbers that agree (issue 13, item 6): the tests that start a process (a trainer, the command, a
terminal). The others are in tests/unit/test_numbers.py."""

from __future__ import annotations

import re
import time

from tuidl import cli
from tuidl.core.run import launch
from tuidl.core.preset import preset as P
from tuidl.core.run.units import fmt_best, fmt_duration, run_duration

from helpers import SIZE, end_process, kinds, make_app, run_cli, wait_for, wait_until

# about 0.1-0.3 s an epoch on a small CPU: steps to measure, epochs to pause in
SLOW = ["train.epochs=3", "data.params.n_samples=2000", "data.batch_size=16", "train.device='cpu'"]


def test_a_pause_is_not_training_time(tmp_path):
    # more epochs than it will train: it is stopped once an epoch has ended after the pause;
    # epochs of 1750 steps (0.7 s at 40,000 samples/s, the fastest seen; 5 s at 5,600): long
    # enough for step events, which come at most four a second and never for an epoch
    # shorter than a quarter of a second (epochs of 350 steps were too short in CI)
    run = launch.start(P.load("xor", SLOW + ["train.epochs=1000", "data.params.n_samples=40000"]),
                       runs_root=tmp_path / "runs", telemetry=False)
    try:
        wait_until(lambda: any(e["epoch"] >= 2 for e in kinds(run, "step")), timeout=120,
                   what="epoch 2's steps", run=run)
        run.send("pause")
        wait_until(lambda: any(e.get("action") == "paused" for e in kinds(run, "control")), what="the pause",
                   run=run)
        time.sleep(1.5)
        run.send("resume")
        wait_until(lambda: any(e.get("action") == "resumed" for e in kinds(run, "control")), what="the resume",
                   run=run)
        resumed = next(e["time"] for e in kinds(run, "control") if e["action"] == "resumed")
        # an epoch can end before the first (rate-limited) step event after the resume: wait for both
        wait_until(lambda: any(e["time"] > resumed for e in kinds(run, "epoch"))
                   and any(e["time"] > resumed for e in kinds(run, "step")),
                   what="an epoch and a step event after the resume", run=run)
        run.send("stop")
        assert run.process.wait(timeout=180) == 0, (run.path / "trainer.err").read_text()
    finally:
        end_process(run.process.pid)
    steps = kinds(run, "step")
    paused_at = next(e["time"] for e in kinds(run, "control") if e["action"] == "paused")
    resumed_at = next(e["time"] for e in kinds(run, "control") if e["action"] == "resumed")
    assert resumed_at - paused_at >= 1.45
    assert "samples_per_s" not in steps[0]  # the first step only starts the window (it held one-off costs)
    # the first step event after the pause: its rate leaves the pause out (it was 5.6 samples/s for ~540)
    before = [e for e in steps if e["time"] < paused_at][-1]
    after = next(e for e in steps if e["time"] > resumed_at)
    over_the_pause = (after["step"] - before["step"]) * 16 / (after["time"] - before["time"])
    assert after["samples_per_s"] > 3 * over_the_pause, (after, before)
    # the epoch with the pause in it: its duration leaves the pause out
    ends = kinds(run, "epoch")
    k = next(i for i, e in enumerate(ends) if e["time"] > resumed_at)  # it ends after the resume
    assert k > 0 and ends[k - 1]["time"] < paused_at, (ends, paused_at)
    assert ends[k]["duration"] < (ends[k]["time"] - ends[k - 1]["time"]) - 1.2, ends[k]
    # the run's duration leaves the pause out, and `tuidl runs` says the same
    ended = kinds(run, "run_ended")[-1]
    st = run.status()
    assert ended["duration"] < (st["ended"] - st["started"]) - 1.2
    assert st["trained_s"] == ended["duration"]
    assert run_duration(run.status()) == ended["duration"]


async def test_a_resumed_runs_duration_is_the_same_in_the_dashboard_and_tuidl_runs(tmp_path, capsys):
    runs = tmp_path / "runs"
    # epochs of 1500 steps (0.6 s at the fastest seen): the stop lands in epoch 2 of 3 (with epochs of
    # 500 steps a fast moment let the run complete before the stop was read)
    run = launch.start(P.load("xor", SLOW + ["data.params.n_samples=24000"]), runs_root=runs, telemetry=False)
    try:
        wait_until(lambda: kinds(run, "epoch"), timeout=120, what="the first epoch", run=run)
        run.send("stop")
        assert run.process.wait(timeout=120) == 0
    finally:
        end_process(run.process.pid)
    first = kinds(run, "run_ended")[-1]["duration"]
    time.sleep(1.5)  # time between the sessions is not training time
    out = run_cli("train", "--resume", str(run.path), "--quiet")
    assert out.returncode == 0, out.stderr
    ends = kinds(run, "run_ended")
    assert len(ends) == 2 and ends[-1]["status"] == "completed"
    total = ends[-1]["duration"]
    assert total > first  # both sessions
    st = run.status()
    assert st["trained_s"] == total and (st["ended"] - st["started"]) > total + 1.2  # the gap is not in it
    # `tuidl runs`
    capsys.readouterr()
    assert cli.main(["runs", "--runs-dir", str(runs)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(run.id))
    cells = re.split(r"\s{2,}", row)
    assert cells[5] == fmt_duration(total)
    assert cells[4] == fmt_best(st["best"], "=")
    # the dashboard (a replay of it, and the Runs pane)
    app = make_app(P.load(run.preset_path), runs_root=runs, replay=run)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.panes["training"].view.progress.status == "completed", timeout=120, what="the replay")
        from tuidl.ui.panes.training import progress_text

        assert f"completed in {fmt_duration(total)}" in progress_text(app.panes["training"].view.progress).plain
        from tuidl.core.run.runlist import run_row

        assert run_row(run).duration_text == cells[5] and run_row(run).best_text == cells[4]
