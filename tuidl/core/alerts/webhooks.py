"""Webhooks: an alert as an HTTP POST, in the body shape the receiver wants.

The shape is picked by the URL (docs/alerts.md):

* an explicit scheme: ``ntfy+https://...``, ``slack+https://...``, ``discord+https://...``
  (the ``KIND+`` is dropped before sending);
* else the host: ``hooks.slack.com`` is Slack, ``discord.com`` / ``discordapp.com`` is
  Discord, anything else (``ntfy.sh``, a self-hosted ntfy) is ntfy.

ntfy gets its JSON publish body (``{topic, title, message, priority, tags}``, POSTed to the
server's root) when the URL is a server and a topic, else the text with ``Title``,
``Priority`` and ``Tags`` headers; Slack ``{"text"}``; Discord ``{"content"}`` (2000
characters at most).

:class:`WebhookSender` sends from a daemon thread with a short timeout, never raises, and
tells its ``log`` of a URL's first failure only; a queue that a dead host lets grow keeps
the newest ``MAX_QUEUED`` alerts.
"""

from __future__ import annotations

import collections
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable

__all__ = ["KINDS", "WebhookSender", "check_url", "kind_of", "request_for", "send", "send_in_thread"]

KINDS = ("ntfy", "slack", "discord")
TIMEOUT_S = 5.0
MAX_QUEUED = 200
_PRIORITY = {"info": 3, "warn": 4, "error": 5}
_TAGS = {"info": "information_source", "warn": "warning", "error": "rotating_light"}
_MARK = {"info": "ℹ️", "warn": "⚠️", "error": "🚨"}


def kind_of(url: str) -> tuple[str, str]:
    """``(kind, the URL to POST to)``."""
    scheme, sep, rest = url.partition("+")
    if sep and scheme in KINDS and rest.startswith(("http://", "https://")):
        return scheme, rest
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if host == "hooks.slack.com":
        return "slack", url
    if host in ("discord.com", "discordapp.com") or host.endswith((".discord.com", ".discordapp.com")):
        return "discord", url
    return "ntfy", url


def check_url(url: str) -> str:
    """What is wrong with a ``--notify`` URL, or ``""``."""
    _, real = kind_of(url)
    parts = urllib.parse.urlsplit(real)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (f"{url!r} is not an http(s) URL (ntfy, Slack or Discord; "
                f"KIND+https://... picks the body: {', '.join(KINDS)})")
    return ""


def request_for(url: str, title: str, text: str = "", level: str = "warn", run_id: str = "",
                host: str = "") -> urllib.request.Request:
    """The POST for one alert (see the module docstring)."""
    kind, real = kind_of(url)
    where = f"{run_id} ({host})" if host and run_id else run_id or host
    if kind == "slack":
        lines = [f"{_MARK.get(level, '')} *{title}*" + (f" · {where}" if where else ""), text]
        return _json(real, {"text": "\n".join(x for x in lines if x)})
    if kind == "discord":
        lines = [f"{_MARK.get(level, '')} **{title}**" + (f" · {where}" if where else ""), text]
        return _json(real, {"content": "\n".join(x for x in lines if x)[:2000]})
    message = "\n".join(x for x in (text, where) if x) or title
    parts = urllib.parse.urlsplit(real)
    topic = parts.path.strip("/")
    if topic and "/" not in topic and not parts.query:
        root = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
        return _json(root, {"topic": topic, "title": title, "message": message,
                            "priority": _PRIORITY.get(level, 3), "tags": [_TAGS.get(level, "warning")]})
    headers = {"Title": _latin1(title), "Priority": str(_PRIORITY.get(level, 3)), "Tags": _TAGS.get(level, "warning"),
               "Content-Type": "text/plain; charset=utf-8"}
    return urllib.request.Request(real, data=message.encode(), headers=headers, method="POST")


def _json(url: str, body: dict) -> urllib.request.Request:
    return urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                  headers={"Content-Type": "application/json"})


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def send(url: str, title: str, text: str = "", level: str = "warn", run_id: str = "", host: str = "",
         timeout: float = TIMEOUT_S) -> str:
    """POST one alert now; ``""`` when the receiver took it, else the problem in one line."""
    try:
        request = request_for(url, title, text, level, run_id, host)
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
            response.read(1024)
        return ""
    except urllib.error.HTTPError as e:
        return f"webhook {_shown(url)}: HTTP {e.code} {e.reason}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return f"webhook {_shown(url)}: {reason}"


def _shown(url: str) -> str:
    """The URL without its path (a Slack or Discord path is a secret)."""
    parts = urllib.parse.urlsplit(kind_of(url)[1])
    return f"{parts.scheme}://{parts.netloc}/…" if parts.path.strip("/") else f"{parts.scheme}://{parts.netloc}"


def send_in_thread(url: str, title: str, text: str = "", level: str = "warn", run_id: str = "", host: str = "",
                   failed: Callable[[str], Any] | None = None) -> threading.Thread:
    """:func:`send` in a daemon thread of its own; ``failed(problem)`` if it fails."""

    def work() -> None:
        problem = send(url, title, text, level, run_id, host)
        if problem and failed is not None:
            failed(problem)

    thread = threading.Thread(target=work, name="tuidl-webhook", daemon=True)
    thread.start()
    return thread


class WebhookSender:
    """Alerts to ``urls`` from one daemon thread (see the module docstring). ``log``
    gets one line per URL, at its first failure."""

    def __init__(self, urls: list[str] | tuple[str, ...], log: Callable[[str], Any] | None = None,
                 timeout: float = TIMEOUT_S) -> None:
        self.urls = tuple(urls)
        self.log = log
        self.timeout = timeout
        self.sent = 0
        self.failed: dict[str, str] = {}  # url -> its first problem
        self._queue: collections.deque = collections.deque(maxlen=MAX_QUEUED)
        self._wake = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None

    def send(self, title: str, text: str = "", level: str = "warn", run_id: str = "", host: str = "") -> None:
        """Queue one alert for every URL; returns at once."""
        if not self.urls:
            return
        with self._wake:
            for url in self.urls:
                self._queue.append((url, title, text, level, run_id, host))
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="tuidl-webhooks", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._queue:
                    self._busy = False
                    self._wake.notify_all()
                    self._wake.wait()
                item = self._queue.popleft()
                self._busy = True
            try:
                problem = send(*item, timeout=self.timeout)
            except Exception as e:  # noqa: BLE001 - the thread must go on
                problem = f"webhook {_shown(item[0])}: {type(e).__name__}: {e}"
            url = item[0]
            if not problem:
                self.sent += 1
            elif url not in self.failed:
                self.failed[url] = problem
                if self.log is not None:
                    try:
                        self.log(problem + " (further failures of this webhook are not shown)")
                    except Exception:  # noqa: BLE001
                        pass

    def wait(self, timeout: float) -> bool:
        """Block until the queue is sent or ``timeout`` passed (at exit); True if sent."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._queue and not self._busy, timeout)
