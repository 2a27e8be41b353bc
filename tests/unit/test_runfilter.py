"""Finding runs: the filter grammar (and its errors, like any bad input), tags and notes,
sorting and grouping, on real run directories of both kinds (preset runs and logged runs)."""

from __future__ import annotations

import datetime
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import helpers
from tuidl import cli
from tuidl.core.preset import preset as P
from tuidl.core.preset.schema import ConfigError
from tuidl.core.run import rundir as R
from tuidl.core.run import runtable as T
from tuidl.core.run.runfilter import FilterError, parse, run_config
from tuidl.core.run.runlist import scan_runs


def preset_run(root, name="xor", lr=0.01, status="completed", best=0.3, started=None, host="gpu1", **more):
    preset = P.load(name, [f"train.optimizer.lr={lr}"])
    run = R.create(root, P.run_name(preset), P.dumps(preset), preset=preset.name)
    run.write_status(status=status, best={"monitor": "val_loss", "value": best, "epoch": 2}, host=host,
                     started=started or time.time(), ended=(started or time.time()) + 5, epoch=2, epochs=2,
                     test={"acc": 0.9}, **more)
    return run


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    day = datetime.datetime(2026, 12, 5, 12, 0).timestamp()
    a = preset_run(root, lr=0.01, best=0.2, started=day)
    b = preset_run(root, lr=0.0001, best=0.5, status="stopped", host="gpu2", started=day + 3 * 86400)
    c = helpers.logged_run(root, "mnist-script", metrics=("train/loss", "val/acc"), config={"optim": {"lr": 0.003},
                           "batch_size": 64}, summary={"best_acc": 0.97}, steps=20)
    c.write_status(project="mnist")
    return root, {"a": a.id, "b": b.id, "c": c.id}


def ids(root, expr):
    return {r.id for r in parse(expr).apply(scan_runs(root))}


def test_fields_config_keys_and_metrics_of_both_kinds(runs):
    root, n = runs
    assert ids(root, "lr>=0.001") == {n["a"], n["c"]}  # train.optimizer.lr of a preset, optim.lr of a logged run
    assert ids(root, "train.optimizer.lr<0.001") == {n["b"]}
    assert ids(root, "config.batch_size=64") == {n["c"]}
    assert ids(root, "status:completed") == {n["a"], n["c"]}
    assert ids(root, "status:stopped,failed") == {n["b"]}
    assert ids(root, "host:gpu2") == {n["b"]}
    assert ids(root, "project:mnist kind:logged") == {n["c"]}
    assert ids(root, "preset~XO") == {n["a"], n["b"]}
    assert ids(root, "val_loss<0.3") == {n["a"]}  # a preset run's best monitored value
    assert ids(root, "test_acc>=0.9") == {n["a"], n["b"]}
    assert ids(root, "best_acc>0.9") == {n["c"]}  # what run.summary set
    assert ids(root, "val/acc>0") == {n["c"]}  # a logged metric's last value
    assert ids(root, "after:2026-12-07 before:2026-12-09") == {n["b"]}
    assert ids(root, "-kind:logged lr<1") == {n["a"], n["b"]}
    assert ids(root, "!host:gpu1 !host:gpu2") == {n["c"]}  # the logged run's host is this machine
    assert ids(root, "nosuchkey=1") == set()
    assert ids(root, "") == set(n.values())


def test_the_resolved_preset_is_read_once(runs):
    root, n = runs
    run = R.open_run(n["a"], root)
    first = run_config(run)
    assert first["train.optimizer.lr"] == 0.01 and first["model.layers.0.units"] > 0
    assert run_config(run) is first  # cached while the file is unchanged


@pytest.mark.parametrize("expr, column, words", [
    ("lr>=abc", 5, "'>=' needs a number"),
    ("status:compelted", 8, "no run status"),
    ("after:2026-13-01", 7, "month must be in 1..12"),
    ("after:yesterday", 7, "not a date"),
    ("after>2026-01-01", 1, "takes ':' and a date"),
    ('note~"never closed', 6, "never closed"),
    ("lr>=", 5, "needs a value"),
    ("a b =x", 5, "is not KEY OP VALUE"),
    ("x:a,,b", 3, "empty alternative"),
    ("lr>1,2", 4, "one number"),
    ("kind:docker", 6, "preset or logged"),
])
def test_a_bad_expression_says_what_and_where(expr, column, words):
    with pytest.raises(FilterError) as e:
        parse(expr)
    assert e.value.column == column and words in str(e.value)
    assert str(e.value).startswith(f"filter, column {column}: ") and "\n" not in str(e.value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("ab1.:=<>~!-,\" 'éx_/") + ["status", "after", "lr", "2026-12-01"]),
                max_size=15).map("".join))
def test_any_text_parses_or_fails_with_one_line(text):
    try:
        parse(text)
    except FilterError as e:
        assert 1 <= e.column <= len(text) + 1 and "\n" not in str(e)


