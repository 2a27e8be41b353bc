"""A run as its events tell it: the one place where events become state.

:meth:`RunView.apply` takes a batch of events (any types, in the order the trainer
wrote them; unknown types are passed over, a malformed event is counted and never
raises) and keeps what every reader needs:

* **progress**: epoch, step, fractions, samples/s, the inputs of an ETA, paused
  (:class:`RunProgress`);
* **curves**: by step and by epoch, train and validation loss and metrics, the learning
  rate (:class:`Curves`: plain arrays of floats, or the charts' own series when the
  dashboard asks for them);
* **best** (monitor, value, epoch), **test** results, **status** and its end, notes,
  checkpoints, restarts (resumes), the latest boundary and telemetry figures;
* the **trainer** (:class:`Trainer`): its pid, host and device as the latest
  ``run_started`` says, and its PyTorch's CUDA memory figures from telemetry;
* the learning lab's latest results (docs/instruments.md): :attr:`RunView.landscape`
  (the latest ``landscape`` event: the loss over a grid around the weights) and
  :attr:`RunView.adversarial` (the latest ``adversarial`` event: accuracy under attack by
  ε); ``None`` until the run sends one. A result computed from a checkpoint after the run
  (``tuidl landscape RUN``) is a file of the run, not an event: :func:`tuidl.core.lab.kept.saved`;
* the learning lab's live instruments: **layer health** as series per layer
  (``health``: layer name → :class:`LayerHealth`, arrays of the step and of each
  measured figure, NaN where a figure was null) and the latest ``health`` event
  (``last_health``); the latest **neuron view** (``neurons``: the ``neurons`` event); the
  latest **latent map** and **reconstructions** (``latent``, ``reconstructions``: their events);
* a compared run's curves (:meth:`RunView.compare_curves`: its validation curves, or
  its training curves when it had no validation split).

``apply`` returns an :class:`Applied`: the events it took, in order, and the run's
changes among them (started, paused, resumed, diverged, ended), for readers that show
each event as it comes (the console progress, the Training pane's log, the app's
alerts) rather than state.

The console progress (``tuidl train``), the dashboard (Training and System panes,
compared runs), ``tuidl replay --headless`` and ``tuidl export``
(:mod:`tuidl.core.run.report`) all read a ``RunView``. ``tuidl runs`` and the Runs pane
read the run's ``status.json`` instead (one small file per run, written by the trainer
from the same figures), so listing many runs never reads their event streams.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, NamedTuple

from tuidl.core.run import events as E
from tuidl.core.numbers import finite, to_float, to_int
from tuidl.core.preset.reference import Placement, place
from tuidl.core.run.columns import MetricsColumns, read as read_history
from tuidl.core.run.scalars import Scalars
from tuidl.core.system.telemetry import cuda_index

__all__ = ["Applied", "Change", "Curve", "Curves", "LayerHealth", "RunProgress", "RunView", "Taken", "Trainer", "load"]

METRICS = ("loss", "acc", "top5", "mae")
HEALTH_FIGURES = ("grad_norm", "weight_norm", "update_ratio", "dead", "act_mean", "act_std")
_HASHABLE = (str, int, float, bool, type(None))




Malformed = E.Malformed  # an event of a known type that cannot be taken (counted, then passed over)


@dataclass
class RunProgress:
    """Where a run stands, from its events alone (so a replay shows the same)."""

    run_id: str = ""
    epochs: int = 0
    steps_per_epoch: int = 0
    batch_size: int = 0
    epoch: int = 0  # epoch in progress (1-based) or last finished
    epoch_step: int = 0
    step: int = 0
    epochs_done: int = 0
    samples_per_s: float = math.nan
    epoch_seconds: list[float] = field(default_factory=list)
    status: str = ""  # "" while running; the end status after run_ended
    message: str = ""
    duration: float = math.nan
    paused: bool = False

    @property
    def fraction(self) -> float:
        if self.epochs <= 0:
            return 0.0
        if self.status == "completed":
            return 1.0
        within = self.epoch_step / self.steps_per_epoch if self.steps_per_epoch else 0.0
        done = self.epochs_done + (within if self.epoch > self.epochs_done else 0.0)
        return max(0.0, min(1.0, done / self.epochs))

    def eta(self) -> float:
        """Seconds left, from the mean epoch time (or the step rate before the first
        epoch ends). NaN when unknown."""
        if self.epochs <= 0 or self.status:
            return math.nan
        left = self.epochs * (1.0 - self.fraction)
        if self.epoch_seconds:
            recent = self.epoch_seconds[-5:]
            return left * sum(recent) / len(recent)
        if self.samples_per_s > 0 and self.batch_size > 0 and self.steps_per_epoch > 0:
            return left * self.steps_per_epoch * self.batch_size / self.samples_per_s
        return math.nan


class Curve:
    """One line's points in the order they came: ``xs`` and ``ys`` as arrays of floats
    (a missing or non-numeric y is NaN; points whose x is not finite are not kept)."""

    __slots__ = ("xs", "ys")

    def __init__(self) -> None:
        self.xs = array("d")
        self.ys = array("d")

    def append(self, x: float, y: Any) -> None:
        if math.isfinite(x):
            self.xs.append(x)
            self.ys.append(to_float(y))

    def cut(self, x_max: float) -> None:
        """Drop the points whose x is over ``x_max`` (a resumed run trains them again)."""
        kept = [(x, y) for x, y in zip(self.xs, self.ys) if x <= x_max]
        if len(kept) < len(self.xs):
            self.xs, self.ys = array("d", (x for x, _ in kept)), array("d", (y for _, y in kept))

    def __len__(self) -> int:
        return len(self.xs)

    def __repr__(self) -> str:
        return f"Curve({len(self.xs)} points)"


class Curves:
    """A run's lines by step and by epoch. Names: ``loss``, ``acc``, ``top5``, ``mae``
    (training), the same with ``val_`` (validation), and ``lr``. On the step axis,
    each epoch's means are points too, at the step the epoch ended on: fast epochs may
    see few step events (they are rate-limited), and this keeps training and
    validation comparable at every epoch end.

    ``curve`` makes each line: :class:`Curve` by default; anything with
    ``append(x, y)`` that keeps NaN ys and drops non-finite xs, and ``cut(x_max)``, will
    do (the dashboard keeps its lines as the charts' own ``Series``, so no point is
    stored twice)."""

    def __init__(self, curve: Callable[[], Any] = Curve) -> None:
        self._curve = curve
        self.step: dict[str, Any] = {}
        self.epoch: dict[str, Any] = {}

    def line(self, axis: str, name: str) -> Any:
        """The ``name`` line on the ``axis`` (``step`` or ``epoch``); empty if none yet."""
        lines = self.step if axis == "step" else self.epoch
        curve = lines.get(name)
        if curve is None:
            curve = lines[name] = self._curve()
        return curve

    def _add(self, axis: str, name: str, x: float, y: Any) -> None:
        self.line(axis, name).append(x, y)

    def cut(self, epoch: float, step: float) -> None:
        """Drop what came after ``epoch`` (on the epoch axis) and ``step`` (on the step
        axis): a run resumed from that epoch's checkpoint trains what followed again."""
        for curve in self.epoch.values():
            curve.cut(epoch)
        for curve in self.step.values():
            curve.cut(step)


