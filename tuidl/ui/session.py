"""The run the dashboard shows, in one object: :class:`RunSession`.

It holds the run's lifecycle (a :class:`RunState`), the run directory, how it is shown
(followed live or replayed), the :class:`~tuidl.core.run.runview.RunView` its events are
taken into, the follower that reads them (:mod:`tuidl.ui.follow`) and the trainer kept
warm for the next Start (:class:`tuidl.core.run.launch.Standby`). The app changes it; the
app and the panes read it.

Starting a trainer happens in a thread worker; its outcome comes back to the app as a
message (:class:`TrainerStarted` or :class:`TrainerFailed`), never as a callback run
from the thread.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, Callable

from textual.message_pump import MessagePump

from tuidl.core.preset.preset import Preset
from tuidl.core.run.rundir import LIVE, RunDir
from tuidl.core.run.runview import RunView
from tuidl.ui.follow import resumed_since
from tuidl.core.preset.schema import ConfigError
from tuidl.ui.messages import TrainerFailed, TrainerStarted
from tuidl.ui.resolved import resolved
from tuidl.ui.series import Series

if TYPE_CHECKING:  # no torch at import time
    from tuidl.core.run.launch import Standby
    from tuidl.ui.follow import Follower


def new_view() -> RunView:
    """A RunView for the dashboard: its lines are the charts' own Series, so no point
    is stored twice."""
    return RunView(curve=Series)


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


class RunSession:
    """The run the dashboard shows and where it stands (see the module docstring)."""

    def __init__(self) -> None:
        self.state = RunState.IDLE
        self.detail = ""  # a few words next to the state (the run's id, how it ended)
        self.run: RunDir | None = None
        self.mode = Mode.NONE
        self.view = new_view()
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
        return self.run is not None and resumed_since(self.run, ended)

    # -- changing --------------------------------------------------------------------------
    def set_state(self, state: RunState | str, detail: str = "") -> RunState:
        self.state = RunState(state)
        self.detail = detail
        return self.state

    def begin(self, run: RunDir, mode: Mode | str) -> RunView:
        """Show ``run`` from its first event on: a new view; followed live or replayed."""
        self.stop_following()
        self.run = run
        self.mode = Mode(mode)
        self.ended = None
        self.events_received = 0
        self.view = new_view()
        self.trains = self.mode == Mode.LIVE
        return self.view

    def stop_following(self) -> None:
        """The follower of the run shown ends now (another run is shown, or the dashboard
        closes): its thread wakes at once instead of at its next look."""
        if self.follower is not None:
            self.follower.stop()
            self.follower = None

    # -- starting a trainer (thread worker bodies: the outcome is posted to ``target``) ----
    def start_trainer(self, target: MessagePump, preset: Preset, **options: Any) -> None:
        """Create a run directory for ``preset`` and start its trainer (``options``:
        those of :func:`tuidl.core.run.launch.start`), with the warm trainer if there is one."""
        from tuidl.core.run import launch

        def start() -> RunDir:
            # The warm trainer is used up only once the preset is accepted: a refused Start
            # leaves it waiting (taking it first leaked one warm process per refusal).
            run = launch.start(preset, standby=self.standby, resolved=resolved(preset), **options)
            self.standby = None  # it trains this run, or was closed for a cold start
            return run

        _post_outcome(target, start)

    def resume_trainer(self, target: MessagePump, run: RunDir, **options: Any) -> None:
        """Continue ``run`` from its last checkpoint in a trainer of its own (``options``:
        those of :func:`tuidl.core.run.launch.resume`), after checking it can be resumed."""
        from tuidl.core.run import launch

        if run.status().get("status") == "completed":
            target.post_message(TrainerFailed(f"{run.id} already completed; nothing to resume"))
            return

        def start() -> RunDir:
            resumed = launch.resume(run, standby=self.standby, **options)
            self.standby = None  # it trains the resumed run, or was closed for a cold start
            return resumed

        _post_outcome(target, start, resumed=True, refused=(RuntimeError, ConfigError))

    def drop_standby(self) -> None:
        """Close the warm trainer's pipe: it ends on its own (nothing waits for it)."""
        if self.standby is not None:
            self.standby.close()
            self.standby = None


def _post_outcome(target: MessagePump, start: Callable[[], RunDir], resumed: bool = False,
                  refused: tuple[type[Exception], ...] = (ConfigError,)) -> None:
    """``start()`` a trainer, then post :class:`TrainerStarted` to ``target``; a failure
    is posted as :class:`TrainerFailed` (``refused`` ones by their message alone), never
    raised."""
    try:
        run = start()
    except refused as e:
        # the preset shown here (edited, maybe): its fields, not the file it came from
        message = e.brief() if isinstance(e, ConfigError) else str(e)
    except OSError as e:
        message = f"cannot start the trainer: {e}"
    except Exception as e:  # noqa: BLE001 - show it, never crash the dashboard
        message = f"{type(e).__name__}: {e}"
    else:
        target.post_message(TrainerStarted(run, resumed))
        return
    target.post_message(TrainerFailed(message))
