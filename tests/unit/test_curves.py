"""Any metric of any run on any x axis (issue 28, items 3 and 6), and the chart that draws
them: raw points faint behind a smoothed line, a log scale on x."""

from __future__ import annotations

import numpy as np

import helpers
from tuidl.core import textplot
from tuidl.core.run import runview
from tuidl.core.run.curves import run_curves
from tuidl.core.run.events import EventWriter
from tuidl.core.run.rundir import RunDir
from tuidl.ui.series import Series
from tuidl.ui.widgets.charts import RAW_COLOR, MetricChart


def test_a_logged_runs_metrics_on_every_axis(tmp_path):
    run = helpers.logged_run(tmp_path, "s", metrics=("train/loss", "lr", "epoch"), steps=20, t0=1000.0, dt=0.5,
                             every={"lr": 5},
                             values=lambda name, i: {"lr": 0.1 / (1 + i), "epoch": float(i // 10)}.get(name, 1.0 / (i + 1)))
    curves = run_curves(runview.load(run))
    assert {"train/loss", "lr", "epoch"} <= set(curves.names)
    xs, ys = curves.curve("train/loss", "step")
    assert list(xs) == list(range(20)) and ys[3] == 0.25
    rel, _ = curves.curve("train/loss", "relative")
    wall, _ = curves.curve("train/loss", "wall")
    assert np.allclose(wall - rel, curves.t0) and curves.t0 == 1000.0 and rel[1] - rel[0] == 0.5
    ep, _ = curves.curve("train/loss", "epoch")  # from the run's own "epoch" metric, by step
    assert list(ep[:11]) == [0.0] * 10 + [1.0]
    by_lr, ys = curves.curve("train/loss", "lr")  # x: the lr logged at or before each step (every 5th)
    assert by_lr[0] == 0.1 and by_lr[4] == 0.1 and by_lr[5] == 0.1 / 6 and ys.size == 20
    assert curves.curve("nothing", "step")[0].size == 0 and curves.curve("train/loss", "nothing")[0].size == 0


def test_a_preset_runs_epochs_as_metrics(tmp_path):
    run = RunDir(tmp_path / "r")
    run.path.mkdir()
    with EventWriter(run.events_path) as w:
        w.write(helpers.started(t=100.0))
        for n in (1, 2, 3):
            w.write(helpers.epoch(n, 10 * n, loss=1.0 / n, val_loss=2.0 / n, t=100.0 + 3 * n))
        w.write(helpers.ended(epochs=3, t=112.0))
    curves = run_curves(runview.load(run))
    assert {"train_loss", "val_loss", "val_acc", "lr"} <= set(curves.names)
    xs, ys = curves.curve("val_loss", "epoch")
    assert list(xs) == [1.0, 2.0, 3.0] and np.allclose(ys, [2.0, 1.0, 2.0 / 3])
    assert list(curves.curve("val_loss", "step")[0]) == [10.0, 20.0, 30.0]
    assert list(curves.curve("val_loss", "relative")[0]) == [3.0, 6.0, 9.0]


def chart(smooth: float, *, log_x: bool = False, lines: int = 1) -> MetricChart:
    rng = np.random.default_rng(0)
    c = MetricChart("loss")
    x = np.arange(1, 2001, dtype=np.float64)
    for i in range(lines):
        c.set_series(f"l{i}", Series(x, 1.0 / np.sqrt(x) + 0.3 * rng.random(x.size)), f"run {i}", "cyan")
    c.smooth = smooth
    c.log_x = log_x
    return c


def test_raw_points_are_drawn_faint_behind_the_smoothed_line(monkeypatch):
    drawn = []
    real = textplot.line_chart

    def spy(lines, *args, **kwargs):
        drawn.append([(ln.label, ln.color, ln.legend) for ln in lines])
        return real(lines, *args, **kwargs)

    monkeypatch.setattr(textplot, "line_chart", spy)
    text = chart(0.9)._render_text_rich(100, 20).plain
    assert drawn[-1][0] == ("", RAW_COLOR, False) and drawn[-1][1][0] == "run 0"  # raw first: under it
    assert "━━" not in text.splitlines()[0] or text.count("run 0") == 1  # the raw line is not in the legend
    chart(0.0)._render_text_rich(100, 20)
    assert [d[0] for d in drawn[-1]] == ["run 0"]  # no smoothing: the line itself only
    chart(0.9, lines=5)._render_text_rich(100, 20)
    assert all(d[2] for d in drawn[-1]) and len(drawn[-1]) == 5  # an overlay of many runs: no raw lines


def test_log_x_labels_powers_of_ten():
    linear = chart(0.0)._render_text_rich(100, 20).plain
    logged = chart(0.0, log_x=True)._render_text_rich(100, 20).plain
    assert logged.splitlines()[-1].split() == ["1", "10", "100", "1000"]  # equal steps a decade
    assert linear.splitlines()[-1].split() == ["500", "1000", "1500", "2000"]
