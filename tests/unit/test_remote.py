"""The remote link's two ends without ssh (issue 29): ``tuidl stream``'s messages taken
into a host's copy, byte offsets, torn lines, duplicates and gaps, commands both ways,
the version handshake's one line. The real ssh link: tests/e2e/test_remote_e2e.py."""

from __future__ import annotations

import io
import json
import shutil

import pytest

from tuidl.core.remote import client, protocol as W
from tuidl.core.remote.mirror import Gap, Mirror, host_of, is_copy
from tuidl.core.remote.stream import CHUNK, Stream
from tuidl.core.run import rundir as R
from tuidl.core.run.events import EventWriter, event, read_events
from tuidl.core.run.runlist import run_row, scan_roots

from helpers import logged_run


class Link:
    """A stream on ``root`` and a copy for host ``gpu1``: :meth:`pump` carries what the
    stream wrote since the last pump into the copy."""

    def __init__(self, root, copies, offsets=None, sampler_factory=None):
        self.out = io.BytesIO()
        self.stream = Stream(root, self.out, telemetry_every=2.0 if sampler_factory else None,
                             sampler_factory=sampler_factory)
        self.mirror = Mirror("gpu1", copies)
        self.stream.command({"cmd": "follow", "offsets": offsets if offsets is not None else self.mirror.offsets()})
        self.now = 1000.0
        self.messages: list[dict] = []

    def pump(self, list_runs: bool = True) -> list[dict]:
        self.now += 1.0
        if list_runs:
            self.stream.list_runs(self.now)
        self.stream.poll_events(self.now, budget=1 << 30)
        if self.stream.telemetry_every:
            self.stream.telemetry(self.now)
        data = self.out.getvalue()
        self.out.seek(0)
        self.out.truncate()
        got = [W.decode(line) for line in data.splitlines()]
        for msg in got:
            if msg["t"] not in ("telemetry", "ack"):
                self.mirror.apply(msg)
        self.messages += got
        return got


def copy_of(mirror: Mirror, run: R.RunDir) -> R.RunDir:
    return R.RunDir(mirror.root / run.id)


def test_runs_are_copied_as_run_directories_byte_for_byte(tmp_path):
    root = tmp_path / "remote"
    done = logged_run(root, "done", steps=300)
    live = logged_run(root, "live", steps=20, status="running")
    link = Link(root, tmp_path / "copies")
    link.pump()
    for run in (done, live):
        copy = copy_of(link.mirror, run)
        assert is_copy(copy) and host_of(copy) == "gpu1"
        assert copy.events_path.read_bytes() == run.events_path.read_bytes()
        assert json.loads(copy.config_path.read_text()) == json.loads(run.config_path.read_text())
        assert copy.read_status()["remote"]["host"] == "gpu1"
    rows = {r.id: r for r in scan_roots(tmp_path / "local", [link.mirror.root])}
    assert rows[done.id].host == "gpu1" and rows[done.id].status == "completed"
    assert rows[live.id].live  # the remote status, as the remote machine reads it
    # even where this machine has the remote one's name and no process of that pid
    copy = copy_of(link.mirror, live)
    status = copy.read_status()
    R.write_json(copy.status_path, {**status, "pid": 999_999_999, "host": __import__("socket").gethostname()})
    assert copy.status()["status"] == "running"
    R.write_json(copy.status_path, status)
    assert rows[done.id].logged.step == 299  # the figures come from the copied events
    # one host under two names: each run listed once (the Runs pane keys its rows by id)
    again = Link(root, tmp_path / "copies-again")
    again.pump()
    both = scan_roots(tmp_path / "local", [link.mirror.root, again.mirror.root])
    assert sorted(r.id for r in both) == sorted([done.id, live.id])
    # the listing says which runs exist: a run deleted there goes from the copies
    shutil.rmtree(done.path)
    link.pump()
    assert not (link.mirror.root / done.id).exists() and (link.mirror.root / live.id).exists()


