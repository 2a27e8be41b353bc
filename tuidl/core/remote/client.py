"""The local side of ``tuidl --remote HOST``: one ssh link per host, kept up.

:class:`RemoteHost` runs the system's ``ssh HOST <remote tuidl> stream`` (so the user's
keys, agent, ``~/.ssh/config`` and ControlMaster all apply), takes what it streams into a
:class:`~tuidl.core.remote.mirror.Mirror` and carries the commands given to the copies
back to the host. A link that drops is started again (backoff 0.5 s, doubling to 30 s)
and asks for each run's events from the bytes the copy has: none lost, none twice.

:func:`hosts` is the set of hosts the dashboard was started with (the panes read it).
No UI here."""

from __future__ import annotations

import collections
import os
import subprocess
import threading
import time
from typing import Any

from tuidl.core.remote import protocol as W
from tuidl.core.remote.mirror import Gap, Mirror

DEFAULT_CMD = "tuidl"
SSH_OPTIONS = ("-T", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
               "-o", "ConnectTimeout=15")


def remote_cmd_default() -> str:
    """The remote tuidl: ``$TUIDL_REMOTE_CMD``, else ``tuidl`` (on the remote PATH)."""
    return os.environ.get("TUIDL_REMOTE_CMD") or DEFAULT_CMD


