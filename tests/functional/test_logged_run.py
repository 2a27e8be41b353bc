"""A logged run (tuidl.init / run.log, tuidl run -- CMD) in the dashboard: replayed from a
recorded run directory (tests/fixtures/runs/logged-demo, command-demo: written per the
logging contract by helpers.logged_run), attached while it logs, listed, compared. The
charts are drawn for whatever names it logs, train and validation names paired."""

from __future__ import annotations

import os
import socket

import pytest

import helpers
from helpers import FIXTURES, make_app, runs_shown, text_of, wait_for
from tuidl.core.run import rundir as R
from tuidl.core.run.events import EventWriter, read_events

SIZE = (160, 45)


def fixture(tmp_path, name: str) -> R.RunDir:
    return helpers.copy_fixture(tmp_path, name, name)


def side_text(view) -> str:
    return "\n".join(text_of(part) for part in (view.side.about, view.side.summary, view.side.config))


async def replayed(pilot, app) -> None:
    await wait_for(pilot, lambda: app.panes["training"].controls.state == "ended", what="the replay to end")
    await pilot.pause()


def series_of(chart):
    return {key: line.series for key, line in chart._lines.items()}  # noqa: SLF001 - what the chart draws


async def test_replay_draws_a_chart_per_metric_pair_with_summary_and_config(tmp_path):
    run = fixture(tmp_path, "logged-demo")
    metrics = [e for e in read_events(run.events_path) if e["type"] == "metrics"]
    app = make_app(runs_root=tmp_path, replay=run)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        pane = app.panes["training"]
        assert pane.logged and pane.logged_view.display
        assert not pane.run_charts.display and not pane.query_one("#train-settings").display
        view = pane.logged_view
        assert [c.title for c in view.charts.values()] == ["loss", "acc", "lr", "grad norm"]
        loss = series_of(view.charts[view.group_key(view.groups[0])])
        assert set(loss) == {"train", "val"}
        assert loss["train"].xs.tolist() == [float(e["step"]) for e in metrics]
        assert loss["val"].ys.tolist() == [e["values"]["val/loss"] for e in metrics if "val/loss" in e["values"]]
        pane.redraw_now()
        chart_text = view.charts[view.group_key(view.groups[0])].render().plain
        assert "train" in chart_text and "validation" in chart_text and "step" in chart_text
        side = side_text(view)
        best = min(e["values"]["val/loss"] for e in metrics if "val/loss" in e["values"])
        assert "Summary" in side and "val/loss" in side and f"{best:.4f}" in side
        assert "test/acc" in side and "97.1%" in side  # set by the run's summary
        assert "model.hidden" in side and "[128, 64]" in side and "batch_size" in side
        assert not view.output.display  # a script's run: no command output

        # x by time, log y, smoothing: the same keys as a trainer run's charts
        await pilot.press("3")
        await pilot.press("e")
        assert view.x_axis == "time"
        loss = series_of(view.charts[view.group_key(view.groups[0])])
        assert loss["train"].xs[-1] == pytest.approx(metrics[-1]["time"] - 1_765_000_000.0)
        await pilot.press("l", "m")
        chart = next(iter(view.charts.values()))
        assert chart.log_y and chart.smooth == pytest.approx(0.6) and chart.x_label == "time (s)"
        modes = text_of(view.modes)  # in words, short, or the charts and rows only: as the width allows
        assert "charts: 4 of 4 [g]" in modes or "4/4 charts[g]" in modes, modes
        assert "steps" not in modes and "log y: off" not in modes and "log off" not in modes, modes

        # g: a checklist of the charts; unticking one hides it
        await pilot.press("g")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ChartsChecklist", what="the checklist")
        await pilot.press("space")  # the first chart: loss
        await pilot.press("enter")
        await wait_for(pilot, lambda: [c.title for c in view.charts.values()] == ["acc", "lr", "grad norm"],
                       what="the loss chart hidden")
        assert "3 of 4 [g]" in text_of(view.modes) or "3/4 charts[g]" in text_of(view.modes)


async def test_a_command_run_shows_its_output(tmp_path):
    run = fixture(tmp_path, "command-demo")
    app = make_app(runs_root=tmp_path, replay=run)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        view = app.panes["training"].logged_view
        assert [c.title for c in view.charts.values()] == ["loss"]  # loss & val_loss on one chart
        assert view.output.display
        assert view.output.lines[-1] == "done" and view.output.lines[-2].startswith("epoch 3 step 119")
        assert "$ python train.py --epochs 3" in side_text(view)


