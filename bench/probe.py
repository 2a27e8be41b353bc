"""Self-supervised presets: what their representations are worth, over several seeds; the
results go to ``bench/probe.md`` and its section of ``bench/accuracy.md``.

Each built-in preset with a self-supervised ``train.objective`` that works offline is
trained as shipped (``tuidl train NAME --set seed=S``) by tuidl's own trainer, in this
process, on the CPU, once per seed; then ``tuidl probe``'s analysis
(``tuidl.core.lab.probe.probe_run``: the best checkpoint, the run's own split) gives:

* the test reconstruction loss (the preset's loss, MSE on the normalised input);
* the linear probe's test accuracy (logistic regression on standardised codes) for the
  trained encoder, a randomly initialised encoder of the same shape, and the raw inputs;
* k-means on the test codes (as many clusters as classes) against the true classes,
  as the adjusted Rand index, for the same three.

The table gives the mean and the range (min–max) over the seeds. ``bench/accuracy.py``
leaves these presets to this script and includes ``bench/probe.md`` as the last section
of ``bench/accuracy.md``.

    python bench/probe.py [--presets a,b] [--seeds 5] [--threads 1] [--json bench/probe.json]
    python bench/probe.py --from-json bench/probe.json   # rewrite the tables, train nothing
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

SECTION = "## Self-supervised presets: the linear probe"
FIGURES = ("trained", "random", "raw")


def self_supervised(name: str) -> bool:
    from tuidl.core.data import catalog
    from tuidl.core.preset import preset as P

    preset = P.load(name)
    return preset.train.objective != "supervised" and not catalog.DATASETS[preset.data.dataset].downloads


def measure(name: str, seed: int, root: Path) -> dict[str, Any]:
    """Train ``name`` with ``seed`` as shipped; its test loss and the probe's figures."""
    from tuidl.core.lab.probe import probe_run
    from tuidl.core.preset import preset as P
    from tuidl.core.run import rundir as R
    from tuidl.core.train import Trainer

    t0 = time.perf_counter()
    preset = P.load(name, [f"seed={seed}", "train.device='cpu'"])
    P.resolve(preset)
    run = R.create(root, preset.name, P.dumps(preset))
    tests: list[dict] = []
    status = Trainer(preset, run, listeners=[lambda ev: tests.append(ev) if ev["type"] == "test" else None],
                     handle_signals=False).run()
    if status != "completed":
        raise SystemExit(f"{name} seed {seed}: the run ended {status}")
    result = probe_run(run)
    return {"preset": name, "seed": seed, "objective": preset.train.objective, "epochs": preset.train.epochs,
            "test_loss": tests[-1]["metrics"]["loss"], "layer": result["layer"], "dim": result["dim"],
            "probe": result["probe"], "ari": result["ari"], "wall_s": round(time.perf_counter() - t0, 1)}


def _span(values: list[float], pct: bool) -> str:
    f = (lambda v: f"{100 * v:.1f}%") if pct else (lambda v: f"{v:.3f}")
    mean = sum(values) / len(values)
    return f"{f(mean)} ({f(min(values))}–{f(max(values))})" if len(values) > 1 else f(mean)


def summary(rows: list[dict]) -> dict[str, dict[str, Any]]:
    """Per preset: the seeds, and each figure's values over them."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        s = out.setdefault(r["preset"], {"seeds": [], "rows": []})
        s["seeds"].append(r["seed"])
        s["rows"].append(r)
    return out


def section(rows: list[dict], where: str) -> str:
    out = [SECTION, "",
           "Written by `python bench/probe.py` (see its docstring): each offline self-supervised preset trained as "
           "shipped, once per seed, then `tuidl probe`: a logistic regression on the frozen encoder's codes of the "
           "training split, scored on the test split, beside the same probe on a randomly initialised encoder of "
           "the same shape and on the raw inputs; and k-means on the test codes against the true classes (adjusted "
           "Rand index: 0 is chance, 1 the classes exactly). Mean and range (min–max) over the seeds.", "",
           f"Machine: {where}.", "",
           "| self-supervised preset | objective | code | seeds | test loss | probe: trained | probe: random "
           "encoder | probe: raw | ARI: trained | ARI: random | ARI: raw | wall time per seed |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in summary(rows).items():
        rs = s["rows"]
        first = rs[0]
        cells = [name, first["objective"], f"{first['dim']}-D ({first['layer']})", str(len(rs)),
                 _span([r["test_loss"] for r in rs], False)]
        cells += [_span([r["probe"][k] for r in rs], True) for k in FIGURES]
        cells += [_span([r["ari"][k] for r in rs], False) for k in FIGURES]
        cells.append(f"{sum(r['wall_s'] for r in rs) / len(rs):.0f} s")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def splice(accuracy_md: Path, text: str) -> None:
    """Put ``text`` as the self-supervised section of ``accuracy_md`` (replacing an
    earlier one; it is the file's last section)."""
    old = accuracy_md.read_text() if accuracy_md.is_file() else ""
    head = old.split(SECTION)[0].rstrip("\n")
    accuracy_md.write_text((head + "\n\n" if head else "") + text)


def read_means(path: Path) -> dict[str, dict[str, str]]:
    """The section's rows in ``path`` (``bench/accuracy.md``): preset → cells by column."""
    text = path.read_text()
    if SECTION not in text:
        return {}
    rows, header = {}, []
    for line in text.split(SECTION, 1)[1].splitlines():
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "self-supervised preset":
            header = cells
        elif header and not set(cells[0]) <= set("-"):
            rows[cells[0]] = dict(zip(header, cells))
    return rows


def main() -> int:
    from tuidl.core.preset import preset as P

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", help="comma-separated (default: every offline self-supervised built-in preset)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--json", default=str(BENCH / "probe.json"), help="the measurements (default bench/probe.json)")
    ap.add_argument("--from-json", metavar="FILE", help="train nothing: write the tables from an earlier --json")
    args = ap.parse_args()
    if args.from_json:
        earlier = json.loads(Path(args.from_json).read_text())
        rows, where = earlier["rows"], earlier["machine"]
    else:
        import torch

        from accuracy import machine

        torch.set_num_threads(args.threads)
        names = args.presets.split(",") if args.presets else [n for n in P.builtin_names() if self_supervised(n)]
        where, rows = machine(args.threads), []
        with tempfile.TemporaryDirectory(prefix="tuidl-probe-") as tmp:
            for name in names:
                for seed in range(args.seeds):
                    row = measure(name, seed, Path(tmp))
                    rows.append(row)
                    print(f"{name:<18} seed {seed}  loss {row['test_loss']:.4f}  probe "
                          + " ".join(f"{k} {100 * row['probe'][k]:.1f}%" for k in FIGURES)
                          + "  ARI " + " ".join(f"{k} {row['ari'][k]:.3f}" for k in FIGURES)
                          + f"  {row['wall_s']:.0f} s", flush=True)
                    Path(args.json).write_text(json.dumps({"machine": where, "rows": rows}, indent=1))
    text = section(rows, where)
    (BENCH / "probe.md").write_text(text)
    splice(BENCH / "accuracy.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
