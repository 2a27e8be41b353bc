"""The learning-rate range test's suggestions against each other: for each preset and
seed, ``tuidl.core.lab.lrfind.lr_find`` (100 steps, lr 1e-7 → 1) gives tuidl's
suggestion and Lightning's (its ``_LRFinder.suggestion`` rule, reimplemented), and a
short training (``--epochs``, the preset otherwise as shipped, tuidl's own trainer in
this process, CPU) runs at each. The table gives the suggested lrs and the final
validation loss and test accuracy, per seed and the median; the results go to
``bench/lr_find.md`` (and ``--json``).

With ``--check-lightning PYTHON`` (a Python with ``lightning`` installed, e.g. a
throwaway venv) each curve's raw losses are also handed to Lightning's own
``_LRFinder.suggestion`` (after Lightning's smoothing, as its callback records them), and
the two suggestions are compared.

    python bench/lr_find.py [--presets digits-mlp,mnist1d-mlp] [--seeds 5] [--epochs 8]
                            [--check-lightning /tmp/lvenv/bin/python] [--out bench/lr_find.md]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

LIGHTNING_CHECK = """
import json, sys
from lightning.pytorch.tuner.lr_finder import _LRFinder
out = []
for lrs, smoothed in json.load(sys.stdin):
    finder = _LRFinder("exponential", lrs[0], lrs[-1], len(lrs))
    finder.results = {"lr": lrs, "loss": smoothed}
    out.append(finder.suggestion())
print(json.dumps(out))
"""


def train(preset, lr: float, epochs: int) -> dict:
    """A short training at ``lr``: the last epoch's validation loss and the test accuracy."""
    from tuidl.core.preset import preset as P
    from tuidl.core.run import rundir as R
    from tuidl.core.train import Trainer

    p = P.edit(preset, {"train.optimizer.lr": lr, "train.epochs": epochs}).preset
    events: list[dict] = []
    with tempfile.TemporaryDirectory() as root:
        run = R.create(root, p.name, P.dumps(p))
        Trainer(p, run, handle_signals=False, listeners=[events.append]).run()
    end = [e for e in events if e["type"] == "run_ended"][-1]
    val = [e for e in events if e["type"] == "epoch"][-1].get("val") or {}
    return {"status": end["status"], "val_loss": val.get("loss"), "test_acc": (end.get("test") or {}).get("acc")}


def one(name: str, seed: int, epochs: int) -> dict:
    from tuidl.core.preset import preset as P
    from tuidl.core.lab.lrfind import lightning_smoothed, lr_find

    preset = P.edit(P.load(name), {"seed": seed, "train.device": "cpu"}).preset
    t0 = time.perf_counter()
    r = lr_find(preset)
    row = {"preset": name, "seed": seed, "find_s": round(time.perf_counter() - t0, 2), "steps": r.steps_run,
           "diverged": r.diverged, "lrs": r.lrs, "lightning_curve": lightning_smoothed(r.losses)}
    for rule, lr in (("tuidl", r.suggestion), ("lightning", r.lightning), ("shipped", preset.train.optimizer.lr)):
        row[rule] = {"lr": lr, **train(preset, lr, epochs)}
    return row


def check_lightning(python: str, rows: list[dict]) -> list[float | None]:
    payload = json.dumps([[r["lrs"], r["lightning_curve"]] for r in rows])
    done = subprocess.run([python, "-c", LIGHTNING_CHECK], input=payload, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def fmt(x, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def median(values: list) -> float | None:
    """The median of the values there are (a preset without a validation split has none)."""
    there = [v for v in values if v is not None]
    return statistics.median(there) if there else None


def markdown(rows: list[dict], epochs: int, lightning_version: str | None) -> str:
    lines = [f"Short trainings ({epochs} epochs) at each suggestion; val loss: the last epoch's; test acc: the run's "
             "test (early stopping as the preset has it).", "",
             "| preset | seed | tuidl lr | Lightning lr | val loss (tuidl / Lightning / shipped lr) "
             "| test acc (tuidl / Lightning / shipped lr) |", "|---|---|---|---|---|---|"]
    for r in rows:
        t, li, p = r["tuidl"], r["lightning"], r["shipped"]
        lines.append(f"| {r['preset']} | {r['seed']} | {t['lr']:.3g} | {fmt(li['lr'], '.3g')} | "
                     f"{fmt(t['val_loss'], '.4f')} / {fmt(li['val_loss'], '.4f')} / {fmt(p['val_loss'], '.4f')} | "
                     f"{fmt(t['test_acc'], '.3f')} / {fmt(li['test_acc'], '.3f')} / {fmt(p['test_acc'], '.3f')} |")
    lines += ["", "Medians over the seeds:", "", "| preset | rule | lr (min–max) | val loss | test acc |",
              "|---|---|---|---|---|"]
    for name in dict.fromkeys(r["preset"] for r in rows):
        mine = [r for r in rows if r["preset"] == name]
        for rule in ("tuidl", "lightning", "shipped"):
            lrs = [r[rule]["lr"] for r in mine]
            med = {k: median([r[rule][k] for r in mine]) for k in ("val_loss", "test_acc")}
            lines.append(f"| {name} | {rule} | {statistics.median(lrs):.3g} ({min(lrs):.2g}–{max(lrs):.2g}) | "
                         f"{fmt(med['val_loss'], '.4f')} | {fmt(med['test_acc'], '.3f')} |")
    if lightning_version:
        same = sum(r.get("lightning_real") == r["lightning"]["lr"] for r in rows)
        lines += ["", f"Lightning {lightning_version}'s own `_LRFinder.suggestion` on the same curves gave the same "
                      f"lr as tuidl's reimplementation for {same} of {len(rows)} curves."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="digits-mlp,mnist1d-mlp")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--check-lightning", metavar="PYTHON", help="a Python with lightning installed")
    ap.add_argument("--out", default=str(BENCH / "lr_find.md"))
    ap.add_argument("--json", help="also write the rows as JSON here")
    ap.add_argument("--from-json", help="write the table from rows written by --json, without training")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    rows = json.loads(Path(args.from_json).read_text()) if args.from_json else []
    for name in [] if args.from_json else args.presets.split(","):
        for seed in range(args.seeds):
            rows.append(one(name, seed, args.epochs))
            r = rows[-1]
            print(f"{name} seed {seed}: tuidl {r['tuidl']['lr']:.3g} → {r['tuidl']['test_acc']}, lightning "
                  f"{fmt(r['lightning']['lr'], '.3g')} → {r['lightning']['test_acc']}", flush=True)
    version = None
    if args.check_lightning:
        if not args.from_json:
            for row, lr in zip(rows, check_lightning(args.check_lightning, rows)):
                row["lightning_real"] = lr
        version = subprocess.run([args.check_lightning, "-c", "import lightning; print(lightning.__version__)"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    for row in rows:
        row.pop("lrs", None), row.pop("lightning_curve", None)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    Path(args.out).write_text(f"# Learning-rate range test: tuidl's suggestion against Lightning's\n\n"
                              f"`python bench/lr_find.py` on {time.strftime('%Y-%m-%d')}, CPU, one thread.\n\n"
                              + markdown(rows, args.epochs, version))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
