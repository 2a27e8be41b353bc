"""Messages name the right thing (issue 13, item 5): the tests that start a process (a trainer, the
command, a terminal). The others are in tests/functional/test_messages.py."""

from __future__ import annotations

import subprocess
import sys


from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R

from helpers import SIZE, make_app, wait_for


async def test_replaying_a_headless_run_made_here_does_not_say_another_machine(tmp_path):
    runs = tmp_path / "runs"
    out = subprocess.run([sys.executable, "-m", "tuidl", "train", "xor", "--runs-dir", str(runs), "--quiet",
                          "--set", "train.epochs=2", "--set", "data.params.n_samples=200", "--device", "cpu"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    run = R.list_runs(runs)[0]
    app = make_app(P.load(run.preset_path), runs_root=runs, replay=run)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.panes["training"].view.progress.status == "completed", timeout=120, what="the replay")
        await pilot.press("4")
        system = app.panes["system"]
        assert system.view is app.session.view  # the pane shows the run's one view, not a view of its own
        await wait_for(pilot, lambda: system.is_mounted and "trainer" in system.text(), what="the system pane")
        status = system.text().splitlines()[0]
        assert "not on this machine" not in status
        assert "ran on this machine and has ended" in status and "--telemetry" in status
