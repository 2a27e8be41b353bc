"""The live instruments in a real trainer process: a dashboard's ``watch_health``
through the control folder turns layer health on in a run that had it off. The
in-process twins are in tests/functional/test_live_instruments.py."""

from tuidl.core.run import events as E
from tuidl.core.run import launch
from tuidl.core.preset import preset as P
from helpers import end_process, wait_until


def test_watch_health_turns_it_on_in_a_live_run(tmp_path):
    preset = P.load("spiral", ["train.epochs=2000", "train.device='cpu'"])
    run = launch.start(preset, runs_root=tmp_path, telemetry=False)
    try:
        tail = E.EventTail(run.events_path)
        seen = []
        wait_until(lambda: seen.extend(tail.poll()) or any(e["type"] == "epoch" for e in seen), run=run)
        assert not any(e["type"] == "health" for e in seen)  # off, and nobody watches
        run.send("watch_health")
        wait_until(lambda: seen.extend(tail.poll()) or any(e["type"] == "health" for e in seen), timeout=30, run=run)
        ev = next(e for e in seen if e["type"] == "health")
        assert [layer["name"] for layer in ev["layers"]] == ["dense_1", "dense_2", "dense_3"]
        assert not any(e["type"] == "neurons" for e in seen)  # only what was asked for
        run.send("stop")
        assert run.process.wait(timeout=60) == 0
    finally:
        end_process(run.process.pid)
