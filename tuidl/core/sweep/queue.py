"""The queue: runs and sweeps that wait for a free GPU (or CPU slot) and start in order.

It is a file, ``RUNS/queue.json`` (the entries, oldest first), changed only under an
exclusive ``fcntl`` lock on ``RUNS/queue.lock``: whoever holds the lock reads the file,
changes it and writes it back (atomically) before letting go, so two processes never
start the same entry. It survives the end of the user's session: any ``tuidl queue``
command, or a worker, picks it up.

* ``add``: a run's resolved preset (checked when added) or a sweep made ready
  (``tuidl sweep ... --queue``: its folder and study exist, its driver does not yet);
  then a worker is started if none runs (:func:`ensure_worker`).
* The worker (:func:`work`; ``tuidl queue work``, or ``python -m tuidl.core.sweep.queue``
  started detached by ``add``) starts the oldest waiting entry as soon as it has the slots
  it needs: a run takes one, a sweep ``parallel``. Slots are the GPUs (each run or trial
  gets its own through ``CUDA_VISIBLE_DEVICES``) or, without GPUs, ``--slots`` CPU
  processes (default 1). Entries start strictly in order: a big sweep at the head waits,
  and what was added after it waits too. The queue counts only what it started itself.
  The worker ends when nothing waits and nothing it started is still running.
* ``cancel``: a waiting entry is dropped; a started one is stopped (its run checkpoints).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.preset.schema import ConfigError

POLL_S = 0.5


@dataclass
class Entry:
    id: str  # q1, q2, ...
    kind: str  # "run" or "sweep"
    name: str  # the preset's name, or the sweep's id
    status: str = "waiting"  # waiting, started, done, cancelled
    added: float = field(default_factory=time.time)
    preset: str = ""  # a run: its resolved preset (TOML)
    slots: int = 1  # what it needs at once: 1 for a run, a sweep's parallel
    started: float | None = None
    ended: float | None = None
    run_id: str | None = None
    pid: int | None = None  # a sweep: its driver
    held: list[int] = field(default_factory=list)  # the slots it holds while started
    message: str = ""


class Queue:
    def __init__(self, runs_root=None):
        self.root = R.runs_root(runs_root)
        self.path = self.root / "queue.json"
        self.forks = None  # a worker on the CPU forks its runs' trainers from a warm server (launch.TrialForks)

    @contextlib.contextmanager
    def locked(self):
        """The entries, under the lock; what the block leaves in the list is written back."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "queue.lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                data = self._read()
                yield data  # (an error inside: nothing is written)
                data["entries"] = [asdict(e) if isinstance(e, Entry) else e for e in data["entries"]]
                R.write_json(self.path, data)
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"next": 1, "entries": [], "worker": None}
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read the queue {self.path}: {e}") from None
        data["entries"] = [Entry(**e) for e in data.get("entries", [])]
        return data

    def entries(self) -> list[Entry]:
        return self._read()["entries"]

    def add(self, kind: str, name: str, preset: str = "", slots: int = 1) -> Entry:
        with self.locked() as data:
            entry = Entry(f"q{data['next']}", kind, name, preset=preset, slots=slots)
            data["next"] += 1
            data["entries"].append(entry)
        return entry

    def cancel(self, entry_id: str) -> Entry:
        from tuidl.core.sweep.driver import SweepDir

        with self.locked() as data:
            entries = data["entries"]
            found = next((e for e in entries if e.id == entry_id), None)
            if found is None or found.status in ("done", "cancelled"):
                raise ConfigError(f"no waiting or started entry {entry_id!r} in the queue ({self.path})"
                                  if found is None else f"queue entry {entry_id} is already {found.status}")
            if found.status == "started":  # stop what it started: a run checkpoints, a sweep stops its trials
                if found.kind == "run" and found.run_id:
                    R.RunDir(self.root / found.run_id).send("stop")
                elif found.kind == "sweep":
                    SweepDir.open(self.root, found.name).request_stop()
            found.status, found.ended = "cancelled", time.time()
        return found

    # -- the worker ------------------------------------------------------------------
    def running(self, e: Entry) -> bool:
        if e.kind == "run":
            st = R.RunDir(self.root / str(e.run_id)).status().get("status")
            return st in R.LIVE or st == "created"
        return bool(e.pid) and R.pid_alive(int(e.pid))

    def step(self, slots: list[str]) -> tuple[int, int]:
        """Once, under the lock: close what ended, start what fits, in order. ``(waiting,
        running)`` afterwards."""
        with self.locked() as data:
            entries: list[Entry] = data["entries"]
            for e in entries:
                if e.status == "started" and not self.running(e):
                    e.status, e.ended, e.held = "done", time.time(), []
            held = {s for e in entries if e.status == "started" for s in e.held}
            for e in entries:
                if e.status != "waiting":
                    continue
                free = [i for i in range(len(slots)) if i not in held]
                if e.slots > len(slots):
                    e.status, e.message = "cancelled", f"needs {e.slots} slots; the worker has {len(slots)}"
                    continue
                if e.slots > len(free):
                    break  # in order: what comes after waits too
                e.held = free[:e.slots]
                held.update(e.held)
                self._start(e, [slots[i] for i in e.held])
            return (sum(e.status == "waiting" for e in entries), sum(e.status == "started" for e in entries))

    def _start(self, e: Entry, where: list[str]) -> None:
        from tuidl.core.run import launch
        from tuidl.core.sweep.driver import SweepDir, start_detached

        gpus = [w for w in where if w != "cpu"]
        env = {"CUDA_VISIBLE_DEVICES": ",".join(gpus)} if gpus else None
        e.started = time.time()
        try:
            if e.kind == "run":
                preset = P.load_text(e.preset, f"queue {e.id}")
                forks = self.forks if launch.TrialForks.suit(preset, gpus) else None
                e.run_id = launch.start(preset, self.root, telemetry=False, env=env, status={"queue": e.id},
                                        forks=forks).id
            else:
                e.pid = start_detached(SweepDir.open(self.root, e.name), env=env).pid
            e.status = "started"
        except (ConfigError, OSError, RuntimeError) as err:
            e.status, e.ended, e.held, e.message = "done", time.time(), [], f"could not start: {err}"


