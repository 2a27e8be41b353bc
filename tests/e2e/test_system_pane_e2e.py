"""The system pane, driven with recorded NVML fakes and real psutil: the tests that start a process
(a trainer, the command, a terminal). The others are in tests/functional/test_system_pane.py."""

from __future__ import annotations

import time

import psutil

from tuidl.ui.panes.system import SystemPane

from test_system_pane import host, recorded, ticks


async def test_an_ended_trainer_shows_its_last_memory_not_zero():
    """Issue 13: after a run ended the pane showed "RSS 0 B" (the trainer, ended but not
    yet reaped by its parent, reads 0 B). It says the process ended, with its last RSS."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import sys; x = bytearray(50 << 20); sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        app = host(recorded("no_driver.json"))
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.query_one(SystemPane)
            pane.set_trainer_pid(child.pid)
            deadline = time.monotonic() + 20
            while "MiB" not in pane.text().splitlines()[-1] and time.monotonic() < deadline:
                await ticks(pilot, pane, 1)
            live = pane.text().splitlines()[-1]
            assert "RSS" in live and "MiB" in live, live
            child.stdin.close()
            while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:  # ended, not reaped
                time.sleep(0.02)
            await ticks(pilot, pane, 2)
            line = pane.text().splitlines()[-1]
            assert "RSS 0 B" not in line
            assert f"pid {child.pid} has ended; last RSS" in line and "MiB" in line, line
    finally:
        child.kill()
        child.wait()
