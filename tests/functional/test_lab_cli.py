"""`tuidl lr-find`, `tuidl landscape RUN` and `tuidl adversarial RUN` through
`tuidl.cli.main` in this process (`helpers.run_cli`). The analyses themselves:
tests/unit/test_lab.py."""

import json

import pytest

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R

from helpers import run_cli

XOR = ["--set", "train.device='cpu'"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A trained XOR run (6 epochs) in its own runs root."""
    root = tmp_path_factory.mktemp("runs")
    out = run_cli("train", "xor", *XOR, "--set", "train.epochs=6", "--quiet", "--runs-dir", str(root))
    assert out.returncode == 0, out.stderr
    return R.list_runs(root)[0]


@pytest.mark.parametrize("args,needle", [
    (["landscape", "no-such-run"], "error: no run 'no-such-run'"),
    (["adversarial", "no-such-run"], "error: no run 'no-such-run'"),
    (["adversarial", "RUN", "--eps", "0,-0.1"], "error: tuidl adversarial: --eps: -0.1 is not a size ≥ 0"),
    (["adversarial", "RUN", "--eps", "0,big"], "error: tuidl adversarial: --eps: 'big' is not a number"),
    (["landscape", "RUN", "--steps", "4"], "error: tuidl landscape: --steps must be an odd number"),
    (["lr-find", "xor", "--steps", "0"], "error: tuidl lr-find: --steps must be at least 2, got 0"),
    (["lr-find", "xor", "--lr-min", "1", "--lr-max", "0.5"], "error: tuidl lr-find: the range must have"),
    (["lr-find", "no-such-preset"], "error: no preset named 'no-such-preset'"),
])
def test_bad_input_exits_2_with_one_line(run, args, needle):
    out = run_cli(*[str(run.path) if a == "RUN" else a for a in args])
    assert out.returncode == 2
    assert out.stderr.startswith(needle) and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_a_run_without_a_checkpoint_is_refused(tmp_path):
    bare = R.create(tmp_path, "xor", P.dumps(P.load("xor")))
    for name in ("landscape", "adversarial"):
        out = run_cli(name, str(bare.path))
        assert out.returncode == 2 and f"run {bare.id} has no checkpoint yet" in out.stderr
    out = run_cli("landscape", str(bare.path), "--last")
    assert out.returncode == 2 and "has no last checkpoint yet" in out.stderr


def test_landscape_json_is_the_event_and_is_kept_with_the_run(run):
    out = run_cli("landscape", str(run.path), "--steps", "11", "--json")
    assert out.returncode == 0, out.stderr
    ev = json.loads(out.stdout)
    assert ev["type"] == "landscape" and ev["checkpoint"] == "best" and len(ev["grid"]) == 11
    assert json.loads((run.path / "lab" / "landscape.json").read_text()) == ev
    shown = run_cli("landscape", str(run.path), "--last", "--steps", "5")
    assert shown.returncode == 0 and "Loss landscape at epoch 6" in shown.stdout and "O" in shown.stdout
    assert "From the last checkpoint" in shown.stdout


def test_adversarial_prints_a_table_and_json(run):
    out = run_cli("adversarial", str(run.path), "--eps", "0.3,0")
    assert out.returncode == 0, out.stderr
    assert " ε (std)     FGSM      PGD" in out.stdout and "accuracy (%) under attack" in out.stdout
    ev = json.loads(run_cli("adversarial", str(run.path), "--eps", "0,0.3", "--json").stdout)
    assert ev["eps"] == [0.0, 0.3] and ev["fgsm"][0] == ev["clean"] and ev["pgd"][1] <= ev["pgd"][0]


def test_lr_find_json_parses(run):
    out = run_cli("lr-find", "xor", *XOR, "--steps", "20", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["steps"] == len(data["lrs"]) == 20 and data["preset"] == "xor" and data["lr"] == 0.03
    assert data["lrs"][0] <= data["suggestion"] <= data["lrs"][-1]


def test_lr_find_writes_a_file_preset_and_never_a_builtin(tmp_path):
    builtin = run_cli("lr-find", "xor", *XOR, "--steps", "20", "--yes")
    assert builtin.returncode == 0 and "To train with it: tuidl train xor --set train.optimizer.lr=" in builtin.stdout
    assert P.load("xor").train.optimizer.lr == 0.03
    mine = tmp_path / "mine.toml"
    mine.write_text(P.find("xor").read_text())
    out = run_cli("lr-find", str(mine), "--steps", "20")  # not a terminal, no --yes: the file is left alone
    assert out.returncode == 0 and "--yes" in out.stdout and P.load(mine).train.optimizer.lr == 0.03
    out = run_cli("lr-find", str(mine), "--steps", "20", "--yes")
    assert out.returncode == 0 and f"into {mine}" in out.stdout
    lr = P.load(mine).train.optimizer.lr
    assert lr != 0.03 and f"train.optimizer.lr = {lr:g}" in out.stdout
