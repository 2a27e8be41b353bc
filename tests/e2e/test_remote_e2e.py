"""``tuidl --remote`` through a real sshd on 127.0.0.1 (issue 29, item 3): the system's
ssh client, a key made for the test, ``tuidl stream`` on the far side with a runs root of
its own. The dashboard lists the remote runs (with their host), follows a live one,
stops it; a killed ssh client reconnects with no event lost or doubled.

sshd comes from openssh-server (``.ci/run`` installs it when missing). Without it these
tests skip, except where ``TUIDL_REQUIRE_SSHD=1`` (CI) makes that a failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sshd as S
from helpers import logged_run, wait_for, wait_until
from test_runs_pane import SIZE, make_app, runs_shown
from tuidl.core.remote import client
from tuidl.core.run import rundir as R
from tuidl.core.run.events import read_events

LIVE_SCRIPT = """\
import sys, time, tuidl
n, pause = int(sys.argv[1]), float(sys.argv[2])
run = tuidl.init(name="live", config={"lr": 0.1})
for i in range(n):
    if run.should_stop:
        break
    run.log({"train/loss": 1.0 / (i + 1)}, step=i)
    time.sleep(pause)
run.finish()
"""


@pytest.fixture(scope="module")
def sshd_server(tmp_path_factory):
    try:
        server = S.start(tmp_path_factory.mktemp("sshd"))
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:
        if os.environ.get("TUIDL_REQUIRE_SSHD") == "1":
            pytest.fail(f"sshd is required here: {err}")
        pytest.skip(f"no sshd: {err}")
    yield server
    server.stop()


class Remote:
    """This test's remote side: its runs root and tuidl command, and the links made."""

    def __init__(self, server: S.Sshd, folder: Path) -> None:
        self.server = server
        self.root = folder / "remote-runs"
        self.cmd = S.remote_tuidl(folder, self.root)
        self.copies = folder / "copies"
        self.scripts: list[subprocess.Popen] = []

    def connect(self, remote_cmd: str | None = None) -> client.RemoteHost:
        return client.connect([S.ALIAS], remote_cmd=remote_cmd or self.cmd, ssh_options=self.server.ssh_options,
                              mirror_root=self.copies)[0]

    def live_run(self, steps: int, pause: float) -> subprocess.Popen:
        """A script logging ``steps`` steps there (``tuidl.init`` / ``log``), as it runs."""
        script = self.root.parent / "live.py"
        script.write_text(LIVE_SCRIPT)
        env = {**os.environ, "TUIDL_RUNS": str(self.root), "PYTHONPATH": str(S.REPO)}
        proc = subprocess.Popen([sys.executable, str(script), str(steps), str(pause)], env=env,
                                stdin=subprocess.DEVNULL)
        self.scripts.append(proc)
        return proc

    def the_run(self) -> R.RunDir:
        wait_until(lambda: R.list_runs(self.root), timeout=60, what="the remote run")
        return R.list_runs(self.root)[0]

    def copy(self, run: R.RunDir) -> R.RunDir:
        return R.RunDir(self.copies / run.id)


@pytest.fixture
def remote(sshd_server, tmp_path):
    side = Remote(sshd_server, tmp_path)
    yield side
    client.disconnect()
    for proc in side.scripts:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def same_bytes(a: R.RunDir, b: R.RunDir) -> bool:
    try:
        return a.events_path.read_bytes() == b.events_path.read_bytes()
    except OSError:
        return False


