"""Rules evaluated on runs: :class:`RunAlerts` for one run's events (through its own
:class:`~tuidl.core.run.runview.RunView`, the one reducer), :class:`AlertMonitor` for
every run directory under one or more runs roots (local runs, and remote runs mirrored
into a folder: a run directory is all it reads).

Each alert fires once per condition. A condition that can clear (a stall, a threshold, an
idle GPU) fires when it becomes true and again only after it cleared; NaN fires once per
trainer start; an end once per ``run_ended`` event; a script's alert once per event.
What a run did before the watcher's ``since`` (its history) sets the conditions without
firing, so opening the dashboard does not replay old news.

Time: the stall rule compares progress with ``now`` as the caller passes it (the
monitor's clock: a fake one in tests); the GPU-idle rule reads the telemetry events' own
times, so a remote host's clock is only ever compared with itself.
"""

from __future__ import annotations

import math
import os
import socket
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from tuidl.core.alerts.rules import Alert, AlertRules, level_of
from tuidl.core.numbers import to_float
from tuidl.core.run import events as E
from tuidl.core.run.rundir import LIVE, RunDir, is_run_dir
from tuidl.core.run.runview import Applied, RunView

__all__ = ["AlertMonitor", "RunAlerts"]

_END_LEVEL = {"completed": "info", "stopped": "warn", "pruned": "info"}


def _is_loss(name: str) -> bool:
    return "loss" in name.lower()


