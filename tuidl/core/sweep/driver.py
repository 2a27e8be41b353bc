"""The sweep's loop: ask Optuna for a trial, start it as an ordinary run, follow its
events, report its metric at each epoch's end, prune it, tell Optuna how it ended.

A sweep's folder is ``RUNS/sweeps/ID/`` (:class:`~tuidl.core.sweep.sweepdir.SweepDir`).

Each trial is an ordinary run (``tuidl.core.run.launch.start``: its own directory and
trainer process, detached), whose status file and ``run_started`` event carry
``sweep: {id, study, trial, params}``. The driver reads the run's ``epoch`` events
(an :class:`~tuidl.core.run.events.EventTail`), reports the metric to its Optuna trial and,
when the pruner says so, sends the run a ``prune`` command (its control folder): the run
writes its last checkpoint and ends as ``pruned``.

Ending: SIGTERM, SIGINT or SIGHUP to the driver, or a ``stop`` file, stops it: it sends
``stop`` to its live trials, waits for them to checkpoint and end as ``stopped``, and
tells Optuna they failed (they can be resumed as runs; a search runs others in their
place next time). A driver killed outright (SIGKILL) leaves its trials running as runs;
their Optuna trials stop beating and the next worker marks them failed.

``python -m tuidl.core.sweep.driver SWEEP_DIR``: the driver as a process of its own,
started by :func:`start_detached` in its own session (``start_new_session``, stdin
closed, output to files), so it outlives the dashboard or the SSH link that started it.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tuidl.core.run import events as E
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.preset.schema import ConfigError
from tuidl.core.sweep import spec as S
from tuidl.core.sweep import study as ST
from tuidl.core.sweep.sweepdir import SweepDir
from tuidl.core.numbers import number

POLL_S = 0.1


def gpu_slots(preset: P.Preset, parallel: int) -> list[str]:
    """The GPU of each of ``parallel`` slots (``CUDA_VISIBLE_DEVICES`` values), or [] for
    trials on the CPU (or on the one device the preset names). ConfigError when there are
    fewer GPUs than slots."""
    device = preset.train.device
    if device not in ("auto", "cuda"):
        if parallel > 1 and device.startswith("cuda:"):
            raise ConfigError(f"--parallel {parallel}: train.device is {device!r}, one GPU for every trial; set "
                              "train.device to 'cuda' (or 'auto') to give each trial a GPU of its own")
        return []
    from tuidl.core.system.telemetry import cuda_gpu_count

    count = cuda_gpu_count()
    if count == 0:
        if device == "cuda":
            raise ConfigError("train.device is 'cuda' but no CUDA GPU is visible; use --set train.device=cpu")
        return []
    if parallel > count:
        raise ConfigError(f"--parallel {parallel}: one GPU per trial, but only {count} CUDA GPU(s) are visible; "
                          f"use --parallel {count}, or --set train.device=cpu for processes on the CPU")
    return visible_gpus(count)[:parallel]


def visible_gpus(count: int) -> list[str]:
    """The names of the ``count`` GPUs torch sees, as ``CUDA_VISIBLE_DEVICES`` gives them
    to a child process (the parent's own list, if it has one)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    names = [v.strip() for v in visible.split(",")] if visible else [str(i) for i in range(count)]
    return names[:count]


@dataclass
class Active:
    """A trial in progress: its Optuna trial, its run, what its events said so far."""

    trial: Any
    params: dict
    run: R.RunDir
    slot: int
    tail: E.EventTail
    values: dict[int, float] = field(default_factory=dict)  # epoch -> metric
    pruning: bool = False
    stopping: bool = False
    stop_sent: float = 0.0


Listener = Callable[[dict], None]


class Driver:
    """One worker of a sweep: ``parallel`` trials at a time until the study has its
    trials (or the sweep is stopped)."""

    def __init__(self, sweep: SweepDir, parallel: int | None = None, listener: Listener | None = None,
                 telemetry: bool = False):

        self.sweep = sweep
        self.spec = sweep.spec
        self.parallel = parallel or self.spec.parallel
        self.preset = sweep.preset()
        self.listener = listener
        self.telemetry = telemetry
        self.gpus = gpu_slots(self.preset, self.parallel)
        from tuidl.core.run import launch

        # trials on the CPU are forked from a warm server: seconds of imports saved per trial
        self.forks = launch.TrialForks() if launch.TrialForks.suit(self.preset, self.gpus) else None
        with sweep.lock():  # (two workers making one SQLite study at once would race on its tables)
            self.study = ST.open_study(self.spec, sweep.storage_url, sweep.study_name, sweep.data.get("seed", 0))
        self.active: list[Active] = []
        self.stop = threading.Event()
        self.stop_reason = ""
        self.started = time.time()
        self.exhausted = False  # the study has all its trials: no more to start
        self.idle = False  # nothing to start now, but another worker's trials may still fail
        self.last_fill = 0.0
        self.worker_path = sweep.path / "workers" / f"{socket.gethostname()}-{os.getpid()}.json"
        self.writer: E.EventWriter | None = None
        self.last_beat = 0.0

    # -- events ------------------------------------------------------------------------
    def emit(self, type_: str, **fields: Any) -> dict:
        ev = E.event(type_, sweep=self.sweep.id, **fields)
        if self.writer is not None:
            self.writer.write(ev)
        if self.listener is not None:
            self.listener(ev)
        return ev

    def _worker(self, status: str, **more: Any) -> None:
        R.write_json(self.worker_path, {"pid": os.getpid(), "host": socket.gethostname(), "status": status,
                                        "started": self.started, "parallel": self.parallel,
                                        "updated": time.time(), **more})

    # -- signals -------------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.stop.set()

    @contextlib.contextmanager
    def signals(self):
        old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                old[sig] = signal.signal(sig, lambda s, f: self.request_stop(f"{signal.Signals(s).name} received"))
        try:
            yield
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)

    # -- the loop ------------------------------------------------------------------------
    def run(self, importances: bool = True):
        """Drive the sweep to its end; its :class:`~.study.SweepView` (without the
        parameter importances if not ``importances``: a detached driver shows no summary,
        and fitting them takes seconds)."""

        self.writer = E.EventWriter(self.sweep.events_path)
        self._worker("running")
        self.emit("sweep_started", study=self.sweep.study_name, mode=self.spec.mode, metric=self.spec.metric,
                  direction=self.spec.direction, planned=self.spec.size, parallel=self.parallel,
                  pid=os.getpid(), host=socket.gethostname(), gpus=self.gpus or None)
        try:
            with self.signals():
                while True:
                    if not self.stop.is_set() and self.sweep.stop_requested(self.started):
                        self.request_stop("stop file")
                    if self.stop.is_set():
                        self._stop_trials()
                    else:
                        self._fill()
                    self._poll()
                    if not self.active and (self.exhausted or self.stop.is_set()):
                        break
                    time.sleep(POLL_S)
        finally:
            for a in list(self.active):  # an error in the loop itself: leave no trial running
                self._send(a, "stop")
                self._tell(a, "FAIL", "the sweep's driver ended")
            stopped = self.stop.is_set()
            result = ST.view(self.study, self.spec, self.sweep.id, self.sweep.runs_root,
                             with_importances=importances)
            self.emit("sweep_ended", stopped=stopped, reason=self.stop_reason, counts=result.counts)
            self._worker("stopped" if stopped else "ended", ended=time.time())
            self.writer.close()
        return result

    def _room(self) -> tuple[bool, bool]:
        """``(more, over)`` from the study (every worker's trials), under the lock: ``more``,
        a new trial may start; ``over``, the sweep has all its trials. Neither while
        another worker's trial runs that may still fail (then one takes its place)."""
        import optuna

        S_ = optuna.trial.TrialState
        trials = self.study.get_trials(deepcopy=False)
        mine = {a.trial.number for a in self.active}
        others_running = any(t.state == S_.RUNNING and t.number not in mine for t in trials)
        if self.spec.mode == "grid":  # the combinations wait in the study
            waiting = any(t.state == S_.WAITING for t in trials)
            return waiting, not waiting and not others_running
        finished = sum(t.state in (S_.COMPLETE, S_.PRUNED) for t in trials)
        counted = finished + sum(t.state in (S_.RUNNING, S_.WAITING) for t in trials)
        failed = sum(t.state == S_.FAIL for t in trials)
        over = finished >= self.spec.size or failed >= self.spec.size  # (so many failures: give up)
        return counted < self.spec.size and not over, over or (counted >= self.spec.size and not others_running)

    def _fill(self) -> None:
        now = time.monotonic()
        if len(self.active) >= self.parallel or (self.idle and now - self.last_fill < 1.0):
            return
        self.last_fill = now
        while len(self.active) < self.parallel and not self.exhausted:
            with self.sweep.lock():
                ST.fail_stale(self.study)
                more, over = self._room()
                if not more:
                    self.exhausted = over
                    self.idle = not over  # others' trials run: look again now and then
                    return
                trial, params = ST.ask(self.study, self.spec)
                ST.beat(self.study, trial)
            self.idle = False
            slot = min(set(range(self.parallel)) - {a.slot for a in self.active})
            self._launch(trial, params, slot)

    def _launch(self, trial, params: dict, slot: int) -> None:
        from tuidl.core.run import launch

        trial.set_user_attr("host", socket.gethostname())
        tag = {"id": self.sweep.id, "study": self.sweep.study_name, "trial": trial.number, "params": params}
        env = {"CUDA_VISIBLE_DEVICES": self.gpus[slot]} if self.gpus else None
        try:
            preset = S.trial_preset(self.preset, params)
            run = launch.start(preset, self.sweep.runs_root, telemetry=self.telemetry, env=env,
                               status={"sweep": tag}, allow_code=tuple(self.sweep.data.get("allow_code") or ()),
                               forks=self.forks)
        except (ConfigError, OSError, RuntimeError) as e:
            self.study.tell(trial, state=ST.trial_state("FAIL"))
            self.emit("trial_ended", trial=trial.number, params=params, state="FAIL", run_status=None, value=None,
                      run_id=None, message=str(e).splitlines()[0])
            return
        trial.set_user_attr("run_id", run.id)
        self.active.append(Active(trial, params, run, slot, E.EventTail(run.events_path)))
        self.emit("trial_started", trial=trial.number, params=params, run_id=run.id,
                  gpu=self.gpus[slot] if self.gpus else None)

    def _poll(self) -> None:

        now = time.monotonic()
        if now - self.last_beat >= ST.heartbeat_s() / 2:
            self.last_beat = now
            for a in self.active:
                ST.beat(self.study, a.trial)
        for a in list(self.active):
            self._read(a)
            if a.run.process is not None:
                a.run.process.poll()  # reap it
            st = a.run.status()
            state = st.get("status")
            if state in R.LIVE or state == "created":
                continue
            self._read(a)  # the last epochs, written before the status
            self._end(a, str(state), str(st.get("message") or ""))

    def _read(self, a: Active) -> None:
        for ev in a.tail.poll():
            if ev.get("type") != E.EPOCH or not isinstance(ev.get("val"), dict):
                continue
            try:
                value = number(ev["val"].get(self.spec.metric[len("val_"):]))
            except (TypeError, ValueError):
                continue
            epoch = int(ev.get("epoch") or 0)
            if not math.isfinite(value) or epoch in a.values:
                continue
            a.values[epoch] = value
            a.trial.report(value, epoch)
            if not a.pruning and not a.stopping and a.trial.should_prune():
                a.pruning = True
                self._send(a, "prune")

    def _send(self, a: Active, command: str) -> None:
        try:
            a.run.send(command)
        except OSError:
            pass

    def _best(self, a: Active) -> float | None:
        if not a.values:
            return None
        return (min if self.spec.direction == "minimize" else max)(a.values.values())

    def _end(self, a: Active, status: str, message: str) -> None:
        """Tell Optuna how the trial's run ended: completed → its best epoch's metric;
        pruned → PRUNED; anything else (stopped, failed, diverged, interrupted) → FAIL."""
        value = self._best(a)
        if status == "completed" and value is not None:
            self._tell(a, "COMPLETE", message, status, value)
        elif status == "pruned":
            self._tell(a, "PRUNED", message, status)
        else:
            self._tell(a, "FAIL", message, status)

    def _tell(self, a: Active, state: str, message: str, run_status: str | None = None,
              value: float | None = None) -> None:
        if a in self.active:
            self.active.remove(a)
        a.trial.set_user_attr("run_status", run_status)
        if state == "COMPLETE":
            self.study.tell(a.trial, value)
        else:
            self.study.tell(a.trial, state=ST.trial_state(state))
        self.emit("trial_ended", trial=a.trial.number, params=a.params, state=state, run_status=run_status,
                  value=value if value is not None else (a.values[max(a.values)] if a.values else None),
                  epochs=len(a.values), run_id=a.run.id, message=message)

    def _stop_trials(self) -> None:
        """Stopping: ``stop`` to each live trial once; one that has not ended a minute
        later is failed in the study anyway (its run may still end on its own)."""
        for a in list(self.active):
            if not a.stopping:
                a.stopping, a.stop_sent = True, time.monotonic()
                self._send(a, "stop")
            elif time.monotonic() - a.stop_sent > 60:
                self._tell(a, "FAIL", "did not stop within 60 s", a.run.status().get("status"))


def start_detached(sweep: SweepDir, parallel: int | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The driver as a process of its own session (like a trainer): it outlives the
    terminal, the SSH link or the dashboard that started it. ``env``: more environment
    (the queue gives a sweep its GPUs, ``CUDA_VISIBLE_DEVICES``)."""
    cmd = [sys.executable, "-m", "tuidl.core.sweep.driver", str(sweep.path)]
    if parallel:
        cmd += ["--parallel", str(parallel)]
    with open(sweep.path / "driver.out", "ab") as out, open(sweep.path / "driver.err", "ab") as err:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
                                close_fds=True, cwd=os.getcwd(), env={**os.environ, **env} if env else None)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tuidl.core.sweep.driver")
    parser.add_argument("sweep_dir")
    parser.add_argument("--parallel", type=int)
    args = parser.parse_args(argv)
    path = Path(args.sweep_dir)
    try:
        sweep = SweepDir.open(path.parent.parent, path.name)
        from tuidl.core.sweep.text import trial_line

        driver = Driver(sweep, args.parallel, listener=lambda ev: print(trial_line(ev), flush=True)
                        if ev["type"] == "trial_ended" else None)
        driver.run(importances=False)  # (nobody reads its summary: tuidl sweep --show computes them)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
