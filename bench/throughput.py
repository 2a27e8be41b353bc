"""Training throughput: tuidl's trainer against a plain PyTorch loop, side by side.

For each case the same data (loaded once through tuidl's data layer, not timed), the
same model (built by hand below with torch.nn, in the same layer order so the seed gives
the same initial weights), the same batch size, epochs and seed. The plain loop is what
one writes by hand: shuffle with randperm, forward, loss, backward, step, and a
validation pass each epoch, tracking loss and accuracy.

Timed: from the first training step to the end of the last epoch's validation, for
both. For tuidl that is the ``run_started`` event to the last ``epoch`` event, so
tuidl's own per-epoch work (events, checkpoints, the decision boundary) is included.

    python bench/throughput.py [--reps 5] [--cases spiral,digits-mlp,mnist1d-cnn] [--json out.json]

Runs last a few seconds each (100, 40 and 12 epochs): this machine's speed drifts by
±20 % over seconds, and longer runs average the drift out. Each repetition is an A-B-B-A block (plain, tuidl, tuidl, plain), so both sides see the
same drift of the machine's speed; the ratio reported is the median over repetitions
of each block's plain time / tuidl time (target ≥ 0.97). Also printed: the median
samples/s of each side, their ratio, and each side's final training loss (they should
agree: same work).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuidl.core.data import data as D  # noqa: E402
from tuidl.core.preset import preset as P  # noqa: E402
from tuidl.core.run import rundir as R  # noqa: E402
from tuidl.core.train import Trainer  # noqa: E402

CASES = {
    # name: (preset, overrides, hand-written model factory)
    # the preset now feeds all seven Playground features; this case keeps the four it was
    # measured with (x1, x2, sin x1, sin x2)
    "spiral": ("spiral", ["train.epochs=100", "data.params.features=['x1','x2','sin_x1','sin_x2']"],
               lambda: nn.Sequential(nn.Sequential(nn.Linear(4, 10), nn.Tanh()),
                                     nn.Sequential(nn.Linear(10, 10), nn.Tanh()), nn.Linear(10, 2))),
    "digits-mlp": ("digits-mlp", ["train.epochs=40", "train.early_stopping.enabled=false"],
                   lambda: nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(64, 128), nn.ReLU()),
                                         nn.Dropout(0.2), nn.Linear(128, 10))),
    # the preset trains on all 4,000 official training sequences with AdamW; this case keeps
    # the workload it was measured with (3,400 trained, 600 validated, plain Adam)
    "mnist1d-cnn": ("mnist1d-cnn", ["train.epochs=12", "train.schedule.name='constant'", "data.split.train=0.85",
                                    "data.split.val=0.15", "train.optimizer.name='adam'",
                                    "train.optimizer.weight_decay=0.0", "train.label_smoothing=0.0"],
                    lambda: nn.Sequential(
                        nn.Sequential(nn.Conv1d(1, 25, 5, stride=2, padding=1), nn.ReLU()),
                        nn.Sequential(nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU()),
                        nn.Sequential(nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU()),
                        nn.Flatten(), nn.Linear(125, 10))),
}


def plain_loop(preset: P.Preset, make_model, loaded) -> tuple[float, float, int]:
    """The hand-written loop. Returns (seconds, final train loss, samples trained)."""
    torch.manual_seed(preset.seed)
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=preset.train.optimizer.lr)
    loss_fn = nn.CrossEntropyLoss()
    x, y = loaded.train.x, loaded.train.y
    vx, vy = loaded.val.x, loaded.val.y
    bs, n = preset.data.batch_size, len(y)
    gen = torch.Generator().manual_seed(preset.seed + 1)
    seen = 0
    val_metrics: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    for _ in range(preset.train.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total, correct = 0.0, 0
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            xb, yb = x[idx], y[idx]
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            correct += (out.argmax(1) == yb).sum().item()
            seen += len(yb)
        train_loss = total / n
        model.eval()
        with torch.no_grad():
            vout = model(vx)
            val_metrics.append((loss_fn(vout, vy).item(), (vout.argmax(1) == vy).float().mean().item()))
    return time.perf_counter() - t0, train_loss, seen


def tuidl_run(preset: P.Preset, root: Path, listeners=()) -> tuple[float, float, int]:
    run = R.create(root, preset.name, P.dumps(preset))
    marks: dict[str, float] = {}
    result: dict = {}

    def listener(ev):
        if ev["type"] == "run_started":
            marks["start"] = time.perf_counter()
        elif ev["type"] == "epoch":
            marks["end"] = time.perf_counter()
            result["loss"] = ev["train"]["loss"]
            result["steps"] = ev["step"]

    status = Trainer(preset, run, listeners=[listener, *listeners], handle_signals=False).run()
    assert status == "completed", status
    return marks["end"] - marks["start"], result["loss"], result["steps"]


def arguments(doc: str, cases, reps: int) -> argparse.Namespace:
    """A benchmark's command line: ``--reps``, ``--cases`` (comma-separated), ``--json``."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=reps)
    ap.add_argument("--cases", default=",".join(cases))
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    return args


def main() -> int:
    args = arguments(__doc__, CASES, 5)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cases.split(","):
            preset_name, overrides, factory = CASES[name]
            preset = P.load(preset_name, overrides + ["train.device='cpu'"])
            loaded = D.load(preset, "cpu")
            n_train = len(loaded.train)
            plain_s, tuidl_s, plain_loss, tuidl_loss, pair = [], [], [], [], []
            for rep in range(args.reps):
                # one repetition is an A-B-B-A block (plain, tuidl, tuidl, plain; the next one
                # B-A-A-B): this machine's speed drifts by ±20 % over seconds, and a block
                # sees both sides under the same drift
                order = (0, 1, 1, 0) if rep % 2 == 0 else (1, 0, 0, 1)
                secs = {0: 0.0, 1: 0.0}
                for side in order:
                    if side == 0:
                        t, loss, _ = plain_loop(preset, factory, loaded)
                        plain_loss.append(loss)
                    else:
                        t, loss, _ = tuidl_run(preset, Path(tmp))
                        tuidl_loss.append(loss)
                    secs[side] += t / 2
                plain_s.append(secs[0])
                tuidl_s.append(secs[1])
                pair.append(secs[0] / secs[1])
            samples = n_train * preset.train.epochs
            p_rate = samples / statistics.median(plain_s)
            t_rate = samples / statistics.median(tuidl_s)
            rows.append({"case": name, "samples": samples, "plain_samples_per_s": round(p_rate, 1),
                         "tuidl_samples_per_s": round(t_rate, 1), "ratio": round(statistics.median(pair), 3),
                         "ratio_of_medians": round(t_rate / p_rate, 3),
                         "plain_final_loss": round(plain_loss[-1], 4), "tuidl_final_loss": round(tuidl_loss[-1], 4),
                         "plain_seconds": [round(s, 3) for s in plain_s],
                         "tuidl_seconds": [round(s, 3) for s in tuidl_s],
                         "pair_ratios": [round(r, 3) for r in pair]})
            r = rows[-1]
            print(f"{name:<12} plain {r['plain_samples_per_s']:>10,.0f}/s  tuidl {r['tuidl_samples_per_s']:>10,.0f}/s"
                  f"  ratio {r['ratio']:.3f} (of medians {r['ratio_of_medians']:.3f})  final loss plain {r['plain_final_loss']:.4f} "
                  f"tuidl {r['tuidl_final_loss']:.4f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if all(r["ratio"] >= 0.97 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
