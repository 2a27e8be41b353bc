"""Every chart tuidl draws, drawn for real: no chart may fail quietly.

The Training pane's loss, accuracy and learning-rate charts (with a compared run laid
over them, on a log axis, smoothed, by epoch), the Dataset pane's Playground scatter and
MNIST-1D sequence previews, and the text charts of the Markdown export. Each must show
real plot marks, round ticks and a legend that stays out of the data; a "cannot draw"
anywhere fails the test.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from tuidl.core.preset import preset as P
from tuidl.core.run import report
from tuidl.core.run import rundir as R
from tuidl.core import textplot
from tuidl.ui import palette
from tuidl.ui.app import TuidlApp
from tuidl.ui.widgets.charts import MetricChart
from tuidl.ui.panes.dataset import load_for_pane, preview_renderable

from helpers import FIXTURES, wait_for

RUNS = FIXTURES / "runs"
BRAILLE = {chr(c) for c in range(0x2801, 0x2900)}
BLOCKS = set("▀▄▌▐▖▗▘▝▚▞▙▛▜▟█")
TICK = re.compile(r"^\s*(-?[\d.]+(?:e-?\d+)?[kMGT]?)┤")


@pytest.fixture(autouse=True)
def _braille(monkeypatch):
    monkeypatch.setenv(textplot.MARKS_ENV, "braille")


def plain(renderable, width: int = 120) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def check_chart(chart: MetricChart, *labels: str) -> list[str]:
    """The chart as drawn on screen: real marks, its title and legend in the first row
    only, whole and round tick labels, no failure. Returns its rows."""
    rows = chart.render().plain.split("\n")
    text = "\n".join(rows)
    assert chart.failure is None and "cannot draw" not in text, text
    assert len(rows) == chart.size.height
    assert sum(ch in BRAILLE for ch in text) > 20, f"{chart.title}: no braille marks\n{text}"
    assert rows[0].startswith(chart.title)
    top = next(i for i, row in enumerate(rows) if "┌" in row)
    assert 1 <= top <= 2  # the header: title and legend, then the frame
    head = "\n".join(rows[:top])
    for label in labels:  # a narrow chart may shorten long labels (validation → validati…)
        assert label[:7] in head, f"legend {label!r} not in the header rows: {head!r}"
        assert all(label[:7] not in row for row in rows[top:-2]), f"{label!r} drawn over the plot\n{text}"
    assert "┤" in text and "┬" in text
    return rows


def x_tick_labels(rows: list[str]) -> list[str]:
    axis = next(i for i, row in enumerate(rows) if "└" in row)
    return rows[axis + 1].split()


def spans_colors(chart: MetricChart) -> set[int]:
    """The palette indexes the chart's drawn text uses."""
    out = set()
    for span in chart.render().spans:
        style = span.style
        color = getattr(style, "color", None) if not isinstance(style, str) else None
        if color is not None and color.number is not None:
            out.add(color.number)
    return out