def slots_here(count: int | None = None) -> list[str]:
    """The worker's slots: this machine's GPUs (their CUDA_VISIBLE_DEVICES names), else
    ``count`` CPU slots (default 1). ``count`` with GPUs: the first ``count`` GPUs."""
    from tuidl.core.system.telemetry import cuda_gpu_count

    n = cuda_gpu_count()
    if n:
        from tuidl.core.sweep.driver import visible_gpus

        return visible_gpus(n)[:count or n]
    return ["cpu"] * (count or 1)


def work(runs_root=None, slots: int | None = None, say=print) -> int:
    """Start the queue's entries as slots come free, until nothing waits and nothing
    started runs. Marks itself the queue's worker while it runs."""
    from tuidl.core.run import launch

    q = Queue(runs_root)
    where = slots_here(slots)
    if "cpu" in where and launch.TrialForks.here():
        q.forks = launch.TrialForks()  # (its first fork waits for it to warm up, a few seconds)
    with q.locked() as data:
        w = data.get("worker") or {}
        if not R.alive_here(w) or w.get("pid") == os.getpid():  # (another worker running too is safe: the lock shares the slots)
            data["worker"] = {"pid": os.getpid(), "host": socket.gethostname(), "slots": where, "since": time.time()}
    say(f"queue worker: {len(where)} slot(s) ({', '.join('GPU ' + w if w != 'cpu' else w for w in where)})")
    try:
        while True:
            waiting, running = q.step(where)
            if not waiting and not running:
                break
            time.sleep(POLL_S)
    finally:
        with q.locked() as data:
            if (data.get("worker") or {}).get("pid") == os.getpid():
                data["worker"] = None
    say("queue worker: nothing waits; done")
    return 0


def worker_alive(runs_root=None) -> dict | None:
    w = Queue(runs_root)._read().get("worker")
    return w if R.alive_here(w) else None


def ensure_worker(runs_root=None, slots: int | None = None) -> int | None:
    """Start a detached worker unless one runs; its pid (None when one ran already)."""
    if worker_alive(runs_root):
        return None
    root = R.runs_root(runs_root)
    root.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "tuidl.core.sweep.queue", str(root)] + (["--slots", str(slots)] if slots else [])
    q = Queue(root)
    with q.locked() as data:  # checked and started under the lock: two `queue add` start one worker
        if R.alive_here(data.get("worker")):
            return None
        with open(root / "queue-worker.log", "ab") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                    close_fds=True, cwd=os.getcwd())
        data["worker"] = {"pid": proc.pid, "host": socket.gethostname(), "slots": [], "since": time.time()}
    return proc.pid


def add_run(runs_root, preset: P.Preset) -> Entry:
    P.resolve(preset)
    return Queue(runs_root).add("run", preset.name, preset=P.dumps(preset))


def add_sweep(runs_root, sweep_id: str, parallel: int) -> Entry:
    return Queue(runs_root).add("sweep", sweep_id, slots=parallel)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tuidl.core.sweep.queue")
    parser.add_argument("runs_root")
    parser.add_argument("--slots", type=int)
    args = parser.parse_args(argv)
    return work(args.runs_root, args.slots, say=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())

