"""The System pane's cards for ``tuidl --remote`` hosts: each host's GPUs (utilisation,
memory, temperature, power) and host figures (CPU, RAM), from the telemetry its
``tuidl stream`` sends every couple of seconds; a host that is not linked shows why, in
one line. It renders what :mod:`tuidl.core.remote.client` holds, once a second."""

from __future__ import annotations

import time
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from tuidl.core.numbers import finite
from tuidl.core.remote import client
from tuidl.core.system.telemetry import format_bytes
from tuidl.ui.widgets.gauge import _pct, gauge

STALE_S = 10.0  # telemetry older than this is shown dimmed


def host_content(host: client.RemoteHost, now: float | None = None) -> tuple[str, Content, bool]:
    """A host's card: its title, its lines, and whether its figures are stale."""
    now = time.time() if now is None else now
    msg = host.telemetry or {}
    sample: dict[str, Any] = msg.get("sample") or {}
    stats = sample.get("host") or {}
    name = stats.get("name") or (host.hello or {}).get("host")
    title = host.host + (f" · {name}" if name and name != host.host else "")
    parts: list[Any] = []
    if host.state != "connected":
        parts.append((host.line + ("\n" if sample or host.state == "connected" else ""), "$warning bold"))
    for gpu in sample.get("gpus") or []:
        util = finite(gpu.get("util"))
        used, total = finite(gpu.get("mem_used")), finite(gpu.get("mem_total"))
        frac = used / total if used is not None and total else None
        temp, power = finite(gpu.get("temp")), finite(gpu.get("power"))
        parts += [gauge(f"GPU{gpu.get('index', '?')}", None if util is None else util / 100, _pct(util), width=12),
                  "  ", gauge("mem", frac, f"{format_bytes(used)} / {format_bytes(total)}", width=12),
                  ("  " + (f"{temp:.0f} °C" if temp is not None else "— °C"), "$text-muted"),
                  ("  " + (f"{power:.0f} W" if power is not None else "— W"), "$text-muted"),
                  f"  {gpu.get('name') or ''}\n"]
    if sample:
        cpu = finite(stats.get("cpu"))
        used, total = finite(stats.get("ram_used")), finite(stats.get("ram_total"))
        parts += [gauge("CPU", None if cpu is None else cpu / 100, _pct(cpu), width=12), "  ",
                  gauge("RAM", used / total if used is not None and total else None,
                        f"{format_bytes(used)} / {format_bytes(total)}", width=12)]
        if sample.get("problem") and not sample.get("gpus"):
            parts.append((f"\nGPUs: {sample['problem']}", "$text-muted"))
    elif host.state == "connected":
        parts.append(("waiting for its first figures…", "$text-muted"))
    stale = bool(msg) and now - float(msg.get("time") or 0) > STALE_S
    return title, Content.assemble(*parts), stale


class RemoteHosts(Vertical):
    """One card per linked host (see the module docstring)."""

    DEFAULT_CSS = """
    RemoteHosts {
        height: auto;
    }
    """

    def __init__(self, interval: float = 1.0) -> None:
        super().__init__(id="remote-hosts")
        self.interval = interval
        self._cards: dict[str, tuple[Vertical, Static]] = {}

    def compose(self) -> ComposeResult:
        for host in client.hosts():
            body = Static(classes="details")
            card = Vertical(body, classes="card remote-host")
            self._cards[host.host] = (card, body)
            yield card

    def on_mount(self) -> None:
        self.refresh_hosts()
        self.set_interval(self.interval, self.refresh_hosts)

    def refresh_hosts(self) -> None:
        for host in client.hosts():
            if host.host not in self._cards:
                continue
            card, body = self._cards[host.host]
            title, content, stale = host_content(host)
            card.border_title = title
            card.set_class(stale or host.state != "connected", "stale")
            body.update(content)

    def text(self) -> str:
        """The cards' text (titles included), for tests."""
        return "\n".join(f"{card.border_title}\n{body.visual}" for card, body in self._cards.values())
