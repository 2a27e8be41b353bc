"""``tuidl alerts``: the alert rules without a dashboard (on a server, in tmux or under
systemd): every run of the runs root watched, each alert printed as one line, sent to the
webhooks, and, when stdout is a terminal, the bell, title and desktop notification
written there. ``--test`` sends one test alert by every way and says which worked."""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, Iterable, TextIO

from tuidl.core.alerts import terminal as T
from tuidl.core.alerts.rules import Alert, AlertRules
from tuidl.core.alerts.watch import AlertMonitor
from tuidl.core.alerts.webhooks import WebhookSender

POLL_S = 2.0


def line(alert: Alert) -> str:
    """One printed line: ``HH:MM:SS LEVEL title · run (host): text``."""
    stamp = time.strftime("%H:%M:%S", time.localtime(alert.time or time.time()))
    return f"{stamp} {alert.level.upper():5} {alert.headline}" + (f": {alert.text}" if alert.text else "")


class Deliver:
    """Print, ring, notify and post alerts (see the module docstring)."""

    def __init__(self, rules: AlertRules, out: TextIO | None = None, err: TextIO | None = None) -> None:
        out, err = out or sys.stdout, err or sys.stderr
        self.rules, self.out, self.err = rules, out, err
        self.tty = out.isatty()
        self.sender = WebhookSender(rules.notify, log=lambda problem: print(f"tuidl alerts: {problem}",
                                                                           file=err, flush=True))

    def __call__(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            text = line(alert)
            if self.tty:
                r = self.rules
                text = T.sequences(alert.headline, alert.text, ring=r.bell, desktop=r.desktop,
                                   window_title=f"tuidl: {alert.title} · {alert.run_id}" if r.title else None) + text
            print(text, file=self.out, flush=True)
            self.sender.send(alert.title, alert.text, alert.level, alert.run_id, alert.host)


def watch(rules: AlertRules, roots: list[str | os.PathLike], deliver: Callable[[list[Alert]], None],
          poll_s: float = POLL_S, until: Callable[[], bool] = lambda: False) -> None:
    """Poll until ``until()`` (or Ctrl+C in the caller)."""
    monitor = AlertMonitor(rules, roots)
    while not until():
        alerts = monitor.poll()
        if alerts:
            deliver(alerts)
        time.sleep(poll_s)


def test(rules: AlertRules, deliver: Deliver, timeout: float = 15.0) -> int:
    """One test alert by every way; 0 if every webhook took it, else 1."""
    deliver([Alert("", "test", "tuidl test alert", "if you read this, alerts reach you", "info", time.time())])
    if not rules.notify:
        print("no webhook to try (--notify URL or notify in the config file)", file=deliver.out, flush=True)
        return 0
    deliver.sender.wait(timeout)
    bad = deliver.sender.failed
    for url in rules.notify:
        print(f"{'failed' if url in bad else 'sent'}: {url.split('?')[0] if url not in bad else bad[url]}",
              file=deliver.out, flush=True)
    return 1 if bad else 0
