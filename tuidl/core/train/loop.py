"""The training loop, top to bottom: set-up, fit (the epochs), one epoch, evaluate, and
the run's start and end.

``Trainer(preset, run).run()`` trains a resolved preset (a run's ``preset.toml``: it is
not resolved again, its summary and loss come from the loaded data), writing everything it does into
the run directory's event stream (``docs/events.md``), checkpoints and status file.
Listeners (the console printer of ``tuidl train``) get the same events. The loop owns
the run's training state (``self.state``, a ``tuidl.core.train.state.TrainState``:
model, optimizer, schedule, progress, best weights) and hands it, not itself, to the
parts that read or save it. Beside it in this package: the step (``steps``), checkpoints, run control (signals, control folder,
pause), reporting (step and epoch events), visuals (decision boundary, test samples).
The learning lab's one-off instruments (``tuidl.core.lab.live.RunLab``: loss landscape,
adversarial test) run at the step after the control folder asked, and at the end.

Metrics never force a host–device sync per step: losses and correct counts are summed
on the device and read (one ``.item()``) only when a ``step`` event is due, a few
times a second.

Started by ``torchrun``, the same trainer is one rank of a data-parallel run
(``self.dist``, see ``tuidl.core.system.distributed``): DDP trains, each rank reads its share of
every global batch, and the ranks sync a few times a second (``Dist.sync``) to sum the
report window and follow rank 0's control; rank 0 alone writes the run directory.
Without torchrun ``self.dist`` is None and none of that runs.
"""

from __future__ import annotations

import math
import os
import socket
import time
from typing import Any, Callable

import torch

from tuidl.core.run import events as E
from tuidl.core.preset import preset as P
from tuidl.core.preset import reference
from tuidl.core.system.distributed import Dist, PeerLost
from tuidl.core.train.faults import Faults
from tuidl.core.lab.live import RunLab
from tuidl.core.model.model import build
from tuidl.core.run.rundir import RunDir
from tuidl.core.preset.schema import ConfigError
from tuidl.core.train.checkpoints import Checkpoints
from tuidl.core.train.control import Control, StopRun
from tuidl.core.train.custom import custom_model
from tuidl.core.train.live import LiveInstruments
from tuidl.core.train import objective
from tuidl.core.train.meter import Meter
from tuidl.core.train.monitor import Monitor
from tuidl.core.train.optim import Schedule, make_optimizer
from tuidl.core.train.reporting import Diverged, Report, check_finite
from tuidl.core.train.runtime import device_name, pick_device, seed_everything, telemetry
from tuidl.core.train.state import Subject, TrainState
from tuidl.core.train.steps import loss_target, make_loss, make_step
from tuidl.core.train.visuals import Boundary, test_results

EVAL_BATCH_BYTES = 16 << 20  # input bytes per evaluation batch
STATUS_EVERY_S = 1.0  # the status file is rewritten at most this often during a run