@pytest.mark.e2e
async def test_the_dashboard_lists_remote_runs_with_their_host_and_gpus(remote, tmp_path):
    big = logged_run(remote.root, "big", steps=20_000)
    small = logged_run(remote.root, "small", steps=50)
    local = logged_run(tmp_path / "runs", "here", steps=10)
    t0 = time.monotonic()
    host = remote.connect()
    wait_until(lambda: same_bytes(big, remote.copy(big)) and same_bytes(small, remote.copy(small)), timeout=90,
               what="the copies")
    took = time.monotonic() - t0
    lines = len(read_events(big.events_path)) + len(read_events(small.events_path))
    print(f"\nfirst sync over ssh: {lines} events, {big.events_path.stat().st_size / 1e6:.1f} MB in {took:.2f} s "
          f"({lines / took:,.0f} events/s, connect included)")
    assert host.state == "connected" and host.hello["protocol"] == 1

    app = make_app(tmp_path / "runs", runs_interval=0.5, system_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        await wait_for(pilot, lambda: {big.id, small.id, local.id} <= {r.id for r in pane.rows}, what="all runs")
        hosts = {r.id: r.host for r in pane.rows}
        assert hosts[big.id] == hosts[small.id] == S.ALIAS and hosts[local.id] == ""
        assert [label for _k, label in pane.columns][:2] == [" ", "Host"]
        cell = pane.table.get_cell(big.id, "host")
        assert str(cell) == S.ALIAS and str(pane.table.get_cell(local.id, "host")) == "local"
        row = next(r for r in pane.rows if r.id == big.id)
        assert row.status == "completed" and row.logged.step == 19_999  # read from the copied events

        await pilot.press("4")  # the System pane: the host's card, from its telemetry
        from tuidl.ui.widgets.remote_hosts import RemoteHosts

        cards = app.query_one(RemoteHosts)
        await wait_for(pilot, lambda: host.telemetry is not None and "CPU" in cards.text(), timeout=30,
                       what="the host's figures")
        assert cards.text().startswith(S.ALIAS) and "RAM" in cards.text()


@pytest.mark.e2e
async def test_follow_a_live_remote_run_and_stop_it_from_the_dashboard(remote, tmp_path):
    script = remote.live_run(100_000, 0.01)
    run = remote.the_run()
    remote.connect()
    app = make_app(tmp_path / "runs", runs_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        await wait_for(pilot, lambda: any(r.id == run.id and r.live for r in pane.rows), timeout=60,
                       what="the live remote run listed")
        assert pane.select(run.id)
        await pilot.press("enter")  # attach to it, as to a local live run
        await wait_for(pilot, lambda: app.session.run is not None and app.session.run.id == run.id
                       and app.session.live, what="the attach")
        seen = app.session.events_received
        await wait_for(pilot, lambda: app.session.events_received > seen + 20, timeout=30,
                       what="new events followed live")
        await pilot.press("x")  # stop, as for a local run
        await wait_for(pilot, lambda: script.poll() is not None, timeout=60, what="the remote script to stop")
        assert R.RunDir(run.path).status()["status"] == "stopped"
        copy = remote.copy(run)
        await wait_for(pilot, lambda: copy.read_status().get("status") == "stopped" and same_bytes(run, copy),
                       timeout=30, what="the copy to end as stopped")
        await wait_for(pilot, lambda: app.session.ended is not None, timeout=30, what="the dashboard to see the end")
        events = read_events(copy.events_path)
        steps = [e["step"] for e in events if e["type"] == "metrics"]
        assert steps == list(range(len(steps))) and 20 < len(steps) < 100_000
        assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "stopped"


@pytest.mark.e2e
def test_a_killed_ssh_client_reconnects_with_no_event_lost_or_doubled(remote):
    steps = 3000
    script = remote.live_run(steps, 0.003)
    run = remote.the_run()
    host = remote.connect()
    copy = remote.copy(run)

    def lines() -> int:
        try:
            return copy.events_path.read_bytes().count(b"\n")
        except OSError:
            return 0

    drops = []
    for target in (200, 1200):  # twice, mid-stream
        wait_until(lambda: lines() > target and host.pid is not None, timeout=60, what=f"{target} events copied")
        connects = host.connects
        os.kill(host.pid, signal.SIGKILL)
        dropped = time.monotonic()
        wait_until(lambda: host.connects > connects and host.state == "connected", timeout=60, what="the reconnect")
        drops.append(time.monotonic() - dropped)
    assert script.wait(timeout=120) == 0
    wait_until(lambda: same_bytes(run, copy) and copy.read_status().get("status") == "completed", timeout=60,
               what="the copy to catch up")
    events = read_events(copy.events_path)
    assert [e["step"] for e in events if e["type"] == "metrics"] == list(range(steps))
    assert events[-1]["type"] == "run_ended"
    print(f"\nreconnects after a killed ssh client: {', '.join(f'{d:.2f} s' for d in drops)} "
          f"(backoff {host.backoff[0]} s included); duplicates dropped: {host.mirror.duplicates}")


@pytest.mark.e2e
async def test_a_host_without_tuidl_or_with_another_version_gets_one_line(remote, tmp_path):
    """...and a login script's greeting before the hello does not count as either."""
    missing = client.connect([S.ALIAS], remote_cmd="/nonexistent/tuidl", ssh_options=remote.server.ssh_options,
                             mirror_root=tmp_path / "a")[0]
    other = client.connect([S.ALIAS], remote_cmd="""printf '%s\\n' '{"t":"hello","tuidl":"9.9","protocol":99}' #""",
                           ssh_options=remote.server.ssh_options, mirror_root=tmp_path / "b")[0]
    chatty = client.connect([S.ALIAS], remote_cmd=f"echo 'Welcome to gpu1'; {remote.cmd}",
                            ssh_options=remote.server.ssh_options, mirror_root=tmp_path / "c")[0]
    wait_until(lambda: missing.state == "failed" and other.state == "failed", timeout=60, what="both to fail")
    wait_until(lambda: chatty.state == "connected", timeout=60, what="a banner before the hello passed over")
    # a message the client cannot take starts the link over; it never ends the link for good
    broken = client.connect([S.ALIAS], remote_cmd="""printf '%s\n' '{"t":"hello","tuidl":"0.1.0","protocol":1}' """
                            """'{"t":"run","id":"r1","status":{}}' '{"t":"events","id":"r1","offset":null}' #""",
                            ssh_options=remote.server.ssh_options, mirror_root=tmp_path / "d", backoff=(0.1, 0.2))[0]
    wait_until(lambda: broken.connects >= 2 and "link dropped (TypeError" in broken.line, timeout=60,
               what="the link started over, saying why")
    assert broken._thread.is_alive()
    assert missing.line.startswith(f"{S.ALIAS}: no tuidl there (`/nonexistent/tuidl`")
    assert f"{S.ALIAS}: tuidl 9.9 there speaks stream protocol 99" in other.line
    app = make_app(tmp_path / "runs", runs_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        await wait_for(pilot, lambda: "no tuidl there" in str(pane.hint.visual), what="the hint")
        assert "speaks stream protocol 99" in str(pane.hint.visual)


@pytest.mark.e2e
async def test_resume_a_stopped_remote_run_on_its_machine(remote, tmp_path, monkeypatch):
    """u on a stopped remote run continues it from its checkpoint there (a trainer of
    that machine), and the dashboard follows it to the end."""
    from tuidl.core.preset import preset as P
    from tuidl.core.train import Trainer

    preset = P.load("xor", ["train.epochs=3", "data.params.n_samples=200", "train.device='cpu'"])
    P.resolve(preset)
    run = R.create(remote.root, preset.name, P.dumps(preset))
    monkeypatch.setenv("TUIDL_FAULT", "stop@12")  # as if stopped during epoch 2
    assert Trainer(preset, run, handle_signals=False).run() == "stopped"
    monkeypatch.delenv("TUIDL_FAULT")
    remote.connect()
    copy = remote.copy(run)
    wait_until(lambda: same_bytes(run, copy), timeout=60, what="the copy")
    assert not copy.checkpoint("last").exists()  # checkpoints stay there

    app = make_app(tmp_path / "runs", runs_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        await wait_for(pilot, lambda: run.id in {r.id for r in pane.rows}, what="the remote run listed")
        assert pane.select(run.id)
        assert "u resumes it" in str(pane.detail.content)
        await pilot.press("u")
        await wait_for(pilot, lambda: R.RunDir(run.path).status()["status"] == "completed", timeout=120,
                       what="the run to complete there", run=run)
        await wait_for(pilot, lambda: copy.read_status().get("status") == "completed" and same_bytes(run, copy),
                       timeout=30, what="the copy to complete")
        await wait_for(pilot, lambda: app.session.run is not None and app.session.run.id == run.id
                       and app.session.ended is not None and app.session.ended.get("status") == "completed",
                       timeout=30, what="the dashboard to follow the resumed run to its end")
    events = read_events(copy.events_path)
    assert [e["resumed_from"] for e in events if e["type"] == "run_started"][1] >= 1
