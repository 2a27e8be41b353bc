"""The Training pane: hyperparameters, run controls, progress, live curves, the event
log, the decision boundary (2-D Playground data) and the test results.

The pane never talks to the trainer itself. Its buttons post
:class:`TrainingPane.Control` (the app starts runs and sends commands); the app feeds
it batches of events with :meth:`TrainingPane.handle_events` and tells it what state
the run is in with :meth:`TrainingPane.set_run_state`. Every event type of
docs/events.md is handled; unknown types are ignored and a malformed event is logged
once, never raised.

Other runs can be laid over the loss and metric charts for comparison
(:meth:`TrainingPane.set_overlays` / :meth:`TrainingPane.clear_overlays`): each one's
validation curve (its training curve when it has no validation split) becomes an
extra line with its own colour and label. Overlays stay when a new run starts.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual import events
from textual.widgets import Button, Collapsible, RichLog, Static, TabbedContent, TabPane

from ..core import catalog, units
from ..core.events import number
from ..core.preset import Preset, from_dict, resolve, to_data
from ..core.schema import ConfigError
from .boundary import BoundaryPlot
from .charts import MetricChart
from . import palette
from .form import DataclassForm, FieldEditor, set_path
from .messages import PresetEdited
from .results import ResultsView, fmt_metric, metrics_text
from .series import Series
from .throttle import Throttle
from .visible import closing

if TYPE_CHECKING:  # no torch, no core.report at import time
    from ..core.report import History

SMOOTH_ON = 0.6
NARROW_BELOW = 96  # pane width under which the hyperparameters fold away
LOG_EVERY_S = 1.0  # event log writes for a stream of events, at most once a second
PROGRESS_EVERY_S = 1.0  # the progress line, at most once a second (with the charts)
FRAMES_PER_S = 4  # the pane's clock (1 with --low-bandwidth)

OVERLAY_PREFIX = "overlay:"
LEVEL_STYLE = {"info": "", "warning": "yellow", "error": "bold red"}
END_STYLE = {"completed": "bold green", "stopped": "yellow", "diverged": "bold red", "failed": "bold red",
             "interrupted": "bold red"}


def fmt_duration(seconds: float) -> str:
    """12 -> "12s", 754 -> "12m34s", 4000 -> "1h06m": the one duration format
    (:func:`tuidl.core.units.fmt_duration`, as ``tuidl runs`` writes it)."""
    return units.fmt_duration(seconds if math.isfinite(seconds) and seconds >= 0 else None)


def _f(value: Any) -> float:
    try:
        return number(value)
    except (TypeError, ValueError):
        return math.nan


def _int(value: Any, default: int = 0) -> int:
    f = _f(value)
    return int(f) if math.isfinite(f) else default


@dataclass
class RunProgress:
    """Where a run stands, from its events alone (so replays show the same)."""

    run_id: str = ""
    epochs: int = 0
    steps_per_epoch: int = 0
    batch_size: int = 0
    epoch: int = 0  # epoch in progress (1-based) or last finished
    epoch_step: int = 0
    step: int = 0
    epochs_done: int = 0
    samples_per_s: float = math.nan
    epoch_seconds: list[float] = field(default_factory=list)
    status: str = ""  # "" while running; the end status after run_ended
    message: str = ""
    duration: float = math.nan
    paused: bool = False

    @property
    def fraction(self) -> float:
        if self.epochs <= 0:
            return 0.0
        if self.status == "completed":
            return 1.0
        within = self.epoch_step / self.steps_per_epoch if self.steps_per_epoch else 0.0
        done = self.epochs_done + (within if self.epoch > self.epochs_done else 0.0)
        return max(0.0, min(1.0, done / self.epochs))

    def eta(self) -> float:
        """Seconds left, from the mean epoch time (or the step rate before the first
        epoch ends). NaN when unknown."""
        if self.epochs <= 0 or self.status:
            return math.nan
        left = self.epochs * (1.0 - self.fraction)
        if self.epoch_seconds:
            recent = self.epoch_seconds[-5:]
            return left * sum(recent) / len(recent)
        if self.samples_per_s > 0 and self.batch_size > 0 and self.steps_per_epoch > 0:
            return left * self.steps_per_epoch * self.batch_size / self.samples_per_s
        return math.nan


def progress_text(p: RunProgress, width: int = 80) -> Text:
    """``epoch 3/60 · step 12/22 ████░░░░ 37% · ETA 0:42 · 1,234 samples/s``."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if p.epochs <= 0:
        text.append("No run yet. ", style="bold")
        text.append("Press s to start training the current preset.", style="dim")
        return text
    epoch = max(p.epoch, p.epochs_done)
    text.append(f"epoch {min(epoch, p.epochs)}/{p.epochs}", style="bold")
    if p.steps_per_epoch:
        text.append(f" · step {p.epoch_step}/{p.steps_per_epoch}")
    frac = p.fraction
    bar_w = max(6, min(30, width - 70))
    filled = int(round(frac * bar_w))
    text.append(" ")
    style = END_STYLE.get(p.status, "cyan") if p.status else ("yellow" if p.paused else "cyan")
    text.append("█" * filled, style=style)
    text.append("░" * (bar_w - filled), style="dim")
    text.append(f" {100 * frac:3.0f}%")
    if p.status:
        text.append(f" · {p.status}", style=END_STYLE.get(p.status, "bold"))
        if math.isfinite(p.duration):
            text.append(f" in {fmt_duration(p.duration)}")
    else:
        if p.paused:
            text.append(" · paused", style="yellow")
        eta = p.eta()
        text.append(f" · ETA {fmt_duration(eta)}" if math.isfinite(eta) else " · ETA –")
    if math.isfinite(p.samples_per_s) and p.samples_per_s > 0:
        text.append(f" · {p.samples_per_s:,.0f} samples/s", style="dim")
    return text


