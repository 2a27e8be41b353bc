"""The Training pane: hyperparameters beside the run's controls, progress, live curves,
event log, decision boundary (2-D Playground data) and test results.

The pane is put together from parts: the hyperparameter form (here), the run controls
and progress line (:mod:`tuidl.ui.panes.run_controls`) and the charts, log and results
(:mod:`tuidl.ui.panes.run_charts`). It never talks to the trainer itself: its buttons post
:class:`RunControls.Control` (the app starts runs and sends commands), and it shows a
:class:`~tuidl.core.run.runview.RunView`: the app hands it the view of a new run
(:meth:`TrainingPane.show_run`) and what the view took from each batch of events
(:meth:`TrainingPane.take`), and tells it the run's state
(:meth:`TrainingPane.set_run_state`). No event logic lives here.
"""

from __future__ import annotations

import math
import time
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Collapsible

from tuidl.core.data import catalog
from tuidl.core.preset.preset import Preset
from tuidl.core.run.rundir import RunDir
from tuidl.core.run.runview import Applied, RunProgress, RunView
from tuidl.ui.panes.hyperparams import BASICS, SECTIONS, Hyperparameters
from tuidl.ui.panes.logged import LoggedView
from tuidl.ui.panes.run_charts import OVERLAY_PREFIX, ChartModes, Curves, EventLog, Overlay, RunCharts
from tuidl.ui.panes.run_controls import ProgressLine, RunControls, fmt_duration, progress_text
from tuidl.ui.session import RunState, new_view
from tuidl.ui.visible import closing
from tuidl.ui.panes.base import PaneInfo

__all__ = ["BASICS", "OVERLAY_PREFIX", "SECTIONS", "Curves", "EventLog", "Overlay", "RunProgress", "TrainingPane",
           "fmt_duration", "progress_text"]

NARROW_BELOW = 96  # pane width under which the hyperparameters fold away
PROGRESS_EVERY_S = 1.0  # the progress line, at most once a second (with the charts)
FRAMES_PER_S = 4  # the pane's clock (1 with --low-bandwidth)


# TrainingPane's stylesheet (its DEFAULT_CSS), apart from its code
TRAINING_CSS = """
    TrainingPane {
        height: 1fr;
    }
    TrainingPane #train-body {
        height: 1fr;
    }

    TrainingPane #train-settings {
        width: 40;
        height: 1fr;
        border-right: vkey $panel-lighten-2;
        padding: 0 1 0 0;
    }

    TrainingPane #train-settings:disabled {
        opacity: 70%;
    }

    TrainingPane #train-form {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }

    TrainingPane #field-help {
        height: 3;
        color: $text-muted;
        border-top: hkey $panel-lighten-2;
    }

    TrainingPane .pane-heading {
        text-style: bold;
        color: $accent;
        height: 1;
    }

    TrainingPane Collapsible.form-section {
        padding: 0;
        margin: 0;
        border-top: none;
    }

    TrainingPane Collapsible.form-section > Contents {
        padding: 0 0 0 1;
    }

    TrainingPane #train-settings-problem {
        height: auto;
    }

    TrainingPane #train-main {
        width: 1fr;
        height: 1fr;
        padding: 0 0 0 1;
    }

    TrainingPane #train-controls {
        height: 1;
    }

    TrainingPane #train-controls Button {
        margin: 0 1 0 0;
        min-width: 8;
    }

    TrainingPane #run-state {
        width: 1fr;
        height: 1;
        text-wrap: nowrap;  /* one line, cut with an ellipsis (wrapped, the rest was out of sight) */
        text-overflow: ellipsis;
    }

    TrainingPane #train-progress, TrainingPane #chart-modes {
        height: 1;
    }

    TrainingPane #train-views {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }

    TrainingPane #curves {
        height: 1fr;
        min-height: 11;
    }

    TrainingPane #fit-note {
        height: auto;  /* the whole explanation, however narrow the pane (no cut text) */
        padding: 0 1;
    }
    TrainingPane #extras {
        height: 1fr;
        min-height: 9;
    }

    TrainingPane #curves MetricChart, TrainingPane #extras MetricChart {
        width: 1fr;
        height: 1fr;
    }

    TrainingPane #extras BoundaryPlot {
        width: 1fr;
        height: 1fr;
    }

    TrainingPane #train-tabs {
        height: 1fr;
        min-height: 9;
    }

    TrainingPane #train-tabs > ContentSwitcher {
        height: 1fr;
    }

    TrainingPane #train-tabs TabPane {
        height: 1fr;
        padding: 0;
    }

    TrainingPane #event-log {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
        overflow-y: scroll;  /* always there: a new line never changes the layout (EventLog) */
    }

    TrainingPane ResultsView {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }

    /* Hyperparameters: hidden on request (h); on a narrow pane hidden unless asked for,
       and then they take the whole pane. */
    TrainingPane.-settings-closed #train-settings {
        display: none;
    }

    TrainingPane.-narrow #train-settings {
        display: none;
    }

    TrainingPane.-narrow.-settings-open #train-settings {
        display: block;
        width: 1fr;
        border-right: none;
    }

    TrainingPane.-narrow.-settings-open #train-main {
        display: none;
    }

    TrainingPane.-narrow #train-main {
        padding: 0;
    }

    TrainingPane.-narrow #train-controls Button {
        margin: 0;
        min-width: 6;
    }

    /* Controls narrower than the seven buttons and the run state (RunControls.one_row):
       the buttons on two rows of four columns, the run state in the last column of the
       second. */
    TrainingPane #train-controls.-two-rows {
        layout: grid;
        grid-size: 4 2;
        grid-columns: auto auto auto 1fr;
        grid-rows: 1;
        grid-gutter: 0 1;  /* auto columns leave margins out: the gutter spaces them */
        height: 2;
    }

    TrainingPane #train-controls.-two-rows Button {
        margin: 0;
    }
"""


