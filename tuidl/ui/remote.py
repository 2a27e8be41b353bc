"""What the dashboard shows of ``tuidl --remote`` hosts (docs/remote.md): the Runs
pane's Host column and the hosts' lines. The links themselves are
:mod:`tuidl.core.remote.client`'s; this module only renders what they hold."""

from __future__ import annotations

from rich.text import Text

from tuidl.core.remote import client

HOST_COLUMN = ("host", "Host")


def runs_columns(columns: tuple) -> tuple:
    """The Runs pane's columns: with a Host column after the mark when hosts are linked."""
    if not client.hosts():
        return tuple(columns)
    return (columns[0], HOST_COLUMN, *columns[1:])


def host_cell(item: object) -> Text:
    """A row's host: the remote host of a run's copy, ``local`` for a run of this machine
    (a sweep's or the queue's row: blank)."""
    host = getattr(item, "host", None)
    if host is None:
        return Text("")
    return Text(host, style="bold cyan") if host else Text("local", style="dim")


def hosts_line() -> Text | None:
    """One line per linked host that is not connected (why), and per command a host
    refused in the last minute, for the Runs pane's hint."""
    lines = [h.line for h in client.hosts() if h.state != "connected"]
    lines += [p for p in (h.recent_problem() for h in client.hosts()) if p]
    return Text("\n".join(lines), style="yellow") if lines else None