@dataclass
class Overlay:
    """A compared run's curves: ``split`` (``val``, or ``train`` when the run had no
    validation split) loss and metrics, by epoch and by the step each epoch ended at."""

    label: str
    color: str
    split: str
    loss: dict[str, Series]  # "epoch" / "step" -> Series
    metrics: dict[str, dict[str, Series]]  # metric name -> {"epoch": Series, "step": Series}

    @classmethod
    def from_history(cls, label: str, history: Any, color: str) -> "Overlay":
        epochs = getattr(history, "epochs", {}) or {}
        has_val = any(isinstance(ev.get("val"), dict) for ev in epochs.values())
        split = "val" if has_val else "train"
        loss = {"epoch": Series(), "step": Series()}
        metrics: dict[str, dict[str, Series]] = {}
        for epoch in sorted(epochs):
            ev = epochs[epoch]
            values = ev.get(split)
            if not isinstance(values, dict):
                continue
            step = _f(ev.get("step"))
            for name, value in values.items():
                target = loss if name == "loss" else metrics.setdefault(name, {"epoch": Series(), "step": Series()})
                target["epoch"].append(float(epoch), value)
                if math.isfinite(step):
                    target["step"].append(step, value)
        return cls(label, color, split, loss, metrics)

    def line_label(self) -> str:
        return self.label if self.split == "val" else f"{self.label} (train)"


class Curves:
    """The Series behind the charts, by step and by epoch."""

    def __init__(self) -> None:
        self.step = {k: Series() for k in ("loss", "val_loss", "metric", "val_metric", "lr")}
        self.epoch = {k: Series() for k in ("loss", "val_loss", "metric", "val_metric", "lr")}

    def clear(self) -> None:
        for s in (*self.step.values(), *self.epoch.values()):
            s.clear()


# Hyperparameter sections: (title, open at first, [(attribute path in the preset,
# key prefix, fields or None for all, fields left out)]). Folded sections keep the
# pane light: their editors are not laid out until opened.
# The first, open section: single fields with labels of their own.
BASICS: list[tuple[str, str, str]] = [  # (path, field, label)
    ("train", "epochs", "epochs"),
    ("data", "batch_size", "batch size"),
    ("train.optimizer", "name", "optimizer"),
    ("train.optimizer", "lr", "learning rate"),
    ("train.schedule", "name", "lr schedule"),
    ("train", "loss", "loss"),
]
# Folded sections: (title, [(attribute path in the preset = key prefix, fields or None
# for all, fields left out)]). Folded editors are not laid out until opened, which
# keeps the pane light.
SECTIONS: list[tuple[str, list[tuple[str, list[str] | None, tuple[str, ...]]]]] = [
    ("Optimizer details", [("train.optimizer", ["momentum", "nesterov", "beta1", "beta2", "rho", "eps"], ())]),
    ("Learning-rate schedule", [("train.schedule", None, ("name",))]),
    ("Regularization", [("train.optimizer", ["weight_decay"], ()),
                        ("train", ["l1", "l2", "label_smoothing", "grad_clip"], ())]),
    ("Early stopping", [("train.early_stopping", None, ())]),
    ("Hardware", [("train", ["device", "precision", "channels_last", "compile", "deterministic",
                             "checkpoint_every"], ())]),
]


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _value_at(preset: Preset, path: str) -> Any:
    """The preset's value at a dotted key path (``train.optimizer.lr``)."""
    return _get(preset, path)


class EventLog(RichLog):
    """The run's event log. A new line changes only this widget's scrollable size, so
    it repaints itself and its scrollbar (always shown, see app.tcss) instead of asking
    Textual to lay out the whole screen again, which a ``RichLog`` does per write."""

    virtual_size = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        self._scroll_update(size)


