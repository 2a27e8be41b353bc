"""The training loop. One class, readable top to bottom.

``Trainer(preset, run).run()`` trains a resolved preset, writing everything it does
into the run directory's event stream (``docs/events.md``), checkpoints and status
file. Listeners (the console printer of ``tuidl train``) get the same events.

Metrics never force a host–device sync per step: losses and correct counts are summed
on the device and read (one ``.item()``) only when a ``step`` event is due, a few
times a second.

Started by ``torchrun``, the same trainer is one rank of a data-parallel run
(``self.dist``, see ``tuidl.core.distributed``): DDP trains, each rank reads its share of
every global batch, and the ranks sync a few times a second to sum metrics and follow
rank 0's control; rank 0 alone writes the run directory. Without torchrun ``self.dist``
is None and none of that runs.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import random
import signal
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn

from . import events as E
from . import preset as P
from .distributed import Dist, PeerLost
from .faults import Faults, InjectedFault
from .model import build
from .rundir import RunDir, write_atomic
from .schema import ConfigError

REPORT_EVERY_S = 0.25  # step events: at most four a second
RATE_WINDOW_S = 2.0  # samples/s of step events: over the last two seconds of training
CONTROL_EVERY_S = 0.25  # how often the control folder is looked at
BOUNDARY_EVERY_S = 1.0
CHECKPOINT_INTERVAL_S = 5.0  # epoch-end checkpoints at most this often (see _epoch_checkpoints)
BOUNDARY_GRID = 40
EVAL_BATCH_BYTES = 16 << 20  # input bytes per evaluation batch

Listener = Callable[[dict], None]


class Diverged(Exception):
    pass


class Rate:
    """Samples per second over the last ``window`` seconds of a training clock (one that
    stands still while the run is paused). Reported a few times a second, a rate over one
    report's steps jumps around (the first one also carries the first step's one-off
    costs: 21 samples/s, then 1,527); over a couple of seconds it reads steadily."""

    def __init__(self, window: float = RATE_WINDOW_S) -> None:
        self.window = window
        self.marks: list[tuple[float, int]] = []  # (clock, samples so far), oldest first

    def add(self, t: float, seen: int) -> float | None:
        """Mark ``seen`` samples trained by clock ``t``; the rate since the oldest mark
        still inside the window, or None with a single mark."""
        marks = self.marks
        marks.append((t, seen))
        while len(marks) > 2 and t - marks[1][0] >= self.window:
            marks.pop(0)
        t0, n0 = marks[0]
        return (seen - n0) / (t - t0) if len(marks) > 1 and t > t0 else None


class StopRun(Exception):
    pass


def pick_device(name: str) -> torch.device:
    """The device a preset asks for; a clear error when it is not there."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            why = "PyTorch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise ConfigError(f"train.device: {name!r} requested, but {why}; use --device cpu")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"train.device: {name!r} requested, but only "
                              f"{torch.cuda.device_count()} CUDA device(s) are visible")
        return torch.device("cuda", index)
    if name == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ConfigError("train.device: 'mps' requested, but Apple's MPS is not available here")
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    import platform

    return platform.processor() or platform.machine() or "CPU"


def warm_up() -> None:
    """Load what a run needs before its first step: the data and model modules, and
    PyTorch's compiler stack, which PyTorch imports at the first optimizer it builds
    (over a second on a small CPU). A standby trainer (``launch.Standby``) calls this
    while it waits for its run."""
    from . import data, model  # noqa: F401

    layer = nn.Linear(2, 1)
    opt = torch.optim.Adam(layer.parameters())
    layer(torch.zeros(1, 2)).sum().backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


