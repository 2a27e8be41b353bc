"""Presets cannot run code: a model class named in a preset runs only when the command
line names the same class with --allow-code."""

import subprocess
import sys
import textwrap

from tuidl.core.run import events as E
from tuidl.core.preset import preset as P
from tuidl.core.run import rundir as R
from tuidl.core.train import Trainer

MODULE = textwrap.dedent("""
    import pathlib
    import torch
    from torch import nn

    pathlib.Path("imported.flag").write_text("the module ran")

    class TwoLayer(nn.Module):
        def __init__(self, input_shape, outputs):
            super().__init__()
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(input_shape[0], 8), nn.Tanh(), nn.Linear(8, outputs))

        def forward(self, x):
            return self.net(x)

    class WrongOutput(TwoLayer):
        def forward(self, x):
            return self.net(x)[:, :1].repeat(1, 3)
""")

PRESET = """
name = "custom"
[data]
dataset = "xor"
params = {{ n_samples = 100 }}
[model]
custom = "{ref}"
[train]
epochs = 2
device = "cpu"
"""


def run_train(tmp_path, ref, *extra):
    (tmp_path / "mymodels.py").write_text(MODULE)
    (tmp_path / "p.toml").write_text(PRESET.format(ref=ref))
    return subprocess.run([sys.executable, "-m", "tuidl", "train", "p.toml", "--runs-dir", str(tmp_path / "runs"),
                           *extra], capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_preset_alone_never_runs_code(tmp_path):
    out = run_train(tmp_path, "mymodels:TwoLayer")
    assert out.returncode == 2
    assert "a preset cannot run code on its own" in out.stderr and "--allow-code mymodels:TwoLayer" in out.stderr
    assert not (tmp_path / "imported.flag").exists()
    assert R.list_runs(tmp_path / "runs") == []  # a refusal leaves no run behind
    # allowing a different class does not allow this one
    out = run_train(tmp_path, "mymodels:TwoLayer", "--allow-code", "mymodels:WrongOutput")
    assert out.returncode == 2 and not (tmp_path / "imported.flag").exists()


def test_allowed_custom_class_trains(tmp_path):
    out = run_train(tmp_path, "mymodels:TwoLayer", "--allow-code", "mymodels:TwoLayer")
    assert out.returncode == 0, out.stderr
    run = R.list_runs(tmp_path / "runs")[0]
    evs = E.read_events(run.events_path)
    summary = evs[0]["summary"]  # the class's real modules, as `tuidl summary --allow-code` shows them
    assert [(r["name"].strip(), r["type"]) for r in summary["rows"]] == [
        ("net", "Sequential"), ("net.0", "Flatten"), ("net.1", "Linear"), ("net.2", "Tanh"), ("net.3", "Linear")]
    assert summary["rows"][-1]["output_shape"] == [2] and summary["total"] == 2 * 8 + 8 + 8 * 2 + 2
    assert evs[-1]["status"] == "completed"


def test_custom_class_with_wrong_output_is_bad_input(tmp_path):
    out = run_train(tmp_path, "mymodels:WrongOutput", "--allow-code", "mymodels:WrongOutput")
    assert out.returncode == 2 and "must output (2,)" in out.stderr and "Traceback" not in out.stderr
    assert R.list_runs(tmp_path / "runs") == []  # refused before a run was made


def test_malformed_reference_is_rejected(tmp_path):
    out = run_train(tmp_path, "os.system('x')")
    assert out.returncode == 2 and "model.custom: expected 'module:Class'" in out.stderr


def test_allowed_custom_class_trains_on_two_processes(tmp_path):
    """Issue 13: --allow-code did not reach the data-parallel ranks (exit 2, asking for the
    flag that was given)."""
    out = run_train(tmp_path, "mymodels:TwoLayer", "--allow-code", "mymodels:TwoLayer", "--nproc", "2",
                    "--device", "cpu", "--quiet")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "--allow-code" not in out.stderr
    run = R.list_runs(tmp_path / "runs")[0]
    evs = E.read_events(run.events_path)
    assert evs[0]["world_size"] == 2 and evs[0]["summary"]["rows"][0]["type"] == "Sequential"
    assert evs[-1]["status"] == "completed"


async def test_the_dashboard_starts_a_custom_model_the_command_line_allowed(tmp_path, monkeypatch):
    """`tuidl p.toml --allow-code mymodels:TwoLayer`: Start trains it; without the flag Start
    is refused at once with the reason (no run directory, no trainer)."""
    from test_detach import SIZE, make_app, wait_for

    from tuidl.core.preset import preset as P

    (tmp_path / "mymodels.py").write_text(MODULE)
    (tmp_path / "p.toml").write_text(PRESET.format(ref="mymodels:TwoLayer"))
    monkeypatch.chdir(tmp_path)  # the trainer imports the module from the working directory
    preset = P.load(tmp_path / "p.toml")
    refused = make_app(preset, runs_root=tmp_path / "refused")
    async with refused.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: not refused.session.launching and refused.notes, what="the refusal")
        note = list(refused.notes)[-1]
        assert note.title == "Cannot start" and "--allow-code mymodels:TwoLayer" in str(note.message)
        assert refused.session.run is None and not R.list_runs(tmp_path / "refused")
    app = make_app(preset, runs_root=tmp_path / "runs", allow_code=("mymodels:TwoLayer",))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.session.run is not None, what="the run")
        await wait_for(pilot, lambda: app.panes["training"].view.progress.status == "completed", timeout=120,
                       what="the run's end", run=app.session.run)
    evs = E.read_events(app.session.run.events_path)
    assert evs[0]["summary"]["rows"][0]["type"] == "Sequential" and evs[-1]["status"] == "completed"


def test_the_working_directory_is_on_the_path_only_while_the_class_is_imported(tmp_path, monkeypatch):
    (tmp_path / "cwdmodels.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "cwdmodels", raising=False)
    preset = P.load_text(PRESET.format(ref="cwdmodels:TwoLayer"), "p.toml")
    run = R.create(tmp_path / "runs", preset.name, P.dumps(preset))
    before = list(sys.path)
    try:
        assert Trainer(preset, run, handle_signals=False, allow_code=("cwdmodels:TwoLayer",)).run() == "completed"
        assert (tmp_path / "imported.flag").exists()
        assert sys.path == before and str(tmp_path) not in sys.path
    finally:
        sys.modules.pop("cwdmodels", None)
