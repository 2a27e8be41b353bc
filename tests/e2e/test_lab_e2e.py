"""A live trainer process answers the `landscape` control command (`RunDir.send`) with a
`landscape` event and trains on. Its in-process twin: tests/unit/test_lab.py."""

from tuidl.core.run import launch
from tuidl.core.preset import preset as P

from helpers import end_process, kinds, wait_until


def test_a_live_run_sends_a_landscape_when_asked(tmp_path):
    preset = P.load("xor", ["train.epochs=150", "train.device='cpu'"])
    run = launch.start(preset, tmp_path, telemetry=False)
    try:
        wait_until(lambda: kinds(run, "step"), timeout=60, what="the first step", run=run)
        run.send("landscape")
        wait_until(lambda: kinds(run, "landscape"), timeout=60, what="a landscape event", run=run)
        ev = kinds(run, "landscape")[0]
        assert len(ev["grid"]) == ev["steps"] == 21 and ev["samples"] == 350 and ev["step"] >= 1
        run.send("stop")
        wait_until(lambda: kinds(run, "run_ended"), timeout=60, what="the run's end", run=run)
        assert kinds(run, "run_ended")[0]["status"] in ("stopped", "completed")
        assert kinds(run, "epoch")[-1]["step"] > ev["step"]  # it trained on after the landscape
    finally:
        end_process(run.process.pid if run.process else None)
