"""The dashboard's keys: its bindings (:func:`bindings`), what its keys do beyond
running (:class:`KeyActions`: the preset opened, fitted, saved; the charts' toggles; the
screens a key opens) and the command palette's entries (:func:`system_commands`).

The run's own keys (start, pause, stop, checkpoint) are the run controller's
(:mod:`tuidl.ui.runcontrol`); the app's ``action_*`` methods hand each key to one of them.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from textual.app import SystemCommand
from textual.binding import Binding

from tuidl.core.preset.preset import Preset, dumps
from tuidl.core.preset.preset import edit as edit_preset
from tuidl.core.preset.schema import ConfigError
from tuidl.ui.messages import PresetEdited
from tuidl.ui.panes.registry import INFOS
from tuidl.ui.screens.dialogs import SavePresetScreen
from tuidl.ui.widgets.deck import PaneDeck

if TYPE_CHECKING:
    from tuidl.ui.panes.runs import RunsPane
    from tuidl.ui.panes.training import TrainingPane


def bindings() -> list[Binding]:
    """The app's keys: ``1``-``5`` for the panes (from the registry), then the rest."""
    panes = [Binding(str(n), f"show_pane('{info.key}')", info.label, key_display=str(n))
             for n, info in enumerate(INFOS, 1)]
    return panes + [
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


class KeyActions:
    """What the dashboard's keys do, beyond running: the preset, the charts, the screens."""

    def __init__(self, app: Any) -> None:
        self.app = app

    @property
    def training(self) -> TrainingPane:
        return self.app.panes["training"]

    @property
    def runs(self) -> RunsPane:
        return self.app.panes["runs"]

    # -- switching presets, fitting the model to the data (tuidl.ui.screens.picker) ------------
    def open_preset(self) -> None:
        """Pick a built-in preset or a TOML file, as `tuidl NAME` opens it."""
        from tuidl.ui.screens.picker import PresetPickerScreen

        app = self.app
        if not isinstance(app.screen, PresetPickerScreen):
            app.push_screen(PresetPickerScreen(app.preset.name), self._opened)

    def _opened(self, preset: Preset | None) -> None:
        if preset is None:
            return
        app = self.app
        app.load_preset(preset)
        app.sub_title = preset.name
        app.notify(f"{preset.name}: {preset.description}" if preset.description else preset.name,
                   title="Preset opened", timeout=5)

    def fit_model(self) -> None:
        """Fit the model to the data (first layer's input, last layer's outputs, loss)."""
        from tuidl.core.model.fit import fit_to_data

        fitted = fit_to_data(self.app.preset)
        if fitted.preset is None:
            self.app.notify(fitted.problem, title="Cannot fit the model", severity="warning", timeout=8)
        elif not fitted.changes:
            self.app.notify("the model already fits the data", timeout=3)
        else:
            self.ask_fit(fitted)

    def offer_fit(self, before: Preset, after: Preset) -> None:
        """The dataset changed: if the model fitted the old data but not the new, offer
        to fit it (once per change of the data's shape, task or classes)."""
        from tuidl.core.model.fit import data_signature, fit_to_data, model_problem

        if self.app.preset is not after or data_signature(before) == data_signature(after):
            return
        if model_problem(before) or not model_problem(after):
            return
        fitted = fit_to_data(after)
        if fitted.changed:
            self.ask_fit(fitted)

    def ask_fit(self, fitted: Any) -> None:
        from tuidl.ui.screens.picker import FitModelScreen

        app = self.app
        if isinstance(app.screen, FitModelScreen):
            return
        asked = app.preset

        def answer(fit: bool | None) -> None:
            if fit and app.preset is asked:
                app.load_preset(fitted.preset)
                app.notify("; ".join(fitted.changes), title="Model fitted to the data", timeout=6)

        app.push_screen(FitModelScreen(fitted, app.preset.data.dataset), answer)

    def save_preset(self) -> None:
        default = f"./{self.app.preset.name}.toml"
        self.app.push_screen(SavePresetScreen(default), lambda path: self.save_to(path) if path else None)

    def save_to(self, path: str | os.PathLike) -> Path | None:
        """Write the current preset as TOML; problems become notifications."""
        app = self.app
        target = Path(path).expanduser()
        if target.suffix != ".toml" and not target.is_dir():
            target = target.with_name(target.name + ".toml") if target.name else target
        try:
            if target.is_dir():
                raise IsADirectoryError(21, "is a folder", str(target))
            text = dumps(app.preset)
            target.write_text(text, encoding="utf-8")
        except OSError as e:
            app.notify(f"could not save {target}: {e.strerror or e}", title="Save failed", severity="error",
                       timeout=8)
            return None
        except (ValueError, TypeError) as e:
            app.notify(f"could not write the preset: {e}", title="Save failed", severity="error", timeout=8)
            return None
        app.notify(f"saved {target}", title="Preset saved")
        return target

    # -- chart toggles ------------------------------------------------------------------
    def toggle_x_axis(self) -> None:
        axis = self.training.toggle_x_axis()
        self.app.notify(f"x axis: {axis}s", timeout=1.5)

    def toggle_log(self) -> None:
        on_ = self.training.toggle_log()
        self.app.notify(f"log scale {'on' if on_ else 'off'}", timeout=1.5)

    def toggle_smooth(self) -> None:
        smooth = self.training.toggle_smooth()
        self.app.notify(f"smoothing {smooth:g}" if smooth else "smoothing off", timeout=1.5)

    def cycle_marks(self) -> None:
        marks = self.training.cycle_marks()
        self.app.notify(f"charts drawn with {marks}", timeout=1.5)

    def toggle_settings(self) -> None:
        shown = self.training.toggle_settings()
        self.app.notify("hyperparameters shown" if shown else "hyperparameters hidden", timeout=1.5)

    def next_fit_mark(self) -> None:
        if self.training.next_fit_mark() is None:
            self.app.notify("no over- or underfitting marks on this run (yet)", timeout=2)

    def choose_charts(self) -> None:
        """A logged run's charts: a checklist of those to show."""
        app, training = self.app, self.training
        if not training.logged:
            app.notify("g picks the charts of a logged run (tuidl.init / tuidl run)", timeout=3)
            return
        logged = training.logged_view
        if not logged.groups:
            app.notify("the run has logged no metric yet", timeout=3)
            return

        def chosen(keys: list[str] | None) -> None:
            if keys is not None:
                logged.choose(keys)

        app.action_show_pane("training")
        app.push_screen(logged.checklist(), chosen)

    def hyperparameters(self) -> None:
        """g: the Training pane's first field (epochs, then Tab: learning rate, batch size,
        optimizer), from anywhere."""
        app = self.app
        if app.deck.when_mounted("training", self.hyperparameters):
            return
        app.query_one(PaneDeck).active = "training"
        if not self.training.focus_first_field():
            app.action_show_pane("training")
            app.notify("the hyperparameters cannot change while a run trains", severity="warning", timeout=3)

    # -- screens ----------------------------------------------------------------------
    def help(self) -> None:
        from tuidl.ui.screens.help import HelpScreen  # on first use: it brings a Markdown parser (~0.1 s of imports)

        if not isinstance(self.app.screen, HelpScreen):
            self.app.push_screen(HelpScreen())

    def lab(self) -> None:
        """Inside the network of the run shown: neurons, layer health, landscape, attacks
        (tuidl.ui.screens.lab, docs/instruments.md)."""
        from tuidl.ui.screens.lab import LabScreen

        app = self.app
        if not isinstance(app.screen, LabScreen):
            view = app.session.view  # a self-supervised run opens on what it learnt to represent
            objective = view.run_info.get("objective")
            representation = view.reconstructions is not None or objective not in (None, "", "supervised")
            app.push_screen(LabScreen("lab-latent") if representation else LabScreen())

    def try_model(self) -> None:
        """Draw a digit or move a point: what the run shown's model says (tuidl.ui.screens.trymodel)."""
        from tuidl.ui.screens.trymodel import TryModelScreen

        app = self.app
        run, view = app.session.run, app.session.view
        if run is None or not (run.checkpoint("best").is_file() or run.checkpoint("last").is_file()):
            app.notify("no trained model to try yet: train one (s) or open a run from the Runs pane (5)",
                       severity="warning", timeout=4)
            return
        if not isinstance(app.screen, TryModelScreen):
            app.push_screen(TryModelScreen(run, view.run_info, view.boundary))

    def sweep(self) -> None:
        """Start a sweep of the current preset, or queue one (tuidl.ui.screens.sweepstart)."""
        from tuidl.ui.screens.sweepstart import SweepStartScreen

        app = self.app
        if isinstance(app.screen, SweepStartScreen):
            return

        def started(result: tuple[str, str] | None) -> None:
            if result is None:
                return
            kind, said = result
            if kind == "run":
                self.queue()
                return
            app.notify(said + "\nThe Runs pane (5) shows its trials as a group.", title="sweep", timeout=6)
            self.runs.refresh_runs()

        app.push_screen(SweepStartScreen(app.preset, self.runs.root), started)

    def open_sweep(self, sweep_id: str) -> None:
        """The sweep's view; enter on a trial there opens that trial's run."""
        from tuidl.core.run.rundir import RunDir
        from tuidl.ui.screens.sweep import SweepScreen

        app = self.app

        def opened(run_id: str | None) -> None:
            if run_id:
                app.runner.open(RunDir(self.runs.root / run_id))

        app.push_screen(SweepScreen(self.runs.root, sweep_id), opened)

    def queue(self) -> None:
        """Put the current preset in the queue: it starts when a GPU (or CPU slot) is free."""
        self.app.run_worker(functools.partial(self._queue_preset, copy.deepcopy(self.app.preset)), thread=True,
                            group="queue-add", exit_on_error=False)

    def _queue_preset(self, preset: Preset) -> None:
        from tuidl.core.sweep import queue as Q

        app = self.app
        try:
            entry = Q.add_run(self.runs.root, preset)
            Q.ensure_worker(self.runs.root)
        except (ConfigError, OSError) as e:
            app.call_from_thread(app.notify, f"not queued: {e}", title="queue", severity="error", timeout=6)
            return
        app.call_from_thread(app.notify, f"{preset.name} queued as {entry.id}: it starts when a slot is free "
                             f"(tuidl queue list)", title="queue", timeout=5)
        app.call_from_thread(self.runs.refresh_runs)

    def lr_find(self) -> None:
        """The learning-rate range test on the current preset; apply its suggestion."""
        from tuidl.ui.screens.lrfind import LRFindScreen

        if not isinstance(self.app.screen, LRFindScreen):
            self.app.push_screen(LRFindScreen(self.app.preset), self._lr_found)

    def _lr_found(self, lr: float | None) -> None:
        if lr is None:
            return
        app = self.app
        lr = float(f"{lr:.3g}")  # 0.00201, not 0.00200923300256504: the finder is no more precise than that
        done = edit_preset(app.preset, [("train.optimizer.lr", lr)])
        if done.preset is None:
            app.notify("; ".join(str(p) for p in done.problems), title="learning rate not applied",
                       severity="error")
            return
        app.post_message(PresetEdited(done.preset, origin="lr-find"))
        app.notify(f"learning rate set to {lr:.3g}", timeout=3)


def system_commands(app: Any) -> Iterator[SystemCommand]:
    """The command palette's entries for the dashboard (after Textual's own)."""
    for n, info in enumerate(INFOS, 1):
        yield SystemCommand(f"Show {info.title}", f"Jump to the {info.title} pane (key {n})",
                            lambda p=info.key: app.action_show_pane(p))
    yield SystemCommand("Start training", "Train the current preset in a new run (s)", app.action_start)
    yield SystemCommand("Pause / resume", "Pause the run, or resume it (p)", app.action_pause)
    yield SystemCommand("Stop the run", "Stop after saving a checkpoint (x)", app.action_stop)
    yield SystemCommand("Checkpoint now", "Save the model now (c)", app.action_checkpoint)
    yield SystemCommand("Charts: steps / epochs", "Toggle the x axis of the charts (e)",
                        app.action_toggle_x_axis)
    yield SystemCommand("Charts: log scale", "Toggle a logarithmic loss axis (l)", app.action_toggle_log)
    yield SystemCommand("Charts: smoothing", "Toggle smoothing of the curves (m)", app.action_toggle_smooth)
    yield SystemCommand("Charts: marks", "Braille dots, quadrant blocks or plain dots, for fonts "
                        "without braille ($TUIDL_CHART_MARKS)", app.action_cycle_marks)
    yield SystemCommand("Hyperparameters", "Show / hide the Training pane's settings (h)",
                        app.action_toggle_settings)
    yield SystemCommand("Edit the hyperparameters", "The Training pane's first field, epochs (g)",
                        app.action_hyperparameters)
    yield SystemCommand("Compare earlier runs", "Lay the earlier runs of this preset over the charts (b)",
                        app.action_compare_earlier)
    yield SystemCommand("Clear comparison", "Remove the compared runs from the charts",
                        app.panes["training"].clear_overlays)
    yield SystemCommand("Save preset", "Save the current preset as TOML (ctrl+s)", app.action_save_preset)
    yield SystemCommand("Alerts", "Rules that tell you of NaN, stalls, ends, thresholds, idle GPUs (A)",
                        app.action_alerts)
    yield SystemCommand("Open preset", "Switch to a built-in preset or a TOML file (ctrl+o)",
                        app.action_open_preset)
    yield SystemCommand("Fit the model to the data", "First layer's input, last layer's outputs and loss "
                        "follow the dataset (f)", app.action_fit_model)
    yield SystemCommand("Learning lab", "Inside the network: neurons, layer health, loss landscape, "
                        "adversarial test (i)", app.action_lab)
    yield SystemCommand("Try the model", "Draw a digit or move a point and see the model's answer (t)",
                        app.action_try_model)
    yield SystemCommand("Sweep", "Train this preset many times with some keys varied, on Optuna (w)",
                        app.action_sweep)
    yield SystemCommand("Queue this preset", "Start it when a GPU or CPU slot is free (tuidl queue)",
                        app.action_queue)
    yield SystemCommand("Learning-rate finder", "Sweep the learning rate, see the loss, apply the "
                        "suggestion (r)", app.action_lr_find)
    yield SystemCommand("Help", "Keys, panes and deep-learning basics (?)", app.action_help)