def seed_everything(seed: int, deterministic: bool, device: torch.device | None = None) -> None:
    """Seed every generator. ``deterministic`` asks PyTorch for deterministic kernels on
    CUDA; CPU kernels already are (and the switch costs ~2 s of imports at start-up)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic and device is not None and device.type == "cuda":
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def rng_state() -> dict:
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---------------------------------------------------------------------------
# Loss and metrics

def custom_model(ref: str, allowed: tuple[str, ...], info, resolved: P.Resolved) -> nn.Module:
    """A user's own ``nn.Module`` named by ``model.custom = "module:Class"``. A preset
    alone never runs code: the same name must be given on the command line with
    ``--allow-code``. The class is called as ``Class(input_shape, outputs)``; its output
    shape and parameters are checked with one forward pass before training."""
    import importlib
    import sys

    from .layers import Row

    P.check_code(resolved.preset, allowed)
    module_name, _, class_name = ref.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"model.custom: cannot import {ref!r}: {e}") from None
    outputs = info.num_classes if info.task == "classification" else info.targets
    if resolved.loss == "bce":
        outputs = 1
    try:
        model = cls(tuple(info.input_shape), outputs)
        with torch.no_grad():
            out = model.eval()(torch.zeros(2, *info.input_shape))
        model.train()
    except Exception as e:  # noqa: BLE001 - the user's code: report, don't crash
        raise ConfigError(f"model.custom: {ref}(input_shape={tuple(info.input_shape)}, outputs={outputs}) "
                          f"failed: {type(e).__name__}: {e}") from None
    shape = tuple(out.shape[1:])
    problem = P.output_problem(info, shape, resolved.loss)
    if problem:
        raise ConfigError(f"model.custom: {problem}")
    from .model import count_params

    trainable, frozen = count_params(model)
    resolved.summary.rows = [Row(0, class_name, "custom", tuple(info.input_shape), shape, trainable, frozen)]
    return model


def make_loss(kind: str, label_smoothing: float) -> nn.Module:
    if kind == "cce":
        return nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    if kind == "bce":
        return nn.BCEWithLogitsLoss()
    return nn.MSELoss()


def loss_target(kind: str, y: torch.Tensor) -> torch.Tensor:
    if kind == "bce":
        return y.float().unsqueeze(1)
    return y


class Meter:
    """Running sums of a metric window: ``[loss × n, correct (or |error|), top-5 correct]``.

    On an accelerator the sums stay on the device and are read with :meth:`read` (one
    sync, a few times a second at most). On the CPU there is no device to wait for, so
    each step's figures are plain floats: that costs a fraction of what a few extra
    tensor ops per step would.
    """

    def __init__(self, task: str, loss_kind: str, top5: bool, device: torch.device):
        self.task, self.loss_kind, self.top5, self.device = task, loss_kind, top5, device
        self.host = device.type == "cpu"
        self.n = 0
        self._sums: Any = None  # a list of floats (CPU) or a device tensor

    @property
    def sums(self) -> Optional[torch.Tensor]:
        if self._sums is None or not self.host:
            return self._sums
        return torch.tensor(self._sums, dtype=torch.float64)

    @sums.setter
    def sums(self, value: Optional[torch.Tensor]) -> None:
        self._sums = value.double().cpu().tolist() if (value is not None and self.host) else value

    def stats(self, out: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> Any:
        """One step's row of sums (not yet added)."""
        bs = y.shape[0]
        if self.host and self.task == "classification" and not self.top5 and self.loss_kind != "bce":
            # the common CPU case, kept as short as a hand-written loop's bookkeeping
            return [loss.item() * bs, float((out.detach().argmax(dim=1) == y).sum()), 0.0]
        with torch.no_grad():
            out = out.detach()
            if self.task == "classification":
                pred = (out[:, 0] > 0).long() if self.loss_kind == "bce" else out.argmax(dim=1)
                second = (pred == y).sum()
                third = (out.topk(5, dim=1).indices == y.unsqueeze(1)).any(dim=1).sum() if self.top5 else None
            else:
                err = (out.float() - y).abs()
                second = err.mean(dim=tuple(range(1, err.dim()))).sum() if err.dim() > 1 else err.sum()
                third = None
            if self.host:
                return [loss.item() * bs, float(second), 0.0 if third is None else float(third)]
            zero = torch.zeros((), device=out.device)
            return torch.stack([loss.detach().float() * bs, second.float(), zero if third is None else third.float()])

    def add_row(self, row: Any, n: int) -> None:
        if self._sums is None:
            self._sums = list(row) if self.host else row
        elif self.host:
            s = self._sums
            s[0] += row[0]
            s[1] += row[1]
            s[2] += row[2]
        else:
            self._sums = self._sums + row
        self.n += n

    def add(self, out: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> Any:
        row = self.stats(out, y, loss)
        self.add_row(row, y.shape[0])
        return row

    def read(self) -> dict[str, float]:
        if self.n == 0 or self._sums is None:
            return {}
        loss_sum, second, third = self._sums if self.host else (float(v) for v in self._sums.tolist())
        out = {"loss": loss_sum / self.n}
        if self.task == "classification":
            out["acc"] = second / self.n
            if self.top5:
                out["top5"] = third / self.n
        else:
            out["mae"] = second / self.n
        return out

    def reset(self) -> None:
        self.n, self._sums = 0, None

    def state(self) -> dict:
        sums = self.sums
        return {"n": self.n, "sums": None if sums is None else sums.cpu()}

    def load(self, state: dict) -> None:
        self.n = state["n"]
        self.sums = None if state["sums"] is None else state["sums"].to(self.device)


# ---------------------------------------------------------------------------
# Optimizer and schedule

def make_optimizer(cfg: P.Optimizer, params) -> torch.optim.Optimizer:
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.rho, eps=cfg.eps, momentum=cfg.momentum,
                                   weight_decay=cfg.weight_decay)
    cls = torch.optim.AdamW if cfg.name == "adamw" else torch.optim.Adam
    return cls(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, weight_decay=cfg.weight_decay)


