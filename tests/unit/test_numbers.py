"""Numbers that agree (issue 13, item 6): one duration (training time, pauses left out,
every session of a resumed run added up) in the dashboard and `tuidl runs`; samples/s over
a proper window; a pause does not count as training time in a single-process run."""

from __future__ import annotations


from tuidl.core.train.reporting import Rate
from tuidl.core.run.units import fmt_best


# about 0.1-0.3 s an epoch on a small CPU: steps to measure, epochs to pause in


def test_best_values_read_the_same_way():
    """One format for a best value: four decimals (0.122 / 0.07556 / 0.005986 were .4g)."""
    assert [fmt_best({"monitor": "val_loss", "value": v}, "=") for v in (0.122, 0.07556, 0.005986)] \
        == ["val_loss=0.1220", "val_loss=0.0756", "val_loss=0.0060"]
    assert fmt_best({"monitor": "val_acc", "value": 0.97531}) == "val_acc 97.5%"
    assert fmt_best(None) == "—"


def test_the_rate_is_over_a_window():
    rate = Rate(window=2.0)
    assert rate.add(0.0, 0) is None  # one mark: no rate yet
    assert rate.add(0.25, 100) == 400.0
    for i in range(2, 20):
        rate.add(0.25 * i, 100 * i)
    assert rate.add(5.0, 2000) == 400.0 and rate.marks[0][0] >= 5.0 - 2.25
