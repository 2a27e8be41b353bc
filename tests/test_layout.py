"""House rules that can be checked: the core imports no UI code."""

import subprocess
import sys


def test_core_imports_no_ui_code():
    code = ("import sys, pkgutil, importlib, tuidl.core as c\n"
            "for m in pkgutil.iter_modules(c.__path__):\n"
            "    importlib.import_module('tuidl.core.' + m.name)\n"
            "bad = [n for n in sys.modules if n.split('.')[0] in ('textual', 'rich') or n.startswith('tuidl.ui')]\n"
            "print(' '.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
