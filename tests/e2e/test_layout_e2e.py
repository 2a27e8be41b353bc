"""House rules that can be checked: the tests that start a process (a trainer, the command, a
terminal). The others are in tests/unit/test_layout.py."""

import subprocess
import sys



def test_core_imports_no_ui_code_when_imported():
    """Every core module, subpackages included, imported in a fresh interpreter: nothing
    of Textual, Rich or tuidl.ui comes with it, however indirectly."""
    code = ("import sys, pkgutil, importlib, tuidl.core as c\n"
            "for m in pkgutil.walk_packages(c.__path__, 'tuidl.core.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad = [n for n in sys.modules if n.split('.')[0] in ('textual', 'rich') or n.startswith('tuidl.ui')]\n"
            "print(' '.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
