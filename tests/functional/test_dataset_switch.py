"""Switching datasets in the Dataset pane is quick (issue 13, item 9): data held in memory
is split and previewed with numpy alone (no PyTorch import, which took seconds), the load
starts once the edit has reached the other panes, and a dataset seen before shows at once."""

from __future__ import annotations


from textual.widgets import Select

from tuidl.core.preset import preset as P
from tuidl.ui.panes.dataset import data_key

from test_dataset_pane import text_of
from helpers import SIZE, make_app, wait_for


async def test_a_dataset_seen_before_shows_at_once(tmp_path):
    app = make_app(P.load("spiral"), runs_root=tmp_path / "runs")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        ds = app.panes["dataset"]
        await wait_for(pilot, lambda: ds.result is not None and not ds.is_loading, what="the first load")
        spiral = ds.result
        select = app.query_one("#ds-dataset", Select)
        select.value = "xor"
        await wait_for(pilot, lambda: app.preset.data.dataset == "xor" and ds.result is not None
                       and not ds.is_loading and ds.result["key"] == data_key(app.preset), what="xor")
        assert ds.result is not spiral
        select.value = "spiral"
        await wait_for(pilot, lambda: app.preset.data.dataset == "spiral" and ds._key == data_key(app.preset),
                       what="spiral again")
        assert ds.result is spiral and not ds.is_loading  # no second load
        assert str(spiral["describe"]["sizes"]["train"]) in text_of(ds, "#ds-counts")
        await pilot.press("r")  # r loads it again, for real
        await wait_for(pilot, lambda: ds.result is not None and not ds.is_loading, what="the reload")
        assert ds.result is not spiral and ds.result["describe"] == spiral["describe"]


import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tuidl.core.data import data as D  # noqa: E402


@pytest.mark.parametrize("name,overrides", [
    ("xor", []), ("plane", []), ("digits-cnn", []), ("digits-mlp", ["data.normalize='minmax'"]),
    ("mnist1d-cnn", ["data.params.n_samples=1000"]),
    ("mnist1d-cnn", ["data.params.n_samples=1000", "data.split.official_test=true"]),
])
def test_peek_splits_and_normalises_as_load_does(name, overrides):
    preset = P.load(name, overrides)
    peeked = D.peek(preset)
    loaded = D.load(preset)
    assert peeked.describe == loaded.describe() and peeked.notes == loaded.notes
    idx = np.array([0, 3, 7])
    xs, ys = peeked.take(idx)
    tx, ty = loaded.train.take(idx)
    assert np.allclose(xs, tx.numpy(), atol=1e-5) and (ys == ty.numpy()).all()
