"""Model export and inference as a user runs them: `tuidl export-model` and `tuidl predict`
as commands of their own, and the Runs pane's m starting the real `tuidl export-model`
process. The in-process tests are in tests/functional/test_export_model.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R

from helpers import tuidl, wait_for


def xor_run(root) -> R.RunDir:
    from tuidl.core.train import Trainer

    preset = P.load("xor", ["train.epochs=2", "data.params.n_samples=200", "train.device='cpu'"])
    P.resolve(preset)
    run = R.create(root, preset.name, P.dumps(preset))
    assert Trainer(preset, run, handle_signals=False).run() == "completed"
    return run


def test_the_commands(tmp_path):
    run = xor_run(tmp_path / "runs")
    done = tuidl("export-model", str(run.path), "--format", "torchscript", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["format"] == "torchscript" and result["max_abs_diff"] <= 1e-4
    assert (run.path / "export" / "model.pt").stat().st_size == result["bytes"]

    np.savetxt(tmp_path / "pts.csv", [[1.0, 1.0], [-2.0, 3.0]], delimiter=",")
    done = tuidl("predict", str(run.path), str(tmp_path / "pts.csv"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split()[:3] == ["INPUT", "CLASS", "PROB"]
    assert len(done.stdout.splitlines()) == 4  # header, two rows, the checkpoint line

    done = tuidl("predict", str(run.path), str(tmp_path / "nothing.png"))
    assert done.returncode == 2 and done.stderr.startswith("error: no such file or folder")
    assert "Traceback" not in done.stderr


async def test_runs_pane_exports_through_the_command(tmp_path):
    from test_runs_pane import make_app, runs_shown

    from tuidl.ui.panes.runs_ops import ModelFormatScreen

    root = tmp_path / "runs"
    run = xor_run(root)
    app = make_app(root, runs_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await runs_shown(pilot, app)
        assert pane.select(run.id)
        await pilot.click("#runs-model")  # the button, as the key m
        await wait_for(pilot, lambda: isinstance(app.screen, ModelFormatScreen), what="the format dialog")
        await pilot.press("s")
        await wait_for(pilot, lambda: any(n.title.startswith("Model") for n in app.notes), timeout=120,
                       what="the export process")
        note = next(n for n in app.notes if n.title.startswith("Model"))
        assert note.title == f"Model of {run.id}", note.message
        assert str(run.path / "export" / "model.safetensors") in note.message
        assert "max abs difference 0 against PyTorch" in note.message
    card = json.loads((run.path / "export" / "card.json").read_text())
    assert list(card["formats"]) == ["safetensors"]


pytestmark = pytest.mark.e2e
