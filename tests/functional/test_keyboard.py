"""A newcomer at the keyboard (issue 13): Escape leaves a text field and drops what was
typed, the app's keys work again after it, focus shows, Start / Help / Quit are always
on screen, the preset picker, fitting the model to new data, and the small things."""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input

from tuidl.core.preset import preset as P
from tuidl.ui.app import PaneDeck
from tuidl.ui.widgets.form import FieldEditor

from helpers import make_app, screen_lines, started, wait_for


def editor_of(widget) -> FieldEditor | None:
    node = widget
    while node is not None and not isinstance(node, FieldEditor):
        node = node.parent
    return node


async def test_escape_leaves_a_dataset_field_and_drops_the_typing(tmp_path):
    """The repro of issue 13: `2`, Tab to n samples, type, then `4` is typed into the
    field. Escape must drop the typing, leave the field, and give `4` back to the app."""
    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs")
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
    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        deck = app.query_one(PaneDeck)
        await wait_for(pilot, lambda: deck.active == "training", what="the Training pane")
        await pilot.press("h")  # a narrow pane: the hyperparameters take it over
        pane = app.panes["training"]
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


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_start_help_and_quit_always_show_and_tabs_fit(tmp_path, size):
    """Whatever has focus, at 80×24 and 120×40, the bottom line says how to start, get
    help and quit; at 80 columns every tab label is whole."""
    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs")
    async with app.run_test(size=size) as pilot:
        deck = app.query_one(PaneDeck)
        for key in ("1", "2", "tab", "escape", "3", "4", "5", "1"):
            await pilot.press(key)
            await pilot.pause(0.1)
            lines = screen_lines(app)
            bottom, tabs = lines[-1], lines[1]
            for word in ("s  Start", "?  Help", "q  Quit", "palette"):
                assert word in bottom, (size, key, bottom)
            for n in range(1, 6):
                assert f"[{n}]" in tabs, (size, key, tabs)
            assert tabs.lstrip().startswith("Model"), tabs
        assert deck.active == "builder"


async def test_essential_keys_follow_focus_and_run_state(tmp_path):
    """In a text field the letters are typing, so s / ? / q show dimmed (and the footer
    offers esc); while a run trains Start is dimmed and Pause / Stop show."""
    from tuidl.ui.widgets.keybar import EssentialKeys

    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        keys = app.query_one(EssentialKeys)
        await pilot.press("2")
        await wait_for(pilot, lambda: app.focused is not None and app.query_one(PaneDeck).active == "dataset")
        await pilot.pause(0.1)
        assert not any(h.off for h in keys.hints.values() if h.display)
        await pilot.press("tab")
        await pilot.pause(0.1)
        assert isinstance(app.focused, Input)
        assert all(keys.hints[a].off for a in ("start", "help", "quit"))
        assert "esc Leave field" in screen_lines(app)[-1]
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not any(keys.hints[a].off for a in ("start", "help", "quit"))
        assert not keys.hints["pause"].display
        app.runner.set_state("paused", "a run")
        await pilot.pause(0.1)
        assert keys.hints["start"].off and keys.hints["pause"].display and "Resume" in str(keys.hints["pause"].render())
        await pilot.click("#key-help")
        from tuidl.ui.screens.help import HelpScreen

        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help by a click")


