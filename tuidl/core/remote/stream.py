"""``tuidl stream``: the remote side of ``tuidl --remote HOST`` (docs/remote.md).

Started by the dashboard as ``ssh HOST tuidl stream``: no daemon, no port. It writes JSON
lines on stdout (:mod:`tuidl.core.remote.protocol`): a hello, the runs of its runs root
with their status, the new bytes of each run's ``events.jsonl`` from the offset the
client already has, and this machine's telemetry; it reads the client's commands on
stdin. It ends when stdin closes (the link dropped, the dashboard quit) or stdout breaks.

Only what the client lacks crosses the link: each run's events from the client's byte
offset on, whole lines only (a line still being written waits for its end)."""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from typing import Any, BinaryIO, Callable

from tuidl.core.remote import protocol as W
from tuidl.core.run import rundir as R

CHUNK = 1 << 20  # event bytes per message at most: one big history does not hold up the live runs
BUDGET = 4 << 20  # history bytes per round at most: the live runs and the commands come between
FILES = ("preset.toml", "config.json")


class _Run:
    __slots__ = ("run", "offset", "size", "stamp", "sent", "hot_until")

    def __init__(self, run: R.RunDir, offset: int) -> None:
        self.run = run
        self.offset = offset  # the bytes of its events file the client has
        self.size = -1  # the file's size at the last look (-1: not looked at yet)
        self.stamp: tuple | None = None  # the status file's (size, mtime), and a checkpoint's being, when last read
        self.sent: dict[str, Any] | None = None  # the last run message's fields
        self.hot_until = 0.0  # polled every tick until then (it grew lately, or it is live)


