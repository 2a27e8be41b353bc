"""Starting a trainer process that outlives whoever started it.

``start(preset)`` creates the run directory and starts ``python -m tuidl.core.trainer``
in its own session (``start_new_session=True``), stdin closed, stdout/stderr to files
in the run directory: a closing terminal, a dropped SSH link (SIGHUP) or a dashboard
that quits does not end the run, and nothing the trainer's libraries print can paint
over the dashboard. Uses plain ``subprocess`` rather than ``multiprocessing``, which
fails inside a running Textual app.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from . import preset as P
from . import rundir as R


def _spawn(run: R.RunDir, resume: bool, telemetry: bool) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tuidl.core.trainer", str(run.path)]
    if resume:
        cmd.append("--resume")
    if telemetry:
        cmd.append("--telemetry")
    out = open(run.path / "trainer.out", "ab")
    err = open(run.path / "trainer.err", "ab")
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True, close_fds=True, cwd=os.getcwd())
    finally:
        out.close()
        err.close()
    run.write_status(status="starting", pid=proc.pid, host=socket.gethostname(), message="",
                     launched=time.time())
    return proc


def start(preset: P.Preset, runs_root=None, telemetry: bool = True) -> R.RunDir:
    """Validate, create the run directory (with the resolved preset) and start training."""
    P.resolve(preset)
    run = R.create(R.runs_root(runs_root), preset.name, P.dumps(preset))
    run.process = _spawn(run, resume=False, telemetry=telemetry)  # type: ignore[attr-defined]
    return run


def resume(run: R.RunDir, telemetry: bool = True) -> R.RunDir:
    """Continue a stopped, interrupted or failed run from its last checkpoint."""
    if run.is_live():
        raise RuntimeError(f"run {run.id} is still running")
    if not run.checkpoint("last").is_file():
        raise RuntimeError(f"run {run.id} has no checkpoint to resume from")
    run.process = _spawn(run, resume=True, telemetry=telemetry)  # type: ignore[attr-defined]
    return run
