"""The queue (tuidl.core.sweep.queue) with real processes: three runs start in order, one
at a time on one CPU slot; two workers on one queue never start an entry twice; a sweep
waits in the queue like a run."""

import json
import subprocess
import sys

from helpers import ROOT, end_process, tuidl, wait_until
from tuidl.core.run import rundir as R
from tuidl.core.sweep.queue import Queue

QUICK = ["--set", "train.epochs=2", "--set", "data.params.n_samples=200"]


def all_done(q: Queue, n: int) -> bool:
    entries = q.entries()
    return len(entries) == n and all(e.status == "done" for e in entries)


def check_in_order(q: Queue) -> None:
    entries = q.entries()
    runs = [R.RunDir(q.root / e.run_id) for e in entries]
    for run in runs:
        assert run.status()["status"] == "completed"
    for before, after in zip(runs, runs[1:]):  # one slot: each started after the one before ended
        assert before.status()["ended"] <= after.status()["created"]
    assert [e.id for e in entries] == ["q1", "q2", "q3"]
    assert [e.started for e in entries] == sorted(e.started for e in entries)


def test_three_queued_runs_start_in_order():
    out = tuidl("queue", "add", "xor", "spiral", "xor", *QUICK)
    assert out.returncode == 0 and "queued q3: xor" in out.stdout and "queue worker started" in out.stdout
    q = Queue()
    try:
        wait_until(lambda: all_done(q, 3), 180, "the three runs")
    finally:
        end_process(q._read().get("worker") and q._read()["worker"]["pid"])
    check_in_order(q)
    assert [R.RunDir(q.root / e.run_id).read_status()["preset"] for e in q.entries()] == ["xor", "spiral", "xor"]
    listed = tuidl("queue", "list")
    assert listed.stdout.count(" done ") == 3
    wait_until(lambda: "worker: none runs" in tuidl("queue", "list").stdout, 30, "the worker to end")


def test_two_workers_never_start_an_entry_twice():
    out = tuidl("queue", "add", "xor", "xor", "xor", *QUICK, "--no-worker")
    assert out.returncode == 0 and "worker" not in out.stdout
    workers = [subprocess.Popen([sys.executable, "-m", "tuidl", "queue", "work", "--slots", "1"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for w in workers:
            w.communicate(timeout=240)
    finally:
        for w in workers:
            end_process(w.pid)
    q = Queue()
    assert all_done(q, 3)
    assert len(R.list_runs()) == 3  # three entries, three runs: none started twice
    check_in_order(q)


def test_a_queued_sweep_and_cancel():
    out = tuidl("sweep", "xor", *QUICK, "--grid", "train.optimizer.lr=1e-3,1e-2", "--study", "qs", "--queue")
    assert out.returncode == 0 and "queued sweep qs as q1" in out.stdout, out.stderr
    extra = tuidl("queue", "add", "spiral", *QUICK, "--no-worker")
    assert "queued q2" in extra.stdout
    cancel = tuidl("queue", "cancel", "q2")
    assert cancel.returncode == 0 and "cancelled q2" in cancel.stdout
    again = tuidl("queue", "cancel", "q2")
    assert again.returncode == 2 and "already cancelled" in again.stderr
    q = Queue()
    try:
        wait_until(lambda: q.entries()[0].status == "done", 180, "the sweep")
    finally:
        end_process((q._read().get("worker") or {}).get("pid"))
    view = json.loads(tuidl("sweep", "--show", "qs", "--json").stdout)
    assert view["counts"] == {"COMPLETE": 2}
    assert [e.status for e in q.entries()] == ["done", "cancelled"]
    assert all((r.read_status().get("sweep") or {}).get("id") == "qs" for r in R.list_runs())
