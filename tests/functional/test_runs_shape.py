"""The Runs pane laid out by the user, keyboard only at 80×24 (issue 28): ``S`` sorts by any
column (a summary metric too), ``g`` groups by any config key (a group row: its count and
best), ``a`` chooses the columns, ``D`` compares the marked runs (only the config keys that
differ, side by side, with their summaries, and any metric overlaid, logged runs
included); a bad entry gets one line saying what is wrong."""

from __future__ import annotations

import time

import pytest

import helpers
from helpers import runs_shown, wait_for
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.ui.panes.runs_compare import CompareScreen
from tuidl.ui.panes.runs_shape import GroupRow

SIZE = (80, 24)


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "runs"
    now = time.time()
    for i, (lr, best) in enumerate([("0.1", 0.3), ("0.001", 0.1), ("0.1", 0.2)]):
        preset = P.load("xor", [f"train.optimizer.lr={lr}"])
        run = R.create(root, P.run_name(preset), P.dumps(preset), preset=preset.name)
        run.write_status(status="completed", started=now - 100 * (3 - i), ended=now - 100 * (3 - i) + 5, epoch=1,
                         epochs=1, best={"monitor": "val_loss", "value": best, "epoch": 1}, test={"acc": 0.5 + i / 10})
    helpers.logged_run(root, "script", config={"lr": 0.5, "width": 64}, metrics=("train/loss", "val/acc"), steps=30)
    helpers.logged_run(root, "script", config={"lr": 0.05, "width": 128}, metrics=("train/loss", "val/acc"),
                       steps=30)
    return root


async def type_in(pilot, text: str) -> None:
    for key in text:
        await pilot.press(key)


async def test_sort_group_and_columns_by_keyboard(root):
    app = helpers.make_app(None, runs_root=root, runs_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        assert pane.table.row_count == 5

        await pilot.press("S")  # sort by a summary metric of preset runs, descending
        assert pane.shape_field.has_focus
        await type_in(pilot, "-test_acc")
        await pilot.press("enter")
        accs = [r.status_data.get("test", {}).get("acc") for r in pane.table_rows()]
        assert accs[:3] == [0.7, 0.6, 0.5] and accs[3:] == [None, None]  # runs without it last
        assert pane.table.has_focus and "sorted by -test_acc" in str(pane.hint.content)

        await pilot.press("a")  # columns: a config key and a metric of logged runs
        await pilot.press("ctrl+u")
        await type_in(pilot, "status,lr,val/acc,id")
        await pilot.press("enter")
        assert [k for k, _ in pane.table.columns] == ["mark", "status", "lr", "val/acc", "id"]
        lines = helpers.screen_lines(app)
        assert any("val/acc" in line and "lr" in line for line in lines)
        first = pane.table_rows()[0]
        assert pane.table.get_cell(first.id, "lr").plain == "0.1"

        await pilot.press("g")  # group by lr: a group row each, with its count and best
        await type_in(pilot, "lr")
        await pilot.press("enter")
        groups = [item for item in pane._listed.values() if isinstance(item, GroupRow)]
        # in the sort's order (-test_acc): the group of the top run (lr 0.1) leads; the logged
        # runs' groups have no test_acc and follow by value
        assert [(g.group.value, len(g.group.rows)) for g in groups] == [("0.1", 2), ("0.001", 1), ("0.05", 1),
                                                                         ("0.5", 1)]
        row_of_01 = next(g for g in groups if g.group.value == "0.1")
        cells = pane._cells(row_of_01)
        assert "lr=0.1" in cells["status"].plain and "2 runs" in " ".join(c.plain for c in cells.values())
        assert "best val_loss=0.2" in " ".join(c.plain for c in cells.values())

        await pilot.press("g")  # a bad entry: one line, the layout as it was
        await pilot.press("ctrl+u")
        await type_in(pilot, "lr width")
        await pilot.press("enter")
        assert "group: 'lr width' is not one key" in str(pane.hint.content)
        await pilot.press("escape")
        assert pane.table.has_focus and pane.shape.group == "lr"
        await pilot.press("S")
        await pilot.press("ctrl+u")
        await type_in(pilot, "-")
        await pilot.press("enter")
        assert "column ''" in str(pane.hint.content) and pane.shape.sort == ("test_acc", True)
        await pilot.press("escape")


async def test_d_compares_marked_runs_config_diff_and_curves(root):
    app = helpers.make_app(None, runs_root=root, runs_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        logged = [r for r in pane.rows if r.logged is not None]
        for row in logged:
            pane.select(row.id)
            await pilot.press("space")
        await pilot.press("D")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await wait_for(pilot, lambda: screen.compared is not None, what="the runs read")
        diff = dict(screen.compared.diff)
        assert set(diff) == {"lr", "width"}  # only the keys that differ
        assert sorted(diff["width"]) == ["128", "64"]
        summary = dict(screen.compared.summary)
        assert "val/acc" in summary and len(summary["val/acc"]) == 2
        text = helpers.screen_text(app)
        assert "width" in text and "batch_size" not in text and "val/acc" in text
        assert screen.metric == "train/loss" or screen.metric == "val/acc"
        await helpers.settle(pilot)
        assert len(screen.chart.series_keys()) == 2
        metric = screen.metric
        await pilot.press("right_square_bracket")
        assert screen.metric != metric
        await pilot.press("x")
        assert screen.x == "epoch"
        await pilot.press("x", "x")
        assert screen.x == "relative"
        await pilot.press("L", "l", "m")
        assert screen.chart.log_x and screen.chart.log_y and screen.chart.smooth > 0
        assert "log x" in str(screen.axes.content) and "raw faint" in str(screen.axes.content)
        lines = dict(screen._lines)  # each run's line made once: a redraw keeps it (and its smoothing)
        await pilot.press("l", "m", "m")
        assert screen._lines == lines and all(screen._lines[k] is v for k, v in lines.items())
        await pilot.press("escape")
        assert not isinstance(app.screen, CompareScreen)
