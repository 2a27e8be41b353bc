"""Runs that outlive the dashboard, with the real trainer process: the tests that start a process
(a trainer, the command, a terminal). The others are in tests/functional/test_detach.py."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from tuidl import cli
from tuidl.core.run import events as E
from tuidl.core.run import launch
from tuidl.core.preset import preset as P
from tuidl.core.run import report
from tuidl.core.run import rundir as R
from tuidl.core.run.events import read_events
from helpers import (ROOT, SIZE, PtyReader, diagnosis, end_process, kinds, make_app, terminal_session, wait_for,
                     wait_until)
from test_detach import pane_state


# -- SIGKILL in the middle of an epoch ----------------------------------------------------


@pytest.mark.e2e
async def test_sigkill_mid_epoch_then_resume_and_two_dashboards_control_it(tmp_path, capsys):
    runs = tmp_path / "runs"
    # epochs of about half a second (one torch thread): the kill lands inside epoch 3
    preset = P.load("spiral", ["train.epochs=4", "data.params.n_samples=8000", "train.device='cpu'"])
    run = launch.start(preset, runs_root=runs, telemetry=False)
    proc = run.process
    resumed_pid = None
    try:
        tail = E.EventTail(run.events_path)
        seen: list[dict] = []

        def two_epochs() -> bool:
            seen.extend(tail.poll())
            return sum(e["type"] == "epoch" for e in seen) >= 2

        end = time.monotonic() + 150
        while not two_epochs():  # a tight loop: epochs of this preset take a fraction of a second
            assert time.monotonic() < end, f"timed out waiting for two epochs{diagnosis(run)}"
            time.sleep(0.005)
        time.sleep(0.1)  # into epoch 3's steps
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL

        # the directory stays readable: every completed epoch is there, nothing after
        events = read_events(run.events_path)
        epochs = [e["epoch"] for e in events if e["type"] == "epoch"]
        assert epochs == list(range(1, len(epochs) + 1)) and 2 <= len(epochs) < 4, epochs
        assert not any(e["type"] == "run_ended" for e in events)
        history = report.load_history(run)
        assert sorted(history.epochs) == epochs and history.status == "running" and history.ended is None
        # a line torn by the kill (a write cut short) is tolerated by every reader
        torn = R.RunDir(tmp_path / "torn")
        shutil.copytree(run.path, torn.path)
        with open(torn.events_path, "ab") as f:
            f.write(b'{"type":"step","time":17')
        tail2 = E.EventTail(torn.events_path)
        assert len(list(tail2)) == len(events) and tail2.bad_lines == 0
        assert sorted(report.load_history(torn).epochs) == epochs
        assert "Run torn" in report.summary_text(torn, report.load_history(torn))

        # it reads as interrupted, here and in `tuidl runs`
        assert run.status()["status"] == "interrupted"
        capsys.readouterr()
        assert cli.main(["runs", "--runs-dir", str(runs)]) == 0
        row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(run.id))
        assert re.split(r"\s{2,}", row)[2] == "interrupted"

        # resume from a dashboard's Runs pane; a second dashboard attaches to it too
        a = make_app(preset, runs_root=runs)
        b = make_app(preset, runs_root=runs, attach=run)
        async with a.run_test(size=SIZE) as pa:
            await pa.press("5")
            await wait_for(pa, lambda: a.panes["runs"].scans > 0, what="the list")
            assert a.panes["runs"].select(run.id) and a.panes["runs"].selected().status == "interrupted"
            await pa.press("u")
            await wait_for(pa, lambda: a.session.run is not None and a.session.run.id == run.id and a.session.live,
                           what="the resume", run=run)
            resumed_pid = a.session.run.process.pid
            # A pauses it at once: the command waits in control/ for the trainer, which
            # takes it at its first step (so the run cannot end before the checks below)
            await pa.press("p")
            async with b.run_test(size=SIZE) as pb:
                # both show the resumed run, paused (from the trainer's control event)
                for app, pilot in ((a, pa), (b, pb)):
                    await wait_for(pilot, lambda: app.panes["training"].controls.state == "paused"
                                   and len(kinds(run, "run_started")) == 2
                                   and app.panes["training"].view.progress.epochs_done >= len(epochs) - 1
                                   and not app.panes["training"].view.progress.status, timeout=120,
                                   what="the resumed trainer, paused, in both dashboards", run=run)
                    assert str(app.panes["training"].controls.buttons["pause"].label) == "Resume [p]"
                await wait_for(pb, lambda: run.status()["status"] == "paused", what="the paused status", run=run)
                # B asks for a checkpoint while paused, then resumes; A follows
                await pb.press("c")
                await wait_for(pb, lambda: any(e.get("reason") == "requested" for e in kinds(run, "checkpoint")),
                               what="the requested checkpoint", run=run)
                await pb.press("p")
                for app, pilot in ((a, pa), (b, pb)):
                    await wait_for(pilot, lambda: app.panes["training"].controls.state in ("live", "ended"), what="resumed",
                                   run=run)
                actions = [e["action"] for e in kinds(run, "control")]
                assert actions[:3] == ["paused", "checkpoint_requested", "resumed"], actions
                # both follow it to the end, with the whole history
                for app, pilot in ((a, pa), (b, pb)):
                    await wait_for(pilot, lambda: app.panes["training"].view.progress.status == "completed", timeout=150,
                                   what="the run to complete", run=run)
                    assert list(app.panes["training"].run_charts.curves.epoch["loss"].xs) == [1.0, 2.0, 3.0, 4.0]
                    assert app.panes["training"].controls.state == "ended" and not app.session.live
                assert pane_state(a)["curves"]["epoch.val_loss"] == pane_state(b)["curves"]["epoch.val_loss"]
        assert a.session.run.process.wait(timeout=30) == 0
        assert run.status()["status"] == "completed"
        history = report.load_history(run)
        assert sorted(history.epochs) == [1, 2, 3, 4] and history.restarts == 1
        assert history.ended["status"] == "completed" and history.test is not None
    finally:
        end_process(proc.pid)
        end_process(resumed_pid)


# -- SIGHUP to the dashboard -------------------------------------------------------------------


@pytest.mark.e2e
async def test_sighup_ends_the_dashboard_not_the_run_and_a_new_one_reattaches(tmp_path):
    runs = tmp_path / "runs"
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    dash = subprocess.Popen(
        [sys.executable, "-m", "tuidl", "spiral", "--runs-dir", str(runs), "--set", "train.epochs=6",
         "--set", "data.params.n_samples=8000", "--set", "train.device='cpu'"],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True, start_new_session=True,
        preexec_fn=terminal_session)
    os.close(slave)
    reader = PtyReader(master)
    reader.start()
    trainer_pid = None
    try:
        wait_until(lambda: b"Training [3]" in reader.data, timeout=90, what="the dashboard's first frame")
        time.sleep(0.5)
        os.write(master, b"3")
        time.sleep(0.5)
        os.write(master, b"s")
        wait_until(lambda: runs.is_dir() and R.list_runs(runs), timeout=30, what="the run directory")
        run = R.list_runs(runs)[0]
        wait_until(lambda: len(kinds(run, "epoch")) >= 1, timeout=120, what="epoch events", run=run)
        trainer_pid = int(run.status()["pid"])
        assert trainer_pid != dash.pid and os.getsid(trainer_pid) != os.getsid(dash.pid)

        dash.send_signal(signal.SIGHUP)  # the terminal / SSH link is gone
        hup_time = time.time()
        code = dash.wait(timeout=20)  # the dashboard ends...
        assert code == -signal.SIGHUP, code
        assert R.pid_alive(trainer_pid) or run.status()["status"] == "completed"

        wait_until(lambda: run.status()["status"] == "completed", timeout=150, what="the run to complete",
                   run=run)
        epochs = kinds(run, "epoch")
        assert [e["epoch"] for e in epochs] == [1, 2, 3, 4, 5, 6]
        assert any(e["time"] > hup_time for e in epochs)  # it went on training after the SIGHUP
        assert kinds(run, "run_ended")[-1]["status"] == "completed"
    finally:
        if dash.poll() is None:
            dash.kill()
            dash.wait(timeout=10)
        end_process(trainer_pid)
        os.close(master)
        reader.join(timeout=5)

    # a new dashboard reattaches: the whole history is in its charts
    app = make_app(P.load(run.preset_path), attach=run)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.panes["training"]
        await wait_for(pilot, lambda: pane.controls.state == "ended" and pane.view.progress.status == "completed",
                       what="the history")
        assert list(pane.run_charts.curves.epoch["loss"].xs) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        assert list(pane.run_charts.curves.epoch["val_loss"].ys) == pytest.approx([e["val"]["loss"] for e in epochs])
        assert pane.view.test is not None and pane.view.progress.fraction == 1.0


# -- headless runs ---------------------------------------------------------------------------


@pytest.mark.e2e
async def test_headless_train_is_attached_like_any_run_and_replays_the_same(tmp_path):
    runs = tmp_path / "runs"
    out = open(tmp_path / "nohup.out", "wb")
    proc = subprocess.Popen(  # as `nohup tuidl train ... &` would: no terminal, own session
        [sys.executable, "-m", "tuidl", "train", "spiral", "--runs-dir", str(runs), "--set", "train.epochs=6",
         "--set", "data.params.n_samples=1500", "--device", "cpu"],
        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
    out.close()
    try:
        wait_until(lambda: runs.is_dir() and R.list_runs(runs) and kinds(R.list_runs(runs)[0], "run_started"),
                   timeout=120, what="the headless run to start")
        run = R.list_runs(runs)[0]
        assert run.status()["pid"] == proc.pid and run.is_live()  # in-process trainer: its own pid
        # Freeze the trainer while the dashboard comes up: on an idle machine it trains
        # this preset in a second or two, which could be over before the first key press.
        os.kill(proc.pid, signal.SIGSTOP)

        live = make_app(P.load(run.preset_path), attach=run)
        async with live.run_test(size=SIZE) as pilot:
            pane = live.panes["training"]
            await wait_for(pilot, lambda: live.session.live and pane.view.progress.epochs == 6, what="history", run=run)
            assert pane.controls.state == "live"
            await pilot.press("p")  # control works on a headless run too
            os.kill(proc.pid, signal.SIGCONT)
            await wait_for(pilot, lambda: pane.controls.state == "paused", what="paused", run=run)
            await pilot.press("p")
            await wait_for(pilot, lambda: pane.controls.state in ("live", "ended"), what="resumed")
            await wait_for(pilot, lambda: pane.controls.state == "ended" and pane.view.progress.status == "completed",
                           timeout=150, what="the run to complete")
            followed = pane_state(live)
        assert proc.wait(timeout=30) == 0
        assert "Run completed" in (tmp_path / "nohup.out").read_text()
    finally:
        end_process(proc.pid)  # (SIGKILL ends a stopped process too)

    # the same directory replayed afterwards: the same charts and results
    replay = make_app(P.load(run.preset_path), replay=run)
    async with replay.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay.panes["training"].controls.state == "ended", what="the replay")
        replayed = pane_state(replay)
    assert followed["curves"]["epoch.loss"][0] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert followed == replayed
    assert followed["test"] == kinds(run, "test")[0]["metrics"]


# -- several runs at once ----------------------------------------------------------------------


@pytest.mark.e2e
def test_two_concurrent_runs_write_two_separate_complete_directories(tmp_path):
    runs = tmp_path / "runs"
    presets = [P.load("xor", ["train.epochs=2", "data.params.n_samples=200", "train.device='cpu'"]),
               P.load("circle", ["train.epochs=3", "data.params.n_samples=200", "train.device='cpu'"])]
    started = [launch.start(p, runs_root=runs, telemetry=False) for p in presets]
    try:
        for run in started:
            assert run.process.wait(timeout=200) == 0
    finally:
        for run in started:
            end_process(run.process.pid)
    assert len({run.path for run in started}) == 2 and {r.path for r in R.list_runs(runs)} == \
           {run.path for run in started}
    pids = set()
    for run, preset in zip(started, presets):
        events = read_events(run.events_path)
        first = events[0] if events[0]["type"] == "run_started" else kinds(run, "run_started")[0]
        assert first["run_id"] == run.id and first["preset"] == preset.name
        assert len(kinds(run, "run_started")) == 1
        assert {e.get("pid") for e in kinds(run, "run_started")} == {run.process.pid}
        pids.add(run.process.pid)
        assert [e["epoch"] for e in kinds(run, "epoch")] == list(range(1, preset.train.epochs + 1))
        assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "completed"
        assert run.status()["status"] == "completed" and run.status()["preset"] == preset.name
        assert P.dumps(P.load(run.preset_path)) == P.dumps(preset)  # its own preset, not the other's
        assert run.checkpoint("last").is_file()
    assert len(pids) == 2