async def test_small_things_during_a_run_at_80_columns(tmp_path):
    """`s` during a run says so; the run id shows beside the state; the Resume button
    keeps its key hint; the boundary legend uses the dataset's class names."""
    import os
    import socket

    from tuidl.core.run import rundir as R
    from tuidl.core.run.events import EventWriter

    preset = P.load("spiral")
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    run.write_status(status="running", pid=os.getpid(), host=socket.gethostname())  # alive: this process
    with EventWriter(run.events_path) as w:
        w.write(started(epochs=3, steps=5, t=time.time(), run_id=run.id, batch_size=16, summary={},
                        data={"classes": ["negative", "positive"]}, pid=os.getpid()))
        app = make_app(preset, attach=run, runs_root=tmp_path / "runs")
        async with app.run_test(size=(80, 24)) as pilot:
            pane = app.panes["training"]
            await wait_for(pilot, lambda: pane.view.progress.epochs == 3 and pane.controls.state == "live", what="run_started")
            await pilot.pause(0.1)
            assert any(run.id in line for line in screen_lines(app)), "the run id is shown"

            await pilot.press("s")
            await pilot.pause(0.1)
            assert any("already training" in n.message for n in app.notes)

            w.emit("control", action="paused")
            await wait_for(pilot, lambda: pane.controls.state == "paused", what="the pause")
            await pilot.pause(0.1)
            assert any("Resume [p]" in line for line in screen_lines(app))

            w.emit("boundary", epoch=1, extent=[-1, 1, -1, 1], size=2, values=[[0.1, 0.9], [0.2, 0.8]],
                   points=[[-0.5, 0.5, 0], [0.5, -0.5, 1]])
            await wait_for(pilot, lambda: pane.run_charts.boundary.epoch == 1, what="the boundary")
            legend = pane.run_charts.boundary.plain_lines(60, 6)[0]
            assert "negative" in legend and "positive" in legend and "class 0" not in legend
            await pilot.press("q")
            await pilot.press("l")  # leave it running


async def test_boundary_legend_names_the_preset_classes_before_a_run(tmp_path):
    app = make_app(P.load("xor"), runs_root=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await wait_for(pilot, lambda: app.panes["training"].is_mounted)
        await pilot.pause(0.1)
        assert app.panes["training"].run_charts.boundary.class_names == ("negative", "positive")


async def test_unchecked_feature_boxes_look_unlike_checked_ones(tmp_path):
    from textual.widgets import SelectionList

    app = make_app(P.load("spiral", ["data.params.features=['x1','x2']"]), runs_root=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: app.panes["dataset"].is_mounted)
        await pilot.pause(0.1)
        boxes = app.panes["dataset"].query_one(SelectionList)
        off = boxes.get_component_rich_style("selection-list--button")
        on = boxes.get_component_rich_style("selection-list--button-selected")
        assert off.color == off.bgcolor  # an empty box: its X cannot be seen
        assert on.color != on.bgcolor and on.color != off.color


async def test_preset_picker_opens_builtins_and_files_and_says_what_is_wrong(tmp_path):
    from textual.widgets import OptionList, Static

    from tuidl.ui.screens.picker import PresetPickerScreen

    broken = tmp_path / "broken.toml"
    broken.write_text("name = 'x'\n[data\n")
    mine = tmp_path / "mine.toml"
    mine.write_text(P.dumps(P.load("xor", ["name='mine'", "train.epochs=3"])))
    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Open preset", "Fit the model to the data"} <= titles
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PresetPickerScreen), what="the picker")
        picker = app.screen
        options = picker.query_one(OptionList)
        names = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert {"spiral", "xor", "digits-cnn", "mnist1d-gru"} <= set(names)
        assert options.highlighted == names.index("spiral")  # the current one
        assert "Playground" in str(options.get_option("spiral").prompt)  # with its description

        # bad paths: said in the dialog, nothing replaced, never a crash
        for bad, words in ((tmp_path / "nope.toml", "not found"), (broken, "TOML"), (tmp_path, "preset"),
                           ("no-such-preset", "no preset named")):
            await pilot.press("tab")
            field = picker.query_one("#picker-path", Input)
            assert app.focused is field
            field.value = str(bad)
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is picker, bad
            assert words in picker.error and str(picker.query_one("#picker-error", Static).render()), (bad, picker.error)
            await pilot.press("shift+tab")
        assert app.preset.name == "spiral"

        # a file by its path
        await pilot.press("tab")
        picker.query_one("#picker-path", Input).value = str(mine)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, PresetPickerScreen), what="the file to open")
        assert app.preset.name == "mine" and app.preset.train.epochs == 3 and app.sub_title == "mine"

        # a built-in by name: ↑/↓ and Enter
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PresetPickerScreen), what="the picker")
        options = app.screen.query_one(OptionList)
        options.highlighted = names.index("digits-mlp")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.preset.name == "digits-mlp", what="digits-mlp")
        assert app.panes["builder"].preset.name == "digits-mlp"
        await pilot.press("2")  # a pane made only now gets the preset opened meanwhile
        await wait_for(pilot, lambda: app.panes["dataset"].is_mounted
                       and app.panes["dataset"].preset.data.dataset == "digits", what="the dataset pane")

        # escape cancels
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PresetPickerScreen), what="the picker")
        await pilot.press("escape")
        assert not isinstance(app.screen, PresetPickerScreen) and app.preset.name == "digits-mlp"