class TrainingPane(Vertical):
    """Hyperparameters, controls, progress, curves, log, boundary and test results."""

    DEFAULT_CSS = """
    TrainingPane {
        height: 1fr;
    }
    """

    class Control(Message):
        """A control was used: ``command`` is start, pause, resume, stop or checkpoint."""

        def __init__(self, command: str) -> None:
            super().__init__()
            self.command = command

    def __init__(self, preset: Preset, *, low_bandwidth: bool = False, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.preset = preset
        self.low_bandwidth = low_bandwidth
        self.curves = Curves()
        self.progress = RunProgress()
        self.run_state = "idle"  # idle, launching, live, paused, ended, replay
        self.run_info: dict[str, Any] = {}
        self.x_axis = "step"
        self.log_y = False
        self.smooth = 0.0
        self.last_test: dict[str, Any] | None = None
        self.bad_events = 0
        self.events_seen = 0
        self._draft: dict[str, Any] = to_data(preset)
        self._cross_errors: set[str] = set()
        self._t0: float | None = None
        self._logged_bad = False
        self.overlays: dict[str, Overlay] = {}  # label -> a compared run's curves

    # -- composition -----------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Widgets used on every batch of events are kept as attributes: a DOM query per
        # event would cost more than the event.
        self.loss_chart = MetricChart("loss", id="loss-chart")
        self.metric_chart = MetricChart(self._metric_title(), id="metric-chart")
        self.lr_chart = MetricChart("learning rate", id="lr-chart")
        self.charts = (self.loss_chart, self.metric_chart, self.lr_chart)
        self.boundary = BoundaryPlot(id="boundary")
        self.event_log = EventLog(id="event-log", max_lines=2000, wrap=True, markup=False, auto_scroll=True)
        self._log_pending: list[Text] = []
        self._write_log = Throttle(self, LOG_EVERY_S, self._flush_log)
        self._progress_due = False
        self._progress_at = -math.inf
        self._in_batch = False
        self.results = ResultsView(id="results")
        self.progress_line = Static(progress_text(self.progress), id="train-progress")
        self.modes_line = Static(self._view_text(), id="chart-modes")
        self.state_line = Static("", id="run-state")
        self.buttons = {
            "start": Button(Text("Start [s]"), id="btn-start", variant="success", compact=True),
            "pause": Button(Text("Pause [p]"), id="btn-pause", variant="warning", compact=True, disabled=True),
            "stop": Button(Text("Stop [x]"), id="btn-stop", variant="error", compact=True, disabled=True),
            "checkpoint": Button(Text("Checkpoint [c]"), id="btn-checkpoint", variant="primary", compact=True,
                                 disabled=True),
            "settings": Button(Text("Settings [h]"), id="btn-settings", compact=True),
        }
        self.field_help = Static(Text("Tab moves between fields; the help of the focused one shows here.",
                                      style="dim"), id="field-help")
        self.problem_line = Static("", id="train-settings-problem")
        self.settings = Vertical(id="train-settings")
        self.tabs = TabbedContent(id="train-tabs", initial="tab-log")
        with Horizontal(id="train-body"):
            with self.settings:
                yield Static("Hyperparameters", classes="pane-heading")
                yield self.problem_line
                with VerticalScroll(id="train-form"):
                    with Collapsible(title="Basics", collapsed=False, classes="form-section"):
                        for attr, name, label in BASICS:
                            obj = _get(self.preset, attr)
                            yield FieldEditor(type(obj), name, getattr(obj, name), f"{attr}.{name}",
                                              label=label, show_help=False, classes="basic-field")
                    for i, (title, _forms) in enumerate(SECTIONS):
                        # Folded sections get their editors when first opened.
                        with Collapsible(title=title, collapsed=True, classes="form-section",
                                         id=f"section-{i}"):
                            yield Static(Text("…", style="dim"), classes="section-placeholder")
                yield self.field_help
            with Vertical(id="train-main"):
                with Horizontal(id="train-controls"):
                    yield from self.buttons.values()
                    yield self.state_line
                yield self.progress_line
                yield self.modes_line
                # The views share the height; on a short terminal they keep a readable
                # size and scroll instead.
                with VerticalScroll(id="train-views"):
                    with Horizontal(id="curves"):
                        yield self.loss_chart
                        yield self.metric_chart
                    with Horizontal(id="extras"):
                        yield self.lr_chart
                        yield self.boundary
                    with self.tabs:
                        with TabPane("Event log", id="tab-log"):
                            yield self.event_log
                        with TabPane("Test results", id="tab-results"):
                            yield self.results

    def on_mount(self) -> None:
        if closing(self):
            return
        charts = list(self.charts)
        fps = 1 if self.low_bandwidth else FRAMES_PER_S
        for chart in charts:
            chart.use_external_clock()
            chart.fps = fps
            if self.low_bandwidth:
                chart.data_every = 4.0
        if self.low_bandwidth:
            self.boundary.fps = 1
        # one clock for the charts and the progress line: what falls due together is
        # drawn together, in one screen update
        self.set_interval(1.0 / fps, self._frame, name="training-frame")
        self._attach_series()
        self._apply_view()
        self._update_for_preset()
        self._update_controls()

    # -- preset ------------------------------------------------------------------
    def _metric_key(self) -> str:
        metrics = self.run_info.get("metrics")
        if isinstance(metrics, list):
            if "mae" in metrics:
                return "mae"
            if "acc" in metrics:
                return "acc"
        task = self.run_info.get("task") or self._preset_task()
        return "mae" if task == "regression" else "acc"

    def _preset_task(self) -> str:
        kind = catalog.DATASETS.get(self.preset.data.dataset)
        if kind is None:
            return "classification"
        if kind.task == "auto":
            task = getattr(self.preset.data.params, "task", "auto")
            return task if task in ("classification", "regression") else "classification"
        return kind.task

    def _preset_classes(self) -> list[str] | None:
        """The current preset's class names (None when unknown or not classes)."""
        from ..core.preset import base_dir

        try:
            info = catalog.info(self.preset.data.dataset, self.preset.data.params, base_dir(self.preset))
        except Exception:  # noqa: BLE001 - a dataset that cannot be peeked at: default names
            return None
        return list(info.classes) if info.task == "classification" else None

    def _metric_title(self) -> str:
        return "MAE" if self._metric_key() == "mae" else "accuracy"

    def _is_playground(self) -> bool:
        kind = catalog.DATASETS.get(self.preset.data.dataset)
        return bool(kind and kind.group == "playground")

    def load_preset(self, preset: Preset) -> None:
        """Show another pane's edit (or a loaded preset) in the form."""
        self.preset = preset
        self._draft = to_data(preset)
        if not self.is_mounted:
            return
        for editor in self.query(FieldEditor):
            try:
                editor.set_value(_value_at(preset, editor.path))
            except (AttributeError, KeyError, IndexError):
                continue
        self._update_for_preset()

    def _update_for_preset(self) -> None:
        if not self.run_info:
            self.metric_chart.set_title(self._metric_title())
        show_boundary = self._is_playground() or self.boundary.epoch is not None
        self.boundary.display = show_boundary
        self.boundary.task_kind = self.run_info.get("task") or self._preset_task()
        if not self.run_info and show_boundary:
            self.boundary.class_names = self._preset_classes()
        self._check_startable()

    def _check_startable(self) -> None:
        """Show what would stop the preset from starting (model/data mismatches)."""
        note = self.problem_line
        try:
            resolve(self.preset)
        except ConfigError as e:
            note.update(Text("⚠ cannot start yet: " + e.problems[0].brief, style="yellow"))
            note.display = True
        except Exception as e:  # a dataset that cannot be peeked at, say
            note.update(Text(f"⚠ cannot start yet: {e}", style="yellow"))
            note.display = True
        else:
            note.update("")
            note.display = False

    def on_field_editor_changed(self, message: FieldEditor.Changed) -> None:
        message.stop()
        draft = copy.deepcopy(self._draft)
        try:
            set_path(draft, message.path, message.value)
        except (KeyError, IndexError, TypeError, ValueError) as e:
            message.editor.set_error(f"cannot set {message.path}: {e}")
            return
        self._draft = draft
        try:
            new = from_dict(copy.deepcopy(draft), self.preset.source)
        except ConfigError as e:
            errors = {p.path: p.message for p in e.problems}
            shown = set()
            for editor in self.query(FieldEditor):
                if editor.path in errors:
                    editor.set_error(errors[editor.path])
                    shown.add(editor.path)
            rest = [p.brief for p in e.problems if p.path not in shown]
            if rest:
                message.editor.set_error("; ".join(rest))
                shown.add(message.editor.path)
            self._cross_errors = shown
            return
        # Errors that came from this check (not from text that does not parse) go.
        for editor in self.query(FieldEditor):
            if editor.path in self._cross_errors or editor is message.editor:
                editor.set_error("")
        self._cross_errors = set()
        self.preset = new
        self._update_for_preset()
        self.post_message(PresetEdited(new, origin="training"))

    def open_section(self, title: str) -> Collapsible:
        """Unfold a hyperparameter section by its title (its editors mount at once)."""
        for i, (name, _forms) in enumerate(SECTIONS):
            if name == title:
                section = self.query_one(f"#section-{i}", Collapsible)
                section.collapsed = False
                self._populate(section)
                return section
        raise KeyError(title)

    def on_collapsible_expanded(self, event: Collapsible.Expanded) -> None:
        self._populate(event.collapsible)

    def _populate(self, section: Collapsible) -> None:
        if section.has_class("-populated") or not (section.id or "").startswith("section-"):
            return
        section.add_class("-populated")
        _title, forms = SECTIONS[int(section.id.split("-")[1])]
        contents = section.query_one(Collapsible.Contents)
        contents.query(".section-placeholder").remove()
        contents.mount(*[DataclassForm(_get(self.preset, attr), attr, fields=fields, exclude=exclude,
                                       show_help=False, classes="train-form")
                         for attr, fields, exclude in forms])

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        node = event.widget
        while node is not None and node is not self and not isinstance(node, FieldEditor):
            node = node.parent
        if isinstance(node, FieldEditor):
            text = Text(node.label, style="bold")
            text.append(f" ({node.path}): ", style="dim")
            text.append(node.help or "no help for this field")
            self.field_help.update(text, layout=False)

    # -- run state -----------------------------------------------------------------
    def set_run_state(self, state: str, detail: str = "") -> None:
        """idle, launching, live, paused, ended or replay (``detail``: a few words)."""
        self.run_state = state
        self._state_detail = detail
        self._update_controls()

    def _update_controls(self) -> None:
        if not self.is_mounted:
            return
        state = self.run_state
        live = state in ("live", "paused")
        self.buttons["start"].disabled = state in ("launching", "live", "paused")
        pause = self.buttons["pause"]
        pause.disabled = not live
        label = "Resume [p]" if state == "paused" else "Pause [p]"
        if pause.label.plain != label:
            pause.label = Text(label)
            pause.refresh(layout=True)  # a Button's label does not resize it by itself
        self.buttons["stop"].disabled = not live
        self.buttons["checkpoint"].disabled = not live
        self.settings.disabled = state in ("launching", "live", "paused")
        labels = {"idle": ("ready", "dim"), "launching": ("starting…", "yellow"), "live": ("training", "bold green"),
                  "paused": ("paused", "bold yellow"), "ended": ("ended", "bold"), "replay": ("replay", "cyan")}
        word, style = labels.get(state, (state, ""))
        text = Text(" ● " if live else " ○ ", style=style)
        text.append(word, style=style)
        detail = getattr(self, "_state_detail", "")
        if detail:
            text.append(f"  {detail}", style="dim")
        self.state_line.update(text, layout=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        bid = event.button.id or ""
        if bid == "btn-settings":
            self.toggle_settings()
            return
        command = {"btn-start": "start", "btn-stop": "stop", "btn-checkpoint": "checkpoint"}.get(bid)
        if bid == "btn-pause":
            command = "resume" if self.run_state == "paused" else "pause"
        if command:
            self.post_message(self.Control(command))

    # -- layout ------------------------------------------------------------------------
    def focus_default(self) -> None:
        """Focus the first usable run control (keys like s/p/x/c then reach the app);
        while the hyperparameters fill a narrow pane, the first section's title."""
        if self.has_class("-narrow") and self.has_class("-settings-open"):
            titles = self.settings.query("CollapsibleTitle")
            if titles:
                titles.first().focus()
                return
        for key in ("start", "pause", "settings"):
            button = self.buttons[key]
            if not button.disabled:
                button.focus()
                return

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW_BELOW, "-narrow")
        self.call_after_refresh(self._show_progress)

    def _show_progress(self) -> None:
        self._progress_due = False
        self._progress_at = time.monotonic()
        width = self.progress_line.size.width or max(40, self.size.width - 42)
        self.progress_line.update(progress_text(self.progress, width), layout=False)

    def settings_visible(self) -> bool:
        if self.has_class("-narrow"):
            return self.has_class("-settings-open")
        return not self.has_class("-settings-closed")

    def toggle_settings(self) -> bool:
        """Show or hide the hyperparameters; on a narrow pane they take its whole width."""
        if self.has_class("-narrow"):
            self.toggle_class("-settings-open")
        else:
            self.toggle_class("-settings-closed")
        return self.settings_visible()

    # -- charts ---------------------------------------------------------------------
    def _attach_series(self) -> None:
        src = self.curves.step if self.x_axis == "step" else self.curves.epoch
        loss = self.loss_chart
        metric = self.metric_chart
        lr = self.lr_chart
        loss.set_series("train", src["loss"], "train", palette.TRAIN)
        loss.set_series("val", src["val_loss"], "validation", palette.VAL)
        metric.set_series("train", src["metric"], "train", palette.TRAIN)
        metric.set_series("val", src["val_metric"], "validation", palette.VAL)
        lr.set_series("lr", src["lr"], "learning rate", palette.LR)
        self._attach_overlays()

    # -- compared runs ----------------------------------------------------------------
    def set_overlays(self, overlays: dict[str, "History"]) -> list[str]:
        """Lay other runs over the loss and metric charts, replacing any shown before:
        ``{label: History}`` (``tuidl.core.report.History``). Each run's validation
        curve becomes a line of its own colour. Returns the labels shown."""
        self.overlays = {}
        for i, (label, history) in enumerate(overlays.items()):
            color = palette.OVERLAYS[i % len(palette.OVERLAYS)]
            self.overlays[str(label)] = Overlay.from_history(str(label), history, color)
        self._attach_overlays()
        return list(self.overlays)

    def clear_overlays(self) -> None:
        """Remove every compared run from the charts."""
        self.overlays = {}
        self._attach_overlays()

    def overlay_keys(self) -> list[str]:
        """The chart keys of the compared runs' lines (on the loss chart)."""
        return [k for k in self.loss_chart.series_keys() if k.startswith(OVERLAY_PREFIX)]

    def _attach_overlays(self) -> None:
        """(Re)attach the compared runs' lines for the current x axis and metric."""
        if not hasattr(self, "loss_chart"):
            return  # not composed yet: done on mount
        axis = "step" if self.x_axis == "step" else "epoch"
        metric = self._metric_key()
        for chart in (self.loss_chart, self.metric_chart):
            for key in chart.series_keys():
                if key.startswith(OVERLAY_PREFIX):
                    chart.remove_series(key)
        for overlay in self.overlays.values():
            key = OVERLAY_PREFIX + overlay.label
            self.loss_chart.set_series(key, overlay.loss[axis], overlay.line_label(), overlay.color)
            if metric in overlay.metrics:
                self.metric_chart.set_series(key, overlay.metrics[metric][axis], overlay.line_label(), overlay.color)

    def _apply_view(self) -> None:
        for chart in self.charts:
            chart.x_label = self.x_axis
            chart.smooth = self.smooth if chart.id != "lr-chart" else 0.0
        self.loss_chart.log_y = self.log_y
        self.lr_chart.log_y = self.log_y
        self.modes_line.update(self._view_text(), layout=False)

    def _view_text(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", style="dim")
        text.append(f"x: {self.x_axis}s [e] · log y: {'on' if self.log_y else 'off'} [l] · "
                    f"smoothing: {self.smooth:g} [m]")
        return text

    def toggle_x_axis(self) -> str:
        self.x_axis = "epoch" if self.x_axis == "step" else "step"
        self._attach_series()
        self._apply_view()
        return self.x_axis

    def toggle_log(self) -> bool:
        self.log_y = not self.log_y
        self._apply_view()
        return self.log_y

    def toggle_smooth(self) -> float:
        self.smooth = 0.0 if self.smooth else SMOOTH_ON
        self._apply_view()
        return self.smooth

    def cycle_marks(self) -> str:
        """Draw the charts with the next mark style (braille → blocks → dots → braille),
        for fonts without braille; ``$TUIDL_CHART_MARKS`` sets the first one."""
        from ..core import textplot

        styles = list(textplot.MARKS)
        current = self.loss_chart.marks or textplot.default_marks()
        marks = styles[(styles.index(current) + 1) % len(styles)]
        for chart in self.charts:
            chart.marks = marks
            chart.mark_dirty()
        return marks

    def redraw_now(self) -> None:
        """Draw every chart and the boundary at once (screenshots, tests)."""
        for chart in self.charts:
            chart.redraw()
        self.boundary.refresh()

    # -- events -----------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the run shown (a new run starts)."""
        self.curves.clear()
        self.progress = RunProgress()
        self.run_info = {}
        self.last_test = None
        self.events_seen = 0
        self._t0 = None
        self._log_pending = []
        self.event_log.clear()
        self.results.clear()
        self.boundary.clear()
        self.tabs.active = "tab-log"
        for chart in self.charts:
            chart.mark_dirty()
        self._update_for_preset()
        self._show_progress()

    def handle_events(self, events: list[dict[str, Any]]) -> None:
        """Take a batch of events (any types, any order the trainer wrote them in)."""
        self._in_batch = True
        try:
            self._handle_batch(events)
        finally:
            self._in_batch = False
        ended = bool(self.progress.status)  # a run's end shows at once
        self._write_log(now=ended)
        self._progress_due = True
        if ended:
            self._show_progress()

    def _frame(self) -> None:
        """The pane's clock: the progress line (at most every PROGRESS_EVERY_S) and the
        charts' redraws that are due."""
        if self._progress_due and time.monotonic() - self._progress_at >= PROGRESS_EVERY_S:
            self._show_progress()
        for chart in self.charts:
            chart.tick()

    def _handle_batch(self, events: list[dict[str, Any]]) -> None:
        for ev in events:
            if not isinstance(ev, dict):
                self._bad(ev, "not an object")
                continue
            handler = getattr(self, f"_on_{ev.get('type')}", None) if isinstance(ev.get("type"), str) else None
            if handler is None:
                continue  # unknown or other panes' (telemetry) events
            self.events_seen += 1
            try:
                handler(ev)
            except (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError) as e:
                self._bad(ev, f"{type(e).__name__}: {e}")
        for chart in self.charts:
            chart.data_changed()

    def _bad(self, ev: Any, why: str) -> None:
        self.bad_events += 1
        if not self._logged_bad:
            self._logged_bad = True
            kind = ev.get("type") if isinstance(ev, dict) else type(ev).__name__
            self.log_line(f"ignored a malformed {kind!s} event ({why})", "yellow")

    def _stamp(self, ev: dict[str, Any]) -> str:
        t = _f(ev.get("time"))
        if not math.isfinite(t):
            return ""
        if self._t0 is None:
            self._t0 = t
        return f"+{fmt_duration(t - self._t0)} "

    def log_line(self, message: str, style: str = "", ev: dict[str, Any] | None = None) -> None:
        """Add a line to the event log. Lines from a batch of events are written together
        at most once a second (each write repaints the log, and a run of short epochs logs
        several a second); any other line is written at once."""
        text = Text()
        if ev is not None:
            text.append(self._stamp(ev), style="dim")
        text.append(message, style=style)
        self._log_pending.append(text)
        if not self._in_batch:
            self._write_log(now=True)

    def _flush_log(self) -> None:
        if self._log_pending:
            lines, self._log_pending = self._log_pending, []
            self.event_log.write(Text("\n").join(lines) if len(lines) > 1 else lines[0])

    # one method per event type ----------------------------------------------------
    def _on_run_started(self, ev: dict[str, Any]) -> None:
        info = dict(ev)
        data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
        self.run_info = {**info, "classes": data.get("classes"), "input_shape": data.get("input_shape")}
        p = self.progress
        p.run_id = str(ev.get("run_id", ""))
        p.epochs = _int(ev.get("epochs"))
        p.steps_per_epoch = _int(ev.get("steps_per_epoch"))
        p.batch_size = _int(ev.get("batch_size"))
        resumed = _int(ev.get("resumed_from"))
        p.epochs_done = max(p.epochs_done, resumed)
        p.epoch = max(p.epoch, resumed)
        p.status, p.message, p.paused = "", "", False
        metric = self._metric_key()
        self.metric_chart.set_title("MAE" if metric == "mae" else "accuracy")
        if self.overlays:
            self._attach_overlays()  # the metric shown may have changed
        task = ev.get("task")
        plot = self.boundary
        if task in ("classification", "regression"):
            plot.task_kind = task
        if isinstance(data.get("classes"), list) and len(data["classes"]) == 2:
            plot.class_names = data["classes"]  # the legend says what the data says
        device = ev.get("device_name") or ev.get("device") or "?"
        where = f"{device} ({ev.get('device')}, {ev.get('precision', 'fp32')})" if ev.get("device_name") else device
        head = f"resumed after epoch {resumed}" if resumed else "run started"
        self.log_line(f"{head}: {ev.get('preset', '?')}, {p.epochs} epochs × {p.steps_per_epoch} steps "
                      f"of {p.batch_size}, on {where}", "bold", ev)
        summary = ev.get("summary") if isinstance(ev.get("summary"), dict) else {}
        sizes = data.get("sizes") if isinstance(data.get("sizes"), dict) else {}
        if summary or sizes:
            parts = []
            if summary.get("total") is not None:
                parts.append(f"{_int(summary.get('total')):,} parameters")
            if sizes:
                parts.append("split " + " / ".join(f"{k} {_int(v):,}" for k, v in sizes.items()))
            if ev.get("loss"):
                parts.append(f"loss {ev.get('loss')}")
            self.log_line("  " + ", ".join(parts), "dim")

    def _on_step(self, ev: dict[str, Any]) -> None:
        p = self.progress
        step = _f(ev["step"])
        if not math.isfinite(step):
            raise ValueError(f"step is {ev['step']!r}")
        p.step = int(step)
        p.epoch = _int(ev.get("epoch"), p.epoch)
        p.epoch_step = _int(ev.get("epoch_step"), p.epoch_step)
        sps = _f(ev.get("samples_per_s"))
        if math.isfinite(sps):
            p.samples_per_s = sps
        c = self.curves.step
        c["loss"].append(step, ev.get("loss"))
        key = self._metric_key()
        if key in ev:
            c["metric"].append(step, ev.get(key))
        if "lr" in ev:
            c["lr"].append(step, ev.get("lr"))

    def _on_epoch(self, ev: dict[str, Any]) -> None:
        p = self.progress
        epoch = _int(ev["epoch"])
        step = _f(ev.get("step"))
        p.epoch = max(p.epoch, epoch)
        p.epochs_done = max(p.epochs_done, epoch)
        p.epoch_step = p.steps_per_epoch
        if math.isfinite(step):
            p.step = int(step)
        sps = _f(ev.get("samples_per_s"))
        if math.isfinite(sps):
            p.samples_per_s = sps
        dur = _f(ev.get("duration"))
        if math.isfinite(dur) and dur >= 0:
            p.epoch_seconds.append(dur)
        key = self._metric_key()
        train = ev.get("train") if isinstance(ev.get("train"), dict) else {}
        val = ev.get("val") if isinstance(ev.get("val"), dict) else None
        e, s = self.curves.epoch, self.curves.step
        e["loss"].append(epoch, train.get("loss"))
        if key in train:
            e["metric"].append(epoch, train.get(key))
        if math.isfinite(step):
            # The epoch's mean also goes on the step axis: fast epochs may see few
            # step events (they are rate-limited), and this keeps train and validation
            # comparable at every epoch end.
            s["loss"].append(step, train.get("loss"))
            if key in train:
                s["metric"].append(step, train.get(key))
            if "lr" in ev:
                s["lr"].append(step, ev.get("lr"))
        if val is not None:
            e["val_loss"].append(epoch, val.get("loss"))
            if math.isfinite(step):
                s["val_loss"].append(step, val.get("loss"))
            if key in val:
                e["val_metric"].append(epoch, val.get(key))
                if math.isfinite(step):
                    s["val_metric"].append(step, val.get(key))
        if "lr" in ev:
            e["lr"].append(epoch, ev.get("lr"))
        line = f"epoch {epoch}: loss {fmt_metric('loss', train.get('loss'))}"
        if key in train:
            line += f", {'acc' if key == 'acc' else key} {fmt_metric(key, train.get(key))}"
        if val is not None:
            line += f" | val loss {fmt_metric('loss', val.get('loss'))}"
            if key in val:
                line += f", {'acc' if key == 'acc' else key} {fmt_metric(key, val.get(key))}"
        if ev.get("best"):
            line += "  ★ best"
        self.log_line(line, "green" if ev.get("best") else "dim", ev)

    def _on_boundary(self, ev: dict[str, Any]) -> None:
        plot = self.boundary
        plot.display = True
        plot.update_boundary(ev)

    def _on_checkpoint(self, ev: dict[str, Any]) -> None:
        reason, kind = ev.get("reason", ""), ev.get("kind", "last")
        if reason in ("epoch", "start") and kind == "last":
            return  # every epoch: too routine to log
        path = ev.get("path", f"checkpoints/{kind}.pt")
        why = {"epoch": "new best epoch", "requested": "as requested", "stop": "on stop",
               "diverged": "before divergence", "error": "after an error"}.get(reason, reason)
        self.log_line(f"checkpoint {kind} saved ({why}, epoch {ev.get('epoch', '?')}): {path}",
                      "green" if kind == "best" else "", ev)

    def _on_control(self, ev: dict[str, Any]) -> None:
        action = ev.get("action", "")
        text = {"paused": "paused", "resumed": "resumed", "stop_requested": "stop requested: finishing the step, "
                "saving a checkpoint", "checkpoint_requested": "checkpoint requested"}.get(action, str(action))
        if action == "paused":
            self.progress.paused = True
        elif action == "resumed":
            self.progress.paused = False
        self.log_line(text, "yellow" if action in ("paused", "stop_requested") else "", ev)

    def _on_note(self, ev: dict[str, Any]) -> None:
        level = ev.get("level", "info")
        kind = ev.get("kind", "")
        prefix = {"early_stop": "early stop: ", "lr_drop": "lr drop: ", "divergence": "DIVERGED: ",
                  "oom": "out of memory: "}.get(kind, "")
        message = str(ev.get("message", kind))
        if prefix and message.lower().startswith(prefix.split(":")[0].lower()):
            prefix = ""
        style = LEVEL_STYLE.get(level, "")
        if kind == "early_stop":
            style = "bold yellow"
        self.log_line(prefix + message, style, ev)

    def _on_telemetry(self, ev: dict[str, Any]) -> None:
        problem = ev.get("problem")
        if problem and not getattr(self, "_telemetry_problem", None):
            self._telemetry_problem = problem
            self.log_line(f"telemetry: {problem}", "dim", ev)

    def _on_test(self, ev: dict[str, Any]) -> None:
        self.last_test = ev
        info = self.run_info
        task = info.get("task") or self._preset_task()
        self.results.show_test(ev, classes=info.get("classes"), task=task,
                                             input_shape=info.get("input_shape"))
        self.log_line(metrics_text(ev.get("metrics")).plain, palette.style(palette.TEST, bold=True), ev)
        self.tabs.active = "tab-results"

    def _on_run_ended(self, ev: dict[str, Any]) -> None:
        p = self.progress
        p.status = str(ev.get("status", "completed"))
        p.message = str(ev.get("message", ""))
        p.duration = _f(ev.get("duration"))
        p.paused = False
        done = _int(ev.get("epochs_completed"), p.epochs_done)
        p.epochs_done = max(p.epochs_done, done)
        p.epoch = max(p.epoch, done)
        best = ev.get("best") if isinstance(ev.get("best"), dict) else None
        line = f"run ended: {p.status}"
        if p.message:
            line += f": {p.message}"
        if best:
            monitor = str(best.get("monitor", ""))
            line += f" (best {monitor} {fmt_metric(monitor.removeprefix('val_'), best.get('value'))} " \
                    f"at epoch {best.get('epoch', '?')})"
        self.log_line(line, END_STYLE.get(p.status, "bold"), ev)
