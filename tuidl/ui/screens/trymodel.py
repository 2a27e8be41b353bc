"""Try the model yourself (``t``): inference you can touch.

For an image model with one channel (digits, MNIST, Fashion-MNIST) a drawing pad on
the model's own grid (:class:`DrawPad`): draw with the keyboard or the mouse and the
class probabilities follow every stroke. For a 2-D Playground model a point over the
plane (:class:`PointPad`), drawn over the decision boundary: move it and see what the
model says there.

The run's model is loaded from its best checkpoint (else its last) with its own
normalisation, in a worker thread (PyTorch's import takes a second or two); each
stroke is then one forward pass of a small model on the CPU, well under a frame.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from tuidl.core.run.rundir import RunDir
from tuidl.ui import palette
from tuidl.ui.widgets.drawpad import DrawPad, PointPad

BAR_W = 24
TOP = 10  # classes listed


def probabilities_renderable(probs: np.ndarray | None, classes: list[str], title: str = "") -> Group:
    """Each class with its probability as a bar, the most likely first marked."""
    if probs is None:
        return Group(Text(title or "the model's answer appears here", style="dim italic"))
    order = np.argsort(-probs)[:TOP]
    table = Table.grid(padding=(0, 1))
    for rank, k in enumerate(order):
        p = float(probs[k])
        name = classes[k] if k < len(classes) else str(k)
        bar = "█" * int(round(p * BAR_W))
        style = palette.style(palette.VAL, bold=True) if rank == 0 else "dim"
        table.add_row(Text(f"{name:>10}", style="bold" if rank == 0 else ""), Text(bar.ljust(BAR_W), style=style),
                      Text(f"{100 * p:5.1f}%", style="bold" if rank == 0 else ""))
    head = Text.assemble(("the model says ", "dim"), (str(classes[order[0]] if order[0] < len(classes)
                                                           else order[0]), "bold"),
                         (f" ({100 * float(probs[order[0]]):.0f}%)", "dim"))
    return Group(Text(title, style="bold") if title else Text(""), head, table)


class TryModelScreen(Screen[None]):
    """Draw a digit (image models) or move a point (2-D models), see the model's answer."""

    DEFAULT_CSS = """
    TryModelScreen #try-about {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    TryModelScreen #try-body {
        height: 1fr;
        padding: 0 1;
    }
    TryModelScreen #try-answer {
        width: 1fr;
        padding: 0 2;
    }
    TryModelScreen #try-left {
        width: auto;
        height: 1fr;  /* the pad grows into it (DrawPad fits its scale to the room) */
    }
    TryModelScreen PointPad {
        width: 64;
        height: 24;
    }
    """

    BINDINGS = [Binding("escape,t", "close", "Back")]

    def __init__(self, run: RunDir, run_info: dict[str, Any], boundary: dict | None = None) -> None:
        super().__init__()
        self.run = run
        self.info = run_info
        self.boundary = boundary
        shape = [int(v) for v in run_info.get("input_shape") or []]
        self.kind = "image" if len(shape) == 3 and shape[0] == 1 else "plane" if boundary else None
        self.shape = shape
        classes = run_info.get("classes")
        self.class_names = [str(c) for c in classes] if isinstance(classes, list) else []
        self.predictor: Any = None
        self.failure: str | None = None
        self.probs: np.ndarray | None = None
        self.pad: DrawPad | PointPad | None = None

    def compose(self) -> ComposeResult:
        about = {
            "image": "Draw with the arrows and space (d: pen down, x: wipe, c: clear) or the mouse, on the model's "
                     "own grid. The probabilities follow every stroke.",
            "plane": "Move the point with the arrows (or click): the model's answer at that point, over its "
                     "decision boundary.",
        }.get(self.kind or "", "Trying the model works for image models with one channel (digits, MNIST) and "
                               "for 2-D Playground datasets.")
        yield Static(Text(about), id="try-about")
        with Horizontal(id="try-body"):
            with Vertical(id="try-left"):
                if self.kind == "image":
                    self.pad = DrawPad(self.shape[1], self.shape[2], id="draw-pad")
                    yield self.pad
                elif self.kind == "plane":
                    self.pad = PointPad(self.boundary["extent"], id="point-pad")
                    self.pad.show_plane(self.boundary.get("values"))
                    yield self.pad
            yield Static(probabilities_renderable(None, self.class_names, "loading the model…"), id="try-answer")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"try the model: {self.run.id}"
        if self.pad is not None:
            self.pad.focus()
            self.load()

    @work(thread=True, exclusive=True, group="try-load")
    def load(self) -> None:
        from tuidl.core.serve.touch import Predictor

        try:
            predictor = Predictor.from_run(self.run)
        except Exception as e:  # noqa: BLE001 - any reason the model cannot load is said, not raised
            self.app.call_from_thread(self._loaded, None, f"{type(e).__name__}: {e}")
            return
        self.app.call_from_thread(self._loaded, predictor, None)

    def _loaded(self, predictor: Any, failure: str | None) -> None:
        self.predictor, self.failure = predictor, failure
        if failure:
            self.query_one("#try-answer", Static).update(Text(f"could not load the model: {failure}", "bold red"))
            return
        if isinstance(self.pad, DrawPad):
            self.answer(self.pad.pixels)
        elif isinstance(self.pad, PointPad):
            self.answer(np.array([self.pad.point], dtype=np.float32))

    # -- answering ----------------------------------------------------------------------
    def on_draw_pad_changed(self, event: DrawPad.Changed) -> None:
        self.answer(event.pixels)

    def on_point_pad_moved(self, event: PointPad.Moved) -> None:
        self.answer(np.array([[event.x, event.y]], dtype=np.float32))

    def answer(self, drawn: np.ndarray) -> None:
        if self.predictor is None:
            return
        if self.kind == "image":
            raw = self.predictor.from_ink(drawn)  # ink in [0, 1] → the dataset's own pixel values
        else:
            raw = self.predictor.from_points(drawn)  # (x1, x2) → the preset's input features
        self.probs = self.predictor.probabilities(raw)[0]
        title = ""
        if isinstance(self.pad, PointPad):
            x, y = self.pad.point
            title = f"at ({x:.2f}, {y:.2f})"
        self.query_one("#try-answer", Static).update(probabilities_renderable(self.probs, self.class_names, title))

    @property
    def answer_class(self) -> str | None:
        if self.probs is None or not len(self.probs) or not math.isfinite(float(self.probs.max())):
            return None
        k = int(np.argmax(self.probs))
        return self.class_names[k] if k < len(self.class_names) else str(k)

    def action_close(self) -> None:
        self.dismiss(None)