def test_only_new_whole_lines_cross_and_a_new_link_resumes_at_the_copy_s_offset(tmp_path):
    root = tmp_path / "remote"
    run = logged_run(root, "live", steps=10, status="running")
    copies = tmp_path / "copies"
    link = Link(root, copies)
    link.pump()
    copy = copy_of(link.mirror, run)
    size = copy.events_path.stat().st_size
    # a line still being written is held back until its end arrives
    torn = json.dumps(event("metrics", step=10, values={"train/loss": 0.5})).encode() + b"\n"
    with open(run.events_path, "ab") as f:
        f.write(torn[:7])
    link.pump(list_runs=False)
    assert copy.events_path.stat().st_size == size
    with open(run.events_path, "ab") as f:
        f.write(torn[7:])
    sent = [m for m in link.pump(list_runs=False) if m["t"] == "events"]
    assert [(m["offset"], m["end"]) for m in sent] == [(size, size + len(torn))]
    assert copy.events_path.read_bytes() == run.events_path.read_bytes()

    # a new link (the old one dropped) gets only what came since: no files, no old bytes
    with EventWriter(run.events_path) as w:
        for i in range(11, 15):
            w.emit("metrics", step=i, values={"train/loss": 1 / i})
    again = Link(root, copies)
    got = again.pump()
    events = [m for m in got if m["t"] == "events"]
    assert [m["offset"] for m in events] == [size + len(torn)]
    assert not any("files" in m for m in got if m["t"] == "run")
    assert copy.events_path.read_bytes() == run.events_path.read_bytes()
    assert [e["step"] for e in read_events(copy.events_path) if e["type"] == "metrics"] == list(range(15))


def test_events_already_here_are_dropped_and_a_gap_starts_the_link_over(tmp_path):
    root = tmp_path / "remote"
    run = logged_run(root, "live", steps=5, status="running")
    link = Link(root, tmp_path / "copies")
    got = link.pump()
    events = [m for m in got if m["t"] == "events"]
    before = copy_of(link.mirror, run).events_path.read_bytes()
    link.mirror.apply(events[0])  # the same bytes again (a reconnect's overlap)
    assert copy_of(link.mirror, run).events_path.read_bytes() == before and link.mirror.duplicates == 1
    ahead = {**events[0], "offset": len(before) + 10, "end": len(before) + 20}
    with pytest.raises(Gap):
        link.mirror.apply(ahead)
    # overlapping: only the part not here yet is appended
    more = b'{"type":"note","time":1}\n'
    half = {"t": "events", "id": run.id, "offset": len(before) - 3, "data": W.data_text(before[-3:] + more)}
    link.mirror.apply(half)
    assert copy_of(link.mirror, run).events_path.read_bytes() == before + more


def test_a_rewritten_events_file_starts_over_and_big_histories_come_in_chunks(tmp_path):
    root = tmp_path / "remote"
    run = logged_run(root, "big", steps=30_000)
    assert run.events_path.stat().st_size > CHUNK
    link = Link(root, tmp_path / "copies")
    link.pump()
    while link.stream.runs[run.id].offset < run.events_path.stat().st_size:
        link.pump(list_runs=False)
    sizes = [len(W.data_bytes(m["data"])) for m in link.messages if m["t"] == "events"]
    assert len(sizes) >= 2 and max(sizes) <= CHUNK
    copy = copy_of(link.mirror, run)
    assert copy.events_path.read_bytes() == run.events_path.read_bytes()
    run.events_path.write_bytes(b'{"type":"note","time":1}\n')
    link.pump()
    assert copy.events_path.read_bytes() == run.events_path.read_bytes()


def test_commands_given_to_a_copy_reach_the_remote_run(tmp_path):
    root = tmp_path / "remote"
    run = logged_run(root, "live", steps=5, status="running")
    link = Link(root, tmp_path / "copies")
    link.pump()
    copy = copy_of(link.mirror, run)
    copy.send("pause")  # what the dashboard's p does to the run it shows
    copy.send("stop")
    requests = link.mirror.take_requests()
    assert requests == [(run.id, "pause"), (run.id, "stop")]
    assert link.mirror.take_requests() == []  # taken once
    later = logged_run(root, "later", steps=5, status="running")  # a run that appears after the first look
    link.pump()
    copy_of(link.mirror, later).send("checkpoint")
    assert link.mirror.take_requests() == [(later.id, "checkpoint")]
    for run_id, command in requests:
        link.stream.command({"cmd": "control", "id": run_id, "command": command})
    assert run.take_commands() == ["pause", "stop"]  # as `tuidl pause` / `tuidl stop` there
    acks = [W.decode(line) for line in link.out.getvalue().splitlines()]
    assert [a["ok"] for a in acks] == [True, True]
    link.out.seek(0)
    link.out.truncate()
    link.stream.command({"cmd": "control", "id": "../etc", "command": "stop"})
    link.stream.command({"cmd": "control", "id": run.id, "command": "rm"})
    bad = [W.decode(line) for line in link.out.getvalue().splitlines()]
    assert [a["ok"] for a in bad] == [False, False]
    assert "no run '../etc'" in bad[0]["error"] and "unknown command 'rm'" in bad[1]["error"]


