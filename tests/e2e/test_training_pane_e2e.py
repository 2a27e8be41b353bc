"""The Training pane inside the real app: the tests that start a process (a trainer, the command, a
terminal). The others are in tests/functional/test_training_pane.py."""

from __future__ import annotations



from helpers import ROOT


# -- controls ------------------------------------------------------------------------


# -- replays ---------------------------------------------------------------------------


# -- following -----------------------------------------------------------------------------


def test_no_torch_at_import_nor_before_the_first_frame():
    """The trainer is another process: the dashboard starts without importing torch."""
    import subprocess
    import sys

    code = (
        "import asyncio, sys\n"
        "import tuidl.ui.app, tuidl.ui.panes.training, tuidl.ui.follow, tuidl.ui.widgets.results\n"
        "print('torch' in sys.modules)\n"
        "from tuidl.core.preset import preset as P\n"
        "async def main():\n"
        "    app = tuidl.ui.app.TuidlApp(P.load('spiral'))\n"
        "    async with app.run_test(size=(80, 24)) as pilot:\n"
        "        await pilot.pause()\n"
        "        print('torch' in sys.modules)\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
