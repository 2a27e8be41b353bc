"""``tuidl run -- COMMAND ...``: any command as a detached run (docs/logging.md).

:func:`start` creates a logged run directory (``config.json``, ``source: "command"``) and
starts the supervisor, ``python -m tuidl.core.run.command RUN_DIR -- COMMAND ...``, in its own
session with stdin closed, as ``launch`` starts a trainer: a closing terminal or a dropped
SSH link does not end it. The supervisor (:func:`supervise`):

* starts the command in a process group of its own, stdin closed, stdout and stderr into
  the run's ``output.log`` (``PYTHONUNBUFFERED=1`` unless set, so Python's prints land as
  they are made), with ``TUIDL_RUN_DIR`` set: ``tuidl.init()`` in the command joins this
  run instead of making one (``tuidl.sdk``);
* writes ``run_started`` and ``status.json`` (``pid``: the supervisor's; the run dies
  with it), and every ``TELEMETRY_S`` a ``telemetry`` event with the command's process
  tree (CPU, RSS summed) and its GPUs where NVML is present;
* obeys the control folder while no script of the command has joined: ``stop`` sends
  SIGTERM to the command's process group (SIGKILL ``GRACE_S`` later), ``pause`` /
  ``resume`` send SIGSTOP / SIGCONT. Once a script joined (``script_pid`` in the status),
  the script obeys the folder (``run.should_stop``, ``run.wait_if_paused()``); a stop it
  saw and did not end with within ``STOP_WAIT_S`` gets the SIGTERM too;
* ends the run with the command: ``completed`` for exit status 0, ``stopped`` after a
  stop, else ``failed`` with the joined script's exception line or the log's last line.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tuidl.core.run import events as E
from tuidl.core.run import rundir as R
from tuidl.core.run.columns_file import CACHE_MIN

POLL_S = 0.25
TELEMETRY_S = 10.0
GRACE_S = 30.0  # SIGTERM, then SIGKILL this much later
STOP_WAIT_S = 30.0  # a joined script that saw should_stop gets this long before SIGTERM
ENV_RUN = "TUIDL_RUN_DIR"  # the same name as tuidl.sdk.ENV_RUN (kept light: sdk imports nothing of core)


def default_name(command: list[str]) -> str:
    """``python train.py`` → ``train``; ``./job.sh`` → ``job``; ``torchrun ... x.py`` → ``x``."""
    for arg in command[1:]:
        if arg.endswith(".py"):
            return Path(arg).stem
    return Path(command[0]).stem or "command"


def start(command: list[str], name: str | None = None, project: str | None = None,
          runs_root=None, cwd: str | os.PathLike | None = None) -> R.RunDir:
    """Create the run and start its supervisor (which starts the command, in ``cwd``:
    default the current directory, recorded so that :func:`again` can run it there again);
    returns at once."""
    if not command:
        raise ValueError("no command to run")
    cwd = str(Path(cwd if cwd is not None else os.getcwd()).resolve())
    if not Path(cwd).is_dir():
        raise ValueError(f"working directory not found: {cwd}")
    name = name or default_name(command)
    run = R.create_logged(R.runs_root(runs_root), name, {},
                          status={"source": "command", "project": project, "command": list(command), "cwd": cwd})
    out = open(run.output_path, "ab")
    try:
        proc = subprocess.Popen([sys.executable, "-m", "tuidl.core.run.command", str(run.path), "--", *command],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
                                close_fds=True, cwd=cwd)
    finally:
        out.close()
    run.write_status(status="starting", pid=proc.pid, host=socket.gethostname(), message="", launched=time.time())
    run.process = proc
    return run


def again_of(run: R.RunDir) -> tuple[list[str], str, str, str | None]:
    """What :func:`again` would start for ``run``: ``(command, cwd, name, project)``.

    A ``tuidl run`` run: its command, in the directory it ran in. A script that logged
    through ``tuidl.init`` by itself: its interpreter and ``sys.argv``, as its
    ``run_started`` recorded them. ValueError (one line naming the run) where the run
    does not say enough: a preset run (re-run its preset instead), or a run logged by a
    tuidl that did not record its working directory."""
    from tuidl.core.remote import mirror

    if mirror.is_copy(run):  # tuidl --remote: its command and folder are another machine's
        raise ValueError(f"run {run.id} ran on {mirror.host_of(run)}: run it again there "
                         f"(tuidl run --again {run.id})")
    status = run.status()
    name, project = str(status.get("name") or run.id), status.get("project")
    command, cwd = status.get("command"), status.get("cwd")
    if not command:
        started = _first_started(run)
        argv, exe = started.get("argv"), started.get("executable")
        if isinstance(argv, list) and argv and exe:
            command, cwd = [str(exe), *map(str, argv)], started.get("cwd")
    if not run.logged:
        raise ValueError(f"run {run.id} was trained from a preset: re-run its preset (tuidl train RUN/preset.toml)")
    if not isinstance(command, list) or not command:
        raise ValueError(f"run {run.id} does not say what command or script made it (a run logged by another "
                         "program, or imported): nothing to run again")
    if not cwd:
        raise ValueError(f"run {run.id} does not say which directory it ran in (made by an older tuidl): "
                         f"run it again by hand: {' '.join(map(str, command))}")
    if not Path(cwd).is_dir():
        raise ValueError(f"run {run.id} ran in {cwd}, which is gone: nothing to run again there")
    return [str(c) for c in command], str(cwd), name, project if isinstance(project, str) else None


def again(run: R.RunDir, runs_root=None) -> R.RunDir:
    """Run ``run``'s command (or logged script) again as a new detached run, in the
    directory it ran in, under the same name and project (see :func:`again_of`)."""
    command, cwd, name, project = again_of(run)
    return start(command, name=name, project=project, runs_root=runs_root, cwd=cwd)


def _first_started(run: R.RunDir) -> dict:
    """The run's first ``run_started`` event (among its first events: only the file's
    start is read)."""
    try:
        events = E.EventTail(run.events_path).poll(64 << 10)
    except OSError:
        return {}
    return next((ev for ev in events if isinstance(ev, dict) and ev.get("type") == E.RUN_STARTED), {})


class Supervisor:
    def __init__(self, run: R.RunDir, command: list[str]):
        self.run, self.command = run, command
        self.writer = E.EventWriter(run.events_path)
        self.child: subprocess.Popen | None = None
        self.stop_asked = 0.0  # when a stop was asked (monotonic), 0: none
        self.termed = 0.0  # when SIGTERM went to the group
        self.killed = False
        self.paused_at = 0.0
        self.paused_s = 0.0
        self.sampler = None

    # -- control --------------------------------------------------------------------
    def _group(self, sig: int) -> None:
        try:
            os.killpg(self.child.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def request_stop(self, why: str) -> None:
        if not self.stop_asked:
            self.stop_asked = time.monotonic()
            self.writer.emit(E.CONTROL, action="stop_requested", reason=why)
        if not self.termed:
            self.termed = time.monotonic()
            self._group(signal.SIGTERM)
            self._group(signal.SIGCONT)  # a paused command must wake up to end

    def _on_signal(self, signum, frame) -> None:  # the supervisor itself was asked to stop
        self.request_stop(f"{signal.Signals(signum).name} received")

    def _obey(self, status: dict) -> None:
        if "script_pid" in status:  # the script obeys the control folder itself
            if status.get("stop_requested") and not self.stop_asked:
                self.stop_asked = time.monotonic()
            if self.paused_at:  # paused before it joined
                self._resume()
            return
        for command in self.run.take_commands():
            if command in ("stop", "prune"):
                self.request_stop("stop requested")
            elif command == "pause" and not self.paused_at:
                self._group(signal.SIGSTOP)
                self.paused_at = time.monotonic()
                self.run.write_status(status="paused")
                self.writer.emit(E.CONTROL, action="paused")
            elif command == "resume" and self.paused_at:
                self._resume()
            elif command == "checkpoint":
                self.writer.emit(E.NOTE, level="warning", kind="checkpoint",
                                 message="the command does not use tuidl.init(on_checkpoint=...): nothing to write")

    def _resume(self) -> None:
        self._group(signal.SIGCONT)
        self.paused_s += time.monotonic() - self.paused_at
        self.paused_at = 0.0
        self.run.write_status(status="running")
        self.writer.emit(E.CONTROL, action="resumed")

    # -- telemetry --------------------------------------------------------------------
    def _sample(self, emit: bool = True) -> None:
        """One ``telemetry`` event for the command's process tree (``emit=False``: only
        start the sampler, whose first CPU reading has no window yet)."""
        from tuidl import sdk

        try:
            if self.sampler is None:
                from tuidl.core.system import telemetry as T

                self.sampler = T.Sampler(T.NvmlSource())
                self.sampler.sample(self.child.pid)
            if not emit:
                return
            import psutil

            try:
                pids = [p.pid for p in psutil.Process(self.child.pid).children(recursive=True)]
            except psutil.Error:
                pids = []
            self.writer.emit(E.TELEMETRY, **sdk.telemetry_payload(self.sampler, self.child.pid, pids))
        except Exception as err:  # noqa: BLE001 - figures are a nicety; the run goes on
            print(f"tuidl run: no process figures: {err}", file=sys.stderr, flush=True)
            self.sampler = False

    # -- the run ----------------------------------------------------------------------
    def run_command(self) -> int:
        run, command = self.run, self.command
        st = run.read_status()
        env = {**os.environ, ENV_RUN: str(run.path)}
        env.setdefault("PYTHONUNBUFFERED", "1")
        started = time.time()
        run_started = dict(schema=E.SCHEMA_VERSION, source="command", run_id=run.id, name=st.get("name", run.id),
                           project=st.get("project"), config={}, host=socket.gethostname(), argv=list(command),
                           command=list(command))
        # the status before the command starts: a script that joins adds to it, never at the same time
        run.write_status(status="running", pid=os.getpid(), host=socket.gethostname(), started=started, message="")
        out = open(run.output_path, "ab")
        try:
            # a process group of its own (Popen's process_group=0 needs Python 3.11; tuidl runs on 3.10)
            self.child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                          preexec_fn=os.setpgrp, env=env, close_fds=True)
        except OSError as err:
            message = f"cannot start {command[0]!r}: {err.strerror or err}"
            self.writer.emit(E.RUN_STARTED, pid=os.getpid(), **run_started)
            return self._end("failed", message, started, 127)
        finally:
            out.close()
        self.writer.emit(E.RUN_STARTED, sync=True, pid=self.child.pid, **run_started)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        self._sample(emit=False)
        next_sample = time.monotonic() + 1.0  # a first figure soon, then every TELEMETRY_S
        while True:
            try:
                rc = self.child.wait(POLL_S)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            self._obey(run.read_status())
            if self.stop_asked and not self.termed and now - self.stop_asked >= STOP_WAIT_S:
                self.request_stop("stop requested")
            if self.termed and not self.killed and now - self.termed >= GRACE_S:
                self.killed = True
                self._group(signal.SIGKILL)
            if self.sampler is not False and now >= next_sample:
                self._sample()
                next_sample = now + TELEMETRY_S
        status, message = self._outcome(rc, run.read_status())
        return self._end(status, message, started, rc)

    def _outcome(self, rc: int, st: dict) -> tuple[str, str]:
        script = st.get("script_status")
        if script and not (script == "completed" and rc != 0):
            return script, st.get("script_message", "")
        if self.stop_asked or st.get("stop_requested"):
            return "stopped", "stop requested" + (f" (exit status {rc})" if rc > 0 else "")
        if rc == 0:
            return "completed", "exit status 0"
        if rc < 0:
            return "failed", f"killed by {signal.Signals(-rc).name}"
        last = last_line(self.run.output_path)
        return "failed", f"{last} (exit status {rc})" if last else f"exit status {rc}"

    def _end(self, status: str, message: str, started: float, rc: int) -> int:
        if self.paused_at:
            self.paused_s += time.monotonic() - self.paused_at
        duration = round(max(0.0, time.time() - started - self.paused_s), 3)
        self.writer.emit(E.RUN_ENDED, sync=True, status=status, message=message, exit_code=rc, duration=duration)
        self.run.write_status(status=status, message=message, ended=time.time(), exit_code=rc, trained_s=duration)
        self.writer.close()
        if self.sampler:
            self.sampler.close()
        keep_columns(self.run)
        return rc if rc >= 0 else 128 - rc


def keep_columns(run: R.RunDir) -> None:
    """A big run's metrics kept as its columns cache once the run has ended (a script that
    joined this run left that to the run's end): its first opening reads no JSON. Small
    runs are passed over without importing numpy; a failure leaves only the cache out."""
    try:
        if run.events_path.stat().st_size < CACHE_MIN * 64:  # surely fewer than CACHE_MIN metrics events
            return
        from tuidl.core.run import columns

        columns.read(run.events_path, keep=True)
    except Exception:  # noqa: BLE001 - the run has ended as it did; the cache is only a speed-up
        pass


def last_line(path: Path, limit: int = 200) -> str:
    """The last non-empty line of a log (its end only is read)."""
    lines = R.tail_lines(path, 1)
    return lines[0].strip()[:limit] if lines else ""


def supervise(run_path: str, command: list[str]) -> int:
    return Supervisor(R.RunDir(run_path), command).run_command()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuidl.core.run.command")
    parser.add_argument("run_dir")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return supervise(args.run_dir, command)


if __name__ == "__main__":
    sys.exit(main())
