"""``tuidl alerts``: the rules without a dashboard, as a user starts it on a server (its
own process, its stdout a terminal): a NaN loss and a run's end come out as lines with
the bell, title and OSC 9 / OSC 777 sequences, once each; ``--test`` says which webhooks
work."""

import json
import os
import pty
import socket
import subprocess
import sys
import time

from helpers import PtyReader, ROOT, end_process, ended, run_cli, started, step, wait_until
from test_alert_delivery import Receiver

from tuidl.core.run import events as E
from tuidl.core.run import rundir as R


def test_alerts_without_a_dashboard_reach_the_terminal_once(tmp_path):
    root = tmp_path / "runs"
    run = R.create(root, "watched", "")
    run.write_status(status="running", pid=os.getpid(), host=socket.gethostname())
    master, slave = pty.openpty()
    reader = PtyReader(master)
    reader.start()
    proc = subprocess.Popen([sys.executable, "-m", "tuidl", "alerts", "--runs-dir", str(root)], stdout=slave,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    os.close(slave)
    try:
        wait_until(lambda: b"watching the runs" in reader.data, 60, "tuidl alerts to start")
        with E.EventWriter(run.events_path) as w:
            w.write(started(t=time.time()))
            w.write(step(1, 1, 1, loss=0.5, t=time.time()))
            w.write(step(1, 2, 2, loss="nan", t=time.time()))
        wait_until(lambda: b"loss is nan" in reader.data, 30, "the NaN alert")
        with E.EventWriter(run.events_path) as w:
            w.write(ended("failed", t=time.time()))
        run.write_status(status="failed")
        wait_until(lambda: b"Run failed" in reader.data, 30, "the end alert")
        time.sleep(4.5)  # two more looks: nothing again
        text = reader.data.decode(errors="replace")
        assert text.count("ERROR loss is nan · " + run.id) == 1 and text.count("ERROR Run failed · " + run.id) == 1
        assert f"\x1b]9;loss is nan · {run.id}: loss became nan at step 2\x07" in text
        assert f"\x1b]777;notify;Run failed · {run.id};trained 4 epochs" in text
        assert f"\x1b]2;tuidl: Run failed · {run.id}\x07" in text and "\x07" in text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        end_process(proc.pid)
        os.close(master)


def test_alerts_test_says_which_webhooks_work():
    good = Receiver()
    try:
        out = run_cli("alerts", "--test", "--notify", f"slack+{good.url}/hook", "--notify", "http://127.0.0.1:9/x")
        assert out.returncode == 1, out
        assert "INFO  tuidl test alert: if you read this, alerts reach you" in out.stdout
        assert f"sent: slack+{good.url}/hook" in out.stdout
        assert "failed: webhook http://127.0.0.1:9/…" in out.stdout
        assert [json.loads(b)["text"] for _, _, b in good.got] == ["ℹ️ *tuidl test alert*\nif you read this, alerts reach you"]
        assert run_cli("alerts", "--test").returncode == 0
    finally:
        good.shutdown()
        good.server_close()
