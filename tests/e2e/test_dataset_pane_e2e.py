"""The Dataset & split pane, driven through a tiny host app. Loading runs the real data
layer in the pane's thread worker."""

from __future__ import annotations

import subprocess
import sys





def test_panes_do_not_import_torch():
    code = ("import sys; import tuidl.ui.panes.builder, tuidl.ui.panes.dataset, tuidl.ui.widgets.preview, tuidl.ui.widgets.form; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
