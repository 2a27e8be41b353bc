"""The columnar fast path of a logged run's history (tuidl.core.run.columns): metrics
events compacted into arrays, and the columns cache kept next to a finished run's
events file, give RunView the state the ordinary path gives it, event by event, on
the same file: NaN and infinite values, any metric names, gaps, events that are not
plain (they take the ordinary path in their place), a resume, a file still growing."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tuidl.core.run import columns as C
from tuidl.core.run import events as E
from tuidl.core.run import runview
from tuidl.core.run.runview import RunView

NAMES = ["train/loss", "val/loss", "acc", "λ rate (%)", "a" * 80, "x/y/z.w-1", "",
         "val_acc", "train/m 9"]


def history(steps: int = C.CACHE_MIN + 700, ended: bool = True) -> list[dict]:
    """A logged run's events with everything the readers meet."""
    t0 = 1_000_000.0
    evs: list[dict] = [{"type": "run_started", "time": t0, "schema": 1, "source": "script", "name": "s",
                        "config": {"lr": 0.1}, "pid": 1}]
    for i in range(steps):
        values = {"train/loss": 2.0 * math.exp(-i / 500), "acc": i / steps}
        if i % 7 == 0:  # a validation line with gaps
            values["val/loss"] = float("nan") if i == 14 else float("inf") if i == 21 else 2.5 - i / steps
        if i >= 300:  # names that come later, some only now and then
            values["λ rate (%)"] = -float("inf") if i == 301 else i
        if i % 250 == 3:
            values["a" * 80] = 1e308
            values["x/y/z.w-1"] = -0.0
            values[""] = 7
        step = i * 3 if i < 1000 else i * 3 + 5000  # a gap in the steps
        evs.append({"type": "metrics", "time": t0 + 0.5 + i * 0.1 if i != 40 else int(t0 + 4), "step": step,
                    "values": values})
        if i == 100:
            evs.append({"type": "config", "time": t0 + 11, "values": {"batch": 32}})
        if i % 600 == 599:
            evs.append({"type": "telemetry", "time": t0 + i * 0.1, "process": {"pid": 1, "cpu_percent": 90.0}})
    # events that are no plain metrics, among plain ones: they go the ordinary way, in their place
    odd = [{"type": "metrics", "time": t0 + 1, "step": None, "values": {"train/loss": 1.5}},
           {"type": "metrics", "time": t0 + 1, "step": "17", "values": {"train/loss": 1.25}},
           {"type": "metrics", "time": t0 + 1, "step": 18, "values": {"train/loss": True}},
           {"type": "metrics", "time": t0 + 1, "step": 19, "values": {"train/loss": None, "acc": "0.5"}},
           {"type": "metrics", "time": t0 + 1, "step": float("nan"), "values": {"train/loss": 1.0}},
           {"type": "metrics", "time": t0 + 1, "step": 20, "values": [1, 2]},
           {"type": "metrics", "time": "soon", "step": 21, "values": {"train/loss": 1.0}},
           {"type": "metrics", "time": t0 + 1, "step": 2 ** 60, "values": {"train/loss": 1.0}},
           {"type": "metrics", "time": t0 + 1, "step": 22, "values": {}},
           {"type": "mystery", "time": t0 + 1}]
    for k, ev in enumerate(odd):
        evs.insert(50 + 30 * k, ev)
    evs.append({"type": "summary", "time": t0 + steps, "values": {"train/loss": 0.01, "note": "fine"}})
    if ended:
        evs.append({"type": "run_ended", "time": t0 + steps, "status": "completed"})
    return evs


def write(path, evs: list[dict]) -> None:
    with open(path, "w") as f:  # NaN and Infinity as bare words, as Python's json writes them
        f.writelines(json.dumps(ev) + "\n" for ev in evs)


def state(view: RunView) -> dict:
    """Everything a reader of a logged run's view may read."""
    sc = view.scalars
    out = {"events": view.events, "bad": view.bad_events, "step": view.progress.step, "status": view.status,
           "restarts": view.restarts, "started": view.started, "ended": view.ended, "telemetry": view.telemetry,
           "names": sc.names, "last_step": sc.last_step, "n": sc.events, "version": sc.version, "t0": sc.t0,
           "config": sc.config, "set_summary": sc.set_summary}
    for name in sc.names:
        s = sc[name]
        out[name] = [np.asarray(getattr(s, k)).tobytes() for k in ("steps", "times", "values")] + [
            repr(s.last()), repr(s.best())]
    out["summary"] = repr(view.summary())
    return out


def one_by_one(evs: list) -> RunView:
    view = RunView()
    for ev in evs:
        view.apply([ev])
    return view


