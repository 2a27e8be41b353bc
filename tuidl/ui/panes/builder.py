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

from tuidl.core.preset import keypath
from tuidl.core.preset.keypath import KeyPathError, join
from tuidl.core.model.layers import LAYER_TYPES, Layer, Summary, human_bytes
from tuidl.core.preset.preset import Preset, to_data
from tuidl.ui.widgets.form import DataclassForm, FieldEditor, apply_edits, field_type, is_required
from tuidl.ui.messages import PresetEdited
from tuidl.ui.visible import closing
from tuidl.ui.panes.base import PaneInfo
from tuidl.ui.panes.model_analysis import (Addr, DisplayRow, ModelAnalysis, allowed_code, display_rows, nearest,
                                          short_settings, wrap_parts)


#: Settings a new layer starts with (required fields need a value).
NEW_LAYER_DEFAULTS: dict[str, dict[str, Any]] = {
    "dense": {"units": 32, "activation": "relu"},
    "conv1d": {"filters": 16, "activation": "relu"},
    "conv2d": {"filters": 16, "activation": "relu"},
    "lstm": {"units": 32},
    "gru": {"units": 32},
}
MAX_UNDO = 100


# ---------------------------------------------------------------------------
# Pure helpers: rows of the table, short settings, new layers


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


# ModelBuilderPane's stylesheet (its DEFAULT_CSS), apart from its code
BUILDER_CSS = """
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


class ModelBuilderPane(Widget):
    """Edit the preset's layer stack; posts :class:`PresetEdited` (origin ``"builder"``)."""

    DEFAULT_CSS = BUILDER_CSS

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

    PANE = PaneInfo("builder", "Model builder", "Model", short=("Model builder", "Model"), takes_preset=True)

    @classmethod
    def create(cls, app: Any) -> "ModelBuilderPane":
        """The pane, built from the dashboard's options."""
        return cls(app.preset, id=cls.PANE.widget_id)

    def __init__(self, preset: Preset, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.preset = preset
        self.analysis = ModelAnalysis()  # the model against its data: rows, summary, loss, problem
        self._cursor: Addr = (0,)
        self._undo: list[tuple[list[dict], Addr]] = []
        self._form_addr: Addr | None = None
        self._form_kind = ""
        self._message = ""
        self._ready = False
        self._flash_timer: Any = None
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

    # -- analysis (tuidl.ui.panes.model_analysis) ------------------------------------

    def _analyse(self) -> None:
        self.analysis.analyse(self.preset, allowed_code(self))
        addrs = [r.addr for r in self.analysis.rows]
        if self._cursor not in addrs:
            self._cursor = nearest(self._cursor, addrs)

    def _build_custom(self) -> None:
        """Build the custom model in a thread when its summary is wanted and not known."""
        self.analysis.build_custom(self, self.preset, allowed_code(self), self._custom_built)

    def _custom_built(self, key: tuple, result: tuple[Summary | None, str]) -> None:
        if closing(self) or not self.analysis.built(key, result):
            return  # the preset changed meanwhile: a newer build is on its way
        self._analyse()
        self.call_later(self._refresh_view)

    # -- view --------------------------------------------------------------

    async def _refresh_view(self) -> None:
        if not self._ready:
            return
        lv = self.layer_list
        items = list(lv.query_children(ListItem))
        # Reuse the rows already there: update their text, add or drop only the difference.
        if len(items) > len(self.analysis.rows):
            extra = items[len(self.analysis.rows):]
            items = items[:len(self.analysis.rows)]
            with lv.prevent(ListView.Highlighted):
                lv.index = 0 if items else None
            await lv.remove_children(extra)
        for item, row in zip(items, self.analysis.rows):
            item.query_one(Static).update(row_renderable(row))
        if len(items) < len(self.analysis.rows):
            await lv.extend([ListItem(Static(row_renderable(row), classes="mb-row"))
                             for row in self.analysis.rows[len(items):]])
        with lv.prevent(ListView.Highlighted):
            lv.index = self.analysis.row_index(self._cursor)
        self._update_texts()
        await self._sync_form()

    def _show_title(self) -> None:
        """The title on one line, or broken at its dots onto a second where the pane is too
        narrow (it was cut to "spiral: 2" at 120 columns), never inside a part."""
        title = self.query_one("#mb-title", Static)
        title.update(Text(wrap_parts(self._title_parts, title.content_size.width)))

    def _update_texts(self) -> None:
        self._title_parts = self.analysis.title_parts(self.preset)
        self._show_title()
        self.query_one("#mb-totals", Static).update(totals_text(self.analysis.summary))
        status = self.query_one("#mb-status", Static)
        if self._message:
            text, bad = Text("! " + self._message, style="bold yellow"), False
        else:
            text, bad = self.analysis.status(self.preset)
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
        row = self.analysis.rows[self.analysis.row_index(addr)]
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
        if lv.index is None or not (0 <= lv.index < len(self.analysis.rows)):
            return
        addr = self.analysis.rows[lv.index].addr
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
        container.insert(index, default_layer(kind, self.analysis.shape_at(after) if stack else None))
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
