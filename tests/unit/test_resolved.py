"""The dashboard resolves a preset once (issue 25, item 2): the panes and Start share it."""

from tuidl.core.preset import preset as P
from tuidl.core.run import launch
from tuidl.ui import resolved as R


def counting(monkeypatch) -> list:
    calls: list = []
    real = R.resolve
    monkeypatch.setattr(R, "resolve", lambda preset: calls.append(preset) or real(preset))
    return calls


def test_a_preset_is_resolved_once(monkeypatch):
    calls = counting(monkeypatch)
    preset = P.load("xor")
    first = R.resolved(preset)
    assert R.resolved(preset) is first and first.preset is preset and calls == [preset]
    edited = P.edit(preset, [("train.epochs", 3)]).preset
    assert R.resolved(edited).preset is edited and len(calls) == 2  # an edit is a new preset: resolved anew


def test_a_preset_that_does_not_resolve_is_checked_again(monkeypatch):
    calls = counting(monkeypatch)
    broken = P.edit(P.load("xor"), [("train.loss", "mse")]).preset  # a regression loss on classes
    for _ in range(2):
        try:
            R.resolved(broken)
        except P.ConfigError:
            pass
        else:
            raise AssertionError("resolved")
    assert len(calls) == 2  # (a data file fixed on disk meanwhile would be seen)


def test_start_takes_the_resolution_it_is_handed(monkeypatch, tmp_path):
    """launch.start does not resolve a preset whose resolution it is handed; without one it does."""
    preset = P.load("xor")
    done = R.resolved(preset)
    checked: list = []
    monkeypatch.setattr(launch.P, "resolve", lambda p: checked.append(p))
    monkeypatch.setattr(launch, "_spawn", lambda run, **kw: None)  # no trainer process here
    run = launch.start(preset, runs_root=tmp_path, telemetry=False, resolved=done)
    assert checked == [] and run.preset_path.is_file()
    launch.start(preset, runs_root=tmp_path, telemetry=False)
    assert checked == [preset]
