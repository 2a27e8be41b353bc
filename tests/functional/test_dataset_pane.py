"""The Dataset & split pane, driven through a tiny host app. Loading runs the real data
layer in the pane's thread worker."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console
from textual.widgets import Select, Static

from tuidl.core.data import catalog
from tuidl.core.preset.preset import Preset, from_dict, load, to_data
from tuidl.ui.panes.dataset import DatasetPane, data_key, expected_samples, pick_samples
from tuidl.ui.widgets.form import FieldEditor

from helpers import Host, screen_text, settle


def host(preset: Preset) -> Host:
    return Host(lambda: DatasetPane(preset, id="dataset"))


def text_of(pane: DatasetPane, selector: str, colors: bool = False) -> str:
    """What a Static shows, as text (Rich renderables rendered; ANSI colours if asked)."""
    console = Console(width=200, file=io.StringIO(), color_system="truecolor" if colors else None,
                      force_terminal=colors)
    with console.capture() as capture:
        console.print(pane.query_one(selector, Static).content)
    return capture.get()


async def loaded(pilot) -> None:
    """Wait until the pane shows the data of its current preset (the worker starts after
    the pane's first frame)."""
    pane = pilot.app.query_one(DatasetPane)
    for _ in range(600):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not pane.is_loading and pane.result is not None and pane.result["key"] == data_key(pane.preset):
            await settle(pilot)
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the data did not load")


def described(preset: Preset) -> dict:
    from tuidl.core.data import data

    return data.load(preset, device="cpu").describe()


async def type_into(pilot, editor: FieldEditor, text: str) -> None:
    """Focus the field, put ``text`` in it and press Enter."""
    editor.focus_control()
    await pilot.pause()
    editor.control.value = text
    await pilot.press("enter")
    await settle(pilot)


def test_pure_helpers():
    import numpy as np

    spiral = load("spiral")
    assert expected_samples("spiral", spiral.data.params) == "500"
    assert expected_samples("mnist", catalog.TorchvisionParams(limit=1000)) == "1,000 + 10,000 official test"
    y = np.array([0, 0, 0, 1, 1, 2])
    assert pick_samples(y, True, 4).tolist() == [0, 3, 5, 1]
    data = to_data(spiral)
    data["data"]["batch_size"] = 99
    assert data_key(from_dict(data, spiral.source)) == data_key(spiral)  # batch size does not need a reload
    data["seed"] = 3
    assert data_key(from_dict(data, spiral.source)) != data_key(spiral)


async def test_counts_match_describe_and_switching_dataset_updates_info():
    preset = load("spiral")
    app = host(preset)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        pane = app.query_one(DatasetPane)
        expected = described(preset)
        assert pane.described["sizes"] == expected["sizes"]
        assert pane.described["balance"] == expected["balance"]
        counts = text_of(pane, "#ds-counts")
        for split, n in expected["sizes"].items():
            assert f"{split}" in counts and f"{n:,}" in counts
        assert f"input ({len(preset.data.params.features)},)" in text_of(pane, "#ds-info")  # spiral: 7 features
        assert "2 classes" in text_of(pane, "#ds-info")
        assert "negative (" in screen_text(app)  # the scatter plot's legend
        assert pane.query_one("#ds-official", FieldEditor).disabled  # spiral has no official test set
        assert not app.edits
        # switch to digits with the keyboard: open the select, type to find, enter
        pane.query_one("#ds-dataset", Select).focus()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"digits", "enter")
        await settle(pilot)
        assert [e.preset.data.dataset for e in app.edits] == ["digits"]
        assert app.edits[-1].origin == "dataset"
        info = text_of(pane, "#ds-info")
        assert "input (1, 8, 8)" in info and "10 classes" in info
        await loaded(pilot)
        digits = app.edits[-1].preset
        expected = described(digits)
        assert pane.described["sizes"] == expected["sizes"]
        counts = text_of(pane, "#ds-counts")
        assert all(f"{n:,}" in counts for n in expected["sizes"].values())
        assert "▀" in screen_text(app)  # the image preview
        assert "samples 1,797" in text_of(pane, "#ds-info")
        # n pages the preview, r reloads (same numbers)
        pane.query_one("#ds-dataset", Select).focus()
        before = text_of(pane, "#ds-preview", colors=True)
        await pilot.press("n")
        await pilot.pause()
        assert text_of(pane, "#ds-preview", colors=True) != before  # other images
        await pilot.press("r")
        await loaded(pilot)
        assert pane.described["sizes"] == expected["sizes"]