async def test_attach_follows_a_live_logged_run_and_its_controls_reach_its_folder(tmp_path):
    run = helpers.logged_run(tmp_path, "live-script", steps=5, metrics=["loss"], status="running",
                             source="command", output="starting\n")
    app = make_app(runs_root=tmp_path, attach=run)
    async with app.run_test(size=SIZE) as pilot:
        view = app.panes["training"].logged_view
        await wait_for(pilot, lambda: view.charts and len(series_of(next(iter(view.charts.values())))["train"]) == 5,
                       what="the history")
        assert app.panes["training"].controls.state == "live"
        with EventWriter(run.events_path) as w:
            for i in range(5, 9):
                w.write({"type": "metrics", "time": 1_000_001.0 + i, "step": i, "values": {"loss": 0.1, "val_loss": 0.2}})
        with open(run.path / "output.log", "a") as f:
            f.write("step 8 done\n")
        await wait_for(pilot, lambda: [c.title for c in view.charts.values()] == ["loss"]
                       and len(series_of(next(iter(view.charts.values())))["train"]) == 9
                       and "val" in series_of(next(iter(view.charts.values()))), what="the new points and val_loss")
        await wait_for(pilot, lambda: view.output.lines and view.output.lines[-1] == "step 8 done",
                       what="the output's new line")
        await pilot.press("3")
        app.panes["training"].focus_default()
        await pilot.press("p")
        await pilot.press("c")
        await pilot.press("x")
        commands = sorted(name.rsplit("-", 1)[-1] for name in os.listdir(run.control_dir))
        assert commands == ["checkpoint", "pause", "stop"]