async def test_training_pane_charts_draw_with_overlays_log_smoothing_and_epochs(tmp_path):
    run = R.RunDir(RUNS / "spiral-demo")
    other = R.RunDir(shutil.copytree(RUNS / "digits-demo", tmp_path / "digits-demo"))
    app = TuidlApp(P.load(run.preset_path), replay=run, system_interval=None, telemetry=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.panes["training"].controls.state == "ended", what="the replay to end")
        pane = app.panes["training"]
        charts = [pane.query_one(f"#{cid}", MetricChart) for cid in ("loss-chart", "metric-chart", "lr-chart")]
        for chart in charts:
            chart.mark_dirty()
        await wait_for(pilot, lambda: all(c.redraws and not c.dirty for c in charts), what="the charts drawn")
        loss, metric, lr = charts

        rows = check_chart(loss, "train", "validation")
        steps = x_tick_labels(rows)
        assert steps and all(re.fullmatch(r"\d+k?", s) for s in steps), steps  # whole steps
        assert {palette.TRAIN, palette.VAL} <= spans_colors(loss)
        check_chart(metric, "train", "validation")
        assert {palette.TRAIN, palette.VAL} <= spans_colors(metric)
        check_chart(lr)
        assert palette.LR in spans_colors(lr)

        # by epoch, log scale, smoothing: each redraws and still draws
        await pilot.press("e", "l", "m")
        for chart in charts:
            chart.mark_dirty()
        before = {id(c): c.redraws for c in charts}
        await wait_for(pilot, lambda: all(c.redraws > before[id(c)] for c in charts), what="the redraw")
        assert loss.x_label == "epoch" and loss.log_y and loss.smooth > 0
        rows = check_chart(loss, "train", "validation")
        assert all(re.fullmatch(r"\d+", s) for s in x_tick_labels(rows))  # whole epochs
        check_chart(lr)

        # a compared run laid over the loss and accuracy charts, in a colour of its own
        labels = pane.set_overlays({"digits": report.load_history(other)})
        assert labels == ["digits"]
        for chart in (loss, metric):
            chart.mark_dirty()
        before = {id(c): c.redraws for c in charts}
        await wait_for(pilot, lambda: loss.redraws > before[id(loss)] and metric.redraws > before[id(metric)],
                       what="the overlay drawn")
        check_chart(loss, "train", "validation", "digits")
        assert palette.OVERLAYS[0] in spans_colors(loss)
        check_chart(metric, "digits")

        # fonts without braille: the palette's "Charts: marks" switches to quadrant blocks
        assert "Charts: marks" in {c.title for c in app.get_system_commands(app.screen)}
        before = loss.redraws
        app.action_cycle_marks()
        assert loss.marks == metric.marks == lr.marks == "blocks"
        await wait_for(pilot, lambda: loss.redraws > before, what="the redraw in blocks")
        drawn = loss.render().plain
        assert sum(ch in BLOCKS for ch in drawn) > 20 and not BRAILLE & set(drawn)


def test_playground_scatter_preview_draws_points_ticks_and_legend():
    result = load_for_pane(P.load("spiral"), "k")
    assert not result.get("error"), result["error"]
    text = plain(preview_renderable(result, 80))
    assert "cannot draw" not in text and "no preview" not in text
    assert sum(ch in BLOCKS for ch in text) > 50
    ticks = [m.group(1) for m in (TICK.match(line) for line in text.splitlines()) if m]
    assert len(ticks) >= 2 and all(float(t) == round(float(t) * 4) / 4 for t in ticks), ticks  # round
    assert "negative" in text and "positive" in text


def test_mnist1d_sequence_preview_draws_lines():
    result = load_for_pane(P.load("mnist1d-mlp"), "k")
    assert not result.get("error"), result["error"]
    assert result["kind"] == "sequences"
    text = plain(preview_renderable(result, 100))
    assert sum(ch in BRAILLE for ch in text) > 100


def test_markdown_export_charts_have_marks_round_ticks_and_a_legend_row(tmp_path):
    run = R.RunDir(shutil.copytree(RUNS / "digits-demo", tmp_path / "digits-demo"))
    done = report.export(run, tmp_path / "out")
    assert done.problems == []
    md = Path(done.md_path).read_text()
    charts = re.findall(r"```\n(.*?)```", md, flags=re.S)
    curves = [c for c in charts if "┤" in c]
    assert len(curves) == 3  # loss, acc, top5
    for chart in curves:
        lines = chart.splitlines()
        assert "• train" in lines[0] and "x validation" in lines[0]  # the legend, in its own row
        body = "\n".join(lines[1:])
        assert body.count("•") > 5 and body.count("x") > 5  # both lines drawn, each its own marker
        epochs = x_tick_labels(lines)
        assert epochs and all(re.fullmatch(r"\d+", e) for e in epochs), epochs
        assert lines[-1].strip() == "epoch"