class RunAlerts:
    """The alert rules on one run's events (see the module docstring)."""

    def __init__(self, rules: AlertRules, run_id: str = "", host: str = "") -> None:
        self.rules = rules
        self.run_id, self.host = run_id, host
        self.view = RunView()
        self.fired: set[str] = set()  # conditions that fire once (nan, ends, script alerts)
        self.active: set[str] = set()  # conditions that fired and have not cleared since
        self.last_progress: float | None = None  # when progress was last seen (the caller's clock)
        self._seen: dict[str, int] = {}  # metric -> its values already looked at
        self._idle_since: dict[Any, float] = {}  # GPU -> telemetry time it went idle
        self.seen_live = False  # the monitor saw its status live (an interruption after that is news)
        self.last_time = -math.inf  # the latest event time taken
        self.since = -math.inf  # the monitor's: events before it are history

    # -- events ---------------------------------------------------------------------
    def feed(self, events: Iterable[Any], now: float, since: float = -math.inf) -> list[Alert]:
        """Take a batch of events; the alerts they raise. Events written before ``since``
        are history: they set the conditions and fire nothing."""
        events = list(events)
        for ev in reversed(events):
            t = to_float(ev.get("time")) if isinstance(ev, dict) else math.nan
            if math.isfinite(t):
                self.last_time = max(self.last_time, t)
                break
        k = 0
        while k < len(events) and isinstance(events[k], dict) and to_float(events[k].get("time"), math.inf) < since:
            k += 1
        if k:
            self._take(events[:k], now, quiet=True)
        return self._take(events[k:], now, quiet=False) if k < len(events) else []

    def _take(self, events: list, now: float, quiet: bool) -> list[Alert]:
        applied = self.view.apply(events)
        out: list[Alert] = []
        latest = max((to_float(ev.get("time")) for ev in events[-1:] if isinstance(ev, dict)), default=math.nan)
        seen_at = min(now, latest) if quiet and math.isfinite(latest) else now
        if applied.metrics or any(t.kind in (E.STEP, E.EPOCH) for t in applied.taken):
            self.last_progress = seen_at
            self.active.discard("stall")
        for change in applied.changes:
            ev = change.ev
            if change.what in ("started", "resumed"):
                self.last_progress = seen_at
                self.active.discard("stall")
                if change.what == "started":
                    self.fired.discard("nan")
            elif change.what == "ended":
                out += self._ended(ev)
            elif change.what == "alert" and self.rules.script:
                key = f"script:{ev.get('time')}:{ev.get('title')}"
                if key not in self.fired:
                    self.fired.add(key)
                    out.append(self._alert("script", str(ev.get("title", "")), str(ev.get("text") or ""),
                                           level_of(ev.get("level")), ev))
        out += self._metrics()
        out += self._gpus(applied)
        return [] if quiet else out

    def _alert(self, kind: str, title: str, text: str, level: str, ev: dict | None = None, **extra: Any) -> Alert:
        when = to_float((ev or {}).get("time"))
        return Alert(self.run_id or self.view.run_id, kind, title, text, level,
                     when if math.isfinite(when) else time.time(), self.host, extra)

    def _ended(self, ev: dict) -> list[Alert]:
        status = str(ev.get("status", "completed"))
        key = f"ended:{ev.get('time')}"
        if status not in self.rules.ended or key in self.fired:
            return []
        self.fired.add(key)
        self.active.discard("stall")
        text = str(ev.get("message") or "")
        best = ev.get("best")
        if isinstance(best, dict) and best.get("monitor") is not None:
            text = "; ".join(filter(None, [text, f"best {best.get('monitor')} {to_float(best.get('value')):.4g} "
                                                 f"at epoch {best.get('epoch')}"]))
        return [self._alert("ended", f"Run {status}", text, _END_LEVEL.get(status, "error"), ev, status=status)]

    def interrupted(self, status: dict) -> list[Alert]:
        """The run's process is gone without a ``run_ended`` (``RunDir.status`` says
        ``interrupted``): an end, once per status update."""
        key = f"ended:interrupted:{status.get('updated')}"
        if ("interrupted" not in self.rules.ended or key in self.fired or self.view.ended is not None
                or not self.seen_live):
            return []
        self.fired.add(key)
        return [self._alert("ended", "Run interrupted", str(status.get("message") or ""), "error",
                            {"time": status.get("updated")}, status="interrupted")]

    def _series(self) -> dict[str, Any]:
        """Each metric's values so far: a trainer run's step-axis lines (step means and
        epoch means), a logged run's scalars."""
        if self.view.scalars.events:
            return {name: s.values for name, s in self.view.scalars.by_name.items()}
        return {name: curve.ys for name, curve in self.view.curves.step.items()}

    def _metrics(self) -> list[Alert]:
        rules = self.rules
        out: list[Alert] = []
        series = self._series()
        watched = {t.metric for t in rules.thresholds}
        for name, values in series.items():
            loss = rules.nan and _is_loss(name)
            if not loss and name not in watched:
                continue
            start = min(self._seen.get(name, 0), len(values))
            new = values[start:]
            self._seen[name] = len(values)
            for x in new:
                x = float(x)
                if loss and not math.isfinite(x) and "nan" not in self.fired:
                    self.fired.add("nan")
                    out.append(self._alert("nan", f"{name} is {x}", f"{name} became {x} at step "
                                           f"{self.view.progress.step}", "error", metric=name))
                for t in rules.thresholds:
                    if t.metric != name or not math.isfinite(x):
                        continue
                    key = f"threshold:{t}"
                    if t.holds(x) and key not in self.active:
                        self.active.add(key)
                        out.append(self._alert("threshold", str(t), f"{name} = {x:.6g} at step "
                                               f"{self.view.progress.step}", "info", metric=name, value=x))
                    elif not t.holds(x):
                        self.active.discard(key)
        return out

    def _training(self) -> bool:
        return self.view.status == "running" and not self.view.paused

    def _run_gpus(self, gpus: list) -> list[dict]:
        """The telemetry's GPUs this run uses: a trainer's ``cuda:N`` (``gpus`` is in CUDA
        order), a logged run's GPUs where its process holds memory."""
        kind, _, n = str(self.view.run_info.get("device") or "").partition(":")
        if kind == "cuda":
            index = int(n) if n.isdigit() else 0
            return [gpus[index]] if index < len(gpus) and isinstance(gpus[index], dict) else []
        if self.view.logged:
            return [g for g in gpus if isinstance(g, dict) and to_float(g.get("proc_mem"), 0.0) > 0]
        return []

    def _gpus(self, applied: Applied) -> list[Alert]:
        rules = self.rules
        if rules.gpu_idle_minutes <= 0:
            return []
        out: list[Alert] = []
        for taken in applied.taken:
            if taken.kind != E.TELEMETRY:
                continue
            ev = taken.ev
            when = to_float(ev.get("time"))
            gpus = ev.get("gpus")
            if not isinstance(gpus, list) or not math.isfinite(when):
                continue
            if not self._training():
                self._idle_since.clear()
                continue
            for gpu in self._run_gpus(gpus):
                name = gpu.get("uuid") or gpu.get("index")
                util = to_float(gpu.get("util"))
                key = f"gpu_idle:{name}"
                if not math.isfinite(util):
                    continue
                if util >= rules.gpu_idle_util:
                    self._idle_since.pop(name, None)
                    self.active.discard(key)
                    continue
                since = self._idle_since.setdefault(name, when)
                if when - since >= rules.gpu_idle_minutes * 60 and key not in self.active:
                    self.active.add(key)
                    out.append(self._alert("gpu_idle", f"GPU {gpu.get('index')} idle",
                                           f"{gpu.get('name') or 'GPU'} at {util:.0f}% for "
                                           f"{(when - since) / 60:.0f} min while the run trains", "warn", ev,
                                           gpu=gpu.get("index")))
        return out

    # -- time -----------------------------------------------------------------------
    def tick(self, now: float) -> list[Alert]:
        """The rules that fire with time alone (a stall)."""
        minutes = self.rules.stall_minutes
        if minutes <= 0 or self.last_progress is None or not self._training():
            return []
        if self.view.logged and not self.view.scalars.events:
            return []  # a script or command that logs no metrics (tuidl run -- CMD) shows no progress to miss
        idle = now - self.last_progress
        if idle < minutes * 60 or "stall" in self.active:
            return []
        self.active.add("stall")
        return [self._alert("stall", "Run stalled", f"no progress for {idle / 60:.0f} min "
                            f"(step {self.view.progress.step})", "warn", {"time": now})]


