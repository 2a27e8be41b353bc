"""The Dataset & split pane: pick a dataset, set its parameters, the split, the batch
size and the input scaling; see the sample count, input shape and classes at once, and
each split's size, class balance and a preview of samples once the data is loaded.

Loading needs torch, so it runs in a thread worker (``@work(thread=True)``) through
:func:`tuidl.core.data.data.load`; nothing here imports torch at module import time.
Every valid edit posts :class:`~tuidl.ui.messages.PresetEdited` (origin ``"dataset"``)
with a whole new validated preset; a value the schema rejects (fractions that do not sum
to 1, a missing file path, …) is shown inline, in red, and not applied. Edits take the
panes' one way (:func:`tuidl.ui.widgets.form.apply_edits`).

Keys: ``r`` reload the data, ``n`` show other samples; Tab / Shift+Tab move between
the fields.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Select, Static
from textual.worker import Worker, WorkerState

from tuidl.core.data import catalog
from tuidl.core.preset import keypath
from tuidl.core.model.layers import fmt_shape
from tuidl.core.preset.preset import Data, Preset, Split, to_data
from tuidl.core.preset.schema import ConfigError, Problem
from tuidl.ui.widgets import preview
from tuidl.ui.widgets.form import DataclassForm, FieldEditor, apply_edits, field_type, is_required
from tuidl.ui.messages import PresetEdited
from tuidl.ui.visible import closing
from tuidl.ui.panes.base import PaneInfo

PREVIEW_SAMPLES = 40
SCATTER_POINTS = 2_000
LOAD_GROUP = "dataset-load"
KEEP_LOADS = 8  # loads kept for switching back to a dataset
NPZ_ONLY = {"features"}  # TableParams fields a CSV has no use for


# ---------------------------------------------------------------------------
# Pure helpers


def dataset_options() -> list[tuple[Text, str]]:
    """Select options: name, group, description; ``↓`` marks the ones that download."""
    out = []
    for name, kind in catalog.DATASETS.items():
        mark = "↓ " if kind.downloads else "  "
        label = Text.assemble((mark, "yellow"), (f"{name}", "bold"), (f"  {kind.description}", ""))
        out.append((label, name))
    return out


def placeholder_params(cls: type) -> Any:
    """Default parameters of ``cls``; required fields get an empty value to fill in."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.init and is_required(cls, f.name):
            tp = field_type(cls, f.name)
            if tp is int or tp is float:
                kwargs[f.name] = tp(0)
            elif getattr(tp, "__origin__", None) is list:
                kwargs[f.name] = []
            else:
                kwargs[f.name] = ""
    return cls(**kwargs)


def expected_samples(dataset: str, params: Any) -> str:
    """How many samples the dataset has, as far as is known without loading it."""
    kind = catalog.DATASETS.get(dataset)
    return "?" if kind is None else kind.samples(params)


def class_list(classes: list[str], limit: int = 10) -> str:
    if len(classes) <= limit:
        return ", ".join(classes)
    return ", ".join(classes[:limit]) + f", … (+{len(classes) - limit})"


def data_key(preset: Preset) -> str:
    """What the loaded data depends on (not the batch size or the workers)."""
    data = to_data(preset)["data"]
    data.pop("batch_size", None)
    data.pop("workers", None)
    return json.dumps({"data": data, "seed": preset.seed}, sort_keys=True, default=str)


def pick_samples(y: np.ndarray, classification: bool, n: int) -> np.ndarray:
    """Indexes of up to ``n`` samples: round robin over the classes, so every class shows."""
    if not classification or y.ndim != 1:
        return np.arange(min(n, len(y)))
    by_class = [np.flatnonzero(y == k) for k in np.unique(y)]
    out: list[int] = []
    depth = 0
    while len(out) < n and any(depth < len(ix) for ix in by_class):
        for ix in by_class:
            if depth < len(ix) and len(out) < n:
                out.append(int(ix[depth]))
        depth += 1
    return np.asarray(out, dtype=np.int64)


