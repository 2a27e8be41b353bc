"""Data-parallel training with PyTorch's own machinery: ``torch.distributed`` and
``DistributedDataParallel``, launched by ``torchrun`` (``torch.distributed.run``).

Two halves live here.

**In each rank.** torchrun starts ``python -m tuidl.core.train.trainer RUN_DIR`` once per process
with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``... in the environment; the ``Trainer``
(``tuidl.core.train``) sees them (:meth:`Dist.from_env`) and becomes one rank of the run:

* the backend is NCCL on CUDA (one GPU per process: ``cuda:LOCAL_RANK``), gloo on the CPU;
  ``init_process_group`` has a timeout (``$TUIDL_DIST_TIMEOUT`` seconds, default 600), so
  a rank that hangs cannot hold the others forever;
* every rank checks it was given the same preset (and the same ``--resume``) as rank 0;
* ``data.batch_size`` is the global batch: every rank draws the same permutation from the
  same seeded generator and takes its slice of each global batch (:class:`Shard`), so the
  ranks together see exactly the batches one process would. DDP averages gradients over
  ranks; each rank's loss is weighed by its share of the batch (:meth:`Dist.weigh`), so an
  uneven last batch gives the same gradient as in one process;
* metric sums stay on the device and are summed over ranks (``all_reduce``) only when a
  ``step`` event is due (a few times a second; rank 0 sets the pace) and at epoch end.
  The same collective carries rank 0's control state (pause, checkpoint, stop; a stop
  from any rank counts), so all ranks report, pause, checkpoint and stop at the same step
  (:meth:`Dist.sync`, with the trainer's own report window and run control, the ones a
  single process uses);
* validation is sharded (each rank evaluates a contiguous part) and summed; the test runs
  on rank 0 alone;
* rank 0 writes the run directory (events, status, checkpoints: the bare model's
  ``state_dict``, so a checkpoint is the same as a single process's and resumes on any
  number of ranks); the other ranks write nothing there but their own ``rank{N}.err``.
  On resume rank 0 reads the checkpoint and sends it to the others.

**The supervisor.** :func:`launch` runs torchrun's launcher in this process (so this
process is the torchrun agent: the pid in the status file, and the one that forwards
SIGTERM / SIGINT to the ranks, which then checkpoint and stop) and, when it returns,
makes sure the run ended truthfully: if a rank died and rank 0 could not end the run, it
writes ``run_ended`` and the status ``failed`` with a message naming the rank. A rank that
loses contact with another (its collective fails) exits with :data:`PEER_LOST` and leaves
the verdict to the supervisor. ``python -m tuidl.core.system.distributed RUN_DIR --nproc N`` is
the supervisor as a process (what ``tuidl.core.run.launch.start(..., nproc=N)`` starts);
``tuidl train PRESET --nproc N`` / ``--gpus N`` runs it in the command itself.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

from tuidl.core.run import events as E
from tuidl.core.run.rundir import RunDir
from tuidl.core.preset.schema import ConfigError, Problem

if TYPE_CHECKING:
    import torch

# torch is imported where it is used: the dashboard imports this module (through
# tuidl.core.run.launch) to start runs and must not wait for torch.

PEER_LOST = 3  # exit code of a rank whose collective failed: another rank is gone
SUPERVISED_ENV = "TUIDL_SUPERVISED"  # set by launch(): the supervisor ends runs that rank 0 could not
TIMEOUT_ENV = "TUIDL_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 600.0
MAX_PACE = 10_000  # at most this many steps between two syncs
_COMM_WORDS = ("gloo", "nccl", "connection reset", "connection closed", "broken pipe", "socket", "timed out",
               "timeout", "processgroup", "c10d")


class PeerLost(RuntimeError):
    """A collective failed: another rank died, hung or was stopped."""


def in_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def main_process() -> bool:
    """Not under torchrun, or its rank 0: the process that writes the run directory."""
    return os.environ.get("RANK", "0") in ("", "0")


def supervised() -> bool:
    return os.environ.get(SUPERVISED_ENV) == "1"


def _first_line(e: BaseException, limit: int = 240) -> str:
    """One line for people: gloo's and NCCL's source locations (``[.../pair.cc:561] ``)
    and their advice after the first sentence are left out."""
    text = str(e).strip()
    line = text.splitlines()[0] if text else type(e).__name__
    line = re.sub(r"^\[[^\]]*\.(?:cc|cpp|h|hpp):\d+\]\s*", "", line)
    line = line.split(". This is typically", 1)[0]
    return line if len(line) <= limit else line[:limit - 1] + "…"


class QuietRun(RunDir):
    """The run directory as ranks other than 0 see it: they read the preset (and rank 0
    the checkpoint) but write nothing there."""

    def write_status(self, **fields: Any) -> dict[str, Any]:
        return self.read_status()

    def take_commands(self) -> list[str]:
        return []


# ---------------------------------------------------------------------------
# Each rank's share of the data

def _bounds(n: int, rank: int, world: int) -> tuple[int, int]:
    """Rank ``rank``'s contiguous part of ``n`` items split over ``world`` ranks (the first
    ``n % world`` ranks get one more, so rank 0 gets one whenever there is one)."""
    q, r = divmod(n, world)
    lo = rank * q + min(rank, r)
    return lo, lo + q + (1 if rank < r else 0)


class Shard:
    """One rank's view of a split (a ``data.Part`` or ``data.FolderPart``), with the same
    interface. For training (``per_batch``) each rank takes its slice of every global batch
    of the shuffled split; ``weight`` is the share of the batch just yielded, as a multiple
    of an even share (1.0, except in a smaller last batch; 0.0 when this rank has no sample
    in it: it then gets the batch's samples to run forward and backward with no weight, as
    DDP needs every rank in every step). For evaluation each rank takes a contiguous part
    of the split."""

    def __init__(self, part: Any, rank: int, world: int, per_batch: bool):
        self.part, self.rank, self.world, self.per_batch = part, rank, world, per_batch
        self.weight = 1.0

    def __len__(self) -> int:
        return len(self.part)

    @property
    def x(self) -> Any:
        return self.part.x

    @property
    def y(self) -> torch.Tensor:
        return self.part.y

    @property
    def device(self) -> torch.device:
        return self.part.device

    def num_batches(self, batch_size: int, drop_last: bool = False) -> int:
        return self.part.num_batches(batch_size, drop_last)

    def take(self, indices: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.part.take(indices)

    def batches(self, batch_size: int, shuffle: bool, generator: Optional[torch.Generator] = None,
                drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if not self.per_batch:
            yield from self._contiguous(batch_size)
            return
        import torch

        from tuidl.core.data.data import _permutation  # the very order data.Part.batches draws

        n = len(self.part)
        folder = hasattr(self.part, "index_batches")
        order = _permutation(n, generator) if shuffle else torch.arange(n)
        if not folder:
            order = order.to(self.part.x.device)
        stop = batch_size * (n // batch_size) if drop_last else n
        groups, weights = [], []
        for i in range(0, stop, batch_size):
            idx = order[i:i + batch_size]
            lo, hi = _bounds(len(idx), self.rank, self.world)
            groups.append(idx[lo:hi] if hi > lo else idx)
            weights.append((hi - lo) * self.world / len(idx))
        if folder:
            batches = self.part.index_batches([g.tolist() for g in groups])
        else:
            batches = ((self.part.x.index_select(0, g), self.part.y.index_select(0, g)) for g in groups)
        for weight, batch in zip(weights, batches):
            self.weight = weight
            yield batch

    def _contiguous(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        lo, hi = _bounds(len(self.part), self.rank, self.world)
        if hasattr(self.part, "index_batches"):
            yield from self.part.index_batches([list(range(a, min(a + batch_size, hi)))
                                                for a in range(lo, hi, batch_size)])
            return
        for a in range(lo, hi, batch_size):
            b = min(a + batch_size, hi)
            yield self.part.x[a:b], self.part.y[a:b]


# ---------------------------------------------------------------------------
# One rank

@dataclass
class Control:
    """Rank 0's control state after a sync (``stop``: any rank's)."""

    stop: bool = False
    checkpoint: bool = False
    paused: bool = False


def check_world(batch_size: int, world: int) -> None:
    """The global batch must split evenly over the processes."""
    if world > 1 and batch_size % world:
        near = batch_size - batch_size % world or world
        raise ConfigError([Problem("data.batch_size",
                                   f"{batch_size} does not split evenly over {world} processes (the batch "
                                   f"size is global); use a multiple of {world}, e.g. --set "
                                   f"data.batch_size={near}")])


@dataclass
class Dist:
    """This process's place in a data-parallel run, and the collectives the trainer uses."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    supervised: bool
    timeout_s: float
    device: Any = None  # torch.device, set by start()
    next_sync: int = 0  # the global step of the next sync (the same on every rank)
    broken: bool = False  # a collective failed: don't wait on the process group at exit
    _started: bool = False
    _sync_step: int = 0
    _sync_time: float = 0.0
    train: Optional[Shard] = None
    samples: int = 0  # samples trained in this session on every rank (summed at each sync)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Optional["Dist"]:
        """Under torchrun (``RANK`` and ``WORLD_SIZE`` set, even with one process): this
        rank. Otherwise ``None``: an ordinary single-process run."""
        if not in_torchrun():
            return None
        env = os.environ
        world = int(env["WORLD_SIZE"])
        try:
            timeout = float(env.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
        except ValueError:
            timeout = DEFAULT_TIMEOUT_S
        return cls(rank=int(env["RANK"]), world_size=world, local_rank=int(env.get("LOCAL_RANK", "0")),
                   local_world_size=int(env.get("LOCAL_WORLD_SIZE", str(world))),
                   supervised=env.get(SUPERVISED_ENV) == "1", timeout_s=max(timeout, 1.0))

    def prepare(self, run: RunDir) -> RunDir:
        """Called when the trainer is made: ranks other than 0 send their output to
        ``rank{N}.err`` and get a run directory view that writes nothing; every rank asks
        the kernel for SIGTERM should the torchrun agent die (Linux)."""
        _parent_death_signal()
        if self.main:
            return run
        try:
            fd = os.open(run.path / f"rank{self.rank}.err", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError:
            fd = -1
        if fd >= 0:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
        return QuietRun(run.path)

    # -- setup ----------------------------------------------------------------
    def start(self, request: str, preset: Any, resume: bool) -> torch.device:
        """Pick this rank's device, join the process group, and check that every rank
        trains the same preset the same way."""
        import torch.distributed as td

        from tuidl.core.preset import preset as P

        check_world(preset.data.batch_size, self.world_size)
        self.device = self._pick_device(request)
        backend = "nccl" if self.device.type == "cuda" else "gloo"
        try:
            td.init_process_group(backend, timeout=datetime.timedelta(seconds=self.timeout_s))
        except Exception as e:  # noqa: BLE001 - a rendezvous that fails is a lost peer
            self.broken = True
            raise PeerLost(f"could not join the other ranks ({backend}): {_first_line(e)}") from None
        self._started = True
        mine = (hashlib.sha256(P.dumps(preset).encode()).hexdigest()[:16], bool(resume))
        every: list[Any] = [None] * self.world_size
        self._collective(td.all_gather_object, every, mine)
        for r, theirs in enumerate(every):
            if theirs[0] != every[0][0]:
                raise ConfigError(f"rank {r} was given a different preset than rank 0; every machine must "
                                  "train the same preset (same file, --set overrides and flags)")
            if theirs[1] != every[0][1]:
                raise ConfigError(f"rank {r} {'resumes' if theirs[1] else 'starts afresh'}, rank 0 does not; "
                                  "give --resume on every machine or on none")
        return self.device

    def _pick_device(self, request: str) -> torch.device:
        import torch

        if request == "mps":
            raise ConfigError("train.device: data-parallel training runs on CUDA GPUs (NCCL) or on the CPU "
                              "(gloo), not on 'mps'")
        want_cuda = request.startswith("cuda") or (request == "auto" and torch.cuda.is_available())
        if not want_cuda:
            return torch.device("cpu")
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device: {request!r} requested, but no CUDA GPU is visible; use --device cpu")
        count = torch.cuda.device_count()
        if self.local_world_size > count:
            raise ConfigError(f"train.device: {self.local_world_size} processes on this machine need one GPU "
                              f"each, but {count} CUDA device(s) are visible; use --gpus {count} or --device cpu")
        torch.cuda.set_device(self.local_rank)
        return torch.device("cuda", self.local_rank)

    def wrap(self, model: torch.nn.Module, compile: bool) -> Any:
        """``model`` under DDP (which first copies rank 0's weights to every rank), for
        training; evaluation and checkpoints use the bare model."""
        import torch
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [self.device.index] if self.device.type == "cuda" else None
        try:
            ddp = DDP(model, device_ids=ids)
        except Exception as e:  # noqa: BLE001
            lost = self.lost_contact(e)
            if lost is None:
                raise
            raise PeerLost(lost) from None
        return torch.compile(ddp) if compile else ddp

    def shard(self, part: Any, per_batch: bool) -> Any:
        if part is None:
            return None
        shard = Shard(part, self.rank, self.world_size, per_batch)
        if per_batch:
            self.train = shard
        return shard

    @staticmethod
    def sharded(part: Any) -> bool:
        return isinstance(part, Shard)

    def load(self, path: os.PathLike, loader: Callable[[os.PathLike, str], dict]) -> dict:
        """Rank 0 reads the checkpoint and sends it to every rank (the others need no copy
        of the run directory); a refused checkpoint is refused on every rank."""
        import torch.distributed as td

        box: list[Any] = [None]
        if self.main:
            try:
                box[0] = ("ok", loader(path, "cpu"))
            except ConfigError as e:
                box[0] = ("error", str(e))
        self._collective(td.broadcast_object_list, box, 0)
        kind, value = box[0]
        if kind == "error":
            raise ConfigError(value)
        return value

    # -- during training --------------------------------------------------------
    def weigh(self, loss: torch.Tensor, total: torch.Tensor, out: torch.Tensor,
              y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``total`` (loss + penalties) with the loss weighed by this rank's share of the
        global batch, so DDP's average over ranks is the mean over the whole batch; with
        no share, ``out`` and ``y`` come back empty so the metrics count nothing."""
        weight = self.train.weight if self.train is not None else 1.0
        if weight == 1.0:
            return total, out, y
        if weight == 0.0:
            return total - loss, out[:0], y[:0]
        return total + loss * (weight - 1.0), out, y

    def exchange(self, meter: Any, *, step: int, every_s: float, stop: bool, checkpoint: bool = False,
                 paused: bool = False) -> Control:
        """The sync: one ``all_reduce`` that sums ``meter`` (the step window) over ranks in
        place and carries rank 0's control state and pace (the step of the next sync,
        about ``every_s`` from now)."""
        import torch
        import torch.distributed as td

        now = time.monotonic()
        pace = 0
        if self.main:
            steps, elapsed = step - self._sync_step, now - self._sync_time
            pace = 1 if not self._sync_time or steps <= 0 or elapsed <= 0 else \
                max(1, min(MAX_PACE, int(steps * every_s / elapsed)))
            checkpoint_f, paused_f = float(checkpoint), float(paused)
        else:
            checkpoint_f = paused_f = 0.0
        n = meter.n if meter is not None else 0
        sums = meter.sums if meter is not None and meter.sums is not None else None
        head = sums.double() if sums is not None else torch.zeros(3, dtype=torch.float64, device=self.device)
        tail = torch.tensor([n, float(stop), checkpoint_f, paused_f, pace], dtype=torch.float64, device=self.device)
        buf = torch.cat([head.to(self.device), tail])
        self._collective(td.all_reduce, buf)
        values = buf.tolist()
        if meter is not None:
            meter.n = int(round(values[3]))
            meter.sums = buf[:3].float() if meter.n else None
        self.next_sync = step + max(1, int(round(values[7])))
        self._sync_step, self._sync_time = step, now
        return Control(stop=values[4] > 0, checkpoint=values[5] > 0, paused=values[6] > 0)

    def sync(self, report: Any, control: Any, *, epoch: int, step: int, epoch_step: int, lr: float,
             boundary: Callable[[], None], checkpoint: Callable[[], None]) -> None:
        """The ranks' sync, every few steps (rank 0 sets the pace, about ``report.every_s``
        apart): one collective sums the report window over the ranks and carries rank 0's
        control state, so every rank reports, checkpoints, pauses and stops at the same
        step. ``report`` and ``control`` are the trainer's own report window and run
        control (``tuidl.core.train.reporting`` / ``.control``), the ones a single process
        reports and obeys with; ``checkpoint`` writes a requested checkpoint (every rank
        calls it), ``boundary`` sends the decision boundary when due (rank 0)."""
        if self.main:
            control.poll()
        window = report.window
        ctl = self.exchange(window, step=step, every_s=report.every_s, stop=control.stopping,
                            checkpoint=control.checkpoint_now, paused=control.paused)
        now = control.clock()
        self.samples += window.n  # the window's samples on every rank
        report.step(now, epoch=epoch, step=step, epoch_step=epoch_step, lr=lr, seen=self.samples)
        boundary()
        with control.pause_clock():
            while True:
                if ctl.checkpoint:
                    checkpoint()
                if ctl.stop or not ctl.paused:
                    break
                time.sleep(0.1)  # paused: keep syncing a few times a second, so no collective times out
                if self.main:
                    control.poll()
                ctl = self.exchange(None, step=step, every_s=report.every_s, stop=control.stopping,
                                    checkpoint=control.checkpoint_now, paused=control.paused)
        if ctl.stop:
            if not control.stopping:
                control.request_stop("stop requested on another rank")
            control.raise_if_stopped()
        report.t = control.clock()  # the next window starts after the pause

    def reduce_meter(self, meter: Any) -> None:
        """Sum a Meter's device-side sums and count over ranks, in place."""
        import torch
        import torch.distributed as td

        head = meter.sums.double() if meter.sums is not None else \
            torch.zeros(3, dtype=torch.float64, device=self.device)
        buf = torch.cat([head.to(self.device), torch.tensor([float(meter.n)], dtype=torch.float64,
                                                            device=self.device)])
        self._collective(td.all_reduce, buf)
        meter.n = int(round(buf[3].item()))
        meter.sums = buf[:3].float() if meter.n else None

    def total(self, meter: Any) -> Any:
        """A copy of ``meter`` summed over ranks (``meter`` itself is left as it is)."""
        out = copy.copy(meter)
        self.reduce_meter(out)
        return out

    def sync_buffers(self, model: torch.nn.Module) -> None:
        """Rank 0's buffers (batch-norm statistics) to every rank, so that all evaluate
        the model rank 0 saves."""
        import torch.distributed as td

        for buf in model.buffers():
            self._collective(td.broadcast, buf, 0)

    def failed(self, message: str) -> str:
        """The run's failure message from this rank; the other ranks also tell their log,
        where the supervisor finds it."""
        if not self.main:
            print(f"error: {message}", file=sys.stderr, flush=True)
        return f"rank {self.rank}: {message}"

    def lost_contact(self, e: BaseException) -> Optional[str]:
        """The message if ``e`` is a failed collective (another rank is gone), else None."""
        import torch.distributed

        if isinstance(e, PeerLost):
            self.broken = True
            return str(e)
        dist_error = getattr(torch.distributed, "DistError", None)
        text = str(e).lower()
        if (dist_error is not None and isinstance(e, dist_error)) or \
                (isinstance(e, RuntimeError) and any(word in text for word in _COMM_WORDS)):
            self.broken = True
            return f"lost contact with another rank: {_first_line(e)}"
        return None

    def _collective(self, fn: Callable, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as e:  # noqa: BLE001
            self.broken = True
            raise PeerLost(f"lost contact with another rank: {_first_line(e)}") from None

    def close(self) -> None:
        """Leave the process group (not after a failed collective: there is nobody to
        leave it with, and NCCL could wait)."""
        if self._started and not self.broken:
            import torch.distributed as td

            if td.is_initialized():
                td.destroy_process_group()
        self._started = False


def _parent_death_signal() -> None:
    """Linux: SIGTERM this process when its parent (the torchrun agent) dies, so a killed
    agent does not leave ranks training on their own; they checkpoint and stop instead."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# ---------------------------------------------------------------------------
# The supervisor: torchrun's launcher in this process

@dataclass
class Outcome:
    status: str  # the run's final status
    message: str
    code: int  # exit code, as the trainer's: 0 completed or stopped, 1 failed or diverged, 2 bad input


def parse_master(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` (``[v6addr]:PORT`` too) → (addr, port); ValueError with a reason."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected ADDR:PORT (machine 0's address and a free port), got {text!r}")
    return host, int(port)


def torchrun_args(run_dir: os.PathLike, nproc: int, *, nnodes: int = 1, node_rank: int = 0,
                  master: Optional[str] = None, resume: bool = False, telemetry: bool = False,
                  log_dir: Optional[os.PathLike] = None, allow_code: tuple[str, ...] = ()) -> list[str]:
    """The ``torchrun`` arguments that train the run directory on ``nproc`` processes here
    (of ``nnodes`` machines; this one is ``node_rank``, machine 0 at ``master``)."""
    args = [f"--nproc-per-node={nproc}", "--max-restarts=0"]
    if nnodes == 1 and not master:
        args.append("--standalone")  # a free port on this machine
    else:
        if not master:
            raise ValueError("a run on several machines needs --master ADDR:PORT")
        host, port = parse_master(master)
        args += [f"--nnodes={nnodes}", f"--node-rank={node_rank}", f"--master-addr={host}", f"--master-port={port}"]
    if log_dir is not None:
        args.append(f"--log-dir={log_dir}")
    args += ["--module", "tuidl.core.train.trainer", str(run_dir)]
    if resume:
        args.append("--resume")
    if telemetry:
        args.append("--telemetry")
    for ref in allow_code:  # the command line's consent to run a preset's model.custom, for every rank
        args += ["--allow-code", ref]
    return args


class _Follow(threading.Thread):
    """Feeds the run's new events (written by rank 0) to a listener, for the console."""

    def __init__(self, path: Path, listener: Callable[[dict], None], since: float):
        super().__init__(daemon=True, name="tuidl-follow")
        self.tail = E.EventTail(path)
        self.listener, self.since = listener, since
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.drain()

    def drain(self) -> None:
        for ev in self.tail.poll():
            if float(ev.get("time", 0)) >= self.since:
                self.listener(ev)


def launch(run: RunDir, nproc: int, *, nnodes: int = 1, node_rank: int = 0, master: Optional[str] = None,
           resume: bool = False, telemetry: bool = False, listener: Optional[Callable[[dict], None]] = None,
           quiet: bool = False, allow_code: tuple[str, ...] = ()) -> Outcome:
    """Train ``run`` on ``nproc`` processes of this machine through torchrun's launcher,
    running in this process (which becomes the torchrun agent), and return how it ended.
    Machine 0 (``node_rank`` 0) holds rank 0 and ends the run if rank 0 could not.
    ``listener`` gets the run's events as rank 0 writes them; ``quiet`` keeps torchrun's
    own log lines off stderr."""
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    started = time.time()
    first = node_rank == 0
    logs = _log_sizes(run.path)  # the ranks' logs grow from here in this attempt
    if first:
        run.write_status(status="starting", pid=os.getpid(), host=socket.gethostname(), message="")
    log_dir = tempfile.mkdtemp(prefix="tuidl-torchrun-")
    args = torchrun_args(run.path, nproc, nnodes=nnodes, node_rank=node_rank, master=master, resume=resume,
                         telemetry=telemetry, log_dir=log_dir, allow_code=tuple(allow_code))
    follow = _Follow(run.events_path, listener, started) if listener is not None and first else None
    saved_env = os.environ.get(SUPERVISED_ENV)
    os.environ[SUPERVISED_ENV] = "1"
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)}
    log = logging.getLogger("torch.distributed")
    log_state = (log.propagate, list(log.handlers))
    if quiet:
        log.propagate = False
        log.handlers = [logging.NullHandler()]
    failures: dict[int, Any] = {}
    signalled: Optional[signal.Signals] = None
    trouble = ""  # the launcher's own failure (a rendezvous that timed out, a port in use, ...)
    try:
        if follow is not None:
            follow.start()
        try:
            torchrun.run(torchrun.parse_args(args))
        except ChildFailedError as e:
            failures = dict(e.failures)
        except SignalException as e:
            signalled = e.sigval
        except Exception as e:  # noqa: BLE001 - reported as the run's end, not as a traceback
            trouble = f"torchrun failed: {type(e).__name__}: {_first_line(e)}"
    finally:
        if threading.current_thread() is threading.main_thread():  # torchrun set its own
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        if saved_env is None:
            os.environ.pop(SUPERVISED_ENV, None)
        else:
            os.environ[SUPERVISED_ENV] = saved_env
        log.propagate, log.handlers = log_state
        shutil.rmtree(log_dir, ignore_errors=True)
        if follow is not None:
            follow.done.set()
            follow.join()
    if not first:
        if trouble:
            return Outcome("failed", trouble, 1)
        code = 0 if not failures else (2 if all(f.exitcode == 2 for f in failures.values()) else 1)
        message = describe(failures, run.path, logs) if failures else "this machine's ranks finished"
        return Outcome("completed" if not failures else "failed", message, code)
    outcome = finish(run, started, failures, signalled, logs, trouble)
    if follow is not None:
        follow.drain()
    return outcome


