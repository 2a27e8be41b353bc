"""Try the model yourself (``t``): inference you can touch.

For an image model with one channel (digits, MNIST, Fashion-MNIST) a drawing pad on
the model's own grid (:class:`DrawPad`): draw with the keyboard or the mouse and the
class probabilities follow every stroke. For a colour image model (CIFAR, an image
folder) a drawing would look nothing like its data: the screen shows the run's own
test images one at a time (``n`` / ``p``) with their true class, or an image file of
yours (``o``, a path; Tab completes it), and the model's answer. For a 2-D Playground
model a point over the plane (:class:`PointPad`), drawn over the decision boundary:
move it and see what the model says there.

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
from textual.widgets import Footer, Input, Static

from tuidl.core.run.rundir import RunDir
from tuidl.ui import palette
from tuidl.ui.widgets.drawpad import DrawPad, PointPad
from tuidl.ui.widgets.form import PathInput
from tuidl.ui.widgets.preview import image_text

BAR_W = 24
TOP = 10  # classes listed
ANSWER_W = 50  # columns the answer needs beside a picture


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
    TryModelScreen #try-sample {
        width: auto;
        height: auto;
    }
    TryModelScreen #try-path {
        dock: bottom;
        margin: 0 1 1 1;
        display: none;
    }
    TryModelScreen #try-path.-open {
        display: block;
    }
    """

    BINDINGS = [
        Binding("escape,t", "close", "Back"),
        Binding("n", "sample(1)", "Next image"),
        Binding("p", "sample(-1)", "Previous"),
        Binding("o", "open_file", "Image file"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("sample", "open_file"):  # a colour image model's keys only
            return self.kind == "samples"
        return True

    def __init__(self, run: RunDir, run_info: dict[str, Any], boundary: dict | None = None) -> None:
        super().__init__()
        self.run = run
        self.info = run_info
        self.boundary = boundary
        shape = [int(v) for v in run_info.get("input_shape") or []]
        # draw on a one-channel image model's grid; show a colour one samples or a file
        self.kind = ("image" if shape[0] == 1 else "samples") if len(shape) == 3 else "plane" if boundary else None
        self.shape = shape
        classes = run_info.get("classes")
        self.class_names = [str(c) for c in classes] if isinstance(classes, list) else []
        self.predictor: Any = None
        self.failure: str | None = None
        self.probs: np.ndarray | None = None
        self.pad: DrawPad | PointPad | None = None
        self.index = 0  # the sample shown (kind "samples")
        self.sample: Any = None  # touch.Sample shown

    def compose(self) -> ComposeResult:
        about = {
            "image": "Draw with the arrows and space (d: pen down, x: wipe, c: clear) or the mouse, on the model's "
                     "own grid. The probabilities follow every stroke.",
            "plane": "Move the point with the arrows (or click): the model's answer at that point, over its "
                     "decision boundary.",
            "samples": "A colour image model: n / p show the next / previous image of the run's own test set "
                       "with its true class; o tries an image file of yours (type its path, Tab completes).",
        }.get(self.kind or "", "Trying the model works for image models and for 2-D Playground datasets; "
                               "for this run, use `tuidl predict RUN FILE`.")
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
            if self.kind == "samples":
                yield Static(id="try-sample")
            waiting = "loading the model…" if self.kind else "nothing to try for this model here"
            yield Static(probabilities_renderable(None, self.class_names, waiting), id="try-answer")
        if self.kind == "samples":
            yield PathInput(placeholder="an image file (Tab completes; Enter tries it, Esc goes back)",
                            id="try-path", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"try the model: {self.run.id}"
        if self.pad is not None:
            self.pad.focus()
        if self.kind:
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
        elif self.kind == "samples":
            self.action_sample(0)

    # -- a colour image model: its test images, or a file ----------------------------------
    def action_sample(self, step: int) -> None:
        if self.kind != "samples" or self.predictor is None:
            return
        self.index += step
        try:
            sample = self.predictor.sample(self.index)
        except (ValueError, RuntimeError) as e:
            self._say(f"no sample to show: {e}")
            return
        self.show_sample(sample)

    def action_open_file(self) -> None:
        if self.kind != "samples":
            return
        path = self.query_one("#try-path", PathInput)
        path.add_class("-open")
        path.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.predictor is None or not event.value.strip():
            return
        from tuidl.core.preset.schema import ConfigError
        from tuidl.ui.widgets.form import typed_path

        try:
            sample = self.predictor.from_file(typed_path(event.value))
        except (ConfigError, ValueError, OSError) as e:
            self._say(str(e))
            return
        self._close_path()
        self.show_sample(sample)

    def _close_path(self) -> None:
        path = self.query_one("#try-path", PathInput)
        path.remove_class("-open")
        self.set_focus(None)

    def _say(self, message: str) -> None:
        self.query_one("#try-answer", Static).update(Text(message, style="bold red"))

    def show_sample(self, sample: Any) -> None:
        """Show a sample (its picture, where it came from, its true class) and the
        model's answer for it."""
        self.sample = sample
        self.probs = self.predictor.probabilities(sample.x)[0]
        truth = ""
        if sample.label is not None:
            truth = self.class_names[sample.label] if sample.label < len(self.class_names) else str(sample.label)
        caption = Text(sample.source, style="bold")
        if truth:
            caption.append(f"\ntrue class: {truth}", style="")
        for note in sample.notes:
            caption.append(f"\n{note}", style="dim")
        self.query_one("#try-sample", Static).update(Group(image_text(self._fitted(sample.picture)), caption))
        title = f"{sample.source} (true: {truth})" if truth else sample.source
        self.query_one("#try-answer", Static).update(probabilities_renderable(self.probs, self.class_names, title))

    def _fitted(self, picture: np.ndarray) -> np.ndarray:
        """The picture enlarged by whole pixels to fill about half the screen."""
        arr = np.asarray(picture)
        h, w = arr.shape[-2], arr.shape[-1]
        lines = self.size.height - 10  # the about lines, the caption, the footer
        columns = self.size.width - ANSWER_W  # the answer beside it
        scale = max(1, min(6, (2 * lines) // max(1, h), columns // max(1, w)))
        return arr.repeat(scale, axis=-2).repeat(scale, axis=-1) if scale > 1 else arr

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

    def on_resize(self) -> None:
        if self.sample is not None:  # the picture fits the room again
            self.show_sample(self.sample)

    def action_close(self) -> None:
        paths = self.query("#try-path")
        if paths and paths.first().has_class("-open"):  # Esc in the path line: back to the images
            self._close_path()
            return
        self.dismiss(None)
