"""A newcomer at the keyboard (issue 13): Escape leaves a text field and drops what was
typed, the app's keys work again after it, focus shows, Start / Help / Quit are always
on screen, the preset picker, fitting the model to new data, and the small things."""

from __future__ import annotations

from textual.widgets import Input

from tuidl.core import preset as P
from tuidl.ui.app import PaneDeck, TuidlApp
from tuidl.ui.form import FieldEditor

from test_app import wait_for


class App(TuidlApp):
    def __init__(self, preset: P.Preset, **kwargs):
        kwargs.setdefault("system_interval", None)
        kwargs.setdefault("runs_interval", None)
        kwargs.setdefault("telemetry", False)
        super().__init__(preset, **kwargs)


def editor_of(widget) -> FieldEditor | None:
    node = widget
    while node is not None and not isinstance(node, FieldEditor):
        node = node.parent
    return node


async def test_escape_leaves_a_dataset_field_and_drops_the_typing(tmp_path):
    """The repro of issue 13: `2`, Tab to n samples, type, then `4` is typed into the
    field. Escape must drop the typing, leave the field, and give `4` back to the app."""
    app = App(P.load("spiral"), runs_root=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        deck = app.query_one(PaneDeck)
        await wait_for(pilot, lambda: deck.active == "dataset" and app.focused is not None, what="the Dataset pane")
        await pilot.press("tab")
        field = app.focused
        assert isinstance(field, Input) and editor_of(field).path == "data.params.n_samples"
        await pilot.press("1", "2", "3")
        assert field.value == "123"
        await pilot.press("escape")
        assert field.value == "500"  # what was typed is dropped, not applied
        assert not isinstance(app.focused, Input)
        assert app.preset.data.params.n_samples == 500
        await pilot.press("4")  # the app's keys work again
        assert deck.active == "system"
        assert field.value == "500"


async def test_escape_leaves_a_training_field(tmp_path):
    app = App(P.load("spiral"), runs_root=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        deck = app.query_one(PaneDeck)
        await wait_for(pilot, lambda: deck.active == "training", what="the Training pane")
        await pilot.press("h")  # a narrow pane: the hyperparameters take it over
        pane = app.training
        epochs = next(e for e in pane.query(FieldEditor) if e.path == "train.epochs")
        epochs.focus_control()
        await pilot.pause()
        before = app.preset.train.epochs
        await pilot.press("9", "9")
        assert epochs.control.value == "99"
        await pilot.press("escape")
        assert epochs.control.value == str(before)
        assert not isinstance(app.focused, Input)
        assert app.focused is not None and app.focused.region.area > 0  # focus is on something shown
        await pilot.press("1")
        assert deck.active == "builder"
        assert app.preset.train.epochs == before