def finish(run: RunDir, started: float, failures: dict[int, Any], signalled: Optional[signal.Signals] = None,
           logs: Optional[dict[str, int]] = None, trouble: str = "") -> Outcome:
    """After torchrun returned: the run's end as rank 0 wrote it, or, when rank 0 could
    not, the supervisor's: ``run_ended`` (if the run had started) and the status."""
    st = run.read_status()
    bad_input = 0 in failures and failures[0].exitcode == 2
    if st.get("status") in E.END_STATUSES and float(st.get("ended") or 0) >= started:
        ok = st["status"] in ("completed", "stopped")
        return Outcome(st["status"], str(st.get("message", "")), 2 if bad_input else (0 if ok else 1))
    evs = E.read_events(run.events_path)
    now_evs = [e for e in evs if float(e.get("time", 0)) >= started]
    ended = [e for e in now_evs if e.get("type") == E.RUN_ENDED]
    if ended:  # rank 0 ended the run but died before its last status write
        status, message = str(ended[-1].get("status")), str(ended[-1].get("message", ""))
    else:
        if failures:
            status, message = "failed", describe(failures, run.path, logs)
        elif signalled is not None:
            status, message = "stopped", (f"{signalled.name} received; the ranks ended before saving a stop "
                                          "checkpoint, so a resume continues from the last checkpoint")
        else:
            status, message = "failed", trouble or "the trainer processes ended without a result"
        if any(e.get("type") == E.RUN_STARTED for e in now_evs):
            with E.EventWriter(run.events_path) as writer:
                writer.emit(E.RUN_ENDED, sync=True, status=status, message=message,
                            epochs_completed=int(st.get("epoch") or 0), best=st.get("best"), test=None,
                            duration=round(time.time() - started, 3))
    run.write_status(status=status, message=message, ended=time.time())
    code = 2 if bad_input else (0 if status in ("completed", "stopped") else 1)
    return Outcome(status, message, code)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _log_sizes(run_path: Path) -> dict[str, int]:
    sizes = {}
    for log in run_path.glob("rank*.err"):
        try:
            sizes[log.name] = log.stat().st_size
        except OSError:
            pass
    return sizes


