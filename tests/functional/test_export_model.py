"""`tuidl export-model` and `tuidl predict` (in this process, through `tuidl.cli.main`) on runs
trained here: each format reloads the way a user would and matches PyTorch, the card says
the right classes, normalisation and metrics, predictions equal the model's own on the same
normalised inputs, and every bad input exits 2 with one line naming the problem.

The expected values are computed apart from tuidl's export and predict code: the model is
rebuilt from the exported ``preset.toml`` with ``tuidl.core.model.model.build`` and the
checkpoint's weights, and the inputs are normalised with the card's own figures."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tuidl.core.data import data as D
from tuidl.core.preset import preset as P
from tuidl.core.model.model import build
from tuidl.core.run.rundir import RunDir

import helpers
from helpers import copy_fixture, run_cli, runs_shown, wait_for

ONNX = all(__import__("importlib").util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))


def train(root: Path, preset: str, *sets: str) -> RunDir:
    done = run_cli("train", preset, "--runs-dir", str(root), "--quiet", *(f"--set={s}" for s in sets))
    assert done.returncode == 0, done.stderr
    return RunDir(next(p for p in root.iterdir() if preset in p.name))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, RunDir]:
    """A digits CNN (images), an XOR MLP (Playground features) and a digits MLP, trained briefly."""
    root = tmp_path_factory.mktemp("export-runs")
    return {"cnn": train(root, "digits-cnn", "train.epochs=2"),
            "xor": train(root, "xor", "train.epochs=2"),
            "mlp": train(root, "digits-mlp", "train.epochs=1")}


def checkpoint_model(run: RunDir, preset_path: Path, kind: str = "best") -> torch.nn.Module:
    """The run's checkpoint in a model built from a preset file, as code outside tuidl would."""
    p = P.load(str(preset_path))
    shape = tuple(P.resolve(p).info.input_shape)
    model = build(p.model.layers, shape)
    model.load_state_dict(torch.load(run.checkpoint(kind), weights_only=True)["model"])
    return model.eval()


def normalised(x: np.ndarray, card: dict) -> torch.Tensor:
    """Raw inputs normalised with the card's figures (uint8 pixels / 255 first)."""
    arr = x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0)
    norm = card["normalization"]
    shape = (1, -1) + (1,) * (arr.ndim - 2)
    shift = np.asarray(norm["shift"], np.float32).reshape(shape)
    scale = np.asarray(norm["scale"], np.float32).reshape(shape)
    return torch.from_numpy((arr - shift) / scale)


def digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images[:n].astype(np.float32)[:, None], d.target[:n]


def export(run: RunDir, fmt: str, out: Path, *more: str) -> dict:
    done = run_cli("export-model", str(run.path), "--format", fmt, "--out", str(out), *more)
    assert done.returncode == 0, done.stderr
    assert "max abs difference" in done.stdout
    return json.loads((out / "card.json").read_text())


# -- export -------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["safetensors", "torchscript", "onnx"])
def test_each_format_reloads_and_matches_pytorch(runs, tmp_path, fmt):
    if fmt == "onnx" and not ONNX:
        pytest.skip("needs pip install 'tuidl[onnx]'")
    run = runs["cnn"]
    out = tmp_path / "export"
    card = export(run, fmt, out)
    entry = card["formats"][fmt]
    path = out / entry["file"]
    assert path.is_file() and entry["bytes"] == path.stat().st_size > 0
    assert entry["check"]["max_abs_diff"] <= 1e-4 and entry["check"]["samples"] == 256
    assert entry["check"]["split"] == "test"

    reference = checkpoint_model(run, out / "preset.toml")
    raw, _ = digits(300)
    x = normalised(raw, card)
    with torch.no_grad():
        want = reference(x).numpy()
    if fmt == "safetensors":
        from safetensors.torch import load_file

        model = build(P.load(str(out / "preset.toml")).model.layers, tuple(card["input_shape"]))
        model.load_state_dict(load_file(str(path)))
        with torch.no_grad():
            got = model.eval()(x).numpy()
    elif fmt == "torchscript":
        with torch.no_grad():
            got = torch.jit.load(str(path))(x).numpy()
    else:
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {"input": x.numpy()})[0]  # 300 samples: the batch axis is dynamic
    assert got.shape == want.shape == (300, 10)
    assert np.abs(got - want).max() <= 1e-4


