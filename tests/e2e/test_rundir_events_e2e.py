"""The event stream and the run directory contracts: the tests that start a process (a trainer, the
command, a terminal). The others are in tests/unit/test_rundir_events.py."""

import os
import subprocess
import sys


from tuidl.core.run import rundir as R


def test_status_of_a_dead_process_reads_interrupted(tmp_path):
    run = R.create(tmp_path, "x", "")
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run.write_status(status="running", pid=proc.pid)
    assert run.status()["status"] == "interrupted"
    run.write_status(status="running", pid=os.getpid())
    assert run.status()["status"] == "running"
