"""Starting a trainer process that outlives whoever started it.

``start(preset)`` creates the run directory and starts ``python -m tuidl.core.trainer``
in its own session (``start_new_session=True``), stdin closed, stdout/stderr to files
in the run directory: a closing terminal, a dropped SSH link (SIGHUP) or a dashboard
that quits does not end the run, and nothing the trainer's libraries print can paint
over the dashboard. Uses plain ``subprocess`` rather than ``multiprocessing``, which
fails inside a running Textual app.

With ``nproc`` > 1 the process started is the data-parallel supervisor
(``python -m tuidl.core.distributed``), which runs torchrun's launcher: its pid is the
run's pid in the status file (the run dies with it), and SIGTERM to it reaches every
rank, which checkpoint and stop together.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from . import distributed as D
from . import preset as P
from . import rundir as R


def _spawn(run: R.RunDir, resume: bool, telemetry: bool, nproc: int = 1,
           allow_code: tuple[str, ...] = ()) -> subprocess.Popen:
    if nproc > 1:
        cmd = [sys.executable, "-m", "tuidl.core.distributed", str(run.path), "--nproc", str(nproc)]
    else:
        cmd = [sys.executable, "-m", "tuidl.core.trainer", str(run.path)]
    if resume:
        cmd.append("--resume")
    if telemetry:
        cmd.append("--telemetry")
    for ref in allow_code:
        cmd += ["--allow-code", ref]
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


def start(preset: P.Preset, runs_root=None, telemetry: bool = True, nproc: int = 1,
          allow_code: tuple[str, ...] = ()) -> R.RunDir:
    """Validate, create the run directory (with the resolved preset) and start training,
    on ``nproc`` data-parallel processes of this machine (its GPUs, or the CPU)."""
    P.resolve(preset)
    D.check_world(preset.data.batch_size, nproc)
    run = R.create(R.runs_root(runs_root), preset.name, P.dumps(preset))
    run.process = _spawn(run, resume=False, telemetry=telemetry, nproc=nproc,  # type: ignore[attr-defined]
                         allow_code=allow_code)
    return run


def resume(run: R.RunDir, telemetry: bool = True, nproc: int = 1) -> R.RunDir:
    """Continue a stopped, interrupted or failed run from its last checkpoint (on any
    number of processes, whatever it ran on before)."""
    if run.is_live():
        raise RuntimeError(f"run {run.id} is still running")
    if not run.checkpoint("last").is_file():
        raise RuntimeError(f"run {run.id} has no checkpoint to resume from")
    if nproc > 1:
        D.check_world(P.load(run.preset_path).data.batch_size, nproc)
    run.process = _spawn(run, resume=True, telemetry=telemetry, nproc=nproc)  # type: ignore[attr-defined]
    return run
