"""The dashboard's alerts: the center watches the runs root, delivers an alert once as a
toast, the bell, the window title and the OSC 9 / OSC 777 sequences, and sends webhooks;
a webhook that fails or hangs leaves the dashboard working; the rules dialog (A) fits
80×24, works from the keyboard and saves to the config file."""

import http.server
import json
import threading
import time

from helpers import append, live_run, make_app, screen_text, settle, started, step

from tuidl.core import config as C
from tuidl.core.alerts.rules import AlertRules, parse_threshold
from tuidl.core.run import rundir as R
from tuidl.ui.alerting import AlertCenter
from tuidl.ui.screens.alerts import AlertsScreen


class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


def with_center(app, root, rules, clock, **kw):
    written = []
    app.alert_center = AlertCenter(app, rules, [root], write=written.append, clock=clock, poll_s=3600, **kw)
    return written


async def test_an_alert_is_delivered_once_by_every_way(tmp_path):
    root = tmp_path / "runs"
    clock = Clock(time.time())
    app = make_app()
    written = with_center(app, root, AlertRules(stall_minutes=1), clock)
    run = live_run(root, "watched")
    async with app.run_test(size=(120, 40)) as pilot:
        center = app.alert_center
        append(run, started(t=clock.t + 1), step(1, 1, 1, t=clock.t + 2))
        center.deliver(center.poll())
        assert app.bells == 0 and written == []  # nothing to tell yet
        append(run, step(1, 2, 2, loss="nan", t=clock.t + 3))
        center.deliver(center.poll())
        await settle(pilot)
        assert [(n.title, n.severity) for n in app.notes if run.id in n.title] == [(f"loss is nan · {run.id}", "error")]
        assert app.bells == 1
        seq = "".join(written)
        assert "\x1b]9;loss is nan · " in seq and "\x1b]777;notify;loss is nan · " in seq
        assert f"\x1b]2;tuidl: loss is nan · {run.id}\x07" in seq and seq.startswith("\x1b[22;0t")
        clock.t += 120
        center.deliver(center.poll())
        center.deliver(center.poll())  # the next tick: no repeat
        assert [n.title.split(" · ")[0] for n in app.notes if run.id in n.title] == ["loss is nan", "Run stalled"]
        assert app.bells == 2 and center.delivered == 2


async def test_a_failing_and_a_hanging_webhook_never_stop_the_dashboard(tmp_path):
    class Hang(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            time.sleep(5)

        def log_message(self, *a):
            pass

    hanging = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hang)
    hanging.daemon_threads = True
    threading.Thread(target=hanging.serve_forever, daemon=True).start()
    got = []

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    ok = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=ok.serve_forever, daemon=True).start()
    root = tmp_path / "runs"
    clock = Clock(time.time())
    app = make_app()
    urls = (f"http://127.0.0.1:{hanging.server_address[1]}/t", "http://127.0.0.1:9/t",
            f"slack+http://127.0.0.1:{ok.server_address[1]}/hook")
    with_center(app, root, AlertRules(), clock, notify=urls)
    app.alert_center.sender.timeout = 3.0  # a delivery that waited would take this long
    run = live_run(root, "watched")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            center = app.alert_center
            append(run, started(t=clock.t + 1), {"type": "alert", "time": clock.t + 2, "title": "from the script",
                                                "text": "hello", "level": "info"})
            t0 = time.monotonic()
            center.deliver(center.poll())
            assert time.monotonic() - t0 < 2.0  # the UI thread never waits on a webhook (3 s if it did)
            await pilot.press("3")  # the dashboard still answers keys
            await settle(pilot)
            for _ in range(100):
                if len(center.sender.failed) == 2 and got:
                    break
                await pilot.pause(0.1)
            assert got == [{"text": f"ℹ️ *from the script* · {run.id}\nhello"}]
            problems = [n for n in app.notes if n.title == "Alerts"]
            assert len(problems) == 2 and all("further failures" in n.message for n in problems)
            assert app.is_running
    finally:
        for s in (hanging, ok):
            s.shutdown()
            s.server_close()


async def test_the_rules_dialog_fits_80x24_and_saves_from_the_keyboard(tmp_path):
    root = tmp_path / "runs"
    app = make_app()
    with_center(app, root, AlertRules(thresholds=(parse_threshold("val_acc > 0.9"),)), Clock(0.0),
                notify=("https://ntfy.sh/cli-topic",))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("A")
        await settle(pilot)
        assert isinstance(app.screen, AlertsScreen)
        text = screen_text(app)
        for shown in ("NaN or inf", "stall", "GPU", "completed", "interrupted", "thresholds", "val_acc > 0.9",
                      "webhooks", "--notify: https://ntfy.sh/cli-topic", "Save", "Cancel"):
            assert shown in text, shown
        await pilot.press("space")  # NaN off
        await pilot.press("tab", "3", "0")  # the stall minutes (a field's text is selected on focus)
        await pilot.press("tab", "tab", "x")  # GPU idle minutes: not a number
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AlertsScreen)
        assert "GPU idle minutes: 'x' is not a number" in screen_text(app)
        await pilot.press("backspace", "7", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, AlertsScreen)
        saved = C.alert_rules()
        assert saved.nan is False and saved.stall_minutes == 30 and saved.gpu_idle_minutes == 7 and [str(t) for t in saved.thresholds] == ["val_acc > 0.9"]
        assert saved.notify == ()  # --notify URLs are not written to the file
        assert app.alert_center.rules.stall_minutes == 30 and app.alert_center.rules.notify == ("https://ntfy.sh/cli-topic",)
        assert app.alert_center.monitor.rules.nan is False
        await pilot.press("A")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, AlertsScreen) and C.alert_rules() == saved


async def test_without_a_center_the_key_says_so():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("A")
        await settle(pilot)
        assert not isinstance(app.screen, AlertsScreen)
        assert any("alerts are off" in n.message for n in app.notes)


def test_bad_rules_or_a_bad_notify_url_are_one_line_before_the_dashboard(tmp_path, capsys):
    from tuidl import cli

    assert cli.main(["--notify", "ftp://example.org/x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --notify: 'ftp://example.org/x' is not an http(s) URL") and err.count("\n") == 1
    C.config_path().write_text("[alerts]\nstall_minutes = 'ten'\n")
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {C.config_path()}: alerts.stall_minutes must be a number >= 0, got 'ten'\n"
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 2  # tuidl serve checks them before it serves
    assert "alerts.stall_minutes" in capsys.readouterr().err
    C.config_path().unlink()
    plan = cli.serve_plan(["--notify", "https://ntfy.sh/t", "--notify", "https://hooks.slack.com/x"])
    assert plan.command[-4:] == ["--notify", "https://ntfy.sh/t", "--notify", "https://hooks.slack.com/x"]
