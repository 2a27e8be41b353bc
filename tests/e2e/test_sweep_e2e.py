"""Sweeps with real trainer processes (tuidl.core.sweep): a grid of 4, a search that
prunes, two workers sharing one SQLite study, a worker killed mid-trial, a sweep stopped
through its stop file. Each trial is an ordinary run directory."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna

from helpers import ROOT, end_process, kinds, tuidl, wait_until
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.sweep.driver import SweepDir
from tuidl.core.sweep.study import sweep_summary

QUICK = ["--set", "train.epochs=2", "--set", "data.params.n_samples=200"]


def trials_of(sweep_id: str) -> list[R.RunDir]:
    return [r for r in R.list_runs() if (r.read_status().get("sweep") or {}).get("id") == sweep_id]


def sweep_events(sweep_id: str) -> list[dict]:
    from tuidl.core.run.events import read_events

    return read_events(SweepDir.folder(None, sweep_id) / "events.jsonl")


def study_of(sweep_id: str) -> optuna.Study:
    sweep = SweepDir.open(None, sweep_id)
    return optuna.load_study(study_name=sweep.study_name, storage=sweep.storage_url)


def test_a_grid_of_four_runs_four_ordinary_runs():
    out = tuidl("sweep", "xor", *QUICK, "--grid", "train.optimizer.lr=1e-3,1e-2", "--grid",
                "model.layers.0.units=4,8", "--study", "g4", timeout=240)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr and "[I " not in out.stderr + out.stdout  # Optuna's log lines are off
    lines = [line for line in out.stdout.splitlines() if line.startswith("trial ")]
    assert len(lines) == 4 and all("completed" in line for line in lines)
    assert "Best: trial" in out.stdout and "RANK  TRIAL" in out.stdout
    runs = trials_of("g4")
    assert len(runs) == 4
    seen = set()
    for run in runs:
        tag = run.read_status()["sweep"]
        seen.add((tag["params"]["train.optimizer.lr"], tag["params"]["model.layers[0].units"]))
        preset = P.load(run.preset_path)  # the trial's own values, and no sweep of its own
        assert preset.train.optimizer.lr == tag["params"]["train.optimizer.lr"] and preset.sweep.is_default()
        assert kinds(run, "run_started")[0]["sweep"] == tag  # the event stream says it too
        assert run.status()["status"] == "completed" and run.checkpoint("last").is_file()
    assert seen == {(1e-3, 4), (1e-3, 8), (1e-2, 4), (1e-2, 8)}
    view = sweep_summary(None, "g4")
    assert view.counts == {"COMPLETE": 4} and view.best is not None and view.importances is not None
    # a trial is a run like any other: export and replay read it
    assert tuidl("export", runs[0].id).returncode == 0
    assert "completed" in tuidl("replay", runs[0].id, "--headless").stdout


PRUNING = """
[sweep]
trials = 6
startup_trials = 2
warmup_epochs = 1