class LayerHealth:
    """One layer's ``health`` figures over the run, in the order they came: ``step``
    and one array of floats per figure of :data:`HEALTH_FIGURES` (``grad_norm``,
    ``weight_norm``, ...; NaN where the event had null: no ReLU after the layer, no
    activations seen), plus the layer's ``index`` and ``kind``."""

    def __init__(self, index: int, kind: str) -> None:
        self.index, self.kind = index, kind
        self.step = array("d")
        for name in HEALTH_FIGURES:
            setattr(self, name, array("d"))

    def add(self, step: float, layer: dict) -> None:
        self.step.append(step)
        for name in HEALTH_FIGURES:
            getattr(self, name).append(to_float(layer.get(name)))

    def __len__(self) -> int:
        return len(self.step)

    def __repr__(self) -> str:
        return f"LayerHealth({self.kind}, {len(self.step)} points)"


class Taken(NamedTuple):
    """One event as :meth:`RunView.apply` took it: ``kind`` is its type, or
    ``"malformed"`` (then ``problem`` says why, and ``ev`` is what came)."""

    kind: str
    ev: Any
    problem: str = ""


class Change(NamedTuple):
    """A change in the run's state: ``what`` is ``started`` (a trainer started: the run
    is new or resumed), ``paused``, ``resumed``, ``diverged`` (a divergence note),
    ``alert`` (an ``alert`` event: ``tuidl.alert`` from a script) or ``ended`` (``run_ended``); ``ev`` the event that made it."""

    what: str
    ev: dict