class TrainingPane(Vertical):
    """Hyperparameters, controls, progress, curves, log, boundary and test results."""

    DEFAULT_CSS = TRAINING_CSS

    Control = RunControls.Control  # what the buttons post

    # Shown in the footer while the focus is in this pane; the app has the same keys
    # for everywhere else.
    BINDINGS = [
        Binding("g", "app.hyperparameters", "Fields"),  # for a logged run (no fields): its charts
        Binding("g", "app.choose_charts", "Charts"),
        Binding("o", "app.next_fit_mark", "Marks"),
        Binding("pagedown", "scroll_charts(1)", "More charts", show=False),  # a logged run's chart grid
        Binding("pageup", "scroll_charts(-1)", "More charts", show=False),
    ]

    PANE = PaneInfo("training", "Training", "Train", takes_preset=True, takes_events=True, rows=2)

    @classmethod
    def create(cls, app: Any) -> "TrainingPane":
        """The pane, built from the dashboard's options."""
        return cls(app.preset, low_bandwidth=app.low_bandwidth, id=cls.PANE.widget_id)

    def __init__(self, preset: Preset, *, low_bandwidth: bool = False, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.preset = preset
        self.low_bandwidth = low_bandwidth
        self.view = new_view()  # the run shown
        self._render_bad = 0  # events the view took that could not be shown
        self._progress_due = False
        self._progress_at = -math.inf
        self.controls = RunControls(id="train-controls")
        self.progress_line = ProgressLine(self.view.progress, id="train-progress")
        self.run_charts = RunCharts(ChartModes(ChartModes.text("step", False, 0.0), id="chart-modes"),
                                    self.view, self._metric_key(), id="train-views")
        self.logged_view = LoggedView(id="logged-view")
        self.logged_view.display = False
        self._logged = False
        self._run_path = None  # the run directory shown (a logged run's output.log is there)

    # -- composition -----------------------------------------------------------
    def compose(self) -> ComposeResult:
        self.settings = Hyperparameters(self.preset, on_edit=self._edited, id="train-settings")
        with Horizontal(id="train-body"):
            yield self.settings
            with Vertical(id="train-main"):
                yield self.controls
                yield self.progress_line
                yield self.run_charts.modes
                yield self.run_charts
                yield self.logged_view

    def on_mount(self) -> None:
        if closing(self):
            return
        fps = 1 if self.low_bandwidth else FRAMES_PER_S
        self.run_charts.start_clock(fps, self.low_bandwidth)
        # one clock for the charts and the progress line: what falls due together is
        # drawn together, in one screen update
        self.set_interval(1.0 / fps, self._frame, name="training-frame")
        self._update_for_preset()
        self.settings.disabled = self.controls.busy

    # -- the run shown: its state is the view's (``view``), its parts the charts' (``run_charts``)
    @property
    def bad_events(self) -> int:
        """Events that were malformed, or could not be shown."""
        return self.view.bad_events + self._render_bad

    # -- preset ------------------------------------------------------------------
    def _metric_key(self) -> str:
        return self.view.metric_key(self._preset_task())

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
        try:
            info = catalog.info(self.preset.data.dataset, self.preset.data.params)
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
        if not self.is_mounted:
            return
        self.settings.load_preset(preset)
        self._update_for_preset()

    def _edited(self, preset: Preset) -> None:
        """A valid edit in the hyperparameters (posted on as PresetEdited)."""
        self.preset = preset
        self._update_for_preset()

    def _update_for_preset(self) -> None:
        run_info, boundary = self.view.run_info, self.run_charts.boundary
        if not run_info:
            self.run_charts.set_metric(self._metric_key())
        show_boundary = self._is_playground() or boundary.epoch is not None
        boundary.display = show_boundary
        boundary.task_kind = run_info.get("task") or self._preset_task()
        if not run_info and show_boundary:
            boundary.class_names = self._preset_classes()
        self._check_startable()

    def _check_startable(self) -> None:
        self.settings.check_startable()

    def open_section(self, title: str) -> Collapsible:
        """Unfold a hyperparameter section by its title (its editors mount at once)."""
        return self.settings.open_section(title)

    # -- run state -----------------------------------------------------------------
    def set_run_state(self, state: RunState | str, detail: str = "") -> None:
        """idle, launching, live, paused, ended or replay (``detail``: a few words)."""
        self.controls.set_run_state(state, detail)
        if self.is_mounted:
            self.settings.disabled = self.controls.busy

    def on_run_controls_toggle_settings(self, message: RunControls.ToggleSettings) -> None:
        message.stop()
        self.toggle_settings()

    def action_scroll_charts(self, pages: int) -> None:
        if self.logged:
            self.logged_view.scroll_charts(pages)

    # -- layout ------------------------------------------------------------------------
    def focus_default(self) -> None:
        """Focus the first usable run control (keys like s/p/x/c then reach the app);
        while the hyperparameters fill a narrow pane, the first section's title."""
        if self.has_class("-narrow") and self.has_class("-settings-open"):
            titles = self.settings.query("CollapsibleTitle")
            if titles:
                titles.first().focus()
                return
        button = self.controls.first_usable()
        if button is not None:
            button.focus()

    def focus_first_field(self) -> bool:
        """Show the hyperparameters and focus the first (epochs; ``g``). False while a run
        trains: they cannot change then."""
        if self.settings.disabled:
            return False
        if self.has_class("-narrow"):
            self.add_class("-settings-open")
        else:
            self.remove_class("-settings-closed")
        first = self.settings.first_field()
        if first is None:
            return False
        self.call_after_refresh(first.focus_control)  # once shown: a hidden widget takes no focus
        return True

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW_BELOW, "-narrow")
        self.call_after_refresh(self._show_progress)

    def _show_progress(self) -> None:
        self._progress_due = False
        self._progress_at = time.monotonic()
        self.progress_line.show(self.view.progress, self.size.width)

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

    # -- the charts (tuidl.ui.panes.run_charts) ---------------------------------------------
    @property
    def logged(self) -> bool:
        """The run shown is a logged run (its charts are :attr:`logged_view`'s)."""
        return self._logged

    def _show_logged(self, logged: bool) -> None:
        """A logged run (tuidl.init / tuidl run) shows its own charts, summary and config
        (:attr:`logged_view`) instead of the hyperparameters and a trainer run's charts.
        Each part is shown or hidden by itself: a class on the pane would restyle every
        widget of the hyperparameter form (most of a second on this machine)."""
        self._logged = logged
        self.logged_view.display = logged
        parts = [self.run_charts, self.run_charts.modes, self.progress_line]
        if self.is_mounted:
            parts.append(self.settings)
        for part in parts:
            if logged:
                part.display = False
            else:  # back to what the stylesheet says (the hyperparameters may be hidden: h)
                part.styles.clear_rule("display")

    def set_overlays(self, views: dict[str, RunView]) -> list[str]:
        """Lay other runs over the loss and metric charts: ``{label: RunView}``."""
        self.logged_view.set_overlays(views)
        return self.run_charts.set_overlays(views)

    def clear_overlays(self) -> None:
        self.logged_view.set_overlays({})
        self.run_charts.clear_overlays()

    def overlay_keys(self) -> list[str]:
        return self.run_charts.overlay_keys()

    def toggle_x_axis(self) -> str:
        return self.logged_view.toggle_x_axis() if self.logged else self.run_charts.toggle_x_axis()

    def toggle_log(self) -> bool:
        return self.logged_view.toggle_log() if self.logged else self.run_charts.toggle_log()

    def toggle_smooth(self) -> float:
        return self.logged_view.toggle_smooth() if self.logged else self.run_charts.toggle_smooth()

    def cycle_marks(self) -> str:
        return self.run_charts.cycle_marks()

    def next_fit_mark(self):
        return self.run_charts.next_fit_mark()

    def redraw_now(self) -> None:
        """Draw every chart and the boundary at once (screenshots, tests)."""
        if self.logged:
            self.logged_view.redraw_now()
        else:
            self.run_charts.redraw_now()

    def log_line(self, message: str, style: str = "", ev: dict[str, Any] | None = None) -> None:
        """Add a line to the event log."""
        self.run_charts.log_line(message, style, ev)

    # -- the run shown -----------------------------------------------------------------
    def show_run(self, view: RunView, run_path: Any = None) -> None:
        """Show another run (a new one starts, or one is opened), from ``view``;
        ``run_path``: its directory (a logged run's output.log is there)."""
        self.view = view
        self._run_path = run_path
        self.run_charts.reset(view)
        self.logged_view.show_run(view, run_path)
        # a logged run's directory says so before its first event: the view switches in
        # the same frame as the rest of the pane, not in one of its own (a whole layout)
        logged = view.logged or (run_path is not None and RunDir(run_path).logged)
        if logged != self._logged:
            self._show_logged(logged)
        self._update_for_preset()
        self.run_charts.set_metric(self._metric_key())
        self._show_progress()

    def reset(self) -> None:
        """Forget the run shown: an empty view."""
        self.show_run(new_view())

    def handle_events(self, events: list[dict[str, Any]]) -> None:
        """Take a batch of events into the view shown, and show them."""
        self.take(self.view.apply(events))

    def take(self, applied: Applied, more: bool = False) -> None:
        """Show what the view took from a batch of events (:meth:`RunView.apply`);
        ``more``: more batches follow at once (a history being read)."""
        view, charts = self.view, self.run_charts
        if any(change.what == "started" for change in applied.changes):
            self._show_started()  # the metric charted may change (only) then
        if view.logged:
            if not self._logged:
                self._show_logged(True)
            self.logged_view.take(ended=applied.ended, more=more)
        self._render_bad += charts.take(applied, self._preset_task())
        ended = bool(view.progress.status)  # a run's end shows at once
        self._progress_due = True
        if ended:
            self._show_progress()

    def _show_started(self) -> None:
        """A trainer started: the charts follow what its run_started says."""
        info, charts = self.view.run_info, self.run_charts
        charts.set_metric(self._metric_key())
        if charts.overlays:
            charts.attach_overlays()  # the metric shown may have changed
        plot = charts.boundary
        if info.get("task") in ("classification", "regression"):
            plot.task_kind = info["task"]
        classes = info.get("classes")
        if isinstance(classes, list) and len(classes) == 2:
            plot.class_names = classes  # the legend says what the data says

    def _frame(self) -> None:
        """The pane's clock: the progress line (at most every PROGRESS_EVERY_S) and the
        charts' redraws that are due."""
        if self._progress_due and time.monotonic() - self._progress_at >= PROGRESS_EVERY_S:
            self._show_progress()
        if self.logged:
            self.logged_view.tick(time.monotonic())
        else:
            self.run_charts.tick()
