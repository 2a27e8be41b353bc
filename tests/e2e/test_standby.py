"""The warm trainer (``launch.Standby``): a trainer process started before its run, so
Start trains at once instead of after seconds of imports. Real processes throughout."""

from __future__ import annotations

import os

from tuidl.core.run import launch
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.run.events import read_events

from helpers import end_process, kinds, make_app, SIZE, tiny_xor, wait_for, wait_until


def test_a_standby_trains_the_run_it_is_handed_and_a_closed_one_leaves(tmp_path):
    standby = launch.Standby()
    idle = launch.Standby()
    try:
        run = launch.start(tiny_xor(), runs_root=tmp_path / "runs", telemetry=False, standby=standby)
        assert run.process is standby.proc  # no new process: the warm one trains
        assert run.read_status()["pid"] == standby.proc.pid
        assert standby.proc.wait(timeout=120) == 0, (run.path / "trainer.err").read_text()
        assert run.status()["status"] == "completed"
        events = read_events(run.events_path)
        assert events[0]["type"] == "run_started" and events[0]["pid"] == standby.proc.pid
        assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "completed"
        assert [e["epoch"] for e in kinds(run, "epoch")] == [1, 2]
        # the run's first step is reported as soon as it is taken
        assert kinds(run, "step")[0]["step"] == 1
        assert (run.path / "trainer.out").exists() and (run.path / "trainer.err").exists()
        # a standby that gets no run ends when its pipe closes, and writes nothing
        idle.close()
        assert idle.proc.wait(timeout=120) == 0
        assert [r.id for r in R.list_runs(tmp_path / "runs")] == [run.id]
    finally:
        end_process(standby.proc.pid)
        end_process(idle.proc.pid)


def test_a_dead_standby_means_a_cold_start(tmp_path):
    standby = launch.Standby()
    standby.proc.kill()
    standby.proc.wait()
    run = launch.start(tiny_xor(), runs_root=tmp_path / "runs", telemetry=False, standby=standby)
    try:
        assert run.process is not standby.proc
        assert run.process.wait(timeout=120) == 0
        assert run.status()["status"] == "completed"
    finally:
        end_process(run.process.pid)


async def test_the_dashboard_keeps_a_trainer_warm_and_start_uses_it(tmp_path):
    preset = tiny_xor()
    app = make_app(preset, runs_root=tmp_path / "runs", warm_trainer=True)
    pids = []
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.session.standby is not None, what="a standby")
            warm = app.session.standby
            pids.append(warm.proc.pid)
            await pilot.press("s")
            await wait_for(pilot, lambda: app.session.run is not None, what="the run")
            run = app.session.run
            assert app.session.standby is None and run.process is warm.proc
            await wait_for(pilot, lambda: app.panes["training"].view.progress.status == "completed", timeout=120,
                           what="the run's end", run=run)
            # the next Start is warm again
            await wait_for(pilot, lambda: app.session.standby is not None and app.session.standby.alive(), what="a new standby")
            pids.append(app.session.standby.proc.pid)
            assert app.session.standby.proc.pid != warm.proc.pid
            next_one = app.session.standby
            app.runner.drop_standby()
        assert next_one.proc.wait(timeout=120) == 0  # closed with the app: it ends
        wait_until(lambda: warm.proc.poll() is not None, what="the trainer's end")
    finally:
        for pid in pids:
            end_process(pid)


def test_the_warm_trainer_is_off_with_the_environment_switch(monkeypatch):
    import tuidl.ui.app as ui

    seen = {}

    class Probe(ui.TuidlApp):
        def run(self, *args, **kwargs):
            seen["warm"] = self.warm_trainer
            return 0

    monkeypatch.setattr(ui, "TuidlApp", Probe)
    preset = tiny_xor()
    monkeypatch.setenv("TUIDL_WARM_TRAINER", "0")
    ui.run(preset, warm_trainer=True)
    assert seen["warm"] is False
    monkeypatch.setenv("TUIDL_WARM_TRAINER", "1")
    ui.run(preset, warm_trainer=True)
    assert seen["warm"] is True
    ui.run(preset)  # attach / replay / tests: off unless asked
    assert seen["warm"] is False


def warm_trainers() -> list[int]:
    """The live ``trainer --standby`` children of this test process (zombies left out)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == os.getpid() and state != "Z" and b"--standby" in cmdline:
            pids.append(int(entry))
    return pids


def unfit_preset():
    """xor with a conv2d layer first: valid alone, refused by Start (2-D data, no image)."""
    data = P.to_data(tiny_xor())
    data["model"]["layers"].insert(0, {"type": "conv2d", "filters": 4, "kernel_size": 3})
    return P.from_dict(data)


async def test_refused_starts_keep_one_warm_trainer(tmp_path):
    """Issue 13: every refused Start left its warm trainer behind (five after four `s`)."""
    app = make_app(unfit_preset(), runs_root=tmp_path / "runs", warm_trainer=True)
    seen: set[int] = set()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.session.standby is not None and app.session.standby.alive(), what="a standby")
            first = app.session.standby.proc.pid
            for _ in range(4):
                refusals = len([n for n in app.notes if n.title == "Cannot start"])
                await pilot.press("s")
                await wait_for(pilot, lambda: len([n for n in app.notes if n.title == "Cannot start"])
                               > refusals and not app.session.launching, what="the refusal")
                await pilot.pause(0.3)
                seen.update(warm_trainers())
                assert warm_trainers() == [first], "one warm trainer, the same one, after a refused Start"
            assert app.session.standby.proc.pid == first and app.session.run is None
            assert not R.list_runs(tmp_path / "runs")
        wait_until(lambda: not warm_trainers(), timeout=30, what="the warm trainer to end with the app")
    finally:
        for pid in seen:
            end_process(pid)


async def test_no_warm_trainer_while_an_attached_run_trains(tmp_path):
    """A run followed live (attached, started elsewhere) means no warm trainer meanwhile."""
    preset = P.load("xor", ["train.epochs=200", "data.params.n_samples=2000", "train.device='cpu'"])
    run = launch.start(preset, runs_root=tmp_path / "runs", telemetry=False)
    app = make_app(preset, runs_root=tmp_path / "runs", warm_trainer=True)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.session.standby is not None and app.session.standby.alive(), what="a standby")
            warm = app.session.standby.proc
            app.runner.start_attach(run)
            await wait_for(pilot, lambda: app.session.live, what="the attached run")
            assert app.session.standby is None
            wait_until(lambda: warm.poll() is not None, timeout=30, what="the warm trainer's end")
            assert not warm_trainers()
            run.send("stop")
            await wait_for(pilot, lambda: not app.session.live, timeout=120, what="the run's end", run=run)
            # the run ended: a trainer is kept warm again for the next Start
            await wait_for(pilot, lambda: app.session.standby is not None and app.session.standby.alive(), what="a new standby")
            assert len(warm_trainers()) == 1
    finally:
        end_process(run.process.pid)
        for pid in warm_trainers():
            end_process(pid)
