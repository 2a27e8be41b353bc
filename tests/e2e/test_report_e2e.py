"""Reading a run back: the tests that start a process (a trainer, the command, a terminal). The
others are in tests/unit/test_report.py."""

import subprocess
import sys

from test_report import copy_run


def test_cli_export_and_headless_replay(tmp_path):
    run = copy_run(tmp_path)
    out = subprocess.run([sys.executable, "-m", "tuidl", "export", str(run.path), "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "x" / "digits-demo-metrics.csv").is_file()
    assert (tmp_path / "x" / "digits-demo-report.md").is_file()
    out = subprocess.run([sys.executable, "-m", "tuidl", "replay", str(run.path), "--headless"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "status completed" in out.stdout and "Test: loss" in out.stdout
    out = subprocess.run([sys.executable, "-m", "tuidl", "replay", "no-such-run", "--headless"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "no run 'no-such-run'" in out.stderr