class AlertMonitor:
    """The rules on every run directory under ``roots`` (see the module docstring).
    :meth:`poll` returns the alerts of what changed since the last look: one ``stat`` of
    each run's status file (written at every change of status), the events of live runs
    only. Not thread-safe: one caller."""

    def __init__(self, rules: AlertRules, roots: Iterable[str | os.PathLike], *,
                 clock: Callable[[], float] = time.time, since: float | None = None) -> None:
        self.rules = rules
        self.roots = [Path(r) for r in roots]
        self.clock = clock
        self.since = clock() if since is None else since
        self.watches: dict[str, tuple[RunAlerts, E.EventTail]] = {}  # a run folder's path -> its rules, reader
        self._stamps: dict[str, int] = {}  # a run folder not watched -> its status file's mtime
        self._read_until: dict[str, float] = {}  # a run folder watched before -> after its last event read

    def set_rules(self, rules: AlertRules) -> None:
        """New rules: conditions already met stay met (nothing fires again for them)."""
        self.rules = rules
        for watch, _ in self.watches.values():
            watch.rules = rules

    def add_root(self, root: str | os.PathLike) -> None:
        if Path(root) not in self.roots:
            self.roots.append(Path(root))

    def poll(self) -> list[Alert]:
        now = self.clock()
        out: list[Alert] = []
        present: set[str] = set()
        for root in self.roots:
            try:
                entries = list(os.scandir(root))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                key = entry.path
                stamp = _mtime(key + "/status.json")  # one stat per run and look: written at each change
                present.add(key)
                watched = self.watches.get(key)
                if watched is None:
                    if stamp == self._stamps.get(key):
                        continue  # not watched, its status unchanged: nothing to tell
                    self._stamps[key] = stamp
                    if not is_run_dir(Path(key)):
                        continue
                run = RunDir(Path(key))
                status = run.status()
                live = status.get("status") in LIVE
                if watched is None:
                    recent = max(stamp, _mtime(key + "/events.jsonl")) / 1e9 >= self.since - 1
                    if not (live or recent):
                        continue  # an old run that ended before we looked: history
                    host = str(status.get("host") or "")
                    host = "" if host == socket.gethostname() else host  # named only when it is another machine
                    watch = RunAlerts(self.rules, run.id, host)
                    # a run watched before (ended, then its status changed: a tag, a note): what
                    # was read then is history
                    watch.since = max(self.since, self._read_until.pop(key, -math.inf))
                    watched = self.watches[key] = (watch, E.EventTail(run.events_path))
                watch, tail = watched
                watch.seen_live = watch.seen_live or live
                took = False
                while True:
                    batch = tail.poll()
                    if not batch:
                        break
                    took = True
                    out += watch.feed(batch, now, watch.since)
                out += watch.tick(now)
                if status.get("status") == "interrupted":
                    out += watch.interrupted(status)
                if not live and not took:
                    del self.watches[key]  # ended and quiet (its last events read): its memory goes
                    self._stamps[key] = stamp
                    self._read_until[key] = math.nextafter(watch.last_time, math.inf)
        for path in [p for p in self.watches if p not in present]:
            del self.watches[path]
        return out


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0
