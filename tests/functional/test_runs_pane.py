"""The Runs pane inside the real app: the list (the same figures as `tuidl runs`),
opening (replay or attach), deleting (with a confirmation, never a live run),
exporting, comparing runs on the Training pane's charts, resuming a stopped run and
running a preset again.

Finished runs are the recorded fixtures, copied into the test's runs root under fresh
ids; a "live" run is a run directory whose status names this test process. Only the
resume / re-run test starts the real trainer.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from tuidl import cli
from tuidl.core.preset import preset as P
from tuidl.core.run import report
from tuidl.core.run import rundir as R
from tuidl.core.run.events import EventWriter, read_events
from tuidl.ui.app import TuidlApp
from tuidl.core.run.runlist import run_label, scan_runs
from tuidl.ui.panes.runs_ops import ConfirmDeleteScreen
from tuidl.ui.panes.training import OVERLAY_PREFIX

import helpers
from helpers import copy_fixture, runs_shown, started, wait_for

SIZE = (120, 40)


def fake_run(root: Path, run_id: str, status: dict, events: list[dict] | None = None) -> R.RunDir:
    """A run directory with the status given (and a few events)."""
    target = root / run_id
    (target / "checkpoints").mkdir(parents=True)
    (target / "control").mkdir()
    (target / "preset.toml").write_text(P.dumps(P.load("spiral")))
    run = R.RunDir(target)
    R.write_json(run.status_path, {"host": socket.gethostname(), "preset": "spiral", **status})
    if events:
        with EventWriter(run.events_path) as w:
            for ev in events:
                w.write(ev)
    return run


def run_started(run_id: str, epochs: int = 5) -> dict:
    return started(epochs=epochs, steps=10, t=time.time(), run_id=run_id, batch_size=16, summary={"total": 182},
                   data={"classes": ["negative", "positive"]}, pid=os.getpid())


@pytest.fixture
def runs_root(tmp_path) -> Path:
    """Finished runs (recorded), a stopped, an interrupted and a live one."""
    root = tmp_path / "runs"
    root.mkdir()
    now = time.time()
    copy_fixture(root, "spiral-demo", "20260101-100000-spiral-aaaa", shift_days=-3)
    copy_fixture(root, "spiral-demo", "20260102-100000-spiral-bbbb", shift_days=-2)
    copy_fixture(root, "digits-demo", "20260103-100000-digits-cnn-cccc", shift_days=-1)
    fake_run(root, "20260104-100000-spiral-dddd",
             {"status": "stopped", "started": now - 3600, "ended": now - 3500, "epoch": 4, "epochs": 60,
              "best": {"epoch": 3, "monitor": "val_loss", "value": 0.41}, "message": "stop requested"})
    fake_run(root, "20260105-100000-spiral-eeee",
             {"status": "running", "pid": 99_999_999, "started": now - 1800, "epoch": 7, "epochs": 60,
              "updated": now - 1700})
    fake_run(root, "20260106-100000-spiral-ffff",
             {"status": "running", "pid": os.getpid(), "started": now - 60, "epoch": 2, "epochs": 5},
             [run_started("20260106-100000-spiral-ffff")])
    return root


def make_app(root: Path, **kwargs) -> TuidlApp:
    """The app on this runs root, listing it every couple of seconds as it does."""
    kwargs.setdefault("runs_interval", 2.0)
    return helpers.make_app(kwargs.pop("preset", None), runs_root=root, **kwargs)


def cli_rows(capsys, root: Path) -> dict[str, list[str]]:
    """`tuidl runs` as printed, by run id."""
    import re

    capsys.readouterr()
    assert cli.main(["runs", "--runs-dir", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["ID", "PRESET", "STATUS"]
    return {cells[0]: cells for cells in (re.split(r"\s{2,}", line.strip()) for line in lines[1:])}


async def test_the_list_matches_tuidl_runs_and_live_runs_are_announced(runs_root, capsys):
    printed = cli_rows(capsys, runs_root)  # (Textual takes stdout over while the app runs)
    app = make_app(runs_root)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        assert app.query_one("PaneDeck").active == "runs"
        assert app.focused is pane.table  # arrows and the pane's keys work at once
        shown = {r.id: r for r in pane.rows}
        assert set(shown) == set(printed) and len(shown) == 6
        for run_id, cells in printed.items():
            row = shown[run_id]
            _id, preset, status, epochs, best, duration, started = cells
            assert (row.preset, row.status, row.epochs_text, row.best_text, row.started_text) == \
                   (preset, status, epochs, best, started), run_id
            if not row.live:  # a live run's duration grows between the two looks
                assert row.duration_text == duration, run_id
        # newest first; statuses as `tuidl runs` says them (a dead trainer: interrupted)
        assert [r.id[-4:] for r in pane.rows] == ["ffff", "eeee", "dddd", "cccc", "bbbb", "aaaa"]
        assert [r.status for r in pane.rows] == ["running", "interrupted", "stopped", "completed", "completed",
                                                 "completed"]
        # the table shows the same, status in colour
        table = pane.table
        assert table.row_count == 6
        cell = table.get_cell("20260105-100000-spiral-eeee", "status")
        assert cell.plain.strip() == "interrupted" and "red" in str(cell.style)
        assert "● running" in table.get_cell("20260106-100000-spiral-ffff", "status").plain
        assert table.get_cell("20260102-100000-spiral-bbbb", "best").plain == "val_loss=0.0686"
        assert "1 live: enter attaches" in str(pane.hint.content)
        # start-up: a notification names the live run and how to attach to it
        notes = [n for n in app.notes if "still training" in (n.title or "")]
        assert len(notes) == 1 and "20260106-100000-spiral-ffff" in notes[0].message
        assert "tuidl attach 20260106-100000-spiral-ffff" in notes[0].message

        # the list follows the runs root on its own (every couple of seconds, in a thread)
        scans = pane.scans
        fake_run(runs_root, "20260107-100000-xor-abcd", {"status": "completed", "preset": "xor",
                                                         "started": time.time(), "epoch": 2, "epochs": 2})
        pane.refresh_runs()
        await wait_for(pilot, lambda: pane.scans > scans and pane.rows[0].id.endswith("abcd"),
                       what="the new run in the list")
        assert table.row_count == 7


async def test_a_listing_asked_for_before_the_pane_is_mounted_is_shown(runs_root, monkeypatch):
    """The app asks the Runs pane for a listing when a sweep or a queued run starts, which
    can come before the pane is mounted (``tuidl`` mounts the panes not shown first after
    its first frame). That scan's thread ends before the pane is there; its listing must
    still be shown once it is, and the next scans must run. (Its thread used to post the
    listing itself: the post looked the app up through the pane's parents, failed, and
    left the pane "scanning" for good.)"""
    import tuidl.ui.app as ui

    monkeypatch.setattr(ui, "DEFER_PANES_S", 3600.0)  # the panes not shown first stay back until asked for
    app = make_app(runs_root, defer_panes=True, runs_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.panes["runs"]
        await pilot.pause(0.1)
        assert not pane.is_mounted
        pane.refresh_runs()  # what the app does after a sweep or a queued run starts
        scan = next(w for w in app.workers if w.node is pane)
        await wait_for(pilot, lambda: scan.is_finished, what="the scan's thread")
        await pilot.press("5")
        await wait_for(pilot, lambda: pane.scans > 0, timeout=10, what="the listing asked for before the mount")
        assert len(pane.rows) == 6 and pane.table.row_count == 6
        fake_run(runs_root, "20260107-100000-xor-abcd", {"status": "completed", "preset": "xor",
                                                         "started": time.time(), "epoch": 2, "epochs": 2})
        pane.refresh_runs()  # and the pane scans again
        await wait_for(pilot, lambda: pane.rows[0].id.endswith("abcd"), timeout=10, what="the next listing")


async def test_delete_asks_first_and_never_deletes_a_live_run(runs_root):
    app = make_app(runs_root, runs_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        live_id, old_id = "20260106-100000-spiral-ffff", "20260101-100000-spiral-aaaa"
        # a live run: refused, no dialog, nothing removed
        assert pane.select(live_id)
        await pilot.press("d")
        assert not isinstance(app.screen, ConfirmDeleteScreen)
        assert (runs_root / live_id).is_dir()
        await wait_for(pilot, lambda: any("stop it before deleting" in n.message for n in app.notes),
                       what="the refusal")
        # a finished run: the dialog; "n" keeps it
        assert pane.select(old_id)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDeleteScreen) and old_id in str(app.screen.row.id)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmDeleteScreen) and (runs_root / old_id).is_dir()
        # "y" deletes it and the list follows
        await pilot.press("d")
        await pilot.press("y")
        await wait_for(pilot, lambda: not (runs_root / old_id).exists(), what="the deletion")
        await wait_for(pilot, lambda: old_id not in [r.id for r in pane.rows], what="the list to follow")
        assert any(f"deleted {old_id}" in n.message for n in app.notes)
        # a run that came alive meanwhile (resumed elsewhere) is refused even after the dialog
        stopped = "20260104-100000-spiral-dddd"
        assert pane.select(stopped)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDeleteScreen)
        R.RunDir(runs_root / stopped).write_status(status="running", pid=os.getpid())
        await pilot.press("y")
        await wait_for(pilot, lambda: any("still running" in n.message for n in app.notes),
                       what="the refusal")
        assert (runs_root / stopped).is_dir()


async def test_open_export_and_compare(runs_root):
    """Enter replays a finished run (at once) or attaches to a live one; e exports;
    space + v lay runs over the charts; b compares with the earlier runs of the preset."""
    app = make_app(runs_root, runs_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        training = app.panes["training"]
        newer, older, digits = ("20260102-100000-spiral-bbbb", "20260101-100000-spiral-aaaa",
                                "20260103-100000-digits-cnn-cccc")
        # open a finished run: replayed into the Training pane
        assert pane.select(newer)
        await pilot.press("enter")
        await wait_for(pilot, lambda: training.controls.state == "ended" and training.view.progress.status == "completed",
                       what="the replay")
        assert app.session.mode.value == "replay" and app.session.run.id == newer
        assert app.query_one("PaneDeck").active == "training"
        assert len(training.run_charts.curves.epoch["loss"]) == 30

        # b: the earlier runs of this preset (not this one, not later ones, not other presets)
        await pilot.press("b")
        await wait_for(pilot, lambda: training.run_charts.overlays, what="the earlier runs")
        assert list(training.run_charts.overlays) == [run_label(older, "spiral")]
        key = OVERLAY_PREFIX + run_label(older, "spiral")
        assert training.overlay_keys() == [key] and key in training.run_charts.metric_chart.series_keys()
        val = [e["val"] for e in read_events(runs_root / older / "events.jsonl") if e["type"] == "epoch"]
        line = training.run_charts.loss_chart._lines[key]
        assert list(line.series.ys) == pytest.approx([v["loss"] for v in val])
        test_loss = next(e for e in read_events(runs_root / older / "events.jsonl") if e["type"] == "test")
        assert line.label == f"spiral 10:00:00 #aaaa · test {test_loss['metrics']['loss']:.4g}"
        assert list(training.run_charts.metric_chart._lines[key].series.ys) == pytest.approx([v["acc"] for v in val])
        # the x axis toggle takes the compared runs along
        assert line.series is training.run_charts.overlays[run_label(older, "spiral")].loss["step"]
        await pilot.press("e")
        assert training.run_charts.loss_chart._lines[key].series is training.run_charts.overlays[run_label(older, "spiral")].loss["epoch"]
        assert list(training.run_charts.loss_chart._lines[key].series.xs) == list(range(1, 31))
        await pilot.press("e")
        await pilot.press("b")  # again: cleared
        assert training.run_charts.overlays == {} and training.overlay_keys() == []
        assert training.run_charts.loss_chart.series_keys() == ["train", "val"]

        # mark two runs (space) and compare them (v): one line each, own colours
        await pilot.press("5")
        assert pane.select(older)
        await pilot.press("space")
        assert pane.select(digits)
        await pilot.press("space")
        assert pane.marked == {older, digits}
        assert pane.table.get_cell(older, "mark").plain == "◆"
        await pilot.press("v")
        await wait_for(pilot, lambda: len(training.run_charts.overlays) == 2, what="two compared runs")
        assert app.query_one("PaneDeck").active == "training"
        keys = training.overlay_keys()
        assert len(keys) == 2 and set(keys) <= set(training.run_charts.metric_chart.series_keys())
        colors = {training.run_charts.loss_chart._lines[k].color for k in keys}
        assert len(colors) == 2 and not colors & {"cyan", "orange", "green"}
        digits_val = [e["val"]["loss"] for e in read_events(runs_root / digits / "events.jsonl")
                      if e["type"] == "epoch"]
        assert list(training.run_charts.loss_chart._lines[OVERLAY_PREFIX + run_label(digits, "digits-cnn")].series.ys) == \
               pytest.approx(digits_val)
        training.redraw_now()
        text = training.run_charts.loss_chart.render_text(100, 20)
        assert "#aaaa" in text and "#cccc" in text  # the legend names them
        # and gives each compared run's test figure, where the run was tested
        digits_key = OVERLAY_PREFIX + run_label(digits, "digits-cnn")
        assert training.run_charts.metric_chart._lines[digits_key].label.endswith("· test 97.8%")
        assert training.run_charts.loss_chart._lines[digits_key].label.endswith("· test 0.2138")
        # C clears the comparison and the marks
        await pilot.press("5")
        await pilot.press("C")
        await wait_for(pilot, lambda: not training.run_charts.overlays, what="the comparison cleared")
        assert pane.marked == set() and training.run_charts.loss_chart.series_keys() == ["train", "val"]

        # export: CSV + Markdown next to the run, the paths in a notification
        assert pane.select(newer)
        await pilot.press("e")
        csv_path = runs_root / newer / f"{newer}-metrics.csv"
        md_path = runs_root / newer / f"{newer}-report.md"
        await wait_for(pilot, lambda: csv_path.is_file() and md_path.is_file(), what="the export")
        await wait_for(pilot, lambda: any(str(csv_path) in n.message for n in app.notes),
                       what="the export notice")
        assert csv_path.read_text() == report.to_csv(report.load_history(R.RunDir(runs_root / newer)))

        # open a live run: attached (its history, then what it writes)
        live_id = "20260106-100000-spiral-ffff"
        await pilot.press("5")
        assert pane.select(live_id)
        await pilot.press("o")
        await wait_for(pilot, lambda: app.session.run is not None and app.session.run.id == live_id and app.session.live,
                       what="the attach")
        assert app.session.mode.value == "live" and training.controls.state == "live"
        await wait_for(pilot, lambda: training.view.progress.epochs == 5, what="its history")
        with EventWriter(runs_root / live_id / "events.jsonl") as w:
            w.emit("epoch", epoch=1, step=10, train={"loss": 0.7, "acc": 0.6}, val={"loss": 0.72, "acc": 0.55},
                   lr=0.03, samples_per_s=100.0, duration=1.0, best=True)
        await wait_for(pilot, lambda: len(training.run_charts.curves.epoch["val_loss"]) == 1, what="a live epoch")
        # resuming a live or a finished run is refused with a reason
        await pilot.press("5")
        await pilot.press("u")
        assert any("still running" in n.message and "attaches" in n.message for n in app.notes)
        assert pane.select(newer)
        await pilot.press("u")
        assert any("already completed" in n.message for n in app.notes)
        assert not app.session.launching


def test_scan_runs_and_labels(runs_root):
    rows = scan_runs(runs_root)
    assert [r.id[-4:] for r in rows] == ["ffff", "eeee", "dddd", "cccc", "bbbb", "aaaa"]
    by_id = {r.id[-4:]: r for r in rows}
    assert by_id["ffff"].live and not by_id["eeee"].live
    assert not by_id["dddd"].resumable  # stopped, but no checkpoint
    assert by_id["aaaa"].best_text == "val_loss=0.0686" and by_id["dddd"].epochs_text == "4/60"
    assert run_label("20261129-195831-spiral-804e", "spiral") == "spiral 19:58:31 #804e"
    assert run_label("spiral-demo") == "spiral-demo"
    assert scan_runs(runs_root / "nothing-here") == []


async def test_the_run_that_just_ended_is_the_one_selected(runs_root):
    """The cursor was on the newest run; a run started here came first in the list and
    the cursor followed the old one a row down: `m` and `d` offered it, not the run
    that had just ended."""
    from tuidl.ui.session import TrainerStarted

    app = make_app(runs_root, runs_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        assert pane.selected_id() == "20260106-100000-spiral-ffff"  # the newest
        await pilot.press("3")
        new = fake_run(runs_root, "20260107-100000-spiral-gggg",
                       {"status": "running", "pid": os.getpid(), "started": time.time(), "epoch": 0, "epochs": 2})
        app.post_message(TrainerStarted(new))
        await wait_for(pilot, lambda: app.session.run is not None and app.session.run.id == new.id, what="the run")
        with EventWriter(new.events_path) as w:
            w.write(run_started(new.id, epochs=2))
            w.write(helpers.ended("completed", epochs=2, t=time.time()))
        new.write_status(status="completed", pid=None)
        await wait_for(pilot, lambda: app.session.ended is not None, what="the run's end")
        await pilot.press("5")
        for _ in range(2):  # (the app lists the runs again too; a listing more leaves the cursor where it is)
            pane.refresh_runs()
            await wait_for(pilot, lambda: new.id in pane._shown_ids and not pane._scanning, what="the new run listed")
        assert pane.selected_id() == new.id
        assert new.id in str(pane.detail.content)


def test_a_run_asked_for_before_the_pane_is_composed_is_selected_when_listed(tmp_path):
    """The app puts the cursor on a run it began (select_when_listed) even while the Runs
    pane, mounted after the first frame, is not composed yet: it waits for the listing
    (it raised AttributeError: no table yet, and the dashboard ended with exit status 1)."""
    from tuidl.ui.panes.runs import RunsPane

    pane = RunsPane(tmp_path, interval=None)
    pane.select_when_listed("20261207-180609-xor-7708")
    assert pane._want == "20261207-180609-xor-7708"  # noqa: SLF001 - what the first listing will select
