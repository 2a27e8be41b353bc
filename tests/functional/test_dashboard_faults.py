"""Faults as the dashboard shows them: a run that failed (exception, NaN, out of memory,
full disk) is replayed into the app, which says what happened and stays up."""

from __future__ import annotations

import pytest

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.train import Trainer

from helpers import make_app, tiny_xor
from test_training_pane import replayed


CASES = {
    "error@14": ("failed", "injected failure at step 14"),
    "nan@12": ("diverged", "the loss became nan"),
    "oom@3": ("failed", "smaller batch size"),
    "diskfull@3": ("completed", "could not write the"),
}


@pytest.mark.parametrize("fault", sorted(CASES))
async def test_dashboard_shows_what_happened_and_stays_up(tmp_path, monkeypatch, fault):
    status, needle = CASES[fault]
    monkeypatch.setenv("TUIDL_FAULT", fault)
    preset = tiny_xor(epochs=3, n_samples=200)
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    assert Trainer(preset, run, handle_signals=False).run() == status
    monkeypatch.delenv("TUIDL_FAULT")
    app = make_app(P.load(run.preset_path), replay=run)
    async with app.run_test(size=(120, 40)) as pilot:
        await replayed(pilot, app)
        log = " ".join(" ".join(line.text for line in app.panes["training"].run_charts.event_log.lines).split())  # unwrap
        assert needle in log, log
        assert f"run ended: {status}" in log
        assert app.panes["training"].view.progress.status == status
        await pilot.press("1", "2", "3", "4")  # every pane still answers
        await pilot.pause()
        assert app.is_running
