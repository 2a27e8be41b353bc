"""The over- and underfitting marks (tuidl.core.run.fitting), from epoch events."""

from __future__ import annotations

from tuidl.core.run.fitting import fit_marks, overfit_epoch, underfitting
from tuidl.core.run.runview import RunView

from helpers import ended, epoch, started


def view_of(train, val, *, notes=(), end=True, best_epoch=None):
    events = [started(epochs=len(train))]
    events += [epoch(i + 1, (i + 1) * 10, loss=t, val_loss=v, best=best_epoch == i + 1)
               for i, (t, v) in enumerate(zip(train, val))]
    events += [{"type": "note", "time": 1.0, "level": "info", "kind": k, "message": k} for k in notes]
    if end:
        events.append(ended(epochs=len(train)))
    return RunView(events)


def test_overfitting_is_marked_where_validation_turns_up_while_training_falls():
    train = [1.0, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1]
    val = [1.0, 0.8, 0.6, 0.55, 0.6, 0.7, 0.8]
    assert overfit_epoch(train, val) == 3
    marks = fit_marks(view_of(train, val))
    over = [m for m in marks if m.kind == "overfit"]
    assert [(m.epoch, m.step) for m in over] == [(4, 40.0)]
    assert "validation loss starts rising (0.55 → 0.8)" in over[0].text
    assert "overfitting" in over[0].text and "\n" not in over[0].text


def test_no_overfit_mark_for_noise_a_short_rise_or_a_rising_training_loss():
    assert overfit_epoch([1, .8, .6, .5, .4, .3], [1, .8, .6, .5, .51, .505]) is None  # within noise
    assert overfit_epoch([1, .8, .6, .5, .4, .3], [1, .8, .6, .5, .45, .7]) is None  # minimum one epoch ago
    assert overfit_epoch([1, .8, .6, .7, .8, .9], [1, .8, .6, .7, .8, .9]) is None  # both rise: not overfitting
    assert overfit_epoch([1, .8, .6, .5, .4, .3], [1, .9, .8, .7, .6, .5]) is None  # still improving
    assert overfit_epoch([.5, .4], [.5, .6]) is None  # too short to say


def test_the_epoch_early_stopping_kept_is_marked():
    train = [1.0, 0.7, 0.5, 0.4, 0.35, 0.34]
    val = [1.0, 0.8, 0.6, 0.62, 0.63, 0.64]
    marks = fit_marks(view_of(train, val, notes=["early_stop", "restore_best"], best_epoch=3))
    kept = [m for m in marks if m.kind == "kept"]
    # the run_ended of the helpers names epoch 2 as best: the mark follows what the run says
    assert [m.epoch for m in kept] == [2]
    assert "early stopping kept this epoch's weights (best val_loss 0.3)" in kept[0].text
    assert not [m for m in fit_marks(view_of(train, val)) if m.kind == "kept"]  # no early stopping, no mark


def test_underfitting_is_said_only_at_the_end_and_only_while_both_losses_fall():
    train = [1.0, 0.9, 0.8, 0.7, 0.6]
    val = [1.0, 0.92, 0.84, 0.76, 0.7]
    assert underfitting(train, val)
    assert not underfitting(train, [1.0, 0.9, 0.9, 0.9, 0.9])  # validation flat: not underfitting
    assert [m.kind for m in fit_marks(view_of(train, val))] == ["underfit"]
    assert fit_marks(view_of(train, val, end=False)) == []  # still training: not said
