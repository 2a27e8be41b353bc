"""The dashboard's run controller: the run it shows, started, attached, replayed and
controlled.

It starts a run (``launch.start`` in a thread, so the UI never waits; the outcome comes
back as a message), attaches to one (its whole history, then live), replays one, follows
its ``events.jsonl`` (:mod:`tuidl.ui.follow`), hands what the run's
:class:`~tuidl.core.run.runview.RunView` took to the panes that take events, sends
control commands (pause, stop, checkpoint) and keeps a trainer warm for the next Start.
The state lives in the app's :class:`~tuidl.ui.session.RunSession`; this is what changes it.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from tuidl.core.preset.schema import ConfigError
from tuidl.core.run import columns
from tuidl.core.run.events import EventTail
from tuidl.core.run.rundir import RunDir, tail_lines
from tuidl.ui.follow import follow
from tuidl.ui.messages import FollowEnded, RunEvents, TrainerFailed, TrainerStarted
from tuidl.ui.session import Mode, RunState
from tuidl.ui.widgets.keybar import EssentialKeys

if TYPE_CHECKING:
    from tuidl.ui.panes.runs import RunsPane
    from tuidl.ui.panes.system import SystemPane
    from tuidl.ui.panes.training import TrainingPane


class RunController:
    """What the app does with the run it shows (``app.session``)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.session = app.session

    @property
    def training(self) -> TrainingPane:
        return self.app.panes["training"]

    @property
    def system(self) -> SystemPane:
        return self.app.panes["system"]

    @property
    def runs(self) -> RunsPane:
        return self.app.panes["runs"]

    # -- state, the warm trainer --------------------------------------------------------
    def set_state(self, state: RunState | str, detail: str = "") -> None:
        app = self.app
        state = self.session.set_state(state, detail)
        self.training.set_run_state(state, detail)
        # (a follower's last message can come while the dashboard closes, its widgets gone)
        for keys in app.query(EssentialKeys):
            keys.set_run_state(state.value)
        app.refresh_bindings()
        if state in (RunState.IDLE, RunState.ENDED):
            app.call_after_refresh(self.keep_standby)

    def keep_standby(self) -> None:
        """Keep a trainer warm for the next Start (``warm_trainer``): Start then trains
        within a second instead of waiting seconds for PyTorch to load. Not while a run
        trains: the standby's warm-up would compete with it for the CPU."""
        session, app = self.session, self.app
        if not app.warm_trainer or session.live or session.launching:
            return
        if session.standby is not None and session.standby.alive():
            return
        from tuidl.core.run.launch import Standby

        try:
            session.standby = Standby()
        except OSError:  # no trainer kept warm: Start starts one cold
            session.standby = None
            app.warm_trainer = False

    def drop_standby(self) -> None:
        """Close the warm trainer's pipe: it ends on its own (nothing waits for it)."""
        self.session.drop_standby()

    # -- showing a run ------------------------------------------------------------------
    def begin(self, run: RunDir, mode: Mode | str, *, replay_speed: float = 0.0) -> None:
        app = self.app
        if app.deck.when_mounted("training", functools.partial(self.begin, run, mode, replay_speed=replay_speed)):
            return
        session = self.session
        view = session.begin(run, mode)
        self.training.show_run(view, run.path)
        self.system.show_run(view)  # figures of an earlier run do not describe this one
        if session.mode == Mode.LIVE:
            standby = session.standby
            if standby is not None and run.process is not standby.proc and run.is_live():
                self.drop_standby()  # no warm trainer while a run trains (it competes for the CPU)
            # A run this dashboard launched is measured here; an attached one may live on
            # another machine: the system pane tells from its run_started event.
            pid = getattr(run.process, "pid", None)
            if pid:
                self.system.set_trainer_pid(int(pid))
            self.set_state(RunState.LIVE, run.id)
        else:
            self.set_state(RunState.REPLAY, run.id)
        # A finished big run's history from its columns cache (milliseconds): taken here,
        # so the pane shows the whole run in the frame that switches to it (one layout of
        # the screen, not one for the switch and one for the charts); the follower reads
        # on from where the cache ends.
        history = columns.cached(run.events_path) if session.mode == Mode.LIVE or replay_speed <= 0 else None
        tail = None
        if history is not None:
            tail = EventTail(run.events_path)
            tail.start_at(history[1])
        taken = [ev for ev in history[0] if type(ev) is dict] if history is not None else None
        if session.mode == Mode.LIVE:
            session.follower, _ = follow(app, run, tail=tail, taken=taken)
        else:
            session.follower, _ = follow(app, run, replay=True, speed=replay_speed, tail=tail, taken=taken)
        app.title = f"tuidl: {run.id}"
        app.sub_title = app.preset.name  # an earlier run's news ("… stopped at epoch 2") is not this one's
        if history is not None:
            self.take(history[0])
        if session.mode == Mode.LIVE:  # a run started, resumed or attached here: the Runs pane's cursor follows
            self.runs.select_when_listed(run.id)

    def start_replay(self, run: RunDir, speed: float = 0.0) -> None:
        """Play a finished (or any) run's events back; nothing is controlled."""
        self.begin(run, Mode.REPLAY, replay_speed=speed)

    def start_attach(self, run: RunDir) -> None:
        """Follow a run started elsewhere: its whole history, then live."""
        if self.app.deck.when_mounted("training", self.start_attach, run):
            return
        self.begin(run, Mode.LIVE)
        if not run.is_live():
            self.session.trains = False
            self.set_state(RunState.ENDED, run.id)

    def switching_from(self, run: RunDir) -> None:
        """Say so when the run this dashboard showed keeps training out of sight."""
        current = self.session.live_run()
        if current is not None and current.id != run.id:
            self.app.notify(f"{current.id} keeps training in the background; the Runs pane (5) reattaches to it.",
                            timeout=6)

    def load_run_preset(self, run: RunDir) -> None:
        """Show a run's own preset in the panes (as `tuidl attach` / `tuidl replay` do)."""
        from tuidl.core.preset import preset as P

        app = self.app
        if run.logged:  # a logged run has a config, no preset: the panes keep theirs
            app.sub_title = str(run.read_status().get("name") or run.id)
            return
        try:
            preset = P.load(run.preset_path)
        except (ConfigError, OSError) as e:
            app.notify(f"{run.id}: its preset cannot be shown ({e})", severity="warning")
            return
        app.load_preset(preset)
        app.sub_title = preset.name

    # -- starting and controlling -------------------------------------------------------
    def start(self) -> None:
        app, session = self.app, self.session
        if session.live:  # say so: a key that does nothing and says nothing looks broken
            app.notify("the run is paused — p resumes, x stops" if session.state == RunState.PAUSED else
                       "already training — p pauses, x stops", severity="warning", timeout=4)
            return
        if session.launching:
            app.notify("a run is starting…", timeout=2)
            return
        session.launching = True
        self.set_state(RunState.LAUNCHING, app.preset.name)
        preset = app.preset
        app.run_worker(lambda: session.start_trainer(app, preset, runs_root=app.runs_root, telemetry=app.telemetry,
                                                     allow_code=app.allow_code),
                       name="launch", group="launch", thread=True, exit_on_error=False)

    def resume(self, run: RunDir) -> None:
        """Continue a stopped / interrupted / failed run from its last checkpoint (a
        trainer process of its own, like any run), then attach to it."""
        app, session = self.app, self.session
        if session.launching:
            return
        if run.logged:
            app.notify(f"{run.id} is a logged run (tuidl.init / tuidl run): it has no preset or checkpoint "
                       "of tuidl's to resume from; r runs its command or script again", title="Cannot resume",
                       severity="warning", timeout=8)
            return
        session.launching = True
        self.set_state(RunState.LAUNCHING, f"resuming {run.id}")
        app.run_worker(lambda: session.resume_trainer(app, run, telemetry=app.telemetry, allow_code=app.allow_code),
                       name="resume", group="launch", thread=True, exit_on_error=False)

    def trainer_failed(self, message: TrainerFailed) -> None:
        self.session.launching = False
        self.set_state(RunState.ENDED if self.session.run is not None else RunState.IDLE)
        self.app.notify(message.message, title="Cannot start", severity="error", timeout=10)

    def trainer_started(self, message: TrainerStarted) -> None:
        app, run = self.app, message.run
        self.session.launching = False
        if message.resumed:
            self.switching_from(run)
            self.load_run_preset(run)
            self.start_attach(run)
            app.action_show_pane("training")
            app.notify(f"resuming {run.id} from its last checkpoint", title="Run resumed")
            self.runs.refresh_runs()
        else:
            self.begin(run, Mode.LIVE)
            app.notify(f"training {run.id}", title="Run started")

    def send(self, command: str) -> bool:
        session, app = self.session, self.app
        if not session.live:
            what = "a replay cannot be controlled" if session.mode == Mode.REPLAY else "no run is training"
            app.notify(f"{command}: {what}", severity="warning")
            return False
        try:
            session.run.send(command)
        except OSError as e:
            app.notify(f"could not send {command} to {session.run.id}: {e.strerror or e}", severity="error")
            return False
        return True

    def pause(self, command: str | None = None) -> None:
        """Pause, or resume a paused run (``command``: the one asked for, else the toggle)."""
        command = command or ("resume" if self.session.paused else "pause")
        if self.send(command):
            self.app.notify("resuming…" if command == "resume" else "pausing…", timeout=2)

    def stop(self) -> None:
        if self.send("stop"):
            self.app.notify("stopping: the trainer saves a checkpoint, then ends", timeout=3)

    def checkpoint(self) -> None:
        if self.send("checkpoint"):
            self.app.notify("checkpoint requested", timeout=2)

    # -- the run's events -----------------------------------------------------------------
    def closed(self) -> bool:
        """The dashboard is closing (``exit`` was called, or its screens are gone): what the
        follower sends late has nothing left to be shown on."""
        app = self.app
        return app.closing or not app.is_running or not app.screen_stack

    def take_events(self, message: RunEvents) -> None:
        app, session = self.app, self.session
        if self.closed():
            return  # the dashboard is closing: its panes are being taken down (a batch the follower sent late)
        run = session.run
        if run is None or message.run_id != run.id:
            return  # a stale batch from a follower that was replaced
        self.take(message.events, more=message.more)

    def take(self, events: list[Any], more: bool = False) -> None:
        """Take a batch of the run's events (``more``: more follow at once) and show it."""
        app, session, run = self.app, self.session, self.session.run
        session.events_received += columns.count(events)
        applied = session.view.apply(events)  # the one place events become state
        for pane in app.deck.event_panes():
            pane.take(applied, more=more)
        live = session.mode == Mode.LIVE
        for change in applied.changes:
            ev = change.ev
            if change.what == "started" and live:
                session.ended = None
                if run.is_live():  # (resumed, maybe elsewhere: the follower follows on)
                    session.trains = True
                    self.drop_standby()  # no warm trainer while a run trains
                    self.set_state(RunState.LIVE, run.id)
            elif change.what == "paused" and session.live:
                self.set_state(RunState.PAUSED, run.id)
                app.sub_title = f"{app.preset.name} · paused"
            elif change.what == "resumed" and session.live:
                self.set_state(RunState.LIVE, run.id)
                app.sub_title = app.preset.name
            elif change.what == "diverged":
                self.alert(ev, f"DIVERGED: {run.id}", str(ev.get("message", "")))
            elif change.what == "ended":
                if live and session.restarted_since(ev):
                    continue  # an earlier trainer's end: the run was resumed since and trains again
                session.ended = ev
                status = str(ev.get("status", "ended"))
                if live:
                    session.trains = False
                    self.set_state(RunState.ENDED, f"{status} · {run.id}")
                    self.runs.select_when_listed(run.id)
                if status != "diverged":
                    self.alert(ev, f"{status}: {run.id}", str(ev.get("message", "")))

    def alert(self, ev: dict[str, Any], title: str, message: str) -> None:
        """Ring the bell and put the news in the terminal title, for live news only
        (not for a replay, nor for the history of an attached run)."""
        app = self.app
        app.title = f"tuidl: {title}"
        app.sub_title = message[:80]
        try:
            recent = time.time() - float(ev.get("time", 0)) < 60
        except (TypeError, ValueError):
            recent = False
        if self.session.mode == Mode.LIVE and recent and app.alert_center is None:  # (else the center rings)
            app.bell()

    def follow_ended(self, message: FollowEnded) -> None:
        app, session = self.app, self.session
        if self.closed():
            return  # the dashboard is closing (its screens gone): the run's end is in its folder
        run = session.run
        if run is None or message.run_id != run.id:
            return
        if session.mode == Mode.REPLAY:
            self.set_state(RunState.ENDED, f"{message.status} · replay of {run.id}")
            return
        if session.live:
            # The trainer is gone without a run_ended event (killed, crashed).
            session.trains = False
            self.set_state(RunState.ENDED, f"{message.status} · {run.id}")
            self.runs.select_when_listed(run.id)
            if session.ended is None:
                app.notify(f"{run.id}: {message.message or message.status}", title="Run ended",
                           severity="error", timeout=10)
                self.training.log_line(f"the trainer ended without a word: {message.status}"
                                       + (f": {message.message}" if message.message else ""), "bold red")
                for line in tail_lines(run.path / "trainer.err", 8):
                    self.training.log_line("  " + line, "red")
                app.title = f"tuidl: {message.status}: {run.id}"
                app.bell()

    # -- what the Runs pane asks for ------------------------------------------------------
    def open(self, run: RunDir) -> None:
        """Show a run: attach when it is live, replay it when it is not."""
        app = self.app
        if self.session.launching:
            app.notify("a run is being started: wait a moment", severity="warning")
            return
        if not run.events_path.exists() and not run.is_live():
            app.notify(f"{run.id} has no events to show", severity="warning")
            return
        self.switching_from(run)
        self.load_run_preset(run)
        if run.is_live():
            self.start_attach(run)
            app.notify(f"attached to {run.id}", timeout=3)
        else:
            self.start_replay(run, 0.0)
        app.action_show_pane("training")

    def rerun(self, run: RunDir) -> None:
        """Load the run's preset as the current one and start a new run of it."""
        from tuidl.core.preset import preset as P

        app = self.app
        if self.session.live or self.session.launching:
            app.notify("A run is already training: stop it first (x).", severity="warning")
            return
        if run.logged:
            self.run_again(run)
            return
        try:
            preset = P.load(run.require_preset("re-run"))
        except (ConfigError, OSError) as e:
            app.notify(f"cannot load the preset of {run.id}: {e}", title="Cannot re-run",
                       severity="error", timeout=10)
            return
        app.load_preset(preset)
        app.sub_title = preset.name
        app.action_show_pane("training")
        self.start()

    def run_again(self, run: RunDir) -> None:
        """A logged run's command or script, again (``tuidl run --again``): a new detached
        run, attached to as it starts."""
        from tuidl.core.run import command

        app = self.app
        try:
            command.again_of(run)
        except ValueError as e:
            app.notify(str(e), title="Cannot re-run", severity="warning", timeout=10)
            return

        def start() -> None:
            try:
                new = command.again(run, runs_root=app.runs_root)
            except (OSError, ValueError) as e:
                app.call_from_thread(app.notify, f"{run.id}: {e}", title="Cannot re-run", severity="error", timeout=10)
                return
            app.call_from_thread(app.notify, f"{new.id}: {' '.join(command.again_of(run)[0])}", title="Running again")
            app.call_from_thread(self.start_attach, new)

        app.run_worker(start, name="again", group="launch", thread=True, exit_on_error=False)

    def tell_live_runs(self, rows: list[Any]) -> None:
        """At start-up: tell about runs that still train, and how to follow them."""
        shown = {run.id for run in (self.session.run, self.app.attach_run) if run is not None}
        rows = [r for r in rows if r.id not in shown]
        if not rows:
            return
        names = ", ".join(r.id for r in rows[:3]) + (f" and {len(rows) - 3} more" if len(rows) > 3 else "")
        self.app.notify(f"{names}.\nOpen the Runs pane (5) and press enter to attach, or run "
                        f"`tuidl attach {rows[0].id}`.",
                        title=f"{len(rows)} run{'s' if len(rows) != 1 else ''} still training", timeout=12)