async def test_the_runs_pane_lists_a_logged_run_and_compares_it(tmp_path):
    logged = fixture(tmp_path, "logged-demo")
    other = helpers.logged_run(tmp_path, "other-script", steps=50, metrics=["train/loss", "val/loss"])
    app = make_app(runs_root=tmp_path, runs_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        pane = await runs_shown(pilot, app)
        await wait_for(pilot, lambda: pane.select(logged.id), what="the logged run listed")
        row = pane.selected()
        assert row.preset == "mnist-script" and row.epochs_text == "step 299 · 6 metrics"
        assert "logged run (script)" in text_of(pane.detail)
        await pilot.press("u")  # resume: refused in one line
        assert any("is a logged run" in n.message for n in app.notes)
        await pilot.press("enter")  # replay it
        await wait_for(pilot, lambda: app.panes["training"].controls.state == "ended" and app.panes["training"].logged, what="its replay")
        app.comparer.compare([other])
        view = app.panes["training"].logged_view
        loss = view.charts[view.group_key(view.groups[0])]
        await wait_for(pilot, lambda: any(k.startswith("overlay:") for k in loss.series_keys()), what="the overlay")
        overlay = series_of(loss)[next(k for k in loss.series_keys() if k.startswith("overlay:"))]
        assert len(overlay) == 50  # its val/loss, on the chart of the same name


async def test_a_history_read_in_many_batches_is_drawn_once_with_all_of_it(tmp_path, monkeypatch):
    """Opening a run reads its history in batches (the follower says more follow): the
    charts are made with the last batch and each is drawn once, with every point; while
    the batches come nothing is drawn but how far the reading is."""
    from tuidl.ui import follow
    from tuidl.ui.panes.logged import READING, LoggedView

    monkeypatch.setattr(follow, "READ_BYTES", 4096)  # a few events a batch: many batches
    names = [f"{split}/m{i}" for i in range(3) for split in ("train", "val")]
    run = helpers.logged_run(tmp_path, "history", steps=300, metrics=names)
    seen = []
    take = LoggedView.take

    def spy(self, ended=False, more=False):
        take(self, ended=ended, more=more)
        seen.append((more, len(self.charts), text_of(self.modes)))

    monkeypatch.setattr(LoggedView, "take", spy)
    app = make_app(runs_root=tmp_path, replay=run)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        view = app.panes["training"].logged_view
        await wait_for(pilot, lambda: all(c.redraws for c in view.charts.values()), what="the charts drawn")
        await pilot.pause()
        reading = [s for s in seen if s[0]]
        assert len(reading) > 10 and all(charts == 0 and READING in modes for _more, charts, modes in reading)
        assert len(view.charts) == 3 and not seen[-1][0]
        for chart in view.charts.values():
            assert chart.redraws == 1  # once, with the whole history
            assert all(len(series) == 300 for series in series_of(chart).values())
        modes = text_of(view.modes)
        assert READING not in modes and ("charts: 3 of 3" in modes or "3/3 charts" in modes), modes


async def test_a_finished_big_run_opens_from_its_columns_cache_in_one_go(tmp_path, monkeypatch):
    """The first replay of a finished big run reads its events and keeps them as the
    columns cache; the next opening takes the whole history from the cache as it begins
    (one batch: the charts made and fed at once), and shows what the first one showed.
    The header says the run's news (App.title no longer repaints the whole screen)."""
    import numpy as np
    from textual.widgets._header import HeaderTitle

    from tuidl.core.run import columns
    from tuidl.ui import follow
    from tuidl.ui.panes.logged import LoggedView

    monkeypatch.setattr(follow, "READ_BYTES", 32768)  # the first reading in many batches (the cache: one)
    names = [f"{split}/m{i}" for i in range(2) for split in ("train", "val")]
    run = helpers.logged_run(tmp_path, "big", steps=columns.CACHE_MIN + 100, metrics=names, every={"val/m1": 10})
    n_events = len(read_events(run.events_path))
    seen = []
    take = LoggedView.take

    def spy(self, ended=False, more=False):
        take(self, ended=ended, more=more)
        seen.append((more, len(self.charts)))

    monkeypatch.setattr(LoggedView, "take", spy)
    shown = []
    for _ in range(2):
        seen.clear()
        app = make_app(runs_root=tmp_path / "elsewhere", replay=run)
        async with app.run_test(size=SIZE) as pilot:
            await replayed(pilot, app)
            view = app.panes["training"].logged_view
            await wait_for(pilot, lambda: all(c.redraws for c in view.charts.values()), what="the charts drawn")
            await pilot.pause()
            assert app.session.events_received == n_events
            scalars = view.view.scalars
            shown.append(({name: (scalars[name].steps.tolist(), scalars[name].values.tolist()) for name in names},
                          {key: {k: (s.xs.tolist(), s.ys.tolist()) for k, s in series_of(chart).items()}
                           for key, chart in view.charts.items()}, side_text(view), list(seen)))
            assert f"completed: {run.id}" in str(app.query_one(HeaderTitle).render())
        assert columns.cache_path(run.events_path).is_file()  # written by the first replay
    (first_values, first_series, first_side, first_seen), (values, series, side, seen_cached) = shown
    assert values == first_values and series == first_series and side == first_side
    assert len(values["val/m1"][0]) == len(range(0, columns.CACHE_MIN + 100, 10))  # (logged every 10 steps)
    assert len(first_seen) > 5  # batches as the follower read the file
    assert seen_cached == [(False, 2)]  # the whole history at once, from the cache
    assert np.isfinite(np.array(values["train/m0"][1])).all()


async def test_a_killed_big_run_keeps_its_cache_at_its_first_opening_a_live_one_does_not(tmp_path):
    """A script killed before its end wrote neither run_ended nor the cache: its first
    opening keeps the cache (its process is gone: it writes no more), so the next opening
    is as quick as a finished run's. Reading a live run keeps none (its file still grows)."""
    from tuidl.core.run import columns

    names = ["train/loss", "val/loss"]
    killed = helpers.logged_run(tmp_path, "killed", steps=columns.CACHE_MIN + 10, metrics=names, status="running")
    killed.write_status(pid=999_999)  # the script's process is gone
    live = helpers.logged_run(tmp_path, "live", steps=columns.CACHE_MIN + 10, metrics=names, status="running")
    assert killed.status()["status"] == "interrupted" and live.status()["status"] == "running"
    app = make_app(runs_root=tmp_path, replay=killed)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        assert columns.cache_path(killed.events_path).is_file()
    items, offset = columns.cached(killed.events_path)
    assert offset == killed.events_path.stat().st_size and len(items) > 1
    app = make_app(runs_root=tmp_path, attach=live)
    async with app.run_test(size=SIZE) as pilot:
        view = app.panes["training"].logged_view
        await wait_for(pilot, lambda: view.view is not None and view.view.scalars.events == columns.CACHE_MIN + 10,
                       what="the live run's history")
        await pilot.pause(0.3)
        assert not columns.cache_path(live.events_path).exists()


async def test_new_points_redraw_only_the_charts_in_view(tmp_path):
    """A live run's new points redraw the charts the grid shows; those scrolled away are
    drawn when they come into view (redrawing one out of view made Textual place every
    widget of the screen again)."""
    names = [f"{split}/m{i}" for i in range(10) for split in ("train", "val")]
    run = helpers.logged_run(tmp_path, "live", steps=5, metrics=names, status="running")
    app = make_app(runs_root=tmp_path, attach=run)
    async with app.run_test(size=SIZE) as pilot:
        view = app.panes["training"].logged_view
        await wait_for(pilot, lambda: len(view.charts) == 10 and all(c.redraws for c in view.charts.values()),
                       what="the charts")
        charts = list(view.charts.values())
        for chart in charts:
            chart.data_every, chart.cpu_share = 0.0, 1.0  # due at once
        await pilot.pause()
        view.tick(1e9)  # what a late layout (a resize) left due: every chart, drawn now
        in_view = view._charts_in_view()  # noqa: SLF001
        assert 0 < len(in_view) < 10 and in_view == charts[:len(in_view)]
        before = [c.redraws for c in charts]
        with EventWriter(run.events_path) as w:
            w.write({"type": "metrics", "time": 1_000_010.0, "step": 5, "values": {n: 0.5 for n in names}})
        await wait_for(pilot, lambda: view.view.scalars.events == 6, what="the new point")
        view.tick(1e9)
        drawn = [c for c, b in zip(charts, before) if c.redraws > b]
        assert drawn == in_view
        view.grid.scroll_end(animate=False)
        await pilot.pause()
        now_in_view = view._charts_in_view()  # noqa: SLF001
        assert now_in_view and now_in_view[-1] is charts[-1] and not set(now_in_view) & set(in_view)
        view.tick(1e9)
        assert all(c.redraws > b for c, b in zip(charts, before) if c in now_in_view)  # once in view


async def test_pgdn_and_pgup_scroll_the_chart_grid_by_whole_rows(tmp_path):
    """More charts than the pane shows: PgDn / PgUp scroll them from the keyboard (no
    mouse over SSH), a whole row of charts at a time; the modes line says which rows."""
    names = [f"{split}/m{i}" for i in range(10) for split in ("train", "val")]
    run = helpers.logged_run(tmp_path, "many", steps=5, metrics=names)
    app = make_app(runs_root=tmp_path, replay=run)
    async with app.run_test(size=SIZE) as pilot:
        await replayed(pilot, app)
        view = app.panes["training"].logged_view
        grid = view.grid
        assert len(view.charts) == 10 and grid.max_scroll_y > 0
        await pilot.press("3")
        assert grid.scroll_offset.y == 0 and "rows 1–" in text_of(view.modes)
        await pilot.press("pagedown")
        await pilot.pause()
        first = grid.scroll_offset.y
        assert first > 0 and first % 12 == 0  # whole chart rows (CHART_ROWS)
        await pilot.press("pagedown", "pagedown", "pagedown")
        await pilot.pause()
        assert grid.scroll_offset.y == grid.max_scroll_y
        rows = -(-10 // int(grid.styles.grid_size_columns))
        line = text_of(view.modes)  # in words, or short where the words don't fit (the side panel)
        assert f"–{rows} of {rows} [PgUp/PgDn]" in line or f"–{rows}/{rows}[PgDn]" in line, line
        await pilot.press("pageup", "pageup", "pageup", "pageup")
        await pilot.pause()
        assert grid.scroll_offset.y == 0
        await pilot.resize_terminal(80, 24)  # the long form cut the rows off here: the short one
        await wait_for(pilot, lambda: text_of(view.modes).startswith("10/10 charts"), what="the short modes line")
        line = text_of(view.modes).rstrip()
        assert line.startswith("10/10 charts[g] · rows 1–") and line.endswith("/10[PgDn]"), line
        assert len(line) <= view.modes.size.width, (line, view.modes.size.width)


async def test_the_side_panel_lays_the_screen_out_only_when_its_height_changes(tmp_path):
    run = helpers.logged_run(tmp_path, "live", steps=5, metrics=["loss", "val_loss"], status="running")
    app = make_app(runs_root=tmp_path, attach=run)
    async with app.run_test(size=SIZE) as pilot:
        lv = app.panes["training"].logged_view
        await wait_for(pilot, lambda: "val_loss" in text_of(lv.side.summary), what="the summary")
        layouts = []
        for part in (lv.side.about, lv.side.summary, lv.side.config):
            update = part.update
            part.update = lambda content, *, layout=True, _u=update, _p=part: (layouts.append((_p.id, layout)),
                                                                             _u(content, layout=layout))
        with EventWriter(run.events_path) as w:
            w.write({"type": "metrics", "time": 1_000_010.0, "step": 5, "values": {"loss": 0.25, "val_loss": 0.125}})
        await wait_for(pilot, lambda: lv.view.scalars.events == 6, what="the new point")
        lv.side.show(lv.view)  # (unless the pane's clock showed it already)
        assert "0.2500" in text_of(lv.side.summary) and "step 5" in text_of(lv.side.about)
        assert layouts == [("logged-about", False), ("logged-summary", False)]  # config unchanged: left alone
        layouts.clear()
        with EventWriter(run.events_path) as w:  # a new metric: one more line
            w.write({"type": "metrics", "time": 1_000_011.0, "step": 6, "values": {"lr": 0.1}})
        await wait_for(pilot, lambda: lv.view.scalars.events == 7, what="the new metric")
        lv.side.show(lv.view)  # (unless the pane's clock showed it already)
        assert ("logged-summary", True) in layouts and "lr" in text_of(lv.side.summary)


async def test_the_start_up_heap_is_frozen_while_the_dashboard_runs(tmp_path):
    import gc

    app = make_app(runs_root=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: gc.get_freeze_count() > 0, what="the heap frozen")
    assert gc.get_freeze_count() == 0  # given back: the app's widgets can be collected
