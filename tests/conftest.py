"""Shared set-up for every test: quiet animations, one thread per torch process, and an
own runs root per test. The helpers tests share are in ``helpers.py``; the tests are in
``unit/`` (no app, no process), ``functional/`` (a Textual app under Pilot, or the trainer
in this process) and ``e2e/`` (real processes: every test there is marked ``e2e``)."""

import os
import sys
import tempfile
from pathlib import Path

# An e2e test may use a helper of the unit or functional tests of the same area
# (``from test_runs_pane import fake_run``), also when tests/e2e runs alone.
_TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(_TESTS / "unit"), str(_TESTS / "functional")]

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
# Pytest rewrites the asserts of every test module at each start, and caches the result
# only where Python may write bytecode: with PYTHONDONTWRITEBYTECODE set (this machine
# sets it) each xdist worker paid ~5 s at every run. The cache is __pycache__ (ignored by git).
sys.dont_write_bytecode = False
# One thread per torch process (this one and every trainer a test starts, which inherit
# it): tests run side by side (pytest-xdist) and start trainers beside themselves, and
# torch's default of a thread per core made a 3 s run take 30 s on a busy 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# generated data (mnist1d) is built once per session and worker, not once per test
os.environ.setdefault("TUIDL_TEST_DATA", tempfile.mkdtemp(prefix="tuidl-test-data-"))

import gc

import pytest

# The garbage collector's passes were a fifth of the suite's CPU time (test_keyboard and
# test_training_pane: 37 of 164 CPU seconds, 77 full passes of ~0.4 s over a worker's
# heap of torch, Textual and every test module). Each app a test starts makes a few
# hundred thousand objects, which set off a pass every 700 allocations by default.
# Fewer, larger young-generation passes: 141 CPU seconds (15 in the collector) for the
# same tests. Only in the test processes: `tuidl` itself keeps Python's defaults.
gc.set_threshold(20_000, 20, 20)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    """After the last test, pytest collects garbage five times over (to report what an
    object's ``__del__`` raised while being freed). By then a worker holds the garbage of
    the apps its last few hundred tests started, cycles the collector's rare full passes
    have not reached yet (a million objects and more): freeing it cost 12 s of CPU at the
    end of one 31-test session, for nothing the tests check (an exception raised while an
    object is freed is still reported, with the test during which it was raised). Frozen,
    that heap is left to the process's exit."""
    gc.freeze()


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own runs root; the dataset cache is shared per session so
    generated data (mnist1d) is built once."""
    monkeypatch.setenv("TUIDL_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("TUIDL_CONFIG", str(tmp_path / "config.toml"))  # never the user's own settings
    # checkpoint at every epoch end, so tests that count writes don't depend on timing
    monkeypatch.setenv("TUIDL_CHECKPOINT_INTERVAL", "0")
    monkeypatch.setenv("TUIDL_DATA", os.environ["TUIDL_TEST_DATA"])
    yield


def pytest_collection_modifyitems(config, items):
    """Every test under e2e/ is an e2e test (``-m "not e2e"`` leaves them out)."""
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.e2e)


PROBES = ("/ctypes/util.py", "/platform.py", "/matplotlib/font_manager.py")  # the standard library's probes: see _no_processes_outside_e2e


@pytest.fixture(autouse=True)
def _no_processes_outside_e2e(request, monkeypatch):
    """A test outside e2e/ that starts a process fails and says where it belongs: what
    starts processes is slow, and ``-m "not e2e"`` must stay quick."""
    if request.node.get_closest_marker("e2e"):
        yield
        return
    import _posixsubprocess
    import subprocess
    import traceback

    real = _posixsubprocess.fork_exec

    def refuse(*args, **kwargs):
        # The standard library's own one-off probes are not a process the test starts:
        # ctypes.util.find_library runs ldconfig (the first `import torch` in a worker,
        # through cuda.pathfinder) and platform.processor() runs `uname -p` once per
        # process (the trainer's device name); matplotlib (imported by mnist1d) runs
        # fc-list once to build its font cache where fontconfig is installed. Which test
        # comes first decides who pays.
        if any(frame.filename.replace("\\", "/").endswith(PROBES) for frame in traceback.extract_stack()):
            return real(*args, **kwargs)
        raise AssertionError(f"{request.node.nodeid} starts a process: move it to tests/e2e/")

    monkeypatch.setattr(_posixsubprocess, "fork_exec", refuse)
    monkeypatch.setattr(subprocess, "_fork_exec", refuse, raising=False)  # 3.11+
    yield


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (the README's command): one worker more than the machine has CPUs. A
    worker often waits (Textual's Pilot sleeps until the app is idle after each key; e2e
    tests wait on their processes): with as many workers as CPUs, 15 % of the CPU time
    stayed idle on a 2-core machine (4 m 55 s); one more filled it (4 m 29 s).
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1) + 1