def _stamp(path: os.PathLike) -> tuple[int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (0, 0)
    return (info.st_size, info.st_mtime_ns)


class Stream:
    """One client's stream. :meth:`step` does one round of work; :meth:`serve` loops."""

    def __init__(self, root: os.PathLike | str, out: BinaryIO, *, tick: float = 0.2, list_every: float = 1.0,
                 telemetry_every: float | None = 2.0, sampler_factory: Callable[[], Any] | None = None) -> None:
        self.root = R.runs_root(root) if root else R.runs_root()
        self.out = out
        self.tick = tick
        self.list_every = list_every
        self.telemetry_every = telemetry_every
        self.sampler_factory = sampler_factory
        self._sampler: Any = None
        self.runs: dict[str, _Run] = {}
        self.client_offsets: dict[str, int] = {}
        self._listed_at = 0.0
        self._telemetry_at = 0.0
        self._ids: list[str] | None = None

    # -- output ------------------------------------------------------------------------
    def send(self, msg: dict[str, Any]) -> None:
        self.out.write(W.encode(msg))

    def flush(self) -> None:
        self.out.flush()

    # -- runs ----------------------------------------------------------------------------
    def _run_message(self, st: _Run, with_files: bool) -> dict[str, Any] | None:
        status = st.run.status()
        fields = {"status": status, "checkpoint": st.run.checkpoint("last").is_file()}
        if fields == st.sent and not with_files:
            return None
        st.sent = fields
        msg = {"t": "run", "id": st.run.id, **fields}
        if with_files:
            files = {}
            for name in FILES:
                try:
                    files[name] = (st.run.path / name).read_text("utf-8", "surrogateescape")
                except OSError:
                    pass
            msg["files"] = files
        return msg

    def list_runs(self, now: float) -> None:
        """Read the runs root: new runs, changed statuses, runs deleted."""
        self._listed_at = now
        found = R.list_runs(self.root)
        ids = [r.id for r in found]
        for run in found:
            st = self.runs.get(run.id)
            new = st is None
            if new:
                st = self.runs[run.id] = _Run(run, self.client_offsets.get(run.id, 0))
            stamp = (*_stamp(run.status_path), run.checkpoint("last").is_file())
            live = (st.sent or {}).get("status", {}).get("status") in R.LIVE
            if new or stamp != st.stamp or live:  # a live one: its trainer may have died since
                st.stamp = stamp
                msg = self._run_message(st, with_files=new and run.id not in self.client_offsets)
                if msg is not None:
                    self.send(msg)
            size = _stamp(run.events_path)[0]
            live = (st.sent or {}).get("status", {}).get("status") in R.LIVE  # as just sent
            if live or (st.size >= 0 and size != st.size):  # live, or it grew since the last listing
                st.hot_until = now + 10
            st.size = size
        for gone in set(self.runs) - set(ids):
            del self.runs[gone]
        if ids != self._ids:
            self._ids = ids
            self.send({"t": "runs", "ids": ids})

    def _events(self, st: _Run) -> int:
        """Send what the run's events file has past the offset (whole lines, one chunk
        at most); the bytes sent."""
        path = st.run.events_path
        size = st.size = _stamp(path)[0]
        if size < st.offset:
            self.send({"t": "reset", "id": st.run.id})
            st.offset = 0
        if size <= st.offset:
            return 0
        try:
            with open(path, "rb") as f:
                f.seek(st.offset)
                data = f.read(min(size - st.offset, CHUNK))
        except OSError:
            return 0
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) >= CHUNK:  # a line longer than a chunk: send it as it is
                cut = len(data)
            else:
                return 0
        data = data[:cut]
        self.send({"t": "events", "id": st.run.id, "offset": st.offset, "end": st.offset + len(data),
                   "data": W.data_text(data)})
        st.offset += len(data)
        return len(data)

    def poll_events(self, now: float, budget: int = BUDGET) -> None:
        """New events: first those of the runs that are live or grew lately (looked at
        every round), then the history the client lacks, newest run first, about
        ``budget`` bytes a round (the rest at the next rounds)."""
        sent = 0
        for st in list(self.runs.values()):
            if st.hot_until >= now:
                sent += self._events(st)
        if sent >= budget:
            return
        behind = [st for st in self.runs.values() if st.hot_until < now and st.size > st.offset]
        behind.sort(key=lambda st: st.run.id, reverse=True)  # ids begin with the time the run was made
        for st in behind:
            while sent < budget and st.size > st.offset:
                got = self._events(st)
                if not got:
                    break
                sent += got
            if sent >= budget:
                return

    # -- telemetry -------------------------------------------------------------------------
    def telemetry(self, now: float) -> None:
        self._telemetry_at = now
        if self._sampler is None:
            from tuidl.core.system.telemetry import NvmlSource, Sampler

            self._sampler = self.sampler_factory() if self.sampler_factory else Sampler(NvmlSource())
        try:
            sample = self._sampler.sample(None)
        except Exception as err:  # noqa: BLE001 - a telemetry problem never ends the stream
            sample = {"gpus": [], "host": None, "proc": None, "problem": f"telemetry failed: {err}"}
        self.send({"t": "telemetry", "time": round(time.time(), 3), "sample": sample})

    # -- commands ----------------------------------------------------------------------------
    def _find(self, run_id: Any) -> R.RunDir:
        if not isinstance(run_id, str) or not R.ID_RE.match(run_id) or not R.is_run_dir(self.root / run_id):
            raise ValueError(f"no run {run_id!r} in {self.root}")
        return R.RunDir(self.root / run_id)

    def command(self, msg: dict[str, Any]) -> None:
        cmd = msg.get("cmd")
        if cmd == "follow":
            offsets = msg.get("offsets") or {}
            self.client_offsets = {str(k): int(v) for k, v in offsets.items() if isinstance(v, int) and v >= 0}
            return
        ack: dict[str, Any] = {"t": "ack", "cmd": cmd, "id": msg.get("id"), "seq": msg.get("seq"), "ok": True}
        try:
            if cmd == "control":
                command = msg.get("command")
                if command not in R.COMMANDS:
                    raise ValueError(f"unknown command {command!r}")
                self._find(msg.get("id")).send(command)
                ack["command"] = command
            elif cmd == "relaunch":
                from tuidl.core.run import launch

                launch.resume(self._find(msg.get("id")))
            else:
                raise ValueError(f"unknown request {cmd!r}")
        except Exception as err:  # noqa: BLE001 - the client is told, the stream goes on
            ack.update(ok=False, error=str(err) or type(err).__name__)
        self.send(ack)

    # -- the loop ---------------------------------------------------------------------------
    def step(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if now - self._listed_at >= self.list_every:
            self.list_runs(now)
        self.poll_events(now)
        if self.telemetry_every and now - self._telemetry_at >= self.telemetry_every:
            self.telemetry(now)
        self.flush()

    def serve(self, inp: BinaryIO) -> int:
        """Hello, wait for the client's ``follow``, then stream until stdin closes."""
        self.send(W.hello(str(self.root)))
        self.flush()
        commands: "queue.Queue[dict | None]" = queue.Queue()

        def read() -> None:
            for line in inp:
                msg = W.decode(line)
                if msg is not None:
                    commands.put(msg)
            commands.put(None)

        threading.Thread(target=read, name="stream stdin", daemon=True).start()
        first = commands.get()
        if first is None:
            return 0
        self.command(first)
        while True:
            self.step()
            deadline = time.monotonic() + self.tick
            while True:
                try:
                    msg = commands.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if msg is None:
                    return 0
                self.command(msg)
                self.flush()


def main(root: str | None = None) -> int:
    """``tuidl stream``: serve stdin/stdout until either closes."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing a library prints may land in the stream
    try:
        return Stream(root or "", out).serve(sys.stdin.buffer)
    except (BrokenPipeError, ConnectionResetError):
        return 0
    except KeyboardInterrupt:
        return 130
