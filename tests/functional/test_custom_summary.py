"""A custom model (``model.custom``) shows its real summary once the command line allows
its code (issue 24, item 7): its modules as torchinfo reads them from one forward pass,
with shapes and parameters, in `tuidl summary --allow-code` and in the Model builder of a
dashboard started with --allow-code. Without the permission the code never runs."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch
from textual.widgets import Static

from tuidl.core.preset import preset as P
from tuidl.core.train.custom import real_summary, summarize
from tuidl.ui.panes.builder import ModelBuilderPane

from helpers import Host, run_cli, screen_text, text_of, wait_for

MODULE = textwrap.dedent("""
    import torch
    from torch import nn

    class SmallNet(nn.Module):
        def __init__(self, input_shape, outputs):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(input_shape[0], 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU())
            self.head = nn.Linear(8, outputs)
            self.head.bias.requires_grad_(False)
            self.scale = nn.Parameter(torch.ones(1))

        def forward(self, x):
            return self.head(self.body(x)) * self.scale
""")
PRESET = """name = "custom"
[data]
dataset = "gauss"
params = { n_samples = 100 }
[model]
custom = "smallnet_mod:SmallNet"
[train]
epochs = 1
device = "cpu"
"""
REF = "smallnet_mod:SmallNet"
# 2·16+16, 16·8+8, 8·2 (+2 frozen), 1 of the class's own
TRAINABLE, FROZEN = 48 + 136 + 16 + 1, 2


@pytest.fixture
def project(tmp_path, monkeypatch):
    """The user's folder, the working directory, with the module and the preset."""
    (tmp_path / "smallnet_mod.py").write_text(MODULE)
    (tmp_path / "custom.toml").write_text(PRESET)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "smallnet_mod", raising=False)
    yield tmp_path
    sys.modules.pop("smallnet_mod", None)


def test_summarize_lists_every_module_with_its_own_parameters():
    from torch import nn

    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Sequential(nn.Flatten(), nn.Linear(4 * 6 * 6, 10)))
    summary = summarize(net, (1, 8, 8), "cnn")
    assert [(r.name, r.kind) for r in summary.rows] == [
        ("0", "Conv2d"), ("1", "ReLU"), ("2", "Sequential"), ("  2.0", "Flatten"), ("  2.1", "Linear")]
    assert [r.output_shape for r in summary.rows] == [(4, 6, 6), (4, 6, 6), (10,), (144,), (10,)]
    assert summary.total == sum(p.numel() for p in net.parameters()) and summary.output_shape == (10,)
    assert net.training  # left as it was found, ready to train


def test_summary_command_builds_the_allowed_class(project):
    out = run_cli("summary", "custom.toml", "--allow-code", REF)
    assert out.returncode == 0, out.stderr
    names = [line.split("(")[0].strip() for line in out.stdout.splitlines()[4:10]]
    assert names == ["body", "body.0", "body.1", "body.2", "body.3", "head"], out.stdout
    assert "SmallNet (own parameters)" in out.stdout
    assert f"Total params: {TRAINABLE + FROZEN:,}" in out.stdout and f"Non-trainable params: {FROZEN}" in out.stdout
    assert "input (2,)" in out.stdout and " Data: gauss, input (2,), 2 classes" in out.stdout


def test_summary_command_without_the_permission_runs_no_code(project):
    out = run_cli("summary", "custom.toml")
    assert out.returncode == 2 and f"add --allow-code {REF}" in out.stderr
    assert "smallnet_mod" not in sys.modules


def test_real_summary_reports_a_class_that_fails_on_the_data(project):
    resolved = P.resolve(P.load("custom.toml", ["data.dataset=digits", "data.params={}"]))
    with pytest.raises(P.ConfigError, match="model.custom"):
        real_summary(resolved, (REF,))


async def test_builder_shows_the_built_modules_when_the_dashboard_allows_the_code(project):
    preset = P.load("custom.toml")
    app = Host(lambda: ModelBuilderPane(preset, id="builder"))
    app.allow_code = (REF,)
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(ModelBuilderPane)
        await wait_for(pilot, lambda: pane.analysis.summary is not None, timeout=60, what="the custom model's summary")
        await pilot.pause()
        title = text_of(pane.query_one("#mb-title", Static))
        assert "output (2,)" in title and "custom smallnet_mod:SmallNet, 7 modules" in title
        text = screen_text(app)
        assert "body.0 (Linear)" in text and "head (Linear)" in text
        assert f"Total params: {TRAINABLE + FROZEN}" in text_of(pane.query_one("#mb-totals", Static))
        assert "✓ the model fits the data (loss: cce)" in text_of(pane.query_one("#mb-status", Static))


async def test_builder_says_how_to_allow_the_code_and_runs_none(project):
    app = Host(lambda: ModelBuilderPane(P.load("custom.toml"), id="builder"))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        pane = app.query_one(ModelBuilderPane)
        assert f"start tuidl with --allow-code {REF}" in text_of(pane.query_one("#mb-status", Static))
        assert "0 layers" not in text_of(pane.query_one("#mb-title", Static))
        assert "smallnet_mod" not in sys.modules
