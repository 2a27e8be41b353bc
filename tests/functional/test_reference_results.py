"""Reference results: what the built-in presets claim, and that they learn.

The full figures are measured by ``bench/accuracy.py`` into ``bench/accuracy.md`` and
``bench/accuracy.json`` (each offline preset over 5 seeds: minutes of training); here,
every description's claim must be the one in that table, the table and the dashboard's
ranges (``presets/reference.json``) must be what the JSON gives, and a short run of each
offline preset must do better than chance (seconds each)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import accuracy  # noqa: E402
import playground_ref  # noqa: E402

from tuidl.core.data import catalog  # noqa: E402
from tuidl.core.data import data as D  # noqa: E402
from tuidl.core.preset import preset as P  # noqa: E402
from tuidl.core.preset import reference  # noqa: E402
from tuidl.core.run import rundir as R  # noqa: E402

TABLE = ROOT / "bench" / "accuracy.md"
JSON = ROOT / "bench" / "accuracy.json"
#: Self-supervised presets claim no test accuracy: bench/probe.py measures what their codes are worth
SELF = [n for n in P.builtin_names() if P.load(n).train.objective != "supervised"]
OFFLINE = [n for n in P.builtin_names() if not catalog.DATASETS[P.load(n).data.dataset].downloads and n not in SELF]
DOWNLOADS = [n for n in P.builtin_names() if n not in OFFLINE and n not in SELF]

#: A few seconds of training each: (overrides, what the test split must beat).
SHORT = {
    "mnist1d": ["train.epochs=4"],
    "digits": ["train.epochs=3"],
    "playground": ["train.epochs=8"],
}


def short(name: str) -> list[str]:
    preset = P.load(name)
    kind = catalog.DATASETS[preset.data.dataset]
    over = SHORT["playground" if kind.group == "playground" else preset.data.dataset]
    return over + ["train.device='cpu'", "train.early_stopping.enabled=false"]


def test_every_preset_claims_a_figure_in_the_table():
    rows = accuracy.read_table(TABLE)
    measured = {r["preset"]: r for r in json.loads(JSON.read_text())["rows"]}
    for name in OFFLINE + DOWNLOADS:
        found = accuracy.claim(P.load(name).description)
        assert found, f"{name}: the description states no '% test accuracy' or 'test loss' figure"
        assert name in rows, f"{name} is missing from bench/accuracy.md: run python bench/accuracy.py"
        row = rows[name]
        assert row["claimed (description)"] == accuracy.fmt_claim(found), \
            f"{name}: the description claims {accuracy.fmt_claim(found)}, bench/accuracy.md {row['claimed (description)']}"
        if name in OFFLINE:
            seeds = measured[name]["seeds"]
            assert found.seeds == (seeds if seeds > 1 else 0), \
                f"{name}: the description claims no {seeds}-seed range ('… ({seeds} seeds: LO–HI%)')"
            assert row[""] == "✓", f"{name}: measured {row['measured']} is not what the description claims"
            assert row["reference"] not in ("", "—"), f"{name}: no published figure to hold it against"
        else:
            assert row["source"], name


def test_every_offline_self_supervised_preset_has_its_probe_over_five_seeds_in_the_table():
    import probe

    rows = probe.read_means(TABLE)
    offline = [n for n in SELF if not catalog.DATASETS[P.load(n).data.dataset].downloads]
    assert offline and sorted(rows) == sorted(offline), "run: python bench/probe.py"
    for name in offline:
        row = rows[name]
        assert row["seeds"] == "5", name
        trained, random = (float(row[f"probe: {k}"].split("%")[0]) for k in ("trained", "random encoder"))
        assert trained > random, (name, row)  # the encoder learnt something a line can read


def test_the_table_and_the_dashboards_ranges_are_reproduced_from_the_json():
    """``--from-json``: bench/accuracy.md and presets/reference.json are what the committed
    measurements give, checked against the descriptions as they are now."""
    data = json.loads(JSON.read_text())
    rows = [accuracy.check(r, P.load(r["preset"]).description) for r in data["rows"]]
    assert sorted(r["preset"] for r in rows) == sorted(OFFLINE)
    assert accuracy.markdown(rows, data["machine"], data["checks"]) == TABLE.read_text()
    assert accuracy.reference_ranges(rows, data["machine"]) == json.loads(reference.FILE.read_text())
    for r in rows:  # the first run is the preset as shipped; the next seeds follow its own
        assert [run["seed"] for run in r["runs"]] == list(range(P.load(r["preset"]).seed,
                                                               P.load(r["preset"]).seed + r["seeds"])), r["preset"]
        assert r["seeds"] == 5 or r["preset"] in accuracy.FEWER_SEEDS, f"{r['preset']}: {r['seeds']} seeds, no reason"


def test_the_dashboards_range_is_the_one_the_description_claims():
    for name in OFFLINE:
        found = accuracy.claim(P.load(name).description)
        ref = reference.of_name(name)
        assert ref is not None and ref["seeds"] == (found.seeds or 1), name
        if found.kind == "acc":  # the same figures (a Playground claim is on Playground's scale)
            assert ref["metric"] == "acc"
            claimed = (found.value, found.low, found.high) if found.seeds else (found.value,) * 3
            assert [f"{100 * ref[k]:.1f}" for k in ("median", "low", "high")] == [f"{v:.1f}" for v in claimed], name


def test_the_claims_parse():
    C = accuracy.Claim
    assert accuracy.claim("the paper's CNN: 92.7% test accuracy (paper: 94%)") == C("acc", 92.7)
    assert accuracy.claim("reaches ~98% test accuracy in seconds") == C("acc", 98.0)
    assert accuracy.claim("Playground 0.021; tuidl test loss 0.012 in 3 s") == C("loss", 0.012)
    assert accuracy.claim("MLP: 67.1% test accuracy (5 seeds: 64.5–68.9%), paper 68%") == C("acc", 67.1, 5, 64.5, 68.9)
    assert accuracy.claim("test loss 0.031 (5 seeds: 0.002–0.082) in 3 s") == C("loss", 0.031, 5, 0.002, 0.082)
    assert accuracy.fmt_claim(C("acc", 67.14, 5, 64.5, 68.9)) == "67.1% (5 seeds: 64.5–68.9%)"
    assert accuracy.within("acc", 92.7, 93.5) and not accuracy.within("acc", 92.7, 91.0)
    assert accuracy.within("loss", 0.020, 0.026) and not accuracy.within("loss", 0.020, 0.040)
    row = {"kind": "acc", "seeds": 5, "measured": 67.1, "min": 64.5, "max": 68.9}
    assert accuracy.holds(C("acc", 67.1, 5, 64.5, 68.9), row)
    assert not accuracy.holds(C("acc", 67.1), row)  # one figure is not a range
    assert not accuracy.holds(C("acc", 67.1, 3, 64.5, 68.9), row)  # over other seeds
    assert not accuracy.holds(C("acc", 67.1, 5, 62.0, 68.9), row)  # an end that is off
    assert not accuracy.holds(C("loss", 67.1, 5, 64.5, 68.9), row)


@pytest.mark.parametrize("name", OFFLINE)
def test_a_short_run_beats_chance(name, tmp_path):
    import torch

    from tuidl.core.train import Trainer

    torch.set_num_threads(1)
    preset = P.load(name, short(name))
    run = R.create(tmp_path, preset.name, P.dumps(preset))
    tests: list[dict] = []
    trainer = Trainer(preset, run, listeners=[lambda ev: tests.append(ev) if ev["type"] == "test" else None],
                      handle_signals=False)
    assert trainer.run() == "completed"
    metrics = tests[-1]["metrics"]
    info = trainer.data.info
    if info.task == "classification":
        chance = 1 / info.num_classes
        assert metrics["acc"] > chance + (0.3 if info.num_classes == 2 else 0.1), (name, metrics)
    else:  # better than predicting the mean of the training targets
        baseline = float(((trainer.data.test.y - trainer.data.train.y.mean()) ** 2).mean())
        assert metrics["loss"] < 0.8 * baseline, (name, metrics, baseline)


def test_the_shuffle_is_one_permutation_of_the_positions_for_train_and_test():
    def load(shuffle: bool):
        return D.load(P.load("mnist1d-cnn", ["data.params.n_samples=1000", f"data.params.shuffle_seq={str(shuffle).lower()}"]))

    plain, shuffled = load(False), load(True)
    for part in ("train", "test"):
        a, b = getattr(plain, part), getattr(shuffled, part)
        assert (a.y == b.y).all()  # the same sequences, in the same order
        x, xs = a.x[:, 0].numpy(), b.x[:, 0].numpy()
        # each shuffled position is one original position, for every sequence
        perm = [int(np.argmin(np.abs(x - xs[:, [j]]).sum(axis=0))) for j in range(40)]
        assert sorted(perm) == list(range(40)) and perm != list(range(40))
        np.testing.assert_allclose(x[:, perm], xs, atol=1e-5)
        if part == "train":
            train_perm = perm
    assert perm == train_perm  # the same permutation for the test split


def test_the_shuffle_is_the_paper_notebooks_permutation():
    """mnist1d-classification.ipynb shuffles with ``np.random.seed(42);
    np.random.permutation(40)``; the shuffled presets' data (seed 42) is that data."""
    from tuidl.core.data.kinds.mnist1d import Mnist1dParams, arrays

    plain, shuffled = arrays(Mnist1dParams(), 42), arrays(Mnist1dParams(shuffle_seq=True), 42)
    np.random.seed(42)
    order = np.random.permutation(40)
    for x in ("x", "x_test"):
        np.testing.assert_array_equal(plain[x][:, order], shuffled[x])
    for name in ("mnist1d-cnn-shuffled", "mnist1d-mlp-shuffled"):
        preset = P.load(name)
        assert preset.seed == 42 and preset.data.params.shuffle_seq, name


def test_the_playground_reference_trains_and_scores_like_playground():
    s = playground_ref.Setting("gauss", ["x1", "x2"], [2], noise=0.0)
    before = playground_ref.train(s, 0, seed=1)
    after = playground_ref.train(s, 30, seed=1)
    assert after["test_loss"] < 0.1 < before["test_loss"]
    import torch

    # a confident, right two-class model scores 0 on Playground's scale; a 50/50 one 0.5
    y = torch.tensor([0, 1, 1])
    right = torch.tensor([[9.0, -9.0], [-9.0, 9.0], [-9.0, 9.0]])
    assert playground_ref.playground_loss(right, y, "classification") < 1e-6
    assert playground_ref.playground_loss(torch.zeros(3, 2), y, "classification") == pytest.approx(0.5)
    assert playground_ref.playground_loss(torch.tensor([[1.0]]), torch.tensor([[0.0]]), "regression") == 0.5
