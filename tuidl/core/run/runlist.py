"""The runs in a runs root as ``tuidl runs`` and the Runs pane list them: one
:class:`RunRow` per run, from its status file.

The status file (docs/run-directory.md) is the run's summary that its trainer keeps
current (status, epoch, best, trained time), so a listing of a hundred runs reads a
hundred small files, never their event logs. What a run's events say in full is
:class:`tuidl.core.run.runview.RunView`'s work. No UI here."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
import time
from dataclasses import dataclass, field
from typing import Any

from tuidl.core.run.rundir import LIVE, RunDir, is_run_dir, runs_root
from tuidl.core.run.runindex import RunIndex, Stamp, index_if_read, index_of, stamp_of
from tuidl.core.run.units import fmt_best, fmt_duration, higher_is_better, run_duration, run_times

RESUMABLE = ("stopped", "pruned", "interrupted", "failed", "diverged")
_NEW_ID = re.compile(r"^(\d{8})-(\d{2})(\d{2})(\d{2})-(.+)-([0-9a-f]{4})$")


@dataclass
class RunRow:
    """One run as the list shows it (the figures of ``tuidl runs``)."""

    run: RunDir
    status: str
    preset: str
    epoch: Any
    epochs: Any
    best: dict | None
    started: float | None
    duration: float | None
    message: str = ""
    has_checkpoint: bool = False
    status_data: dict = field(default_factory=dict, repr=False)
    logged: "LoggedFigures | None" = None  # a logged run's figures (tuidl.init / tuidl run), else None
    #: what finding runs worked out of this row (config and summary values by key: runfilter),
    #: kept with the row: a row is made again when its run's status file changes
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def live(self) -> bool:
        return self.status in LIVE

    @property
    def host(self) -> str:
        """The host of a remote run's copy (``tuidl --remote``); "" for a run of this machine."""
        remote = self.status_data.get("remote")
        return str(remote.get("host") or "") if isinstance(remote, dict) else ""

    @property
    def resumable(self) -> bool:
        return self.status in RESUMABLE and self.has_checkpoint and self.logged is None

    @property
    def sweep(self) -> dict | None:
        """A sweep's trial: ``{id, study, trial, params}`` (docs/sweeps.md), else None."""
        tag = self.status_data.get("sweep")
        return tag if isinstance(tag, dict) else None

    @property
    def sweep_text(self) -> str:
        tag = self.sweep
        return f"{tag.get('id')} #{tag.get('trial')}" if tag else ""

    @property
    def best_text(self) -> str:
        return fmt_best(self.best, "=")

    @property
    def epochs_text(self) -> str:
        if self.logged is not None:
            return self.logged.text
        return f"{self.epoch}/{self.epochs}"

    @property
    def duration_text(self) -> str:
        return fmt_duration(self.duration)

    @property
    def started_text(self) -> str:
        return when(self.started)


def when(t: float | None) -> str:
    """A start time as the list shows it (local time, to the minute)."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if t else "—"


def run_row(run: RunDir, now: float | None = None, figures: bool = True) -> RunRow:
    """The list's row for a run, from its status file (``interrupted`` when the
    process of a live status is gone); a logged run's figures also from its events
    (:func:`logged_figures`; ``figures=False``: not read, the row is ``pending``)."""
    st = run.status()
    if not run.logged:
        logged = None
    elif figures:
        logged = logged_figures(run, st)
    else:
        logged = pending_figures(st)
    return row_of(run, st, logged, has_checkpoint(run, st), now)


def row_of(run: RunDir, st: dict, logged: "LoggedFigures | None", checkpoint: bool,
           now: float | None = None) -> RunRow:
    """A run's row from its status (as :meth:`RunDir.status` gives it) and figures."""
    state = str(st.get("status", "unknown"))
    started, duration = run_times(st, now)[0], run_duration(st, now)
    best = st.get("best") if isinstance(st.get("best"), dict) else None
    name = st.get("preset") or (st.get("name") if logged is not None else None) or "?"
    if logged is not None and best is None:
        best = logged.best
    return RunRow(run=run, status=state, preset=str(name), epoch=st.get("epoch", 0),
                  epochs=st.get("epochs", "?"), best=best, started=started, duration=duration,
                  message=str(st.get("message") or ""), has_checkpoint=checkpoint,
                  status_data=st, logged=logged)


def has_checkpoint(run: RunDir, status: dict) -> bool:
    """A checkpoint to resume from: here, or (a remote run's copy) on its machine."""
    remote = status.get("remote")
    return run.checkpoint("last").is_file() or (isinstance(remote, dict) and bool(remote.get("checkpoint")))


