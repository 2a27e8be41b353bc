"""The dashboard: five panes (Model builder, Dataset & split, Training, GPU / system,
Runs) around one current :class:`~tuidl.core.preset.preset.Preset`.

On a wide terminal (``WIDE_AT`` columns or more) the panes sit side by side in a grid;
on narrower ones they are tabs. Keys ``1``-``5`` jump to a pane. A ``PresetEdited``
from any pane replaces the current preset and is handed to the other panes.

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

import asyncio
import copy
import functools
import gc
import os
import re
import time
from pathlib import Path
from typing import Any, Iterable

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Input, TabPane, TextArea

from tuidl.core.preset.preset import Preset, dumps
from tuidl.core.preset.preset import edit as edit_preset
from tuidl.core.run.rundir import RunDir, runs_root as runs_root_of, tail_lines
from tuidl.core.run.runview import RunView
from tuidl.core.preset.schema import ConfigError
from tuidl.ui.follow import Follower, follow
from tuidl.ui.messages import (EarlierRunsFound, FollowEnded, PresetEdited, RunEvents, RunsRead, TrainerFailed,
                                TrainerStarted)
from tuidl.ui.panes.builder import ModelBuilderPane
from tuidl.ui.panes.dataset import DatasetPane
from tuidl.ui.panes.run_controls import RunControls
from tuidl.core.run.runlist import run_label, scan_runs
from tuidl.ui.panes.runs import RunsPane
from tuidl.ui.panes.system import SystemPane
from tuidl.ui.panes.training import TrainingPane
from tuidl.ui.screens.dialogs import QuitScreen, SavePresetScreen
from tuidl.ui.session import Mode, RunSession, RunState
from tuidl.ui.widgets.deck import PANES, PaneDeck
from tuidl.ui.widgets.keybar import EssentialKeys, KeyHint


STANDBY_AFTER_S = 1.0  # a trainer is kept warm from this long after start-up (warm_trainer)
DEFER_PANES_S = 0.1  # the panes not shown first are mounted this long after start-up
MAX_EARLIER = 6  # earlier runs of a preset laid over the charts by "b"
PRESET_PANES = ("builder", "dataset", "training")  # the panes that show (and edit) the preset
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


async def _until_mounted(widget: Any, mounting: Any = None) -> None:
    """Wait for ``mounting`` (an AwaitMount, if any), then until ``widget`` is mounted."""
    if mounting is not None:
        await mounting
    while not widget.is_mounted:
        await asyncio.sleep(0.01)


class TuidlApp(App[int]):
    """The tuidl dashboard."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere find it too
    # The wide grid with the Runs pane: builder | dataset on top; the Training pane down
    # the left, GPU / system over Runs on the right.
    CSS = """
    Screen PaneDeck.-grid > ContentSwitcher {
        grid-size: 2 3;
        grid-rows: 4fr 3fr 3fr;
    }
    Screen PaneDeck.-grid > ContentSwitcher > TabPane#training {
        row-span: 2;
    }
    """
    TITLE = "tuidl"
    AUTO_FOCUS = None

    BINDINGS = [
        Binding("1", "show_pane('builder')", "Model", key_display="1"),
        Binding("2", "show_pane('dataset')", "Data", key_display="2"),
        Binding("3", "show_pane('training')", "Train", key_display="3"),
        Binding("4", "show_pane('system')", "System", key_display="4"),
        Binding("5", "show_pane('runs')", "Runs", key_display="5"),
        # s, p, x, ? and q show in the EssentialKeys left of the footer, whatever has focus
        Binding("s", "start", "Start", show=False),
        Binding("p", "pause", "Pause", show=False),
        Binding("x", "stop", "Stop", show=False),
        Binding("c", "checkpoint", "Ckpt"),
        Binding("e", "toggle_x_axis", "Steps/epochs", show=False),
        Binding("l", "toggle_log", "Log y", show=False),
        Binding("m", "toggle_smooth", "Smooth", show=False),
        Binding("h", "toggle_settings", "Hyperparams", show=False),
        Binding("b", "compare_earlier", "Earlier runs", show=False),
        Binding("o", "next_fit_mark", "Fit marks", show=False),
        # g: the Training pane's first field, or for a logged run (no hyperparameters) the
        # checklist of its charts (check_action lets the key through to the one that applies)
        Binding("g", "hyperparameters", "Fields", show=False),
        Binding("g", "choose_charts", "Charts", show=False),
        Binding("i", "lab", "Lab", show=False),
        Binding("r", "lr_find", "LR find", show=False),
        Binding("t", "try_model", "Try it", show=False),
        Binding("w", "sweep", "Sweep", show=False),
        Binding("ctrl+s", "save_preset", "Save"),
        Binding("ctrl+o", "open_preset", "Presets"),
        Binding("f", "fit_model", "Fit model", show=False),
        Binding("question_mark", "help", "Help", key_display="?", show=False),
        Binding("A", "alerts", "Alerts", show=False),  # the alert rules (tuidl.ui.alerting)
        Binding("q", "quit", "Quit", show=False),
    ]

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
        self._heap_frozen = False  # gc.freeze(): see _mount_deferred
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
        # a dialog or screen open: where the focus was before it ({screen: (under, widget, pane)})
        self._focus_before: dict[Screen, tuple[Screen, Widget | None, str | None]] = {}
        self.closing = False  # exit() was called: keys and actions that come after it do nothing
        if low_bandwidth:
            self.animation_level = "none"

    # -- layout ----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # The panes are kept by name (typed accessors below): events arrive many times a
        # second and a DOM query for each batch would cost more than the batch.
        self.panes: dict[str, Widget] = {
            "builder": ModelBuilderPane(self.preset, id="builder-pane"),
            "dataset": DatasetPane(self.preset, id="dataset-pane"),
            "training": TrainingPane(self.preset, low_bandwidth=self.low_bandwidth, id="training-pane"),
            "system": SystemPane(source_factory=self.system_source_factory, interval=self.system_interval,
                                 id="system-pane"),
            "runs": RunsPane(self.runs_root, interval=self.runs_interval, id="runs-pane"),
        }
        yield Header(icon="◆")
        initial = "training" if (self.attach_run or self.replay_run) else "builder"
        # The first frame shows the first pane; the others are mounted one a frame after
        # it (or at once when asked for): composing all five first made the dashboard
        # appear ~0.6 s later.
        self._deferred = [pane_id for pane_id, _t, _w in PANES if pane_id != initial] if self.defer_panes else []
        self._composed_with = self.preset
        with PaneDeck(id="panes", initial=initial):
            for n, (pane_id, title, _widget_id) in enumerate(PANES, 1):
                with TabPane(f"{title} [{n}]", id=pane_id):
                    if pane_id not in self._deferred:
                        yield self.panes[pane_id]
        with Horizontal(id="bottom-bar"):
            yield EssentialKeys(id="essential-keys")
            # the palette key apart: a Footer docks it over its last keys, which then show through
            yield Footer(compact=True, show_command_palette=False)
            yield KeyHint("ctrl+p", "^p", "command_palette", "palette", id="key-palette")

    def _mount_pane(self, pane_id: str):
        """Mount a pane kept back at start-up (now, if it still is)."""
        if pane_id in self._deferred and self.is_running:
            self._deferred.remove(pane_id)
            widget = self.panes[pane_id]
            done = self.query_one(f"#{pane_id}", TabPane).mount(widget)

            async def catch_up() -> None:  # it shows the preset as it is now (edited meanwhile?)
                await _until_mounted(widget, done)
                if self.preset is not self._composed_with and pane_id in PRESET_PANES:
                    self._preset_pane(pane_id).load_preset(self.preset)

            self.call_later(catch_up)
            return done
        return None

    def panes_mounted(self) -> bool:
        """Every pane is mounted (none is kept back any more)."""
        return not self._deferred and all(w.is_mounted for w in self.panes.values())

    def _mount_deferred(self) -> None:
        if self._deferred:
            self._mount_pane(self._deferred[0])
            self.call_after_refresh(self._mount_deferred)
        elif not self._heap_frozen:
            # What start-up made (the modules, the panes' widgets: some 200,000 objects) lives
            # as long as the dashboard: out of the garbage collector's way. Each full pass
            # walked all of it (a fifth of a second here), and reading a run's history
            # (tens of thousands of events) set off several. Given back at unmount.
            self._heap_frozen = True
            gc.freeze()

    alert_center: Any = None  # tuidl.ui.alerting.AlertCenter: alerts on every run (the `tuidl` command)

    def on_mount(self) -> None:
        if self.alert_center is not None:
            self.alert_center.start()
        for n, (pane_id, title, _) in enumerate(PANES, 1):
            self.query_one(f"#{pane_id}", TabPane).border_title = f"{title} [{n}]"
        self.sub_title = self.preset.name
        if self.replay_run is not None:
            self.call_after_refresh(self.start_replay, self.replay_run, self.replay_speed)
        elif self.attach_run is not None:
            self.call_after_refresh(self.start_attach, self.attach_run)
        else:  # once the dashboard is up: the standby's imports would slow its first frames
            self.set_timer(STANDBY_AFTER_S, self._keep_standby)
        self.call_after_refresh(self._initial_focus)
        self.set_timer(DEFER_PANES_S, self._mount_deferred)

    _pane_shown = False  # a pane was shown (a pane key, a run followed): the start-up focus is moot

    def _initial_focus(self) -> None:
        if not self._pane_shown:  # a pane key typed before the first frame keeps its pane
            self.action_show_pane(self.query_one(PaneDeck).active or "builder")

    # -- the panes, typed ---------------------------------------------------------------
    @property
    def builder(self) -> ModelBuilderPane:
        return self.panes["builder"]  # type: ignore[return-value]

    @property
    def dataset(self) -> DatasetPane:
        return self.panes["dataset"]  # type: ignore[return-value]

    @property
    def training(self) -> TrainingPane:
        return self.panes["training"]  # type: ignore[return-value]

    @property
    def system(self) -> SystemPane:
        return self.panes["system"]  # type: ignore[return-value]

    @property
    def runs(self) -> RunsPane:
        return self.panes["runs"]  # type: ignore[return-value]

    def _preset_pane(self, pane_id: str) -> ModelBuilderPane | DatasetPane | TrainingPane:
        return {"builder": self.builder, "dataset": self.dataset, "training": self.training}[pane_id]

    # -- the run shown, read-only (RunSession holds it) ------------------------------------
    @property
    def run_dir(self) -> RunDir | None:
        return self.session.run

    @property
    def run_mode(self) -> str:
        return self.session.mode.value

    @property
    def run_live(self) -> bool:
        """The run shown trains (followed live, not replayed)."""
        return self.session.live

    @property
    def launching(self) -> bool:
        return self.session.launching

    @property
    def run_ended(self) -> dict[str, Any] | None:
        return self.session.ended

    @property
    def follower(self) -> Follower | None:
        return self.session.follower

    @property
    def standby(self) -> Any:
        return self.session.standby

    @property
    def events_received(self) -> int:
        return self.session.events_received

    def _when_mounted(self, pane_id: str, callback, *args: Any) -> bool:
        """If the pane is kept back at start-up (or still mounting), mount it and run
        ``callback(*args)`` once it is: True. False when it is there already."""
        done = self._mount_pane(pane_id)
        widget = self.panes[pane_id]
        if done is None and widget.is_mounted:
            return False

        async def when_mounted() -> None:
            await _until_mounted(widget, done)
            callback(*args)

        self.call_later(when_mounted)
        return True

    def action_show_pane(self, pane: str) -> None:
        self._pane_shown = True
        if self._when_mounted(pane, self.action_show_pane, pane):
            return
        deck = self.query_one(PaneDeck)
        deck.active = pane
        target = self.query_one(f"#{pane}", TabPane)
        widget = self.panes.get(pane)
        if isinstance(widget, (ModelBuilderPane, DatasetPane, TrainingPane, RunsPane)):
            widget.focus_default()
            return
        # Not a text field: a letter typed right after the jump should reach the app.
        focusable = [w for w in target.query("*") if w.focusable and not isinstance(w, Input)]
        if focusable:
            focusable[0].focus()
        elif not deck.wide:
            deck.query_one("ContentTabs").focus()  # the tab strip (by its type's name: it is not exported)

    # -- dialogs: where the focus goes when one closes ------------------------------------
    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        """Note where the focus was (and on which pane) before a dialog or screen opens,
        so that its closing can give the focus back there (:meth:`_return_focus`)."""
        if isinstance(screen, Screen) and self._screen_stack:
            under = self.screen
            self._focus_before[screen] = (under, under.focused, self._pane_of(under.focused))
        return super().push_screen(screen, *args, **kwargs)

    def pop_screen(self) -> Any:
        popped = self.screen
        done = super().pop_screen()
        before = self._focus_before.pop(popped, None)
        if before is not None:
            # after the dialog's answer was acted on (its callback runs first: it may edit
            # the preset, switch panes or open the next dialog)
            self.call_after_refresh(self._return_focus, *before)
        return done

    def _pane_of(self, widget: Widget | None) -> str | None:
        """The pane (``builder``…) ``widget`` is in, if any."""
        node = widget
        while node is not None:
            if isinstance(node, TabPane) and node.id in self.panes:
                return node.id
            node = node.parent
        return None

    def _return_focus(self, screen: Screen, widget: Widget | None, pane: str | None) -> None:
        """A dialog closed: the focus goes back where the user was, never into a text field.

        Textual gives the focus back to the widget that had it, but a dialog's answer can
        remove that widget (a form rebuilt for another dataset: Textual then focuses a
        neighbour, often another text field) and a field the user had finished with (the
        Enter that applied a data path, then the "fit the model?" question) would take the
        next keys (``3``, ``s``) as text. So: the widget that had the focus if it is still
        there and not a text field; else the pane's own place (its ``focus_default``, as
        Escape in a field does). Left alone when the answer put the focus elsewhere on
        purpose (another pane shown), or while another dialog is open."""
        if not self.is_running or self.screen is not screen:
            return
        focused = screen.focused

        def typing(w: Widget | None) -> bool:
            return isinstance(w, (Input, TextArea))

        if focused is not None and focused is not widget and not typing(focused):
            return  # moved on purpose by the answer (e.g. a run opened in the Training pane)
        if focused is widget and widget is not None and not typing(widget):
            return  # Textual gave it back
        if (widget is not None and widget.is_attached and widget.focusable and widget.visible
                and not typing(widget)):
            widget.focus()
            return
        if screen is not self._screen_stack[0]:
            if typing(focused):
                screen.set_focus(None)
            return
        try:
            deck = self.query_one(PaneDeck)
        except NoMatches:  # the dashboard is closing
            return
        if pane is None or pane != deck.active:
            pane = deck.active
        if pane:
            self.action_show_pane(pane)
        else:
            screen.set_focus(None)

    # -- the preset ----------------------------------------------------------------
    def on_preset_edited(self, message: PresetEdited) -> None:
        message.stop()
        before, self.preset = self.preset, message.preset
        if message.origin == "dataset":
            self.call_after_refresh(self._offer_fit, before, message.preset)
        for pane_id in PRESET_PANES:
            widget = self._preset_pane(pane_id)
            if pane_id == message.origin or not widget.is_mounted:
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
        for pane_id in PRESET_PANES:
            widget = self._preset_pane(pane_id)
            if widget.is_mounted:
                widget.load_preset(preset)

    # -- switching presets, fitting the model to the data (tuidl.ui.screens.picker) ------------
    def action_open_preset(self) -> None:
        """Pick a built-in preset or a TOML file, as `tuidl NAME` opens it."""
        from tuidl.ui.screens.picker import PresetPickerScreen

        if not isinstance(self.screen, PresetPickerScreen):
            self.push_screen(PresetPickerScreen(self.preset.name), self._opened)

    def _opened(self, preset: Preset | None) -> None:
        if preset is None:
            return
        self.load_preset(preset)
        self.sub_title = preset.name
        self.notify(f"{preset.name}: {preset.description}" if preset.description else preset.name,
                    title="Preset opened", timeout=5)

    def action_fit_model(self) -> None:
        """Fit the model to the data (first layer's input, last layer's outputs, loss)."""
        from tuidl.core.model.fit import fit_to_data

        fitted = fit_to_data(self.preset)
        if fitted.preset is None:
            self.notify(fitted.problem, title="Cannot fit the model", severity="warning", timeout=8)
        elif not fitted.changes:
            self.notify("the model already fits the data", timeout=3)
        else:
            self._ask_fit(fitted)

    def _offer_fit(self, before: Preset, after: Preset) -> None:
        """The dataset changed: if the model fitted the old data but not the new, offer
        to fit it (once per change of the data's shape, task or classes)."""
        from tuidl.core.model.fit import data_signature, fit_to_data, model_problem

        if self.preset is not after or data_signature(before) == data_signature(after):
            return
        if model_problem(before) or not model_problem(after):
            return
        fitted = fit_to_data(after)
        if fitted.changed:
            self._ask_fit(fitted)

    def _ask_fit(self, fitted: Any) -> None:
        from tuidl.ui.screens.picker import FitModelScreen

        if isinstance(self.screen, FitModelScreen):
            return
        asked = self.preset

        def answer(fit: bool | None) -> None:
            if fit and self.preset is asked:
                self.load_preset(fitted.preset)
                self.notify("; ".join(fitted.changes), title="Model fitted to the data", timeout=6)

        self.push_screen(FitModelScreen(fitted, self.preset.data.dataset), answer)

    def action_save_preset(self) -> None:
        default = f"./{self.preset.name}.toml"
        self.push_screen(SavePresetScreen(default), self._save_to)

    def _save_to(self, path: str | None) -> None:
        if not path:
            return
        self.save_preset(path)

    def save_preset(self, path: str | os.PathLike) -> Path | None:
        """Write the current preset as TOML; problems become notifications."""
        target = Path(path).expanduser()
        if target.suffix != ".toml" and not target.is_dir():
            target = target.with_name(target.name + ".toml") if target.name else target
        try:
            if target.is_dir():
                raise IsADirectoryError(21, "is a folder", str(target))
            text = dumps(self.preset)
            target.write_text(text, encoding="utf-8")
        except OSError as e:
            self.notify(f"could not save {target}: {e.strerror or e}", title="Save failed", severity="error",
                        timeout=8)
            return None
        except (ValueError, TypeError) as e:
            self.notify(f"could not write the preset: {e}", title="Save failed", severity="error", timeout=8)
            return None
        self.notify(f"saved {target}", title="Preset saved")
        return target

    # -- runs -------------------------------------------------------------------------
    def _set_state(self, state: RunState | str, detail: str = "") -> None:
        state = self.session.set_state(state, detail)
        self.training.set_run_state(state, detail)
        # (a follower's last message can come while the dashboard closes, its widgets gone)
        for keys in self.query(EssentialKeys):
            keys.set_run_state(state.value)
        self.refresh_bindings()
        if state in (RunState.IDLE, RunState.ENDED):
            self.call_after_refresh(self._keep_standby)

    def _keep_standby(self) -> None:
        """Keep a trainer warm for the next Start (``warm_trainer``): Start then trains
        within a second instead of waiting seconds for PyTorch to load. Not while a run
        trains: the standby's warm-up would compete with it for the CPU."""
        session = self.session
        if not self.warm_trainer or session.live or session.launching:
            return
        if session.standby is not None and session.standby.alive():
            return
        from tuidl.core.run.launch import Standby

        try:
            session.standby = Standby()
        except OSError:  # no trainer kept warm: Start starts one cold
            session.standby = None
            self.warm_trainer = False

    def _drop_standby(self) -> None:
        """Close the warm trainer's pipe: it ends on its own (nothing waits for it)."""
        self.session.drop_standby()

    def on_unmount(self) -> None:
        self._drop_standby()  # the dashboard is closing: the warm trainer goes with it
        if self._heap_frozen:  # its widgets may be collected again (tests run many apps in one process)
            self._heap_frozen = False
            gc.unfreeze()

    def _begin(self, run: RunDir, mode: Mode | str, *, replay_speed: float = 0.0) -> None:
        if self._when_mounted("training", functools.partial(self._begin, run, mode, replay_speed=replay_speed)):
            return
        session = self.session
        view = session.begin(run, mode)
        self.training.show_run(view, run.path)
        self.system.clear_run()  # figures of an earlier run do not describe this one
        if session.mode == Mode.LIVE:
            standby = session.standby
            if standby is not None and run.process is not standby.proc and run.is_live():
                self._drop_standby()  # no warm trainer while a run trains (it competes for the CPU)
            # A run this dashboard launched is measured here; an attached one may live on
            # another machine: the system pane tells from its run_started event.
            pid = getattr(run.process, "pid", None)
            if pid:
                self.system.set_trainer_pid(int(pid))
            self._set_state(RunState.LIVE, run.id)
            session.follower, _ = follow(self, run)
        else:
            self._set_state(RunState.REPLAY, run.id)
            session.follower, _ = follow(self, run, replay=True, speed=replay_speed)
        self.title = f"tuidl: {run.id}"
        self.sub_title = self.preset.name  # an earlier run's news ("… stopped at epoch 2") is not this one's
        if session.mode == Mode.LIVE:  # a run started, resumed or attached here: the Runs pane's cursor follows
            self.runs.select_when_listed(run.id)

    def start_replay(self, run: RunDir, speed: float = 0.0) -> None:
        """Play a finished (or any) run's events back; nothing is controlled."""
        self._begin(run, Mode.REPLAY, replay_speed=speed)

    def start_attach(self, run: RunDir) -> None:
        """Follow a run started elsewhere: its whole history, then live."""
        if self._when_mounted("training", self.start_attach, run):
            return
        self._begin(run, Mode.LIVE)
        if not run.is_live():
            self.session.trains = False
            self._set_state(RunState.ENDED, run.id)

    def action_start(self) -> None:
        session = self.session
        if session.live:  # say so: a key that does nothing and says nothing looks broken
            self.notify("the run is paused — p resumes, x stops" if session.state == RunState.PAUSED else
                        "already training — p pauses, x stops", severity="warning", timeout=4)
            return
        if session.launching:
            self.notify("a run is starting…", timeout=2)
            return
        session.launching = True
        self._set_state(RunState.LAUNCHING, self.preset.name)
        preset, session = self.preset, self.session
        self.run_worker(lambda: session.start_trainer(self, preset, runs_root=self.runs_root, telemetry=self.telemetry,
                                                      allow_code=self.allow_code),
                        name="launch", group="launch", thread=True, exit_on_error=False)

    def on_trainer_failed(self, message: TrainerFailed) -> None:
        message.stop()
        self.session.launching = False
        self._set_state(RunState.ENDED if self.session.run is not None else RunState.IDLE)
        self.notify(message.message, title="Cannot start", severity="error", timeout=10)

    def on_trainer_started(self, message: TrainerStarted) -> None:
        message.stop()
        run = message.run
        self.session.launching = False
        if message.resumed:
            self._switching_from(run)
            self._load_run_preset(run)
            self.start_attach(run)
            self.action_show_pane("training")
            self.notify(f"resuming {run.id} from its last checkpoint", title="Run resumed")
            self.runs.refresh_runs()
        else:
            self._begin(run, Mode.LIVE)
            self.notify(f"training {run.id}", title="Run started")

    def _send(self, command: str) -> bool:
        session = self.session
        if not session.live:
            what = "a replay cannot be controlled" if session.mode == Mode.REPLAY else "no run is training"
            self.notify(f"{command}: {what}", severity="warning")
            return False
        try:
            session.run.send(command)
        except OSError as e:
            self.notify(f"could not send {command} to {session.run.id}: {e.strerror or e}", severity="error")
            return False
        return True

    def action_pause(self) -> None:
        paused = self.session.paused
        if self._send("resume" if paused else "pause"):
            self.notify("resuming…" if paused else "pausing…", timeout=2)

    def action_stop(self) -> None:
        if self._send("stop"):
            self.notify("stopping: the trainer saves a checkpoint, then ends", timeout=3)

    def action_checkpoint(self) -> None:
        if self._send("checkpoint"):
            self.notify("checkpoint requested", timeout=2)

    def on_run_controls_control(self, message: RunControls.Control) -> None:
        message.stop()
        command = message.command
        if command == "start":
            self.action_start()
        elif command in ("pause", "resume"):
            if self._send(command):
                self.notify("pausing…" if command == "pause" else "resuming…", timeout=2)
        elif command == "stop":
            self.action_stop()
        elif command == "checkpoint":
            self.action_checkpoint()
        elif command == "lr_find":
            self.action_lr_find()
        elif command == "sweep":
            self.action_sweep()
        elif command == "queue":
            self.action_queue()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return True  # while a run trains, s says so (action_start) instead of doing nothing
        if action in ("pause", "stop", "checkpoint"):
            return True if self.session.live else None
        if action in ("hyperparameters", "choose_charts"):
            panes = getattr(self, "panes", None)
            logged = panes is not None and self.training.logged
            return logged if action == "choose_charts" else not logged
        return True

    # -- events from the follower ----------------------------------------------------
    def on_run_events(self, message: RunEvents) -> None:
        message.stop()
        try:
            self._take_events(message)
        finally:
            if message.taken is not None:
                message.taken()  # the follower may post the next batch

    def _take_events(self, message: RunEvents) -> None:
        if self.closing or not self.is_running:
            return  # the dashboard is closing: its panes are being taken down (a batch the follower sent late)
        session = self.session
        run = session.run
        if run is None or message.run_id != run.id:
            return  # a stale batch from a follower that was replaced
        session.events_received += len(message.events)
        applied = session.view.apply(message.events)  # the one place events become state
        self.training.take(applied, more=message.more)
        try:
            self.system.take(applied)
        except Exception as e:  # noqa: BLE001 - telemetry must never take the run view down
            self.log.error(f"system pane: {e}")
        live = session.mode == Mode.LIVE
        for change in applied.changes:
            ev = change.ev
            if change.what == "started" and live:
                session.ended = None
                if run.is_live():  # (resumed, maybe elsewhere: the follower follows on)
                    session.trains = True
                    self._drop_standby()  # no warm trainer while a run trains
                    self._set_state(RunState.LIVE, run.id)
            elif change.what == "paused" and session.live:
                self._set_state(RunState.PAUSED, run.id)
                self.sub_title = f"{self.preset.name} · paused"
            elif change.what == "resumed" and session.live:
                self._set_state(RunState.LIVE, run.id)
                self.sub_title = self.preset.name
            elif change.what == "diverged":
                self._alert(ev, f"DIVERGED: {run.id}", str(ev.get("message", "")))
            elif change.what == "ended":
                if live and session.restarted_since(ev):
                    continue  # an earlier trainer's end: the run was resumed since and trains again
                session.ended = ev
                status = str(ev.get("status", "ended"))
                if live:
                    session.trains = False
                    self._set_state(RunState.ENDED, f"{status} · {run.id}")
                    self.runs.select_when_listed(run.id)
                if status != "diverged":
                    self._alert(ev, f"{status}: {run.id}", str(ev.get("message", "")))

    def _alert(self, ev: dict[str, Any], title: str, message: str) -> None:
        """Ring the bell and put the news in the terminal title, for live news only
        (not for a replay, nor for the history of an attached run)."""
        self.title = f"tuidl: {title}"
        self.sub_title = message[:80]
        try:
            recent = time.time() - float(ev.get("time", 0)) < 60
        except (TypeError, ValueError):
            recent = False
        if self.session.mode == Mode.LIVE and recent and self.alert_center is None:  # (else the center rings)
            self.bell()

    def on_follow_ended(self, message: FollowEnded) -> None:
        message.stop()
        session = self.session
        run = session.run
        if run is None or message.run_id != run.id:
            return
        if session.mode == Mode.REPLAY:
            self._set_state(RunState.ENDED, f"{message.status} · replay of {run.id}")
            return
        if session.live:
            # The trainer is gone without a run_ended event (killed, crashed).
            session.trains = False
            self._set_state(RunState.ENDED, f"{message.status} · {run.id}")
            self.runs.select_when_listed(run.id)
            if session.ended is None:
                self.notify(f"{run.id}: {message.message or message.status}", title="Run ended",
                            severity="error", timeout=10)
                self.training.log_line(f"the trainer ended without a word: {message.status}"
                                       + (f": {message.message}" if message.message else ""), "bold red")
                for line in tail_lines(run.path / "trainer.err", 8):
                    self.training.log_line("  " + line, "red")
                self.title = f"tuidl: {message.status}: {run.id}"
                self.bell()

    # -- the Runs pane ------------------------------------------------------------------
    def on_runs_pane_live_runs(self, message: RunsPane.LiveRuns) -> None:
        """At start-up: tell about runs that still train, and how to follow them."""
        message.stop()
        shown = {run.id for run in (self.session.run, self.attach_run) if run is not None}
        rows = [r for r in message.rows if r.id not in shown]
        if not rows:
            return
        names = ", ".join(r.id for r in rows[:3]) + (f" and {len(rows) - 3} more" if len(rows) > 3 else "")
        self.notify(f"{names}.\nOpen the Runs pane (5) and press enter to attach, or run "
                    f"`tuidl attach {rows[0].id}`.",
                    title=f"{len(rows)} run{'s' if len(rows) != 1 else ''} still training", timeout=12)

    def _switching_from(self, run: RunDir) -> None:
        """Say so when the run this dashboard showed keeps training out of sight."""
        current = self.session.live_run()
        if current is not None and current.id != run.id:
            self.notify(f"{current.id} keeps training in the background; the Runs pane (5) reattaches to it.",
                        timeout=6)

    def _load_run_preset(self, run: RunDir) -> None:
        """Show a run's own preset in the panes (as `tuidl attach` / `tuidl replay` do)."""
        from tuidl.core.preset import preset as P

        if run.logged:  # a logged run has a config, no preset: the panes keep theirs
            self.sub_title = str(run.read_status().get("name") or run.id)
            return
        try:
            preset = P.load(run.preset_path)
        except (ConfigError, OSError) as e:
            self.notify(f"{run.id}: its preset cannot be shown ({e})", severity="warning")
            return
        self.load_preset(preset)
        self.sub_title = preset.name

    def on_runs_pane_open_sweep(self, message: RunsPane.OpenSweep) -> None:
        """The sweep's view; enter on a trial there opens that trial's run."""
        message.stop()
        from tuidl.ui.screens.sweep import SweepScreen

        def opened(run_id: str | None) -> None:
            if run_id:
                self.open_run(RunDir(self.runs.root / run_id))

        self.push_screen(SweepScreen(self.runs.root, message.sweep_id), opened)

    def on_runs_pane_open_run(self, message: RunsPane.OpenRun) -> None:
        """A live run is attached; any other is replayed at once into the Training pane."""
        message.stop()
        self.open_run(message.run)

    def open_run(self, run: RunDir) -> None:
        """Show a run: attach when it is live, replay it when it is not."""
        if self.session.launching:
            self.notify("a run is being started: wait a moment", severity="warning")
            return
        if not run.events_path.exists() and not run.is_live():
            self.notify(f"{run.id} has no events to show", severity="warning")
            return
        self._switching_from(run)
        self._load_run_preset(run)
        if run.is_live():
            self.start_attach(run)
            self.notify(f"attached to {run.id}", timeout=3)
        else:
            self.start_replay(run, 0.0)
        self.action_show_pane("training")

    def on_runs_pane_rerun_run(self, message: RunsPane.RerunRun) -> None:
        """Load the run's preset as the current one and start a new run of it."""
        message.stop()
        from tuidl.core.preset import preset as P

        if self.session.live or self.session.launching:
            self.notify("A run is already training: stop it first (x).", severity="warning")
            return
        if message.run.logged:
            self._run_again(message.run)
            return
        try:
            preset = P.load(message.run.require_preset("re-run"))
        except (ConfigError, OSError) as e:
            self.notify(f"cannot load the preset of {message.run.id}: {e}", title="Cannot re-run",
                        severity="error", timeout=10)
            return
        self.load_preset(preset)
        self.sub_title = preset.name
        self.action_show_pane("training")
        self.action_start()

    def _run_again(self, run: RunDir) -> None:
        """A logged run's command or script, again (``tuidl run --again``): a new detached
        run, attached to as it starts."""
        from tuidl.core.run import command

        try:
            command.again_of(run)
        except ValueError as e:
            self.notify(str(e), title="Cannot re-run", severity="warning", timeout=10)
            return

        def start() -> None:
            try:
                new = command.again(run, runs_root=self.runs_root)
            except (OSError, ValueError) as e:
                self.call_from_thread(self.notify, f"{run.id}: {e}", title="Cannot re-run", severity="error", timeout=10)
                return
            self.call_from_thread(self.notify, f"{new.id}: {' '.join(command.again_of(run)[0])}", title="Running again")
            self.call_from_thread(self.start_attach, new)

        self.run_worker(start, name="again", group="launch", thread=True, exit_on_error=False)

    def on_runs_pane_resume_run(self, message: RunsPane.ResumeRun) -> None:
        """Continue a stopped / interrupted / failed run from its last checkpoint (a
        trainer process of its own, like any run), then attach to it."""
        message.stop()
        run = message.run
        if self.session.launching:
            return
        if run.logged:
            self.notify(f"{run.id} is a logged run (tuidl.init / tuidl run): it has no preset or checkpoint "
                        "of tuidl's to resume from; r runs its command or script again", title="Cannot resume",
                        severity="warning", timeout=8)
            return
        self.session.launching = True
        self._set_state(RunState.LAUNCHING, f"resuming {run.id}")
        session = self.session
        self.run_worker(lambda: session.resume_trainer(self, run, telemetry=self.telemetry, allow_code=self.allow_code),
                        name="resume", group="launch", thread=True, exit_on_error=False)

    def on_runs_pane_compare_runs(self, message: RunsPane.CompareRuns) -> None:
        message.stop()
        if not message.runs:
            self.training.clear_overlays()
            self.notify("comparison cleared", timeout=2)
            return
        self.compare(message.runs)

    def on_runs_pane_compare_earlier(self, message: RunsPane.CompareEarlier) -> None:
        message.stop()
        self.action_compare_earlier()

    def compare(self, runs: list[RunDir], what: str = "") -> None:
        """Lay these runs' validation curves over the Training pane's charts (their
        event streams are read in a thread)."""
        runs = list(runs)

        def work() -> None:
            from tuidl.core.run import runview

            views: dict[str, RunView] = {}
            for run in runs:
                try:
                    view = runview.load(run)
                except OSError:
                    continue
                if not view.epochs and not view.scalars.events:
                    continue
                preset = str((view.started or {}).get("preset") or (view.started or {}).get("name") or "")
                label = run_label(run.id, preset)
                while label in views:
                    label += "'"
                views[label] = view
            self.post_message(RunsRead(views, what))

        self.run_worker(work, name="compare", group="compare", exclusive=True, thread=True, exit_on_error=False)

    def on_runs_read(self, message: RunsRead) -> None:
        message.stop()
        if not message.views:
            self.notify("nothing to compare: the runs have no finished epoch yet", severity="warning")
            return
        labels = self.training.set_overlays(message.views)
        self.action_show_pane("training")
        what = message.what
        self.notify(", ".join(labels) + " (validation curves; e: x axis in steps or epochs)",
                    title=f"Comparing {what or f'{len(labels)} run(s)'}", timeout=5)

    def action_compare_earlier(self) -> None:
        """Lay the earlier runs of the current preset (the run shown, or the preset being
        edited) over the charts; again clears them."""
        if self.training.overlays:
            self.training.clear_overlays()
            self.notify("comparison cleared", timeout=2)
            return
        current = self.session.run
        name = str(self.session.view.run_info.get("preset") or "") if current is not None else ""
        name = name or self.preset.name
        root = self.runs_root

        def work() -> None:
            rows = scan_runs(root)
            limit = float("inf")
            if current is not None:
                mine = next((r for r in rows if r.id == current.id), None)
                if mine is not None and mine.started:
                    limit = mine.started
            earlier = [r.run for r in rows
                       if r.preset == name and (current is None or r.id != current.id)
                       and (r.started or 0.0) <= limit][:MAX_EARLIER]
            self.post_message(EarlierRunsFound(earlier, name))

        self.run_worker(work, name="earlier runs", group="compare", exclusive=True, thread=True,
                        exit_on_error=False)

    def on_earlier_runs_found(self, message: EarlierRunsFound) -> None:
        message.stop()
        if not message.runs:
            self.notify(f"no earlier runs of {message.name} to compare with", severity="warning", timeout=4)
            return
        self.compare(message.runs, f"earlier runs of {message.name}")

    # -- chart toggles ------------------------------------------------------------------
    def action_toggle_x_axis(self) -> None:
        axis = self.training.toggle_x_axis()
        self.notify(f"x axis: {axis}s", timeout=1.5)

    def action_toggle_log(self) -> None:
        on_ = self.training.toggle_log()
        self.notify(f"log scale {'on' if on_ else 'off'}", timeout=1.5)

    def action_toggle_smooth(self) -> None:
        smooth = self.training.toggle_smooth()
        self.notify(f"smoothing {smooth:g}" if smooth else "smoothing off", timeout=1.5)

    def action_choose_charts(self) -> None:
        """A logged run's charts: a checklist of those to show."""
        training = self.training
        if not training.logged:
            self.notify("g picks the charts of a logged run (tuidl.init / tuidl run)", timeout=3)
            return
        logged = training.logged_view
        if not logged.groups:
            self.notify("the run has logged no metric yet", timeout=3)
            return

        def chosen(keys: list[str] | None) -> None:
            if keys is not None:
                logged.choose(keys)

        self.action_show_pane("training")
        self.push_screen(logged.checklist(), chosen)

    def action_next_fit_mark(self) -> None:
        mark = self.training.next_fit_mark()
        if mark is None:
            self.notify("no over- or underfitting marks on this run (yet)", timeout=2)

    def action_hyperparameters(self) -> None:
        """g: the Training pane's first field (epochs, then Tab: learning rate, batch size,
        optimizer), from anywhere."""
        if self._when_mounted("training", self.action_hyperparameters):
            return
        self.query_one(PaneDeck).active = "training"
        if not self.training.focus_first_field():
            self.action_show_pane("training")
            self.notify("the hyperparameters cannot change while a run trains", severity="warning", timeout=3)

    def action_cycle_marks(self) -> None:
        marks = self.training.cycle_marks()
        self.notify(f"charts drawn with {marks}", timeout=1.5)

    def action_toggle_settings(self) -> None:
        shown = self.training.toggle_settings()
        self.notify("hyperparameters shown" if shown else "hyperparameters hidden", timeout=1.5)

    def action_alerts(self) -> None:
        if self.alert_center is None:
            self.notify("alerts are off in this dashboard (the `tuidl` command watches runs)", timeout=3)
        else:
            self.alert_center.open_dialog()

    def action_help(self) -> None:
        from tuidl.ui.screens.help import HelpScreen  # on first use: it brings a Markdown parser (~0.1 s of imports)

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # -- the learning lab (tuidl.ui.screens.lab, docs/instruments.md) ----------------------
    def action_lab(self) -> None:
        """Inside the network of the run shown: neurons, layer health, landscape, attacks."""
        from tuidl.ui.screens.lab import LabScreen

        if not isinstance(self.screen, LabScreen):
            view = self.session.view  # a self-supervised run opens on what it learnt to represent
            objective = view.run_info.get("objective")
            representation = view.reconstructions is not None or objective not in (None, "", "supervised")
            self.push_screen(LabScreen("lab-latent") if representation else LabScreen())

    def action_try_model(self) -> None:
        """Draw a digit or move a point: what the run shown's model says (tuidl.ui.screens.trymodel)."""
        from tuidl.ui.screens.trymodel import TryModelScreen

        run, view = self.session.run, self.session.view
        if run is None or not (run.checkpoint("best").is_file() or run.checkpoint("last").is_file()):
            self.notify("no trained model to try yet: train one (s) or open a run from the Runs pane (5)",
                        severity="warning", timeout=4)
            return
        if not isinstance(self.screen, TryModelScreen):
            self.push_screen(TryModelScreen(run, view.run_info, view.boundary))

    def action_sweep(self) -> None:
        """Start a sweep of the current preset, or queue one (tuidl.ui.screens.sweepstart)."""
        from tuidl.ui.screens.sweepstart import SweepStartScreen

        if isinstance(self.screen, SweepStartScreen):
            return

        def started(result: tuple[str, str] | None) -> None:
            if result is None:
                return
            kind, said = result
            if kind == "run":
                self.action_queue()
                return
            self.notify(said + "\nThe Runs pane (5) shows its trials as a group.", title="sweep", timeout=6)
            self.runs.refresh_runs()

        self.push_screen(SweepStartScreen(self.preset, self.runs.root), started)

    def action_queue(self) -> None:
        """Put the current preset in the queue: it starts when a GPU (or CPU slot) is free."""
        self.run_worker(functools.partial(self._queue_preset, copy.deepcopy(self.preset)), thread=True,
                        group="queue-add", exit_on_error=False)

    def _queue_preset(self, preset: Preset) -> None:
        from tuidl.core.sweep import queue as Q

        try:
            entry = Q.add_run(self.runs.root, preset)
            Q.ensure_worker(self.runs.root)
        except (ConfigError, OSError) as e:
            self.call_from_thread(self.notify, f"not queued: {e}", title="queue", severity="error", timeout=6)
            return
        self.call_from_thread(self.notify, f"{preset.name} queued as {entry.id}: it starts when a slot is free "
                              f"(tuidl queue list)", title="queue", timeout=5)
        self.call_from_thread(self.runs.refresh_runs)

    def action_lr_find(self) -> None:
        """The learning-rate range test on the current preset; apply its suggestion."""
        from tuidl.ui.screens.lrfind import LRFindScreen

        if not isinstance(self.screen, LRFindScreen):
            self.push_screen(LRFindScreen(self.preset), self._lr_found)

    def _lr_found(self, lr: float | None) -> None:
        if lr is None:
            return
        lr = float(f"{lr:.3g}")  # 0.00201, not 0.00200923300256504: the finder is no more precise than that
        done = edit_preset(self.preset, [("train.optimizer.lr", lr)])
        if done.preset is None:
            self.notify("; ".join(str(p) for p in done.problems), title="learning rate not applied",
                        severity="error")
            return
        self.post_message(PresetEdited(done.preset, origin="lr-find"))
        self.notify(f"learning rate set to {lr:.3g}", timeout=3)

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
    def live_run(self) -> RunDir | None:
        """The run shown, if it trains now."""
        return self.session.live_run()

    def exit(self, *args: Any, **kwargs: Any) -> None:
        """Leave at once. The warm trainer's pipe is closed (it ends on its own) and a run
        that trains is never waited for. The focus is let go without restyling: taking the
        screen down would move it from widget to widget, each move restyling a whole pane
        (about a quarter of a second of the quit, measured here)."""
        self.closing = True
        self._drop_standby()
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
        run = self.live_run()
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

    # -- command palette ------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for n, (pane_id, title, _) in enumerate(PANES, 1):
            yield SystemCommand(f"Show {title}", f"Jump to the {title} pane (key {n})",
                                lambda p=pane_id: self.action_show_pane(p))
        yield SystemCommand("Start training", "Train the current preset in a new run (s)", self.action_start)
        yield SystemCommand("Pause / resume", "Pause the run, or resume it (p)", self.action_pause)
        yield SystemCommand("Stop the run", "Stop after saving a checkpoint (x)", self.action_stop)
        yield SystemCommand("Checkpoint now", "Save the model now (c)", self.action_checkpoint)
        yield SystemCommand("Charts: steps / epochs", "Toggle the x axis of the charts (e)",
                            self.action_toggle_x_axis)
        yield SystemCommand("Charts: log scale", "Toggle a logarithmic loss axis (l)", self.action_toggle_log)
        yield SystemCommand("Charts: smoothing", "Toggle smoothing of the curves (m)", self.action_toggle_smooth)
        yield SystemCommand("Charts: marks", "Braille dots, quadrant blocks or plain dots, for fonts "
                            "without braille ($TUIDL_CHART_MARKS)", self.action_cycle_marks)
        yield SystemCommand("Hyperparameters", "Show / hide the Training pane's settings (h)",
                            self.action_toggle_settings)
        yield SystemCommand("Edit the hyperparameters", "The Training pane's first field, epochs (g)",
                            self.action_hyperparameters)
        yield SystemCommand("Compare earlier runs", "Lay the earlier runs of this preset over the charts (b)",
                            self.action_compare_earlier)
        yield SystemCommand("Clear comparison", "Remove the compared runs from the charts",
                            self.training.clear_overlays)
        yield SystemCommand("Save preset", "Save the current preset as TOML (ctrl+s)", self.action_save_preset)
        yield SystemCommand("Alerts", "Rules that tell you of NaN, stalls, ends, thresholds, idle GPUs (A)",
                            self.action_alerts)
        yield SystemCommand("Open preset", "Switch to a built-in preset or a TOML file (ctrl+o)",
                            self.action_open_preset)
        yield SystemCommand("Fit the model to the data", "First layer's input, last layer's outputs and loss "
                            "follow the dataset (f)", self.action_fit_model)
        yield SystemCommand("Learning lab", "Inside the network: neurons, layer health, loss landscape, "
                            "adversarial test (i)", self.action_lab)
        yield SystemCommand("Try the model", "Draw a digit or move a point and see the model's answer (t)",
                            self.action_try_model)
        yield SystemCommand("Sweep", "Train this preset many times with some keys varied, on Optuna (w)",
                            self.action_sweep)
        yield SystemCommand("Queue this preset", "Start it when a GPU or CPU slot is free (tuidl queue)",
                            self.action_queue)
        yield SystemCommand("Learning-rate finder", "Sweep the learning rate, see the loss, apply the "
                            "suggestion (r)", self.action_lr_find)
        yield SystemCommand("Help", "Keys, panes and deep-learning basics (?)", self.action_help)


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
        app._drop_standby()
    if app.exit_message:
        print(app.exit_message)
    if app.return_code:
        return int(app.return_code)
    return int(code or 0)
