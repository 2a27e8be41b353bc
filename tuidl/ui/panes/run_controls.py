"""The Training pane's run controls: the Start / Pause / Stop / Checkpoint / Settings
buttons with the run's state beside them (:class:`RunControls`), and the progress line
under them (:class:`ProgressLine`: epoch, step, a bar, ETA, samples/s, drawn from a
:class:`~tuidl.core.run.runview.RunProgress`).

The controls never talk to the trainer: a button posts :class:`RunControls.Control`
(the app starts runs and sends commands), and the app tells them the run's state
(:meth:`RunControls.set_run_state`, a :class:`~tuidl.ui.session.RunState`)."""

from __future__ import annotations

import math

from rich.text import Text
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Static

from tuidl.core.run import units
from tuidl.core.run.runview import RunProgress
from tuidl.ui.session import RunState

END_STYLE = {"completed": "bold green", "stopped": "yellow", "pruned": "yellow", "diverged": "bold red", "failed": "bold red",
             "interrupted": "bold red"}
STATE_LABELS = {"idle": ("ready", "dim"), "launching": ("starting…", "yellow"), "live": ("training", "bold green"),
                "paused": ("paused", "bold yellow"), "ended": ("ended", "bold"), "replay": ("replay", "cyan")}


def fmt_duration(seconds: float) -> str:
    """12 -> "12s", 754 -> "12m34s", 4000 -> "1h06m": the one duration format
    (:func:`tuidl.core.run.units.fmt_duration`, as ``tuidl runs`` writes it)."""
    return units.fmt_duration(seconds if math.isfinite(seconds) and seconds >= 0 else None)


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


class ProgressLine(Static):
    """One line: where the run stands (:func:`progress_text`)."""

    def __init__(self, progress: RunProgress, *, id: str | None = None) -> None:
        super().__init__(progress_text(progress), id=id)

    def show(self, progress: RunProgress, pane_width: int) -> None:
        width = self.size.width or max(40, pane_width - 42)
        self.update(progress_text(progress, width), layout=False)


class RunControls(Horizontal):
    """The run's buttons and its state, on one line (two when narrower than
    :attr:`one_row`)."""

    STATE_ROOM = 13  # columns for " ● training" (and a little more) beside the buttons

    class Control(Message):
        """A control was used: ``command`` is start, pause, resume, stop, checkpoint or lr_find."""

        def __init__(self, command: str) -> None:
            super().__init__()
            self.command = command

    class ToggleSettings(Message):
        """The Settings button: show or hide the hyperparameters."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = RunState.IDLE
        self.detail = ""
        self.buttons = {
            "start": Button(Text("Start [s]"), id="btn-start", variant="success", compact=True),
            "pause": Button(Text("Pause [p]"), id="btn-pause", variant="warning", compact=True, disabled=True),
            "stop": Button(Text("Stop [x]"), id="btn-stop", variant="error", compact=True, disabled=True),
            "checkpoint": Button(Text("Checkpoint [c]"), id="btn-checkpoint", variant="primary", compact=True,
                                 disabled=True),
            "settings": Button(Text("Settings [h]"), id="btn-settings", compact=True),
            "lr_find": Button(Text("LR find [r]"), id="btn-lr-find", compact=True),
            "sweep": Button(Text("Sweep [w]"), id="btn-sweep", compact=True),
        }
        self.state_line = Static("", id="run-state")
        # columns for every button (its label, the compact padding of 2 and a margin of 1) and
        # the state beside them: 106 for the seven
        self.one_row = sum(len(b.label.plain) + 3 for b in self.buttons.values()) + self.STATE_ROOM

    def compose(self):
        yield from self.buttons.values()
        yield self.state_line

    def on_mount(self) -> None:
        self.call_after_refresh(self._update)  # during on_mount, is_mounted is still False

    def on_resize(self, event) -> None:
        self.set_class(event.size.width < self.one_row, "-two-rows")

    @property
    def busy(self) -> bool:
        """A run is starting or training: the hyperparameters cannot change now."""
        return self.state in (RunState.LAUNCHING, RunState.LIVE, RunState.PAUSED)

    def set_run_state(self, state: RunState | str, detail: str = "") -> None:
        """idle, launching, live, paused, ended or replay (``detail``: a few words)."""
        self.state = RunState(state)
        self.detail = detail
        self._update()

    def _update(self) -> None:
        if not self.is_mounted:
            return
        state = self.state
        live = state in (RunState.LIVE, RunState.PAUSED)
        self.buttons["start"].disabled = self.busy
        pause = self.buttons["pause"]
        pause.disabled = not live
        label = "Resume [p]" if state == RunState.PAUSED else "Pause [p]"
        if pause.label.plain != label:
            pause.label = Text(label)
            pause.refresh(layout=True)  # a Button's label does not resize it by itself
        self.buttons["stop"].disabled = not live
        self.buttons["checkpoint"].disabled = not live
        word, style = STATE_LABELS.get(state.value, (state.value, ""))
        # how the run ended, then its id: on one line cut with an ellipsis (TrainingPane's
        # CSS), the id goes first (it wrapped out of sight and left "○ ended  RUN:")
        text = Text(" ● " if live else " ○ ", style=style)
        text.append(word, style=style)
        if self.detail:
            text.append(f"  {self.detail}", style="dim")
        self.state_line.update(text, layout=False)

    def first_usable(self) -> Button | None:
        """The first button that can be pressed now (Start, Pause, else Settings)."""
        for key in ("start", "pause", "settings"):
            if not self.buttons[key].disabled:
                return self.buttons[key]
        return None

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        bid = event.button.id or ""
        if bid == "btn-settings":
            self.post_message(self.ToggleSettings())
            return
        command = {"btn-start": "start", "btn-stop": "stop", "btn-checkpoint": "checkpoint",
                   "btn-lr-find": "lr_find", "btn-sweep": "sweep"}.get(bid)
        if bid == "btn-pause":
            command = "resume" if self.state == RunState.PAUSED else "pause"
        if command:
            self.post_message(self.Control(command))