def test_resuming_a_copy_asks_its_machine(tmp_path):
    from tuidl.core.run import launch

    root = tmp_path / "remote"
    run = logged_run(root, "stopped", steps=5, status="stopped")
    link = Link(root, tmp_path / "copies")
    link.pump()
    copy = copy_of(link.mirror, run)
    assert not run_row(copy).has_checkpoint
    with pytest.raises(RuntimeError, match="no checkpoint on gpu1"):
        launch.resume(copy)
    (run.checkpoints).mkdir(exist_ok=True)
    (run.checkpoint("last")).write_bytes(b"weights")
    link.pump()
    assert run_row(copy).has_checkpoint  # the checkpoint is there, not here
    assert launch.resume(copy) is copy and copy.process is None  # nothing started here
    assert link.mirror.take_requests() == [(run.id, "relaunch")]


def test_telemetry_is_the_host_s_sample(tmp_path):
    class Sampler:
        def sample(self, pid):
            return {"gpus": [{"index": 0, "name": "H100", "util": 87.0, "mem_used": 10, "mem_total": 80}],
                    "host": {"cpu": 12.0, "ram_used": 1, "ram_total": 4, "name": "gpu1"}, "proc": None,
                    "problem": None}

    link = Link(tmp_path / "remote", tmp_path / "copies", sampler_factory=Sampler)
    got = link.pump()
    tel = [m for m in got if m["t"] == "telemetry"]
    assert tel[0]["sample"]["gpus"][0]["util"] == 87.0 and tel[0]["sample"]["host"]["name"] == "gpu1"


def test_a_host_without_tuidl_or_with_another_version_gets_one_line():
    assert W.check_hello({"t": "hello", "protocol": W.PROTOCOL, "tuidl": "0.1.0"}, "gpu1") is None
    other = W.check_hello({"t": "hello", "protocol": 99, "tuidl": "9.0"}, "gpu1")
    assert "gpu1: tuidl 9.0 there speaks stream protocol 99" in other and "\n" not in other
    assert "does not stream" in W.check_hello(W.decode(b"Welcome to Ubuntu"), "gpu1")
    host = client.RemoteHost("gpu1", remote_cmd="~/venv/bin/tuidl")
    host._failed(127, ["bash: line 1: /root/venv/bin/tuidl: No such file or directory"])
    assert host.state == "failed" and host.line.startswith("gpu1: no tuidl there (`~/venv/bin/tuidl`")
    host._failed(2, ["error: no preset 'stream'"])
    assert "another tuidl version?" in host.line
    host._failed(255, ["ssh: Could not resolve hostname gpu1"])
    assert host.state == "reconnecting" and "ssh failed: ssh: Could not resolve hostname gpu1" in host.line


def test_event_bytes_that_are_not_utf8_arrive_exactly():
    raw = b'{"type":"note","text":"\xff\xfe"}\n'
    line = W.encode({"t": "events", "data": W.data_text(raw)})
    assert W.data_bytes(W.decode(line)["data"]) == raw


def test_tuidl_stream_says_hello_and_ends_with_its_stdin(tmp_path, monkeypatch):
    import sys

    from tuidl import cli

    out = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    monkeypatch.setattr(sys, "stdout", out)
    assert cli.main(["stream", "--runs-dir", str(tmp_path / "there")]) == 0
    lines = out.buffer.getvalue().splitlines()
    assert len(lines) == 1
    hello = W.decode(lines[0])
    assert hello["t"] == "hello" and hello["protocol"] == W.PROTOCOL and hello["root"] == str(tmp_path / "there")


