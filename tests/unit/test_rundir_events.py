"""The event stream and the run directory contracts."""

import json
import os

import pytest

from tuidl.core.run import events as E
from tuidl.core.run import rundir as R
from tuidl.core.preset.schema import ConfigError
from tuidl.core.numbers import number


def test_events_round_trip_and_nan(tmp_path):
    path = tmp_path / "events.jsonl"
    with E.EventWriter(path) as w:
        w.emit("run_started", schema=1)
        w.emit("step", loss=float("nan"), acc=0.5, big=float("inf"))
    evs = E.read_events(path)
    assert [e["type"] for e in evs] == ["run_started", "step"]
    assert evs[1]["loss"] == "nan" and number(evs[1]["loss"]) != number(evs[1]["loss"])
    assert number(evs[1]["big"]) == float("inf")
    for line in path.read_text().splitlines():
        json.loads(line)  # standard JSON, no NaN literals


def test_a_line_is_the_same_json_whichever_encoder_wrote_it():
    """orjson writes the common case; what it would write otherwise (NaN and inf as null,
    big ints, int keys, numpy numbers, dataclasses) takes the json module's way. Every line
    reads back as the json module's own line does, NaN and inf as strings."""
    import dataclasses

    import numpy as np

    @dataclasses.dataclass
    class Point:
        x: int

    def by_json(ev):
        return json.loads(json.dumps(E._clean(ev)))

    events = [
        {"type": "metrics", "time": 1.5, "step": 3, "values": {"loss": 0.1, "tiny": 1e-300, "n": 2, "ü": -0.0}},
        {"type": "metrics", "time": 1.5, "step": 4, "values": {"loss": float("nan"), "up": float("inf"),
                                                               "down": float("-inf")}},
        {"type": "note", "message": None, "big": 2 ** 70, "pair": (1, 2), "null_rate": "null"},
        {"type": "x", 1: "int key", "v": np.float64(0.25), "flag": True},
    ]
    for ev in events:
        line = E.encode(ev)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert json.loads(line) == by_json(ev)
    assert json.loads(E.encode(events[1]))["values"] == {"loss": "nan", "up": "inf", "down": "-inf"}
    with pytest.raises(TypeError):  # as the json module: the SDK turns such a value into text itself
        E.encode({"type": "x", "p": Point(1)})


def test_tail_holds_back_a_torn_last_line(tmp_path):
    path = tmp_path / "events.jsonl"
    tail = E.EventTail(path)
    assert tail.poll() == []  # before the file exists
    with open(path, "wb") as f:
        f.write(b'{"type":"a","time":1}\n{"type":"b","ti')
    assert [e["type"] for e in tail.poll()] == ["a"]
    with open(path, "ab") as f:
        f.write(b'me":2}\n')
    assert [e["type"] for e in tail.poll()] == ["b"]
    with open(path, "ab") as f:
        f.write(b'garbage\n{"type":"c","time":3}\n{"type":"d"')
    assert [e["type"] for e in tail.poll()] == ["c"] and tail.bad_lines == 1
    assert [e["type"] for e in E.read_events(path)] == ["a", "b", "c"]


def test_tail_says_when_more_of_the_file_waits(tmp_path):
    path = tmp_path / "events.jsonl"
    with open(path, "wb") as f:
        for i in range(100):
            f.write(b'{"type":"a","time":%d}\n' % i)
    tail = E.EventTail(path)
    first = tail.poll(max_bytes=600)  # a reader catching up with a history: more waits
    assert first and tail.behind
    rest = tail.poll()
    assert not tail.behind and [e["time"] for e in first + rest] == list(range(100))
    assert tail.poll() == [] and not tail.behind


def test_gc_paused_nests_across_threads_and_gives_the_collector_back():
    import gc
    import threading

    assert gc.isenabled()
    inside = threading.Event()
    leave = threading.Event()

    def other() -> None:
        with E.gc_paused:
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with E.gc_paused:
        thread.start()
        assert inside.wait(5) and not gc.isenabled()
    assert not gc.isenabled()  # the other thread is still in its batch
    leave.set()
    thread.join(5)
    assert gc.isenabled()
    gc.disable()
    try:  # paused by someone else before: left as it was
        with E.gc_paused:
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_run_dir_is_created_whole(tmp_path):
    run = R.create(tmp_path, "spiral", 'name = "spiral"\n')
    assert run.path.parent == tmp_path and run.preset_path.read_text() == 'name = "spiral"\n'
    assert run.checkpoints.is_dir() and run.read_status()["status"] == "created"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    other = R.create(tmp_path, "spiral", "")
    assert other.path != run.path
    assert [r.id for r in R.list_runs(tmp_path)] == sorted([run.id, other.id])


def test_control_commands_are_taken_once_in_order(tmp_path):
    run = R.create(tmp_path, "x", "")
    run.send("pause")
    run.send("resume")
    run.send("stop")
    assert run.take_commands() == ["pause", "resume", "stop"]
    assert run.take_commands() == []
    with pytest.raises(ValueError):
        run.send("rm -rf")


@pytest.mark.parametrize("ref", ["../etc", "../../x", "/etc", "a/../../b", ".hidden"])
def test_ids_cannot_escape_the_runs_root(tmp_path, ref):
    with pytest.raises(ConfigError):
        R.open_run(ref, tmp_path)


def test_open_by_id_and_by_path(tmp_path):
    run = R.create(tmp_path, "x", "")
    assert R.open_run(run.id, tmp_path).path == run.path.resolve()
    assert R.open_run(str(run.path), tmp_path / "elsewhere").path == run.path.resolve()


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "status.json"
    R.write_atomic(target, b"old")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        R.write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_a_resumed_writer_starts_on_a_fresh_line_after_a_torn_one(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"type":"a","time":1}\n{"type":"run_end')  # killed mid-line
    with E.EventWriter(path) as w:
        w.emit("run_started", schema=1)
    assert [e["type"] for e in E.read_events(path)] == ["a", "run_started"]
