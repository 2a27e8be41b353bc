"""The dashboard's alerts (docs/alerts.md): the rules of :mod:`tuidl.core.alerts` watched
over every run of the runs root (and any other root added, such as remote runs mirrored
into a folder) in a worker thread, and each alert delivered on the UI's thread:

* a toast in the dashboard (``App.notify``);
* the terminal's bell (``App.bell``) and window title (OSC 2);
* a desktop notification through the terminal (OSC 9 and OSC 777, wrapped for tmux);
* webhooks (``--notify URL`` and the config file's ``notify``), from their own thread.

Textual offers no public call to write an escape sequence, so the sequences go to the
terminal itself: the file descriptor of the real stderr when it is a terminal (where
Textual draws), else ``/dev/tty``, in one ``os.write`` each (whole sequences between
Textual's frames). Never in a headless app (tests) or a browser tab (``tuidl serve``), where
``write`` can be given instead. The window title is pushed on xterm's title stack before
the first change and popped at exit."""

from __future__ import annotations

import atexit
import collections
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from textual.app import App
from textual.worker import get_current_worker

from tuidl.core.alerts import terminal as T
from tuidl.core.alerts.rules import Alert, AlertRules
from tuidl.core.alerts.watch import AlertMonitor
from tuidl.core.alerts.webhooks import WebhookSender

__all__ = ["AlertCenter"]

POLL_S = 2.0
_SEVERITY = {"info": "information", "warn": "warning", "error": "error"}


class AlertCenter:
    """Watches runs and delivers their alerts for one app (see the module docstring).
    ``rules``: the config file's; ``notify``: webhook URLs from the command line (added to
    the file's, never written to it); ``write``: where escape sequences go (default: the
    terminal, when the app has one)."""

    def __init__(self, app: App, rules: AlertRules, roots: Iterable[str | os.PathLike], *,
                 notify: Iterable[str] = (), write: Callable[[str], Any] | None = None,
                 clock: Callable[[], float] | None = None, poll_s: float = POLL_S) -> None:
        self.app = app
        self.file_rules = rules
        self.cli_notify = tuple(notify)
        self.rules = rules.with_notify(self.cli_notify)
        kw = {"clock": clock} if clock is not None else {}
        self.monitor = AlertMonitor(self.rules, roots, **kw)
        self.sender = WebhookSender(self.rules.notify, log=self._problem)
        self.recent: collections.deque[Alert] = collections.deque(maxlen=50)
        self.delivered = 0
        self.poll_s = poll_s
        self._write = write
        self._fd: int | None = None
        self._title_pushed = False
        self._lock = threading.Lock()  # the monitor: the worker polls it, the UI changes its rules

    # -- watching -----------------------------------------------------------------------
    def start(self) -> None:
        """Poll in a worker thread until the app ends; at exit, webhooks still queued get
        up to 3 s (an end seen just before quitting is still sent)."""
        self.app.run_worker(self._watch, thread=True, group="alerts", exclusive=True, name="alerts")
        atexit.register(lambda: self.sender.wait(3.0))

    def _watch(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled:
            alerts = self.poll()
            if alerts and not worker.is_cancelled:
                self.app.call_from_thread(self.deliver, alerts)
            waited = 0.0
            while waited < self.poll_s and not worker.is_cancelled:
                time.sleep(0.2)
                waited += 0.2

    def poll(self) -> list[Alert]:
        """One look at every run (the worker calls it; tests too). Never raises."""
        try:
            with self._lock:
                return self.monitor.poll()
        except Exception as e:  # noqa: BLE001 - a bad run directory must not end the watching
            self._problem(f"alerts: {type(e).__name__}: {e}")
            return []

    def add_root(self, root: str | os.PathLike) -> None:
        """Watch the runs under another folder too (remote runs mirrored locally)."""
        with self._lock:
            self.monitor.add_root(root)

    def set_rules(self, rules: AlertRules) -> None:
        """New rules from the config file (the dialog saved them)."""
        self.file_rules = rules
        self.rules = rules.with_notify(self.cli_notify)
        with self._lock:
            self.monitor.set_rules(self.rules)
        if self.rules.notify != self.sender.urls:
            self.sender = WebhookSender(self.rules.notify, log=self._problem)

    # -- delivering -----------------------------------------------------------------------
    def deliver(self, alerts: list[Alert]) -> None:
        """Tell the user (on the UI's thread): toast, bell, title, desktop, webhooks."""
        if not alerts:
            return
        rules = self.rules
        for alert in alerts:
            self.recent.append(alert)
            self.delivered += 1
            self.app.notify(alert.text or alert.title, title=alert.headline, severity=_SEVERITY.get(alert.level, "warning"),
                            timeout=12 if alert.level == "error" else 8)
            self.sender.send(alert.title, alert.text, alert.level, alert.run_id, alert.host)
        last = alerts[-1]
        heading = last.headline if len(alerts) == 1 else f"{len(alerts)} alerts: {last.headline}"
        seq = T.sequences(heading, last.text, ring=False,
                          window_title=f"tuidl: {last.title} · {last.run_id}" if rules.title else None,
                          desktop=rules.desktop)
        if seq:
            if rules.title and not self._title_pushed:
                self._title_pushed = self._emit(T.PUSH_TITLE)
                if self._title_pushed:
                    atexit.register(self._emit, T.POP_TITLE)
            self._emit(seq)
        if rules.bell:
            self.app.bell()

    def _emit(self, text: str) -> bool:
        """Write escape sequences to the terminal (see the module docstring); True if written."""
        if self._write is not None:
            self._write(text)
            return True
        if self.app.is_headless or self.app.is_web:
            return False
        fd = self._terminal()
        if fd is None:
            return False
        try:
            os.write(fd, text.encode())
            return True
        except OSError as e:
            self._fd = -1
            self._problem(f"alerts: cannot write to the terminal ({e.strerror or e})")
            return False

    def _terminal(self) -> int | None:
        if self._fd is None:
            try:
                err = sys.__stderr__
                self._fd = err.fileno() if err is not None and err.isatty() else os.open("/dev/tty", os.O_WRONLY)
            except (OSError, ValueError):
                self._fd = -1
        return self._fd if self._fd is not None and self._fd >= 0 else None

    def _problem(self, line: str) -> None:
        """A delivery problem: in the app's log and, once, as a toast (from any thread)."""
        app = self.app
        try:
            if threading.current_thread() is threading.main_thread():
                app.notify(line, title="Alerts", severity="warning", timeout=8)
            else:
                app.call_from_thread(app.notify, line, title="Alerts", severity="warning", timeout=8)
        except Exception:  # noqa: BLE001 - the app is closing: nothing to tell
            pass

    def open_dialog(self) -> None:
        """The rules dialog (``A``): saved to the config file and used at once."""
        from tuidl.core import config as C
        from tuidl.ui.screens.alerts import AlertsScreen

        def saved(rules: AlertRules | None) -> None:
            if rules is None:
                return
            try:
                path = C.save_alert_rules(rules)
            except OSError as e:
                self.app.notify(f"could not write {C.config_path()}: {e.strerror or e}", title="Alerts",
                                severity="error", timeout=10)
                return
            self.set_rules(rules)
            self.app.notify(f"saved in {path}", title="Alert rules", timeout=4)

        self.app.push_screen(AlertsScreen(self.file_rules, self.cli_notify, list(self.recent),
                                          Path(C.config_path())), saved)