[sweep.search]
"train.optimizer.lr" = "log:1e-6:1e-1"
"""


def test_a_search_prunes_bad_trials(tmp_path):
    path = tmp_path / "prune.toml"
    path.write_text((P.PRESETS_DIR / "xor.toml").read_text() + PRUNING)
    out = tuidl("sweep", str(path), "--set", "train.epochs=20", "--set", "data.params.n_samples=1500",
                "--study", "p6", "--json", timeout=300)
    assert out.returncode == 0, out.stderr
    ended = [json.loads(line) for line in out.stdout.splitlines()[:-1]]
    assert len(ended) == 6
    summary = json.loads(out.stdout.splitlines()[-1])
    assert summary["counts"].get("COMPLETE", 0) + summary["counts"].get("PRUNED", 0) == 6
    pruned = [e for e in ended if e["state"] == "PRUNED"]
    assert pruned, [(e["params"], e["value"], e["state"]) for e in ended]
    for ev in pruned:
        run = R.open_run(ev["run_id"])
        assert run.status()["status"] == "pruned" and ev["run_status"] == "pruned"
        assert ev["epochs"] < 20
        assert [c for c in kinds(run, "checkpoint") if c["reason"] == "prune"]  # its last checkpoint
        assert kinds(run, "run_ended")[-1]["status"] == "pruned"
    assert summary["best"]["state"] == "COMPLETE"


def parent(pid: int) -> int:
    """The parent of a process of this machine (``/proc``)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def worker(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tuidl", "sweep", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


SEARCH = ["--search", "train.optimizer.lr=log:1e-3:1e-1", "--no-prune"]


def test_two_workers_share_one_study():
    # one worker forks its trials from a warm server, the other starts them cold: the same runs
    a = worker("xor", *QUICK, *SEARCH, "--trials", "4", "--study", "shared")
    b = worker("xor", *QUICK, *SEARCH, "--trials", "4", "--study", "shared", env={"TUIDL_FORK_TRIALS": "0"})
    try:
        outs = [p.communicate(timeout=300) for p in (a, b)]
    finally:
        end_process(a.pid)
        end_process(b.pid)
    assert a.returncode == 0 and b.returncode == 0, outs
    study = study_of("shared")
    trials = study.get_trials()
    assert len(trials) == 4 and all(t.state.name == "COMPLETE" for t in trials)
    run_ids = [t.user_attrs["run_id"] for t in trials]
    assert len(set(run_ids)) == 4 and {r.id for r in trials_of("shared")} == set(run_ids)
    started = [e["trial"] for e in sweep_events("shared") if e["type"] == "trial_started"]
    assert sorted(started) == list(range(4))  # each trial started once, by one worker
    by_worker = [sum(line.startswith("trial ") for line in out.splitlines()) for out, _ in outs]
    assert sum(by_worker) == 4 and min(by_worker) >= 1  # both did work


def test_a_killed_worker_leaves_its_trial_failed_and_the_study_usable():
    fast = {"TUIDL_SWEEP_HEARTBEAT": "1"}  # a trial is stale after 2 s without a heartbeat
    a = worker("xor", "--set", "train.epochs=200", "--set", "data.params.n_samples=200", *SEARCH, "--trials", "2",
               "--study", "k", env=fast)
    orphan = None
    try:
        wait_until(lambda: any(e["type"] == "trial_started" for e in sweep_events("k"))
                   if (SweepDir.folder(None, "k") / "events.jsonl").exists() else False, 120, "a trial to start")
        first = trials_of("k")[0]
        wait_until(lambda: first.status().get("status") == "running", 60, "the trial to train", run=first)
        orphan = first.status()["pid"]
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        end_process(orphan)  # (its run ends interrupted; the study does not know yet)
        assert study_of("k").get_trials()[0].state.name == "RUNNING"
        time.sleep(2.5)
        b = tuidl("sweep", "xor", "--study", "k", *SEARCH, "--trials", "2", env=fast, timeout=300)
    finally:
        end_process(a.pid)
        end_process(orphan)
    assert b.returncode == 0, b.stderr
    states = [t.state.name for t in study_of("k").get_trials()]
    assert states[0] == "FAIL" and states[1:].count("COMPLETE") == 2 and len(states) == 3
    view = sweep_summary(None, "k")
    assert view.counts == {"COMPLETE": 2, "FAIL": 1}
    assert first.status()["status"] == "interrupted"


def test_a_detached_sweep_stops_cleanly():
    out = tuidl("sweep", "xor", "--set", "train.epochs=500", *SEARCH, "--trials", "3", "--parallel", "2",
                "--study", "st", "--detach")
    assert out.returncode == 0 and "tuidl sweep --stop st" in out.stdout, out.stderr
    sweep = SweepDir.open(None, "st")
    try:
        wait_until(lambda: len(trials_of("st")) == 2 and all(r.status().get("status") == "running"
                                                             for r in trials_of("st")), 120, "two trials running")
        wait_until(lambda: all(r.read_status().get("epoch", 0) >= 1 for r in trials_of("st")), 60, "an epoch")
        assert sweep.live()
        # trials on the CPU are forked from the driver's warm fork server, each in a session of its own
        driver = sweep.workers()[0]["pid"]
        servers = {parent(r.read_status()["pid"]) for r in trials_of("st")}
        assert len(servers) == 1 and parent(next(iter(servers))) == driver
        assert b"forkserver" in Path(f"/proc/{next(iter(servers))}/cmdline").read_bytes()
        assert all(os.getsid(r.read_status()["pid"]) == r.read_status()["pid"] for r in trials_of("st"))
        stop = tuidl("sweep", "--stop", "st")
        assert stop.returncode == 0 and "asked sweep st to stop" in stop.stdout
        wait_until(lambda: not sweep.live(), 120, "the driver to end")
        wait_until(lambda: not Path(f"/proc/{next(iter(servers))}").exists(), 30, "the fork server to end with it")
    finally:
        for w in sweep.workers():
            end_process(w.get("pid"))
        for r in trials_of("st"):
            end_process(r.read_status().get("pid"))
    runs = trials_of("st")
    assert len(runs) == 2  # nothing started after the stop
    for run in runs:
        assert run.status()["status"] == "stopped" and run.checkpoint("last").is_file()
    assert [t.state.name for t in study_of("st").get_trials()] == ["FAIL", "FAIL"]
    assert sweep.workers()[0]["status"] == "stopped"
    assert sweep_events("st")[-1]["type"] == "sweep_ended" and sweep_events("st")[-1]["stopped"]