@dataclass(frozen=True)
class LoggedFigures:
    """What the list shows of a logged run: its ``source`` (script, command, ...), its
    last ``step``, how many ``metrics`` it logs and its ``best`` (``{monitor, value}``:
    the best value of its validation loss, else of its first loss, else of its first
    metric)."""

    source: str
    step: int | None
    metrics: int
    best: dict | None
    summary: dict = field(default_factory=dict, compare=False)  # metric -> last value, or what run.summary set
    pending: bool = False  # from the status file only: the events are not read yet

    @property
    def text(self) -> str:
        step = "—" if self.step is None else f"{self.step:,}"
        if self.pending:
            return f"step {step} · …"
        return f"step {step} · {self.metrics} metric{'s' if self.metrics != 1 else ''}"

    def as_dict(self) -> dict:
        return {"source": self.source, "step": self.step, "metrics": self.metrics, "best": self.best,
                "summary": self.summary}


def pending_figures(status: dict) -> LoggedFigures:
    """A logged run's figures as its status file tells them (its source and last step),
    until its events are read."""
    step = status.get("step")
    return LoggedFigures(str(status.get("source") or "script"), step if isinstance(step, int) else None, 0, None,
                         pending=True)


_FIGURES: dict[str, tuple[tuple[int, int], LoggedFigures]] = {}  # run path -> (events file size, mtime), figures


def best_monitor(names: list[str]) -> str | None:
    """The metric a logged run's best is told by: a validation loss, else a loss, else
    the first metric."""
    from tuidl.core.run.scalars import base_name, lower_is_better

    losses = [n for n in names if lower_is_better(n) and "loss" in n.lower()]
    val = [n for n in losses if base_name(n)[1] == "val"]
    return (val or losses or names or [None])[0]


def logged_figures(run: RunDir, status: dict | None = None) -> LoggedFigures:
    """A logged run's figures for the list, from its events (read again only when the
    file changed): a finished run's summary by :func:`~tuidl.core.run.logsummary.read_summary`,
    a live run's from its :class:`~tuidl.core.run.runview.RunView`, read on at each scan."""
    try:
        info = os.stat(run.events_path)
        key = (info.st_size, info.st_mtime_ns)
    except OSError:
        key = (0, 0)
    cached = _FIGURES.get(str(run.path))
    if cached is not None and cached[0] == key:
        return cached[1]
    st = status if status is not None else run.read_status()
    view = None
    if key != (0, 0):  # a live run: its view, read on; a finished one: its summary only (logsummary)
        view = _logged_view(run) if st.get("status") in LIVE else _logged_summary(run)
    names = view.names if view is not None else []
    best = None
    monitor = best_monitor(names)
    full = view.summary() if view is not None else {}
    if monitor is not None:
        fig = full.get(monitor, {})
        best = {"monitor": monitor, "value": fig.get("best"), "step": fig.get("step")}
    step = int(view.last_step) if view is not None and view.events else None
    summary = {name: fig.get("value", fig.get("last")) for name, fig in full.items()}
    figures = LoggedFigures(str(st.get("source") or (view.source if view else "") or "script"), step,
                            len(names), best, summary)
    _FIGURES[str(run.path)] = (key, figures)
    return figures


def _logged_summary(run: RunDir):
    """A finished logged run's summary, straight from its events (no RunView)."""
    from tuidl.core.run.logsummary import read_summary

    _TAILS.pop(str(run.path), None)
    return read_summary(run.events_path)


class _ViewFigures:
    """A live logged run's view as :func:`logged_figures` reads it (what
    :class:`~tuidl.core.run.logsummary.LogSummary` also gives)."""

    def __init__(self, view) -> None:
        self.view = view
        self.names = view.scalars.names
        self.last_step = view.scalars.last_step
        self.events = view.scalars.events
        self.source = view.source
        self.summary = view.summary


_TAILS: dict[str, tuple[int, Any, Any]] = {}  # a live logged run's path -> (its events file's inode, EventTail, RunView)