def _last_error(path: Path, offset: int = 0) -> str:
    """The last ``error: ...`` line a rank wrote to its log after ``offset``."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(offset, f.tell() - 16384))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.startswith("error: "):
            return line[len("error: "):].strip()
    return ""


def describe(failures: dict[int, Any], run_path: Path, logs: Optional[dict[str, int]] = None) -> str:
    """A sentence naming the rank that failed first, from torchrun's failures (global rank
    → ProcessFailure). Ranks that only lost contact with it (exit code PEER_LOST) or were
    stopped by torchrun afterwards (SIGTERM) are the consequence, not the cause."""
    follow_on = (PEER_LOST, -int(signal.SIGTERM), -int(signal.SIGINT))
    pool = [r for r, f in failures.items() if f.exitcode not in follow_on] or list(failures)
    rank = min(pool, key=lambda r: (failures[r].timestamp, r))
    code = failures[rank].exitcode
    if code < 0:
        text = f"rank {rank} died ({_signal_name(-code)})"
    elif code == PEER_LOST:
        text = f"rank {rank} lost contact with the other ranks (a rank on another machine failed?)"
    else:
        text = f"rank {rank} failed (exit code {code})"
    name = f"rank{rank}.err"
    detail = _last_error(run_path / name, (logs or {}).get(name, 0)) if rank else ""
    return f"{text}: {detail}" if detail else text


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuidl.core.system.distributed",
                                     description="Train a run directory data-parallel through torchrun.")
    parser.add_argument("run_dir")
    parser.add_argument("--nproc", type=int, required=True, help="processes on this machine")
    parser.add_argument("--nnodes", type=int, default=1)
    parser.add_argument("--node-rank", type=int, default=0)
    parser.add_argument("--master", help="ADDR:PORT of machine 0 (several machines)")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--telemetry", action="store_true")
    parser.add_argument("--allow-code", action="append", default=[], metavar="MODULE:CLASS")
    args = parser.parse_args(argv)
    try:
        outcome = launch(RunDir(args.run_dir), args.nproc, nnodes=args.nnodes, node_rank=args.node_rank,
                         master=args.master, resume=args.resume, telemetry=args.telemetry,
                         allow_code=tuple(args.allow_code))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if outcome.code:
        print(f"error: {outcome.message}", file=sys.stderr)
    return outcome.code


if __name__ == "__main__":
    sys.exit(main())
