"""Quitting is instant (issue 13, item 9): the real `tuidl` in a pseudo-terminal. The
dashboard quit 0.6-1.1 s after `q` (2.7-3.5 s were seen while a warm trainer loaded):
most of it after the terminal was already restored, in the interpreter's teardown. Now
the process ends once the screen is restored, and a warm trainer ends on its own.

How long that takes is a benchmark's figure (``bench/startup.py``: ``quit_restored``,
``quit_exit``), not a test's: under a loaded CI machine any threshold here flaked. The
test holds that `q` restores the terminal and ends the process with status 0, and that a
warm trainer ends on its own."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
import time


import pytest

from helpers import ROOT, PtyReader, end_process, terminal_session, wait_until

RESTORE = b"\x1b[?1049l"  # leaves the alternate screen: the shell's screen is back


def standbys_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if ppid == pid and b"--standby" in cmdline:
            out.append(int(entry))
    return out


def quit_once(tmp_path, warm: bool) -> tuple[int, list[int]]:
    """(the dashboard's exit status once the terminal it restored, the warm trainers it had)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    dash = subprocess.Popen(
        [sys.executable, "-m", "tuidl", "spiral", "--runs-dir", str(tmp_path / "runs"),
         *([] if warm else ["--no-warm-trainer"])],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True, start_new_session=True,
        preexec_fn=terminal_session)
    os.close(slave)
    reader = PtyReader(master, watch=RESTORE)
    reader.start()
    warm_pids: list[int] = []
    try:
        wait_until(lambda: b"Training" in reader.data, timeout=90, what="the dashboard's first frame")
        if warm:
            wait_until(lambda: standbys_of(dash.pid), timeout=30, what="the warm trainer")
            warm_pids = standbys_of(dash.pid)
        time.sleep(3.0)  # settled: the panes mounted, the warm trainer warmed up (0.5 s was too short in CI)
        os.write(master, b"q")
        rc = dash.wait(timeout=30)
        wait_until(lambda: reader.seen_at is not None, timeout=5, what="the restored terminal")
        return rc, warm_pids
    finally:
        if dash.poll() is None:
            dash.kill()
            dash.wait(timeout=10)
        os.close(master)
        reader.join(timeout=5)


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.e2e
def test_quit_ends_the_process_with_the_screen_and_leaves_the_warm_trainer_to_end(tmp_path):
    rc, _ = quit_once(tmp_path, warm=False)
    assert rc == 0
    # with a warm trainer: it ends on its own once the dashboard is gone
    rc, warm = quit_once(tmp_path, warm=True)
    try:
        assert rc == 0 and len(warm) == 1, (rc, warm)
        wait_until(lambda: not running(warm[0]), timeout=20, what="the warm trainer to end on its own")
    finally:
        for pid in warm:
            end_process(pid)
