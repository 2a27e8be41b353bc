"""Finding runs in the Runs pane, keyboard only at 80×24: ``/`` filters the list as you type
(a bad expression is named, the list keeps the last good filter; escape clears), ``t``
edits a run's tags and note (kept in its status file, shown, filterable)."""

from __future__ import annotations

import time

import pytest

import helpers
from helpers import runs_shown, wait_for
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.ui.panes.runs_ops import TagsScreen

SIZE = (80, 24)


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "runs"
    now = time.time()
    for i, (name, lr, status) in enumerate([("xor", "0.1", "completed"), ("xor", "0.001", "stopped"),
                                            ("spiral", "0.01", "completed")]):
        preset = P.load(name, [f"train.optimizer.lr={lr}"])
        run = R.create(root, P.run_name(preset), P.dumps(preset), preset=preset.name)
        run.write_status(status=status, started=now - 100 * (3 - i), ended=now - 100 * (3 - i) + 5, epoch=1,
                         epochs=1, best={"monitor": "val_loss", "value": 0.1 * (i + 1), "epoch": 1})
    helpers.logged_run(root, "script", config={"lr": 0.5})
    return root


async def test_slash_filters_the_list_and_escape_clears_it(root):
    app = helpers.make_app(None, runs_root=root, runs_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        pane = await runs_shown(pilot, app)
        assert len(pane.rows) == 4
        await pilot.press("slash")
        assert pane.filter_input.has_focus and pane.filter_input.display
        for key in "lr>=0.01":
            await pilot.press(key)
        await wait_for(pilot, lambda: len(pane.rows) == 3, what="the runs with lr >= 0.01")
        assert {r.preset for r in pane.rows} == {"xor", "spiral", "script"} and pane.table.row_count == 3
        assert "3 of 4 runs match" in str(pane.hint.content)
        for key in [" ", "k", "i", "n", "d", ":"]:
            await pilot.press(key)
        assert "needs a value" in str(pane.hint.content) and "column 15" in str(pane.hint.content)
        assert len(pane.rows) == 0  # the last good filter ("lr>=0.01 kind": a bare word) stays
        pane.relist()  # a new listing (the scan every 2 s) keeps saying what is wrong
        assert "needs a value" in str(pane.hint.content)
        for key in "preset":
            await pilot.press(key)
        await wait_for(pilot, lambda: len(pane.rows) == 2, what="the preset runs with lr >= 0.01")
        assert "2 of 4 runs match" in str(pane.hint.content)  # fixed: the count again
        await pilot.press("enter")  # back to the list, the filter kept
        assert pane.table.has_focus and len(pane.rows) == 2 and pane.filter_input.display
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(pane.rows) == 4, what="the filter cleared")
        assert not pane.filter_input.display and pane.table.has_focus and pane.filter_input.value == ""


async def test_t_edits_tags_and_note_which_are_kept_shown_and_filterable(root):
    app = helpers.make_app(None, runs_root=root, runs_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        target = next(r for r in pane.rows if r.status == "stopped")
        assert pane.select(target.id)
        await pilot.press("t")
        assert isinstance(app.screen, TagsScreen)
        for key in "baseline bad,tag":
            await pilot.press(key)
        await pilot.press("enter")
        assert isinstance(app.screen, TagsScreen) and "bad tag" in str(app.screen.query_one("#tags-error").content)
        for _ in range(8):
            await pilot.press("backspace")
        await pilot.press("tab")
        for key in "too low":
            await pilot.press(key)
        await pilot.press("enter")
        assert not isinstance(app.screen, TagsScreen)
        status = target.run.read_status()
        assert status["tags"] == ["baseline"] and status["note"] == "too low" and status["status"] == "stopped"
        pane.refresh_runs()
        await wait_for(pilot, lambda: "#baseline" in pane.table.get_cell(target.id, "preset").plain,
                       what="the tag in the list")
        assert pane.select(target.id) and "note: too low" in str(pane.detail.content)
        assert pane.set_filter("tag:baseline")
        await wait_for(pilot, lambda: [r.id for r in pane.rows] == [target.id], what="the tagged run alone")


async def test_the_configs_are_read_ahead_once_the_list_is_whole(root):
    """A filter on a config key reads every run's config; the pane reads them ahead once it
    has listed all runs, and keeps them in the runs root, so that first filter waits for none."""
    import json

    from tuidl.core.run.runindex import CONFIGS_NAME

    assert not (root / CONFIGS_NAME).exists()
    app = helpers.make_app(None, runs_root=root, runs_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        await wait_for(pilot, lambda: (root / CONFIGS_NAME).exists(), what="the configs kept in the runs root")
        kept = json.loads((root / CONFIGS_NAME).read_text())
        assert len(kept["runs"]) == 4 == len(pane.all_rows)
        lrs = sorted(c.get("train.optimizer.lr", c.get("lr")) for c in kept["configs"].values())
        assert lrs == [0.001, 0.01, 0.1, 0.5]
