"""Listing many runs (issue 28, scale): the runs root's persistent index, the status-only
first listing and the compiled filter."""

from __future__ import annotations

import json
import time

import pytest

import helpers
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.run import runindex, runlist
from tuidl.core.run.runfilter import _term_matches, parse
from tuidl.core.run.runlist import scan_runs


def preset_run(root, lr=0.01, status="completed", best=0.3, started=None, **more):
    preset = P.load("xor", [f"train.optimizer.lr={lr}"])
    run = R.create(root, P.run_name(preset), P.dumps(preset), preset=preset.name)
    t = started or time.time()
    run.write_status(status=status, best={"monitor": "val_loss", "value": best, "epoch": 2}, host="gpu1",
                     started=t, ended=t + 5, epoch=2, epochs=2, test={"acc": 0.9}, **more)
    return run


def new_process() -> None:
    """Forget what this process keeps, as a new process would know nothing."""
    runlist._ROWS.clear()
    runlist._FIGURES.clear()
    runindex._INDEXES.clear()


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    a = preset_run(root, lr=0.01, best=0.2, started=1_000_000.0, tags=["baseline"])
    b = preset_run(root, lr=0.1, best=0.5, status="stopped", started=1_000_100.0)
    c = helpers.logged_run(root, "script", metrics=("train/loss", "val/acc"), steps=20, t0=1_000_200.0,
                           summary={"best_acc": 0.97})
    new_process()
    return root, a, b, c


def figures(rows):
    return [(r.id, r.status, r.preset, r.best_text, r.epochs_text, r.duration_text, r.has_checkpoint,
             r.status_data.get("tags")) for r in rows]


def test_a_new_process_lists_from_the_index_without_reading_a_run(runs, monkeypatch):
    root, a, b, c = runs
    first = scan_runs(root)
    assert (root / runindex.INDEX_NAME).is_file()
    assert len(first) == 3 and first[0].id == c.id and first[0].logged.metrics == 2
    new_process()

    def no_reading(*args, **kwargs):
        raise AssertionError("a run was read again")

    monkeypatch.setattr(runlist, "run_row", no_reading)
    monkeypatch.setattr(runlist, "logged_figures", no_reading)
    again = scan_runs(root)
    assert figures(again) == figures(first)
    assert again[0].logged.summary == first[0].logged.summary


def test_a_changed_status_file_is_read_again(runs):
    root, a, b, c = runs
    scan_runs(root)
    new_process()
    a.tag(["best"], [])
    row = next(r for r in scan_runs(root) if r.id == a.id)
    assert R.tags_of(row.status_data) == ["baseline", "best"]
    entry = json.loads((root / runindex.INDEX_NAME).read_text())["runs"][a.id]
    assert entry["st"]["tags"] == ["baseline", "best"]


def test_a_deleted_run_leaves_the_index(runs):
    root, a, b, c = runs
    scan_runs(root)
    runlist.delete_run(b)
    assert [r.id for r in scan_runs(root)] == [c.id, a.id]
    assert b.id not in json.loads((root / runindex.INDEX_NAME).read_text())["runs"]


@pytest.mark.parametrize("content", [b"{torn", b"[]", b'{"version": 99, "runs": {}}', b"\xff\xfe"])
def test_a_bad_index_is_an_empty_one(runs, content):
    root, a, b, c = runs
    want = figures(scan_runs(root))
    new_process()
    (root / runindex.INDEX_NAME).write_bytes(content)
    assert figures(scan_runs(root)) == want
    assert json.loads((root / runindex.INDEX_NAME).read_text())["version"] == runindex.VERSION


def test_live_runs_are_not_indexed(tmp_path):
    root = tmp_path / "runs"
    live = helpers.logged_run(root, "live", status="running", steps=5)
    done = preset_run(root)
    scan_runs(root)
    kept = json.loads((root / runindex.INDEX_NAME).read_text())["runs"]
    assert set(kept) == {done.id} and live.id not in kept


def test_status_only_listing_then_figures(runs):
    root, a, b, c = runs
    rows = scan_runs(root, figures=False)
    logged = next(r for r in rows if r.id == c.id)
    assert logged.logged.pending and logged.epochs_text.endswith("· …")
    assert c.id not in json.loads((root / runindex.INDEX_NAME).read_text())["runs"]  # pending: not kept
    full = next(r for r in scan_runs(root) if r.id == c.id)
    assert not full.logged.pending and full.logged.metrics == 2 and full.best is not None


def test_limit_lists_the_newest_directories_and_forgets_nothing(runs):
    root, a, b, c = runs
    scan_runs(root)
    newest = max((a.id, b.id, c.id))
    assert [r.id for r in scan_runs(root, limit=1)] == [newest]
    assert len(json.loads((root / runindex.INDEX_NAME).read_text())["runs"]) == 3


EXPRESSIONS = ["status:completed", "status!=completed", "-status:stopped", "tag:baseline", "-tag:baseline",
               "lr>=0.01", "lr<0.05", "lr=0.1", "lr!=0.1", "val_loss<0.3", "best_acc>0.9", "kind:logged",
               "host:gpu1", "host!=gpu1", "preset~xo", "id!~script", "script", "epoch:2", "status:completed,stopped",
               "train.optimizer.lr:0.01", "nokey=1", "-nokey=1", "after:1970-01-01", "batch_size=32"]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_the_compiled_filter_says_what_each_term_says(runs, expr):
    root, a, b, c = runs
    rows = scan_runs(root)
    f = parse(expr)
    slow = [r.id for r in rows if all(_term_matches(t, r) != t.negate for t in f.terms)]
    assert [r.id for r in f.apply(rows)] == slow
    assert [r.id for r in rows if f.match(r)] == slow