def test_the_card(runs, tmp_path):
    """Classes, normalisation (the statistics fitted on the training split), metrics (the
    run's test event), checkpoint, and one entry per format exported into the folder."""
    run = runs["cnn"]
    out = tmp_path / "export"
    export(run, "safetensors", out)
    card = export(run, "torchscript", out, "--best")
    preset = P.load(run.preset_path)
    loaded = D.load(preset)
    assert card["classes"] == [str(i) for i in range(10)] and card["input_shape"] == [1, 8, 8]
    assert card["task"] == "classification" and card["loss"] == "cce"
    norm = card["normalization"]
    assert norm["kind"] == "standard" and norm["per"] == "channel"
    assert norm["mean"] == pytest.approx(loaded.norm["mean"]) and norm["std"] == pytest.approx(loaded.norm["std"])
    assert norm["shift"] == pytest.approx(loaded.norm["mean"], rel=1e-6)
    from tuidl.core.run.report import load_history

    test = load_history(run).test["metrics"]
    assert card["test"]["run"]["acc"] == pytest.approx(test["acc"], abs=1e-6)
    assert card["test"]["checkpoint"]["acc"] == pytest.approx(test["acc"], abs=1e-6)  # 2 epochs: best = last
    assert card["test"]["samples"] == len(loaded.test)
    assert card["checkpoint"]["kind"] == "best" and card["checkpoint"]["epoch"] >= 1
    assert set(card["formats"]) == {"safetensors", "torchscript"}
    assert "pixel intensities 0..16" in card["input"]["raw"]
    md = (out / "card.md").read_text()
    for text in ("Normalisation", "`mean`: [", "model.safetensors", "model.pt", "torch.jit.load", "acc 0."):
        assert text in md
    assert P.load(str(out / "preset.toml")).model.layers == preset.model.layers

    # the Playground run: its features by name, per-feature statistics, two classes
    xcard = export(runs["xor"], "safetensors", tmp_path / "xor")
    assert xcard["classes"] == ["negative", "positive"] and xcard["input"]["features"] == ["x1", "x2"]
    assert xcard["normalization"]["per"] == "feature" and len(xcard["normalization"]["mean"]) == 2


