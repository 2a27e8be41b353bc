"""The Model builder pane: the layer stack as a Keras-style summary table you can edit.

Each row shows the layer's index, name (type), its settings in short form, its output
shape and its parameter count; residual blocks show their inner layers indented under
them. Totals (total / trainable / non-trainable parameters and their size) follow the
table. A layer that does not fit the shape it gets shows the reason on its row in red,
and the rows after it show "—".

Keys (while the layer list has focus): ``a`` add a layer after the selected one (inside
a residual block when an inner layer is selected), ``d`` / ``delete`` remove, ``K`` /
``J`` (or ``shift+↑`` / ``shift+↓``) move, ``enter`` / ``e`` edit the selected layer's
settings in the form beside or below the table (``escape`` goes back), ``u`` undo.

Every edit goes the panes' one way (:func:`tuidl.ui.widgets.form.apply_edits`): a whole new
preset is validated and posted as :class:`~tuidl.ui.messages.PresetEdited`; values the
schema rejects are shown inline and not applied. Shapes come from :func:`tuidl.core.model.layers.infer` (pure Python, no torch).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, ListItem, ListView, OptionList, Static
from textual.widgets.option_list import Option

from tuidl.core.data import catalog
from tuidl.core.preset import keypath
from tuidl.core.model import layers
from tuidl.core.preset.keypath import KeyPathError, join
from tuidl.core.model.layers import LAYER_TYPES, Layer, Summary, fmt_shape, human_bytes
from tuidl.core.preset.preset import Preset, resolve, to_data
from tuidl.core.preset.schema import ConfigError
from tuidl.ui.widgets.form import DataclassForm, FieldEditor, apply_edits, field_type, is_required
from tuidl.ui.messages import PresetEdited
from tuidl.ui.visible import closing

Addr = tuple[int, ...]

#: Settings a new layer starts with (required fields need a value).
NEW_LAYER_DEFAULTS: dict[str, dict[str, Any]] = {
    "dense": {"units": 32, "activation": "relu"},
    "conv1d": {"filters": 16, "activation": "relu"},
    "conv2d": {"filters": 16, "activation": "relu"},
    "lstm": {"units": 32},
    "gru": {"units": 32},
}
#: Settings always shown in the short form even when they keep their default.
ALWAYS_SHOWN = {
    "conv1d": ("kernel_size",),
    "conv2d": ("kernel_size",),
    "max_pool": ("pool_size",),
    "avg_pool": ("pool_size",),
    "dropout": ("rate",),
}
SHORT_NAMES = {"kernel_size": "k", "stride": "s", "pool_size": "size", "padding": "pad",
               "num_layers": "layers", "return_sequences": "seq", "bidirectional": "bi",
               "negative_slope": "slope"}
MAX_UNDO = 100


# ---------------------------------------------------------------------------
# Pure helpers: rows of the table, short settings, new layers


@dataclass
class DisplayRow:
    """One line of the layer table (a top-level layer or an inner layer of a residual)."""

    addr: Addr
    depth: int
    number: str
    name: str
    kind: str
    settings: str
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    params: int | None
    error: str = ""

    @property
    def shape_text(self) -> str:
        return "—" if self.output_shape is None else fmt_shape(self.output_shape)

    @property
    def params_text(self) -> str:
        return "—" if self.params is None else f"{self.params:,}"


def short_settings(layer: Layer) -> str:
    """A layer's settings in a few characters: required values bare, a non-default
    activation by name, other changed settings as ``name=value``."""
    if layer.kind == "residual":
        n = len(getattr(layer, "inner", []))
        return f"{n} inner layer{'s' if n != 1 else ''}"
    if layer.kind == "code":
        return "▲ encoder · decoder ▼"
    cls = type(layer)
    parts: list[str] = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        value = getattr(layer, f.name)
        default = f.default
        required = is_required(cls, f.name)
        short = SHORT_NAMES.get(f.name, f.name)
        if required:
            parts.append(str(value))
        elif f.name == "activation":
            if value != "none":
                parts.append(str(value))
        elif isinstance(value, bool):
            if value != default:
                parts.append(short if value else f"no {short}")
        elif value != default or f.name in ALWAYS_SHOWN.get(layer.kind, ()):
            parts.append(f"{short}={value}")
    return ", ".join(parts)


def _rows_for(items: list[Layer], summary: Summary | None, prefix: Addr, depth: int) -> list[DisplayRow]:
    out: list[DisplayRow] = []
    failed = False
    for i, layer in enumerate(items):
        addr = prefix + (i,)
        row = summary.rows[i] if summary is not None and i < len(summary.rows) else None
        number = ".".join(str(a) for a in addr)
        name = row.name if (row is not None and depth == 0) else layer.kind
        if row is None or failed:
            display = DisplayRow(addr, depth, number, name, layer.kind, short_settings(layer),
                                 None, None, None)
        elif row.error:
            failed = True
            display = DisplayRow(addr, depth, number, name, layer.kind, short_settings(layer),
                                 row.input_shape, None, None, row.error)
        else:
            display = DisplayRow(addr, depth, number, name, layer.kind, short_settings(layer),
                                 row.input_shape, row.output_shape, row.trainable + row.frozen)
        out.append(display)
        if layer.kind == "residual":
            inner = list(getattr(layer, "inner", []))
            # Inner rows get shapes whenever the block itself got an input shape, so a
            # block that does not fit shows where inside it the shapes go wrong.
            inner_summary = layers.infer(inner, display.input_shape) if display.input_shape is not None else None
            out.extend(_rows_for(inner, inner_summary, addr, depth + 1))
    return out


def custom_rows(summary: Summary | None) -> list[DisplayRow]:
    """The table's rows for a custom model (``model.custom``): its modules as built
    (:func:`tuidl.core.train.custom.summarize`, indented by depth); none before it is built."""
    if summary is None:
        return []
    return [DisplayRow((i,), 0, str(i), row.name, row.kind, "", row.input_shape or None, row.output_shape,
                       row.trainable + row.frozen) for i, row in enumerate(summary.rows)]


def display_rows(stack: list[Layer], summary: Summary | None) -> list[DisplayRow]:
    """The table's rows: every layer with its shape and parameters (``summary`` from
    :func:`tuidl.core.model.layers.infer`; ``None`` when the input shape is unknown), inner
    layers of residual blocks after their block, one level deeper."""
    return _rows_for(list(stack), summary, (), 0)


def default_layer(kind: str, shape: tuple[int, ...] | None) -> dict[str, Any]:
    """A new layer of ``kind`` as a preset table, with values for required settings.
    A residual block gets one inner layer that keeps ``shape``."""
    out: dict[str, Any] = {"type": kind, **NEW_LAYER_DEFAULTS.get(kind, {})}
    cls = LAYER_TYPES[kind]
    for f in dataclasses.fields(cls):
        if f.init and f.name not in out and is_required(cls, f.name):
            tp = field_type(cls, f.name)
            out[f.name] = 32 if tp is int else ""
    if kind == "reshape" and shape is not None:  # a flat input as one channel, anything else flat
        out["shape"] = [1, shape[0]] if len(shape) == 1 else [math.prod(shape)]
    if kind == "residual":
        if shape is not None and len(shape) == 1:
            inner = {"type": "dense", "units": shape[0], "activation": "relu"}
        elif shape is not None and len(shape) == 2:
            inner = {"type": "conv1d", "filters": shape[0], "activation": "relu"}
        elif shape is not None and len(shape) == 3:
            inner = {"type": "conv2d", "filters": shape[0], "activation": "relu"}
        else:
            inner = {"type": "relu"}
        out["layers"] = [inner]
    return out


def layer_at(stack: list[Layer], addr: Addr) -> Layer:
    node: Any = None
    items = stack
    for a in addr:
        node = items[a]
        items = getattr(node, "inner", [])
    return node


def _list_at(data_layers: list[dict], parent: Addr) -> list[dict]:
    items = data_layers
    for a in parent:
        items = items[a]["layers"]
    return items


def layer_path(addr: Addr) -> str:
    """The key path of a layer: ``model.layers[2].layers[0]``."""
    parts: list[keypath.Part] = ["model"]
    for a in addr:
        parts += ["layers", a]
    return keypath.format(parts)


# ---------------------------------------------------------------------------
# Widgets


class LayerList(ListView):
    """The layer rows. Enter asks the pane to edit the highlighted layer."""

    BINDINGS = [Binding("enter", "edit_layer", "Edit layer", show=False)]

    class EditRequested(Message):
        pass

    def action_edit_layer(self) -> None:
        self.post_message(self.EditRequested())


class LayerTypeScreen(ModalScreen[str | None]):
    """Pick a layer type from :data:`tuidl.core.model.layers.LAYER_TYPES`, each with its doc
    line. Typing filters the list; ↑/↓ choose; Enter adds; Esc cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "cursor(1)", "Next", show=False),
        Binding("up", "cursor(-1)", "Previous", show=False),
    ]
    DEFAULT_CSS = """
    LayerTypeScreen {
        align: center middle;
    }
    LayerTypeScreen > #lt-box {
        width: 90%;
        max-width: 100;
        height: 90%;
        max-height: 30;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    LayerTypeScreen #lt-title {
        height: auto;
        text-style: bold;
    }
    LayerTypeScreen #lt-filter {
        margin: 0 0 1 0;
    }
    LayerTypeScreen OptionList {
        height: 1fr;
    }
    """

    def __init__(self, where: str = "") -> None:
        super().__init__()
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical(id="lt-box"):
            yield Static(f"Add a layer{self.where}: type to filter, ↑/↓ choose, Enter add, Esc cancel",
                         id="lt-title")
            yield Input(placeholder="filter, e.g. conv", id="lt-filter", compact=True)
            yield OptionList(*self._options(""), id="lt-options")

    @staticmethod
    def _options(text: str) -> list[Option]:
        needle = text.strip().lower().replace(" ", "_")
        ranked = []
        for order, (kind, cls) in enumerate(LAYER_TYPES.items()):
            if not needle:
                rank = 0
            elif kind.startswith(needle):
                rank = 0
            elif needle in kind:
                rank = 1
            elif needle.replace("_", " ") in cls.doc.lower():
                rank = 2
            else:
                continue
            ranked.append((rank, order, kind, cls))
        return [Option(Text.assemble((f"{kind:<16}", "bold"), (cls.doc, "")), id=kind)
                for _, _, kind, cls in sorted(ranked)]

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0
        self.query_one("#lt-filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(self._options(event.value))
        options.highlighted = 0 if options.option_count else None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one(OptionList)
        if options.highlighted is not None and options.option_count:
            self.dismiss(options.get_option_at_index(options.highlighted).id)
        else:
            self.app.bell()

    def action_cursor(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if options.has_focus:
            return
        if delta > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


COLUMNS = (("#", 5, "left"), ("Layer (type)", None, "left"), ("Settings", None, "left"),
           ("Output shape", 16, "left"), ("Param #", 11, "right"))


def _grid() -> Table:
    table = Table.grid(expand=True, padding=(0, 1, 0, 0))
    for _, width, justify in COLUMNS:
        if width is None:
            table.add_column(ratio=1, no_wrap=True, overflow="ellipsis", justify=justify)  # type: ignore[arg-type]
        else:
            table.add_column(width=width, no_wrap=True, overflow="ellipsis", justify=justify)  # type: ignore[arg-type]
    return table


def header_renderable() -> RenderableType:
    table = _grid()
    table.add_row(*[Text(title, style="bold") for title, _, _ in COLUMNS])
    return table


def row_renderable(row: DisplayRow) -> RenderableType:
    """One table row; a shape error follows it in red, wrapped to the width."""
    table = _grid()
    indent = "  " * row.depth + ("↳ " if row.depth else "")
    style = "red" if row.error else ("dim" if row.output_shape is None else "")
    table.add_row(
        Text(row.number, style=style or "dim"),
        Text(indent + (f"{row.name} ({row.kind})" if row.depth == 0 else row.kind), style=style or "bold"),
        Text(row.settings, style=style),
        Text("✗ does not fit" if row.error else row.shape_text, style=style or "cyan"),
        Text(row.params_text, style=style),
    )
    if not row.error:
        return table
    note = Table.grid(expand=True)
    note.add_column(width=6 + 2 * row.depth)
    note.add_column(ratio=1)
    note.add_row("", Text("✗ " + row.error, style="bold red"))
    return Group(table, note)


def totals_text(summary: Summary | None) -> Text:
    """Total / trainable / non-trainable parameters and their size, as render_summary prints them."""
    if summary is None:
        return Text(" Total params: —\n Trainable params: —\n Non-trainable params: —", style="dim")
    total, train, frozen = summary.total, summary.trainable, summary.frozen
    return Text.assemble(
        (" Total params: ", "bold"), f"{total:,} ({human_bytes(total * 4)})\n",
        (" Trainable params: ", ""), f"{train:,} ({human_bytes(train * 4)})\n",
        (" Non-trainable params: ", ""), f"{frozen:,} ({human_bytes(frozen * 4)})",
    )


class ModelBuilderPane(Widget):
    """Edit the preset's layer stack; posts :class:`PresetEdited` (origin ``"builder"``)."""

    DEFAULT_CSS = """
    ModelBuilderPane {
        layout: vertical;
        height: 1fr;
        width: 1fr;
    }
    ModelBuilderPane > #mb-main {
        height: 1fr;
        min-height: 8;
        width: 1fr;
    }
    ModelBuilderPane #mb-title {
        height: auto;  /* a second line rather than a cut ("spiral: 2" at 120 columns) */
        max-height: 2;
        padding: 0 1;
        text-style: bold;
        text-overflow: ellipsis;
    }
    ModelBuilderPane #mb-head {
        height: 1;
        padding: 0 1;
        background: $boost;
    }
    ModelBuilderPane LayerList {
        height: 1fr;
        min-height: 3;
        background: transparent;
    }
    ModelBuilderPane LayerList > ListItem {
        padding: 0 1;
    }
    ModelBuilderPane LayerList > ListItem.-highlight {
        background: $primary 20%;
    }
    ModelBuilderPane LayerList:focus > ListItem.-highlight {
        background: $primary 40%;
        text-style: bold;
    }
    ModelBuilderPane #mb-totals {
        height: auto;
        background: $boost;
    }
    ModelBuilderPane #mb-status {
        height: auto;
        padding: 0 1;
    }
    ModelBuilderPane #mb-status.-bad {
        color: $text-error;
    }
    ModelBuilderPane #mb-status.-good {
        color: $text-success;
    }
    ModelBuilderPane #mb-buttons {
        height: 1;
        width: 1fr;
    }
    ModelBuilderPane #mb-buttons Button {
        margin: 0 1 0 0;
        min-width: 6;
    }
    ModelBuilderPane > #mb-editor {
        height: auto;
        max-height: 45%;
        width: 1fr;
        border-top: solid $primary;
        padding: 0 1;
    }
    ModelBuilderPane.-wide {
        layout: horizontal;
    }
    ModelBuilderPane.-wide > #mb-editor {
        height: 1fr;
        max-height: 100%;
        width: 48;
        border-top: none;
        border-left: solid $primary;
    }
    ModelBuilderPane #mb-editor-title {
        height: auto;
    }
    TabPane.-has-focus ModelBuilderPane #mb-head {
        background: $primary 30%;
    }
    """

    BINDINGS = [
        Binding("a", "add", "Add layer", tooltip="Add a layer after the selected one"),
        Binding("d,delete", "remove", "Remove layer", tooltip="Remove the selected layer"),
        Binding("K,shift+up", "move(-1)", "Move up", tooltip="Move the selected layer up"),
        Binding("J,shift+down", "move(1)", "Move down", tooltip="Move the selected layer down"),
        Binding("e", "edit", "Edit layer", tooltip="Edit the selected layer's settings"),
        Binding("u", "undo", "Undo", tooltip="Undo the last change to the layers"),
        Binding("escape", "back", "Back to layers", show=False),
    ]
    LIST_ACTIONS = {"add", "remove", "move", "edit", "undo"}
    WIDE = 110

    def __init__(self, preset: Preset, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.preset = preset
        self.rows: list[DisplayRow] = []
        self.summary: Summary | None = None
        self.info: catalog.DataInfo | None = None
        self.problem = ""
        self.loss = ""
        self._cursor: Addr = (0,)
        self._undo: list[tuple[list[dict], Addr]] = []
        self._form_addr: Addr | None = None
        self._form_kind = ""
        self._message = ""
        self._ready = False
        self._flash_timer: Any = None
        # a custom model's summary, built in a thread (it imports PyTorch and runs the
        # user's code): what it was built for (ref, input shape, loss), then (summary, error)
        self._custom_key: tuple | None = None
        self._custom: tuple[Summary | None, str] | None = None
        self._custom_pending: tuple | None = None  # the build _analyse found wanted
        self._title_parts: list[str] = []
        self._analyse()

    # -- layout ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="mb-main"):
            yield Static(id="mb-title")
            yield Static(header_renderable(), id="mb-head")
            yield LayerList(id="mb-layers")
            yield Static(id="mb-totals")
            yield Static(id="mb-status")
            with Horizontal(id="mb-buttons"):
                yield Button("+ Add", id="mb-add", compact=True, tooltip="Add a layer (a)")
                yield Button("− Remove", id="mb-remove", compact=True, tooltip="Remove the layer (d)")
                yield Button("↑", id="mb-up", compact=True, tooltip="Move up (K)")
                yield Button("↓", id="mb-down", compact=True, tooltip="Move down (J)")
                yield Button("Edit", id="mb-edit", compact=True, tooltip="Edit the layer (e)")
                yield Button("Undo", id="mb-undo", compact=True, tooltip="Undo (u)")
        with VerticalScroll(id="mb-editor"):
            yield Static(id="mb-editor-title")

    async def on_mount(self) -> None:
        if closing(self):
            return
        self._ready = True
        self.set_class(self.size.width >= self.WIDE, "-wide")
        self._build_custom()
        await self._refresh_view()

    def on_resize(self, event: Resize) -> None:
        wide = event.size.width >= self.WIDE
        if wide != self.has_class("-wide"):
            self.set_class(wide, "-wide")
        if self._title_parts:
            self.call_after_refresh(self._show_title)  # once the title has its new width

    # -- public API --------------------------------------------------------

    @property
    def layer_list(self) -> LayerList:
        return self.query_one(LayerList)

    @property
    def form(self) -> DataclassForm | None:
        forms = self.query("#mb-editor DataclassForm")
        return forms.first(DataclassForm) if forms else None

    @property
    def selected(self) -> Addr:
        return self._cursor

    def focus_default(self) -> None:
        """Focus the layer list (the app calls this when it shows the pane)."""
        self.layer_list.focus()

    def load_preset(self, preset: Preset) -> None:
        """Show ``preset`` (the app calls this when the preset changed elsewhere)."""
        if preset == self.preset and preset.source == self.preset.source:
            return
        if preset.source != self.preset.source or preset.name != self.preset.name:
            self._undo.clear()  # another preset file: its history is not ours
        self.preset = preset
        self._analyse()
        if self._ready:
            self._build_custom()
            self.call_later(self._refresh_view)

    # -- analysis ----------------------------------------------------------

    def _analyse(self) -> None:
        preset = self.preset
        self.problem = ""
        self.loss = ""
        self._custom_pending = None
        try:
            self.info = catalog.info(preset.data.dataset, preset.data.params)
        except ConfigError as e:
            self.info = None
            self.problem = f"data: {e}"
        except (OSError, ValueError) as e:
            self.info = None
            self.problem = f"data: {e}"
        if self.info is not None and preset.model.custom:
            self._analyse_custom()
        elif self.info is not None:
            self.summary = layers.infer(preset.model.layers, self.info.input_shape, preset.name)
            if not self.summary.errors:
                try:
                    self.loss = resolve(preset).loss
                except ConfigError as e:
                    self.problem = "; ".join(f"{p.path}: {p.message}" if p.path else p.message
                                             for p in e.problems)
                except (OSError, ValueError) as e:
                    self.problem = str(e)
        else:
            self.summary = None
        self.rows = custom_rows(self.summary) if preset.model.custom else display_rows(preset.model.layers,
                                                                                       self.summary)
        addrs = [r.addr for r in self.rows]
        if self._cursor not in addrs:
            self._cursor = self._nearest(self._cursor, addrs)

    # -- a custom model (model.custom) -----------------------------------------

    def _allowed(self) -> tuple[str, ...]:
        """The classes the command line allows (``tuidl --allow-code``: the app's)."""
        try:
            return tuple(getattr(self.app, "allow_code", ()) or ())
        except Exception:  # noqa: BLE001 - no app yet (made outside one): nothing is allowed
            return ()

    def _analyse_custom(self) -> None:
        """A custom model's summary is known once the class is built, which the command
        line must allow (``tuidl --allow-code module:Class``): until then the table is
        empty and the status says why."""
        preset, ref = self.preset, self.preset.model.custom
        self.summary = None
        try:
            self.loss = resolve(preset).loss
        except ConfigError as e:
            self.problem = "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in e.problems)
            return
        if ref not in self._allowed():
            self.problem = (f"custom model {ref}: its modules show once it is built, which runs your code; "
                            f"start tuidl with --allow-code {ref} to build it (Start needs that too)")
            return
        key = self._custom_wanted()
        if self._custom_key == key and self._custom is not None:
            self.summary, self.problem = self._custom
        else:
            self.problem, self._custom_pending = f"building {ref}…", key

    def _custom_wanted(self) -> tuple:
        info = self.info
        return (self.preset.model.custom, tuple(info.input_shape) if info else None, self.loss, self.preset.name)

    def _build_custom(self) -> None:
        """Build the custom model in a thread when its summary is wanted and not known."""
        key, ref = self._custom_pending, self.preset.model.custom
        if key is None or key == self._custom_key:
            return
        self._custom_key, self._custom = key, None
        preset, allowed = self.preset, self._allowed()

        def build() -> None:
            from tuidl.core.train.custom import real_summary

            try:
                result: tuple[Summary | None, str] = (real_summary(resolve(preset), allowed).summary, "")
            except ConfigError as e:
                result = (None, e.brief())
            except Exception as e:  # noqa: BLE001 - the user's code: say what it raised
                result = (None, f"model.custom: {ref}: {type(e).__name__}: {e}")
            self.app.call_from_thread(self._custom_built, key, result)

        self.run_worker(build, name="custom-summary", group="custom-summary", thread=True, exclusive=True,
                        exit_on_error=False)

    def _custom_built(self, key: tuple, result: tuple[Summary | None, str]) -> None:
        if key != self._custom_key or closing(self):
            return  # the preset changed meanwhile: a newer build is on its way
        self._custom = result
        self._analyse()
        self.call_later(self._refresh_view)

    @staticmethod
    def _nearest(addr: Addr, addrs: list[Addr]) -> Addr:
        if not addrs:
            return (0,)
        trial = addr
        while trial:
            if trial in addrs:
                return trial
            if trial[-1] > 0:
                trial = trial[:-1] + (trial[-1] - 1,)
            else:
                trial = trial[:-1]
        return addrs[0]

    # -- view --------------------------------------------------------------

    def _row_index(self, addr: Addr) -> int:
        for i, row in enumerate(self.rows):
            if row.addr == addr:
                return i
        return 0

    async def _refresh_view(self) -> None:
        if not self._ready:
            return
        lv = self.layer_list
        items = list(lv.query_children(ListItem))
        # Reuse the rows already there: update their text, add or drop only the difference.
        if len(items) > len(self.rows):
            extra = items[len(self.rows):]
            items = items[:len(self.rows)]
            with lv.prevent(ListView.Highlighted):
                lv.index = 0 if items else None
            await lv.remove_children(extra)
        for item, row in zip(items, self.rows):
            item.query_one(Static).update(row_renderable(row))
        if len(items) < len(self.rows):
            await lv.extend([ListItem(Static(row_renderable(row), classes="mb-row"))
                             for row in self.rows[len(items):]])
        with lv.prevent(ListView.Highlighted):
            lv.index = self._row_index(self._cursor)
        self._update_texts()
        await self._sync_form()

    def _show_title(self) -> None:
        """The title on one line, or broken at its dots onto a second where the pane is too
        narrow (it was cut to "spiral: 2" at 120 columns), never inside a part."""
        title = self.query_one("#mb-title", Static)
        width = title.content_size.width
        lines: list[str] = []
        for part in self._title_parts:
            if lines and (not width or len(lines[-1]) + 3 + len(part) <= width):
                lines[-1] += " · " + part
            else:
                lines.append(part)
        title.update(Text("\n".join(lines)))

    def _update_texts(self) -> None:
        info, summary = self.info, self.summary
        n = len(self.preset.model.layers)
        custom = self.preset.model.custom
        layers_text = f"{n} layer{'s' if n != 1 else ''}"
        if custom:
            modules = len(summary.rows) if summary is not None else 0
            layers_text = f"custom {custom}" + (f", {modules} module{'s' if modules != 1 else ''}" if summary else "")
        if info is not None and (summary is not None or custom):
            out = summary.output_shape if summary is not None else None
            target = f"{info.num_classes} classes" if info.task == "classification" else f"{info.targets} target(s)"
            parts = [f'Model "{self.preset.name}"',
                     f"input {fmt_shape(info.input_shape)} → output {'—' if out is None else fmt_shape(out)}",
                     layers_text, f"{info.dataset}: {target}"]
        else:
            parts = [f'Model "{self.preset.name}"', f"{n} layers", "input shape unknown"]
        self._title_parts = parts
        self._show_title()
        self.query_one("#mb-totals", Static).update(totals_text(summary))
        status = self.query_one("#mb-status", Static)
        bad = bool(self.problem) or bool(summary and summary.errors)
        if self._message:
            text = Text("! " + self._message, style="bold yellow")
        elif summary is not None and summary.errors:
            first = summary.errors[0]
            text = Text(f"✗ layer {first.index} ({first.kind}) does not fit; see the row in red. "
                        "The model cannot be trained until it fits (f fits it to the data).")
        elif custom and summary is None and self.problem.startswith("building "):
            text, bad = Text(self.problem, style="dim"), False
        elif self.problem:
            text = Text("✗ " + self.problem + ("" if self.preset.model.custom or self.problem.startswith("data:")
                                               else " (f fits the model to the data)"))
        else:
            loss = self.loss
            text = Text(f"✓ the model fits the data{f' (loss: {loss})' if loss else ''}")
        status.update(text)
        status.set_class(bad and not self._message, "-bad")
        status.set_class(not bad and not self._message, "-good")

    def _flash(self, message: str) -> None:
        self._message = message
        if self._ready:
            self._update_texts()
            if self._flash_timer is not None:
                self._flash_timer.stop()
            self._flash_timer = self.set_timer(4.0, self._clear_flash)

    def _clear_flash(self) -> None:
        self._message = ""
        if self._ready:
            self._update_texts()

    async def _sync_form(self) -> None:
        """Show the settings of the selected layer in the editor (re-mount only when the
        layer type changes)."""
        editor = self.query_one("#mb-editor", VerticalScroll)
        title = self.query_one("#mb-editor-title", Static)
        if not self.preset.model.layers:
            form = self.form
            if form is not None:
                await form.remove()
            self._form_addr, self._form_kind = None, ""
            custom = self.preset.model.custom
            title.update(Text(f"A custom model: {custom} (model.custom) defines the layers in your code; the "
                              "table lists its modules as built." if custom else
                              "No layers yet: press a (or + Add) to add the first one.", style="italic"))
            return
        addr = self._cursor
        try:
            layer = layer_at(self.preset.model.layers, addr)
        except (IndexError, AttributeError):
            return
        row = self.rows[self._row_index(addr)]
        title.update(Text.assemble(
            (f"Layer {row.number} · {layer.kind}", "bold"), " — ", (type(layer).doc, "italic"), "\n",
            ("e / Enter: edit · Tab: next field · Esc: back to the list", "dim"),
        ))
        prefix = layer_path(addr)
        form = self.form
        if form is not None and self._form_kind == layer.kind:
            form.prefix = prefix
            form.set_values(layer)
        else:
            if form is not None:
                await form.remove()
            empty = f"{layer.kind} has no settings."
            if layer.kind == "residual":
                empty = ("The block adds its input to the output of its inner layers. Select an inner "
                         "layer (↓) to edit it; a on an inner layer adds another inside the block.")
            form = DataclassForm(layer, prefix, empty=empty, show_help="focus")
            await editor.mount(form)
        self._form_addr = addr
        self._form_kind = layer.kind

    # -- events ------------------------------------------------------------

    async def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        event.stop()
        lv = self.layer_list
        if lv.index is None or not (0 <= lv.index < len(self.rows)):
            return
        addr = self.rows[lv.index].addr
        if addr != self._cursor:
            self._cursor = addr
            await self._sync_form()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()

    def on_layer_list_edit_requested(self, event: LayerList.EditRequested) -> None:
        event.stop()
        self.action_edit()

    @on(Button.Pressed, "#mb-buttons Button")
    async def _button(self, event: Button.Pressed) -> None:
        event.stop()
        button = event.button.id
        if button == "mb-add":
            self.action_add()
        elif button == "mb-remove":
            await self.action_remove()
        elif button == "mb-up":
            await self.action_move(-1)
        elif button == "mb-down":
            await self.action_move(1)
        elif button == "mb-edit":
            self.action_edit()
        elif button == "mb-undo":
            await self.action_undo()

    async def on_field_editor_changed(self, event: FieldEditor.Changed) -> None:
        event.stop()
        form = self.form
        edits: list[tuple[str, Any]] = []
        if form is not None and event.editor in form.editors:
            edits += [(join(form.prefix, name), value) for name, value in form.values().items()]
        edits.append((event.path, event.value))
        try:
            applied = apply_edits(self.preset, edits, form.editors if form is not None else [])
        except KeyPathError:
            return  # the layer it belonged to is gone
        if applied.preset is None:
            if applied.rest:
                event.editor.set_error("; ".join(p.message for p in applied.rest))
            return
        await self._commit(applied.preset)

    # -- actions -----------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        try:
            focused = self.screen.focused
        except Exception:  # not on a screen yet
            focused = None
        in_editor = focused is not None and self._in_editor(focused)
        if action in self.LIST_ACTIONS:
            return not in_editor
        if action == "back":
            return in_editor
        return True

    def _in_editor(self, widget: Widget) -> bool:
        node: Any = widget
        while node is not None and node is not self:
            if getattr(node, "id", None) == "mb-editor":
                return True
            node = node.parent
        return False

    def _shape_at(self, addr: Addr) -> tuple[int, ...] | None:
        row = self.rows[self._row_index(addr)] if self.rows else None
        return row.output_shape if row is not None else None

    def action_add(self) -> None:
        where = ""
        if len(self._cursor) > 1:
            where = f" inside residual {'.'.join(str(a) for a in self._cursor[:-1])}"
        self.app.push_screen(LayerTypeScreen(where), self._add_chosen)

    async def _add_chosen(self, kind: str | None) -> None:
        if kind:
            await self.add_layer(kind)

    async def add_layer(self, kind: str, after: Addr | None = None) -> bool:
        """Insert a new ``kind`` layer after ``after`` (default: the selected row)."""
        if kind not in LAYER_TYPES:
            self._flash(f"unknown layer type {kind!r}")
            return False
        after = self._cursor if after is None else after
        data = to_data(self.preset)
        stack = data["model"]["layers"]
        if not stack:
            container, index, parent = stack, 0, ()
        else:
            container, index, parent = _list_at(stack, after[:-1]), after[-1] + 1, after[:-1]
        container.insert(index, default_layer(kind, self._shape_at(after) if stack else None))
        return await self._apply(data, cursor=parent + (index,))

    async def action_remove(self) -> None:
        await self.remove_layer()

    async def remove_layer(self, addr: Addr | None = None) -> bool:
        addr = self._cursor if addr is None else addr
        data = to_data(self.preset)
        try:
            container = _list_at(data["model"]["layers"], addr[:-1])
            container[addr[-1]]
        except (IndexError, KeyError):
            return False
        if len(container) <= 1 and len(addr) > 1:
            self._flash("a residual block needs at least one inner layer; remove the block instead")
            self.app.bell()
            return False
        del container[addr[-1]]
        index = max(0, min(addr[-1], len(container) - 1))
        return await self._apply(data, cursor=addr[:-1] + (index,))

    async def action_move(self, delta: int) -> None:
        await self.move_layer(delta)

    async def move_layer(self, delta: int, addr: Addr | None = None) -> bool:
        addr = self._cursor if addr is None else addr
        data = to_data(self.preset)
        container = _list_at(data["model"]["layers"], addr[:-1])
        i, j = addr[-1], addr[-1] + delta
        if not (0 <= j < len(container)):
            self.app.bell()
            return False
        container[i], container[j] = container[j], container[i]
        return await self._apply(data, cursor=addr[:-1] + (j,))

    def action_edit(self) -> None:
        form = self.form
        if form is None or not form.editors:
            kind = self._form_kind or "this layer"
            self._flash(f"{kind} has no settings to edit")
            return
        form.editors[0].focus_control()

    def action_back(self) -> None:
        """Back to the layer list; Esc drops a value typed but not applied."""
        node: Any = self.screen.focused
        while node is not None and not isinstance(node, FieldEditor):
            node = node.parent
        if isinstance(node, FieldEditor):
            node.set_value(node.value)
        self.layer_list.focus()

    async def action_undo(self) -> None:
        if not self._undo:
            self._flash("nothing to undo")
            return
        previous, cursor = self._undo.pop()
        data = to_data(self.preset)
        data["model"]["layers"] = previous
        await self._apply(data, cursor=cursor, record=False)

    # -- applying ----------------------------------------------------------

    async def _apply(self, data: dict, cursor: Addr, record: bool = True) -> bool:
        applied = apply_edits(self.preset, [], base=data)
        if applied.preset is None:
            self._flash("not applied: " + applied.edit.brief())  # the edit, not the preset file, is at fault
            return False
        await self._commit(applied.preset, cursor=cursor, record=record)
        return True

    async def _commit(self, new: Preset, cursor: Addr | None = None, record: bool = True) -> None:
        if record:
            self._undo.append((to_data(self.preset)["model"]["layers"], self._cursor))
            del self._undo[:-MAX_UNDO]
        if cursor is not None:
            self._cursor = cursor
        self.preset = new
        self._message = ""
        self._analyse()
        await self._refresh_view()
        self.post_message(PresetEdited(preset=new, origin="builder"))


__all__ = [
    "ModelBuilderPane", "LayerList", "LayerTypeScreen", "DisplayRow", "display_rows", "short_settings",
    "default_layer", "layer_path", "totals_text", "row_renderable",
]
