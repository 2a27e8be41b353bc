"""What the framework hooks cost: the same tiny Lightning fit with TuidlLogger, with
Lightning's TensorBoardLogger and with its CSVLogger; the same tiny Hugging Face Trainer
run with TuidlCallback and with report_to="none" and no callback. Side by side in one
process, the variants interleaved round by round (A B C, B C A, ...) so the machine's
load falls on each alike. The figure is the fit's CPU time (this process, every thread:
the loggers' writer threads count), with its wall time beside; medians over the rounds.

    python bench/integrations_bench.py [--rounds 5] [--out bench/integrations.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timed(fn) -> tuple[float, float]:
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def lightning_fit(which: str, tmp: Path, epochs: int, n: int) -> None:
    import lightning as L
    import torch
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from tuidl.integrations.lightning import TuidlLogger

    class Net(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))

        def training_step(self, batch, i):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss)
            self.log("lr", 0.01)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    torch.manual_seed(0)
    x = torch.randn(n, 8)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=16)
    logger = {"tuidl": lambda: TuidlLogger(dir=tmp / "runs", telemetry=False),
              "tensorboard": lambda: TensorBoardLogger(str(tmp / "tb")),
              "csv": lambda: CSVLogger(str(tmp / "csv"))}[which]()
    trainer = L.Trainer(max_epochs=epochs, logger=logger, accelerator="cpu", devices=1, log_every_n_steps=1,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Net(), loader)


def hf_train(which: str, tmp: Path, steps: int) -> None:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
    from transformers.utils import logging as hf_logging

    from tuidl.integrations.transformers import TuidlCallback

    hf_logging.set_verbosity_error()

    class Data(torch.utils.data.Dataset):
        ids = torch.randint(1, 30, (256, 8), generator=torch.Generator().manual_seed(0))

        def __len__(self):
            return len(self.ids)

        def __getitem__(self, i):
            return {"input_ids": self.ids[i], "labels": int(self.ids[i, 0] % 2)}

    torch.manual_seed(0)
    config = BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16, num_labels=2)
    args = TrainingArguments(output_dir=str(tmp / "hf"), max_steps=steps, per_device_train_batch_size=8,
                             logging_steps=1, save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True)
    callbacks = [TuidlCallback(dir=tmp / "runs", telemetry=False)] if which == "tuidl" else []
    Trainer(model=BertForSequenceClassification(config), args=args, train_dataset=Data(),
            callbacks=callbacks).train()


def rounds(variants: list[str], n: int, run) -> dict:
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    wall: dict[str, list[float]] = {v: [] for v in variants}
    run(variants[0], warm=True)  # imports, first-call costs: not measured
    for r in range(n):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in order:
            c, w = run(v)
            cpu[v].append(c)
            wall[v].append(w)
    return {v: {"cpu_s_median": round(statistics.median(cpu[v]), 3), "wall_s_median": round(statistics.median(wall[v]), 3),
                "cpu_s": [round(x, 3) for x in cpu[v]], "wall_s": [round(x, 3) for x in wall[v]]} for v in variants}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--samples", type=int, default=2048, help="Lightning: samples per epoch (batch 16)")
    p.add_argument("--hf-steps", type=int, default=60)
    p.add_argument("--out", default=str(Path(__file__).with_name("integrations.json")))
    args = p.parse_args()
    import lightning
    import transformers

    out = {"machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
           "versions": {"lightning": lightning.__version__, "transformers": transformers.__version__},
           "lightning": {"steps_per_fit": args.epochs * (args.samples // 16), "metrics_per_step": 3}}

    def lit(which, warm=False):
        with tempfile.TemporaryDirectory() as d:
            return timed(lambda: lightning_fit(which, Path(d), 1 if warm else args.epochs, 64 if warm else args.samples))

    out["lightning"].update(rounds(["tuidl", "tensorboard", "csv"], args.rounds, lit))
    L_ = out["lightning"]
    out["lightning"]["ratio_cpu_tuidl_to_csv"] = round(L_["tuidl"]["cpu_s_median"] / L_["csv"]["cpu_s_median"], 4)
    out["lightning"]["ratio_wall_tuidl_to_csv"] = round(L_["tuidl"]["wall_s_median"] / L_["csv"]["wall_s_median"], 4)
    out["lightning"]["ratio_cpu_tensorboard_to_csv"] = round(L_["tensorboard"]["cpu_s_median"] / L_["csv"]["cpu_s_median"], 4)

    def hf(which, warm=False):
        with tempfile.TemporaryDirectory() as d:
            return timed(lambda: hf_train(which, Path(d), 2 if warm else args.hf_steps))

    out["transformers"] = {"steps": args.hf_steps, **rounds(["tuidl", "none"], args.rounds, hf)}
    H = out["transformers"]
    H["ratio_cpu_tuidl_to_none"] = round(H["tuidl"]["cpu_s_median"] / H["none"]["cpu_s_median"], 4)
    H["ratio_wall_tuidl_to_none"] = round(H["tuidl"]["wall_s_median"] / H["none"]["wall_s_median"], 4)
    out["machine"]["load_after"] = os.getloadavg()
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
