"""The dashboard: five panes (Model builder, Dataset & split, Training, GPU / system,
Runs) around one current :class:`~tuidl.core.preset.preset.Preset`.

On a wide terminal (``WIDE_AT`` columns or more) the panes sit side by side in a grid;
on narrower ones they are tabs. Keys ``1``-``5`` jump to a pane. A ``PresetEdited``
from any pane replaces the current preset and is handed to the other panes.

The panes come from :mod:`tuidl.ui.panes.registry`; the deck that holds them is kept by
:mod:`tuidl.ui.panedeck`, the run by :mod:`tuidl.ui.runcontrol`, the keys by
:mod:`tuidl.ui.actions` (and comparisons by :mod:`tuidl.ui.compare`): the app hands
each message and key to one of them.

The app owns the run it shows, kept in a :class:`~tuidl.ui.session.RunSession` (its
state, directory, follower, the run's :class:`~tuidl.core.run.runview.RunView` and the warm
trainer): it starts one (``launch.start`` in a thread, so the UI never waits; the
outcome comes back as a message), attaches to one (its whole history, then live),
replays one, follows its ``events.jsonl`` (:mod:`tuidl.ui.follow`), hands what the
RunView took to the panes, sends control commands, and on the way out asks whether a
live run should stop or keep training detached. The trainer is another
process in its own session: quitting, a closed terminal or a dropped SSH link (SIGHUP)
end the dashboard, never the run. Several dashboards may follow one run; each one's
view comes from the run's events alone (a pause sent by one shows in all).
The Runs pane (:mod:`tuidl.ui.panes.runs`) lists every run and opens, resumes, re-runs,
exports, deletes and compares them. ``tuidl`` imports no torch here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widgets import Footer, Header

from tuidl.core.preset.preset import Preset
from tuidl.core.run.rundir import RunDir, runs_root as runs_root_of
from tuidl.ui import actions
from tuidl.ui.actions import KeyActions
from tuidl.ui.compare import Comparer
from tuidl.ui.messages import EarlierRunsFound, FollowEnded, PresetEdited, RunEvents, RunsRead, TrainerFailed, \
    TrainerStarted
from tuidl.ui.panedeck import DeckKeeper
from tuidl.ui.panes.registry import grid_css
from tuidl.ui.panes.run_controls import RunControls
from tuidl.ui.panes.runs import RunsPane
from tuidl.ui.runcontrol import RunController
from tuidl.ui.screens.dialogs import QuitScreen, SavePresetScreen
from tuidl.ui.session import RunSession
from tuidl.ui.widgets.deck import PaneDeck
from tuidl.ui.widgets.keybar import EssentialKeys, KeyHint

__all__ = ["PaneDeck", "QuitScreen", "SavePresetScreen", "TuidlApp", "run"]

STANDBY_AFTER_S = 1.0  # a trainer is kept warm from this long after start-up (warm_trainer)
#: The panes not shown first are mounted this long after start-up: a pane key typed as the
#: dashboard comes up (5 for the runs) is then not kept waiting behind one being mounted
#: (0.1–0.4 s of CPU each, up to 1.5 s on a loaded 2-core machine; issue 28).
DEFER_PANES_S = 0.6
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def set_terminal_title(text: str) -> None:
    """Write OSC 2 straight to the controlling terminal, in one write (the kernel keeps
    one write whole against the driver's frames). Textual has no public call for the
    terminal's title; without a terminal (a pipe, a service) nothing is written."""
    try:
        fd = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY)
    except OSError:
        return
    try:
        os.write(fd, f"\x1b]2;{text}\x07".encode("utf-8", "replace"))
    except OSError:
        pass
    finally:
        os.close(fd)


