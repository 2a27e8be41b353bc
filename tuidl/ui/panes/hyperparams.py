"""The Training pane's hyperparameters: the first fields (epochs, learning rate, batch
size…) and the folded sections, each field a :class:`~tuidl.ui.widgets.form.FieldEditor`.
An edit that makes a valid preset is handed to the pane (``on_edit``) and posted as
:class:`~tuidl.ui.messages.PresetEdited` (origin ``"training"``); one that does not is
kept in a draft for the next edit to complete, and its problem shown on the field."""

from __future__ import annotations

from typing import Any, Callable

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Collapsible, Static

from tuidl.core.preset import keypath
from tuidl.core.preset.keypath import KeyPathError
from tuidl.core.preset.preset import Preset, to_data
from tuidl.core.preset.schema import ConfigError
from tuidl.ui.messages import PresetEdited
from tuidl.ui.resolved import resolved
from tuidl.ui.widgets.form import DataclassForm, FieldEditor, apply_edits

# Hyperparameter sections: (title, open at first, [(attribute path in the preset,
# key prefix, fields or None for all, fields left out)]). Folded sections keep the
# pane light: their editors are not laid out until opened.
# The first, open section: single fields with labels of their own.
# The most used first, in the order Tab reaches them (g jumps to the first).
BASICS: list[tuple[str, str, str]] = [  # (path, field, label)
    ("train", "epochs", "epochs"),
    ("train.optimizer", "lr", "learning rate"),
    ("data", "batch_size", "batch size"),
    ("train.optimizer", "name", "optimizer"),
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


def _get(obj: Any, path: str) -> Any:
    """The preset's value at a key path (``train.optimizer.lr``)."""
    return keypath.get(obj, path)


class Hyperparameters(Vertical):
    """The hyperparameter form of the Training pane (its left column)."""

    def __init__(self, preset: Preset, *, on_edit: Callable[[Preset], None], id: str | None = None) -> None:
        super().__init__(id=id)
        self.preset = preset
        self.on_edit = on_edit  # a valid edit: the pane shows it (before PresetEdited is posted)
        self._draft: dict[str, Any] = to_data(preset)
        self._cross_errors: set[str] = set()
        self.field_help = Static(Text("g: first field · Tab: next one. The focused field's help shows here.",
                                      style="dim"), id="field-help")
        self.problem_line = Static("", id="train-settings-problem")

    def compose(self) -> ComposeResult:
        yield Static("Hyperparameters", classes="pane-heading")
        yield self.problem_line
        with VerticalScroll(id="train-form"):
            with Collapsible(title="Basics", collapsed=False, classes="form-section"):
                for attr, name, label in BASICS:
                    obj = _get(self.preset, attr)
                    yield FieldEditor(type(obj), name, getattr(obj, name), keypath.join(attr, name),
                                      label=label, show_help=False, classes="basic-field")
            for i, (title, _forms) in enumerate(SECTIONS):
                # Folded sections get their editors when first opened.
                with Collapsible(title=title, collapsed=True, classes="form-section", id=f"section-{i}"):
                    yield Static(Text("…", style="dim"), classes="section-placeholder")
        yield self.field_help

    def load_preset(self, preset: Preset) -> None:
        """Show another pane's edit (or a loaded preset) in the fields."""
        self.preset = preset
        self._draft = to_data(preset)
        if not self.is_mounted:
            return
        for editor in self.query(FieldEditor):
            try:
                editor.set_value(_get(preset, editor.path))
            except KeyPathError:
                continue

    def check_startable(self) -> None:
        """Show what would stop the preset from starting (model/data mismatches)."""
        note = self.problem_line
        try:
            resolved(self.preset)
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
        try:  # the draft keeps values that are valid alone, for the next edit to complete
            applied = apply_edits(self.preset, [(message.path, message.value)], self.query(FieldEditor),
                                  base=self._draft)
        except KeyPathError as e:
            message.editor.set_error(f"cannot set {message.path}: {e}")
            return
        self._draft = applied.edit.data
        new = applied.preset
        if new is None:
            shown = set(applied.shown)
            if applied.rest:
                message.editor.set_error("; ".join(p.brief for p in applied.rest))
                shown.add(message.editor.path)
            self._cross_errors = shown
            return
        # Errors that came from this check (not from text that does not parse) go.
        for editor in self.query(FieldEditor):
            if editor.path in self._cross_errors or editor is message.editor:
                editor.set_error("")
        self._cross_errors = set()
        self.preset = new
        self.on_edit(new)
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

    def first_field(self) -> FieldEditor | None:
        return next(iter(self.query(".basic-field").results(FieldEditor)), None)
