"""Accuracy: every built-in preset that works offline, trained as shipped, against the
figure its description claims; the results go to ``bench/accuracy.md``.

Each preset is loaded exactly as ``tuidl train NAME`` loads it (no overrides) and
trained in this process by tuidl's own trainer, one preset after the other, on the
CPU. The table gives, per preset: the figure its description claims, the published
reference it is held against, the measured test figure, the epochs and the wall time
(data generation, model set-up, training and the test; on this machine, with the
threads given by ``--threads``).

* Classification presets claim a test accuracy (``NN.N% test accuracy`` in the
  description); the MNIST-1D presets are held against the MNIST-1D paper's table
  (Greydanus 2020, github.com/greydanus/mnist1d, README: logistic regression 32 %, MLP
  68 %, CNN 94 %, GRU 91 %; shuffled: 32 %, 68 %, 56 %, 57 %).
* Playground presets claim a test loss on TensorFlow Playground's own scale (``test loss
  0.NNN``: the mean of ``0.5 · (output − label)²``, see ``playground_ref.py``), held against
  what Playground's training reaches with the same dataset, noise, features, network and
  train ratio (the preset's training share, 70 %; ``playground_ref.py``: Playground's
  algorithm in numpy, the median of 5 seeds after 1,000 epochs).
* The presets whose datasets download (torchvision) cannot be trained here; their
  expected figure and its source are listed (``EXPECTED``).

A measured figure more than ``TOLERANCE`` away from the claim is marked ✗ (and the exit
status is 1): then either the preset or its description is wrong.
``tests/test_reference_results.py`` checks that every description's claim is the one in
the table, and that no row is marked.

    python bench/accuracy.py [--presets a,b] [--threads 1] [--out bench/accuracy.md] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

#: How far a measurement may be from the claim: accuracy in points, Playground loss as a
#: ratio (small losses vary by a large factor from seed to seed).
TOLERANCE = {"acc": 1.0, "loss": 0.5}

ACC_RE = re.compile(r"(\d+(?:\.\d+)?)\s?% test accuracy")
LOSS_RE = re.compile(r"test loss (\d+\.\d+)")

#: Published figures the offline presets are held against.
REFERENCES = {
    "mnist1d-logreg": "32% (MNIST-1D paper)",
    "mnist1d-mlp": "68% (MNIST-1D paper)",
    "mnist1d-cnn": "94% (MNIST-1D paper)",
    "mnist1d-gru": "91% (MNIST-1D paper)",
    "mnist1d-mlp-shuffled": "68% (MNIST-1D paper, shuffle row)",
    "mnist1d-cnn-shuffled": "56% (MNIST-1D paper, shuffle row)",
    "digits-mlp": "97% (scikit-learn's example \"Recognizing hand-written digits\": an SVM trained on half)",
    "digits-cnn": "97% (scikit-learn's example \"Recognizing hand-written digits\": an SVM trained on half)",
}

#: The presets that download their data: the figure to expect and where it comes from.
EXPECTED = {
    "mnist-mlp": ("~98%", "Keras example `mnist_mlp.py` (784-512-512-10, dropout 0.2): 98.40% test accuracy "
                          "after 20 epochs"),
    "mnist-cnn": ("~99%", "Keras example `mnist_cnn.py` (conv 32, conv 64, max pool, dropout, dense): 99.25% after "
                          "12 epochs; keras.io \"Simple MNIST convnet\" (two conv/pool blocks, dropout 0.5): ~99%"),
    "fashion-cnn": ("~91%", "Fashion-MNIST's benchmark table (zalandoresearch/fashion-mnist README): two conv layers "
                            "with max pooling 0.876–0.925, 3 conv + pooling + BN 0.903"),
    "cifar10-cnn": ("~80%", "Keras example `cifar10_cnn.py` (four conv layers, no BN): 75% after 25 epochs and 79% "
                            "after 50; this preset adds batch norm and a one-cycle schedule"),
}


def claim(description: str) -> tuple[str, float] | None:
    """The figure a description claims: ``("acc", percent)`` or ``("loss", value)``."""
    m = LOSS_RE.search(description)
    if m:
        return "loss", float(m.group(1))
    m = ACC_RE.search(description)
    if m:
        return "acc", float(m.group(1))
    return None


def fmt(kind: str, value: float) -> str:
    return f"{value:.1f}%" if kind == "acc" else f"{value:.3f}"


def within(kind: str, claimed: float, measured: float) -> bool:
    if kind == "acc":
        return abs(measured - claimed) <= TOLERANCE["acc"]
    return abs(measured - claimed) <= TOLERANCE["loss"] * max(claimed, 0.005)


def offline(name: str) -> bool:
    from tuidl.core.data import catalog
    from tuidl.core.preset import preset as P

    return not catalog.DATASETS[P.load(name).data.dataset].downloads


def train(name: str, root: Path) -> dict[str, Any]:
    """Train one preset as shipped; what its test gave and how long it took."""
    import torch

    from tuidl.core.data import playground as PG
    from tuidl.core.preset import preset as P
    from tuidl.core.run import rundir as R
    from tuidl.core.train import Trainer

    import playground_ref

    preset = P.load(name)
    run = R.create(root, preset.name, P.dumps(preset))
    seen: dict[str, Any] = {}

    def listener(ev: dict) -> None:
        if ev["type"] in ("test", "run_ended"):
            seen[ev["type"]] = ev
        elif ev["type"] == "epoch":
            seen["epochs"] = ev["epoch"]

    t0 = time.perf_counter()
    trainer = Trainer(preset, run, listeners=[listener], handle_signals=False)
    status = trainer.run()
    wall = time.perf_counter() - t0
    metrics = seen.get("test", {}).get("metrics", {})
    row: dict[str, Any] = {"preset": name, "dataset": preset.data.dataset, "status": status,
                           "epochs": seen.get("epochs", 0), "wall_s": round(wall, 1),
                           "test": {k: round(float(v), 5) for k, v in metrics.items()}}
    if preset.data.dataset in PG.GENERATORS:
        part = trainer.data.test
        trainer.model.eval()
        with torch.no_grad():
            out = trainer.model(part.x)
        row["kind"] = "loss"
        row["measured"] = playground_ref.playground_loss(out, part.y, trainer.task)
        ref = playground_ref.reference(playground_ref.setting_of(preset))
        row["reference"] = f"Playground {ref['test_loss']:.3f} (5 seeds: {ref['min']:.3f}–{ref['max']:.3f})"
        row["playground"] = ref
    else:
        row["kind"] = "acc"
        row["measured"] = 100 * float(metrics.get("acc", float("nan")))
        row["reference"] = REFERENCES.get(name, "")
    found = claim(preset.description)
    row["claimed"] = fmt(*found) if found else ""
    row["ok"] = bool(found) and found[0] == row["kind"] and within(found[0], found[1], row["measured"])
    return row


def machine(threads: int) -> str:
    import torch

    from dashboard import cpu_name

    cpu = cpu_name(platform.processor() or "?")
    return (f"{cpu}, {os.cpu_count()} logical CPUs (torch on {threads} thread{'s' if threads > 1 else ''}), "
            f"Python {platform.python_version()}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}")


def markdown(rows: list[dict], where: str) -> str:
    out = ["# Reference results", "",
           "Written by `python bench/accuracy.py` (see its docstring): every built-in preset that works offline, "
           "trained as shipped (`tuidl train NAME`), against the figure its description claims. "
           "`tests/test_reference_results.py` checks that the descriptions and this table agree.", "",
           f"Machine: {where}.", "",
           "Accuracy is on each dataset's test split (MNIST-1D: the official 1,000 test sequences, the model trained "
           "on the 4,000 training ones). A Playground loss is Playground's own: the mean of 0.5 · (output − label)² "
           "over the test points, with a two-class model's output taken as P(+1) − P(−1) and labels ±1 "
           "(`bench/playground_ref.py`).", "",
           "| preset | claimed (description) | reference | measured | epochs | wall time | |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        extra = ""
        if r["kind"] == "loss" and "acc" in r["test"]:
            extra = f" (accuracy {100 * r['test']['acc']:.1f}%)"
        out.append(f"| {r['preset']} | {r['claimed'] or '—'} | {r['reference'] or '—'} | "
                   f"{fmt(r['kind'], r['measured'])}{extra} | {r['epochs']} | {r['wall_s']:.0f} s | "
                   f"{'✓' if r['ok'] else '✗'} |")
    out += ["", "## Presets that download their data", "",
            "Not trained here (no network). What to expect, and where the figure comes from:", "",
            "| preset | claimed (description) | expected | source |", "|---|---|---|---|"]
    from tuidl.core.preset import preset as P

    for name, (figure, source) in EXPECTED.items():
        if name not in P.builtin_names():
            continue
        found = claim(P.load(name).description)
        out.append(f"| {name} | {fmt(*found) if found else '—'} | {figure} | {source} |")
    probe = BENCH / "probe.md"  # the self-supervised presets' section, written by bench/probe.py
    return "\n".join(out) + "\n" + ("\n" + probe.read_text() if probe.is_file() else "")


def read_table(path: Path) -> dict[str, dict[str, str]]:
    """The rows of an ``accuracy.md``: preset → its cells, by column name."""
    rows: dict[str, dict[str, str]] = {}
    header: list[str] = []
    for line in path.read_text().splitlines():
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "preset":
            header = cells
            continue
        if header and cells[0] and not set(cells[0]) <= set("-"):
            rows[cells[0]] = dict(zip(header, cells))
    return rows


def main() -> int:
    from tuidl.core.preset import preset as P

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", help="comma-separated (default: every built-in preset that works offline)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--out", default=str(BENCH / "accuracy.md"), help="the table ('-' = print only)")
    ap.add_argument("--json", help="also write the rows here")
    ap.add_argument("--from-json", metavar="FILE",
                    help="train nothing: take the measurements from an earlier --json and check them against the "
                         "descriptions as they are now (after editing a description)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    # (the self-supervised presets are measured by bench/probe.py, whose section ends the file)
    names = args.presets.split(",") if args.presets else [n for n in P.builtin_names()
                                                          if offline(n) and P.load(n).train.objective == "supervised"]
    rows = []
    earlier = json.loads(Path(args.from_json).read_text()) if args.from_json else None
    where = earlier["machine"] if earlier else machine(args.threads)
    with tempfile.TemporaryDirectory(prefix="tuidl-accuracy-") as tmp:
        for name in names:
            if earlier:
                row = next(r for r in earlier["rows"] if r["preset"] == name)
                found = claim(P.load(name).description)
                row["claimed"] = fmt(*found) if found else ""
                row["ok"] = bool(found) and found[0] == row["kind"] and within(found[0], found[1], row["measured"])
            else:
                row = train(name, Path(tmp))
            rows.append(row)
            print(f"{name:<22} claimed {row['claimed'] or '—':<8} measured {fmt(row['kind'], row['measured']):<8} "
                  f"{row['epochs']:>4} epochs {row['wall_s']:>7.1f} s  {'ok' if row['ok'] else 'MISMATCH'}", flush=True)
    text = markdown(rows, where)
    if args.out == "-":
        print(text)
    else:
        Path(args.out).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": where, "rows": rows}, indent=1))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
