"""GPU throughput: tuidl's trainer (data kept on the device, batched by index) against a
``DataLoader`` over the same tensors, fp32 against bf16 autocast, with channels_last and
optionally ``torch.compile``; and a check that reporting does not sync once per step.

For a machine with an NVIDIA GPU. Without one it prints one line and exits with 2.

Cases: ``mnist1d-cnn`` (generated offline) and ``cifar10-cnn``. Nothing downloads here:
CIFAR-10 is a generated stand-in of the same shape (50,000 + 10,000 random 32×32×3
images, 10 classes) written as the real pickled batch files (``data_batch_1`` …
``data_batch_5``, ``test_batch``, ``batches.meta``) into a temp ``data.params.root``, so
tuidl's real CIFAR loader (torchvision's reader) runs.

Sides, same preset, model (``tuidl.core.model.model.build``), optimizer and batch size:

* **tuidl**: ``Trainer(preset, run).run()`` in this process (``train.precision``,
  ``train.channels_last``, ``train.compile`` set per variant); throughput from its
  ``epoch`` events;
* **device**: a hand-written loop over the same device tensors, batched by index
  (what tuidl does, without its bookkeeping);
* **dataloader**: a hand-written loop over ``DataLoader(TensorDataset(x, y))`` of the
  same (normalised) tensors on the host, pinned, copied to the GPU each batch
  (``non_blocking``), ``--workers`` worker processes.

Every side trains ``--epochs`` epochs with a validation pass each epoch; samples/s is
over the epochs after the first (the first one pays cuDNN autotuning and compilation)
and is also given over all epochs. The hand-written loops keep their loss sums on the
device (no ``.item()`` per step), as the trainer does.

**Syncs.** One more tuidl run per case (bf16) with
``torch.cuda.set_sync_debug_mode("warn")`` counts the host–device synchronisations
PyTorch reports inside the training loop (``Trainer._train_epoch``), and counts calls
of ``Tensor.item`` / ``tolist`` / ``cpu`` on the device's tensors there. Reported per
optimizer step; the trainer reads its metrics a few times a second, so this should be
far below 1. (With ``--device cpu``, a check of this script, the CPU trainer reads its
per-step loss with ``.item()`` by design: there is no device to wait for.)

    python bench/gpu_bench.py [--reps 3] [--epochs 5] [--cases mnist1d-cnn,cifar10-cnn] [--compile] [--json out.json]

Exit status: 0 measured, 2 no CUDA GPU here.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(Path(__file__).resolve().parent))

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_cifar10(root: Path, per_batch: int = 10_000, seed: int = 0) -> Path:
    """A stand-in for CIFAR-10 in its own format: five training batches and a test
    batch of ``per_batch`` random images each, and the label names. Returns the root
    to give as ``data.params.root``."""
    import numpy as np

    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for b, name in enumerate(names):
        data = rng.integers(0, 256, (per_batch, 3 * 32 * 32), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, per_batch)]
        with open(folder / name, "wb") as f:
            pickle.dump({"batch_label": f"stand-in {b}", "data": data, "labels": labels,
                         "filenames": [f"{name}_{i}.png" for i in range(per_batch)]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": CIFAR10_CLASSES, "num_cases_per_batch": per_batch, "num_vis": 3072}, f)
    return root


def case_overrides(case: str, device: str, epochs: int, cifar_root: Path | None, quick: bool) -> list[str]:
    over = [f"train.device='{device}'", f"train.epochs={epochs}", "train.early_stopping.enabled=false"]
    if case.startswith("cifar10"):
        over += [f"data.params.root='{cifar_root}'", "data.params.download=false"]
        if quick:
            over.append("data.params.limit=2000")
    elif case.startswith("mnist1d"):
        # the preset trains on all the official training sequences and has no validation
        # split; the hand-written loop validates each epoch, as when this was recorded
        over += ["data.split.train=0.85", "data.split.val=0.15", "train.label_smoothing=0.0"]
        if quick:
            over.append("data.params.n_samples=1000")
    return over


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------------------
# The sides


def tuidl_side(preset, root: Path) -> dict[str, Any]:
    """The real trainer, in this process."""
    from tuidl.core.preset import preset as P
    from tuidl.core.run import rundir as R
    from tuidl.core.train import Trainer

    run = R.create(root, preset.name, P.dumps(preset))
    epochs: list[dict] = []
    marks: dict[str, float] = {}

    def listener(ev: dict) -> None:
        if ev["type"] == "run_started":
            marks["start"] = time.perf_counter()
        elif ev["type"] == "epoch":
            marks["end"] = time.perf_counter()
            epochs.append(ev)

    trainer = Trainer(preset, run, listeners=[listener], handle_signals=False)
    status = trainer.run()
    if status != "completed":
        raise RuntimeError(f"the trainer ended {status}: {run.read_status().get('message')}")
    n = len(trainer.data.train)
    later = epochs[1:] or epochs
    return {"samples_per_s": n * len(later) / sum(float(e["duration"]) for e in later),
            "samples_per_s_all": n * len(epochs) / (marks["end"] - marks["start"]),
            "final_loss": float(epochs[-1]["train"]["loss"]), "precision": trainer.precision,
            "channels_last": bool(trainer.channels_last)}


def hand_loop(preset, loaded, device, *, loader: bool, workers: int = 0) -> dict[str, Any]:
    """A hand-written loop: data-on-device batching (``loader=False``) or a DataLoader
    over the same tensors kept on the host."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from tuidl.core.model.model import build
    from tuidl.core.train.optim import make_optimizer
    from tuidl.core.train.steps import make_loss

    p = preset
    torch.manual_seed(p.seed)
    info = loaded.info
    model = build(p.model.layers, info.input_shape).to(device)
    channels_last = p.train.channels_last and device.type == "cuda" and len(info.input_shape) == 3
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    forward = torch.compile(model) if p.train.compile else model
    opt = make_optimizer(p.train.optimizer, model.parameters())
    loss_fn = make_loss("cce", 0.0)
    amp = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(p.train.precision) if device.type == "cuda" else None
    if device.type == "cpu" and p.train.precision == "bf16":
        amp = torch.bfloat16  # CPU autocast: only for checking this script without a GPU
    bs = p.data.batch_size
    vx, vy = loaded.val.x.to(device), loaded.val.y.to(device)
    n = len(loaded.train)
    if loader:  # the tensors stay on the host; each batch is collated there and copied over
        ds = TensorDataset(loaded.train.x.cpu(), loaded.train.y.cpu())
        dl = DataLoader(ds, batch_size=bs, shuffle=True, num_workers=workers, pin_memory=device.type == "cuda",
                        persistent_workers=workers > 0, generator=torch.Generator().manual_seed(p.seed + 1))
    else:
        x, y = loaded.train.x.to(device), loaded.train.y.to(device)
    gen = torch.Generator().manual_seed(p.seed + 1)

    def batches():
        if loader:
            for xb, yb in dl:
                yield xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        else:
            perm = torch.randperm(n, generator=gen).to(device)
            for i in range(0, n, bs):
                idx = perm[i:i + bs]
                yield x.index_select(0, idx), y.index_select(0, idx)

    times = []
    loss_sum = torch.zeros((), device=device)
    for _epoch in range(p.train.epochs):
        _sync(device)
        t0 = time.perf_counter()
        model.train()
        loss_sum.zero_()
        for xb, yb in batches():
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                out = forward(xb)
                loss = loss_fn(out.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * yb.shape[0]
        model.eval()
        with torch.no_grad():
            correct = torch.zeros((), device=device)
            for i in range(0, len(vy), max(bs, 256)):
                xb = vx[i:i + max(bs, 256)]
                if channels_last:
                    xb = xb.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                    correct += (forward(xb).argmax(1) == vy[i:i + max(bs, 256)]).sum()
        final = float(loss_sum) / n  # one read per epoch, like the trainer's epoch event
        _sync(device)
        times.append(time.perf_counter() - t0)
    later = times[1:] or times
    return {"samples_per_s": n * len(later) / sum(later), "samples_per_s_all": n * len(times) / sum(times),
            "final_loss": final, "precision": "fp32" if amp is None else p.train.precision,
            "channels_last": channels_last}


def count_syncs(preset, root: Path) -> dict[str, Any]:
    """One trainer run with PyTorch's sync debug mode on (CUDA) and ``item`` / ``tolist``
    / ``cpu`` counted, inside the training loop only."""
    import torch

    from tuidl.core.preset import preset as P
    from tuidl.core.run import rundir as R
    from tuidl.core.train import loop as E

    state = {"inside": False, "syncs": 0, "item": 0, "tolist": 0, "cpu": 0}
    originals = {name: getattr(torch.Tensor, name) for name in ("item", "tolist", "cpu")}
    kind = torch.device(preset.train.device).type

    def counting(name):
        original = originals[name]

        def wrapper(self, *args, **kwargs):
            # reads of the training device's tensors (the optimizer's own host-side
            # step counters are not a device sync and are not counted)
            if state["inside"] and self.device.type == kind:
                state[name] += 1
            return original(self, *args, **kwargs)
        return wrapper

    train_epoch = E.Trainer._train_epoch

    def timed_epoch(self, epoch):
        state["inside"] = True
        try:
            return train_epoch(self, epoch)
        finally:
            state["inside"] = False

    cuda = kind == "cuda"
    show = warnings.showwarning

    def on_warning(message, category, filename, lineno, file=None, line=None):
        if state["inside"] and "synchroniz" in str(message).lower():
            state["syncs"] += 1

    run = R.create(root, preset.name, P.dumps(preset))
    last: dict = {}
    try:
        for name in originals:
            setattr(torch.Tensor, name, counting(name))
        E.Trainer._train_epoch = timed_epoch
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = on_warning
            if cuda:
                torch.cuda.set_sync_debug_mode("warn")
            try:
                E.Trainer(preset, run, listeners=[lambda ev: last.update(ev) if ev["type"] == "epoch" else None],
                          handle_signals=False).run()
            finally:
                if cuda:
                    torch.cuda.set_sync_debug_mode("default")
                warnings.showwarning = show
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)
        E.Trainer._train_epoch = train_epoch
    steps = int(last.get("step", 0)) or 1
    step_events = sum(1 for line in run.events_path.read_text().splitlines() if '"type":"step"' in line)
    return {"steps": steps, "step_events": step_events,
            "syncs": state["syncs"] if cuda else None,
            "syncs_per_step": round(state["syncs"] / steps, 4) if cuda else None,
            "item_per_step": round(state["item"] / steps, 4), "tolist_per_step": round(state["tolist"] / steps, 4),
            "cpu_per_step": round(state["cpu"] / steps, 4), "item_calls": state["item"],
            "tolist_calls": state["tolist"], "cpu_calls": state["cpu"]}


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--cases", default="mnist1d-cnn,cifar10-cnn")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--compile", action="store_true", help="also the variants with torch.compile")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--device", default="cuda", help=argparse.SUPPRESS)  # "cpu": check this script without a GPU
    ap.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)  # small data (tests)
    args = ap.parse_args(argv)

    try:
        import torch
    except ImportError:
        print("gpu_bench: PyTorch is not installed: nothing to measure", file=sys.stderr)
        return 2
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        why = "PyTorch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
        print(f"gpu_bench: no NVIDIA GPU here ({why}; torch {torch.__version__}): nothing to measure",
              file=sys.stderr)
        return 2

    from tuidl.core.data import data as D
    from tuidl.core.preset import preset as P
    from dashboard import machine

    device = torch.device(args.device)
    info = machine()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none (CPU check of this script)"
    info["gpu"] = gpu
    info["torch"] = torch.__version__
    info["cuda"] = torch.version.cuda
    print(f"# {info['date']} · {gpu} · torch {torch.__version__} (CUDA {torch.version.cuda}) · "
          f"{info['nproc']} × {info['cpu']}", flush=True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    rows = []
    syncs = {}
    with tempfile.TemporaryDirectory(prefix="tuidl-gpu-bench-") as tmp:
        tmp_path = Path(tmp)
        cifar_root = None
        cases = args.cases.split(",")
        if any(c.startswith("cifar10") for c in cases):
            t = time.perf_counter()
            cifar_root = write_cifar10(tmp_path / "cifar10", per_batch=500 if args.quick else 10_000)
            print(f"  CIFAR-10 stand-in written in {time.perf_counter() - t:.1f} s", flush=True)
        for case in cases:
            base = case_overrides(case, args.device, args.epochs, cifar_root, args.quick)
            variants = []
            for precision in args.precisions.split(","):
                for channels_last in ((False, True) if case.startswith("cifar") else (False,)):
                    for compiled in ((False, True) if args.compile else (False,)):
                        variants.append((precision, channels_last, compiled))
            loaded = None
            for precision, channels_last, compiled in variants:
                over = base + [f"train.precision='{precision}'", f"train.channels_last={str(channels_last).lower()}",
                               f"train.compile={str(compiled).lower()}"]
                preset = P.load(case, over)
                if loaded is None:
                    loaded = D.load(preset, "cpu")  # the tensors the hand loops use (moved per side)
                res: dict[str, list[dict]] = {"tuidl": [], "device": [], "dataloader": []}
                for rep in range(args.reps):
                    order = ["tuidl", "device", "dataloader"]
                    order = order[rep % 3:] + order[:rep % 3]
                    for side in order:
                        if side == "tuidl":
                            res[side].append(tuidl_side(preset, tmp_path / "runs"))
                        else:
                            res[side].append(hand_loop(preset, loaded, device, loader=side == "dataloader",
                                                       workers=args.workers))
                        if device.type == "cuda":
                            torch.cuda.empty_cache()
                med = {k: statistics.median(r["samples_per_s"] for r in v) for k, v in res.items()}
                med_all = {k: statistics.median(r["samples_per_s_all"] for r in v) for k, v in res.items()}
                row = {"case": case, "precision": precision, "channels_last": channels_last, "compile": compiled,
                       "samples_per_s": {k: round(v, 1) for k, v in med.items()},
                       "samples_per_s_all_epochs": {k: round(v, 1) for k, v in med_all.items()},
                       "tuidl_vs_dataloader": round(med["tuidl"] / med["dataloader"], 3),
                       "tuidl_vs_device_loop": round(med["tuidl"] / med["device"], 3),
                       "final_loss": {k: round(v[-1]["final_loss"], 4) for k, v in res.items()},
                       "effective": {k: {"precision": v[-1]["precision"], "channels_last": v[-1]["channels_last"]}
                                     for k, v in res.items()}}
                rows.append(row)
                print(f"{case:<12} {precision:<4} cl={int(channels_last)} compile={int(compiled)}  "
                      f"tuidl {med['tuidl']:>10,.0f}/s  device loop {med['device']:>10,.0f}/s  "
                      f"DataLoader {med['dataloader']:>10,.0f}/s  tuidl/DataLoader {row['tuidl_vs_dataloader']:.2f}×",
                      flush=True)
            sync_preset = P.load(case, base + ["train.precision='bf16'"])
            syncs[case] = count_syncs(sync_preset, tmp_path / "runs")
            s = syncs[case]
            print(f"{case:<12} reporting: {s['steps']} steps, {s['step_events']} step events; syncs/step "
                  f"{s['syncs_per_step']}, item/step {s['item_per_step']}, tolist/step {s['tolist_per_step']}, "
                  f"cpu/step {s['cpu_per_step']}", flush=True)
    result = {"benchmark": "gpu", "machine": info, "reps": args.reps, "epochs": args.epochs, "rows": rows,
              "syncs": syncs}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
