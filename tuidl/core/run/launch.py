"""Starting a trainer process that outlives whoever started it.

``start(preset)`` creates the run directory and starts ``python -m tuidl.core.train.trainer``
in its own session (``start_new_session=True``), stdin closed, stdout/stderr to files
in the run directory: a closing terminal, a dropped SSH link (SIGHUP) or a dashboard
that quits does not end the run, and nothing the trainer's libraries print can paint
over the dashboard. Uses plain ``subprocess`` rather than ``multiprocessing``, which
fails inside a running Textual app.

With ``nproc`` > 1 the process started is the data-parallel supervisor
(``python -m tuidl.core.system.distributed``), which runs torchrun's launcher: its pid is the
run's pid in the status file (the run dies with it), and SIGTERM to it reaches every
rank, which checkpoint and stop together.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

from tuidl.core.system import distributed as D
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R


def _spawn(run: R.RunDir, resume: bool, telemetry: bool, nproc: int = 1,
           allow_code: tuple[str, ...] = (), env: dict[str, str] | None = None) -> subprocess.Popen:
    args = _trainer_args(run, resume, telemetry, allow_code)
    if nproc > 1:
        cmd = [sys.executable, "-m", "tuidl.core.system.distributed", *args[:1], "--nproc", str(nproc), *args[1:]]
    else:
        cmd = [sys.executable, "-m", "tuidl.core.train.trainer", *args]
    out = open(run.path / "trainer.out", "ab")
    err = open(run.path / "trainer.err", "ab")
    seen = run.read_status()
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True, close_fds=True, cwd=os.getcwd(),
                                env={**os.environ, **env} if env else None)
    finally:
        out.close()
        err.close()
    _starting(run, proc.pid, seen)
    return proc


def _starting(run: R.RunDir, pid: int, seen: dict) -> None:
    """Say the run is ``starting`` in the process ``pid``, started after its status was
    ``seen``, unless that process has written its status meanwhile (it may have failed
    already: that must read as ``failed``, not as ``interrupted`` by a dead pid)."""
    run.write_status_if_unchanged(seen, status="starting", pid=pid, host=socket.gethostname(), message="",
                                  launched=time.time())


def _trainer_args(run: R.RunDir, resume: bool, telemetry: bool, allow_code: tuple[str, ...]) -> list[str]:
    args = [str(run.path)]
    if resume:
        args.append("--resume")
    if telemetry:
        args.append("--telemetry")
    for ref in allow_code:
        args += ["--allow-code", ref]
    return args


class Standby:
    """A trainer process started before its run, so that Start trains within a second:
    a cold trainer spends seconds importing PyTorch and, at its first optimizer,
    PyTorch's compiler stack (``python -m tuidl.core.train.trainer --standby``).

    It starts in its own session, like any trainer, and waits for one line on its
    stdin (a pipe from this process). :meth:`take` hands it a run; after that it is
    that run's trainer and outlives this process like any other. Closing the pipe
    (:meth:`close`, or this process ending in any way) ends a standby that has no run.
    It holds PyTorch in memory meanwhile (about 500 MB resident, 270 MB of it private)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tuidl.core.train.trainer", "--standby"],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True,
                                     cwd=os.getcwd())

    def alive(self) -> bool:
        return self.proc.poll() is None and self.proc.stdin is not None

    def take(self, run: R.RunDir, args: list[str]) -> bool:
        """Hand the run to the standby. False if it is gone (start a trainer cold)."""
        if not self.alive():
            return False
        seen = run.read_status()
        try:
            self.proc.stdin.write((json.dumps(args) + "\n").encode())
            self.proc.stdin.close()
        except OSError:  # it died meanwhile
            return False
        finally:
            self.proc.stdin = None
        _starting(run, self.proc.pid, seen)
        return True

    def close(self) -> None:
        """End the standby (if it has no run yet)."""
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc.stdin = None


class Forked:
    """A trainer forked by :class:`TrialForks`, seen as much like a ``Popen`` as its
    users need: ``pid``, ``poll()``, ``wait()``."""

    def __init__(self, process: Any) -> None:
        self._process = process
        self.pid: int = process.pid

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(f"trainer {self.pid}", timeout or 0)
        return self._process.exitcode