def _logged_view(run: RunDir) -> "_ViewFigures | None":
    """A live logged run's view for its figures, kept between scans and read on from where
    the last scan stopped (a run logging for hours is not read whole every 2 s)."""
    from tuidl.core.run.events import EventTail
    from tuidl.core.run.runview import RunView

    path = str(run.path)
    try:
        info = os.stat(run.events_path)
    except OSError:
        _TAILS.pop(path, None)
        return None
    kept = _TAILS.pop(path, None)
    if kept is None or kept[0] != info.st_ino or kept[1].offset > info.st_size:  # new, replaced or cut
        kept = (info.st_ino, EventTail(run.events_path), RunView())
    kept[2].apply(kept[1])
    _TAILS[path] = kept
    return _ViewFigures(kept[2])


_ROWS: dict[str, tuple[tuple, RunRow]] = {}  # run path -> (status and events stamps), row


def scan_runs(root: str | os.PathLike | None = None, figures: bool = True, limit: int | None = None) -> list[RunRow]:
    """Every run in the runs root, newest first. Runs whose files vanish while they
    are read (deleted meanwhile) are left out.

    A finished run's row is read once: this process keeps it while its status file (and
    a logged run's events file) stay the same, and the runs root's index
    (:mod:`tuidl.core.run.runindex`) keeps it for the next process, so a listing of
    10,000 finished runs stats their status files and parses none. ``figures=False``
    reads no event log: a logged run not in the index gets a ``pending`` row (its status
    file's figures), to be completed by a listing with ``figures=True``. ``limit``: only
    the runs of the last ``limit`` directory names (run ids begin with their start time:
    the newest), for a first screen of a long list: the index is used only if this process
    has read it already (200 status files are read sooner than 10,000 runs' index is parsed),
    and is not written."""
    now = time.time()
    base = runs_root(root)
    try:
        names = sorted(e.name for e in os.scandir(base) if not e.name.startswith(".") and e.is_dir())
    except OSError:
        return []
    if limit is not None:
        names = names[-limit:]
    index = index_of(base) if limit is None else index_if_read(base)
    scratch = index is None  # a first screen before the index was read: none read, none written
    if index is None:
        index = RunIndex(base)
    rows = []
    seen = set()
    with index.lock:
        base_s = str(base)
        for n, name in enumerate(names):
            if n % 16 == 15:  # let another thread (the dashboard's UI) have the GIL: a thread that
                time.sleep(0)  # never lets go makes the UI wait 5 ms at each of its many turns
            key = f"{base_s}/{name}"  # strings, not Paths: 10,000 Paths cost more than the stats
            status_stamp = stamp_of(f"{key}/status.json")
            known = index.entries.get(name)  # a preset run's events need no look (its row reads none)
            events_stamp = stamp_of(f"{key}/events.jsonl") if known is None or known.get("f") else None
            stamps = (status_stamp, events_stamp)
            cached = _ROWS.get(key)
            if cached is not None and cached[0] == stamps and status_stamp is not None and not cached[1].live:
                rows.append(cached[1])
                seen.add(name)
                continue
            entry = index.get(name, status_stamp, events_stamp)
            path = base / name  # (half the cost of Path(key): the root is parsed once)
            if entry is not None:
                row = _row_of_entry(RunDir(path), entry, now)
            else:
                if not is_run_dir(path):
                    continue
                try:
                    row = run_row(RunDir(path), now, figures)
                except OSError:
                    continue
                if not row.live and status_stamp is not None and not (row.logged and row.logged.pending):
                    index.put(name, _entry_of(row, status_stamp, events_stamp))
            seen.add(name)
            if not (row.logged and row.logged.pending):
                _ROWS[key] = (stamps, row)
            rows.append(row)
        if limit is None:
            prefix = base_s + "/"
            for path in [p for p in _ROWS if p.startswith(prefix) and "/" not in p[len(prefix):]
                         and p[len(prefix):] not in seen]:
                del _ROWS[path]
            index.keep_only(seen)
        if not scratch:
            index.save()
    rows.sort(key=lambda r: (r.started or 0.0, r.id), reverse=True)
    return rows


def scan_roots(root: str | os.PathLike | None = None, more: "list | tuple" = (), figures: bool = True,
               limit: int | None = None) -> list[RunRow]:
    """:func:`scan_runs` of the runs root and of ``more`` roots (the copies of remote
    hosts' runs), together, newest first. A run id listed twice (one host under two
    names, a runs folder copied between machines) is listed once: the first root's.
    ``figures`` and ``limit`` as for :func:`scan_runs` (``limit``: of each root)."""
    rows = scan_runs(root, figures, limit)
    if more:
        seen = {r.id for r in rows}
        for other in more:
            for row in scan_runs(other, figures, limit):
                if row.id not in seen:
                    seen.add(row.id)
                    rows.append(row)
        rows.sort(key=lambda r: (r.started or 0.0, r.id), reverse=True)
    return rows