def load_for_pane(preset: Preset, key: str) -> dict[str, Any]:
    """Load the data (call it from a thread) and keep what the pane shows: ``describe()``,
    notes, and a few samples as numpy arrays. Never raises. A dataset held in memory is
    split and described with numpy alone (:func:`tuidl.core.data.data.peek`), without PyTorch,
    whose import took the pane seconds; an image folder is loaded as for training."""
    try:
        from tuidl.core.data import data as core_data

        peeked = core_data.peek(preset)
        if peeked is not None:
            info, desc, notes = peeked.info, peeked.describe, peeked.notes
            y_all, points, take = peeked.train_y, peeked.raw_points, peeked.take
            all_x = None
        else:
            loaded = core_data.load(preset, device="cpu")
            info, desc, notes = loaded.info, loaded.describe(), list(getattr(loaded, "notes", []) or [])
            train = loaded.train
            y_all, points = train.y.detach().cpu().numpy(), getattr(loaded, "raw_points", None)

            def take(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                xs, ys = train.take(idx) if hasattr(train, "take") else (train.x[idx], train.y[idx])
                return xs.detach().cpu().float().numpy(), ys.detach().cpu().numpy()

            all_x = train.x.detach().cpu().numpy() if hasattr(train, "x") and hasattr(train.x, "detach") else None
        classification = info.task == "classification"
        result: dict[str, Any] = {
            "key": key, "error": "", "describe": desc, "notes": list(notes or []),
            "task": info.task, "classes": list(info.classes), "input_shape": tuple(info.input_shape),
            "features": list(info.features),
        }
        if points is not None and len(points):
            pts = np.asarray(points, dtype=np.float64).reshape(len(points), -1)[:, :2]
            keep = np.arange(len(pts))
            if len(keep) > SCATTER_POINTS:
                keep = np.linspace(0, len(pts) - 1, SCATTER_POINTS).astype(np.int64)
            targets = y_all[keep]
            result.update(kind="scatter", points=pts[keep], targets=targets.reshape(len(keep), -1)[:, 0])
            return result
        shape = tuple(info.input_shape)
        if shape == (2,):
            keep = np.arange(len(y_all))
            if len(keep) > SCATTER_POINTS:
                keep = np.linspace(0, len(y_all) - 1, SCATTER_POINTS).astype(np.int64)
            xs_all = take(keep)[0] if all_x is None else all_x[keep]
            result.update(kind="scatter", points=xs_all, targets=y_all[keep].reshape(len(keep), -1)[:, 0])
            return result
        idx = pick_samples(y_all, classification, PREVIEW_SAMPLES)
        xs, ys = take(idx)
        kind = "images" if len(shape) == 3 else "sequences" if len(shape) == 2 else "table"
        result.update(kind=kind, samples_x=np.asarray(xs, dtype=np.float32), samples_y=np.asarray(ys))
        return result
    except ConfigError as e:
        return {"key": key, "error": "\n".join(str(p) for p in e.problems) or str(e)}
    except Exception as e:  # a broken file, a missing package: show it, never crash the app
        return {"key": key, "error": f"{type(e).__name__}: {e}"}


def label_name(target: Any, classes: list[str]) -> str:
    arr = np.asarray(target)
    if arr.ndim == 0 and np.issubdtype(arr.dtype, np.integer):
        k = int(arr)
        return classes[k] if 0 <= k < len(classes) else str(k)
    flat = arr.astype(np.float64).reshape(-1)
    return ", ".join(f"{v:.3g}" for v in flat[:2])


def preview_renderable(result: dict[str, Any], width: int, offset: int = 0) -> RenderableType:
    """The sample preview for a :func:`load_for_pane` result, ``width`` columns wide."""
    kind = result.get("kind")
    classes = result.get("classes", [])
    task = result.get("task", "classification")
    width = max(20, width)
    if kind == "scatter":
        return preview.scatter_text(result["points"], result["targets"], min(width, 72), 16,
                                    task=task, classes=classes)
    xs = result.get("samples_x")
    ys = result.get("samples_y")
    if xs is None or not len(xs):
        return Text("no samples", style="dim")
    n = len(xs)
    order = [(offset + i) % n for i in range(n)]
    xs, ys = xs[order], ys[order]
    labels = [label_name(t, classes) for t in ys]
    styles = [preview.class_color(int(t)) if np.asarray(t).ndim == 0 and classes else "" for t in ys]
    per_row = shown_count(result, width)
    rows = 1 if kind == "images" and preview._to_hwc(xs[0]).shape[0] > 16 else 2
    grids: list[RenderableType] = []
    for r in range(rows):
        part = slice(r * per_row, (r + 1) * per_row)
        if not len(xs[part]):
            break
        if kind == "images":
            grids.append(preview.image_grid(list(xs[part]), labels[part], width, styles[part]))
        elif kind == "sequences":
            seqs = [x[0] if x.ndim == 2 else x.reshape(-1) for x in xs[part]]
            grids.append(preview.sequence_grid(seqs, labels[part], width, plot_width=20, plot_height=4,
                                               label_styles=styles[part]))
    if grids:
        return Group(*grids)
    return preview.table_preview(xs, ys, classes, names=result.get("features") or ())


def shown_count(result: dict[str, Any], width: int) -> int:
    """How many samples one row of the preview shows."""
    kind = result.get("kind")
    xs = result.get("samples_x")
    if xs is None or not len(xs):
        return 1
    if kind == "images":
        w = preview._to_hwc(xs[0]).shape[1]
        return preview.fit_count(max(w, 3), max(20, width), limit=len(xs))
    if kind == "sequences":
        return preview.fit_count(20, max(20, width), limit=len(xs))
    return min(5, len(xs))


# ---------------------------------------------------------------------------
# The pane


def about_text(p: Preset) -> Text:
    """What to know of the preset's dataset before loading it: downloads, an official test set."""
    kind = catalog.DATASETS[p.data.dataset]
    about = Text()
    if kind.downloads:
        root = getattr(p.data.params, "root", "") or catalog.cache_dir()
        about.append(f"↓ downloads on first use (needs network); offline, put the files in {root}",
                     style="yellow")
    if kind.official_test:
        about.append(("\n" if about else "") + "has an official test set (see official test below)", style="dim")
    return about


def info_text(info: catalog.DataInfo, samples: str) -> Text:
    """The data in a line: samples, input shape, classes (or regression targets)."""
    text = Text()
    text.append("samples ", style="bold")
    text.append(samples)
    text.append(" · input ", style="bold")
    text.append(fmt_shape(info.input_shape))
    text.append(" · ", style="bold")
    if info.task == "classification":
        text.append(f"{info.num_classes} classes", style="bold")
        text.append(": " + class_list(list(info.classes)))
    else:
        text.append("regression", style="bold")
        text.append(f" ({info.targets} target{'s' if info.targets != 1 else ''})")
    return text


# DatasetPane's stylesheet (its DEFAULT_CSS), apart from its code
DATASET_CSS = """
    DatasetPane {
        height: 1fr;
        width: 1fr;
    }
    DatasetPane > #ds-scroll {
        height: 1fr;
        width: 1fr;
    }
    DatasetPane #ds-columns {
        layout: vertical;
        height: auto;
        width: 1fr;
    }
    DatasetPane.-wide #ds-columns {
        layout: horizontal;
    }
    DatasetPane #ds-settings {
        height: auto;
        width: 1fr;
        padding: 0 1;
    }
    DatasetPane.-wide #ds-settings {
        width: 64;
    }
    DatasetPane #ds-results {
        height: auto;
        width: 1fr;
        padding: 0 1;
    }
    DatasetPane .ds-heading {
        height: 1;
        width: 1fr;
        text-style: bold;
        background: $boost;
        margin: 1 0 0 0;
        padding: 0 1;
    }
    DatasetPane .ds-heading.-first {
        margin: 0;
    }
    TabPane.-has-focus DatasetPane .ds-heading {
        background: $primary 30%;
    }
    DatasetPane #ds-dataset {
        width: 1fr;
    }
    DatasetPane #ds-dataset:focus > SelectCurrent {
        background-tint: $accent 25%;
    }
    DatasetPane #ds-about, DatasetPane #ds-info, DatasetPane #ds-split-hint {
        height: auto;
    }
    DatasetPane #ds-split-hint {
        color: $text-muted;
    }
    DatasetPane #ds-info.-bad, DatasetPane #ds-split-error, DatasetPane #ds-problem {
        color: $text-error;
        height: auto;
    }
    DatasetPane #ds-fractions {
        height: auto;
        width: 1fr;
    }
    DatasetPane #ds-params-box {
        height: auto;
        width: 1fr;
    }
    DatasetPane #ds-fractions FieldEditor {
        width: 1fr;
        margin: 0 1 0 0;
    }
    DatasetPane #ds-counts, DatasetPane #ds-preview, DatasetPane #ds-notes {
        height: auto;
        width: 1fr;
    }
    DatasetPane #ds-counts.-bad {
        color: $text-error;
    }
    DatasetPane #ds-notes {
        color: $text-warning;
    }
"""


def problem_lines(rest: list[Problem]) -> tuple[Text | str, Text | str]:
    """The problems no field shows, said: the split's line and the other problems' line."""
    split = {p.path: p.message for p in rest}.get("data.split")
    others = [p for p in rest if p.path != "data.split"]
    return (Text("✗ " + split + " (not applied)") if split else "",
            Text("✗ not applied: " + "; ".join(f"{p.path}: {p.message}" if p.path else p.message
                                               for p in others)) if others else "")


def shown_edits(preset: Preset, name: Any, form: DataclassForm, editors: list[FieldEditor]) -> list[tuple[str, Any]]:
    """The edits the pane's widgets show, as (key path, value): the dataset chosen
    (``name``), its parameters (``form``) and the other fields (bad values left at the
    preset's)."""
    edits: list[tuple[str, Any]] = []
    dataset = preset.data.dataset
    if isinstance(name, str) and name != dataset:
        edits.append(("data.dataset", name))
        dataset = name
        if catalog.DATASETS[name].params is not type(preset.data.params):
            edits.append(("data.params", {}))
    if form.cls is catalog.DATASETS[dataset].params:
        edits += [(keypath.join("data.params", field), value) for field, value in form.values().items()]
    for editor in editors:
        if keypath.within(editor.path, "data.params"):
            continue
        ok, value = editor.parsed()
        if ok:
            edits.append((editor.path, value))
    return edits


class DatasetPane(Widget):
    """Choose and configure the dataset and the split; posts :class:`PresetEdited`
    (origin ``"dataset"``)."""

    DEFAULT_CSS = DATASET_CSS

    BINDINGS = [
        Binding("r", "reload", "Reload data", tooltip="Load the data again (split counts, preview)"),
        Binding("n", "next_samples", "More samples", tooltip="Show other samples in the preview"),
    ]
    WIDE = 120

    PANE = PaneInfo("dataset", "Dataset & split", "Data", short=("Dataset", "Data"), takes_preset=True)

    @classmethod
    def create(cls, app: Any) -> "DatasetPane":
        """The pane, built from the dashboard's options."""
        return cls(app.preset, id=cls.PANE.widget_id)

    def __init__(self, preset: Preset, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.preset = preset
        self.info: catalog.DataInfo | None = None
        self.info_error = ""
        self.result: dict[str, Any] | None = None  # the last finished load for this preset
        self.described: dict[str, Any] | None = None
        self.is_loading = False
        self._key = ""
        self._offset = 0
        self._ready = False
        self._shown = False
        self._composed: Preset | None = None
        self._resize_timer: Any = None
        # loads already made, newest last (switching back to a dataset shows it at once)
        self._loaded: dict[str, dict[str, Any]] = {}

    # -- layout ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        p = self._composed = self.preset
        d = p.data
        kind = catalog.DATASETS[d.dataset]
        with VerticalScroll(id="ds-scroll"):
            with Vertical(id="ds-columns"):
                with Vertical(id="ds-settings"):
                    yield Static("Dataset", classes="ds-heading -first")
                    yield Select(dataset_options(), value=d.dataset, allow_blank=False, compact=True,
                                 id="ds-dataset", tooltip="Which dataset (↓ = downloads on first use)")
                    yield Static(id="ds-about")
                    yield Static(id="ds-info")
                    yield Static("Parameters", classes="ds-heading")
                    with Vertical(id="ds-params-box"):
                        yield DataclassForm(d.params, "data.params", lists=True, id="ds-params",
                                            empty=f"{d.dataset} has no parameters.")
                    yield Static("Split", classes="ds-heading")
                    with Horizontal(id="ds-fractions"):
                        for name in ("train", "val", "test"):
                            yield FieldEditor(Split, name, getattr(d.split, name), f"data.split.{name}",
                                              show_help=False, narrow=True, id=f"ds-{name}")
                    yield Static("fractions of the samples: train + val + test must sum to 1", id="ds-split-hint")
                    yield Static(id="ds-split-error")
                    yield FieldEditor(Split, "stratify", d.split.stratify, "data.split.stratify", id="ds-stratify")
                    yield FieldEditor(Split, "official_test", d.split.official_test, "data.split.official_test",
                                      id="ds-official", disabled=not kind.official_test)
                    yield FieldEditor(Preset, "seed", p.seed, "seed", id="ds-seed")
                    yield Static("Batches and scaling", classes="ds-heading")
                    yield FieldEditor(Data, "batch_size", d.batch_size, "data.batch_size", id="ds-batch")
                    yield FieldEditor(Data, "normalize", d.normalize, "data.normalize", id="ds-normalize")
                    yield FieldEditor(Data, "workers", d.workers, "data.workers", id="ds-workers")
                    yield Static(id="ds-problem")
                with Vertical(id="ds-results"):
                    yield Static("Splits", classes="ds-heading -first")
                    yield Static(id="ds-counts")
                    yield Static(id="ds-notes")
                    yield Static("Samples", classes="ds-heading")
                    yield Static(id="ds-preview")

    def on_mount(self) -> None:
        if closing(self):
            return
        self._ready = True
        for selector in ("#ds-split-error", "#ds-problem", "#ds-notes"):
            self._line(selector, "")
        self.set_class(self.size.width >= self.WIDE, "-wide")
        self._fit_params()
        self._show_preset_info()
        self._set_waiting("the data loads when this pane is first shown")
        if self.preset is not self._composed:  # load_preset came between compose and mount
            self.call_later(self._show_preset)

    def on_show(self) -> None:
        # Load (torch) only once the pane is on screen, after its first frame: a hidden
        # tab does not slow the app's start.
        if not self._shown:
            self._shown = True
            self.call_after_refresh(self._reload_if_stale)

    def _reload_if_stale(self) -> None:
        if data_key(self.preset) != self._key:
            self._start_load()

    def on_resize(self, event: Resize) -> None:
        wide = event.size.width >= self.WIDE
        if wide != self.has_class("-wide"):
            self.set_class(wide, "-wide")
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(0.15, self._show_preview)

    # -- public API --------------------------------------------------------

    @property
    def params_form(self) -> DataclassForm:
        return self.query_one("#ds-params", DataclassForm)

    def editors(self) -> list[FieldEditor]:
        return list(self.query(FieldEditor))

    def focus_default(self) -> None:
        """Focus the dataset choice (the app calls this when it shows the pane)."""
        self.query_one("#ds-dataset", Select).focus()

    def load_preset(self, preset: Preset) -> None:
        """Show ``preset`` (the app calls this when the preset changed elsewhere)."""
        if preset == self.preset and preset.source == self.preset.source:
            return
        self.preset = preset
        if self._ready:
            self.call_later(self._show_preset)

    # -- showing the preset ------------------------------------------------

    async def _show_preset(self) -> None:
        """Put every value of ``self.preset`` into the widgets (after a load_preset)."""
        p = self.preset
        d = p.data
        select = self.query_one("#ds-dataset", Select)
        if select.value != d.dataset:
            with select.prevent(Select.Changed):
                select.value = d.dataset
        form = self.params_form
        if form.cls is type(d.params):
            form.set_values(d.params)
        else:
            await self._mount_params(d.params, d.dataset)
        for editor in self.editors():
            if keypath.within(editor.path, "data.params"):
                continue
            editor.set_value(keypath.get(p, editor.path))
        self._fit_params()
        self._clear_problems()
        self._show_preset_info()
        if self._shown:
            self._reload_if_stale()

    async def _mount_params(self, params: Any, dataset: str) -> None:
        box = self.query_one("#ds-params-box", Vertical)
        await self.params_form.remove()
        await box.mount(DataclassForm(params, "data.params", lists=True, id="ds-params",
                                      empty=f"{dataset} has no parameters."))

    def _fit_params(self) -> None:
        """Show only the parameters that apply to the dataset chosen: a CSV and an NPZ
        share their parameters, but only an NPZ names its array of features."""
        form = self.params_form
        if form.cls is not catalog.TableParams:
            return
        name = self.query_one("#ds-dataset", Select).value
        for editor in form.editors:
            if editor.field_name in NPZ_ONLY:
                editor.display = name == "npz"

    def _show_preset_info(self) -> None:
        p = self.preset
        kind = catalog.DATASETS[p.data.dataset]
        about = about_text(p)
        about_widget = self.query_one("#ds-about", Static)
        about_widget.update(about)
        about_widget.display = bool(about)
        official = self.query_one("#ds-official", FieldEditor)
        official.disabled = not kind.official_test
        info_widget = self.query_one("#ds-info", Static)
        try:
            self.info = catalog.info(p.data.dataset, p.data.params)
            self.info_error = ""
        except ConfigError as e:
            self.info, self.info_error = None, "; ".join(str(x) for x in e.problems)
        except (OSError, ValueError) as e:
            self.info, self.info_error = None, str(e)
        if self.info is None:
            info_widget.update(Text("✗ " + self.info_error))
            info_widget.add_class("-bad")
            return
        info_widget.remove_class("-bad")
        samples = expected_samples(p.data.dataset, p.data.params)
        if self.described and self.result and self.result.get("key") == data_key(p):
            total = sum(int(v) for v in self.described.get("sizes", {}).values())
            samples = f"{total:,}"
        info_widget.update(info_text(self.info, samples))

    def _clear_problems(self) -> None:
        for editor in self.editors():
            editor.set_error("")
        self._line("#ds-split-error", "")
        self._line("#ds-problem", "")

    def _line(self, selector: str, text: Any) -> None:
        """Set a one-off message line; an empty one takes no room."""
        widget = self.query_one(selector, Static)
        widget.update(text)
        widget.display = bool(text)

    # -- editing -----------------------------------------------------------

    async def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "ds-dataset":
            return
        event.stop()
        name = event.value
        if not isinstance(name, str) or name not in catalog.DATASETS:
            return
        kind = catalog.DATASETS[name]
        form = self.params_form
        if form.cls is not kind.params:
            params = self.preset.data.params
            if type(params) is not kind.params:
                params = placeholder_params(kind.params)
            await self._mount_params(params, name)
        self._fit_params()
        official = self.query_one("#ds-official", FieldEditor)
        official.disabled = not kind.official_test
        if not kind.official_test and official.value:
            official.set_value(False)
        await self._apply()

    async def on_field_editor_changed(self, event: FieldEditor.Changed) -> None:
        event.stop()
        await self._apply()

    def _edits(self) -> list[tuple[str, Any]]:
        """The edits the widgets show now (bad values left at the preset's)."""
        return shown_edits(self.preset, self.query_one("#ds-dataset", Select).value, self.params_form, self.editors())

    async def _apply(self) -> bool:
        applied = apply_edits(self.preset, self._edits(), self.editors())
        if applied.preset is None:
            self._show_problems(applied.rest)
            return False
        new = applied.preset
        self._clear_external_errors()
        if new == self.preset:
            return True
        self.preset = new
        self._show_preset_info()
        self.post_message(PresetEdited(preset=new, origin="dataset"))
        if self._shown:  # after the edit has reached the other panes: the load competes with them
            self.call_after_refresh(self._reload_if_stale)
        return True

    def _show_problems(self, rest: list[Problem]) -> None:
        """Say the problems no field shows (those under a field are shown already):
        the split's on its own line, the others on the pane's problem line."""
        name = self.query_one("#ds-dataset", Select).value
        if name != self.preset.data.dataset:
            info = self.query_one("#ds-info", Static)
            info.update(Text(f"✗ {name} is not applied yet: fill in the fields marked in red "
                             f"(still using {self.preset.data.dataset})"))
            info.add_class("-bad")
        split, others = problem_lines(rest)
        self._line("#ds-split-error", split)
        self._line("#ds-problem", others)

    def _clear_external_errors(self) -> None:
        """Clear the errors that came from validating the whole preset (keep the ones an
        editor shows for its own bad text)."""
        for editor in self.editors():
            ok, _ = editor.parsed()
            if ok:
                editor.set_error("")
        self._line("#ds-split-error", "")
        self._line("#ds-problem", "")

    # -- loading -----------------------------------------------------------

    def _set_waiting(self, message: str) -> None:
        counts = self.query_one("#ds-counts", Static)
        counts.remove_class("-bad")
        counts.update(Text(message, style="dim"))
        self._line("#ds-notes", "")
        self.query_one("#ds-preview", Static).update(Text("⏳ loading…" if self.is_loading else message, style="dim"))

    def _start_load(self, again: bool = False) -> None:
        self._key = data_key(self.preset)
        if not again and self._key in self._loaded:
            self.is_loading = False
            self.result = self._loaded[self._key]
            self._offset = 0
            self._show_result()
            return
        self.is_loading = True
        self.result = None
        self.described = None
        self._offset = 0
        self._set_waiting("⏳ loading the data to count the splits…")
        self._load(self.preset, self._key)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False)
    def _load(self, preset: Preset, key: str) -> dict[str, Any]:
        return load_for_pane(preset, key)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != LOAD_GROUP:
            return
        event.stop()
        if event.state == WorkerState.SUCCESS:
            result = worker.result
        elif event.state == WorkerState.ERROR:
            result = {"key": self._key, "error": f"{type(worker.error).__name__}: {worker.error}"}
        else:
            return
        if not isinstance(result, dict) or result.get("key") != self._key:
            return  # an older load finished after the preset changed
        self.is_loading = False
        self.result = result
        if not result.get("error"):  # kept for a switch back (a few: each holds samples, not the data)
            self._loaded.pop(self._key, None)
            self._loaded[self._key] = result
            while len(self._loaded) > KEEP_LOADS:
                self._loaded.pop(next(iter(self._loaded)))
        self._show_result()

    def _show_result(self) -> None:
        result = self.result
        if result is None:
            return
        counts = self.query_one("#ds-counts", Static)
        if result.get("error"):
            self.described = None
            counts.add_class("-bad")
            counts.update(Text("✗ cannot load the data:\n" + result["error"]))
            self.query_one("#ds-preview", Static).update(Text("no preview: the data did not load", style="dim"))
            return
        counts.remove_class("-bad")
        desc = result["describe"]
        self.described = desc
        width = self._content_width()
        counts.update(preview.balance_table(desc.get("sizes", {}), desc.get("balance"),
                                            list(desc.get("classes", [])), width))
        notes = result.get("notes") or []
        self._line("#ds-notes", Text("\n".join(f"• {n}" for n in notes)) if notes else "")
        self._show_preset_info()
        self._show_preview()

    def _content_width(self) -> int:
        results = self.query_one("#ds-results", Vertical)
        return max(30, results.content_region.width or results.size.width or 60)

    def _show_preview(self) -> None:
        self._resize_timer = None
        result = self.result
        if not result or result.get("error") or not self._ready:
            return
        width = self._content_width()
        try:
            renderable = preview_renderable(result, width, self._offset)
        except Exception as e:  # a preview never takes the pane down
            renderable = Text(f"no preview: {type(e).__name__}: {e}", style="dim")
        pages = result.get("kind") in ("images", "sequences", "table")
        hint = Text("n: more samples", style="dim") if pages else Text("")
        self.query_one("#ds-preview", Static).update(Group(renderable, hint))
        desc = self.described
        if desc:
            self.query_one("#ds-counts", Static).update(
                preview.balance_table(desc.get("sizes", {}), desc.get("balance"), list(desc.get("classes", [])), width))

    # -- actions -----------------------------------------------------------

    def action_reload(self) -> None:
        self._start_load(again=True)

    def action_next_samples(self) -> None:
        if not self.result or self.result.get("error"):
            return
        per_row = shown_count(self.result, self._content_width())
        xs = self.result.get("samples_x")
        rows = 1 if xs is None or not len(xs) or (self.result.get("kind") == "images"
                                                   and preview._to_hwc(xs[0]).shape[0] > 16) else 2
        self._offset += per_row * (rows if self.result.get("kind") in ("images", "sequences") else 1)
        self._show_preview()


__all__ = ["DatasetPane", "load_for_pane", "preview_renderable", "expected_samples", "data_key",
           "dataset_options", "pick_samples"]
