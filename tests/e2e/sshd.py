"""A real sshd on 127.0.0.1 for the remote tests (tests/e2e/test_remote_e2e.py).

:func:`start` makes a host key and a user key (``ssh-keygen``), an sshd config that
lets only that key in, and an ssh client config with the alias ``tuidl-test`` for it,
then starts ``sshd -D`` on a free port. The remote side's tuidl is a wrapper script
with a runs root of its own (``remote_root``) and this checkout on ``PYTHONPATH``.
``.ci/run`` installs openssh-server where it is missing."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ALIAS = "tuidl-test"


def find_sshd() -> str | None:
    for path in (shutil.which("sshd"), "/usr/sbin/sshd", "/usr/local/sbin/sshd"):
        if path and os.access(path, os.X_OK):
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sshd:
    proc: subprocess.Popen
    port: int
    config: Path  # the ssh client's config (ssh -F)
    remote_cmd: str  # the remote side's tuidl
    remote_root: Path  # its runs root
    log: Path

    @property
    def ssh_options(self) -> tuple[str, ...]:
        return ("-F", str(self.config))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def remote_tuidl(folder: Path, root: Path) -> str:
    """A remote tuidl command whose runs root is ``root`` (a wrapper script in ``folder``):
    sshd passes no environment, so the script sets it."""
    root.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "remote-tuidl"
    wrapper.write_text("#!/bin/sh\n"
                       f"export TUIDL_RUNS='{root}' PYTHONPATH='{REPO}' OMP_NUM_THREADS=1 "
                       f"TUIDL_DATA='{os.environ.get('TUIDL_DATA', '')}'\n"
                       f"exec '{sys.executable}' -m tuidl \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def start(base: Path) -> Sshd:
    """Start sshd for the tests under ``base``; RuntimeError saying why it could not."""
    sshd = find_sshd()
    if sshd is None or not shutil.which("ssh") or not shutil.which("ssh-keygen"):
        raise RuntimeError("openssh-server is not installed (.ci/run installs it)")
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o700)
    for name in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(base / name)],
                       check=True, stdin=subprocess.DEVNULL)
    auth = base / "authorized_keys"
    auth.write_text((base / "user_key.pub").read_text())
    os.chmod(auth, 0o600)
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    remote_root = base / "remote-runs"
    wrapper = remote_tuidl(base, remote_root)
    for _ in range(5):
        port = free_port()
        config = base / "sshd_config"
        config.write_text("\n".join([
            f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {base / 'host_key'}",
            f"AuthorizedKeysFile {auth}", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes", "UsePAM no", "StrictModes no", f"AllowUsers {user}",
            "PermitRootLogin yes", f"PidFile {base / 'sshd.pid'}", "LogLevel VERBOSE", "MaxSessions 50",
            "MaxStartups 50", ""]))
        client = base / "ssh_config"
        (base / "known_hosts").write_text(f"[127.0.0.1]:{port} {(base / 'host_key.pub').read_text()}")
        client.write_text("\n".join([
            f"Host {ALIAS}", "  HostName 127.0.0.1", f"  Port {port}", f"  User {user}",
            f"  IdentityFile {base / 'user_key'}", "  IdentitiesOnly yes", "  IdentityAgent none",
            f"  UserKnownHostsFile {base / 'known_hosts'}", "  StrictHostKeyChecking yes",
            "  LogLevel ERROR", ""]))
        log = base / "sshd.log"
        proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL,
                                stdout=open(log, "ab"), stderr=subprocess.STDOUT)
        server = Sshd(proc, port, client, str(wrapper), remote_root, log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            probe = subprocess.run(["ssh", "-F", str(client), "-o", "BatchMode=yes", ALIAS, "true"],
                                   stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
            if probe.returncode == 0:
                return server
            time.sleep(0.2)
        server.stop()
    raise RuntimeError(f"sshd did not start: {log.read_text()[-800:] if log.exists() else 'no log'}")
