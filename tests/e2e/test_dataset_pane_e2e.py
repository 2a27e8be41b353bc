"""The Dataset & split pane, driven through a tiny host app: the tests that start a process (a
trainer, the command, a terminal). The others are in tests/functional/test_dataset_pane.py."""

from __future__ import annotations

import subprocess
import sys





def test_panes_do_not_import_torch():
    code = ("import sys; import tuidl.ui.panes.builder, tuidl.ui.panes.dataset, tuidl.ui.widgets.preview, tuidl.ui.widgets.form; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