def test_compacted_events_give_the_state_of_the_events_one_by_one():
    evs = history()
    items = C.compact(evs)
    cols = [item for item in items if type(item) is C.MetricsColumns]
    assert cols and sum(c.count for c in cols) > C.CACHE_MIN  # the fast path was taken...
    assert C.count(items) == len(evs)
    assert sum(1 for item in items if type(item) is dict and item["type"] == "metrics") == 8  # ...but for the odd ones
    expected = state(one_by_one(evs))
    assert expected["bad"] == 2 and expected["names"][:3] == ["train/loss", "acc", "val/loss"]
    assert state(RunView(items)) == expected
    assert state(RunView(evs)) == expected  # (the ordinary bulk path, for the record)
    # in batches of any size, as a follower posts them
    view = RunView()
    for i in range(0, len(evs), 333):
        view.apply(C.compact(evs[i:i + 333]))
    assert state(view) == expected


def test_the_cache_of_a_finished_run_gives_the_same_state(tmp_path):
    path = tmp_path / "events.jsonl"
    evs = history()
    write(path, evs)
    expected = state(one_by_one(E.read_events(path)))
    assert not C.cache_path(path).exists()
    items, offset = C.read(path)  # parsed, and kept as the cache (the run ended)
    assert offset == path.stat().st_size and C.cache_path(path).is_file()
    assert state(RunView(items)) == expected
    got = C.cached(path)
    assert got is not None and got[1] == offset
    assert sum(1 for item in got[0] if type(item) is C.MetricsColumns) >= 3  # split where other events came
    assert state(RunView(got[0])) == expected
    assert state(runview.load(path)) == expected  # load reads the cache


def test_the_cache_is_passed_over_when_the_file_changes_or_it_is_damaged(tmp_path):
    path = tmp_path / "events.jsonl"
    evs = history()
    write(path, evs)
    C.read(path)
    assert C.cached(path) is not None
    with open(path, "a") as f:  # resumed: the run logs on
        f.write(json.dumps({"type": "run_started", "time": 2e6, "source": "script", "name": "s"}) + "\n")
        f.write(json.dumps({"type": "metrics", "time": 2e6 + 1, "step": 1e6, "values": {"acc": 0.99}}) + "\n")
    assert C.cached(path) is None
    more = evs + [{"type": "run_started", "time": 2e6, "source": "script", "name": "s"},
                  {"type": "metrics", "time": 2e6 + 1, "step": 1e6, "values": {"acc": 0.99}}]
    view = runview.load(path)
    assert state(view) == state(one_by_one(more)) and view.restarts == 1
    assert C.cached(path) is None  # not ended: no cache written for the file as it is now
    C.cache_path(path).write_bytes(b"PK\x03\x04 not a zip at all")
    assert C.cached(path) is None and state(runview.load(path)) == state(one_by_one(more))


def test_a_small_or_live_history_gets_no_cache(tmp_path):
    small, live = tmp_path / "small.jsonl", tmp_path / "live.jsonl"
    write(small, history(steps=300))
    write(live, history(ended=False))
    for path in (small, live):
        C.read(path)
        assert not C.cache_path(path).exists()


def test_a_growing_file_read_in_pieces_gives_the_state_of_the_whole(tmp_path):
    """A live run: the tail reads what was written so far (a torn last line waits for
    its end), each poll compacted as the follower does."""
    path = tmp_path / "events.jsonl"
    evs = history(ended=False)
    text = "".join(json.dumps(ev) + "\n" for ev in evs)
    tail, view = E.EventTail(path), RunView()
    cuts = list(range(0, len(text), 70_001)) + [len(text)]
    with open(path, "w") as f:
        for a, b in zip(cuts, cuts[1:]):
            f.write(text[a:b])  # mostly cut inside a line
            f.flush()
            view.apply(C.compact(tail.poll(1 << 16)))
            while tail.behind:
                view.apply(C.compact(tail.poll(1 << 16)))
    assert state(view) == state(one_by_one(evs))


def test_values_come_out_as_the_ordinary_path_reads_them():
    evs = [{"type": "run_started", "time": 5.0}] + [
        {"type": "metrics", "time": 5 + i, "step": i, "values": {"v": v}}
        for i, v in enumerate([float("nan"), float("inf"), -float("inf"), 3, -0.0, 1e-320, 2 ** 52])]
    view = RunView(C.compact(evs))
    v = view.scalars["v"]
    assert v.values.tolist()[1:] == [math.inf, -math.inf, 3.0, -0.0, 1e-320, 2.0 ** 52] and math.isnan(v.values[0])
    assert v.times.tolist() == [float(i) for i in range(7)]
    assert state(view) == state(one_by_one(evs))


@pytest.mark.parametrize("first", ["metrics", "run_started"])
def test_a_history_that_starts_with_metrics(first):
    """No run_started first: the first metrics event sets the time the others count from."""
    evs = [{"type": "metrics", "time": 10.0 + i, "step": i, "values": {"loss": 1.0 / (i + 1)}} for i in range(50)]
    if first == "run_started":
        evs.insert(0, {"type": "run_started", "time": 3.0})
    assert state(RunView(C.compact(evs))) == state(one_by_one(evs))