async def test_switching_the_dataset_offers_to_fit_the_model(tmp_path):
    from textual.widgets import Select

    from tuidl.core.model.fit import model_problem
    from tuidl.ui.screens.picker import FitModelScreen

    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: app.panes["dataset"].is_mounted and app.focused is not None)
        select = app.panes["dataset"].query_one("#ds-dataset", Select)
        select.value = "digits"  # 8×8 images, 10 classes: spiral's dense(…) → dense(2) no longer fits
        await wait_for(pilot, lambda: isinstance(app.screen, FitModelScreen), what="the offer to fit")
        assert app.preset.data.dataset == "digits" and model_problem(app.preset)
        await pilot.press("n")  # keep it as it is
        await pilot.pause()
        assert not isinstance(app.screen, FitModelScreen) and model_problem(app.preset)

        await pilot.press("f")  # fit it now after all
        await wait_for(pilot, lambda: isinstance(app.screen, FitModelScreen), what="the offer to fit")
        await pilot.press("y")
        await wait_for(pilot, lambda: not model_problem(app.preset), what="the fitted model")
        layers = app.preset.model.layers
        assert layers[0].kind == "flatten" and layers[-1].units == 10 and app.preset.data.dataset == "digits"
        await wait_for(pilot, lambda: app.panes["builder"].preset is app.preset, what="the builder")

        # Playground data again (flat, 2 classes): offered at once, and Enter fits it
        select.value = "circle"
        await wait_for(pilot, lambda: isinstance(app.screen, FitModelScreen), what="the offer to fit")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not model_problem(app.preset), what="the fitted model")
        assert app.preset.model.layers[-1].units == 2