@dataclass
class Applied:
    """What one :meth:`RunView.apply` took, in order. ``metrics`` events (a logged run's
    ``run.log`` calls: tens of thousands in a history, and no reader shows them one by
    one) are counted in ``metrics``, not listed in ``taken``; a malformed one is listed
    as any malformed event is."""

    taken: list[Taken] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    metrics: int = 0

    @property
    def bad(self) -> list[Taken]:
        return [t for t in self.taken if t.kind == "malformed"]

    @property
    def ended(self) -> bool:
        return any(c.what == "ended" for c in self.changes)

    def __bool__(self) -> bool:  # an empty batch is still a result
        return True


@dataclass
class Trainer:
    """Who trains the run, as its latest ``run_started`` says: the trainer's ``pid``, the
    ``host`` it runs on (newer runs), its ``device`` and when it started (``started``); and
    its PyTorch: the CUDA memory figures of the latest ``telemetry`` that has them
    (``torch``), and whether it has CUDA (``torch_cuda``: as the latest run_started or
    telemetry says, a ``cuda`` device saying yes; None: not said). None where not said."""

    pid: int | None = None
    host: str | None = None
    device: str | None = None
    started: float | None = None
    torch: dict | None = None
    torch_cuda: bool | None = None

    def run_started(self, ev: dict) -> None:
        pid = ev.get("pid")
        self.pid = pid if isinstance(pid, int) and pid > 0 else None
        self.host = str(ev["host"]) if ev.get("host") else None
        self.device = str(ev["device"]) if ev.get("device") else None
        self.started = finite(ev.get("time"))
        if "torch_cuda" in ev and isinstance(ev["torch_cuda"], (str, type(None))):
            self.torch_cuda = ev["torch_cuda"] is not None
        else:
            self.torch_cuda = True if cuda_index(self.device) is not None else None

    def telemetry(self, ev: dict) -> None:
        if "torch" in ev:
            figures = ev.get("torch")
            self.torch = figures if isinstance(figures, dict) else None
        if "torch_cuda" in ev:
            self.torch_cuda = ev.get("torch_cuda") is not None


