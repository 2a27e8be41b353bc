"""How the Runs pane lists the runs: read off the UI thread (:func:`scan_roots`, the same figures as
``tuidl runs``), one listing at a time, every couple of seconds while the pane is on screen and
less often when a listing is slow; the first listing shows the newest runs first, then every run,
then logged runs' figures (docs/runs.md, "Many runs")."""

from __future__ import annotations

import time

from textual.message import Message
from textual.worker import Worker, WorkerState

from tuidl.core.remote.client import roots as remote_roots
from tuidl.core.run.runfilter import Filter, read_configs
from tuidl.core.run.runlist import RunRow, scan_roots
from tuidl.core.sweep.queue import Entry
from tuidl.ui.visible import shown

SCAN_GROUP = "runs-scan"  # the listing's thread worker
SCAN_SHARE = 10  # the timer's listings take at most a tenth of the time (a long list is listed less often)
FIRST_SCREEN = 200  # the first listing reads the newest runs only, then all, then logged runs' figures


def waiting_in_queue(runs_root) -> list[Entry]:
    """Entries of the runs root's queue still waiting for a slot, in order (none without
    a queue)."""
    from tuidl.core.preset.schema import ConfigError
    from tuidl.core.sweep.queue import Queue

    try:
        return [e for e in Queue(runs_root).entries() if e.status == "waiting"]
    except ConfigError:
        return []


class Scanned(Message, namespace="runs_pane"):
    """A fresh listing: what the scanning thread returned, posted by the pane to itself
    on the UI thread once the thread ended (``on_worker_state_changed``). The pane's
    message (``on_runs_pane_scanned``), defined here beside the listing that sends it."""

    def __init__(self, rows: list[RunRow], error: str = "", queued: list[Entry] | None = None,
                 matched: list[RunRow] | None = None, by: Filter | None = None, then: str | None = None) -> None:
        super().__init__()
        self.rows = rows
        self.then = then  # the next phase of this listing ("all", "figures"), or None: it is complete
        self.error = error
        self.queued = queued or []  # entries of the queue waiting for a slot, in order
        self.matched = matched  # the rows that match ``by`` (the filter when the scan began), or None
        self.by = by


class Listing:
    """The Runs pane's listing (a part of the pane, kept here so the pane's own class stays
    small): its scans and their state. The pane gives ``runs_root``, ``root``, ``filter``,
    ``rows``, ``all_rows``, ``show_rows()``, the ``LiveRuns`` message, and the
    scan state its ``__init__`` sets (``scans``, ``_scanning``, ``_stale``, ``_rescan``,
    ``_announced``, ``_scan_cost``, ``_scan_ended``)."""

    _configs_read = False  # the runs' configs were read ahead (once, after the first whole listing)

    def refresh_runs(self) -> None:
        """Read the runs root again, in a thread (one scan at a time). While the pane is
        hidden only the first scan runs (it announces live runs); the pane scans again
        when it is shown. It may be called before the pane is mounted (the app asks for a
        listing after a sweep or a queued run starts): the listing is then shown once it is."""
        if self.scans and not shown(self):
            self._stale = True
            return
        if self._scanning:
            self._rescan = True
            return
        self._scanning = True
        self._start_scan("head" if not self.scans and not self.all_rows else "all")

    def _start_scan(self, phase: str) -> None:
        self.run_worker(lambda: self._scan(phase), name=f"scan runs ({phase})", group=SCAN_GROUP, thread=True,
                        exit_on_error=False)

    def _scan(self, phase: str = "all") -> Scanned:
        """The listing, in the worker's thread. Returned, not posted from here: the pane
        takes it when the worker's state changes, on the UI thread (``on_worker_state_changed``).
        A message posted from a thread looks the app up through the pane's parents, which
        a pane not mounted yet does not have: that listing was lost and ``_scanning`` stayed
        set, so the pane never listed anything."""
        try:
            began = time.perf_counter()
            rows = scan_roots(self.runs_root, remote_roots(), figures=phase == "figures",
                              limit=FIRST_SCREEN if phase == "head" else None)
            self._scan_cost = time.perf_counter() - began
            then = None
            if phase == "head" and len(rows) >= FIRST_SCREEN:
                then = "all"
            elif phase != "figures" and any(r.logged is not None and r.logged.pending for r in rows):
                then = "figures"
            queued = waiting_in_queue(self.runs_root)
            found = self.filter
            if found:
                return Scanned(rows, queued=queued, matched=found.apply(rows), by=found, then=then)
        except OSError as e:
            return Scanned([], f"cannot read {self.root}: {e.strerror or e}")
        except Exception as e:  # noqa: BLE001 - a listing problem must never take the pane down
            return Scanned([], f"{type(e).__name__}: {e}")
        return Scanned(rows, queued=queued, then=then)

    def _scan_finished(self, worker: Worker) -> None:
        """A scan ended (whatever way it did): its listing is shown and the next scan may start."""
        if worker.state == WorkerState.SUCCESS and isinstance(worker.result, Scanned):
            self.post_message(worker.result)
        elif worker.state == WorkerState.ERROR:
            self.post_message(Scanned(self.rows, f"the listing failed: {worker.error!r}"))
        else:  # cancelled (the app closes): nothing to show, but a scan asked for meanwhile may run
            self._scan_done()

    def _timed_refresh(self) -> None:
        """The timer's listing: skipped while the last one's cost is more than a tenth of the
        time since it ended (10,000 runs are stat-ed in about 0.3 s: not every 2 s)."""
        if time.monotonic() - self._scan_ended >= SCAN_SHARE * self._scan_cost:
            self.refresh_runs()

    def _scan_done(self) -> None:
        self._scan_ended = time.monotonic()
        self._scanning = False
        if self._rescan:
            self._rescan = False
            self.refresh_runs()

    def on_runs_pane_scanned(self, message: Scanned) -> None:
        message.stop()
        first = self.scans == 0
        matched = message.matched if message.by is self.filter else None
        self.show_rows(message.rows, message.error, message.queued, matched=matched, count=message.then is None)
        if message.then == "all" and not shown(self):  # a long list while the pane is hidden: the
            self._stale = True  # newest runs only, the rest when it is shown (the app starts unslowed)
            self._announce(message.rows)
            self._scan_done()
            return
        if message.then is not None:  # the same listing goes on: all runs, then logged runs' figures,
            # once these rows are on screen (its thread would take the GIL from the drawing)
            self.call_after_refresh(self._start_scan, message.then)
            return
        if first:
            self._announce(message.rows)
        if not self._configs_read and message.rows and not message.error:
            # the listing is whole: the configs a filter on a config key reads, read ahead
            # and kept in the runs root, once (the first such filter then waits for none)
            self._configs_read = True
            rows = list(message.rows)
            self.run_worker(lambda: read_configs(rows), name="read configs ahead", group="runs-configs",
                            thread=True, exclusive=True, exit_on_error=False)
        self._scan_done()

    def _announce(self, rows: list[RunRow]) -> None:
        """Tell the app, once, of the runs found live at the first look."""
        if not self._announced:
            self._announced = True
            live = [r for r in rows if r.live]
            if live:
                self.post_message(self.LiveRuns(live))
