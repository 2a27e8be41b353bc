"""Following a run: a thread worker that reads ``events.jsonl`` and posts batches.

One :class:`Follower` serves three cases:

* **live** (a run this dashboard started): tail the file from the start and post every
  complete new event. When the run ends (``run_ended``, or its trainer process is gone)
  it says so (:class:`FollowEnded`) and keeps watching, more slowly: a run resumed later
  (by this dashboard, another one or ``tuidl train --resume``) is the same run, and its
  new trainer's events follow on. A ``run_ended`` that a resume has already superseded
  (the status is live again, and newer) ends nothing;
* **attach** (a run started elsewhere): the same, so the full history is replayed at
  once and then the run is followed live;
* **replay** (a finished run): play the events back, either as fast as the UI takes
  them (``speed=0``) or at ``speed`` × real time using the events' ``time`` fields.

Events are always posted in batches (:class:`tuidl.ui.messages.RunEvents`), a few
per second at most when live, so a run going at full speed never floods the UI. The
worker never touches widgets: it only posts messages, which is thread-safe.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from textual.message_pump import MessagePump
from textual.worker import Worker, get_current_worker

from tuidl.core.numbers import number
from tuidl.core.run import columns
from tuidl.core.run.events import RUN_ENDED, RUN_STARTED, EventTail
from tuidl.core.run.rundir import LIVE, RunDir
from tuidl.ui.messages import FollowEnded, RunEvents

POLL_S = 0.15  # live tail period
MAX_BATCH = 2000  # events per RunEvents message
MAX_PENDING = 2  # batches posted and not yet handled by the UI, at most
READ_BYTES = 512 << 10  # events.jsonl read per poll (a few thousand events): bounds the memory a replay takes
MAX_GAP_S = 2.0  # a replay waits at most this long (wall time) between two events
STATUS_EVERY_S = 1.0  # how often a quiet live follower looks at status.json
CANCEL_CHECK_S = 0.5  # a follower cancelled without stop() (its worker) ends within this


class Follower:
    """Reads one run's events and posts them to ``target`` in batches.

    ``tail`` may be an :class:`EventTail` left by an earlier follower of the same run
    (a resumed run continues where the last follower stopped), or one the UI started
    where the history it took from the run's columns cache ends; ``taken``: that
    history's events (but its metrics)."""

    def __init__(
        self,
        run: RunDir,
        target: MessagePump,
        *,
        replay: bool = False,
        speed: float = 0.0,
        poll_s: float = POLL_S,
        tail: EventTail | None = None,
        taken: list[dict[str, Any]] | None = None,
    ) -> None:
        self.run = run
        self.target = target
        self.replay = replay
        self.speed = max(0.0, float(speed or 0.0))
        self.poll_s = poll_s
        self.tail = tail if tail is not None else EventTail(run.events_path)
        self.posted = 0  # events posted so far
        self.batches = 0  # messages posted so far
        self.final_status = ""
        self._stop = threading.Event()
        self._cancelled: Callable[[], bool] = lambda: False
        # back-pressure: a replay reads far faster than a UI draws; without a bound,
        # batches would pile up in the message queue (memory that stays taken after)
        self._pending = threading.BoundedSemaphore(MAX_PENDING)
        self._history: list[Any] | None = None  # the history as read so far, while it is kept for the cache
        self._taken_history = taken  # the history's events (but metrics) the UI took before the tail's offset

    # -- helpers ----------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to end at its next check (also done by cancelling the worker)."""
        self._stop.set()

    def stopped(self) -> bool:
        return self._stop.is_set() or self._cancelled()

    def _wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking at once when stopped (:meth:`stop`: the dashboard
        stops its follower when it follows another run or closes); a worker cancelled
        otherwise is noticed within CANCEL_CHECK_S. True if stopped. (Waking every 50 ms
        to look cost a followed run half a percent of a core while nothing happened.)"""
        end = time.monotonic() + max(0.0, seconds)
        while not self.stopped():
            left = end - time.monotonic()
            if left <= 0:
                return False
            self._stop.wait(min(left, CANCEL_CHECK_S))
        return True

    def _taken(self) -> None:
        try:
            self._pending.release()
        except ValueError:  # acknowledged twice: harmless
            pass

    def _post(self, events: list[Any], more: bool = False) -> None:
        """Post ``events`` in batches; ``more``: more follow at once (the tail is behind).
        Runs of plain metrics events travel as columns (:func:`columns.compact`: the UI
        takes 50,000 of them in milliseconds)."""
        events = columns.compact(events)
        if self._history is not None:
            self._history.extend(events)
        for i in range(0, len(events), MAX_BATCH):
            chunk = events[i:i + MAX_BATCH]
            while not self._pending.acquire(timeout=0.05):
                if self.stopped():
                    return
            last = i + MAX_BATCH >= len(events)
            self.target.post_message(RunEvents(self.run.id, chunk, self._taken, more=more or not last))
            self.posted += columns.count(chunk)
            self.batches += 1

    def _read_history(self) -> list[dict[str, Any]]:
        """At the start of a run's reading: its whole history at once from the events
        file's columns cache (posted as one batch; the tail reads on from where the cache
        ends), else the history is kept as it is read, to be written as the cache once it
        is read whole (:meth:`_keep_history`). Returns the cached history's events but
        its metrics (a follower looks for run_started and run_ended among them)."""
        if self._taken_history is not None:
            return self._taken_history
        if self.tail.offset != 0:
            return []
        got = columns.cached(self.run.events_path)
        if got is None:
            self._history = []
            return []
        items, offset = got
        self.tail.start_at(offset)
        self._post(items)
        return [ev for ev in items if type(ev) is dict]

    def _keep_history(self) -> None:
        """The history has been read whole: keep it as the columns cache (written only
        for a big run that has ended, or whose process is gone (a script killed before
        its end: its next opening is as quick as a finished run's): :func:`columns.save`)."""
        history, self._history = self._history, None
        if history is not None and not self.stopped():
            columns.save(self.run.events_path, history, self.tail.complete_offset,
                         over=self.run.status().get("status") not in LIVE)

    def _end(self, status: str, message: str = "") -> str:
        self.final_status = status
        if self.stopped():  # cancelled or replaced on purpose: nobody is waiting
            return status
        self.target.post_message(FollowEnded(self.run.id, status, message, self.replay))
        return status

    # -- the worker body -----------------------------------------------------------
    def __call__(self) -> str:
        try:
            worker = get_current_worker()
            self._cancelled = lambda: worker.is_cancelled
        except Exception:  # called directly, not as a worker
            self._cancelled = lambda: False
        if self.replay:
            return self._replay()
        return self._follow()

    def _follow(self) -> str:
        ended: dict[str, Any] | None = None  # the last run_ended, unless a run_started came after it
        said_ended = False  # FollowEnded posted for the session that ended last
        last_status_check = 0.0
        quiet_polls = 0
        for ev in self._read_history():
            if ev.get("type") == RUN_ENDED:
                ended = ev
            elif ev.get("type") == RUN_STARTED:
                ended = None
        while not self.stopped():
            batch = [ev for ev in self.tail.poll(READ_BYTES) if isinstance(ev, dict)]
            if batch:
                quiet_polls = 0
                self._post(batch, more=self.tail.behind)
                for ev in batch:
                    if ev.get("type") == RUN_ENDED:
                        ended = ev
                    elif ev.get("type") == RUN_STARTED:
                        ended, said_ended = None, False  # a resumed trainer: the same run goes on
            if self._history is not None and not self.tail.behind:
                self._keep_history()  # the history is read: a finished run's is kept as its cache
            elif not said_ended:
                quiet_polls += 1
                now = time.monotonic()
                if ended is not None and quiet_polls >= 2:
                    if not self._resumed_since(ended):
                        said_ended = True
                        self._said(str(ended.get("status", "completed")), str(ended.get("message", "")))
                elif now - last_status_check >= STATUS_EVERY_S:
                    last_status_check = now
                    status = self.run.status()
                    state = str(status.get("status", ""))
                    if state not in LIVE and state not in ("created", "unknown", ""):
                        # Drain what the trainer wrote last, then say so.
                        rest = [ev for ev in self.tail.poll(READ_BYTES) if isinstance(ev, dict)]
                        if rest:
                            self._post(rest)
                            quiet_polls = 0
                            if any(ev.get("type") == RUN_ENDED for ev in rest):
                                ended = [ev for ev in rest if ev.get("type") == RUN_ENDED][-1]
                            continue
                        said_ended = True
                        self._said(state, str(status.get("message", "") or ""))
            # an ended run is watched for a resume at a slower pace; a history is read on at once
            if self._wait(0.0 if self.tail.behind else STATUS_EVERY_S if said_ended else self.poll_s):
                break
        return self._end("detached", "stopped following")

    def _resumed_since(self, ended: dict[str, Any]) -> bool:
        return resumed_since(self.run, ended)

    def _said(self, status: str, message: str) -> None:
        """Tell the target the run ended (the follower goes on watching for a resume)."""
        self.final_status = status
        if not self.stopped():
            self.target.post_message(FollowEnded(self.run.id, status, message, self.replay))

    def _replay(self) -> str:
        ended: dict[str, Any] | None = None
        if self.speed <= 0:
            ended = _last_end(self._read_history())
            while not self.stopped():
                batch = [ev for ev in self.tail.poll(READ_BYTES) if isinstance(ev, dict)]
                if not batch:
                    break
                ended = _last_end(batch) or ended
                self._post(batch, more=self.tail.behind)
                # the UI sets the pace (at most MAX_PENDING batches wait for it): no sleep
                # between the chunks of a big file (64 of them made 0.64 s of a 50,000-step run's)
                if self.stopped():
                    break
            self._keep_history()
        else:
            pending: list[dict[str, Any]] = []
            start_wall = time.monotonic()
            offset = 0.0  # replay clock, in wall seconds since start
            prev_t: float | None = None
            while not self.stopped():
                chunk = [ev for ev in self.tail.poll(READ_BYTES) if isinstance(ev, dict)]
                if not chunk:
                    break
                for ev in chunk:
                    t = _time_of(ev)
                    if t is not None:
                        if prev_t is not None and t > prev_t:
                            offset += min((t - prev_t) / self.speed, MAX_GAP_S)
                        prev_t = t if prev_t is None else max(prev_t, t)
                    wait = start_wall + offset - time.monotonic()
                    if wait > self.poll_s:
                        # Events due within one tick travel together; then sleep.
                        if pending:
                            self._post(pending)
                            ended = _last_end(pending) or ended
                            pending = []
                        if self._wait(wait):
                            break
                    pending.append(ev)
                    if len(pending) >= MAX_BATCH:
                        self._post(pending)
                        ended = _last_end(pending) or ended
                        pending = []
            if pending and not self.stopped():
                self._post(pending)
                ended = _last_end(pending) or ended
        if self.stopped():
            return self._end("detached", "replay stopped")
        if ended is None:
            status = self.run.status()
            return self._end(str(status.get("status", "unknown")), "replay ended without a run_ended event")
        return self._end(str(ended.get("status", "completed")), str(ended.get("message", "")))


def _last_end(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    for ev in reversed(events):
        if ev.get("type") == RUN_ENDED:
            return ev
    return None


def _time_of(ev: dict[str, Any]) -> float | None:
    try:
        t = number(ev.get("time"))
    except (TypeError, ValueError):
        return None
    return t if t == t and abs(t) != float("inf") else None


def follow(
    node: Any,
    run: RunDir,
    *,
    target: MessagePump | None = None,
    replay: bool = False,
    speed: float = 0.0,
    poll_s: float = POLL_S,
    tail: EventTail | None = None,
    taken: list[dict[str, Any]] | None = None,
) -> tuple[Follower, Worker]:
    """Start a follower as a thread worker of ``node`` (the app or a widget); events go
    to ``target`` (default ``node``). Starting another follower cancels the previous
    one (the workers share the group ``follow``)."""
    follower = Follower(run, target or node, replay=replay, speed=speed, poll_s=poll_s, tail=tail, taken=taken)
    worker = node.run_worker(
        follower,
        name=f"follow {run.id}",
        group="follow",
        description=("replay " if replay else "follow ") + str(run.path),
        exclusive=True,
        thread=True,
        exit_on_error=False,
    )
    return follower, worker


def resumed_since(run, ended: dict[str, Any]) -> bool:
    """The run trains again after this ``run_ended`` (resumed by anyone): its status is
    live and was written after the event (a resume is starting; its events follow)."""
    status = run.status()
    if status.get("status") not in LIVE:
        return False
    try:
        return float(status.get("updated", 0)) > float(ended.get("time", 0))
    except (TypeError, ValueError):
        return False