class RunView:
    """The state of one run, from its events (see the module docstring)."""

    def __init__(self, events: Iterable[Any] = (), *, curve: Callable[[], Any] = Curve) -> None:
        self.started: dict | None = None  # the first run_started
        self.run_info: dict[str, Any] = {}  # the latest run_started, with its data's classes and input shape
        self.restarts = 0  # run_started events after the first (resumes)
        self.progress = RunProgress()
        self.curves = Curves(curve)  # (curve: what each line is made of, see Curves)
        self.epochs: dict[int, dict] = {}  # epoch -> the latest epoch event for it
        self.steps = 0  # step events taken
        self.best_epoch: int | None = None  # the last epoch flagged best
        self.test: dict | None = None
        self.ended: dict | None = None  # the last run_ended, unless a trainer started since
        self.notes: list[dict] = []
        self.alerts: list[dict] = []  # alert events (tuidl.alert from a script), in order
        self.checkpoints = 0
        self.boundary: dict | None = None  # the latest boundary event
        self.landscape: dict | None = None  # the latest landscape event (the lab)
        self.adversarial: dict | None = None  # the latest adversarial event (the lab)
        self.telemetry: dict | None = None  # the latest telemetry event
        self.health: dict[str, LayerHealth] = {}  # layer name -> its health figures over the run
        self.last_health: dict | None = None  # the latest health event
        self.neurons: dict | None = None  # the latest neurons event
        self.latent: dict | None = None  # the latest latent event (the test set's codes in 2-D)
        self.reconstructions: dict | None = None  # the latest reconstructions event (self-supervised)
        self.trainer = Trainer()  # who trains it (the latest run_started) and its PyTorch's CUDA figures
        self.scalars = Scalars()  # a logged run's metrics by name, its config and summary (metrics events)
        self.events = 0  # events of a known type taken (malformed ones included)
        self.bad_events = 0
        self.apply(events)

    # -- what the events say -----------------------------------------------------------
    @property
    def status(self) -> str:
        """``empty`` (no trainer started yet), ``running`` (paused or not: see
        :attr:`paused`), or how the run ended (``completed``, ``stopped``,
        ``diverged``, ``failed``)."""
        if self.ended is not None:
            return str(self.ended.get("status", "completed"))
        return "running" if self.started is not None else "empty"

    @property
    def paused(self) -> bool:
        return self.progress.paused

    @property
    def run_id(self) -> str:
        return self.progress.run_id

    @property
    def logged(self) -> bool:
        """A logged run (``tuidl.init`` / ``run.log`` or ``tuidl run -- CMD``): its
        run_started names a ``source`` and no preset, or it has ``metrics`` events."""
        st = self.started
        if st is not None and "preset" not in st and st.get("source"):
            return True
        return bool(self.scalars.events)

    @property
    def source(self) -> str:
        """Where a logged run came from: ``script``, ``command``, ...; "" for a trainer run."""
        return str((self.started or {}).get("source") or "") if self.logged else ""

    @property
    def config(self) -> dict[str, Any]:
        """A logged run's config: run_started's, with later ``config`` events merged in."""
        return self.scalars.config

    @property
    def process(self) -> dict | None:
        """The latest telemetry's figures of the run's process (:func:`process_figures`), or None."""
        return process_figures(self.telemetry or {})

    def summary(self) -> dict[str, dict[str, Any]]:
        """Last and best of each metric, overridden by what ``summary`` events set (Scalars.summary)."""
        return self.scalars.summary()

    @property
    def metric_names(self) -> list[str]:
        """The metrics the run reports (``loss`` first)."""
        if self.started:
            metrics = self.started.get("metrics", ["loss"])
            return list(metrics) if isinstance(metrics, list) else ["loss"]
        first = next(iter(self.epochs.values()), None)
        return [m for m in METRICS if first and m in (first.get("train") or {})]

    @property
    def task(self) -> str | None:
        task = self.run_info.get("task")
        return task if task in ("classification", "regression") else None

    @property
    def test_placement(self) -> Placement | None:
        """Where the test figure falls against the range its built-in preset claims (the
        ``reference`` of ``run_started``: a built-in preset run as shipped), or None."""
        return place(self.run_info.get("reference"), (self.test or {}).get("metrics"))

    def metric_key(self, default_task: str | None = None) -> str:
        """The metric a dashboard charts next to the loss: ``mae`` or ``acc``."""
        metrics = self.run_info.get("metrics")
        if isinstance(metrics, list):
            if "mae" in metrics:
                return "mae"
            if "acc" in metrics:
                return "acc"
        task = self.run_info.get("task") or default_task
        return "mae" if task == "regression" else "acc"

    def best(self) -> dict | None:
        """``{epoch, monitor, value}`` of the best epoch, once the run has ended."""
        best = (self.ended or {}).get("best")
        return best if isinstance(best, dict) else None

    def epoch_series(self, metric: str) -> dict[str, tuple[list[float], list[float]]]:
        """``{split: (epochs, values)}`` of one metric, one point per epoch (its latest
        event), for ``train`` and ``val`` where there are any."""
        out = {}
        for split in ("train", "val"):
            xs, ys = [], []
            for e in sorted(self.epochs):
                values = self.epochs[e].get(split)
                value = values.get(metric) if isinstance(values, dict) else None
                if value is not None:
                    xs.append(e)
                    ys.append(to_float(value))
            if xs:
                out[split] = (xs, ys)
        return out

    def compare_curves(self) -> tuple[str, dict[str, dict[str, tuple[list[float], list[float]]]]]:
        """This run as a compared run: ``(split, {metric: {"epoch": (xs, ys), "step":
        (xs, ys)}})`` where ``split`` is ``val``, or ``train`` when the run had no
        validation split; one point per epoch, by epoch and by the step it ended at."""
        has_val = any(isinstance(ev.get("val"), dict) for ev in self.epochs.values())
        split = "val" if has_val else "train"
        out: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
        for epoch in sorted(self.epochs):
            ev = self.epochs[epoch]
            values = ev.get(split)
            if not isinstance(values, dict):
                continue
            step = to_float(ev.get("step"))
            for name, value in values.items():
                lines = out.setdefault(str(name), {"epoch": ([], []), "step": ([], [])})
                lines["epoch"][0].append(float(epoch))
                lines["epoch"][1].append(to_float(value))
                if math.isfinite(step):
                    lines["step"][0].append(step)
                    lines["step"][1].append(to_float(value))
        return split, out

    # -- taking events -----------------------------------------------------------------
    def apply(self, events: Iterable[Any]) -> Applied:
        """Take a batch of events; see the module docstring."""
        with E.gc_paused:  # (see there: what a batch makes stays alive until it is taken)
            return self._apply(events)

    def _apply(self, events: Iterable[Any]) -> Applied:
        applied = Applied()
        metrics: list[dict] = []  # metrics events in a row: taken together (Scalars.add_events)
        for ev in events:
            if isinstance(ev, dict) and ev.get("type") == E.METRICS:
                metrics.append(ev)
                continue
            if metrics:
                self._metrics_events(metrics, applied)
                metrics = []
            if type(ev) is MetricsColumns:  # (columns of metrics events: columns.py)
                self._metrics_events(ev, applied)
                continue
            if not isinstance(ev, dict):
                self.bad_events += 1
                applied.taken.append(Taken("malformed", ev, "not an object"))
                continue
            kind = ev.get("type")
            take = _TAKE.get(kind) if isinstance(kind, str) else None
            if take is None:
                continue  # a type this reader does not know: passed over
            self.events += 1
            try:
                take(self, ev, applied)
            except (Malformed, KeyError, TypeError, ValueError, IndexError, AttributeError,
                    ZeroDivisionError) as e:
                self.bad_events += 1
                applied.taken.append(Taken("malformed", ev, f"{type(e).__name__}: {e}"))
                continue
            applied.taken.append(Taken(kind, ev))
        if metrics:
            self._metrics_events(metrics, applied)
        return applied

    def _metrics_events(self, evs: list[dict] | MetricsColumns, applied: Applied) -> None:
        """``metrics`` events in a row (a logged run writes little else), or columns of them:
        taken by the scalars in one go, counted in ``applied.metrics`` (the malformed listed)."""
        errors = self.scalars.add_events(evs)
        self.events += len(evs)
        applied.metrics += len(evs) - len(errors)
        self.bad_events += len(errors)
        applied.taken.extend(Taken("malformed", evs[i], f"{type(e).__name__}: {e}") for i, e in errors)
        step = self.scalars.last_step
        if step > self.progress.step:
            self.progress.step = int(step)

    def _run_started(self, ev: dict, applied: Applied) -> None:
        data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
        if self.started is None:
            self.started = ev
            config = ev.get("config")
            if isinstance(config, dict):
                self.scalars.config.update(config)
            self.scalars.start_time(ev.get("time"))
        else:
            self.restarts += 1
        self.ended = None  # a resumed run is live again
        self.trainer.run_started(ev)
        self.run_info = {**ev, "classes": data.get("classes"), "input_shape": data.get("input_shape")}
        p = self.progress
        p.run_id = str(ev.get("run_id", ""))
        p.epochs = to_int(ev.get("epochs"))
        p.steps_per_epoch = to_int(ev.get("steps_per_epoch"))
        p.batch_size = to_int(ev.get("batch_size"))
        resumed = to_int(ev.get("resumed_from"))
        if self.restarts and any(epoch > resumed for epoch in self.epochs):
            # killed after an epoch's event but before its checkpoint: that epoch is trained
            # again from the one before, and its first points go
            for epoch in [e for e in self.epochs if e > resumed]:
                del self.epochs[epoch]
            if self.best_epoch is not None and self.best_epoch > resumed:
                self.best_epoch = max((e for e, ev in self.epochs.items() if ev.get("best")), default=None)
            last = self.epochs.get(resumed) or {}
            self.curves.cut(float(resumed), to_float(last.get("step", 0)))
            p.epochs_done = p.epoch = resumed
        p.epochs_done = max(p.epochs_done, resumed)
        p.epoch = max(p.epoch, resumed)
        p.status, p.message, p.paused = "", "", False
        applied.changes.append(Change("started", ev))

    def _step(self, ev: dict, applied: Applied) -> None:
        p = self.progress
        step = to_float(ev["step"])
        if not math.isfinite(step):
            raise ValueError(f"step is {ev['step']!r}")
        self.steps += 1
        p.step = int(step)
        p.epoch = to_int(ev.get("epoch"), p.epoch)
        p.epoch_step = to_int(ev.get("epoch_step"), p.epoch_step)
        sps = to_float(ev.get("samples_per_s"))
        if math.isfinite(sps):
            p.samples_per_s = sps
        add = self.curves._add
        add("step", "loss", step, ev.get("loss"))
        for name in ("acc", "top5", "mae"):
            if name in ev:
                add("step", name, step, ev.get(name))
        if "lr" in ev:
            add("step", "lr", step, ev.get("lr"))

    def _epoch(self, ev: dict, applied: Applied) -> None:
        p = self.progress
        epoch = to_int(ev["epoch"])
        step = to_float(ev.get("step"))
        self.epochs[epoch] = ev
        p.epoch = max(p.epoch, epoch)
        p.epochs_done = max(p.epochs_done, epoch)
        p.epoch_step = p.steps_per_epoch
        if math.isfinite(step):
            p.step = int(step)
        sps = to_float(ev.get("samples_per_s"))
        if math.isfinite(sps):
            p.samples_per_s = sps
        dur = to_float(ev.get("duration"))
        if math.isfinite(dur) and dur >= 0:
            p.epoch_seconds.append(dur)
        if ev.get("best"):
            self.best_epoch = epoch
        train = ev.get("train") if isinstance(ev.get("train"), dict) else {}
        val = ev.get("val") if isinstance(ev.get("val"), dict) else None
        points = [("loss", train.get("loss"))]
        points += [(str(k), v) for k, v in train.items() if k != "loss" and k != "lr" and not str(k).startswith("val_")]
        if val is not None:
            points.append(("val_loss", val.get("loss")))
            points += [("val_" + str(k), v) for k, v in val.items() if k != "loss"]
        if "lr" in ev:
            points.append(("lr", ev.get("lr")))
        add = self.curves._add
        for name, value in points:
            add("epoch", name, float(epoch), value)
            if math.isfinite(step):
                add("step", name, step, value)

    def _boundary(self, ev: dict, applied: Applied) -> None:
        self.boundary = ev

    def _landscape(self, ev: dict, applied: Applied) -> None:
        grid, alphas = ev["grid"], ev["alphas"]
        if not (isinstance(grid, list) and isinstance(alphas, list) and len(grid) == len(alphas)
                and all(isinstance(row, list) and len(row) == len(alphas) for row in grid)):
            raise Malformed("grid is not a square of the alphas' size")
        self.landscape = ev

    def _adversarial(self, ev: dict, applied: Applied) -> None:
        eps = ev["eps"]
        if not (isinstance(eps, list) and all(isinstance(ev[k], list) and len(ev[k]) == len(eps)
                                              for k in ("fgsm", "pgd"))):
            raise Malformed("fgsm and pgd must have one accuracy per eps")
        self.adversarial = ev
    def _health(self, ev: dict, applied: Applied) -> None:
        step = to_float(ev["step"])
        layers = ev["layers"]
        if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
            raise Malformed("layers is not a list of objects")
        for layer in layers:
            name = str(layer["name"])
            series = self.health.get(name)
            if series is None:
                series = self.health[name] = LayerHealth(to_int(layer.get("index")), str(layer.get("kind", "")))
            series.add(step, layer)
        self.last_health = ev

    def _neurons(self, ev: dict, applied: Applied) -> None:
        if not isinstance(ev.get("layers"), list) or not isinstance(ev.get("output"), dict):
            raise Malformed("a neurons event needs layers and output")
        self.neurons = ev

    def _latent(self, ev: dict, applied: Applied) -> None:
        if not (isinstance(ev["points"], list) and isinstance(ev["labels"], list)
                and len(ev["points"]) == len(ev["labels"])):
            raise Malformed("a latent event needs as many points as labels")
        self.latent = ev

    def _reconstructions(self, ev: dict, applied: Applied) -> None:
        if not all(isinstance(ev[k], list) for k in ("inputs", "outputs")) or len(ev["inputs"]) != len(ev["outputs"]):
            raise Malformed("a reconstructions event needs as many outputs as inputs")
        self.reconstructions = ev

    def _checkpoint(self, ev: dict, applied: Applied) -> None:
        self.checkpoints += 1

    def _control(self, ev: dict, applied: Applied) -> None:
        action = ev.get("action", "")
        if not isinstance(action, _HASHABLE):
            raise TypeError(f"action is {type(action).__name__}")
        if action == "paused":
            self.progress.paused = True
            applied.changes.append(Change("paused", ev))
        elif action == "resumed":
            self.progress.paused = False
            applied.changes.append(Change("resumed", ev))

    def _note(self, ev: dict, applied: Applied) -> None:
        for key in ("level", "kind"):
            if not isinstance(ev.get(key), _HASHABLE):
                raise TypeError(f"{key} is {type(ev.get(key)).__name__}")
        self.notes.append(ev)
        if ev.get("kind") == "divergence":
            applied.changes.append(Change("diverged", ev))

    def _alert(self, ev: dict, applied: Applied) -> None:
        if not isinstance(ev["title"], str):
            raise Malformed("title is not a string")
        self.alerts.append(ev)
        applied.changes.append(Change("alert", ev))

    def _telemetry(self, ev: dict, applied: Applied) -> None:
        self.telemetry = ev
        self.trainer.telemetry(ev)

    def _config(self, ev: dict, applied: Applied) -> None:
        values = ev["values"]
        if not isinstance(values, dict):
            raise Malformed("values is not an object")
        self.scalars.config.update(values)
        self.scalars.version += 1

    def _summary(self, ev: dict, applied: Applied) -> None:
        values = ev["values"]
        if not isinstance(values, dict):
            raise Malformed("values is not an object")
        self.scalars.set_summary.update(values)
        self.scalars.version += 1

    def _test(self, ev: dict, applied: Applied) -> None:
        self.test = ev

    def _run_ended(self, ev: dict, applied: Applied) -> None:
        p = self.progress
        self.ended = ev
        p.status = str(ev.get("status", "completed"))
        p.message = str(ev.get("message", ""))
        p.duration = to_float(ev.get("duration"))
        p.paused = False
        done = to_int(ev.get("epochs_completed"), p.epochs_done)
        p.epochs_done = max(p.epochs_done, done)
        p.epoch = max(p.epoch, done)
        applied.changes.append(Change("ended", ev))


