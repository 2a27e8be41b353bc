"""Messages name the right thing (issue 13, item 5): an override or a dashboard edit, not
the preset file it changed; a replay of a run made here is not "on another machine"; a
failed download says why."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

from tuidl.core.data import data as D
from tuidl.core.data.kinds.vision import download_reason
from tuidl.core.preset import preset as P
from tuidl.core.preset.schema import ConfigError
from tuidl.ui.messages import PresetEdited

from helpers import SIZE, make_app, wait_for


async def test_a_dashboard_edit_is_reported_against_its_field_not_the_file(tmp_path):
    preset = P.load("spiral")
    assert preset.source.endswith("spiral.toml")
    app = make_app(preset, runs_root=tmp_path / "runs")
    async with app.run_test(size=SIZE) as pilot:
        builder = app.panes["builder"]
        await wait_for(pilot, lambda: builder.is_mounted, what="the builder")
        # an edit the schema refuses: shown against the layer's field
        data = P.to_data(preset)
        data["model"]["layers"][0]["units"] = -3
        assert not await builder._apply(data, cursor=(0,))
        assert "model.layers[0].units: must be at least 1" in builder._message
        assert "spiral.toml" not in builder._message
        # an edit that is valid alone but cannot train: the pane and Start name the layer
        data = P.to_data(preset)
        data["model"]["layers"][-1]["units"] = 3
        edited = P.from_dict(data, preset.source)  # as the builder makes it
        builder.post_message(PresetEdited(edited, origin="builder"))
        await wait_for(pilot, lambda: app.preset is edited, what="the edit")
        await pilot.press("s")
        await wait_for(pilot, lambda: not app.session.launching and app.notes, what="the refusal")
        message = str(list(app.notes)[-1].message)
        assert "model.layers[2]: the last layer must output (2,)" in message and "spiral.toml" not in message
        app.action_show_pane("training")  # (the pane is made when first shown)
        await wait_for(pilot, lambda: app.panes["training"].is_mounted and app.panes["training"].query("#train-settings-problem"),
                       what="the training pane")
        note = app.panes["training"].query_one("#train-settings-problem")
        assert "model.layers[2]" in str(note.visual) and "spiral.toml" not in str(note.visual)


def test_offline_download_gives_the_reason(tmp_path, monkeypatch):
    """Offline, torchvision's message is a header and one error per mirror: the reason is
    the error, not the header ("Error downloading …gz:" with nothing after it)."""
    def offline(*args, **kwargs):
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)  # the network call only
    preset = P.load("mnist-mlp", [f"data.params.root='{tmp_path / 'dl'}'"])
    with pytest.raises(ConfigError) as err:
        D.load(preset)
    message = str(err.value)
    assert "could not download mnist (no network? name or service not known)" in message
    assert "Error downloading" not in message and ":)" not in message
    assert str(tmp_path / "dl" / "MNIST" / "raw") in message


@pytest.mark.parametrize("error,reason", [
    (RuntimeError("Error downloading x.gz:\nTried https://a/, got:\nHTTP Error 404: Not Found\n"
                  "Tried https://b/, got:\nHTTP Error 404: Not Found\n"), "HTTP Error 404: Not Found"),
    (urllib.error.URLError("timed out"), "timed out"),
    (RuntimeError(""), "RuntimeError"),
])
def test_download_reasons(error, reason):
    assert download_reason(error) == reason
