"""The Model builder pane (and the FieldEditor form it edits layers with), driven through
a tiny host app with the keyboard and the mouse."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from tuidl.core.data import catalog
from tuidl.core.preset import keypath
from tuidl.core.model import layers
from tuidl.core.preset.preset import Preset, from_dict, load, to_data
from tuidl.ui.panes.builder import LayerTypeScreen, ModelBuilderPane, default_layer, display_rows, short_settings
from tuidl.ui.widgets.form import DataclassForm, parse_text

from helpers import Host, screen_text, settle


def host(preset: Preset) -> Host:
    return Host(lambda: ModelBuilderPane(preset, id="builder"))


def expected(preset: Preset) -> layers.Summary:
    info = catalog.info(preset.data.dataset, preset.data.params)
    return layers.infer(preset.model.layers, info.input_shape)


def totals_of(pane: ModelBuilderPane) -> str:
    return str(pane.query_one("#mb-totals", Static).render())


def kinds(preset: Preset) -> list[str]:
    return [layer.kind for layer in preset.model.layers]


def conv_preset() -> Preset:
    data = {
        "name": "cnn",
        "data": {"dataset": "digits"},
        "model": {"layers": [
            {"type": "conv2d", "filters": 8, "activation": "relu"},
            {"type": "flatten"},
            {"type": "dense", "units": 10},
        ]},
    }
    return from_dict(data)



async def add_layer(pilot, kind: str) -> None:
    """Add a layer with the keyboard: ``a``, type (part of) its name, Enter."""
    await pilot.press("a")
    await settle(pilot, 2)
    assert isinstance(pilot.app.screen, LayerTypeScreen)
    await pilot.press(*kind, "enter")
    await settle(pilot)


# ---------------------------------------------------------------------------
# Pure helpers


def test_display_rows_match_infer_and_short_settings():
    preset = load("spiral")
    summary = expected(preset)
    rows = display_rows(preset.model.layers, summary)
    assert [r.output_shape for r in rows] == [r.output_shape for r in summary.rows]
    assert [r.params for r in rows] == [r.trainable + r.frozen for r in summary.rows]
    assert short_settings(preset.model.layers[0]).startswith(f"{preset.model.layers[0].units}, tanh")
    conv = layers.Conv2d(filters=16, stride=2, padding="valid")
    assert short_settings(conv) == "16, k=3, s=2, pad=valid"
    assert default_layer("residual", (10,))["layers"] == [{"type": "dense", "units": 10, "activation": "relu"}]
    # a new reshape fits where it is added; the code layer marks the split
    assert default_layer("reshape", (64,))["shape"] == [1, 64] and default_layer("reshape", (2, 4, 4))["shape"] == [32]
    assert short_settings(layers.Code()) == "▲ encoder · decoder ▼"


def test_form_parsing_and_paths():
    from tuidl.core.model.layers import Dense

    checks = {"min": 1, "max": 1_000_000}
    assert parse_text("16", int, checks) == 16
    assert parse_text("1e3", int, checks) == 1000
    for text, message in [("abc", "whole number"), ("0", "at least 1"), ("-3", "at least 1"),
                          (str(10**12), "at most 1,000,000"), ("2.5", "whole number")]:
        with pytest.raises(ValueError, match=message):
            parse_text(text, int, checks)
    assert parse_text("same", int | str, {}) == "same" and parse_text("2", int | str, {}) == 2
    assert parse_text("4, 8", list[int], {"min": 1}) == [4, 8]
    data = {"model": {"layers": [{"type": "residual", "layers": [{"type": "dense", "units": 3}]}]}}
    keypath.set(data, "model.layers[0].layers[0].units", 7)
    assert data["model"]["layers"][0]["layers"][0]["units"] == 7
    form = DataclassForm(Dense(units=4), "model.layers[0]")
    assert form.field_names() == ["units", "activation", "bias"]


# ---------------------------------------------------------------------------
# The pane


async def test_mount_shows_rows_and_totals_and_follows_load_preset():
    preset = load("spiral")
    app = host(preset)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        pane = app.query_one(ModelBuilderPane)
        summary = expected(preset)
        assert [r.output_shape for r in pane.analysis.rows] == [r.output_shape for r in summary.rows]
        assert [r.params for r in pane.analysis.rows] == [r.trainable + r.frozen for r in summary.rows]
        assert f"Total params: {summary.total:,}" in totals_of(pane)
        assert f"Trainable params: {summary.trainable:,}" in totals_of(pane)
        text = screen_text(app)
        assert "dense_1 (dense)" in text and "(2,)" in text
        assert "Add layer" in text  # the key bindings are in the footer
        # the app replaces the preset: the view follows, nothing is posted
        other = conv_preset()
        pane.load_preset(other)
        await settle(pilot)
        assert [r.kind for r in pane.analysis.rows] == ["conv2d", "flatten", "dense"]
        assert f"Total params: {expected(other).total:,}" in totals_of(pane)
        assert "input (1, 8, 8)" in screen_text(app)
        assert not app.edits
        # a one-layer model: removing its layer leaves an empty model that says so
        data = to_data(other)
        data["model"]["layers"] = [{"type": "dense", "units": 2}]
        pane.load_preset(from_dict(data))
        await settle(pilot)
        assert [r.kind for r in pane.analysis.rows] == ["dense"]
        await pilot.press("d")
        await settle(pilot)
        assert app.edits[-1].preset.model.layers == [] and pane.analysis.rows == []
        text = screen_text(app)
        assert "the layer list is empty" in text and "No layers yet" in text
        assert await pane.add_layer("dense")
        await settle(pilot)
        assert kinds(app.edits[-1].preset) == ["dense"]
        assert pane.form.editor("model.layers[0].units") is not None


async def test_add_move_remove_undo_with_the_keyboard():
    preset = load("spiral")
    app = host(preset)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        pane = app.query_one(ModelBuilderPane)
        assert app.focused is pane.layer_list
        # the add dialog filters as you type and Esc cancels it
        await pilot.press("a")
        await settle(pilot, 2)
        assert isinstance(app.screen, LayerTypeScreen)
        await pilot.press(*"batch")
        options = app.screen.query_one("#lt-options")
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids[0] == "batch_norm" and "dense" not in ids
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, LayerTypeScreen) and not app.edits
        # add a dense layer after the first one
        await add_layer(pilot, "dense")
        assert len(app.edits) == 1 and app.edits[-1].origin == "builder"
        new = app.edits[-1].preset
        assert kinds(new) == ["dense", "dense", "dense", "dense"]
        assert new.model.layers[1].units == 32
        summary = expected(new)
        assert f"Total params: {summary.total:,}" in totals_of(pane)
        assert pane.selected == (1,)
        # move it down (J) and up again (shift+up)
        await pilot.press("J")
        await settle(pilot)
        assert [layer.units for layer in app.edits[-1].preset.model.layers] == [10, 10, 32, 2]
        assert pane.selected == (2,)
        await pilot.press("shift+up")
        await settle(pilot)
        assert [layer.units for layer in app.edits[-1].preset.model.layers] == [10, 32, 10, 2]
        # remove it
        await pilot.press("d")
        await settle(pilot)
        after = app.edits[-1].preset
        assert [layer.units for layer in after.model.layers] == [10, 10, 2]
        assert f"Total params: {expected(after).total:,}" in totals_of(pane)
        # undo brings it back
        count = len(app.edits)
        await pilot.press("u")
        await settle(pilot)
        assert len(app.edits) == count + 1
        assert [layer.units for layer in app.edits[-1].preset.model.layers] == [10, 32, 10, 2]


BAD_UNITS = [
    ("abc", "expected a whole number"),
    ("0", "must be at least 1"),
    ("-3", "must be at least 1"),
    (str(10**12), "must be at most 1,000,000"),
]


async def test_editing_units_updates_rows_and_bad_values_are_not_applied():
    preset = load("spiral")
    app = host(preset)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        pane = app.query_one(ModelBuilderPane)
        await pilot.press("e")
        await settle(pilot)
        editor = pane.form.editor("model.layers[0].units")
        assert editor is not None and app.focused is editor.control
        await pilot.press(*"16", "enter")  # select_on_focus: typing replaces the value
        await settle(pilot)
        assert len(app.edits) == 1
        new = app.edits[-1].preset
        assert new.model.layers[0].units == 16
        summary = expected(new)
        assert pane.analysis.rows[0].output_shape == (16,)
        assert pane.analysis.rows[0].params == len(new.data.params.features) * 16 + 16
        assert pane.analysis.rows[1].params == 16 * 10 + 10 == summary.rows[1].trainable
        assert f"Total params: {summary.total:,}" in totals_of(pane)
        assert "(16,)" in screen_text(app)
        # bad values: shown inline in red, not applied, not even when focus leaves
        for text, message in BAD_UNITS:
            assert app.focused is editor.control
            editor.control.value = text
            await pilot.press("enter")
            await settle(pilot, 2)
            assert editor.error == message, text
            assert f"✗ {message}" in screen_text(app)
            assert "-invalid" in editor.control.classes
            await pilot.press("tab")
            await settle(pilot, 2)
            assert editor.error == message
            assert len(app.edits) == 1 and pane.preset.model.layers[0].units == 16
            await pilot.press("shift+tab")
            await pilot.pause()
        # a good value afterwards clears the error and is applied
        await pilot.press(*"12", "enter")
        await settle(pilot)
        assert editor.error == ""
        assert [e.preset.model.layers[0].units for e in app.edits] == [16, 12]
        # Esc drops a value typed but not applied and returns to the list
        editor.control.value = "99"
        await pilot.press("escape")
        await settle(pilot)
        assert app.focused is pane.layer_list
        assert len(app.edits) == 2 and editor.control.value == "12"


async def test_shape_and_cross_field_errors_show_inline_and_the_app_keeps_running():
    app = host(conv_preset())
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        pane = app.query_one(ModelBuilderPane)
        assert pane.analysis.rows[0].output_shape == (8, 8, 8)
        # stride 2 with 'same' padding: the schema says no, on the padding field
        stride = pane.form.editor("model.layers[0].stride")
        stride.focus_control()
        stride.control.value = "2"
        await pilot.press("enter")
        await settle(pilot)
        assert "'same' padding needs stride 1" in pane.form.editor("model.layers[0].padding").error
        assert not app.edits
        await pilot.press("escape")
        await pilot.pause()
        # a dense layer directly after the conv layer
        await add_layer(pilot, "dense")
        new = app.edits[-1].preset
        assert kinds(new) == ["conv2d", "dense", "flatten", "dense"]
        summary = expected(new)
        assert summary.rows[1].error
        row = pane.analysis.rows[1]
        assert row.error == summary.rows[1].error and row.output_shape is None
        assert [r.shape_text for r in pane.analysis.rows[2:]] == ["—", "—"]
        text = screen_text(app)
        assert "✗ layer 1 (dense) expects a flat input" in text
        assert "does not fit" in str(pane.query_one("#mb-status", Static).render())
        # still running: remove the bad layer with the keyboard, the error goes away
        await pilot.press("delete")
        await settle(pilot)
        assert kinds(app.edits[-1].preset) == ["conv2d", "flatten", "dense"]
        assert not any(r.error for r in pane.analysis.rows)
        assert "✓" in str(pane.query_one("#mb-status", Static).render())


async def test_residual_block_inner_layers_are_shown_and_editable():
    app = host(load("spiral"))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        pane = app.query_one(ModelBuilderPane)
        await add_layer(pilot, "resid")
        new = app.edits[-1].preset
        assert kinds(new) == ["dense", "residual", "dense", "dense"]
        assert [r.addr for r in pane.analysis.rows] == [(0,), (1,), (1, 0), (2,), (3,)]
        assert pane.analysis.rows[2].depth == 1 and pane.analysis.rows[2].output_shape == (10,)
        assert "↳ dense" in screen_text(app)
        # select the inner layer and add a relu inside the block
        await pilot.press("down")
        await settle(pilot)
        assert pane.selected == (1, 0)
        assert await pane.add_layer("relu")
        await settle(pilot)
        block = app.edits[-1].preset.model.layers[1]
        assert [inner.kind for inner in block.inner] == ["dense", "relu"]
        assert pane.selected == (1, 1)
        # edit the inner dense layer's units: the block no longer keeps the shape
        await pilot.press("up")
        await settle(pilot)
        assert pane.selected == (1, 0)
        await pilot.press("e")
        await pilot.pause()
        assert app.focused is pane.form.editor("model.layers[1].layers[0].units").control
        await pilot.press("7", "enter")
        await settle(pilot)
        block = app.edits[-1].preset.model.layers[1]
        assert block.inner[0].units == 7
        assert pane.analysis.rows[1].error and "keep the shape" in pane.analysis.rows[1].error
        assert pane.analysis.rows[2].output_shape == (7,)
        await pilot.press("escape", "u")
        await settle(pilot)
        assert app.edits[-1].preset.model.layers[1].inner[0].units == 10
        # the last inner layer cannot be removed, the block can
        await pilot.press("d")  # removes the inner dense (relu remains)
        await settle(pilot)
        assert [i.kind for i in app.edits[-1].preset.model.layers[1].inner] == ["relu"]
        count = len(app.edits)
        await pilot.press("d")
        await settle(pilot)
        assert len(app.edits) == count  # refused
        assert "at least one inner layer" in str(pane.query_one("#mb-status", Static).render())
        await pilot.press("up")
        await pilot.pause()
        assert pane.selected == (1,)
        await pilot.press("d")
        await settle(pilot)
        assert kinds(app.edits[-1].preset) == ["dense", "dense", "dense"]


async def test_mouse_buttons_and_row_click():
    app = host(load("spiral"))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        pane = app.query_one(ModelBuilderPane)
        items = list(pane.layer_list.children)
        await pilot.click(items[2])
        await settle(pilot)
        assert pane.selected == (2,)
        assert pane.form.prefix == "model.layers[2]"
        await pilot.click("#mb-up")
        await settle(pilot)
        assert [layer.units for layer in app.edits[-1].preset.model.layers] == [10, 2, 10]
        await pilot.click("#mb-add")
        await settle(pilot, 2)
        assert isinstance(app.screen, LayerTypeScreen)
        await pilot.press("escape")
        await settle(pilot)
        # a switch in the form applies at once
        bias = pane.form.editor("model.layers[1].bias")
        pane.query_one("#mb-editor").scroll_end(animate=False)
        await pilot.pause()
        await pilot.click(bias.control)
        await settle(pilot)
        assert app.edits[-1].preset.model.layers[1].bias is False


async def test_small_terminal_keeps_the_key_widgets_reachable():
    app = host(conv_preset())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pane = app.query_one(ModelBuilderPane)
        screen = app.screen.region
        for selector in ("#mb-layers", "#mb-totals", "#mb-status", "#mb-add", "#mb-editor"):
            widget = pane.query_one(selector)
            assert widget.region.height > 0 and screen.contains_region(widget.region), selector
        assert pane.layer_list.focusable and pane.query_one("#mb-add").focusable
        text = screen_text(app)
        assert "Total params" in text and "conv2d_1 (conv2d)" in text
        # every field of the selected layer can be reached and is scrolled into view
        await pilot.press("e")
        await pilot.pause()
        for _ in range(len(pane.form.editors) - 1):
            await pilot.press("tab")
        await pilot.pause()
        last = pane.form.editors[-1]
        assert app.focused is last.control
        assert screen.contains_region(last.control.region)


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_the_builders_title_is_never_cut(size):
    """Issue 24: at 120 columns the title stopped at "spiral: 2" (one line, cropped). Where
    the pane is too narrow it goes on to a second line, broken at a dot, never in a part."""
    from helpers import make_app, screen_text, wait_for

    app = make_app("spiral")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "spiral: 2 classes" in screen_text(app), what="the whole title")
        shown = screen_text(app)
        assert "input (7,) → output (2,)" in shown and "3 layers" in shown