def test_export_into_the_run_and_the_last_checkpoint(runs):
    run = runs["mlp"]
    done = run_cli("export-model", run.id, "--runs-dir", str(run.path.parent), "--format", "torchscript", "--last",
                   "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert Path(result["path"]) == run.path / "export" / "model.pt" and result["max_abs_diff"] <= 1e-4
    card = json.loads((run.path / "export" / "card.json").read_text())
    assert card["checkpoint"]["kind"] == "last"
    shutil.rmtree(run.path / "export")


# -- predict ------------------------------------------------------------------------------

def expected(run: RunDir, raw: np.ndarray, card: dict) -> np.ndarray:
    """Class probabilities of the checkpoint's model on raw inputs, normalised with the card."""
    model = checkpoint_model(run, run.preset_path)
    with torch.no_grad():
        return torch.softmax(model(normalised(raw, card)), dim=1).numpy()


def predicted(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    rows = list(csv.DictReader(path.open()))
    return ([r["input"] for r in rows], [r["class"] for r in rows],
            np.array([float(r["probability"]) for r in rows]))


@pytest.fixture(scope="module")
def cnn_card(runs, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("card")
    done = run_cli("export-model", str(runs["cnn"].path), "--format", "safetensors", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return json.loads((out / "card.json").read_text())


def test_predict_npz_and_csv_equal_the_model(runs, cnn_card, tmp_path):
    run = runs["cnn"]
    raw, _ = digits(20)
    probs = expected(run, raw, cnn_card)
    np.savez(tmp_path / "in.npz", x=raw)
    done = run_cli("predict", str(run.path), str(tmp_path / "in.npz"), "--out", str(tmp_path / "p.csv"))
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "20 inputs" in done.stdout
    names, classes, p = predicted(tmp_path / "p.csv")
    assert names == [str(i) for i in range(20)]
    assert classes == [str(int(c)) for c in probs.argmax(1)]
    assert p == pytest.approx(probs.max(1), abs=2e-6)
    rows = list(csv.reader((tmp_path / "p.csv").open()))
    assert rows[0][-2:] == ["top5", "top5_probability"]
    top = sorted(((probs[0, j], str(j)) for j in range(10)), reverse=True)[:5]
    assert rows[1][3::2] == [c for _, c in top]

    # the same samples as CSV rows of 64 pixels (as scikit-learn's own digits file), printed
    np.savetxt(tmp_path / "in.csv", raw.reshape(20, 64), delimiter=",", fmt="%g",
               header=",".join(f"p{i}" for i in range(64)), comments="")
    done = run_cli("predict", str(run.path), str(tmp_path / "in.csv"), "--top", "3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["INPUT", "CLASS", "PROB", "TOP", "3"]
    first = lines[1].split()
    assert first[:2] == ["line", "2"] and first[2] == str(int(probs[0].argmax()))
    assert float(first[3]) == pytest.approx(probs[0].max(), abs=1e-3)
    assert len(first) == 4 + 2 * 3


def test_predict_png_and_a_folder(runs, cnn_card, tmp_path):
    """Images written here: 24×24 RGB, converted to the run's one channel, resized to 8×8,
    scaled to the digits' 0..16; the output says so."""
    from PIL import Image

    run = runs["cnn"]
    raw, _ = digits(3)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        big = np.kron(raw[i, 0] * 255 / 16, np.ones((3, 3))).round().astype(np.uint8)
        Image.fromarray(np.stack([big] * 3, axis=-1), "RGB").save(folder / f"digit{i}.png")
    (folder / "notes.txt").write_text("not an image")
    # what the command must do to them, in numpy + Pillow: RGB, resize, grayscale, 0..16
    want = np.stack([np.asarray(Image.open(folder / f"digit{i}.png").convert("RGB").resize((8, 8), Image.Resampling.BILINEAR)
                                .convert("L"), np.float32)[None] * np.float32(16 / 255) for i in range(3)])
    probs = expected(run, want, cnn_card)

    done = run_cli("predict", str(run.path), str(folder / "digit1.png"))
    assert done.returncode == 0, done.stderr
    assert "resized 24×24 → 8×8" in done.stderr and "RGB → grayscale" in done.stderr  # notes: on stderr
    assert "0..16" in done.stderr and "note:" not in done.stdout
    assert done.stdout.splitlines()[1].split()[:2] == ["digit1.png", str(int(probs[1].argmax()))]

    done = run_cli("predict", str(run.path), str(folder), "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 0, done.stderr
    names, classes, p = predicted(tmp_path / "f.csv")
    assert names == ["digit0.png", "digit1.png", "digit2.png"]
    assert classes == [str(int(c)) for c in probs.argmax(1)]
    assert p == pytest.approx(probs.max(1), abs=2e-6)


def test_predict_playground_points(runs, tmp_path):
    run = runs["xor"]
    card = export(run, "safetensors", tmp_path / "x")
    pts = np.array([[1.0, 1.0], [-2.0, 3.0], [3.0, -4.0], [-5.0, -1.5]], np.float32)
    (tmp_path / "pts.csv").write_text("x1,x2\n" + "\n".join(f"{a},{b}" for a, b in pts))
    done = run_cli("predict", str(run.path), str(tmp_path / "pts.csv"), "--out", str(tmp_path / "p.csv"))
    assert done.returncode == 0, done.stderr
    probs = expected(run, pts, card)
    _, classes, p = predicted(tmp_path / "p.csv")
    assert classes == [card["classes"][int(c)] for c in probs.argmax(1)]
    assert p == pytest.approx(probs.max(1), abs=2e-6)


# -- bad input ------------------------------------------------------------------------------

def bad_files(tmp: Path) -> dict[str, Path]:
    from PIL import Image

    (tmp / "empty").mkdir()
    (tmp / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not the rest of a PNG")
    (tmp / "data.parquet").write_bytes(b"PAR1")
    (tmp / "broken.npz").write_bytes(b"PK\x03\x04 not a zip")
    np.savez(tmp / "shape.npz", x=np.zeros((4, 1, 9, 9), np.float32))
    np.savez(tmp / "channels.npz", x=np.zeros((4, 3, 8, 8), np.float32))
    np.savez(tmp / "last.npz", x=np.zeros((4, 8, 8, 3), np.float32))
    np.savez(tmp / "two.npz", a=np.zeros(3), b=np.zeros(3))
    np.savez(tmp / "nan.npz", x=np.full((2, 1, 8, 8), np.nan, np.float32))
    (tmp / "wide.csv").write_text("1,2,3\n4,5,6\n")
    (tmp / "words.csv").write_text("x1,x2\n1,2\n3,oops\n")
    (tmp / "header.csv").write_text("x1,x2\n")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp / "img.png")
    return {p.name: p for p in tmp.iterdir()}


@pytest.mark.parametrize("run_key,name,args,words", [
    ("cnn", "empty", (), ["empty", "no images"]),
    ("cnn", "corrupt.png", (), ["corrupt.png", "cannot read it as an image"]),
    ("cnn", "data.parquet", (), ["data.parquet", "unknown input type '.parquet'"]),
    ("cnn", "broken.npz", (), ["broken.npz", "cannot read it as a NumPy .npz file"]),
    ("cnn", "shape.npz", (), ["shape.npz", "expected inputs of shape (N, 1, 8, 8)", "got (4, 1, 9, 9)"]),
    ("cnn", "channels.npz", (), ["channels.npz", "got (4, 3, 8, 8): 3 channels, the model takes 1"]),
    ("cnn", "last.npz", (), ["got (4, 8, 8, 3)", "channels last"]),
    ("cnn", "two.npz", (), ["two.npz", "holds 2 arrays (a, b)", "name the inputs 'x'"]),
    ("cnn", "nan.npz", (), ["nan.npz", "sample 0 holds nan"]),
    ("cnn", "wide.csv", (), ["wide.csv", "line 1 has 3 values, expected 64: one sample of 1×8×8 flattened"]),
    ("xor", "words.csv", (), ["words.csv", "line 3, column 2: 'oops' is not a finite number"]),
    ("xor", "header.csv", (), ["header.csv", "no data rows"]),
    ("xor", "img.png", (), ["img.png", "an image, but this run's model takes (N, 2), not images"]),
    ("xor", "missing.npz", (), ["no such file or folder", "missing.npz"]),
    ("cnn", "img.png", ("--top", "0"), ["--top must be at least 1, got 0"]),
])
def test_bad_inputs_exit_2_naming_the_problem(runs, tmp_path, run_key, name, args, words):
    files = bad_files(tmp_path)
    target = files.get(name, tmp_path / name)
    done = run_cli("predict", str(runs[run_key].path), str(target), *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == "" and "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith("error: ")
    for w in words:
        assert w in line


def test_bad_export_requests(runs, tmp_path, monkeypatch):
    run = runs["xor"]
    done = run_cli("export-model", str(run.path), "--format", "keras")
    assert done.returncode == 2 and "invalid choice: 'keras'" in done.stderr
    done = run_cli("export-model", str(run.path))
    assert done.returncode == 2 and "--format" in done.stderr
    (tmp_path / "file").write_text("")
    done = run_cli("export-model", str(run.path), "--format", "safetensors", "--out", str(tmp_path / "file"))
    assert done.returncode == 2 and "not a folder" in done.stderr
    done = run_cli("export-model", str(tmp_path / "nope"), "--format", "safetensors")
    assert done.returncode == 2 and "nope" in done.stderr

    # a run without a checkpoint
    bare = tmp_path / "runs" / "bare"
    shutil.copytree(run.path, bare, ignore=shutil.ignore_patterns("*.pt", "export"))
    done = run_cli("export-model", str(bare), "--format", "safetensors")
    assert done.returncode == 2 and "has no checkpoint yet" in done.stderr and "nothing to export" in done.stderr
    done = run_cli("predict", str(bare), str(tmp_path / "file"))
    assert done.returncode == 2 and "nothing to predict with" in done.stderr

    # ONNX without its packages: what to install, before anything is loaded
    for name in ("onnx", "onnxruntime", "onnxscript"):
        monkeypatch.setitem(sys.modules, name, None)
    done = run_cli("export-model", str(run.path), "--format", "onnx")
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: --format onnx needs onnx, onnxscript, onnxruntime, not installed here: "
                                   "pip install 'tuidl[onnx]'")
    assert not (run.path / "export" / "model.onnx").exists()


# -- the Runs pane ----------------------------------------------------------------------------

async def test_runs_pane_m_asks_the_format_then_exports(runs, tmp_path, monkeypatch):
    """m on a run: a dialog with the three formats (escape: nothing happens); a format key
    exports the run's model in a worker and the notification gives the file and the check.
    (Here the export runs in this process; the real `tuidl export-model` process is in
    tests/e2e/test_export_model_e2e.py.)"""
    from tuidl.core.serve.export import export_model
    from tuidl.ui.panes import runs_ops as runs_pane
    from tuidl.ui.panes.runs_ops import ModelFormatScreen

    root = tmp_path / "runs"
    shutil.copytree(runs["xor"].path, root / runs["xor"].id, ignore=shutil.ignore_patterns("export"))
    run = RunDir(root / runs["xor"].id)
    copy_fixture(root, "spiral-demo", "20260101-100000-spiral-aaaa", shift_days=-3)  # no checkpoints
    calls = []

    def in_process(target: RunDir, fmt: str) -> tuple[int, str, str]:
        calls.append((target.id, fmt))
        return 0, json.dumps(export_model(target, fmt).to_json()) + "\n", ""

    monkeypatch.setattr(runs_pane, "export_model_process", in_process)
    app = helpers.make_app(runs_root=root, runs_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await runs_shown(pilot, app)
        assert pane.select("20260101-100000-spiral-aaaa")
        await pilot.press("m")
        assert app.notes[-1].message.endswith("has no checkpoint yet: nothing to export")
        assert not isinstance(app.screen, ModelFormatScreen)

        assert pane.select(run.id)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelFormatScreen), what="the format dialog")
        text = helpers.screen_text(app)
        for label in ("Export the model", "safetensors [s]", "ONNX [o]", "TorchScript [t]", "Cancel [esc]"):
            assert label in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ModelFormatScreen), what="the dialog to close")
        await pilot.pause(0.2)
        assert calls == []

        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelFormatScreen), what="the format dialog")
        await pilot.press("t")
        await wait_for(pilot, lambda: any(n.title == f"Model of {run.id}" for n in app.notes), timeout=60,
                       what="the export's notification")
        assert calls == [(run.id, "torchscript")]
        note = next(n for n in app.notes if n.title == f"Model of {run.id}")
        path = run.path / "export" / "model.pt"
        assert str(path) in note.message and "max abs difference 0 against PyTorch" in note.message
        assert path.is_file() and (run.path / "export" / "card.md").is_file()
