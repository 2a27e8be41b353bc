"""The JSON lines ``tuidl stream`` and its client speak (docs/remote.md, "Protocol").

Each line is one JSON object. The remote side writes (``t``: the kind):

* ``hello`` — first, always: ``tuidl`` (its version), ``protocol``, ``host``, ``root``;
* ``run`` — a run appeared or its status changed: ``id``, ``status`` (the status file as
  the remote reads it: a dead trainer is ``interrupted`` there), ``checkpoint`` (it has
  one to resume from), and ``files`` (``preset.toml`` / ``config.json``) the first time
  the client has no copy;
* ``runs`` — every run id, after each listing that changed the set (the client drops
  copies of runs deleted there);
* ``events`` — ``id``, ``offset`` (the byte offset in the remote ``events.jsonl``), ``data``
  (whole lines, as written) and ``end`` (offset + their length);
* ``reset`` — a run's events file shrank (rewritten): the client starts it over;
* ``telemetry`` — the host's GPUs and figures (``tuidl.core.system.telemetry.Sampler``);
* ``ack`` — the outcome of a command: ``cmd``, ``id``, ``ok``, ``error``.

The client writes ``follow`` first (``offsets``: the bytes of each run's events it has),
then ``control`` (``id``, ``command``: pause, resume, stop, checkpoint) and ``relaunch``
(``id``: continue a run from its last checkpoint, on the remote machine)."""

from __future__ import annotations

import json
import socket
from typing import Any

PROTOCOL = 1


def version() -> str:
    """This tuidl's version (the installed distribution's, else pyproject's)."""
    try:
        from importlib.metadata import PackageNotFoundError, version as dist_version

        try:
            return dist_version("tuidl")
        except PackageNotFoundError:
            pass
    except ImportError:  # pragma: no cover
        pass
    return "unknown"


def hello(root: str) -> dict[str, Any]:
    return {"t": "hello", "tuidl": version(), "protocol": PROTOCOL, "host": socket.gethostname(), "root": root}


def encode(msg: dict[str, Any]) -> bytes:
    """One message as its line. Event data that is not UTF-8 travels as surrogate
    escapes (``\\udcXX``), so the bytes arrive exactly as written."""
    return (json.dumps(msg, separators=(",", ":"), ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")


def decode(line: bytes) -> dict[str, Any] | None:
    """One line as a message; None for a line that is no JSON object (an ssh banner, a
    shell's greeting)."""
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None


def data_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def data_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def check_hello(msg: dict[str, Any] | None, host: str) -> str | None:
    """Why a first line is no hello this client can talk to (one line), else None."""
    if msg is None or msg.get("t") != "hello":
        return f"{host}: its tuidl does not stream (no `tuidl stream`: another version?)"
    theirs = msg.get("protocol")
    if theirs != PROTOCOL:
        return (f"{host}: tuidl {msg.get('tuidl', '?')} there speaks stream protocol {theirs}, this tuidl "
                f"{version()} speaks {PROTOCOL}: install the same tuidl version on both")
    return None
