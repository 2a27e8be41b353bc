"""What a run found at the end: test metrics, the confusion matrix and a few test
samples with their true and predicted labels (the ``test`` event of docs/events.md).

The renderers are plain functions returning Rich renderables, so reports and tests can
use them without an app; :class:`ResultsView` shows them in the Training pane.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tuidl.core.numbers import to_float
from tuidl.core.preset.reference import Placement
from tuidl.core.run.units import fmt_metric  # noqa: F401 - the one metric format (training.py takes it from here)
from tuidl.ui import palette

FULL_MAX = 10  # up to this many classes the matrix is a table with counts
SHADES = " ·░▒▓█"




METRIC_NAMES = {"loss": "loss", "acc": "accuracy", "top5": "top-5 accuracy", "mae": "MAE"}


def metrics_text(metrics: dict[str, Any] | None, title: str = "Test") -> Text:
    """One line: ``Test  loss 0.1234 · accuracy 95.3% · top-5 accuracy 99.0%``."""
    text = Text()
    text.append(f"{title}  ", style="bold")
    if not isinstance(metrics, dict) or not metrics:
        text.append("no metrics", style="dim")
        return text
    order = [k for k in ("loss", "acc", "top5", "mae") if k in metrics]
    order += [k for k in metrics if k not in order]
    for i, key in enumerate(order):
        if i:
            text.append(" · ", style="dim")
        text.append(f"{METRIC_NAMES.get(key, key)} ")
        text.append(fmt_metric(key, metrics[key]), style=palette.style(palette.TEST, bold=True))
    return text


GAUGE_WIDTH = 32
WHERE_WORDS = {"within": "within the range", "below": "below the range", "above": "above the range"}


def gauge(p: Placement, width: int = GAUGE_WIDTH) -> Text:
    """The range as a bracket ``├──┼──┤`` (its median ``┼``) with half a range of room on
    each side, and the run's figure as ``●``: inside the bracket when it is in the range."""
    span = p.high - p.low
    pad = span / 2 if span > 0 else max(abs(p.median) * 0.05, 1e-3)
    lo, hi = min(p.low - pad, p.value), max(p.high + pad, p.value)

    def at(v: float) -> int:
        return min(width - 1, max(0, round((v - lo) / (hi - lo) * (width - 1))))

    cells = ["─" if at(p.low) <= i <= at(p.high) else " " for i in range(width)]
    cells[at(p.low)], cells[at(p.high)] = "├", "┤"
    if at(p.low) < at(p.median) < at(p.high):
        cells[at(p.median)] = "┼"
    v = at(p.value)
    text = Text()
    for i, ch in enumerate(cells):
        if i == v:
            text.append("●", style="bold green" if p.where == "within" else "bold yellow")
        else:
            text.append(ch, style="dim")
    return text


def reference_text(p: Placement | None, preset: str = "") -> Text | str:
    """``mnist1d-mlp as shipped, 5 seeds: 64.5%–68.9% test accuracy (median 67.1%)``,
    then the run's figure, where it falls and the gauge; "" without a range."""
    if p is None:
        return ""
    name = "accuracy" if p.metric == "acc" else "loss"
    text = Text()
    text.append(f"{preset or 'This preset'} as shipped, {p.seeds} seed{'s' if p.seeds > 1 else ''}: ", style="bold")
    text.append(f"{fmt_metric(p.metric, p.low)}–{fmt_metric(p.metric, p.high)} test {name} "
                f"(median {fmt_metric(p.metric, p.median)})\n")
    text.append("This run ")
    text.append(fmt_metric(p.metric, p.value), style=palette.style(palette.TEST, bold=True))
    word = WHERE_WORDS[p.where]
    if p.where != "within":
        better = (p.where == "above") == (p.metric == "acc")
        word += " (better than those seeds)" if better else " (worse than those seeds)"
    text.append(f": {word}  ", style="green" if p.where == "within" else "yellow")
    text.append_text(gauge(p))
    return text


def class_names(classes: Any, k: int) -> list[str]:
    """Labels for ``k`` classes from the run's ``data.classes`` (a list or a count)."""
    if isinstance(classes, (list, tuple)) and len(classes) >= k:
        return [str(c) for c in classes[:k]]
    return [str(i) for i in range(k)]


def _matrix(confusion: Any) -> list[list[int]] | None:
    if not isinstance(confusion, (list, tuple)) or not confusion:
        return None
    k = len(confusion)
    rows = []
    for row in confusion:
        if not isinstance(row, (list, tuple)) or len(row) != k:
            return None
        out = []
        for v in row:
            f = to_float(v)
            out.append(int(f) if math.isfinite(f) else 0)
        rows.append(out)
    return rows


