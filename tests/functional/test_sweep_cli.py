"""``tuidl sweep`` in this process (helpers.run_cli): bad sweep specs exit 2 with one
line naming the key; ``--show`` and ``tuidl runs`` read a sweep (a study written here
through Optuna, trials told by hand). Sweeps that start trials: tests/e2e/test_sweep_e2e.py."""

import os

import pytest

from helpers import run_cli
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.sweep import spec as S
from tuidl.core.sweep import study as ST
from tuidl.core.sweep.sweepdir import SweepDir


@pytest.mark.parametrize("args,needle", [
    (["--grid", "train.optimizer.lrx=1e-3,1e-2"], "error: --grid train.optimizer.lrx=1e-3,1e-2: train.optimizer.lrx: "
                                                  "unknown key"),
    (["--grid", "train.optimizer.lr="], "train.optimizer.lr: an empty grid"),
    (["--search", "train.optimizer.lr=float:0.5:0.5"], "train.optimizer.lr: an empty range"),
    (["--search", "train.optimizer.lr=log:0:0.1"], "train.optimizer.lr: a log range needs bounds above 0"),
    (["--search", "model.layers.0.units=int:64:8"], "model.layers[0].units: an empty range"),
    (["--search", "train.optimizer.lr=log:1e-4:1e-1", "--parallel", "0"], "error: --parallel: must be at least 1"),
    (["--search", "train.optimizer.lr=log:1e-4:1e-1", "--trials", "0"], "error: --trials: must be at least 1"),
    (["--search", "train.optimizer.lr=log:1e-4:1e-1", "--parallel", "x"], "--parallel: invalid int value"),
    (["--search", "train.optimizer.lr=log:1e-4:1e-1", "--metric", "acc"], "error: --metric: expected one of"),
    ([], "error: nothing to sweep"),
])
def test_bad_sweeps_exit_2_naming_the_key(args, needle):
    out = run_cli("sweep", "xor", *args)
    assert out.returncode == 2, out
    assert needle in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (R.runs_root() / "sweeps").exists()  # nothing made


def test_bad_sweep_table_exits_2_naming_the_key(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text((P.PRESETS_DIR / "xor.toml").read_text() + '\n[sweep.search]\n"train.optimizer.lr" = "log:-1:1"\n')
    out = run_cli("sweep", str(path))
    assert out.returncode == 2
    assert f'{path}: sweep.search."train.optimizer.lr": a log range needs bounds above 0' in out.stderr


def test_show_and_stop_of_a_sweep_that_is_not_there():
    for flag in ("--show", "--stop"):
        out = run_cli("sweep", flag, "nope")
        assert out.returncode == 2 and "error: no sweep 'nope'" in out.stderr


def fake_sweep(root, told):
    """A sweep folder and its study, trials told by hand (values, or 'PRUNED' / 'FAIL'),
    each with a run directory tagged as a trial."""
    preset = P.load("xor")
    spec = S.build(preset, search=["train.optimizer.lr=log:1e-4:1e-1", "model.layers.0.units=int:4:16"], trials=6)
    sweep = SweepDir.create(root, "s1", preset, spec)
    study = ST.open_study(spec, sweep.storage_url, sweep.study_name, 0)
    for outcome in told:
        trial, params = ST.ask(study, spec)
        run = R.create(root, "xor", P.dumps(preset), status={"sweep": {"id": "s1", "trial": trial.number,
                                                                          "params": params}})
        run.write_status(status="pruned" if outcome == "PRUNED" else "completed")
        trial.set_user_attr("run_id", run.id)
        trial.report(0.9, 1)
        if outcome in ("PRUNED", "FAIL"):
            study.tell(trial, state=ST.trial_state(outcome))
        else:
            study.tell(trial, outcome)
    return sweep


def test_summary_ranks_trials_and_finds_the_best():
    root = R.runs_root()
    fake_sweep(root, [0.5, "PRUNED", 0.2, "FAIL", 0.7])
    view = ST.sweep_summary(root, "s1")
    assert [t.state for t in view.trials] == ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED", "FAIL"]
    assert [t.value for t in view.trials[:4]] == [0.2, 0.5, 0.7, 0.9]  # a pruned trial: its last report
    assert view.best.number == 2 and view.best.value == 0.2
    assert view.trials[3].run_status == "pruned" and view.trials[0].run_id
    assert set(view.importances) == {"train.optimizer.lr", "model.layers[0].units"}
    assert abs(sum(view.importances.values()) - 1) < 0.01
    assert view.counts == {"COMPLETE": 3, "PRUNED": 1, "FAIL": 1} and view.planned == 6 and not view.live

    out = run_cli("sweep", "--show", "s1")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0].split()[:5] == ["RANK", "TRIAL", "STATE", "VAL_LOSS", "train.optimizer.lr"]
    assert lines[1].split()[:4] == ["1", "2", "completed", "0.2"]
    assert "Best: trial 2, val_loss 0.2" in out.stdout and "Importance:" in out.stdout


def test_importances_need_two_complete_trials():
    fake_sweep(R.runs_root(), [0.5, "PRUNED"])
    view = ST.sweep_summary(R.runs_root(), "s1")
    assert view.importances is None and view.best.number == 0


def test_runs_shows_the_sweep_of_trials():
    out = run_cli("runs")
    assert "SWEEP" not in out.stdout
    run = R.create(R.runs_root(), "xor", P.dumps(P.load("xor")))
    run.write_status(status="completed")
    out = run_cli("runs")
    assert "SWEEP" not in out.stdout  # no trials: the columns as before
    fake_sweep(R.runs_root(), [0.5])
    out = run_cli("runs")
    assert out.stdout.splitlines()[0].split()[-1] == "SWEEP"
    assert out.stdout.count("s1 #0") == 1
    shown = [name for name in os.listdir(R.runs_root()) if not name.startswith(".")]  # (.tuidl-index.json: runindex)
    assert len(shown) == 3  # the two runs and sweeps/: `runs` lists the runs only, it makes none


def test_the_trainer_takes_a_prune_like_a_stop():
    """The ``prune`` control command (a sweep's): the last checkpoint, then ``pruned``."""
    from helpers import kinds
    from tuidl.core.train import Trainer

    preset = P.load("xor", ["train.epochs=3"])
    run = R.create(R.runs_root(), preset.name, P.dumps(preset))
    run.send("prune")
    status = Trainer(preset, run, handle_signals=False).run()
    assert status == "pruned" and run.status()["status"] == "pruned"
    assert kinds(run, "control")[0]["action"] == "prune_requested"
    assert [c["reason"] for c in kinds(run, "checkpoint") if c["kind"] == "last"][-1] == "prune"
    assert kinds(run, "run_ended")[0]["status"] == "pruned" and run.checkpoint("last").is_file()
    from tuidl.core.run.runlist import run_row

    assert run_row(run).resumable  # a pruned trial can be trained on