def sdk_run(tmp_path, monkeypatch, steps: int = C.CACHE_MIN + 500, disk_full_at: int | None = None):
    """A run logged through tuidl.init / run.log / finish with everything a script may
    log: NaN and inf, ints beyond 2**53, names that are no strings, nested dicts, values
    that are no numbers, steps given and not, commit=False, config, summary, alerts."""
    import tuidl
    from tuidl import sdk

    monkeypatch.setattr(sdk, "_hooks_installed", True)  # no excepthook / atexit / signals in the test process
    monkeypatch.setattr(sdk, "_warned", set())  # (its warnings are once per process: not used up for test_sdk)
    monkeypatch.delenv(sdk.ENV_RUN, raising=False)
    run = tuidl.init(name="sdk", dir=tmp_path / "runs", config={"lr": 0.1}, telemetry=False)
    for i in range(steps):
        values = {"train/loss": 2.0 * math.exp(-i / 500), "acc": i / steps}
        if i % 7 == 0:
            values["val/loss"] = float("nan") if i == 14 else float("inf") if i == 21 else 2.5 - i / steps
        if i >= 300:
            values["λ rate (%)"] = -float("inf") if i == 301 else i
        if i == 400:
            values["big"] = 2 ** 60
        if i == 401:
            values[7] = 1.0  # written as "7"
        if i == 402:
            values["nested"] = {"a": 1.0, "b": {"c": 2}}
        if i == 403:
            values["text"] = "not a number"
        if i == 404:
            values["flag"] = True
        if i == 405:
            values = {}
        if i == 900:
            run.config.update({"batch": 32})
        if i == 1000:
            run.alert("half way", "a note", level="info")
        if i == 1100:
            run.summary["best"] = 0.5
        run.log(values, step=i * 3 if i < 1500 else None, commit=i % 97 != 5)
        if i == disk_full_at:  # one flush to a full device (what is refused is written later)
            import os

            run._flush()
            fd = run._writer._fd
            real, full = os.dup(fd), os.open("/dev/full", os.O_WRONLY)
            os.dup2(full, fd)
            try:
                run.log({"train/loss": 0.25}, step=10 ** 6)
                run._flush()
            finally:
                os.dup2(real, fd)
                os.close(real)
                os.close(full)
    run.summary["final"] = float("nan")
    run.finish()
    return run


def test_an_sdk_run_has_its_cache_when_it_finishes_with_the_state_of_its_events(tmp_path, monkeypatch, capsys):
    parsed = []
    monkeypatch.setattr(C, "read", lambda *a, **k: parsed.append(a) or (_ for _ in ()).throw(AssertionError))
    run = sdk_run(tmp_path, monkeypatch)
    path = run.run_dir.events_path
    assert not parsed  # built from what the writer had, not by parsing the file back
    got = C.cached(path)  # there before anyone opened the run, for the file as it is
    assert got is not None and got[1] == path.stat().st_size
    evs = E.read_events(path)
    assert evs[-1]["type"] == "run_ended" and [ev["type"] for ev in evs].count("summary") >= 1
    assert sum(c.count for c in got[0] if type(c) is C.MetricsColumns) > C.CACHE_MIN
    expected = state(one_by_one(evs))
    vals = one_by_one(evs).scalars["val/loss"].values.tolist()
    assert math.isnan(vals[2]) and vals[3] == math.inf  # NaN and inf kept
    assert state(RunView(got[0])) == expected
    assert state(runview.load(path)) == expected
    monkeypatch.undo()
    C.cache_path(path).unlink()  # the cache the dashboard would write by parsing: the same state
    assert state(RunView(C.read(path)[0])) == expected and C.cached(path) is not None


@pytest.mark.parametrize("why", ["too long to keep", "a write failed"])
def test_an_sdk_run_whose_columns_were_not_kept_parses_its_file_at_the_end(tmp_path, monkeypatch, why):
    from tuidl import sdk

    if why == "too long to keep":
        monkeypatch.setattr(sdk._Columns, "LIMIT", 1000)
    run = sdk_run(tmp_path, monkeypatch, disk_full_at=1200 if why == "a write failed" else None)
    assert run._columns is None if why == "a write failed" else run._columns.full
    path = run.run_dir.events_path
    got = C.cached(path)
    assert got is not None
    assert state(RunView(got[0])) == state(one_by_one(E.read_events(path)))


def test_a_small_sdk_run_gets_no_cache(tmp_path, monkeypatch):
    run = sdk_run(tmp_path, monkeypatch, steps=C.CACHE_MIN - 100)
    assert not C.cache_path(run.run_dir.events_path).exists()