def confusion_renderable(confusion: Any, classes: Any = None, *, full_max: int = FULL_MAX) -> RenderableType:
    """The k×k matrix, rows = true class, columns = predicted; the diagonal (right
    answers) in green. Up to ``full_max`` classes: a table of counts with each class's
    recall; more: one shaded cell per pair (darker = a larger share of that true class)
    and the most frequent confusions listed below."""
    m = _matrix(confusion)
    if m is None:
        return Text("no confusion matrix in this run", style="dim")
    k = len(m)
    names = class_names(classes, k)
    return _confusion_table(m, names) if k <= full_max else _confusion_compact(m, names)


def _confusion_table(m: list[list[int]], names: list[str]) -> Group:
    width = max(3, min(8, max(len(n) for n in names)), len(str(max(max(r) for r in m))))
    table = Table(box=None, pad_edge=False, padding=(0, 1), show_edge=False, collapse_padding=True)
    table.add_column("true╲pred", justify="right", style="bold", no_wrap=True)
    for name in names:
        table.add_column(name[:width], justify="right", no_wrap=True, min_width=width)
    table.add_column("recall", justify="right", style="dim", no_wrap=True)
    for i, row in enumerate(m):
        total = sum(row)
        cells = []
        for j, v in enumerate(row):
            if i == j:
                cells.append(Text(str(v), style="bold black on green" if v else "green"))
            elif v:
                cells.append(Text(str(v), style="bold red" if total and v / total >= 0.1 else "red"))
            else:
                cells.append(Text("·", style="dim"))
        recall = f"{100 * row[i] / total:.0f}%" if total else "–"
        table.add_row(names[i][:12], *cells, recall)
    title = Text("Confusion matrix ", style="bold")
    title.append("(rows: true class, columns: predicted; diagonal = right)", style="dim")
    return Group(title, table)


def _confusion_compact(m: list[list[int]], names: list[str]) -> Group:
    k = len(m)
    lines = [Text(f"Confusion matrix, {k} classes (rows: true, columns: predicted; "
                  "darker = larger share of the row)", style="bold")]
    label_w = len(str(k - 1))
    for i, row in enumerate(m):
        total = sum(row) or 1
        line = Text(f"{i:>{label_w}} ", style="dim")
        for j, v in enumerate(row):
            share = v / total
            idx = 0 if v == 0 else min(len(SHADES) - 1, 1 + int(share * (len(SHADES) - 2) * 2))
            ch = SHADES[idx]
            line.append(ch, style=("green" if i == j else "red") if v else "dim")
        lines.append(line)
    pairs = sorted(((v, i, j) for i, row in enumerate(m) for j, v in enumerate(row) if i != j and v),
                   reverse=True)[:5]
    if pairs:
        worst = Text("most confused: ", style="bold")
        for n, (v, i, j) in enumerate(pairs):
            if n:
                worst.append(", ")
            worst.append(f"{names[i]}→{names[j]} ({v})", style="red")
        lines.append(worst)
    correct = sum(m[i][i] for i in range(k))
    total = sum(sum(r) for r in m)
    if total:
        lines.append(Text(f"{correct:,} of {total:,} test samples right ({100 * correct / total:.1f}%)", style="dim"))
    return Group(*lines)


# -- samples ---------------------------------------------------------------------


def _label(value: Any, names: list[str] | None) -> str:
    if isinstance(value, (list, tuple)):
        nums = [to_float(v) for v in value]
        return ", ".join(f"{v:.3g}" for v in nums[:4]) + ("…" if len(nums) > 4 else "")
    f = to_float(value)
    if names is not None and math.isfinite(f) and f.is_integer() and 0 <= int(f) < len(names):
        return names[int(f)]
    return f"{f:.4g}" if math.isfinite(f) and not f.is_integer() else str(value)


def sample_preview(inp: Any, input_shape: Sequence[int] | None = None, width: int = 24) -> RenderableType:
    """A test sample's ``input`` as something to look at: a half-block image for images,
    a small line for sequences, coordinates for a few plain features."""
    import numpy as np

    from tuidl.ui.widgets.preview import image_text, sequence_text

    try:
        arr = np.asarray(inp, dtype=np.float64)
    except (TypeError, ValueError):
        return Text(str(inp)[:width], style="dim")
    rank = len(input_shape) if input_shape else arr.ndim
    if arr.size == 0:
        return Text("(empty)", style="dim")
    if arr.ndim == 3 or (arr.ndim == 2 and rank == 3):
        return image_text(arr)
    if arr.ndim == 2:
        values = arr[0] if arr.shape[0] <= 4 else arr.reshape(-1)
        return sequence_text(values.tolist(), width, 4)
    flat = arr.reshape(-1)
    if flat.size <= 6:
        return Text("(" + ", ".join(f"{v:.2f}" for v in flat) + ")")
    return sequence_text(flat.tolist(), width, 4)