def test_a_config_filter_in_a_new_process_parses_no_config_again(runs, monkeypatch):
    from tuidl.core.run import runfilter

    root, a, b, c = runs
    rows = scan_runs(root)
    assert {r.id for r in parse("lr>=0.01").apply(rows)} == {a.id, b.id}  # c logs lr 0.001
    assert (root / runindex.CONFIGS_NAME).is_file()
    new_process()
    runfilter._CONFIGS.clear()
    runindex._STORES.clear()

    def no_parsing(*args, **kwargs):
        raise AssertionError("a config was parsed again")

    rows = scan_runs(root)
    runindex.configs_of(root)  # the store read (the runs root's file), then no config file parsed
    monkeypatch.setattr(runfilter.tomllib, "loads", no_parsing)
    monkeypatch.setattr(runfilter.json, "loads", no_parsing)
    assert {r.id for r in parse("lr>=0.01").apply(rows)} == {a.id, b.id}
    assert {r.id for r in parse("batch_size=32").apply(rows)} == {c.id}


def test_a_changed_config_is_parsed_again(runs):
    from tuidl.core.run import runfilter

    root, a, b, c = runs
    rows = scan_runs(root)
    parse("batch_size=32").apply(rows)
    new_process()
    runfilter._CONFIGS.clear()
    runindex._STORES.clear()
    R.write_json(c.path / "config.json", {"lr": 0.001, "batch_size": 64})
    os_stamp = (c.path / "config.json").stat().st_mtime_ns
    assert os_stamp
    rows = scan_runs(root)
    assert {r.id for r in parse("batch_size=64").apply(rows)} == {c.id}


def test_runs_of_one_stored_config_share_one_dict_in_a_new_process(tmp_path):
    """10,000 runs of a few configs: a new process makes one flat dict per stored config,
    not one per run (it rebuilt each), and each run still reads its own values."""
    from tuidl.core.run import runfilter

    root = tmp_path / "runs"
    same = [preset_run(root, lr=0.01, started=1_000_000.0 + i) for i in range(3)]
    other = preset_run(root, lr=0.1, started=1_000_010.0)
    logged = helpers.logged_run(root, "script", steps=3, t0=1_000_020.0, config={"lr": 0.5})
    rows = scan_runs(root)
    parse("lr>=0.01").apply(rows)  # every config read once, kept in the runs root
    new_process()
    runfilter._CONFIGS.clear()
    runindex._STORES.clear()
    runfilter._STORED.clear()
    rows = {r.id: r for r in scan_runs(root)}
    assert {r.id for r in parse("lr>0.05").apply(rows.values())} == {other.id, logged.id}
    configs = [runfilter.run_config(run, recheck=False) for run in same]
    assert configs[0] is configs[1] is configs[2] and configs[0]["train.optimizer.lr"] == 0.01
    assert runfilter.run_config(other)["train.optimizer.lr"] == 0.1
    assert runfilter.run_config(logged) == {"lr": 0.5}


def test_a_second_thread_waits_for_the_index_being_read(runs, monkeypatch):
    """The app reads the Runs pane's first screen ahead, in a thread; the pane's own listing,
    asked for meanwhile, gets the index's entries, not an index taken as read and empty
    (it then read every run again: 2 s for the first screen of 10,000)."""
    import threading
    from pathlib import Path

    root = runs[0]
    scan_runs(root)
    new_process()
    reading, slow = threading.Event(), Path.read_bytes

    def read_bytes(self):
        if self.name == runindex.INDEX_NAME:
            reading.set()
            time.sleep(0.3)
        return slow(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    first = threading.Thread(target=runindex.index_of, args=(root,))
    first.start()
    assert reading.wait(5)
    index = runindex.index_of(root)  # while the first thread still reads
    assert len(index.entries) == 3
    first.join()


def test_a_first_screen_reads_no_index_the_process_has_not_read(runs, monkeypatch):
    """The Runs pane's first listing (the newest runs only) reads their status files rather
    than parse the runs root's index (4 MB for 10,000 runs, the larger part of the first
    screen as tuidl starts), and writes none; the full listing then reads it."""
    root, a, b, c = runs
    scan_runs(root)
    new_process()
    written = (root / runindex.INDEX_NAME).stat().st_mtime_ns

    def parsed() -> bool:
        return any(index.loaded for index in runindex._INDEXES.values())

    head = scan_runs(root, figures=False, limit=3)
    assert [r.id for r in head] == [c.id, b.id, a.id] and not parsed()
    assert (root / runindex.INDEX_NAME).stat().st_mtime_ns == written
    assert head[0].logged is not None and head[0].logged.pending  # its figures: from the full listing
    full = scan_runs(root, figures=False)
    assert parsed() and len(full) == 3 and not full[0].logged.pending  # from the index, no events read
    assert scan_runs(root, figures=False, limit=3)[0].logged.metrics == 2  # the index read: used