class TuidlApp(App[int]):
    """The tuidl dashboard."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere find it too
    # The wide grid with the Runs pane: builder | dataset on top; the Training pane down
    # the left, GPU / system over Runs on the right.
    CSS = grid_css()
    TITLE = "tuidl"
    AUTO_FOCUS = None
    # The header shows the title through its own watchers; App's reactives also repaint
    # the whole screen at each change (every widget of the five panes rendered again:
    # 0.2 s at 160×45), as a run's news comes.
    title: Reactive[str] = Reactive("", compute=False, repaint=False)
    sub_title: Reactive[str] = Reactive("", compute=False, repaint=False)
    BINDINGS = actions.bindings()

    def __init__(
        self,
        preset: Preset,
        *,
        runs_root: str | os.PathLike | None = None,
        attach: RunDir | None = None,
        replay: RunDir | None = None,
        replay_speed: float = 0.0,
        low_bandwidth: bool = False,
        telemetry: bool = True,
        system_source_factory: Any = None,
        system_interval: float | None = 1.0,
        runs_interval: float | None = 2.0,
        warm_trainer: bool = False,
        defer_panes: bool = False,
        allow_code: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        # mount the panes not shown first after the first frame (the `tuidl` command does)
        self.defer_panes = defer_panes
        # a trainer process kept warm for the next Start (the `tuidl` command turns it on)
        self.warm_trainer = warm_trainer
        # model.custom classes the command line allowed (--allow-code): Start and resume pass them on
        self.allow_code = tuple(allow_code)
        self.session = RunSession()  # the run shown: its state, directory, view, follower; the warm trainer
        self.preset = preset
        self.runs_root = runs_root
        self.attach_run = attach
        self.replay_run = replay
        self.replay_speed = replay_speed
        self.low_bandwidth = low_bandwidth
        self.telemetry = telemetry
        self.system_source_factory = system_source_factory
        self.system_interval = system_interval
        self.runs_interval = runs_interval
        self.exit_message = ""
        self.closing = False  # exit() was called: keys and actions that come after it do nothing
        if low_bandwidth:
            self.animation_level = "none"
        self.runner = RunController(self)  # the run shown: started, attached, replayed, controlled
        self.comparer = Comparer(self)  # runs laid over the Training pane's charts
        self.keys = KeyActions(self)  # what the keys do beyond running

    # -- layout ----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        self.deck = DeckKeeper(self)  # the panes (tuidl.ui.panes.registry), by key
        self.panes = self.deck.panes
        yield Header(icon="◆")
        initial = "training" if (self.attach_run or self.replay_run) else "builder"
        yield from self.deck.compose(initial, self.defer_panes)
        with Horizontal(id="bottom-bar"):
            yield EssentialKeys(id="essential-keys")
            # the palette key apart: a Footer docks it over its last keys, which then show through
            yield Footer(compact=True, show_command_palette=False)
            yield KeyHint("ctrl+p", "^p", "command_palette", "palette", id="key-palette")

    alert_center: Any = None  # tuidl.ui.alerting.AlertCenter: alerts on every run (the `tuidl` command)

    def on_mount(self) -> None:
        if self.alert_center is not None:
            self.alert_center.start()
        self.deck.titles()
        self.sub_title = self.preset.name
        if self.replay_run is not None:
            self.call_after_refresh(self.runner.start_replay, self.replay_run, self.replay_speed)
        elif self.attach_run is not None:
            self.call_after_refresh(self.runner.start_attach, self.attach_run)
        else:  # once the dashboard is up: the standby's imports would slow its first frames
            self.set_timer(STANDBY_AFTER_S, self.runner.keep_standby)
        self.call_after_refresh(self.deck.initial_focus)
        self.set_timer(DEFER_PANES_S, self.deck.mount_deferred)

    def on_unmount(self) -> None:
        self.runner.drop_standby()  # the dashboard is closing: the warm trainer goes with it
        self.session.stop_following()
        self.deck.unfreeze()

    def action_show_pane(self, pane: str) -> None:
        self.deck.show(pane)

    # -- dialogs: where the focus goes when one closes (DeckKeeper.return_focus) ----------
    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        """Note where the focus was (and on which pane) before a dialog or screen opens,
        so that its closing can give the focus back there."""
        if isinstance(screen, Screen) and self.screen_stack:
            self.deck.note_focus(screen)
        return super().push_screen(screen, *args, **kwargs)

    def pop_screen(self) -> Any:
        popped = self.screen
        done = super().pop_screen()
        self.deck.closed(popped)
        return done

    # -- the preset ----------------------------------------------------------------
    def on_preset_edited(self, message: PresetEdited) -> None:
        message.stop()
        before, self.preset = self.preset, message.preset
        if message.origin == "dataset":
            self.call_after_refresh(self.keys.offer_fit, before, message.preset)
        for pane_id, widget in self.deck.preset_panes():
            if pane_id == message.origin:
                continue  # a pane still kept back gets the preset when it is mounted
            try:
                widget.load_preset(message.preset)
            except Exception as e:  # one pane failing to show an edit must not lose it
                self.notify(f"{pane_id} pane could not show the edit: {e}", severity="warning")
        if not self.session.live:
            self.sub_title = self.preset.name

    def load_preset(self, preset: Preset) -> None:
        """Replace the current preset everywhere (all panes)."""
        self.preset = preset
        for _pane_id, widget in self.deck.preset_panes():
            widget.load_preset(preset)

    # -- messages: the run's (RunController), the Runs pane's, comparisons' ---------------
    def on_run_events(self, message: RunEvents) -> None:
        message.stop()
        try:
            self.runner.take_events(message)
        finally:
            if message.taken is not None:
                message.taken()  # the follower may post the next batch

    def on_follow_ended(self, message: FollowEnded) -> None:
        message.stop()
        self.runner.follow_ended(message)

    def on_trainer_failed(self, message: TrainerFailed) -> None:
        message.stop()
        self.runner.trainer_failed(message)

    def on_trainer_started(self, message: TrainerStarted) -> None:
        message.stop()
        self.runner.trainer_started(message)

    def on_run_controls_control(self, message: RunControls.Control) -> None:
        message.stop()
        command = message.command
        handlers = {"start": self.action_start, "stop": self.action_stop, "checkpoint": self.action_checkpoint,
                    "lr_find": self.action_lr_find, "sweep": self.action_sweep, "queue": self.action_queue,
                    "pause": lambda: self.runner.pause("pause"), "resume": lambda: self.runner.pause("resume")}
        if command in handlers:
            handlers[command]()

    def on_runs_pane_live_runs(self, message: RunsPane.LiveRuns) -> None:
        message.stop()
        self.runner.tell_live_runs(message.rows)

    def on_runs_pane_open_sweep(self, message: RunsPane.OpenSweep) -> None:
        message.stop()
        self.keys.open_sweep(message.sweep_id)

    def on_runs_pane_open_run(self, message: RunsPane.OpenRun) -> None:
        """A live run is attached; any other is replayed at once into the Training pane."""
        message.stop()
        self.runner.open(message.run)

    def on_runs_pane_rerun_run(self, message: RunsPane.RerunRun) -> None:
        message.stop()
        self.runner.rerun(message.run)

    def on_runs_pane_resume_run(self, message: RunsPane.ResumeRun) -> None:
        message.stop()
        self.runner.resume(message.run)

    def on_runs_pane_compare_runs(self, message: RunsPane.CompareRuns) -> None:
        message.stop()
        if message.runs:
            self.comparer.compare(message.runs)
        else:
            self.comparer.clear()

    def on_runs_pane_compare_earlier(self, message: RunsPane.CompareEarlier) -> None:
        message.stop()
        self.comparer.earlier()

    def on_runs_read(self, message: RunsRead) -> None:
        message.stop()
        self.comparer.runs_read(message)

    def on_earlier_runs_found(self, message: EarlierRunsFound) -> None:
        message.stop()
        self.comparer.earlier_found(message)

    # -- keys: each handed to the run controller, the comparer or the key actions ---------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return True  # while a run trains, s says so (action_start) instead of doing nothing
        if action in ("pause", "stop", "checkpoint"):
            return True if self.session.live else None
        if action in ("hyperparameters", "choose_charts"):
            deck = getattr(self, "deck", None)
            logged = deck is not None and deck.panes["training"].logged
            return logged if action == "choose_charts" else not logged
        return True

    def action_start(self) -> None:
        self.runner.start()

    def action_pause(self) -> None:
        self.runner.pause()

    def action_stop(self) -> None:
        self.runner.stop()

    def action_checkpoint(self) -> None:
        self.runner.checkpoint()

    def action_compare_earlier(self) -> None:
        self.comparer.earlier()

    def action_open_preset(self) -> None:
        self.keys.open_preset()

    def action_fit_model(self) -> None:
        self.keys.fit_model()

    def action_save_preset(self) -> None:
        self.keys.save_preset()

    def action_toggle_x_axis(self) -> None:
        self.keys.toggle_x_axis()

    def action_toggle_log(self) -> None:
        self.keys.toggle_log()

    def action_toggle_smooth(self) -> None:
        self.keys.toggle_smooth()

    def action_cycle_marks(self) -> None:
        self.keys.cycle_marks()

    def action_toggle_settings(self) -> None:
        self.keys.toggle_settings()

    def action_choose_charts(self) -> None:
        self.keys.choose_charts()

    def action_next_fit_mark(self) -> None:
        self.keys.next_fit_mark()

    def action_hyperparameters(self) -> None:
        self.keys.hyperparameters()

    def action_help(self) -> None:
        self.keys.help()

    def action_alerts(self) -> None:
        if self.alert_center is None:
            self.notify("alerts are off in this dashboard (the `tuidl` command watches runs)", timeout=3)
        else:
            self.alert_center.open_dialog()

    def action_lab(self) -> None:
        self.keys.lab()

    def action_try_model(self) -> None:
        self.keys.try_model()

    def action_sweep(self) -> None:
        self.keys.sweep()

    def action_queue(self) -> None:
        self.keys.queue()

    def action_lr_find(self) -> None:
        self.keys.lr_find()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from actions.system_commands(self)

    # -- terminal title ----------------------------------------------------------------
    def _terminal_title(self) -> None:
        """Textual draws the title in the header only; send it to the terminal too
        (OSC 2), so a tab or window title tells how a run went."""
        if self.is_headless or not self.is_running:
            return
        text = self.title + (f" · {self.sub_title}" if self.sub_title else "")
        text = _CONTROL_CHARS.sub(" ", text)[:120]
        set_terminal_title(text)

    def watch_title(self, _title: str) -> None:
        self._terminal_title()

    def watch_sub_title(self, _sub_title: str) -> None:
        self._terminal_title()

    # -- quitting ----------------------------------------------------------------------
    def exit(self, *args: Any, **kwargs: Any) -> None:
        """Leave at once. The warm trainer's pipe is closed (it ends on its own) and a run
        that trains is never waited for. The focus is let go without restyling: taking the
        screen down would move it from widget to widget, each move restyling a whole pane
        (about a quarter of a second of the quit, measured here)."""
        self.closing = True
        self.runner.drop_standby()
        try:
            self.screen.set_reactive(Screen.focused, None)
        except Exception:  # noqa: BLE001 - no screen yet: nothing is focused
            pass
        super().exit(*args, **kwargs)

    async def on_event(self, event: events.Event) -> None:
        """Once the app closes, what the user types or clicks does nothing: a key
        already on its way (``q`` then ``i`` typed quickly, a key after "Stop run &
        quit") would otherwise reach screens and panes being taken down."""
        if self.closing and isinstance(event, (events.Key, events.MouseEvent, events.Paste)):
            event.stop()
            return
        await super().on_event(event)

    async def run_action(self, action: Any, default_namespace: Any = None, namespaces: Any = None) -> bool:
        """Every action (a key's binding, the palette, a click on a key) does nothing
        once the app closes: it would push a screen or query a pane the closing app is
        taking down."""
        if self.closing:
            return True
        return await super().run_action(action, default_namespace, namespaces)

    async def action_quit(self) -> None:
        run = self.session.live_run()
        if run is None:
            self.exit(0)
            return
        if isinstance(self.screen, QuitScreen):
            return
        self.push_screen(QuitScreen(run.id), self._quit_choice)

    def _quit_choice(self, choice: str | None) -> None:
        run = self.session.run
        if choice is None or run is None:
            return
        if choice == "stop":
            try:
                run.send("stop")
                self.exit_message = f"Asked run {run.id} to stop (it saves a checkpoint first)."
            except OSError as e:
                self.exit_message = f"Could not stop run {run.id}: {e}"
        else:
            self.exit_message = (f"Run {run.id} keeps training in the background.\n"
                                 f"Follow it again with: tuidl attach {run.id}")
        self.exit(0)


def run(
    preset: Preset,
    *,
    runs_root: str | os.PathLike | None = None,
    attach: RunDir | None = None,
    replay: RunDir | None = None,
    replay_speed: float = 0.0,
    low_bandwidth: bool = False,
    warm_trainer: bool = False,
    allow_code: tuple[str, ...] = (),
    alerts: Any = None,
    notify: tuple[str, ...] = (),
) -> int:
    """Run the dashboard until the user quits; the exit status for the CLI.
    ``warm_trainer``: keep a trainer process warm for Start (not with
    ``TUIDL_WARM_TRAINER=0``). ``allow_code``: the model.custom classes Start may run."""
    warm_trainer = warm_trainer and os.environ.get("TUIDL_WARM_TRAINER", "1") not in ("0", "", "no", "false")
    app = TuidlApp(preset, runs_root=runs_root, attach=attach, replay=replay, replay_speed=replay_speed,
                   low_bandwidth=low_bandwidth, warm_trainer=warm_trainer, defer_panes=True,
                   allow_code=tuple(allow_code))
    if alerts is not None:  # AlertRules from the config file: watch every run of the root
        from tuidl.ui.alerting import AlertCenter
        from tuidl.core.remote import client as remote

        roots = [runs_root_of(runs_root), *(host.mirror.root for host in remote.hosts())]  # --remote hosts' runs too
        app.alert_center = AlertCenter(app, alerts, roots, notify=notify)
    try:
        code = app.run()
    finally:
        app.runner.drop_standby()
    if app.exit_message:
        print(app.exit_message)
    if app.return_code:
        return int(app.return_code)
    return int(code or 0)
