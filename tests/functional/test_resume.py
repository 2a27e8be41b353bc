"""Training longer (issue 13, item 8): `tuidl train --resume RUN --set train.epochs=N` trains
a stopped or completed run on to N epochs; the learning-rate schedule follows the new length;
any other override is refused by name (exit 2)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.train.optim import Schedule
from tuidl.core.run.events import read_events

from helpers import run_cli

XOR = ["--set", "data.params.n_samples=300", "--device", "cpu", "--quiet"]


def lrs(run: R.RunDir) -> dict[int, float]:
    return {e["epoch"]: e["lr"] for e in read_events(run.events_path) if e["type"] == "epoch"}


def test_a_completed_run_trains_longer_and_follows_the_longer_schedule(tmp_path):
    runs = tmp_path / "runs"
    sched = ["--set", "train.schedule.name='cosine'", "--set", "train.schedule.warmup_epochs=1"]
    out = run_cli("train", "xor", "--runs-dir", str(runs), "--set", "train.epochs=3", *sched, *XOR)
    assert out.returncode == 0, out.stderr
    run = R.list_runs(runs)[0]
    assert run.status()["status"] == "completed"

    out = run_cli("train", "--resume", run.id, "--runs-dir", str(runs), "--set", "train.epochs=6", "--quiet")
    assert out.returncode == 0, out.stderr
    assert run.status()["status"] == "completed" and run.status()["epoch"] == 6
    assert P.load(run.preset_path).train.epochs == 6  # the run's preset says how long it trained
    epochs = [e["epoch"] for e in read_events(run.events_path) if e["type"] == "epoch"]
    assert epochs == [1, 2, 3, 4, 5, 6]
    started = [e for e in read_events(run.events_path) if e["type"] == "run_started"]
    assert [s["epochs"] for s in started] == [3, 6] and started[1]["resumed_from"] == 3
    # from the resume on, the learning rate is a 6-epoch run's: cosine over 6 - 1 epochs
    fresh = run_cli("train", "xor", "--runs-dir", str(tmp_path / "fresh"), "--set", "train.epochs=6", *sched, *XOR)
    assert fresh.returncode == 0, fresh.stderr
    planned = lrs(R.list_runs(tmp_path / "fresh")[0])
    longer = lrs(run)
    assert [longer[e] for e in (4, 5, 6)] == pytest.approx([planned[e] for e in (4, 5, 6)], rel=1e-9)

    # `tuidl runs` shows it at 6/6
    listing = run_cli("runs", "--runs-dir", str(runs))
    assert "6/6" in next(line for line in listing.stdout.splitlines() if line.startswith(run.id))


@pytest.fixture(scope="module")
def completed_xor(tmp_path_factory):
    """One completed 3-epoch run for every refused override (a refusal changes nothing)."""
    runs = tmp_path_factory.mktemp("resume") / "runs"
    out = run_cli("train", "xor", "--runs-dir", str(runs), "--set", "train.epochs=3", *XOR)
    assert out.returncode == 0, out.stderr
    return runs, R.list_runs(runs)[0]


@pytest.mark.parametrize("override,needle", [
    (["--set", "train.optimizer.lr=0.5"],
     "error: --set train.optimizer.lr=0.5: a resumed run keeps its own preset; only train.epochs can change"),
    (["--set", "data.batch_size=8"], "error: --set data.batch_size=8: a resumed run keeps its own preset"),
    (["--set", "train.epochs=2"], "error: --set train.epochs=2: the run has trained 3 epochs already"),
    (["--epochs", "3"], "error: --epochs 3: the run has trained 3 epochs already: give more than 3"),
    (["--set", "train.epochs=0"], "error: --set train.epochs=0: must be at least 1"),
    ([], "already completed; nothing to resume (to train it longer, add --set train.epochs=N with N over 3)"),
])
def test_other_overrides_on_resume_are_refused_by_name(completed_xor, override, needle):
    runs, run = completed_xor
    before = run.preset_path.read_text()
    out = run_cli("train", "--resume", run.id, "--runs-dir", str(runs), *override)
    assert out.returncode == 2, out.stdout + out.stderr
    assert needle in out.stderr and "Traceback" not in out.stderr
    assert run.preset_path.read_text() == before  # nothing changed


@pytest.mark.parametrize("name", ["cosine", "onecycle", "step", "constant", "cosine-warmup"])
def test_a_schedule_saved_for_fewer_epochs_continues_as_the_longer_one(name):
    """Restored into a run planned longer, a schedule is where a run planned that long
    would be, and goes on the same to the end."""
    warm = name.endswith("-warmup")
    cfg = P.Schedule(name=name.split("-")[0], warmup_epochs=2 if warm else 0, step_size=2)
    steps, short, long_, done = 5, 6, 10, 4

    def fresh(epochs):
        opt = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
        return Schedule(opt, cfg, 0.1, epochs, steps), opt

    def advance(sched, opt, epochs):
        for epoch in range(1, epochs + 1):
            for _ in range(steps):
                opt.step()
                sched.after_step()
            sched.after_epoch(epoch, None)

    planned, p_opt = fresh(long_)
    advance(planned, p_opt, done)
    shorter, s_opt = fresh(short)
    advance(shorter, s_opt, done)
    state = {"opt": s_opt.state_dict(), "sched": shorter.state_dict()}
    resumed, r_opt = fresh(long_)
    r_opt.load_state_dict(state["opt"])
    resumed.load_state_dict(state["sched"], done, done * steps)
    assert resumed.lr() == pytest.approx(planned.lr(), rel=1e-12)
    for epoch in range(done + 1, long_ + 1):
        for _ in range(steps):
            p_opt.step()
            r_opt.step()
            planned.after_step()
            resumed.after_step()
            assert math.isclose(resumed.lr(), planned.lr(), rel_tol=1e-12)
        planned.after_epoch(epoch, None)
        resumed.after_epoch(epoch, None)
        assert math.isclose(resumed.lr(), planned.lr(), rel_tol=1e-12), epoch
