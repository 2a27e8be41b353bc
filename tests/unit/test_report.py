"""Reading a run back: replay --headless, CSV and Markdown export."""

import csv
import io
import shutil

from tuidl.core.run import events as E
from tuidl.core.run import report
from tuidl.core.run.rundir import RunDir
from helpers import FIXTURES

FIXTURE = FIXTURES / "runs" / "digits-demo"


def copy_run(tmp_path) -> RunDir:
    dst = tmp_path / "digits-demo"
    shutil.copytree(FIXTURE, dst)
    return RunDir(dst)


def test_history_matches_the_events(tmp_path):
    run = copy_run(tmp_path)
    evs = E.read_events(run.events_path)
    history = report.load_history(run)
    assert sorted(history.epochs) == [e["epoch"] for e in evs if e["type"] == "epoch"]
    assert history.status == "completed"
    assert history.test["metrics"] == evs[-1]["test"]
    assert history.metric_names == ["loss", "acc", "top5"]


def test_csv_has_one_row_per_epoch_with_the_logged_values(tmp_path):
    run = copy_run(tmp_path)
    rows = list(csv.DictReader(io.StringIO(report.to_csv(report.load_history(run)))))
    epochs = [e for e in E.read_events(run.events_path) if e["type"] == "epoch"]
    assert len(rows) == len(epochs)
    for row, ev in zip(rows, epochs):
        assert int(row["epoch"]) == ev["epoch"]
        assert float(row["train_loss"]) == ev["train"]["loss"]
        assert float(row["val_acc"]) == ev["val"]["acc"]


def test_markdown_report_has_preset_summary_metrics_and_charts(tmp_path):
    run = copy_run(tmp_path)
    text = report.to_markdown(run, report.load_history(run))
    for needle in ("# Run digits-demo", 'Model: "digits-cnn"', "Total params: 5,258", "## Curves",
                   "## Final metrics", "| test |", "## Confusion matrix", "```toml", 'dataset = "digits"'):
        assert needle in text
    assert "┤" in text  # the text charts


def test_torn_last_line_is_tolerated(tmp_path):
    run = copy_run(tmp_path)
    with open(run.events_path, "ab") as f:
        f.write(b'{"type":"epoch","epoch":7,"tr')
    history = report.load_history(run)
    assert max(history.epochs) == 6