async def test_fractions_must_sum_to_one_and_bad_values_are_not_applied():
    app = host(load("spiral"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one(DatasetPane)
        await type_into(pilot, pane.query_one("#ds-train", FieldEditor), "0.8")
        error = text_of(pane, "#ds-split-error")
        assert "must sum to 1" in error and "not applied" in error
        assert pane.query_one("#ds-split-error").display
        assert not app.edits and pane.preset.data.split.train == 0.7
        # fixing val makes the three sum to 1: applied together
        await type_into(pilot, pane.query_one("#ds-val", FieldEditor), "0.05")
        assert len(app.edits) == 1
        split = app.edits[-1].preset.data.split
        assert (split.train, split.val, split.test) == (0.8, 0.05, 0.15)
        assert not pane.query_one("#ds-split-error").display
        # a bad batch size shows inline and is not applied
        batch = pane.query_one("#ds-batch", FieldEditor)
        for text, message in [("0", "must be at least 1"), ("x", "expected a whole number")]:
            await type_into(pilot, batch, text)
            assert batch.error == message
            assert f"✗ {message}" in screen_text(app)
            assert len(app.edits) == 1
        await type_into(pilot, batch, "64")
        assert app.edits[-1].preset.data.batch_size == 64
        # a switch applies at once, with the mouse too
        stratify = pane.query_one("#ds-stratify", FieldEditor)
        await pilot.click(stratify.control)
        await settle(pilot)
        assert app.edits[-1].preset.data.split.stratify is False
        await loaded(pilot)
        assert sum(pane.described["sizes"].values()) == 500


async def test_load_failure_is_shown_and_a_missing_path_is_not_applied(tmp_path):
    data = to_data(load("spiral"))
    data["data"] = {"dataset": "csv", "params": {"path": str(tmp_path / "missing.csv")}}
    app = host(from_dict(data))
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot)
        pane = app.query_one(DatasetPane)
        assert "cannot load the data" in text_of(pane, "#ds-counts")
        assert "file not found" in text_of(pane, "#ds-counts")
        assert "file not found" in text_of(pane, "#ds-info")
        assert pane.described is None
        # switch to image-folder: its path is required, so nothing is applied
        pane.query_one("#ds-dataset", Select).value = "image-folder"
        await settle(pilot)
        folder_path = pane.params_form.editor("data.params.path")
        assert folder_path is not None and "missing" in folder_path.error
        assert "missing" in screen_text(app)
        assert "image-folder is not applied yet" in text_of(pane, "#ds-info")
        assert not app.edits
        # back to csv: its parameters come back as they were; then give it a real file
        csv = tmp_path / "points.csv"
        csv.write_text("a,b,c,label\n" + "\n".join(f"{i},{i % 3},{i % 5},{'yes' if i % 2 else 'no'}"
                                                     for i in range(40)))
        pane.query_one("#ds-dataset", Select).value = "csv"
        await settle(pilot)
        path_editor = pane.params_form.editor("data.params.path")
        assert path_editor.control.value == str(tmp_path / "missing.csv")
        assert path_editor.error == "" and not app.edits
        await type_into(pilot, path_editor, str(csv))
        assert [e.preset.data.dataset for e in app.edits] == ["csv"]
        info = text_of(pane, "#ds-info")
        assert "input (3,)" in info and "2 classes" in info
        await loaded(pilot)
        assert sum(pane.described["sizes"].values()) == 40
        assert "target" in text_of(pane, "#ds-preview")  # a table of samples
        # the app can replace the preset; the widgets follow without posting
        pane.load_preset(load("spiral"))
        await settle(pilot)
        assert len(app.edits) == 1
        assert pane.query_one("#ds-dataset", Select).value == "spiral"
        assert pane.params_form.editor("data.params.noise").control.value == "0.1"
        await loaded(pilot)


async def test_small_terminal_keeps_the_fields_reachable():
    preset = load("spiral")
    app = host(preset)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pane = app.query_one(DatasetPane)
        screen = app.screen.region
        select = pane.query_one("#ds-dataset", Select)
        assert screen.contains_region(select.region) and select.focusable
        assert f"input ({len(preset.data.params.features)},)" in screen_text(app)
        # Tab reaches the batch size; it is scrolled into view
        batch = pane.query_one("#ds-batch", FieldEditor).control
        select.focus()
        await pilot.pause()
        chain = app.screen.focus_chain
        await pilot.press(*["tab"] * (chain.index(batch) - chain.index(select)))
        await pilot.pause()
        assert app.focused is batch
        assert screen.contains_region(batch.region)
        await pilot.press(*"8", "enter")  # select_on_focus: replaces the value
        await settle(pilot)
        assert app.edits[-1].preset.data.batch_size == 8


async def test_a_typed_path_is_read_from_where_tuidl_started_and_tab_completes_it(tmp_path, monkeypatch):
    """A path typed in the pane means what it means in the shell tuidl was started
    from (not the preset's folder); ``~`` expands; Tab completes as a shell does."""
    work = tmp_path / "work"
    (work / "sets").mkdir(parents=True)
    rows = "a,b,label\n" + "\n".join(f"{i},{i % 3},{i % 2}" for i in range(30))
    (work / "mydata.csv").write_text(rows)
    (work / "sets" / "first.csv").write_text(rows)
    (work / "sets" / "second.csv").write_text(rows)
    home = tmp_path / "home"
    home.mkdir()
    (home / "athome.csv").write_text(rows)
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    preset = load("spiral")  # from the package's presets folder
    app = host(preset)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one(DatasetPane)
        pane.query_one("#ds-dataset", Select).value = "csv"
        await settle(pilot)
        path = pane.params_form.editor("data.params.path")
        await type_into(pilot, path, "mydata.csv")
        assert path.error == ""
        assert app.edits[-1].preset.data.params.path == str(work / "mydata.csv")
        assert "input (2,)" in text_of(pane, "#ds-info")
        await type_into(pilot, path, "~/athome.csv")
        assert app.edits[-1].preset.data.params.path == str(home / "athome.csv")
        # Tab: a unique name fills in, folders get their slash
        path.focus_control()
        await pilot.pause()
        path.control.value = "my"
        await pilot.press("tab")
        assert path.control.value == "mydata.csv" and path.control.has_focus
        path.control.value = "se"
        await pilot.press("tab")
        assert path.control.value == "sets/"
        # several: what they share fills in, the names show under the field
        await pilot.press("tab")
        await settle(pilot)
        assert path.control.value == "sets/" and path.control.has_focus
        assert "first.csv  second.csv" in screen_text(app)
        await pilot.press("s", "tab", "enter")
        await settle(pilot)
        assert path.control.value == "sets/second.csv"
        assert app.edits[-1].preset.data.params.path == str(work / "sets" / "second.csv")
        # nothing left to complete: Tab moves on, as in every other field
        await pilot.press("tab")
        assert not path.control.has_focus


async def test_the_info_line_the_csv_preview_and_the_npz_field_fit_the_dataset_chosen(tmp_path):
    """cifar100 showed `samples 500` (spiral's, loaded before); a CSV's preview named its
    columns x0, x1, … instead of its header's names; the NPZ-only field showed for a CSV."""
    spiral = load("spiral")
    app = host(spiral)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        pane = app.query_one(DatasetPane)
        assert "samples 500 " in text_of(pane, "#ds-info")
        data = to_data(spiral)
        data["data"]["dataset"] = "cifar100"
        data["data"]["params"] = {"download": False}  # (no network here: its load fails, and says so)
        pane.load_preset(from_dict(data))
        await loaded(pilot)
        info = text_of(pane, "#ds-info")
        assert "samples 50,000 + 10,000 official test" in info and "samples 500" not in info
        assert "100 classes" in info
        # a CSV: its header names the preview's columns; no NPZ field
        csv = tmp_path / "flowers.csv"
        csv.write_text("petal_len,petal_wid,sepal_len,kind\n"
                       + "\n".join(f"{i % 7},{i % 3},{i % 5},{'a' if i % 2 else 'b'}" for i in range(30)))
        pane.query_one("#ds-dataset", Select).value = "csv"
        await settle(pilot)
        features = pane.params_form.editor("data.params.features")
        assert features is not None and not features.display
        assert "NPZ only" not in screen_text(app)
        await type_into(pilot, pane.params_form.editor("data.params.path"), str(csv))
        await loaded(pilot)
        preview = text_of(pane, "#ds-preview")
        assert "petal_len" in preview and "sepal_len" in preview and "x0" not in preview
        assert "samples 30 " in text_of(pane, "#ds-info")
        # an NPZ names its array of features: the field is back
        pane.query_one("#ds-dataset", Select).value = "npz"
        await settle(pilot)
        assert pane.params_form.editor("data.params.features").display
        assert "NPZ only" in screen_text(app)