def _entry_of(row: RunRow, status: Stamp, events: Stamp | None) -> dict:
    entry = {"s": list(status), "k": row.has_checkpoint, "st": row.status_data,
             "f": row.logged.as_dict() if row.logged is not None else None}
    if row.logged is not None:
        entry["e"] = list(events) if events else None
    return entry


def _row_of_entry(run: RunDir, entry: dict, now: float) -> RunRow:
    f = entry.get("f")
    logged = LoggedFigures(str(f.get("source")), f.get("step"), int(f.get("metrics") or 0), f.get("best"),
                           f.get("summary") or {}) if isinstance(f, dict) else None
    return row_of(run, entry.get("st") or {}, logged, bool(entry.get("k")), now)


@dataclass
class SweepGroup:
    """A sweep's trials as one group of the list: a header row, then the trials in order."""

    id: str
    trials: list[RunRow]  # by trial number

    @property
    def key(self) -> str:
        """The header row's key in a table of runs (run ids never contain ':')."""
        return f"sweep:{self.id}"

    @property
    def live(self) -> bool:
        return any(t.live for t in self.trials)

    @property
    def preset(self) -> str:
        return self.trials[0].preset if self.trials else "?"

    @property
    def started(self) -> float | None:
        times = [t.started for t in self.trials if t.started]
        return min(times) if times else None

    @property
    def duration(self) -> float | None:
        """The trials' training time added up (parallel trials count each)."""
        spans = [t.duration for t in self.trials if t.duration is not None]
        return sum(spans) if spans else None

    @property
    def best(self) -> RunRow | None:
        """The trial with the best value of the metric its runs monitor (higher for an
        accuracy, lower for a loss or an error)."""
        scored = [t for t in self.trials if t.best and isinstance(t.best.get("value"), (int, float))]
        if not scored:
            return None
        monitor = str(scored[0].best.get("monitor", ""))
        scored = [t for t in scored if t.best.get("monitor") == monitor]
        return (max if higher_is_better(monitor) else min)(scored, key=lambda t: float(t.best["value"]))

    @property
    def started_text(self) -> str:
        return when(self.started)

    @property
    def duration_text(self) -> str:
        return fmt_duration(self.duration)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.trials:
            out[t.status] = out.get(t.status, 0) + 1
        return out


def group_rows(rows: list[RunRow]) -> list[RunRow | SweepGroup]:
    """The list with each sweep's trials gathered under one :class:`SweepGroup`, placed
    where its newest trial would be; other runs stay as they are."""
    groups: dict[str, SweepGroup] = {}
    out: list[RunRow | SweepGroup] = []
    for row in rows:
        tag = row.sweep
        if tag is None or not tag.get("id"):
            out.append(row)
            continue
        sweep_id = str(tag["id"])
        if sweep_id not in groups:
            groups[sweep_id] = SweepGroup(sweep_id, [])
            out.append(groups[sweep_id])
        groups[sweep_id].trials.append(row)
    for group in groups.values():
        group.trials.sort(key=lambda r: (trial_number(r), r.id))
    return out


def trial_number(row: RunRow) -> int:
    """A trial's number in its sweep (0 when its status says none)."""
    try:
        return int((row.sweep or {}).get("trial") or 0)
    except (TypeError, ValueError):
        return 0


def run_label(run_id: str, preset: str = "") -> str:
    """A short label for a compared run: ``spiral 19:58 #804e`` for an id made by
    ``tuidl.core.run.rundir.new_id``, else the id itself (shortened)."""
    m = _NEW_ID.match(run_id)
    if m:
        name = preset or m.group(5)
        return f"{name} {m.group(2)}:{m.group(3)}:{m.group(4)} #{m.group(6)}"
    return run_id if len(run_id) <= 28 else run_id[:27] + "…"


def delete_run(run: RunDir) -> None:
    """Remove a run directory, unless its trainer is alive. Raises RuntimeError for a
    live run, OSError when the files cannot be removed."""
    status = run.status()
    state = status.get("status")
    if state in LIVE:
        raise RuntimeError(f"run {run.id} is still {state}: stop it first")
    if state == "created" and time.time() - float(status.get("created", 0) or 0) < 30:
        raise RuntimeError(f"run {run.id} is being started")
    if not is_run_dir(run.path):
        raise OSError(f"{run.path} is not a run directory")
    shutil.rmtree(run.path)
