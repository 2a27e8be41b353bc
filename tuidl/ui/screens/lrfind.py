"""The learning-rate finder (``r``, or the palette): Smith's range test on the current
preset, the loss against the learning rate on a log axis, and the suggestion to apply.

The sweep runs as ``tuidl lr-find FILE --json`` in a process of its own (the preset as
it is now, written to a temporary file), so the dashboard stays responsive and the
result is what the command line gives. ``enter`` applies tuidl's suggestion, ``l``
Lightning's (the steepest point, noisier), ``escape`` keeps the learning rate. The screen
is dismissed with the learning rate to apply, or None.
"""

from __future__ import annotations

import json
import math
import textwrap

from types import SimpleNamespace

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tuidl.core.lab.text import lr_find_text
from tuidl.core.preset.preset import Preset
from tuidl.ui.command import preset_file, run_tuidl_async

CHART_H = 16  # the chart's lines where the screen has room
MIN_CHART_H = 8
ABOUT = ("A fresh copy of the model trained while the learning rate grew exponentially. Pick a rate "
         "where the loss still falls steeply, well before it turns up: enter applies tuidl's "
         "suggestion, l the steepest point (Lightning's rule), escape keeps the learning rate.")
FIGURE_LINES = 4  # under the chart: the range test, both suggestions, the preset's lr
FRAME_LINES = 4  # the box's border (2), its title and the footer


def chart_height(screen_height: int, width: int) -> int:
    """The chart's lines so that the whole dialog, the explanation under it included, fits
    ``screen_height`` (at 80×24 the explanation was cut off)."""
    about = len(textwrap.wrap(ABOUT, width))
    return max(MIN_CHART_H, min(CHART_H, screen_height - FRAME_LINES - FIGURE_LINES - about))


def lrfind_renderable(result: dict, width: int, height: int = CHART_H) -> Group:
    """The loss against the learning rate with both suggestions marked, and the figures
    (what ``tuidl lr-find`` prints, in colour), then what to make of it."""
    shown = SimpleNamespace(**{**result, "steps_run": int(result.get("steps") or len(result.get("lrs") or []))})
    chart = lr_find_text(shown, float(result.get("lr", math.nan)), width=width, height=height, color=True)
    return Group(Text.from_ansi(chart, no_wrap=True), Text(ABOUT, style="dim"))


class LRFindScreen(ModalScreen[float | None]):
    DEFAULT_CSS = """
    LRFindScreen {
        align: center middle;
    }
    LRFindScreen > #lrf-box {
        width: 100;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    LRFindScreen #lrf-body {
        height: auto;
    }
    """

    BINDINGS = [
        Binding("enter", "apply('suggestion')", "Apply suggestion"),
        Binding("l", "apply('lightning')", "Apply steepest"),
        Binding("escape", "keep", "Keep lr"),
    ]

    def __init__(self, preset: Preset) -> None:
        super().__init__()
        self.preset = preset
        self.result: dict | None = None
        self.failure: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="lrf-box"):
            yield Static(Text("Learning-rate finder", style="bold"), id="lrf-title")
            yield Static(Text(f"sweeping the learning rate on {self.preset.name} …", style="yellow"), id="lrf-body")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sweep()

    @work(exclusive=True, group="lr-find")
    async def sweep(self) -> None:
        with preset_file(self.preset, "tuidl-lrfind-") as path:
            code, out, err = await run_tuidl_async(["lr-find", str(path), "--json"])
        body = self.query_one("#lrf-body", Static)
        if code == 0:
            try:
                self.result = json.loads(out)
                width = min(96, max(40, self.size.width - 6))
                body.update(lrfind_renderable(self.result, width, chart_height(self.size.height, width)))
                return
            except (ValueError, TypeError) as e:
                self.failure = f"the result came back unreadable: {e}"
        else:
            self.failure = (err.strip().splitlines() or ["the sweep failed"])[-1]
        body.update(Text(f"could not sweep the learning rate: {self.failure}", style="bold red"))

    def action_apply(self, which: str) -> None:
        if self.result is None:
            self.notify("the sweep has not finished yet (escape leaves)", timeout=2)
            return
        lr = float(self.result.get(which, math.nan))
        self.dismiss(lr if math.isfinite(lr) and lr > 0 else None)

    def action_keep(self) -> None:
        self.workers.cancel_group(self, "lr-find")
        self.dismiss(None)
