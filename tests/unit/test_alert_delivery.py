"""Alert delivery: webhooks against a local HTTP server (ntfy, Slack, Discord bodies; one
that fails and one that hangs never block the caller), and the terminal's sequences."""

import http.server
import json
import threading
import time

import pytest

from tuidl.core.alerts import terminal as T
from tuidl.core.alerts import webhooks as W


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, status=200, delay=0.0):
        self.got = []
        self.status, self.delay = status, delay
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.got.append((self.path, dict(self.headers), body))
        time.sleep(self.server.delay)
        try:
            self.send_response(self.server.status)
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:  # the client gave up (the hanging receiver)
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    servers = []

    def make(**kw):
        servers.append(Receiver(**kw))
        return servers[-1]

    yield make
    for s in servers:
        s.shutdown()
        s.server_close()


def test_kind_is_picked_by_host_or_an_explicit_scheme():
    assert W.kind_of("https://hooks.slack.com/services/T/B/x") == ("slack", "https://hooks.slack.com/services/T/B/x")
    assert W.kind_of("https://discord.com/api/webhooks/1/abc")[0] == "discord"
    assert W.kind_of("https://ntfy.sh/topic")[0] == "ntfy"
    assert W.kind_of("https://my.host/hook")[0] == "ntfy"
    assert W.kind_of("slack+http://127.0.0.1:9/x") == ("slack", "http://127.0.0.1:9/x")
    assert W.check_url("ftp://x") and W.check_url("discord+ftp://x") and not W.check_url("ntfy+https://h/t")


def test_ntfy_slack_and_discord_bodies_reach_a_local_server(receiver):
    srv = receiver()
    assert W.send(f"ntfy+{srv.url}/my-topic", "Run failed", "CUDA out of memory", "error", "r1", "gpu1") == ""
    assert W.send(f"slack+{srv.url}/services/x", "Run completed", "best 0.9", "info", "r1") == ""
    assert W.send(f"discord+{srv.url}/api/webhooks/1", "GPU 0 idle", "x" * 3000, "warn", "r1") == ""
    assert W.send(f"ntfy+{srv.url}/a/b?x=1", "Titlé ü", "text", "warn") == ""
    (p1, _, b1), (p2, _, b2), (p3, _, b3), (p4, h4, b4) = srv.got
    assert p1 == "/" and json.loads(b1) == {"topic": "my-topic", "title": "Run failed", "priority": 5,
                                            "message": "CUDA out of memory\nr1 (gpu1)", "tags": ["rotating_light"]}
    assert p2 == "/services/x" and json.loads(b2) == {"text": "ℹ️ *Run completed* · r1\nbest 0.9"}
    content = json.loads(b3)["content"]
    assert p3 == "/api/webhooks/1" and content.startswith("⚠️ **GPU 0 idle** · r1\nxxx") and len(content) == 2000
    assert p4 == "/a/b?x=1" and b4 == b"text" and h4["Priority"] == "4" and h4["Title"] == "Titl\xe9 \xfc"


def test_a_failing_or_hanging_webhook_is_logged_once_and_never_blocks(receiver):
    good, bad, slow = receiver(), receiver(status=500), receiver(delay=3)
    logged = []
    sender = W.WebhookSender([f"{good.url}/t", f"{bad.url}/t", f"{slow.url}/t", "http://127.0.0.1:9/t"],
                             log=logged.append, timeout=0.5)
    t0 = time.monotonic()
    for i in range(3):
        sender.send(f"alert {i}", "text", "warn", "r1")
    assert time.monotonic() - t0 < 0.45  # the caller (the dashboard, a run) never waits (0.5 s a send if it did)
    assert sender.wait(timeout=20)
    assert [json.loads(b)["title"] for _, _, b in good.got] == ["alert 0", "alert 1", "alert 2"]
    assert sender.sent == 3
    assert sorted(sender.failed) == sorted([f"{bad.url}/t", f"{slow.url}/t", "http://127.0.0.1:9/t"])
    assert len(logged) == 3  # once per failing URL, not once per alert
    assert any("HTTP 500" in line for line in logged) and any("timed out" in line for line in logged)
    assert all("/t:" not in line for line in logged)  # a webhook's path is its secret: not shown


def test_the_queue_keeps_the_newest_when_a_host_is_dead(monkeypatch):
    monkeypatch.setattr(W, "MAX_QUEUED", 5)
    gate = threading.Event()
    sent = []
    monkeypatch.setattr(W, "send", lambda *a, **k: gate.wait() and sent.append(a[1]) or "")
    sender = W.WebhookSender(["http://127.0.0.1:9/t"])
    for i in range(20):
        sender.send(f"a{i}")
    gate.set()
    assert sender.wait(5)
    assert sent[-5:] == [f"a{i}" for i in range(15, 20)] and len(sent) <= 6


def test_osc_sequences():
    assert T.title("tuidl: failed\x1b]evil") == "\x1b]2;tuidl: failed ]evil\x07"
    seq = T.notification("Run failed; r1", "line1\nline2", tmux=False)
    assert seq == "\x1b]9;Run failed; r1: line1 line2\x07\x1b]777;notify;Run failed, r1;line1 line2\x07"
    wrapped = T.notification("a", "b", tmux=True)
    assert wrapped == "\x1bPtmux;\x1b\x1b]9;a: b\x07\x1b\\\x1bPtmux;\x1b\x1b]777;notify;a;b\x07\x1b\\"
    both = T.sequences("h", "b", window_title="tuidl: h", tmux=False)
    assert both.startswith("\x1b]2;tuidl: h\x07\x1b]9;h: b\x07") and both.endswith("\x07\x07")
    assert T.sequences("h", ring=False, desktop=False) == ""