class RemoteHost:
    """One host's link (see the module docstring). ``state``: ``connecting``,
    ``connected``, ``reconnecting`` or ``failed`` (it answered, but not as a tuidl
    stream this tuidl can read; tried again now and then); ``line``: what to show."""

    def __init__(self, host: str, *, remote_cmd: str | None = None, mirror_root: os.PathLike | str | None = None,
                 ssh: str = "ssh", ssh_options: tuple[str, ...] = (), backoff: tuple[float, float] = (0.5, 30.0),
                 forward_every: float = 0.2) -> None:
        self.host = host
        self.remote_cmd = remote_cmd or remote_cmd_default()
        self.mirror = Mirror(host, mirror_root)
        self.ssh = ssh
        self.ssh_options = tuple(ssh_options)
        self.backoff = backoff
        self.forward_every = forward_every
        self.state = "connecting"
        self.line = f"{host}: connecting…"
        self.hello: dict[str, Any] | None = None
        self.telemetry: dict[str, Any] | None = None  # the last telemetry message
        self.acks: collections.deque = collections.deque(maxlen=50)
        self.problem: tuple[float, str] | None = None  # (when, what) the host refused a command lately
        self._pending: dict[int, dict[str, Any]] = {}  # commands sent and not acknowledged yet, by seq
        self._seq = 0
        self.connects = 0  # links that got as far as the hello
        self.connected_at: float | None = None
        self.dropped_at: float | None = None
        self.reconnect_times: list[float] = []  # seconds from a drop to the next hello
        self._stop = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._why = ""  # why the last link ended, when it was not just closed

    # -- life ------------------------------------------------------------------------------
    def argv(self) -> list[str]:
        return [self.ssh, *SSH_OPTIONS, *self.ssh_options, self.host, f"{self.remote_cmd} stream"]

    def start(self) -> "RemoteHost":
        self._thread = threading.Thread(target=self._loop, name=f"remote {self.host}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.drop()
        if self._thread is not None:
            self._thread.join(timeout)

    def drop(self) -> None:
        """End the current ssh process (the link starts again unless stopped)."""
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def _loop(self) -> None:
        delay = self.backoff[0]
        while not self._stop.is_set():
            got_hello = self._connect()
            if self._stop.is_set():
                break
            if got_hello:
                delay = self.backoff[0]
                self.dropped_at = time.monotonic()
                self.state = "reconnecting"
                why = f" ({self._why})" if self._why else ""
                self.line = f"{self.host}: link dropped{why}; reconnecting in {delay:.1f} s"
            elif self.state != "failed":  # ssh itself failed: its reason, and when it is tried again
                self.state = "reconnecting"
                self.line = f"{self.line.split(' (trying again')[0]} (trying again in {delay:.0f} s)"
            self._stop.wait(delay)
            delay = min(delay * 2, self.backoff[1])

    # -- one link ------------------------------------------------------------------------------
    def _connect(self) -> bool:
        try:
            proc = subprocess.Popen(self.argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True, close_fds=True)
        except OSError as err:
            self.state = "failed"
            self.line = f"{self.host}: cannot run {self.ssh}: {err.strerror or err}"
            return False
        with self._lock:
            self._proc = proc
        errors: collections.deque = collections.deque(maxlen=20)
        err_thread = threading.Thread(target=lambda: errors.extend(
            line.decode("utf-8", "replace").rstrip() for line in proc.stderr), daemon=True)
        err_thread.start()
        got_hello = False
        self._why = ""
        try:
            first = proc.stdout.readline()
            for _ in range(50):  # what a login script prints before it (a banner, an echo) is passed over
                if not first or W.decode(first) is not None:
                    break
                first = proc.stdout.readline()
            if not first:
                proc.wait()
                err_thread.join(2)
                self._failed(proc.returncode, [e for e in errors if e.strip()])
                return False
            problem = W.check_hello(W.decode(first), self.host)
            if problem:
                self.state, self.line = "failed", problem
                return False
            got_hello = True
            self.hello = W.decode(first)
            self.mirror.remote_host = str(self.hello.get("host") or "")
            self._write({"cmd": "follow", "offsets": self.mirror.offsets()})
            self.connects += 1
            self.connected_at = time.monotonic()
            if self.dropped_at is not None:
                self.reconnect_times.append(self.connected_at - self.dropped_at)
            self.state = "connected"
            self.line = f"{self.host}: connected (tuidl {self.hello.get('tuidl')}, {self.hello.get('host')})"
            forward = threading.Thread(target=self._forward, args=(proc,), daemon=True)
            forward.start()
            for line in proc.stdout:
                msg = W.decode(line)
                if msg is None:
                    continue
                kind = msg.get("t")
                if kind == "telemetry":
                    self.telemetry = msg
                elif kind == "ack":
                    self._acked(msg)
                else:
                    self.mirror.apply(msg)
        except Gap as gap:
            self._why = str(gap)
        except Exception as err:  # noqa: BLE001 - a bad message or a full disk: the link starts over, never dies
            self._why = f"{type(err).__name__}: {err}"
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                try:
                    pipe.close()
                except OSError:
                    pass
            with self._lock:
                self._proc = None
        return got_hello

    def _failed(self, code: int | None, errors: list[str]) -> None:
        """The link ended before a hello: one line saying why."""
        last = errors[-1] if errors else f"exit status {code}"
        if code == 255:  # ssh's own failure: the host is unreachable, the key refused, ...
            self.state = "reconnecting"
            self.line = f"{self.host}: ssh failed: {last}"
            return
        self.state = "failed"
        if code in (126, 127) or "not found" in last:
            self.line = f"{self.host}: no tuidl there (`{self.remote_cmd}`: {last}); install it or pass --remote-cmd"
        else:
            self.line = f"{self.host}: `{self.remote_cmd} stream` failed: {last} (another tuidl version?)"

    def _acked(self, msg: dict[str, Any]) -> None:
        self.acks.append(msg)
        with self._lock:
            self._pending.pop(msg.get("seq"), None)
        if not msg.get("ok"):
            what = msg.get("command") or msg.get("cmd")
            self.problem = (time.monotonic(), f"{self.host}: {what} {msg.get('id')}: {msg.get('error')}")

    def recent_problem(self, within: float = 60.0) -> str | None:
        """What the host refused lately (a resume that could not start there, say), or None."""
        problem = self.problem
        return problem[1] if problem and time.monotonic() - problem[0] < within else None

    def _write(self, msg: dict[str, Any]) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise OSError("not connected")
        proc.stdin.write(W.encode(msg))
        proc.stdin.flush()

    def _forward(self, proc: subprocess.Popen) -> None:
        """Carry the commands given to the copies to the host while this link lasts; a
        command given while the link is down waits in the copy's folder for the next one,
        and one sent but not acknowledged when a link dropped is sent again on the next."""
        with self._lock:
            again = list(self._pending.values())
        for msg in again:
            try:
                self._write(msg)
            except (OSError, ValueError):
                return
        while proc.poll() is None and not self._stop.is_set():
            try:
                requests = self.mirror.take_requests()
            except OSError:
                requests = []
            for run_id, command in requests:
                with self._lock:
                    self._seq += 1
                    msg = {"cmd": "relaunch", "id": run_id} if command == "relaunch" else \
                        {"cmd": "control", "id": run_id, "command": command}
                    msg["seq"] = self._seq
                    self._pending[self._seq] = msg
                try:
                    self._write(msg)
                except (OSError, ValueError):  # the link went meanwhile: sent again on the next one
                    return
            self._stop.wait(self.forward_every)


def commands_for(hosts: list[str], values: list[str]) -> dict[str, str]:
    """Each host's remote tuidl from ``--remote-cmd`` values: ``HOST=CMD`` for a host
    named in ``hosts``, a plain ``CMD`` for every other one (at most one plain value).
    Hosts with neither are left out (they get :func:`remote_cmd_default`)."""
    per_host: dict[str, str] = {}
    plain: list[str] = []
    for value in values:
        name, sep, cmd = value.partition("=")
        if sep and name in hosts:
            if not cmd.strip():
                raise ValueError(f"--remote-cmd {value!r}: no command after {name}=")
            per_host[name] = cmd
        else:
            plain.append(value)
    if len(plain) > 1:
        raise ValueError(f"--remote-cmd given {len(plain)} times for every host ({', '.join(map(repr, plain))}): "
                         "give it once, or as HOST=CMD for one host")
    default = plain[0] if plain else None
    return {h: per_host.get(h) or default for h in hosts if h in per_host or default}


_HOSTS: list[RemoteHost] = []


def hosts() -> list[RemoteHost]:
    """The hosts this process links to (``tuidl --remote``), in order."""
    return list(_HOSTS)


def connect(names: list[str], remote_cmd: str | None = None, **options: Any) -> list[RemoteHost]:
    """Start a link to each host (kept in :func:`hosts`)."""
    started = [RemoteHost(name, remote_cmd=remote_cmd, **options).start() for name in names]
    _HOSTS.extend(started)
    return started


def disconnect() -> None:
    """End every link (the copies stay, for the next start)."""
    while _HOSTS:
        _HOSTS.pop().stop(timeout=2)


def roots() -> list:
    """The copies' folders of the linked hosts (what the Runs pane lists beside the local runs)."""
    return [h.mirror.root for h in _HOSTS]
