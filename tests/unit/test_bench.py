"""The benchmark scripts under bench/ run and produce well-formed results (tiny
settings, one repetition). Nothing here asserts a time: the numbers themselves are
the benchmarks' business (bench/README.md)."""

from __future__ import annotations

import sys

from helpers import ROOT

BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

import run_all  # noqa: E402



def test_cifar_stand_in_loads_through_the_real_loader(tmp_path):
    import gpu_bench

    from tuidl.core.data import data as D
    from tuidl.core.preset import preset as P

    root = gpu_bench.write_cifar10(tmp_path / "c10", per_batch=20)
    preset = P.load("cifar10-cnn", [f"data.params.root='{root}'", "data.params.download=false"])
    loaded = D.load(preset)
    assert loaded.info.input_shape == (3, 32, 32)
    assert len(loaded.train) + len(loaded.val) == 100 and len(loaded.test) == 20


def test_run_all_summary_and_table():
    results = {
        "throughput": {"rc": 0, "results": [{"case": "spiral", "ratio": 0.98, "plain_samples_per_s": 1000.0,
                                              "tuidl_samples_per_s": 980.0}]},
        "dashboard": {"rc": 1, "results": {"ratio_watched_vs_plain": 0.9, "ratio_unwatched_vs_plain": 0.99,
                                           "ratio_watched_vs_unwatched": 0.91, "dashboard_cpu_pct_of_run": 12.0,
                                           "steady_state": {"cpu_pct": 8.0}}},
        "memory": {"rc": 3, "results": None},
    }
    rows = run_all.summarize(results)
    verdict = {(r["benchmark"], r["what"]): r["ok"] for r in rows}
    assert verdict[("throughput", "spiral: tuidl / plain samples/s")] is True
    assert verdict[("dashboard", "watched / plain samples/s")] is False
    assert verdict[("dashboard", "dashboard CPU, % of the run's wall time")] is False
    assert verdict[("dashboard", "dashboard CPU following at the trainer's cadence, no trainer")] is True
    assert verdict[("memory", "did not run")] is False
    text = run_all.table(rows)
    assert "NO" in text and "yes" in text and text.count("\n") == len(rows)


def test_memory_of_reads_a_process_s_private_and_shared_memory():
    """bench/dashboard.py's memory_of: RSS, PSS and private MB of a live process from
    /proc/PID/smaps_rollup; None for a process that is gone."""
    import os

    import dashboard
    import numpy as np

    before = dashboard.memory_of(os.getpid())
    assert before is not None and 0 < before["private"] <= before["pss"] <= before["rss"]
    block = np.ones(64 * 1024 * 1024 // 8)  # 64 MB of this process's own pages
    after = dashboard.memory_of(os.getpid())
    assert after["private"] - before["private"] > 50 and after["rss"] - before["rss"] > 50
    del block
    assert dashboard.memory_of(2**31 - 1) is None  # above any pid_max: no such process