class TrialForks:
    """Trainers forked from one warm process instead of started cold: Python's
    ``multiprocessing`` fork server, which imports PyTorch and warms it up once
    (``tuidl.core.train.preload``). A cold trainer spends 2–3 s of CPU on imports before
    its first step; a forked one starts in a few milliseconds, which is most of a sweep's
    time when its trials are small. A forked trainer is a trainer like any other: its
    own process and session, its run's files for output, ``trainer.forked``.

    Only for single-process runs on the CPU, on Linux (:meth:`suit`): a process that
    forks must not have touched CUDA, and ``fork`` is not safe on macOS. The server
    ends with the process that started it; trainers already forked go on. Sweep drivers
    fork their trials, the queue's worker its runs."""

    def __init__(self) -> None:
        import multiprocessing
        import multiprocessing.forkserver

        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["tuidl.core.train.preload"])
        multiprocessing.forkserver.ensure_running()  # it warms up meanwhile; the first fork waits for it

    @staticmethod
    def here() -> bool:
        """Forking trainers is for this machine: Linux, and not ``TUIDL_FORK_TRIALS=0``
        (which starts every trainer cold)."""
        return os.environ.get("TUIDL_FORK_TRIALS", "1") != "0" and sys.platform.startswith("linux")

    @classmethod
    def suit(cls, preset: P.Preset, gpus: list[str]) -> bool:
        """Does ``preset`` train on this machine's CPU, and may its trainer be forked
        (``gpus``: the GPUs it would get; none)?"""
        return cls.here() and not gpus and preset.train.device in ("cpu", "auto")

    def start(self, run: R.RunDir, args: list[str], env: dict[str, str] | None = None) -> Forked | None:
        """Fork a trainer for ``run`` (``args`` as for ``python -m tuidl.core.train.trainer``);
        None if the server could not fork one (then start it cold)."""
        from tuidl.core.train import trainer

        process = self._context.Process(target=trainer.forked, args=(args, env), name=f"trainer {run.id}")
        try:
            process.start()
        except (OSError, EOFError) as err:
            print(f"tuidl: the trial fork server failed ({err}); starting the trainer cold", file=sys.stderr)
            return None
        return Forked(process)


def start(preset: P.Preset, runs_root=None, telemetry: bool = True, nproc: int = 1,
          allow_code: tuple[str, ...] = (), standby: Standby | None = None, env: dict[str, str] | None = None,
          status: dict | None = None, forks: TrialForks | None = None,
          resolved: P.Resolved | None = None) -> R.RunDir:
    """Validate, create the run directory (with the resolved preset) and start training,
    on ``nproc`` data-parallel processes of this machine (its GPUs, or the CPU). A
    ``standby`` trainer, if given and alive, trains a single-process run instead of a new
    process (it is used up either way); ``forks`` forks a single-process run's trainer from
    a warm server (a sweep's trials). ``env``: more environment for the trainer (a sweep
    or the queue gives each run its GPU, ``CUDA_VISIBLE_DEVICES``); ``status``: more fields
    for the run's status file (a sweep's trial: ``sweep``); ``resolved``: the preset's
    resolution the caller holds (the dashboard's: it is not resolved again)."""
    if resolved is None or resolved.preset is not preset:
        P.resolve(preset)
    P.check_code(preset, allow_code)
    D.check_world(preset.data.batch_size, nproc)
    run = R.create(R.runs_root(runs_root), P.run_name(preset), P.dumps(preset), status=status, preset=preset.name)
    if forks is not None and nproc == 1:
        seen = run.read_status()
        process = forks.start(run, _trainer_args(run, False, telemetry, allow_code), env)
        if process is not None:
            run.process = process
            _starting(run, process.pid, seen)
            return run
    if standby is not None:
        if nproc == 1 and standby.take(run, _trainer_args(run, False, telemetry, allow_code)):
            run.process = standby.proc
            return run
        standby.close()
    run.process = _spawn(run, resume=False, telemetry=telemetry, nproc=nproc, allow_code=allow_code, env=env)
    return run


def resume(run: R.RunDir, telemetry: bool = True, nproc: int = 1, allow_code: tuple[str, ...] = (),
           standby: Standby | None = None) -> R.RunDir:
    """Continue a stopped, interrupted or failed run from its last checkpoint (on any
    number of processes, whatever it ran on before). A ``standby`` trainer, if given and
    alive, trains a single-process resume (it is used up either way, once the run is
    found resumable). A remote run's copy is resumed on its own machine, through the link."""
    if run.is_live():
        raise RuntimeError(f"run {run.id} is still running")
    from tuidl.core.remote import mirror

    if mirror.is_copy(run):  # a remote run's copy: its machine resumes it (docs/remote.md)
        if not run.read_status().get("remote", {}).get("checkpoint"):
            raise RuntimeError(f"run {run.id} has no checkpoint on {mirror.host_of(run)} to resume from")
        mirror.request_relaunch(run)
        if standby is not None:
            standby.close()  # used up, as for any resume (its caller drops it)
        return run
    if not run.checkpoint("last").is_file():
        raise RuntimeError(f"run {run.id} has no checkpoint to resume from")
    if nproc > 1:
        D.check_world(P.load(run.preset_path).data.batch_size, nproc)
    if standby is not None:
        if nproc == 1 and standby.take(run, _trainer_args(run, True, telemetry, allow_code)):
            run.process = standby.proc
            return run
        standby.close()
    run.process = _spawn(run, resume=True, telemetry=telemetry, nproc=nproc, allow_code=allow_code)
    return run