async def test_the_runs_pane_shows_the_selected_run_id_in_full_at_80_columns(tmp_path):
    from tuidl.core.run import rundir as R

    preset = P.load("spiral")
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    run.write_status(status="stopped", preset="spiral", epoch=1, epochs=3)
    app = make_app(preset, runs_root=tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        runs = app.panes["runs"]
        await wait_for(pilot, lambda: runs.is_mounted and len(runs.rows) == 1, what="the run list")
        await pilot.pause(0.2)
        assert any(run.id in line for line in screen_lines(app)), screen_lines(app)


async def test_a_dialog_gives_the_focus_back_but_never_into_a_text_field(tmp_path):
    """Issue 24: a data path typed and applied with Enter, then the "fit the model?"
    question; after the answer the focus was back in the path field, and the next keys
    (`3`, `s`) were typed into it. After a dialog the focus is where the user was, but
    never in a text field: the pane's own place instead (as Escape in a field)."""
    from textual.widgets import Select

    from tuidl.ui.screens.picker import FitModelScreen, PresetPickerScreen

    data = tmp_path / "mydata.csv"
    data.write_text("a,b,c,d,label\n" + "".join(f"{i % 3 + 0.1 * i},{i},{-i},{i * i % 7},{i % 3}\n"
                                                for i in range(60)))
    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: app.panes["dataset"].is_mounted and app.focused is not None)
        app.panes["dataset"].query_one("#ds-dataset", Select).value = "csv"
        path = None

        def path_field():
            nonlocal path
            path = next((e for e in app.panes["dataset"].query(FieldEditor) if e.path == "data.params.path"), None)
            return path is not None

        await wait_for(pilot, path_field, what="the CSV's path field")
        path.focus_control()
        await pilot.pause()
        await pilot.press(*str(data), "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FitModelScreen), what="the offer to fit")
        await pilot.press("y")
        await wait_for(pilot, lambda: not isinstance(app.screen, FitModelScreen) and app.focused is not None,
                       what="the dialog closed")
        await pilot.pause()
        assert not isinstance(app.focused, Input), f"the focus went back into {editor_of(app.focused).path}"
        assert app.focused is app.panes["dataset"].query_one("#ds-dataset", Select)  # the pane's own place
        await pilot.press("3")  # the app's key, not a character of the path
        assert app.query_one(PaneDeck).active == "training"
        assert path.value == str(data) and app.preset.data.params.path == str(data)

        # a dialog closed over a widget that is still there: the focus goes back to it
        await pilot.press("5")
        await wait_for(pilot, lambda: app.focused is app.panes["runs"].table, what="the runs list")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PresetPickerScreen), what="the picker")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PresetPickerScreen))
        await pilot.pause()
        assert app.focused is app.panes["runs"].table

        # a dialog opened from a training field: back on the pane's own place, keys work
        await pilot.press("3")
        await wait_for(pilot, lambda: app.query_one(PaneDeck).active == "training")
        epochs = next(e for e in app.panes["training"].query(FieldEditor) if e.path == "train.epochs")
        epochs.focus_control()
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SavePresetScreen", what="the save dialog")
        await pilot.press("escape")
        await wait_for(pilot, lambda: type(app.screen).__name__ != "SavePresetScreen")
        await pilot.pause()
        assert not isinstance(app.focused, Input) and app.focused is app.panes["training"].controls.buttons["start"]


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_g_reaches_epochs_and_tab_the_most_used_fields(tmp_path, size):
    """Issue 24: about 9 Tab presses led from the Training pane to "epochs". `g` (shown in
    the footer, with `o`) goes to it from anywhere, and Tab then reaches learning rate,
    batch size and optimizer, the fields most changed."""
    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs")
    async with app.run_test(size=size) as pilot:
        await pilot.press("3")
        await wait_for(pilot, lambda: app.query_one(PaneDeck).active == "training" and app.focused is not None,
                       what="the Training pane")
        await wait_for(pilot, lambda: "g Fields" in screen_lines(app)[-1], what="g in the footer")
        footer = screen_lines(app)[-1]
        assert "g Fields" in footer and "o Marks" in footer, footer
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.focused, Input), what="a field focused")
        assert editor_of(app.focused).path == "train.epochs"
        paths = []
        for _ in range(3):
            await pilot.press("tab")
            paths.append(editor_of(app.focused).path)
        assert paths == ["train.optimizer.lr", "data.batch_size", "train.optimizer.name"]
        await pilot.press("escape", "1")  # from another pane too
        await wait_for(pilot, lambda: app.query_one(PaneDeck).active == "builder")
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.focused, Input), what="a field focused")
        assert app.query_one(PaneDeck).active == "training" and editor_of(app.focused).path == "train.epochs"
        await pilot.press("escape")
        assert not isinstance(app.focused, Input)
        # the hyperparameters hidden (h): g shows them again
        await pilot.press("h")
        await pilot.pause()
        hidden = not app.panes["training"].settings_visible()
        if hidden:
            await pilot.press("g")
            await wait_for(pilot, lambda: isinstance(app.focused, Input), what="a field focused")
            assert app.panes["training"].settings_visible() and editor_of(app.focused).path == "train.epochs"