def test_remote_flags_parse_and_reach_every_tab_of_tuidl_serve():
    from tuidl import cli

    plan = cli.serve_plan(["--remote", "gpu1", "--remote", "me@gpu2", "--remote-cmd", "~/venv/bin/tuidl"])
    assert plan.command[3:] == ["--remote", "gpu1", "--remote", "me@gpu2", "--remote-cmd", "~/venv/bin/tuidl"]
    hosts = ["gpu1", "me@gpu2", "gpu3"]
    assert client.commands_for(hosts, ["~/venv/bin/tuidl", "me@gpu2=/opt/tuidl/bin/tuidl"]) == {
        "gpu1": "~/venv/bin/tuidl", "me@gpu2": "/opt/tuidl/bin/tuidl", "gpu3": "~/venv/bin/tuidl"}
    assert client.commands_for(hosts, ["gpu3=env TUIDL_RUNS=/data/runs tuidl"]) == {
        "gpu3": "env TUIDL_RUNS=/data/runs tuidl"}
    assert client.commands_for(hosts, ["env A=1 tuidl"]) == {h: "env A=1 tuidl" for h in hosts}  # no host named
    with pytest.raises(ValueError, match="given 2 times for every host"):
        client.commands_for(hosts, ["a", "b"])
    host = client.RemoteHost("me@gpu2", remote_cmd="~/venv/bin/tuidl")
    argv = host.argv()
    assert argv[0] == "ssh" and "BatchMode=yes" in argv and argv[-2:] == ["me@gpu2", "~/venv/bin/tuidl stream"]


def test_a_command_not_acknowledged_when_the_link_dropped_is_sent_again(tmp_path):
    from types import SimpleNamespace

    host = client.RemoteHost("gpu1", mirror_root=tmp_path / "copies")
    host._pending = {7: {"cmd": "control", "id": "r1", "command": "stop", "seq": 7}}
    stdin = io.BytesIO()
    host._proc = SimpleNamespace(stdin=stdin, poll=lambda: None)
    host._stop.set()  # only the resend, not the loop
    host._forward(host._proc)
    assert W.decode(stdin.getvalue()) == {"cmd": "control", "id": "r1", "command": "stop", "seq": 7}
    host._acked({"t": "ack", "cmd": "control", "id": "r1", "seq": 7, "ok": True, "command": "stop"})
    assert host._pending == {} and host.recent_problem() is None
    host._acked({"t": "ack", "cmd": "relaunch", "id": "r2", "seq": 8, "ok": False,
                 "error": "run r2 is still running"})
    assert host.recent_problem() == "gpu1: relaunch r2: run r2 is still running"


def test_live_runs_come_first_then_the_newest_history_within_a_budget(tmp_path):
    root = tmp_path / "remote"
    old = logged_run(root, "a-old", steps=15_000)
    new = logged_run(root, "b-new", steps=15_000)
    assert min(old.events_path.stat().st_size, new.events_path.stat().st_size) > CHUNK
    live = logged_run(root, "c-live", steps=10, status="running")
    out = io.BytesIO()
    stream = Stream(root, out, telemetry_every=None)
    stream.command({"cmd": "follow", "offsets": {}})
    stream.list_runs(1000.0)
    stream.poll_events(1000.0, budget=CHUNK)
    msgs = [W.decode(line) for line in out.getvalue().splitlines()]
    kinds = [m["t"] for m in msgs]
    assert kinds.index("runs") < kinds.index("events")  # every run listed before any history
    order = [m["id"] for m in msgs if m["t"] == "events"]
    assert order == [live.id, new.id]  # the live run, then one chunk of the newest history
    assert stream.runs[old.id].offset == 0  # its turn comes at the next rounds



def test_a_remote_logged_run_is_not_run_again_here(tmp_path):
    from tuidl.core.run import command

    root = tmp_path / "remote"
    run = logged_run(root, "script", steps=5)
    R.write_json(run.status_path, {**run.read_status(), "command": ["python", "train.py"], "cwd": str(tmp_path)})
    assert command.again_of(run)[:2] == (["python", "train.py"], str(tmp_path))  # here: it would run
    link = Link(root, tmp_path / "copies")
    link.pump()
    with pytest.raises(ValueError, match=f"run {run.id} ran on gpu1: run it again there"):
        command.again_of(copy_of(link.mirror, run))