Listener = Callable[[dict], None]


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
        self.faults = Faults.from_env()
        self.control = Control(self.run_dir, self.emit)
        self.status = "starting"

    def emit(self, type_: str, /, sync: bool = False, **fields: Any) -> dict:
        ev = E.event(type_, **fields)
        if self.writer is not None:
            self.writer.write(ev, sync=sync)
        for listener in self.listeners:
            listener(ev)
        return ev

    def note(self, kind: str, message: str, level: str = "info", **extra: Any) -> None:
        self.emit(E.NOTE, level=level, kind=kind, message=message, **extra)

    def request_stop(self, reason: str = "stop requested") -> None:
        self.control.request_stop(reason)

    # -- set-up -------------------------------------------------------------------------
    def _setup(self) -> None:
        from tuidl.core.data import data as D

        p = self.preset
        if self.dist is None:
            self.device = pick_device(self.device_request)
        else:  # this rank's GPU (NCCL) or the CPU (gloo); every rank checks it trains the same preset
            self.device = self.dist.start(self.device_request, p, self.resume)
        seed_everything(p.seed, p.train.deterministic, self.device)
        self.data = objective.wrap(D.load(p, self.device), p.train)  # a self-supervised split: input = target
        info = self.data.info
        # the preset was resolved before its run was made (launch, tuidl train): its summary and loss from the data
        self.resolved = P.with_data(p, info)
        self.task, self.loss_kind = P.task_of(p, info), self.resolved.loss
        self.top5 = self.task == "classification" and info.num_classes > 5
        if p.model.custom:
            model = custom_model(p.model.custom, self.allow_code, info, self.resolved).to(self.device)
        else:
            model = build(p.model.layers, info.input_shape).to(self.device)
        self.channels_last = p.train.channels_last and self.device.type == "cuda" and len(info.input_shape) == 3
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model  # the state's model (the same module for the whole run; its weights change)
        self.eval_forward = torch.compile(model) if p.train.compile else model
        forward = self.eval_forward
        if self.dist is not None:  # DDP averages the gradients; each rank reads its share of the data
            forward = self.dist.wrap(model, p.train.compile)
            self.data.train = self.dist.shard(self.data.train, per_batch=True)
            self.data.val = self.dist.shard(self.data.val, per_batch=False)
        self.loss_fn = make_loss(self.loss_kind, p.train.label_smoothing)
        self.subject = Subject(self.data, self.task, self.loss_kind, self.loss_fn, p.seed)
        optimizer = make_optimizer(p.train.optimizer, model.parameters())
        self.steps_per_epoch = self.data.train.num_batches(p.data.batch_size)
        schedule = Schedule(optimizer, p.train.schedule, p.train.optimizer.lr, p.train.epochs, self.steps_per_epoch)
        self.precision = p.train.precision if self.device.type == "cuda" else "fp32"
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.state = st = TrainState(model, optimizer, schedule, scaler, epoch_meter=self._meter(train=True),
                                     shuffle=torch.Generator().manual_seed(p.seed + 1))
        self.step = make_step(  # the training step, put together once (core/train/steps.py)
            model=model, forward=forward, loss_fn=self.loss_fn, loss_kind=self.loss_kind,
            optimizer=optimizer, scaler=scaler, amp_dtype=self.amp_dtype, device_type=self.device.type,
            channels_last=self.channels_last, clip=p.train.grad_clip, l1=p.train.l1, l2=p.train.l2,
            after_step=schedule.after_step if schedule.per_step else None,
            weigh=None if self.dist is None else self.dist.weigh,
            # fault injection ($TUIDL_FAULT): wraps the forward pass only when a step fault is set
            hook=lambda forward_loss: self.faults.hook_step(forward_loss, lambda: st.progress.step + 1,
                                                            self.control.request_stop))
        # after each step: report and obey control (one process), or sync the ranks now and then
        self.after_step = self._after_step if self.dist is None else self._after_step_ranks
        self.monitor = Monitor(p.train.early_stopping, has_val=self.data.val is not None)
        self.report = Report(self.emit, self._meter(train=True))
        self.checkpoints = Checkpoints(st, self.run_dir, self.emit, dist=self.dist, device=self.device,
                                       every=p.train.checkpoint_every, before_write=self.faults.before_write)
        self.status_at = -math.inf  # when the status file was last rewritten at an epoch's end
        self.control.on_checkpoint = self._checkpoint_requested
        self.boundary = Boundary(self.data, p.data.params, p.seed, self.task, self.loss_kind,
                                 self._predict, self.emit, self.device, enabled=self.is_main)
        # layer health, the neuron view (core/train/live.py); the landscape and adversarial tests (core/lab/live.py)
        self.instruments = LiveInstruments(st, self.subject, p, self.resolved.summary.rows,
                                           watching=self.control.watching, emit=self.emit, note=self.note,
                                           device=self.device, distributed=self.dist is not None,
                                           neurons=self.boundary.enabled)
        self.lab = RunLab(st, self.subject, self.control, self.emit, p.train.instruments)

    def _meter(self, train: bool = False) -> Meter:
        """Training windows report loss and accuracy; top-5 is measured on evaluation."""
        return Meter(self.task, self.loss_kind, self.top5 and not train, self.device)

    # -- fit: the epochs ----------------------------------------------------------------
    def _fit(self) -> str:
        p, st = self.preset, self.state
        epochs = p.train.epochs
        while st.progress.epoch < epochs:
            epoch = st.progress.epoch + 1
            t0 = self.control.clock()
            if st.progress.batch == 0:  # a new epoch (not one resumed in the middle)
                st.epoch_shuffle = st.shuffle.get_state()
                torch.randperm(8, generator=st.shuffle)  # advance the run's generator once per epoch
                st.epoch_meter.reset()
            done_before = st.progress.batch
            self._train_epoch(epoch)
            if self.dist is not None:
                self.dist.reduce_meter(st.epoch_meter)  # the epoch's sums over every rank
            train = st.epoch_meter.read()
            check_finite(train, f"in epoch {epoch}")
            val = self.evaluate(self.data.val)[0] if self.data.val is not None else None
            seconds = self.control.clock() - t0
            trained = min((st.progress.batch - done_before) * p.data.batch_size, len(self.data.train))
            st.progress.epoch, st.progress.batch = epoch, 0
            lr = st.schedule.lr()
            st.schedule.after_epoch(epoch, (val or train).get("loss"))
            if st.schedule.plateau is not None and st.schedule.lr() < lr - 1e-15:
                self.note("lr_drop", f"validation loss plateaued: learning rate {lr:.3g} → {st.schedule.lr():.3g}")
            best = self.monitor.update(st.progress, epoch, train, val)
            self.report.epoch(epoch=epoch, step=st.progress.step, train=train, val=val, lr=lr, samples=trained,
                              seconds=seconds, best=best)
            self.boundary(st.progress.epoch, force=epoch == epochs)
            self.instruments.epoch_end(self.control.clock(), final=epoch == epochs)
            stopping = self.monitor.stopping(st.progress)
            final = epoch == epochs or stopping
            self.checkpoints.epoch_end(epoch, best, final=final)
            self._epoch_status(epoch, final)
            if stopping:
                self.note("early_stop", f"early stopping: {self.monitor.name} did not improve for "
                          f"{p.train.early_stopping.patience} epochs (best {st.progress.best_value:.4g} at epoch "
                          f"{st.progress.best_epoch})", epoch=epoch)
                return "early_stop"
        return "done"

    def _epoch_status(self, epoch: int, final: bool) -> None:
        """The status file at an epoch's end, rewritten at most every STATUS_EVERY_S
        (durably at the end)."""
        now = time.monotonic()
        if final or now - self.status_at >= STATUS_EVERY_S:
            self.status_at = now
            self.run_dir.write_status(durable=final, epoch=epoch, best=self.monitor.best(self.state.progress),
                                      trained_s=round(self.control.trained_seconds(), 3))

    # -- one epoch ----------------------------------------------------------------------
    def _train_epoch(self, epoch: int) -> None:
        gen = torch.Generator().manual_seed(0)
        gen.set_state(self.state.epoch_shuffle)  # the epoch's shuffle: the same again when resumed mid-epoch
        skip = self.state.progress.batch
        progress, meter, report = self.state.progress, self.state.epoch_meter, self.report
        report.start_epoch(self.control.clock())
        self.model.train()
        for i, (x, y) in enumerate(self.data.train.batches(self.preset.data.batch_size, shuffle=True, generator=gen)):
            if i < skip:
                continue
            out, loss, y = self.step(x, y)
            report.add(meter.add(out, y, loss), y.shape[0])
            progress.step += 1
            progress.batch = i + 1
            self.after_step(epoch, i + 1)
        # the window of the last steps is reported by the epoch event

    def _after_step(self, epoch: int, epoch_step: int) -> None:
        """One process, after each step: a step event when due (and the boundary), then
        the control folder (pause, checkpoint, stop) a few times a second."""
        now = self.control.clock()
        if self.instruments.armed:  # this step was measured (layer health)
            self.instruments.measure(now, epoch)
        st = self.state
        if self.report.due(now):
            self.report.step(now, epoch=epoch, step=st.progress.step, epoch_step=epoch_step, lr=st.schedule.lr())
            self.boundary(st.progress.epoch)
            self.instruments.tick(now)
        self.control.tick(now)
        if self.control.requests:  # the lab's one-off instruments (landscape, adversarial): computed now
            self.lab.answer_requests()

    def _after_step_ranks(self, epoch: int, epoch_step: int) -> None:
        """A rank of a data-parallel run, after each step: at the step rank 0 set, sync the
        ranks (sum and report the window, follow rank 0's control)."""
        st = self.state
        if st.progress.step >= self.dist.next_sync:
            self.dist.sync(self.report, self.control, epoch=epoch, step=st.progress.step, epoch_step=epoch_step,
                           lr=st.schedule.lr(), boundary=lambda: self.boundary(st.progress.epoch),
                           checkpoint=self._checkpoint_requested)

    def _checkpoint_requested(self) -> None:
        self.control.checkpoint_now = False
        self.checkpoints.save("last", "requested")

    # -- evaluate -----------------------------------------------------------------------
    def _out(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            return self.eval_forward(x)

    @torch.no_grad()
    def _predict(self, x: torch.Tensor) -> torch.Tensor:
        self.model.eval()
        out = self._out(x)
        self.model.train()
        return out

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

    def _test(self) -> dict | None:
        part = self.data.test
        if part is None or len(part) == 0:
            return None
        metrics, out = self.evaluate(part, collect=True)
        fields = test_results(part, out, metrics, self.task, self.loss_kind, self.data.info.num_classes)
        if self.preset.train.objective != "supervised":  # its samples are the reconstructions events'
            fields["samples"] = []
        self.emit(E.TEST, **fields)
        return metrics

    # -- the run ------------------------------------------------------------------------
    def run(self) -> str:
        """Train to the end. Returns the final status. Raises ConfigError for bad input
        found before training starts (nothing is written to the run then but a status)."""
        started = time.time()
        self.control.start_session(self.resume)
        try:
            with self.control.signals(self.handle_signals):
                try:
                    self._setup()
                    if self.resume:
                        self.checkpoints.restore()
                except ConfigError as e:
                    self.run_dir.write_status(status="failed", message=str(e), ended=time.time())
                    raise
                self.writer = E.EventWriter(self.run_dir.events_path) if self.is_main else None
                try:
                    self._start(started)
                    with telemetry(self.emit, self.device, enabled=self.telemetry and self.is_main):
                        status, message = self._train()
                        return self._end(status, message)
                finally:
                    self.checkpoints.close()
                    if self.writer is not None:
                        self.writer.close()
        finally:
            if self.dist is not None:
                self.dist.close()

    def _start(self, started: float) -> None:
        """The status file and the ``run_started`` event."""
        p = self.preset
        # under torchrun the status names its agent: the process whose end is the run's end
        pid = os.getpid() if self.dist is None else os.getppid()
        # a sweep's trial carries its sweep id, trial number and parameters (docs/sweeps.md)
        sweep = self.run_dir.read_status().get("sweep")
        self.run_dir.write_status(status="running", pid=pid, host=socket.gethostname(),
                                  started=self.run_dir.read_status().get("started", started),
                                  epochs=p.train.epochs, epoch=self.state.progress.epoch, preset=p.name, message="",
                                  trained_s=round(self.control.trained_seconds(), 3))
        metrics = ["loss"] + (["acc"] + (["top5"] if self.top5 else []) if self.task == "classification" else ["mae"])
        self.emit(E.RUN_STARTED, sync=True, schema=E.SCHEMA_VERSION, run_id=self.run_dir.id, preset=p.name,
                  resumed_from=self.state.progress.epoch, epochs=p.train.epochs, steps_per_epoch=self.steps_per_epoch,
                  batch_size=p.data.batch_size, task=self.task, loss=self.loss_kind, metrics=metrics,
                  summary=self.resolved.summary.to_dict(), data=self.data.describe(), device=str(self.device),
                  objective=p.train.objective,
                  device_name=device_name(self.device), precision=self.precision, pid=os.getpid(),
                  host=socket.gethostname(), world_size=1 if self.dist is None else self.dist.world_size,
                  torch_cuda=torch.version.cuda is not None, **({"sweep": sweep} if sweep else {}),
                  **({"reference": ref} if (ref := reference.for_preset(p)) else {}))

    def _train(self) -> tuple[str, str]:
        """The data's notes and the start checkpoint, then fit, and say truthfully how it
        ended: ``(status, message)``."""
        p, progress = self.preset, self.state.progress
        for message in getattr(self.data, "notes", []):
            self.note("data", message)
        if progress.epoch == 0 and progress.step == 0 and not self.run_dir.checkpoint("last").exists():
            self.checkpoints.save("last", "start")
        try:
            outcome = self._fit()
        except StopRun as e:
            pruned = self.control.pruned and self.dist is None
            self.checkpoints.save("last", "prune" if pruned else "stop")
            return "pruned" if pruned else "stopped", \
                f"{e}; stopped at epoch {progress.epoch + 1}, batch {progress.batch}"
        except Diverged as e:
            message = f"{e}; the last good checkpoint is kept"
            self.note("divergence", message, level="error")
            return "diverged", message
        except torch.cuda.OutOfMemoryError as e:
            message = (f"out of GPU memory with batch size {p.data.batch_size}: try a smaller batch size, e.g. "
                       f"--set data.batch_size={max(1, p.data.batch_size // 2)} ({str(e).splitlines()[0]})")
            self.note("oom", message, level="error")
            return "failed", message
        except Exception as e:  # noqa: BLE001 - a run ends with a truthful status, whatever happened (an injected fault too)
            lost = self.dist.lost_contact(e) if self.dist is not None else None
            if lost and (self.dist.supervised or not self.is_main):
                raise PeerLost(lost) from None  # another rank is gone: the supervisor ends the run, naming it
            message = lost or f"{type(e).__name__}: {e}"
            self.note("error", message, level="error")
            # the weights in memory may be half-updated: the last checkpoint is kept, not overwritten
            self.note("checkpoint_kept", self.checkpoints.kept_note())
            return "failed", message
        if outcome == "early_stop":
            return "completed", f"stopped early after {progress.epoch} epochs"
        return "completed", f"trained {progress.epoch} epochs"

    def _end(self, status: str, message: str) -> str:
        """The best weights back (early stopping), the test, the last files, ``run_ended``."""
        test, st = None, self.state
        progress = st.progress
        if status == "completed":
            es = self.preset.train.early_stopping
            if es.enabled and es.restore_best and st.best is not None and progress.best_epoch != progress.epoch:
                st.model.load_state_dict(st.best)
                self.note("restore_best", f"restored the weights of epoch {progress.best_epoch}")
            test = self._test() if self.is_main else None
            if self.is_main:
                self.lab.at_end()  # the adversarial test, when the preset turns it on
        if self.dist is not None and status == "failed":
            message = self.dist.failed(message)
        self.status = status
        if self.checkpoints.best_pending:  # the best weights are good whatever ended the run
            self.checkpoints.save("best", "end")
        self.checkpoints.flush()
        duration = round(self.control.trained_seconds(), 3)
        self.emit(E.RUN_ENDED, sync=True, status=status, message=message, epochs_completed=progress.epoch,
                  best=self.monitor.best(progress), test=test, duration=duration)
        self.run_dir.write_status(status=status, message=message, ended=time.time(), epoch=progress.epoch,
                                  best=self.monitor.best(progress), test=test, trained_s=duration)
        return status