def test_an_export_whose_chart_fails_still_writes_the_report_and_says_which_part(tmp_path, monkeypatch,
                                                                                    capsys):
    from tuidl import cli

    run = R.RunDir(shutil.copytree(RUNS / "digits-demo", tmp_path / "digits-demo"))

    def broken(*args, **kwargs):
        raise AttributeError("module 'plotext' has no attribute 'clf'")

    monkeypatch.setattr(textplot, "line_chart", broken)
    code = cli.main(["export", str(run.path), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1
    md = (tmp_path / "out" / "digits-demo-report.md").read_text()
    assert "## Final metrics" in md and "## Confusion matrix" in md and "```toml" in md  # the rest is there
    assert "_The loss chart could not be drawn: AttributeError" in md
    assert (tmp_path / "out" / "digits-demo-metrics.csv").read_text().startswith("epoch,")
    assert "wrote" in out and "the loss chart could not be drawn (AttributeError" in out


def test_a_chart_that_cannot_draw_shows_why_and_logs_it_once(monkeypatch, caplog):
    from tuidl.ui.series import Series

    chart = MetricChart("loss")
    chart.set_series("train", Series([1, 2, 3], [3.0, 2.0, 1.0]), "train", palette.TRAIN)

    def broken(*args, **kwargs):
        raise RuntimeError("plotext is broken")

    monkeypatch.setattr(textplot, "line_chart", broken)
    with caplog.at_level("WARNING", logger="tuidl.charts"):
        for _ in range(3):
            text = chart.render_text(60, 12)
    assert "cannot draw: RuntimeError: plotext is broken" in text
    assert chart.failure == "RuntimeError: plotext is broken"
    assert len([r for r in caplog.records if "cannot draw" in r.getMessage()]) == 1
    monkeypatch.undo()
    assert "cannot draw" not in chart.render_text(60, 12) and chart.failure is None


def test_ticks_are_round_and_never_fewer_than_two():
    # the narrow chart that once labelled its steps 1.0 330.8 660.5 990.2 1320.0
    assert textplot.linear_ticks(1, 1320, 2, integer=True) == ([500.0, 1000.0], ["500", "1000"])
    assert textplot.linear_ticks(1, 2, 4, integer=True)[1] == ["1", "2"]
    ticks, labels = textplot.linear_ticks(0.1234, 0.1236, 4)
    assert len(set(labels)) == len(labels) >= 2  # labels never repeat
    assert textplot.linear_ticks(0, 123456, 4, integer=True)[1] == ["0", "50k", "100k"]
    assert textplot.log_ticks(1e-4, 0.1, 5)[1] == ["0.0001", "0.001", "0.01", "0.1"]
    # labels never touch: at most room // (widest + 2) ticks
    ticks, labels = textplot.linear_ticks(0, 1_000_000, 50, integer=True, room=40)
    assert len(ticks) * (max(map(len, labels)) + 2) <= 40


def test_legend_never_runs_into_the_title_or_the_next_chart():
    legend = [("train", 6, "━━"), ("validation", 3, "━━"), ("a-long-run-label", 13, "━━")]
    rows = textplot.header("loss", legend, 80, color=False)
    body = "━━ train  ━━ validation  ━━ a-long-run-label"
    assert rows == ["loss" + " " * (80 - 1 - 4 - len(body)) + body + " "]
    rows = textplot.header("loss", legend, 40, color=False)  # wraps onto a second row
    assert [len(r) for r in rows] == [40, 40] and rows[0].startswith("loss ")
    assert "train" in rows[0] and "a-long-run-label" in rows[1] and all(r.endswith(" ") for r in rows)
    rows = textplot.header("accuracy", legend, 20, color=False)  # shortened, the rest counted
    assert all(len(r) == 20 for r in rows) and rows[0].startswith("accuracy ") and "+" in rows[-1]
    assert textplot.header("accuracy", legend, 20, color=False, max_rows=1)[0].startswith("accuracy ")


def test_boundary_header_keeps_title_epoch_and_legend_apart():
    from tuidl.ui.widgets.boundary import BoundaryPlot

    values = [[0.0] * 10 + [1.0] * 10 for _ in range(20)]
    plot = BoundaryPlot()
    plot.update_boundary({"type": "boundary", "time": 0.0, "epoch": 30, "extent": [-6, 6, -6, 6], "size": 20,
                          "values": values, "points": [[-4.0, 0.0, 0], [4.0, 0.0, 1]]})
    wide = plot.render_lines(60, 12)[0]
    assert wide.startswith("decision boundary · epoch 30") and wide.rstrip().endswith("● class 1")
    assert re.search(r"epoch 30\s{2,}● class 0  ● class 1", wide)
    for width in (34, 28, 22):  # narrower: the title goes, then the epoch, never into the legend
        row = plot.render_lines(width, 12)[0]
        assert len(row) == width and "● class 0  ● class 1" in row
        left = row.split("●")[0]
        assert left.strip() in ("decision boundary · epoch 30", "epoch 30", "")
        assert left.endswith("  ") or not left.strip()
