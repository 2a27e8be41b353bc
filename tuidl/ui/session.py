"""The run the dashboard shows, in one object: :class:`RunSession`.

It holds the run's lifecycle (a :class:`RunState`), the run directory, how it is shown
(followed live or replayed), the :class:`~tuidl.core.runview.RunView` its events are
taken into, the follower that reads them (:mod:`tuidl.ui.follow`) and the trainer kept
warm for the next Start (:class:`tuidl.core.launch.Standby`). The app changes it; the
app and the panes read it.

Starting a trainer happens in a thread worker; its outcome comes back to the app as a
message (:class:`TrainerStarted` or :class:`TrainerFailed`), never as a callback run
from the thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from textual.message import Message

from ..core.rundir import LIVE, RunDir
from ..core.runview import RunView

if TYPE_CHECKING:  # no torch at import time
    from ..core.launch import Standby
    from .follow import Follower


class RunState(str, Enum):
    """What the run controls show: ``idle`` (no run yet), ``launching`` (a trainer is
    being started), ``live`` (training), ``paused``, ``ended`` (a run that no longer
    trains is shown) or ``replay``."""

    IDLE = "idle"
    LAUNCHING = "launching"
    LIVE = "live"
    PAUSED = "paused"
    ENDED = "ended"
    REPLAY = "replay"

    def __str__(self) -> str:
        return self.value


class Mode(str, Enum):
    """How the run shown is read: not at all yet, followed (started here or attached:
    its history, then live) or replayed."""

    NONE = ""
    LIVE = "live"
    REPLAY = "replay"

    def __str__(self) -> str:
        return self.value


@dataclass
class TrainerStarted(Message):
    """A thread worker started a trainer for ``run`` (``resumed``: it continues the
    run from its last checkpoint)."""

    run: RunDir
    resumed: bool = False


@dataclass
class TrainerFailed(Message):
    """A thread worker could not start a trainer: ``message`` says why."""

    message: str


class RunSession:
    """The run the dashboard shows and where it stands (see the module docstring)."""

    def __init__(self) -> None:
        self.state = RunState.IDLE
        self.detail = ""  # a few words next to the state (the run's id, how it ended)
        self.run: RunDir | None = None
        self.mode = Mode.NONE
        self.view = RunView()
        self.follower: Follower | None = None
        self.standby: Standby | None = None
        self.trains = False  # the run shown is followed live and its trainer trains
        self.launching = False  # a trainer is being started (a worker is at it)
        self.ended: dict[str, Any] | None = None  # its run_ended event, once it came (and no resume since)
        self.events_received = 0

    # -- reading -------------------------------------------------------------------------
    @property
    def live(self) -> bool:
        """The run shown is followed live (not a replay) and trains."""
        return self.run is not None and self.mode == Mode.LIVE and self.trains

    @property
    def paused(self) -> bool:
        return self.state == RunState.PAUSED or self.view.paused

    def live_run(self) -> RunDir | None:
        """The run shown, when it trains now (its status says so, or it is still being
        created): what quitting asks about."""
        if self.live:
            status = self.run.status().get("status")
            if status in LIVE or status in ("created", None):
                return self.run
        return None

    def restarted_since(self, ended: dict[str, Any]) -> bool:
        """Whether the run trains again after this ``run_ended`` (resumed, by this
        dashboard or anyone): its status is live and was written after the event."""
        if self.run is None:
            return False
        status = self.run.status()
        if status.get("status") not in LIVE:
            return False
        try:
            return float(status.get("updated", 0)) > float(ended.get("time", 0))
        except (TypeError, ValueError):
            return False

    # -- changing --------------------------------------------------------------------------
    def set_state(self, state: RunState | str, detail: str = "") -> RunState:
        self.state = RunState(state)
        self.detail = detail
        return self.state

    def begin(self, run: RunDir, mode: Mode | str) -> RunView:
        """Show ``run`` from its first event on: a new view; followed live or replayed."""
        self.run = run
        self.mode = Mode(mode)
        self.ended = None
        self.events_received = 0
        self.view = RunView()
        self.trains = self.mode == Mode.LIVE
        return self.view

    def drop_standby(self) -> None:
        """Close the warm trainer's pipe: it ends on its own (nothing waits for it)."""
        if self.standby is not None:
            self.standby.close()
            self.standby = None