def test_tags_and_notes_are_kept_in_the_status_file_and_filterable(runs, capsys):
    root, n = runs
    assert cli.main(["tag", n["a"], "+baseline", "+old", "--runs-dir", str(root)]) == 0
    assert cli.main(["tag", n["a"], "-old", "sota", "--runs-dir", str(root)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{n['a']}: baseline sota"
    assert cli.main(["note", n["b"], "lr  too\nlow", "--runs-dir", str(root)]) == 0
    run_a = R.open_run(n["a"], root)
    assert run_a.read_status()["tags"] == ["baseline", "sota"] and run_a.read_status()["status"] == "completed"
    run_a.write_status(epoch=3)  # a trainer's own update keeps them
    assert R.tags_of(run_a.read_status()) == ["baseline", "sota"]
    assert ids(root, "tag:baseline") == {n["a"]}
    assert ids(root, "-tag:baseline kind:preset") == {n["b"]}
    assert ids(root, 'note~"too low"') == {n["b"]}
    assert ids(root, "sota") == {n["a"]}  # a bare word
    assert cli.main(["runs", "--runs-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "TAGS" in out and "baseline sota" in out and "lr too low" in out
    assert cli.main(["note", n["b"], "", "--runs-dir", str(root)]) == 0
    assert "note" not in R.open_run(n["b"], root).read_status()


def test_bad_tags_and_expressions_are_one_line_and_exit_2(runs, capsys):
    root, n = runs
    assert cli.main(["tag", n["a"], "+bad tag", "--runs-dir", str(root)]) == 2
    assert cli.main(["runs", "--filter", "lr>=x", "--runs-dir", str(root)]) == 2
    assert cli.main(["runs", "--sort", "a b", "--runs-dir", str(root)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: bad tag 'bad tag'")
    assert err[1] == "error: filter, column 5: lr>=x: '>=' needs a number, not 'x'"
    assert err[2].startswith("error: column 'a b'") and len(err) == 3


def test_sort_by_a_config_key_or_a_metric_and_group_with_count_and_best(runs, capsys):
    root, n = runs
    rows = scan_runs(root)
    assert [r.id for r in T.sort_rows(rows, "lr")] == [n["b"], n["c"], n["a"]]
    assert [r.id for r in T.sort_rows(rows, *T.parse_sort("-lr"))] == [n["a"], n["c"], n["b"]]
    assert [r.id for r in T.sort_rows(rows, "val_loss")][:2] == [n["a"], n["b"]]  # the logged run has none: last
    groups = T.group_rows_by(rows, "kind")
    assert [(g.value, len(g.rows)) for g in groups] == [("logged", 1), ("preset", 2)]
    assert groups[1].best.id == n["a"] and "2 runs · best val_loss=0.2" in groups[1].title
    # sorted, the group of the run that sorts first leads (the logged run has no val_loss)
    groups = T.group_rows_by(rows, "kind", ("val_loss", False))
    assert [(g.value, [r.id for r in g.rows]) for g in groups] == [("preset", [n["a"], n["b"]]), ("logged", [n["c"]])]
    groups = T.group_rows_by(rows, "kind", ("lr", True))
    assert [(g.value, [r.id for r in g.rows]) for g in groups] == [("preset", [n["a"], n["b"]]), ("logged", [n["c"]])]
    groups = T.group_rows_by(rows, "kind", ("lr", False))
    assert [(g.value, [r.id for r in g.rows]) for g in groups] == [("preset", [n["b"], n["a"]]), ("logged", [n["c"]])]
    assert cli.main(["runs", "--group", "host", "--sort=-val_loss", "--columns", "id,lr,val_loss,test_acc",
                     "--runs-dir", str(root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ID", "lr", "val_loss", "test_acc"]
    assert out[1].startswith("── host=gpu2 · 1 run · best val_loss=0.5")  # the highest val_loss leads
    assert out[2].split()[:3] == [n["b"], "0.0001", "0.5"]
    assert out[3].startswith("── host=gpu1 · 1 run · best val_loss=0.2")
    assert out[4].split()[:3] == [n["a"], "0.01", "0.2"]


def test_diff_shows_only_the_keys_that_differ_side_by_side_with_summaries(runs, capsys):
    root, n = runs
    assert cli.main(["diff", n["a"], n["b"], "--runs-dir", str(root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "── config: 1 key differs"
    assert out[2].split() == ["train.optimizer.lr", "0.01", "0.0001"]  # and nothing else of the two presets
    summary = out[out.index(next(line for line in out if line.startswith("── summary"))) + 1:]
    assert summary[0].split() == ["status", "completed", "stopped"]
    assert ["val_loss", "0.2", "0.5"] in [line.split() for line in summary]
    assert cli.main(["diff", n["a"], "--runs-dir", str(root)]) == 2
    assert "give two runs or more" in capsys.readouterr().err


_NAMES = st.sampled_from(["loss", "val_loss", "val/loss", "train/loss", "acc", "test_acc", "x.acc", "test_x.acc",
                          "a.val_loss", "f1"])


@settings(max_examples=300, deadline=None)
@given(logged=st.one_of(st.none(), st.dictionaries(_NAMES, st.floats(allow_nan=False), max_size=4)),
       monitor=st.one_of(st.none(), st.just(""), _NAMES), test=st.one_of(st.none(), st.dictionaries(
           st.sampled_from(["acc", "loss", "x.acc", "val_loss"]), st.floats(allow_nan=False), max_size=3)),
       key=_NAMES)
def test_a_metric_is_looked_up_as_in_the_runs_summary(logged, monitor, test, key):
    """A filter on a metric looks it up without making each run's summary dict
    (runfilter._summary_lookup): the same value as the summary (run_summary) gives, a
    whole key first, else the first key ending in ``.key``, in the summary's order."""
    from types import SimpleNamespace

    from tuidl.core.run import runfilter as F
    from tuidl.core.run.runlist import LoggedFigures

    status = {}
    if monitor is not None:
        status["best"] = {"monitor": monitor, "value": 0.125}
    if test is not None:
        status["test"] = test
    row = SimpleNamespace(status_data=status,
                          logged=None if logged is None else LoggedFigures("script", 1, len(logged), None, logged))
    assert F._summary_lookup(row, key) == F._lookup(F.run_summary(row), key)