_TAKE = {
    E.RUN_STARTED: RunView._run_started,
    E.STEP: RunView._step,
    E.EPOCH: RunView._epoch,
    E.BOUNDARY: RunView._boundary,
    E.CHECKPOINT: RunView._checkpoint,
    E.CONTROL: RunView._control,
    E.NOTE: RunView._note,
    E.TELEMETRY: RunView._telemetry,
    E.HEALTH: RunView._health,
    E.NEURONS: RunView._neurons,
    E.LATENT: RunView._latent,
    E.RECONSTRUCTIONS: RunView._reconstructions,
    E.TEST: RunView._test,
    E.LANDSCAPE: RunView._landscape,
    E.ADVERSARIAL: RunView._adversarial,
    E.RUN_ENDED: RunView._run_ended,
    E.CONFIG: RunView._config,
    E.SUMMARY: RunView._summary,
    E.ALERT: RunView._alert,
}


def process_figures(telemetry: dict) -> dict | None:
    """The figures of the run's process in a ``telemetry`` event, as ``{pid, cpu, rss}``
    (cpu: % of one core; rss: bytes): a logged run's ``process`` (``{pid, cpu_percent,
    rss_bytes}``, written by the logging thread; under ``tuidl run`` the command's
    process tree), else a trainer's ``proc``; None if neither."""
    proc = telemetry.get("process")  # a tuidl run's: the command's whole process tree
    if isinstance(proc, dict):
        return {"pid": proc.get("pid"), "cpu": proc.get("cpu_percent"), "rss": proc.get("rss_bytes")}
    proc = telemetry.get("proc")
    return proc if isinstance(proc, dict) else None


def load(path: Any) -> RunView:
    """The view of a run directory (a :class:`~tuidl.core.run.rundir.RunDir`) or of an
    ``events.jsonl`` file: every complete event in it (a torn last line is skipped)."""
    events_path = getattr(path, "events_path", path)
    return RunView(read_history(events_path)[0])  # (a finished big run's columns cache: columns.py)
