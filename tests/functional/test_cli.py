"""The `tuidl` command run through `tuidl.cli.main` in this process (`helpers.run_cli`): the
same code, exit codes and messages as the command. Its own processes: tests/e2e/test_cli_e2e.py."""


import pytest

from tuidl.core.preset import preset as P
from helpers import run_cli


def test_presets_lists_every_builtin():
    out = run_cli("presets")
    assert out.returncode == 0
    lines = out.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == P.builtin_names()
    assert any("download" in line.lower() for line in lines if line.startswith("cifar10-cnn"))


def test_show_prints_the_resolved_preset():
    out = run_cli("show", "digits-cnn", "--set", "train.epochs=3")
    assert out.returncode == 0
    again = P.load_text(out.stdout, "shown")
    assert again.train.epochs == 3 and again.train.optimizer.beta2 == 0.999


def test_summary():
    out = run_cli("summary", "digits-cnn")
    assert out.returncode == 0
    assert 'Model: "digits-cnn"' in out.stdout and "Total params:" in out.stdout
    assert "global_avg_pool_1 (global_avg_pool)" in out.stdout


@pytest.mark.parametrize("args,needle", [
    (["train", "nope"], "no preset named 'nope'"),
    (["train", "spiral", "--set", "train.epochs=0"], "error: --set train.epochs=0: must be at least 1"),
    (["train", "spiral", "--set", "train.optimizer.lr=-1"], "error: --set train.optimizer.lr=-1: must be greater"),
    (["train", "spiral", "--set", "train.optimzer.lr=1"], "error: --set train.optimzer.lr=1: train.optimzer: unknown"),
    (["train", "spiral", "--epochs", "0"], "error: --epochs 0: must be at least 1"),
    (["train", "spiral", "--set", "model.layers.0.type=conv2d"],
     "--set model.layers.0.type=conv2d: model.layers[0].filters: missing"),
    (["train", "spiral", "--device", "tpu"], "error: --device tpu: expected auto, cpu"),
    (["train", "spiral", "--precision", "fp8"], "invalid choice"),
    (["show", "spiral", "--set", "nodot"], "expected path.to.key=value"),
    (["train"], "give a preset"),
    (["train", "--resume", "../../etc"], "run"),
    (["bogus-preset-name"], "no preset named"),
])
def test_bad_input_exits_2_without_traceback(args, needle):
    out = run_cli(*args)
    assert out.returncode == 2, out.stderr
    assert needle in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    if "--set" in args or "--epochs" in args or "--device" in args:  # the override is named, not the file
        assert "spiral.toml" not in out.stderr


def test_typed_flags_go_straight_to_the_preset():
    """``--device`` is set as typed, not written back as ``--set`` text and read again (a
    backslash in a TOML literal string would have read as two); the error names the flag."""
    from argparse import Namespace

    from tuidl.cli import load_preset

    preset = load_preset(Namespace(preset="spiral", overrides=["train.optimizer.lr=0.5"], device="cpu",
                                   precision=None, epochs=7))
    assert (preset.train.device, preset.train.epochs, preset.train.optimizer.lr) == ("cpu", 7, 0.5)
    assert [o.source for o in preset.overrides if isinstance(o, P.Override)] == ["--device cpu", "--epochs 7"]
    out = run_cli("train", "spiral", "--device", "cu\\da")
    assert out.returncode == 2 and "error: --device cu\\da: expected auto, cpu" in out.stderr
    assert "got 'cu\\\\da'" in out.stderr  # the value itself, one backslash (repr doubles it)


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("name = 'x'\n[train\nepochs = 3\n")
    out = run_cli("train", str(path))
    assert out.returncode == 2 and str(path) in out.stderr and "not valid TOML" in out.stderr


CUSTOM = """name = "custom"
[data]
dataset = "xor"
params = { n_samples = 100 }
[model]
custom = "mymodels:TwoLayer"
[train]
epochs = 1
device = "cpu"
"""


def test_a_custom_model_refused_leaves_no_run(tmp_path):
    """Without --allow-code the preset's class is refused (exit 2) before a run exists:
    like every other bad input, it leaves nothing behind (issue 24, item 8)."""
    (tmp_path / "custom.toml").write_text(CUSTOM)
    runs = tmp_path / "runs"
    out = run_cli("train", str(tmp_path / "custom.toml"), "--runs-dir", str(runs))
    assert out.returncode == 2 and "--allow-code mymodels:TwoLayer" in out.stderr
    assert not runs.exists() or not any(runs.iterdir()), list(runs.iterdir())
