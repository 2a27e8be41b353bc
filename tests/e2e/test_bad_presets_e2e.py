"""The corpus of malformed presets (tests/fixtures/bad_presets): the tests that start a process (a
trainer, the command, a terminal). The others are in tests/unit/test_bad_presets.py."""

import os
import subprocess
import sys


from test_bad_presets import CORPUS


def test_rejected_by_the_command_line():
    """All of them through `tuidl train` in one process per file would be slow; one
    subprocess checks them all the way a user would meet them."""
    script = (
        "import sys\nfrom tuidl.cli import main\n"
        "codes = [main(['train', p]) for p in sys.argv[1:]]\n"
        "print(' '.join(map(str, codes)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, *map(str, CORPUS)], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "TUIDL_RUNS": os.environ["TUIDL_RUNS"]})
    assert out.stdout.split() == ["2"] * len(CORPUS), out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) >= len(CORPUS)
    for path in CORPUS:
        assert any(str(path) in line for line in errors), path
