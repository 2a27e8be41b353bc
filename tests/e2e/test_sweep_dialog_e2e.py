"""A sweep and a queued run started from the Training pane (issue 18, item 5), for real:
the dialog runs `tuidl sweep ... --detach`, whose driver trains each trial as a run, and
the Runs pane shows them as a group; "Queue one run" puts the preset in the queue,
whose worker starts it."""

from __future__ import annotations

from textual.widgets import Input

from tuidl.core.run import rundir as R
from tuidl.core.run.runlist import scan_runs
from tuidl.core.sweep.queue import Queue
from tuidl.ui.screens.sweepstart import SweepStartScreen

from helpers import end_process, make_app, screen_text, SIZE, tiny_xor, wait_for, wait_until


async def test_a_sweep_started_from_the_dialog_shows_as_a_group_in_the_runs_pane(tmp_path):
    root = tmp_path / "runs"
    app = make_app(tiny_xor(), runs_root=root, runs_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "w")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepStartScreen), what="the sweep dialog")
        app.screen.query_one("#sweep-key-0", Input).value = "train.optimizer.lr=0.003,0.03"
        app.screen.query_one("#sweep-key-1", Input).value = ""
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, SweepStartScreen) and app.notes, timeout=120,
                       what="tuidl sweep to start the sweep")  # (the note comes once the dialog is gone)
        assert "runs in the background" in app.notes[-1].message, app.notes[-1]
        sweep_id = next((root / "sweeps").iterdir()).name
        await pilot.press("5")

        def both_trials_ended() -> bool:
            rows = [r for r in scan_runs(root) if r.sweep]
            return len(rows) == 2 and all(r.status == "completed" for r in rows)

        await wait_for(pilot, both_trials_ended, timeout=180, what="the sweep's two trials")
        await wait_for(pilot, lambda: all(t in screen_text(app) for t in ("└ #0 lr=0.003", "└ #1 lr=0.03",
                                                                           "2/2 trials", f"sweep {sweep_id}")),
                       what="the group in the Runs pane")


async def test_queue_puts_the_preset_in_the_queue_and_its_worker_starts_it(tmp_path):
    root = tmp_path / "runs"
    app = make_app(tiny_xor(), runs_root=root)
    pid = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("3", "w")
            await wait_for(pilot, lambda: isinstance(app.screen, SweepStartScreen), what="the sweep dialog")
            await pilot.press("ctrl+r")  # queue one run of the preset, no sweep
            await wait_for(pilot, lambda: any("queued as q1" in n.message for n in app.notes), timeout=60,
                           what="the queued notice")
            entries = Queue(root).entries()
            assert [(e.id, e.kind, e.name) for e in entries] == [("q1", "run", "xor")]
        worker = Queue(root)._read().get("worker") or {}
        pid = worker.get("pid")

        def ran() -> bool:
            e = Queue(root).entries()[0]
            return e.status == "done" and e.run_id is not None

        wait_until(ran, timeout=180, what="the queued run to start and end")
        run = R.RunDir(root / Queue(root).entries()[0].run_id)
        assert run.status()["status"] == "completed" and run.status()["epochs"] == 2
    finally:
        end_process(pid)