def samples_renderable(samples: Any, classes: Any = None, input_shape: Sequence[int] | None = None,
                       task: str = "classification") -> RenderableType:
    """A few test samples side by side, each with its preview and
    ``true … · pred …``, green when right and red when wrong."""
    if not isinstance(samples, (list, tuple)) or not samples:
        return Text("no test samples in this run", style="dim")
    k = None
    if isinstance(classes, (list, tuple)):
        k = len(classes)
    elif isinstance(classes, int):
        k = classes
    names = class_names(classes, k) if k else None
    cards = []
    for s in samples:
        if not isinstance(s, dict):
            continue
        true, pred = s.get("true"), s.get("pred")
        try:
            preview = sample_preview(s.get("input"), input_shape)
        except Exception as exc:  # a preview never takes the pane down
            preview = Text(f"(no preview: {type(exc).__name__})", style="dim")
        caption = Text()
        if task == "regression" or isinstance(true, (list, tuple)):
            t = [to_float(v) for v in (true if isinstance(true, (list, tuple)) else [true])]
            p = [to_float(v) for v in (pred if isinstance(pred, (list, tuple)) else [pred])]
            err = sum(abs(a - b) for a, b in zip(t, p)) / max(1, len(t))
            caption.append(f"true {_label(true, None)}\npred {_label(pred, None)}\n")
            caption.append(f"err {err:.3g}", style="yellow" if math.isfinite(err) else "red")
        else:
            right = to_float(true) == to_float(pred)
            caption.append(f"true {_label(true, names)}\n")
            caption.append(f"pred {_label(pred, names)} ", style="green" if right else "bold red")
            caption.append("✓" if right else "✗", style="green" if right else "bold red")
        cards.append(Group(preview, caption))
    if not cards:
        return Text("no test samples in this run", style="dim")
    return Columns(cards, padding=(0, 2), equal=False, expand=False)


class ResultsView(VerticalScroll):
    """Test metrics, the confusion matrix and test samples of the run shown."""

    DEFAULT_CSS = """
    ResultsView {
        height: 1fr;
    }
    ResultsView > Static {
        height: auto;
        margin: 0 0 1 0;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.test_event: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("No test results yet: they appear when a run with a test split ends.",
                          style="dim"), id="test-metrics")
        reference = Static("", id="test-reference")
        reference.display = False  # only a built-in preset run as shipped has a range: no blank line otherwise
        yield reference
        yield Static("", id="test-adversarial")
        yield Static("", id="test-confusion")
        yield Static("", id="test-samples")

    def clear(self) -> None:
        self.test_event = None
        self.query_one("#test-reference", Static).update("")
        self.query_one("#test-reference", Static).display = False
        self.query_one("#test-adversarial", Static).update("")
        self.query_one("#test-metrics", Static).update(
            Text("No test results yet: they appear when a run with a test split ends.", style="dim"))
        self.query_one("#test-confusion", Static).update("")
        self.query_one("#test-samples", Static).update("")

    def show_adversarial(self, event: dict[str, Any]) -> None:
        """Accuracy under attack against ε (an ``adversarial`` event), one line; the lab
        (i) draws the curve."""
        from tuidl.ui.widgets.lab import adversarial_line

        line = adversarial_line(event)
        if line is not None:
            line.append("  (i: the curve)", style="dim")
        self.query_one("#test-adversarial", Static).update(line or "")

    def show_test(self, event: dict[str, Any], *, classes: Any = None, task: str = "classification",
                  input_shape: Sequence[int] | None = None, placement: Placement | None = None,
                  preset: str = "") -> None:
        """Show a ``test`` event (and, for a built-in preset run as shipped, where its
        figure falls against the preset's range: ``RunView.test_placement``)."""
        self.test_event = event
        self.query_one("#test-metrics", Static).update(metrics_text(event.get("metrics")))
        reference = self.query_one("#test-reference", Static)
        reference.update(reference_text(placement, preset))
        reference.display = placement is not None
        confusion = event.get("confusion")
        self.query_one("#test-confusion", Static).update(
            confusion_renderable(confusion, classes) if confusion is not None
            else Text("(regression: no confusion matrix)" if task == "regression" else "", style="dim"))
        samples = samples_renderable(event.get("samples"), classes, input_shape, task)
        head = Text("Test samples", style="bold")
        self.query_one("#test-samples", Static).update(Group(head, samples))