class Schedule:
    """The preset's learning-rate schedule on top of PyTorch's schedulers, with an
    optional linear warmup. ``after_step`` runs after every optimizer step,
    ``after_epoch`` after each epoch's validation."""

    def __init__(self, opt: torch.optim.Optimizer, cfg: P.Schedule, lr: float, epochs: int, steps: int):
        S = torch.optim.lr_scheduler
        self.cfg, self.opt, self.base_lr = cfg, opt, lr
        self.epochs, self.steps = epochs, steps
        warm = min(cfg.warmup_epochs, epochs)
        self.per_step = cfg.name == "onecycle"
        self.plateau = None
        self.sched: Any = None
        if cfg.name == "onecycle":
            pct = warm / epochs if warm else 0.3
            self.sched = S.OneCycleLR(opt, max_lr=cfg.max_lr or lr * 10, total_steps=max(1, epochs * steps),
                                      pct_start=min(max(pct, 0.01), 0.99))
            return
        if cfg.name == "plateau":
            self.warm = warm
            self.plateau = S.ReduceLROnPlateau(opt, mode="min", factor=cfg.factor, patience=cfg.patience,
                                               min_lr=cfg.min_lr)
            if warm:
                self._set_lr(lr * 0.01)
            return
        if cfg.name == "step":
            main = S.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
        elif cfg.name == "cosine":
            main = S.CosineAnnealingLR(opt, T_max=max(1, epochs - warm), eta_min=cfg.min_lr)
        else:  # constant: nothing to schedule (a torch scheduler would wrap every optimizer step)
            main = None
        if warm:
            main = main or S.ConstantLR(opt, factor=1.0, total_iters=0)
            ramp = S.LinearLR(opt, start_factor=0.01, end_factor=1.0, total_iters=warm)
            self.sched = S.SequentialLR(opt, [ramp, main], milestones=[warm])
        else:
            self.sched = main

    def _set_lr(self, lr: float) -> None:
        for group in self.opt.param_groups:
            group["lr"] = lr

    def lr(self) -> float:
        return float(self.opt.param_groups[0]["lr"])

    def after_step(self) -> None:
        if self.per_step:
            self.sched.step()

    def after_epoch(self, epoch: int, metric: float | None) -> None:
        if self.per_step:
            return
        if self.plateau is not None:
            if epoch < self.warm:
                self._set_lr(self.base_lr * (0.01 + 0.99 * epoch / self.warm))
            elif epoch == self.warm and self.warm:
                self._set_lr(self.base_lr)
            elif metric is not None and math.isfinite(metric):
                self.plateau.step(metric)
            return
        if self.sched is not None:
            self.sched.step()

    def state_dict(self) -> dict:
        target = self.plateau if self.plateau is not None else self.sched
        return {"sched": None if target is None else target.state_dict(),
                "lr": [g["lr"] for g in self.opt.param_groups]}

    def load_state_dict(self, state: dict, epochs_done: int = 0, steps_done: int = 0) -> None:
        """Restore a checkpoint's schedule. One saved for another run length (a run resumed
        with more epochs, whose schedule follows its length: cosine, one-cycle, a warmup
        capped by the epochs) is built again for this length and moved on to where the run
        is, so the rest of the run follows the schedule of a run planned this long."""
        target = self.plateau if self.plateau is not None else self.sched
        saved = state.get("sched")
        if self.plateau is None and target is not None and saved is not None \
                and _lengths(saved) != _lengths(target.state_dict()):
            self._fast_forward(epochs_done, steps_done)
            return
        if target is not None and saved is not None:
            target.load_state_dict(saved)
        for group, lr in zip(self.opt.param_groups, state["lr"]):
            group["lr"] = lr

    def _fast_forward(self, epochs_done: int, steps_done: int) -> None:
        for group in self.opt.param_groups:  # as before the first step: the schedulers start from here
            group["lr"] = self.base_lr
            for key in ("initial_lr", "max_lr", "min_lr"):
                group.pop(key, None)
        import warnings

        self.__init__(self.opt, self.cfg, self.base_lr, self.epochs, self.steps)  # type: ignore[misc]
        with warnings.catch_warnings():  # replaying the steps taken: no optimizer step goes with them
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)`")
            if self.per_step:
                for _ in range(steps_done):
                    self.after_step()
            else:
                for epoch in range(1, epochs_done + 1):
                    self.after_epoch(epoch, None)


_LENGTH_KEYS = ("T_max", "total_steps", "total_iters", "_milestones", "milestones")


def _lengths(state: Any) -> list:
    """The fields of a scheduler's state that follow the run's length (nested ones too)."""
    out: list = []
    if isinstance(state, dict):
        for key in sorted(state, key=str):
            if key in _LENGTH_KEYS:
                out.append((key, state[key]))
            elif key == "_schedulers" and isinstance(state[key], list):
                out += [_lengths(s) for s in state[key]]
    return out


def penalty(model: nn.Module, l1: float, l2: float) -> torch.Tensor | float:
    """L1 / L2 penalties on weight matrices and kernels (not biases or norm scales)."""
    total: torch.Tensor | float = 0.0
    for p in model.parameters():
        if p.dim() < 2:
            continue
        if l1:
            total = total + l1 * p.abs().sum()
        if l2:
            total = total + l2 * p.pow(2).sum()
    return total


# ---------------------------------------------------------------------------
# Checkpoints

def save_checkpoint(path: os.PathLike, state: dict, faults: Faults | None = None) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    if faults is not None:
        faults.check("diskfull")
    write_atomic(path, buf.getvalue())


def snapshot(obj: Any) -> Any:
    """A CPU copy of a (nested) state, so it can be written while training goes on."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: snapshot(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(snapshot(v) for v in obj)
    return obj


class CheckpointWriter(threading.Thread):
    """Serialises and writes checkpoints off the training thread, in order. A state is
    copied when it is submitted (it is the state of that moment); at most ``depth``
    wait, after which ``submit`` blocks, so memory stays bounded. ``flush`` waits for
    every write; errors go to ``on_error``, successes to ``on_done``."""

    def __init__(self, faults: Faults | None, on_done: Callable, on_error: Callable, depth: int = 2):
        super().__init__(name="tuidl-checkpoints", daemon=True)
        import queue

        self.faults, self.on_done, self.on_error = faults, on_done, on_error
        self.jobs: "queue.Queue" = queue.Queue(maxsize=depth)
        self.start()

    def submit(self, path: os.PathLike, state: dict, info: dict) -> None:
        self.jobs.put((path, state, info))

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                if job is None:
                    return
                path, state, info = job
                try:
                    save_checkpoint(path, state, self.faults)
                except OSError as e:
                    self.on_error(info, e)
                else:
                    self.on_done(info)
            finally:
                self.jobs.task_done()

    def flush(self) -> None:
        self.jobs.join()

    def close(self) -> None:
        self.jobs.put(None)
        self.join()


def load_checkpoint(path: os.PathLike, device: torch.device | str = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``: a file that needs arbitrary code to
    unpickle is refused."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise ConfigError(f"no checkpoint at {path}") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"refusing checkpoint {path}: it does not load as plain weights "
                          f"(weights_only=True): {first}") from None


# ---------------------------------------------------------------------------

@dataclass
class Progress:
    """Where a run is; saved in every checkpoint so a resumed run continues exactly."""

    epoch: int = 0  # completed epochs
    step: int = 0  # optimizer steps so far
    batch: int = 0  # batches done in the epoch in progress (mid-epoch checkpoint)
    best_value: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0  # epochs without improvement (early stopping)


class Trainer:
    def __init__(self, preset: P.Preset, run: RunDir, *, resume: bool = False,
                 listeners: list[Listener] | None = None, telemetry: bool = False,
                 device: str | None = None, handle_signals: bool = True, allow_code: tuple[str, ...] = ()):
        self.preset = preset
        self.allow_code = tuple(allow_code)
        self.dist = Dist.from_env()  # one rank of a data-parallel run under torchrun, else None
        self.is_main = self.dist is None or self.dist.main  # the process that writes the run directory
        self.run_dir = run if self.dist is None else self.dist.prepare(run)
        self.resume = resume
        self.listeners = list(listeners or [])
        self.telemetry = telemetry
        self.device_request = device or preset.train.device
        self.handle_signals = handle_signals
        self.writer: E.EventWriter | None = None
        self.writer_thread: CheckpointWriter | None = None
        self._last_control = 0.0
        # seconds between epoch-end checkpoint writes ($TUIDL_CHECKPOINT_INTERVAL, default 5)
        self.checkpoint_interval = float(os.environ.get("TUIDL_CHECKPOINT_INTERVAL", CHECKPOINT_INTERVAL_S))
        self._written = {"last": -math.inf, "best": -math.inf}
        self._best_pending = False
        self._best_progress: dict = {}
        self._status_at = -math.inf
        self._first_report = True
        # Time spent paused is not training time: durations, rates and the ETA use this
        # clock, which stands still while the run is paused.
        self._paused_s = 0.0
        self._session_t0 = self._clock()
        self._trained_before = 0.0  # training time of the run's earlier sessions (resumed)
        self.rate = Rate()
        self._seen = 0  # samples trained in this session (for the rate)
        self._seen_all = 0  # the same over every rank of a data-parallel run (summed at each sync)
        self.telemetry_thread: Any = None
        self.faults = Faults.from_env()
        self._stop = threading.Event()
        self._stop_reason = ""
        self._checkpoint_now = False
        self.paused = False
        self.status = "starting"

    # -- events ---------------------------------------------------------------
    def emit(self, type_: str, /, sync: bool = False, **fields: Any) -> dict:
        ev = E.event(type_, **fields)
        if self.writer is not None:
            self.writer.write(ev, sync=sync)
        for listener in self.listeners:
            listener(ev)
        return ev

    def note(self, kind: str, message: str, level: str = "info", **extra: Any) -> None:
        self.emit(E.NOTE, level=level, kind=kind, message=message, **extra)

    # -- control --------------------------------------------------------------
    def request_stop(self, reason: str = "stop requested") -> None:
        self._stop_reason = reason
        self._stop.set()

    def _on_signal(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if self._stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.request_stop(f"{name} received")

    def _poll_control(self) -> None:
        for command in self.run_dir.take_commands():
            if command == "stop":
                self.request_stop("stop requested")
                self.emit(E.CONTROL, action="stop_requested")
            elif command == "pause" and not self.paused:
                self.paused = True
                self.emit(E.CONTROL, action="paused")
                self.run_dir.write_status(status="paused", trained_s=round(self.trained_seconds(), 3))
            elif command == "resume" and self.paused:
                self.paused = False
                self.emit(E.CONTROL, action="resumed")
                self.run_dir.write_status(status="running", trained_s=round(self.trained_seconds(), 3))
            elif command == "checkpoint":
                self._checkpoint_now = True
                self.emit(E.CONTROL, action="checkpoint_requested")

    def _clock(self) -> float:
        """Seconds of this session, pauses left out (``time.monotonic`` less the pauses)."""
        return time.monotonic() - self._paused_s

    def trained_seconds(self) -> float:
        """The run's training time so far: every session (a resumed run's earlier ones
        too) from its start, pauses left out. The one duration the run reports: its
        run_ended ``duration`` and the status file's ``trained_s`` (``tuidl runs``)."""
        return self._trained_before + self._clock() - self._session_t0

    def _wait_while_paused(self) -> None:
        start = time.monotonic()
        try:
            while self.paused and not self._stop.is_set():
                time.sleep(0.1)
                self._poll_control()
                if self._checkpoint_now:
                    self._save("last", "requested")
        finally:
            self._paused_s += time.monotonic() - start

    # -- setup ----------------------------------------------------------------
    def _setup(self) -> None:
        from . import data as D

        p = self.preset
        self.resolved = P.resolve(p)
        if self.dist is None:
            self.device = pick_device(self.device_request)
        else:  # this rank's GPU (NCCL) or the CPU (gloo); every rank checks it trains the same preset
            self.device = self.dist.start(self.device_request, p, self.resume)
        seed_everything(p.seed, p.train.deterministic, self.device)
        self.data = D.load(p, self.device)
        info = self.data.info
        self.task, self.loss_kind = info.task, self.resolved.loss
        if p.model.custom:
            self.model = custom_model(p.model.custom, self.allow_code, info, self.resolved).to(self.device)
        else:
            self.model = build(p.model.layers, info.input_shape).to(self.device)
        self.channels_last = (p.train.channels_last and self.device.type == "cuda"
                              and len(info.input_shape) == 3)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.forward = torch.compile(self.model) if p.train.compile else self.model
        self.eval_forward = self.forward
        if self.dist is not None:  # DDP averages the gradients; each rank reads its share of the data
            self.forward = self.dist.wrap(self.model, p.train.compile)
            self.data.train = self.dist.shard(self.data.train, per_batch=True)
            self.data.val = self.dist.shard(self.data.val, per_batch=False)
        self.loss_fn = make_loss(self.loss_kind, p.train.label_smoothing)
        self.optimizer = make_optimizer(p.train.optimizer, self.model.parameters())
        bs = p.data.batch_size
        self.steps_per_epoch = self.data.train.num_batches(bs)
        self.schedule = Schedule(self.optimizer, p.train.schedule, p.train.optimizer.lr, p.train.epochs,
                                 self.steps_per_epoch)
        self.precision = p.train.precision if self.device.type == "cuda" else "fp32"
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.top5 = self.task == "classification" and info.num_classes > 5
        self.shuffle_gen = torch.Generator().manual_seed(p.seed + 1)
        self.progress = Progress()
        es = p.train.early_stopping
        self.monitor = es.monitor if self.data.val is not None else "train_loss"
        self.monitor_max = self.monitor == "val_acc"
        self.epoch_gen_state = self.shuffle_gen.get_state()
        self.epoch_meter = self._meter(train=True)
        self.best_state: dict | None = None

    def _meter(self, train: bool = False) -> Meter:
        """Training windows report loss and accuracy; top-5 is measured on evaluation."""
        return Meter(self.task, self.loss_kind, self.top5 and not train, self.device)

    # -- checkpoints ----------------------------------------------------------
    def _state(self, epoch_meter: Meter | None = None) -> dict:
        return {
            "format": 1,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "progress": vars(self.progress).copy(),
            "rng": rng_state(),
            "shuffle": self.shuffle_gen.get_state(),
            "epoch_shuffle": self.epoch_gen_state,
            "epoch_meter": (self.epoch_meter if epoch_meter is None else epoch_meter).state(),
            "best_state": self.best_state,
        }

    def _save(self, kind: str, reason: str) -> None:
        self._checkpoint_now = False
        meter = self.epoch_meter
        if self.dist is not None:  # rank 0 writes; mid-epoch with the epoch's sums so far from every rank
            meter = self.dist.total(meter) if kind == "last" and self.progress.batch else meter
            if not self.is_main:
                return
        path = self.run_dir.checkpoint(kind)
        self._written[kind] = time.monotonic()
        if kind == "last":
            state = snapshot(self._state(meter))
        else:
            self._best_pending = False
            state = {"format": 1, "model": self.best_state, "progress": self._best_progress}
        info = {"epoch": self.progress.epoch, "kind": kind, "reason": reason,
                "path": str(path.relative_to(self.run_dir.path)), "batch": self.progress.batch}
        if self.writer_thread is None:
            self.writer_thread = CheckpointWriter(self.faults, self._checkpoint_done, self._checkpoint_failed)
        self.writer_thread.submit(path, state, info)

    def _epoch_checkpoints(self, epoch: int, best: bool, final: bool) -> None:
        """Checkpoints and status at an epoch's end. Short epochs would spend much of their
        time writing files, so the ``last`` and ``best`` files are written at most every
        ``checkpoint_interval`` seconds (and always at the end, at a stop and on request);
        the best weights are kept in memory meanwhile and written when due."""
        now = time.monotonic()
        if best:
            self.best_state = snapshot(self.model.state_dict())
            self._best_progress = vars(self.progress).copy()
            self._best_pending = True
        if self._best_pending and (final or now - self._written["best"] >= self.checkpoint_interval):
            self._save("best", "epoch")
        every = self.preset.train.checkpoint_every
        if final or (epoch % every == 0 and now - self._written["last"] >= self.checkpoint_interval):
            self._save("last", "epoch")
        if final or now - self._status_at >= 1.0:
            self._status_at = now
            self.run_dir.write_status(durable=final, epoch=epoch, best=self._best_dict(),
                                      trained_s=round(self.trained_seconds(), 3))

    def _checkpoint_done(self, info: dict) -> None:
        self.emit(E.CHECKPOINT, **info)

    def _checkpoint_failed(self, info: dict, error: OSError) -> None:
        self.note("checkpoint_failed", f"could not write the {info['kind']} checkpoint of epoch {info['epoch']} "
                  f"({error.strerror or error}); the previous one is kept", level="error")

    def _flush_checkpoints(self) -> None:
        if self.writer_thread is not None:
            self.writer_thread.flush()

    def _restore(self) -> None:
        path = self.run_dir.checkpoint("last")
        state = load_checkpoint(path, self.device) if self.dist is None else self.dist.load(path, load_checkpoint)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.progress = Progress(**state["progress"])
        self.schedule.load_state_dict(state["schedule"], self.progress.epoch, self.progress.step)
        set_rng_state(state["rng"])
        self.shuffle_gen.set_state(state["shuffle"])
        self.epoch_gen_state = state["epoch_shuffle"]
        self.epoch_meter.load(state["epoch_meter"])
        if not self.is_main:
            self.epoch_meter.reset()  # rank 0 carries the epoch's sums so far; each rank adds its own
        self.best_state = state.get("best_state")

    # -- evaluation -----------------------------------------------------------
    def _out(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            return self.eval_forward(x)

    def _eval_batch(self) -> int:
        """Evaluation batches: as large as about EVAL_BATCH_BYTES of input (no gradients are
        kept, and a small validation set in one pass costs a fraction of many small ones),
        never smaller than the training batch, at most 4096."""
        sample_bytes = 4 * max(1, math.prod(self.data.info.input_shape))
        return max(self.preset.data.batch_size, min(4096, EVAL_BATCH_BYTES // sample_bytes))

    @torch.no_grad()
    def evaluate(self, part, collect: bool = False):
        shared = self.dist is not None and self.dist.sharded(part)  # each rank evaluates its part
        if shared:
            self.dist.sync_buffers(self.model)
        self.model.eval()
        meter = self._meter()
        preds = []
        for x, y in part.batches(self._eval_batch(), shuffle=False):
            out = self._out(x)
            loss = self.loss_fn(out.float(), loss_target(self.loss_kind, y))
            meter.add(out, y, loss)
            if collect:
                preds.append(out.float())
        self.model.train()
        if shared:
            self.dist.reduce_meter(meter)
        return meter.read(), (torch.cat(preds) if collect and preds else None)

    def _boundary(self, force: bool = False) -> None:
        d = self.data
        if not self.is_main or d.raw_points is None or d.info.input_shape[0] < 1:
            return
        now = time.monotonic()
        if not force and now - getattr(self, "_last_boundary", 0.0) < BOUNDARY_EVERY_S:
            return
        self._last_boundary = now
        from .playground import features_of

        xmin, xmax, ymin, ymax = d.raw_extent
        n = BOUNDARY_GRID
        gx, gy = np.meshgrid(np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n))
        pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
        x = d.transform(features_of(pts, self.preset.data.params.features)).to(self.device)
        with torch.no_grad():
            self.model.eval()
            out = self._out(x).float()
            self.model.train()
        if self.task == "regression":
            values = out[:, 0]
        elif self.loss_kind == "bce":
            values = torch.sigmoid(out[:, 0])
        else:
            values = torch.softmax(out, dim=1)[:, 1]
        grid = np.round(values.cpu().numpy().reshape(n, n), 3).tolist()
        if getattr(self, "_boundary_points", None) is None:
            rng = np.random.default_rng(self.preset.seed)
            idx = rng.permutation(len(d.raw_points))[:200]
            ys = d.train.y.cpu().numpy()
            self._boundary_points = [[round(float(d.raw_points[i, 0]), 3), round(float(d.raw_points[i, 1]), 3),
                                      round(float(np.ravel(ys[i])[0]), 3)] for i in idx]
        self.emit(E.BOUNDARY, epoch=self.progress.epoch, extent=[xmin, xmax, ymin, ymax], size=n, values=grid,
                  points=self._boundary_points)

    def _test(self) -> dict | None:
        part = self.data.test
        if part is None or len(part) == 0:
            return None
        metrics, out = self.evaluate(part, collect=True)
        fields: dict[str, Any] = {"metrics": metrics}
        y = part.y
        if self.task == "classification":
            pred = (out[:, 0] > 0).long() if self.loss_kind == "bce" else out.argmax(dim=1)
            k = self.data.info.num_classes
            conf = torch.bincount(y.to(pred.device) * k + pred, minlength=k * k).reshape(k, k)
            fields["confusion"] = conf.cpu().tolist()
        else:
            pred = out
        samples = []
        for i in range(min(8, len(part))):
            xi = part.x[i].float().cpu()
            if xi.numel() > 3 * 32 * 32:
                xi = xi[:, ::2, ::2] if xi.dim() == 3 else xi.flatten()[:256]
            t = y[i]
            samples.append({
                "true": int(t) if self.task == "classification" else [round(float(v), 4) for v in t.flatten()],
                "pred": int(pred[i]) if self.task == "classification"
                else [round(float(v), 4) for v in pred[i].flatten()],
                "input": np.round(xi.numpy(), 3).tolist(),
            })
        fields["samples"] = samples
        self.emit(E.TEST, **fields)
        return metrics

    # -- main loop ------------------------------------------------------------
    def _improved(self, value: float) -> bool:
        best = self.progress.best_value
        if best is None or not math.isfinite(best):
            return math.isfinite(value)
        delta = self.preset.train.early_stopping.min_delta
        return value > best + delta if self.monitor_max else value < best - delta

    def _train_epoch(self, epoch: int) -> None:
        p = self.preset
        bs = p.data.batch_size
        clip = p.train.grad_clip
        l1, l2 = p.train.l1, p.train.l2
        window = self._meter(train=True)
        window_t = self._clock()
        gen = torch.Generator().manual_seed(0)
        gen.set_state(self.epoch_gen_state)
        skip = self.progress.batch
        scaled, per_step = self.scaler.is_enabled(), self.schedule.per_step
        self.model.train()
        for i, (x, y) in enumerate(self.data.train.batches(bs, shuffle=True, generator=gen)):
            if i < skip:
                continue
            self.faults.at_step(self.progress.step + 1)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            if self.amp_dtype is None:
                out = self.forward(x)
                loss = self.loss_fn(out, loss_target(self.loss_kind, y))
            else:
                with torch.autocast(self.device.type, dtype=self.amp_dtype):
                    out = self.forward(x)
                    loss = self.loss_fn(out.float(), loss_target(self.loss_kind, y))
            if self.faults.nan_now:
                loss = loss * float("nan")
            total = loss + penalty(self.model, l1, l2) if (l1 or l2) else loss
            if self.dist is not None:  # this rank's share of the global batch (DDP averages over ranks)
                total, out, y = self.dist.weigh(loss, total, out, y)
            self.optimizer.zero_grad(set_to_none=True)
            if scaled:  # fp16: the loss scaler guards against underflow
                self.scaler.scale(total).backward()
                if clip:
                    self.scaler.unscale_(self.optimizer)
                    nn.utils.clip_grad_norm_(self.model.parameters(), clip)
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                total.backward()
                if clip:
                    nn.utils.clip_grad_norm_(self.model.parameters(), clip)
                self.optimizer.step()
            if per_step:
                self.schedule.after_step()
            row = self.epoch_meter.add(out, y, loss)
            window.add_row(row, y.shape[0])
            self._seen += y.shape[0]
            self.progress.step += 1
            self.progress.batch = i + 1
            if self.dist is not None:
                if self.progress.step >= self.dist.next_sync:
                    window_t = self._sync_ranks(epoch, i + 1, window, window_t)
                continue
            now = self._clock()
            if now - window_t >= REPORT_EVERY_S or self._first_report:  # the first step shows at once
                self._first_report = False
                metrics = window.read()
                if not math.isfinite(metrics.get("loss", 0.0)):
                    raise Diverged(f"the loss became {metrics['loss']} at step {self.progress.step}")
                self.emit(E.STEP, epoch=epoch, step=self.progress.step, epoch_step=i + 1,
                          lr=self.schedule.lr(), **self._rate(now, self._seen), **metrics)
                window.reset()
                window_t = now
                self._boundary()
            if now - self._last_control >= CONTROL_EVERY_S:  # kept across epochs: short ones add up
                self._last_control = now
                self._poll_control()
                if self._checkpoint_now:
                    self._save("last", "requested")
                self._wait_while_paused()
            if self.faults.stop_now:
                self.faults.stop_now = False
                self.request_stop("SIGTERM received (injected)")
            if self._stop.is_set():
                raise StopRun(self._stop_reason)
        # the window of the last steps is reported by the epoch event

    def _sync_ranks(self, epoch: int, epoch_step: int, window: Meter, window_t: float) -> float:
        """A data-parallel run's sync, every few steps (rank 0 sets the pace, about
        REPORT_EVERY_S apart): one collective sums the step window over the ranks and
        carries rank 0's control state, so every rank reports, checkpoints, pauses and
        stops at the same step. Returns the new window start."""
        if self.is_main:
            self._poll_control()
        if self.faults.stop_now:
            self.faults.stop_now = False
            self.request_stop("SIGTERM received (injected)")
        ctl = self.dist.exchange(window, step=self.progress.step, every_s=REPORT_EVERY_S, stop=self._stop.is_set(),
                                 checkpoint=self._checkpoint_now, paused=self.paused)
        now = self._clock()
        metrics = window.read()
        if not math.isfinite(metrics.get("loss", 0.0)):
            raise Diverged(f"the loss became {metrics['loss']} at step {self.progress.step}")
        self._seen_all += window.n  # the window's samples on every rank
        self.emit(E.STEP, epoch=epoch, step=self.progress.step, epoch_step=epoch_step, lr=self.schedule.lr(),
                  **self._rate(now, self._seen_all), **metrics)
        window.reset()
        self._boundary()
        paused_at = time.monotonic()
        while True:
            if ctl.checkpoint:
                self._save("last", "requested")
            if ctl.stop or not ctl.paused:
                break
            time.sleep(0.1)  # paused: keep syncing a few times a second, so no collective times out
            if self.is_main:
                self._poll_control()
            ctl = self.dist.exchange(None, step=self.progress.step, every_s=REPORT_EVERY_S,
                                     stop=self._stop.is_set(), checkpoint=self._checkpoint_now, paused=self.paused)
        self._paused_s += time.monotonic() - paused_at
        if ctl.stop:
            if not self._stop.is_set():
                self.request_stop("stop requested on another rank")
            raise StopRun(self._stop_reason)
        return self._clock()

    def _rate(self, now: float, seen: int) -> dict:
        """``samples_per_s`` for a step event: over the last RATE_WINDOW_S seconds of
        training. The session's first step only starts the window (its time holds one-off
        costs), so its event has none."""
        rate = self.rate.add(now, seen)
        return {} if rate is None else {"samples_per_s": round(rate, 1)}

    def _fit(self) -> str:
        p = self.preset
        es = p.train.early_stopping
        epochs = p.train.epochs
        while self.progress.epoch < epochs:
            epoch = self.progress.epoch + 1
            t0 = self._clock()
            if self.progress.batch == 0:
                self.epoch_gen_state = self.shuffle_gen.get_state()
                # advance the run's generator once per epoch, independent of batching
                torch.randperm(8, generator=self.shuffle_gen)
                self.epoch_meter.reset()
            done_before = self.progress.batch
            self._train_epoch(epoch)
            if self.dist is not None:
                self.dist.reduce_meter(self.epoch_meter)  # the epoch's sums over every rank
            train = self.epoch_meter.read()
            if not math.isfinite(train.get("loss", 0.0)):
                raise Diverged(f"the loss became {train['loss']} in epoch {epoch}")
            val = self.evaluate(self.data.val)[0] if self.data.val is not None else None
            seconds = self._clock() - t0
            trained = (self.progress.batch - done_before) * p.data.batch_size
            trained = min(trained, len(self.data.train))
            self.progress.epoch = epoch
            self.progress.batch = 0
            watch = {"val_loss": (val or {}).get("loss"), "val_acc": (val or {}).get("acc"),
                     "val_mae": (val or {}).get("mae"), "train_loss": train.get("loss")}[self.monitor]
            lr_before = self.schedule.lr()
            self.schedule.after_epoch(epoch, (val or train).get("loss"))
            if self.schedule.plateau is not None and self.schedule.lr() < lr_before - 1e-15:
                self.note("lr_drop", f"validation loss plateaued: learning rate {lr_before:.3g} → "
                          f"{self.schedule.lr():.3g}")
            best = watch is not None and self._improved(watch)
            if best:
                self.progress.best_value, self.progress.best_epoch, self.progress.bad_epochs = watch, epoch, 0
            else:
                self.progress.bad_epochs += 1
            self.emit(E.EPOCH, epoch=epoch, step=self.progress.step, train=train, val=val, lr=lr_before,
                      samples_per_s=round(trained / max(seconds, 1e-9), 1), duration=round(seconds, 4), best=best)
            self._boundary(force=epoch == epochs)
            stopping = es.enabled and self.progress.bad_epochs >= es.patience
            self._epoch_checkpoints(epoch, best, final=epoch == epochs or stopping)
            if stopping:
                self.note("early_stop", f"early stopping: {self.monitor} did not improve for {es.patience} epochs "
                          f"(best {self.progress.best_value:.4g} at epoch {self.progress.best_epoch})",
                          epoch=epoch)
                return "early_stop"
        return "done"

    def _best_dict(self) -> dict | None:
        if self.progress.best_value is None:
            return None
        return {"epoch": self.progress.best_epoch, "monitor": self.monitor, "value": self.progress.best_value}

    def run(self) -> str:
        """Train to the end. Returns the final status. Raises ConfigError for bad input
        found before training starts (nothing is written to the run then but a status)."""
        started = time.time()
        self._session_t0 = self._clock()
        if self.resume:
            self._trained_before = self._earlier_sessions()
        old_handlers = {}
        if self.handle_signals and threading.current_thread() is threading.main_thread():
            # SIGHUP: the terminal of a `tuidl train` run without nohup closed; stop cleanly
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                old_handlers[sig] = signal.signal(sig, self._on_signal)
        try:
            try:
                self._setup()
                if self.resume:
                    self._restore()
            except ConfigError as e:
                self.run_dir.write_status(status="failed", message=str(e), ended=time.time())
                raise
            self.writer = E.EventWriter(self.run_dir.events_path) if self.is_main else None
            try:
                return self._run_started(started)
            finally:
                if self.telemetry_thread is not None:
                    self.telemetry_thread.stop()
                if self.writer_thread is not None:
                    self.writer_thread.close()
                if self.writer is not None:
                    self.writer.close()
        finally:
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
            if self.dist is not None:
                self.dist.close()

    def _start_telemetry(self):
        try:
            from .telemetry import TelemetryThread
        except ImportError:
            return None
        device = self.device

        def emit(payload: dict) -> None:
            self.emit(E.TELEMETRY, **payload)

        thread = TelemetryThread(emit, device=device)
        thread.start()
        return thread

    def _run_started(self, started: float) -> str:
        p = self.preset
        desc = self.data.describe()
        # under torchrun the status names its agent: the process whose end is the run's end
        pid = os.getpid() if self.dist is None else os.getppid()
        self.run_dir.write_status(status="running", pid=pid, host=socket.gethostname(),
                                  started=self.run_dir.read_status().get("started", started),
                                  epochs=p.train.epochs, epoch=self.progress.epoch, preset=p.name, message="",
                                  trained_s=round(self.trained_seconds(), 3))
        metrics = ["loss"] + (["acc"] + (["top5"] if self.top5 else []) if self.task == "classification" else ["mae"])
        self.emit(E.RUN_STARTED, sync=True, schema=E.SCHEMA_VERSION, run_id=self.run_dir.id, preset=p.name,
                  resumed_from=self.progress.epoch, epochs=p.train.epochs, steps_per_epoch=self.steps_per_epoch,
                  batch_size=p.data.batch_size, task=self.task, loss=self.loss_kind, metrics=metrics,
                  summary=self.resolved.summary.to_dict(), data=desc, device=str(self.device),
                  device_name=device_name(self.device), precision=self.precision, pid=os.getpid(),
                  host=socket.gethostname(), world_size=1 if self.dist is None else self.dist.world_size,
                  torch_cuda=torch.version.cuda is not None)
        if self.telemetry and self.is_main:
            self.telemetry_thread = self._start_telemetry()
        for message in getattr(self.data, "notes", []):
            self.note("data", message)
        if self.progress.epoch == 0 and self.progress.step == 0 and not self.run_dir.checkpoint("last").exists():
            self._save("last", "start")
        status, message = "completed", ""
        try:
            outcome = self._fit()
            message = f"trained {self.progress.epoch} epochs"
            if outcome == "early_stop":
                message = f"stopped early after {self.progress.epoch} epochs"
        except StopRun as e:
            status, message = "stopped", f"{e}; stopped at epoch {self.progress.epoch + 1}, " \
                                         f"batch {self.progress.batch}"
            self._save("last", "stop")
        except Diverged as e:
            status, message = "diverged", f"{e}; the last good checkpoint is kept"
            self.note("divergence", message, level="error")
        except InjectedFault as e:
            status, message = "failed", str(e)
            self._failure_checkpoint()
        except torch.cuda.OutOfMemoryError as e:
            status = "failed"
            message = (f"out of GPU memory with batch size {p.data.batch_size}: try a smaller batch size, e.g. "
                       f"--set data.batch_size={max(1, p.data.batch_size // 2)} ({str(e).splitlines()[0]})")
            self.note("oom", message, level="error")
        except Exception as e:  # noqa: BLE001 - a run ends with a truthful status, whatever happened
            lost = self.dist.lost_contact(e) if self.dist is not None else None
            if lost and (self.dist.supervised or not self.is_main):
                raise PeerLost(lost) from None  # another rank is gone: the supervisor ends the run, naming it
            status, message = "failed", lost or f"{type(e).__name__}: {e}"
            self.note("error", message, level="error")
            self._failure_checkpoint()
        test = None
        if status == "completed":
            es = p.train.early_stopping
            if es.enabled and es.restore_best and self.best_state is not None \
                    and self.progress.best_epoch != self.progress.epoch:
                self.model.load_state_dict(self.best_state)
                self.note("restore_best", f"restored the weights of epoch {self.progress.best_epoch}")
            test = self._test() if self.is_main else None
        if self.dist is not None and status == "failed":
            message = self.dist.failed(message)
        self.status = status
        if self._best_pending:  # the best weights are good whatever ended the run
            self._save("best", "end")
        self._flush_checkpoints()
        duration = round(self.trained_seconds(), 3)
        self.emit(E.RUN_ENDED, sync=True, status=status, message=message, epochs_completed=self.progress.epoch,
                  best=self._best_dict(), test=test, duration=duration)
        self.run_dir.write_status(status=status, message=message, ended=time.time(), epoch=self.progress.epoch,
                                  best=self._best_dict(), test=test, trained_s=duration)
        return status

    def _earlier_sessions(self) -> float:
        """Training time of a resumed run before this session: the status file's
        ``trained_s``, or for a run from before it was kept, its sessions' durations."""
        try:
            return max(0.0, float(self.run_dir.read_status()["trained_s"]))
        except (KeyError, TypeError, ValueError):
            pass
        try:
            return sum(float(ev.get("duration") or 0) for ev in E.read_events(self.run_dir.events_path)
                       if ev.get("type") == E.RUN_ENDED)
        except (OSError, TypeError, ValueError):
            return 0.0

    def _failure_checkpoint(self) -> None:
        """After an error mid-epoch the in-memory weights may be half-updated: keep the
        last epoch checkpoint as it is instead of overwriting it."""
        self.note("checkpoint_kept", f"kept the checkpoint of epoch {self.progress.epoch}")

