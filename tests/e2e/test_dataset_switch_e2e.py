"""Switching datasets in the Dataset pane is quick (issue 13, item 9): the tests that start a
process (a trainer, the command, a terminal). The others are in
tests/functional/test_dataset_switch.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap



from helpers import ROOT


SCRIPT = textwrap.dedent("""
    import asyncio, json, os, sys, time
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    from textual.widgets import Select
    from tuidl.core.preset import preset as P
    from tuidl.ui.app import TuidlApp
    from tuidl.ui.panes.dataset import data_key

    async def main():
        app = TuidlApp(P.load("spiral"), system_interval=None, runs_interval=None, telemetry=False)
        out = {}
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("2")
            ds = app.panes["dataset"]
            while not (ds.result and not ds.is_loading):
                await pilot.pause(0.02)
            for name in ("digits", "mnist1d", "xor"):
                t0 = time.monotonic()
                app.query_one("#ds-dataset", Select).value = name
                while not (app.preset.data.dataset == name and ds.result and not ds.is_loading
                           and ds.result.get("key") == data_key(app.preset)):
                    await pilot.pause(0.02)
                out[name] = {"seconds": time.monotonic() - t0, "error": ds.result.get("error"),
                             "sizes": ds.result["describe"]["sizes"]}
        out["torch"] = "torch" in sys.modules
        print(json.dumps(out))

    asyncio.run(main())
""")


def test_built_in_datasets_show_without_importing_torch(tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, cwd=ROOT,
                         env={**os.environ, "TUIDL_RUNS": str(tmp_path / "runs")})
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["torch"] is False  # the dashboard process never imported PyTorch
    for name in ("digits", "mnist1d", "xor"):
        assert not seen[name]["error"] and sum(seen[name]["sizes"].values()) > 0, seen[name]

