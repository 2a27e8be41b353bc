"""Small form widgets that edit the fields of a :mod:`tuidl.core.preset.schema` dataclass.

:class:`FieldEditor` edits one field: ``bool`` → :class:`~textual.widgets.Switch`,
``choices`` / ``Literal`` → :class:`~textual.widgets.Select`, a list with choices →
:class:`~textual.widgets.SelectionList`, numbers, strings and other lists →
:class:`~textual.widgets.Input`. It reads the help line and the checks (``min``, ``max``,
``gt``, ``lt``, ``choices``) from the field metadata. A bad value shows inline under the
field, in red, and is not applied; a good one posts :class:`FieldEditor.Changed` with the
field's key path (:mod:`tuidl.core.preset.keypath`). Text is read with the value grammar
``--set`` uses too (:mod:`tuidl.core.preset.values`). Text inputs apply on Enter or when focus leaves them; switches
and selects apply at once. Escape drops what was typed but not applied and leaves the
field: focus goes back to the pane's own place (its ``focus_default``), so the app's
keys (``1``-``5``, ``s``, ``q``, ``?``) work again.

:class:`DataclassForm` lays out one editor per field of a dataclass instance.

:func:`apply_edits` is the panes' one way to change the preset: it applies their edits
(:func:`tuidl.core.preset.preset.edit`) and shows each problem under the field of its key path
(:func:`show_problems`), handing back the problems no field shows.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import MISSING
from pathlib import Path
from typing import Any, Iterable, Union

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Select, SelectionList, Static, Switch

from tuidl.core.preset import keypath
from tuidl.core.preset.keypath import join
from tuidl.core.preset.preset import Edit, Preset, edit
from tuidl.core.preset.schema import Problem, checks_of, help_of, violations
from tuidl.core.preset.values import parse_scalar

_SCALARS = (bool, int, float, str)


# ---------------------------------------------------------------------------
# Pure helpers (also used by the panes)


def field_type(cls: type, name: str) -> Any:
    """The resolved annotation of ``cls.name``."""
    return typing.get_type_hints(cls)[name]


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(tp) in (Union, types.UnionType):
        return typing.get_args(tp)
    return None


def kind_of(tp: Any, checks: dict) -> str:
    """How a field of type ``tp`` is edited: ``bool``, ``choice``, ``multi`` (a list with
    choices), ``list`` (a list of scalars), ``int``, ``float``, ``str``, ``union`` or
    ``""`` (not editable here: nested dataclasses, ``Any``, lists of tables)."""
    args = _union_args(tp)
    if args is not None:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return kind_of(rest[0], checks)
        return "union" if all(a in _SCALARS for a in rest) else ""
    origin = typing.get_origin(tp)
    if origin is list:
        (inner,) = typing.get_args(tp) or (Any,)
        if inner not in _SCALARS or inner is bool:
            return ""
        return "multi" if "choices" in checks else "list"
    if origin is typing.Literal:
        return "choice"
    if tp is bool:
        return "bool"
    if "choices" in checks and tp in _SCALARS:
        return "choice"
    if tp is int:
        return "int"
    if tp is float:
        return "float"
    if tp is str:
        return "str"
    return ""


def editable(cls: type, name: str, lists: bool = False) -> bool:
    """Whether :class:`FieldEditor` can edit ``cls.name`` (lists only when ``lists``)."""
    kind = kind_of(field_type(cls, name), checks_of(cls, name))
    if kind in ("multi", "list"):
        return lists
    return bool(kind)


def is_required(cls: type, name: str) -> bool:
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f.default is MISSING and f.default_factory is MISSING  # type: ignore[misc]
    return False


def check_value(value: Any, checks: dict) -> str:
    """The first problem with ``value`` under ``checks``, or "": the schema's own check
    (:func:`tuidl.core.preset.schema.violations`), said without the value (it is in the field)."""
    found = violations(value, checks)
    return found[0].message if found else ""


def format_value(value: Any) -> str:
    """A value as an Input shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def parse_text(text: str, tp: Any, checks: dict, required: bool = False) -> Any:
    """Parse an Input's text for a field of type ``tp``; raise ``ValueError`` with a
    short message saying what is expected."""
    args = _union_args(tp)
    optional = args is not None and type(None) in args
    if not text.strip():
        if optional:
            return None
        if tp is str and not required:
            return ""
        if tp is str:
            raise ValueError("required: enter a value")
    if args is not None:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            value = parse_text(text, rest[0], checks, required)
        else:
            value = MISSING
            for arm in sorted(rest, key=lambda a: {int: 0, float: 1, bool: 2, str: 3}.get(a, 4)):
                try:
                    value = parse_scalar(text, arm)
                    break
                except ValueError:
                    continue
            if value is MISSING:
                from tuidl.core.preset.schema import type_name

                raise ValueError(f"expected {type_name(tp)}")
    elif typing.get_origin(tp) is list:
        (inner,) = typing.get_args(tp) or (str,)
        parts = [p for p in text.replace(";", ",").split(",")]
        if len(parts) == 1 and not parts[0].strip():
            parts = []
        try:
            value = [parse_scalar(p, inner) for p in parts]
        except ValueError as e:
            raise ValueError(f"expected a comma-separated list; {e}") from None
    else:
        value = parse_scalar(text, tp)
    problem = check_value(value, checks)
    if problem:
        raise ValueError(problem)
    return value


def typed_path(text: str, cwd: Path | None = None) -> str:
    """A path the user typed, as the preset keeps it: ``~`` expanded, and a relative one
    made absolute against the directory tuidl was started in (``cwd``), as a shell
    would read it; an empty text stays empty."""
    text = text.strip()
    if not text:
        return ""
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    return os.path.normpath(path)


def complete_path(text: str, cwd: Path | None = None, folders_only: bool = False) -> tuple[str, list[str]]:
    """Complete a typed path as a shell does: ``(text, candidates)``, the text
    completed as far as the names that match agree (a unique folder gets its ``/``) and
    the names that match (folders end in ``/``; hidden ones only when the name typed
    starts with a dot). The text keeps what was typed (``~``, a relative path); it is
    read against ``cwd`` (default: the current directory)."""
    if text.startswith("~") and "/" not in text:
        return (text + "/", []) if text == "~" else (text, [])
    head, slash, stem = text.rpartition("/")
    folder_text = head + slash
    folder = Path(folder_text or ".").expanduser()
    if not folder.is_absolute():
        folder = (cwd or Path.cwd()) / folder
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return text, []
    names = []
    for entry in entries:
        if not entry.name.startswith(stem) or (entry.name.startswith(".") and not stem.startswith(".")):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if folders_only and not is_dir:
            continue
        names.append(entry.name + ("/" if is_dir else ""))
    names.sort()
    if not names:
        return text, []
    if len(names) == 1:
        return folder_text + names[0], names
    return folder_text + os.path.commonprefix(names), names


def _canonical(path: str) -> str:
    try:
        return keypath.normalize(path)
    except keypath.KeyPathError:
        return path


def show_problems(editors: Iterable["FieldEditor"], problems: Iterable[Problem]) -> tuple[set[str], list[Problem]]:
    """Show each problem in red under the editor of its key path (the last one at a path
    wins). Returns the paths shown and, in order, the problems no editor here shows: the
    pane says those its own way (a line of its own, under the field just edited)."""
    problems = list(problems)
    by_path = {_canonical(p.path): p.message for p in problems}
    shown: set[str] = set()
    for editor in editors:
        path = _canonical(editor.path)
        if path in by_path:
            editor.set_error(by_path[path])
            shown.add(editor.path)
    shown_canonical = {_canonical(path) for path in shown}
    return shown, [p for p in problems if _canonical(p.path) not in shown_canonical]


@dataclasses.dataclass
class AppliedEdits:
    """What :func:`apply_edits` did: the edit (its new preset, or its problems), the key
    paths whose editors now show a problem, and the problems no editor shows."""

    edit: Edit
    shown: set[str]
    rest: list[Problem]

    @property
    def preset(self) -> Preset | None:
        return self.edit.preset


def apply_edits(preset: Preset, edits: Iterable[tuple[str, Any]], editors: Iterable["FieldEditor"] = (), *,
                base: dict | None = None) -> AppliedEdits:
    """The one path from a pane's edits to a new preset: apply ``edits`` (key path, value)
    to ``preset`` (:func:`tuidl.core.preset.preset.edit`, on ``base`` when the pane keeps a
    draft); when the result is not valid, show each problem under its field among
    ``editors`` and hand back the others. Raises
    :class:`~tuidl.core.preset.keypath.KeyPathError` for a path that leads nowhere."""
    result = edit(preset, list(edits), base=base)
    if result.preset is not None:
        return AppliedEdits(result, set(), [])
    shown, rest = show_problems(editors, result.problems)
    return AppliedEdits(result, shown, rest)


# ---------------------------------------------------------------------------
# Widgets


class _FieldValidator(Validator):
    """Lets the Input mark itself invalid (the ``-invalid`` class) by the field's rules."""

    def __init__(self, editor: "FieldEditor") -> None:
        super().__init__()
        self.editor = editor

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_text(value, self.editor.type, self.editor.checks, self.editor.required)
        except ValueError as e:
            return self.failure(str(e))
        return self.success()


CANDIDATES_SHOWN = 12  # names a Tab in a path field lists under it


class PathInput(Input):
    """An Input for a file or folder path: Tab completes it as a shell does (a unique
    name fills in; several post :class:`Candidates` and fill in what they share); with
    nothing to complete, Tab moves the focus on as it does elsewhere."""

    BINDINGS = [Binding("tab", "complete", "Complete path", show=False)]

    class Candidates(Message):
        """Several names match what was typed."""

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

    def __init__(self, *args: Any, folders_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.folders_only = folders_only

    def action_complete(self) -> None:
        completed, names = complete_path(self.value, folders_only=self.folders_only)
        if completed != self.value:
            self.value = completed
            self.cursor_position = len(completed)
        elif len(names) <= 1:  # nothing more to complete: Tab leaves the field
            self.screen.focus_next()
            return
        if len(names) > 1:
            self.post_message(self.Candidates(names))


class FieldEditor(Widget):
    """Edits one field of a schema dataclass: a label, a control, and one line under it
    with the help text or, in red, what is wrong with the value typed.

    ``show_help``: ``True`` (under the field), ``False`` (never) or ``"focus"`` (the
    :class:`DataclassForm` shows the focused field's help in one line at its end).
    Errors always show under the field."""

    DEFAULT_CSS = """
    FieldEditor {
        height: auto;
        width: 1fr;
        layout: vertical;
    }
    FieldEditor > .fe-row {
        height: auto;
        width: 1fr;
    }
    FieldEditor .fe-label {
        width: 18;
        height: 1;
        padding: 0 1 0 0;
        text-overflow: ellipsis;
        text-wrap: nowrap;
    }
    FieldEditor.-narrow .fe-label {
        width: auto;
    }
    FieldEditor Input.fe-control {
        width: 1fr;
        min-width: 6;
    }
    /* Focus shows: the label of the field being edited is highlighted, and a compact
       input gets a tinted background (Textual's own compact style barely changes). */
    FieldEditor.-has-focus > .fe-row > .fe-label {
        color: $accent;
        text-style: bold;
    }
    FieldEditor Input.fe-control:focus {
        background-tint: $accent 25%;
    }
    FieldEditor Select.fe-control:focus > SelectCurrent {
        background-tint: $accent 25%;
    }
    FieldEditor Select.fe-control {
        width: 1fr;
        min-width: 10;
    }
    FieldEditor Switch.fe-control {
        border: none;
        height: 1;
        width: auto;
        padding: 0 1;
        background: transparent;
    }
    FieldEditor Switch.fe-control:focus {
        background: $accent;
    }
    FieldEditor .fe-state {
        width: auto;
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    FieldEditor SelectionList.fe-control {
        width: 1fr;
        height: auto;
        max-height: 8;
    }
    /* An unchecked box is empty (its "X" drawn in the box's own colour); a checked one
       shows a bold green X. Textual's default draws both with an X. */
    FieldEditor SelectionList.fe-control > .selection-list--button,
    FieldEditor SelectionList.fe-control > .selection-list--button-highlighted {
        color: $panel;
        background: $panel;
    }
    FieldEditor SelectionList.fe-control > .selection-list--button-selected,
    FieldEditor SelectionList.fe-control > .selection-list--button-selected-highlighted {
        color: $text-success;
        background: $panel;
        text-style: bold;
    }
    FieldEditor .fe-msg {
        height: auto;
        padding: 0 0 0 18;
        color: $text-muted;
    }
    FieldEditor.-narrow .fe-msg {
        padding: 0;
    }
    FieldEditor .fe-msg.-error {
        color: $text-error;
        text-style: bold;
    }
    FieldEditor .fe-msg.-hidden {
        display: none;
    }
    FieldEditor:disabled .fe-label {
        color: $text-disabled;
    }
    """

    BINDINGS = [Binding("escape", "leave", "Leave field", tooltip="Drop what was typed and leave the field")]

    class Changed(Message):
        """A field got a new, valid value."""

        def __init__(self, editor: "FieldEditor", path: str, value: Any) -> None:
            super().__init__()
            self.editor = editor
            self.path = path
            self.value = value

        @property
        def control(self) -> "FieldEditor":
            return self.editor

    def __init__(
        self,
        cls: type,
        name: str,
        value: Any,
        path: str | None = None,
        *,
        label: str | None = None,
        show_help: bool | str = True,
        narrow: bool = False,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(id=id, classes=classes, disabled=disabled)
        self.cls = cls
        self.field_name = name
        self.path = path if path is not None else name
        self.type = field_type(cls, name)
        self.checks = checks_of(cls, name)
        self.help = help_of(cls, name)
        self.required = is_required(cls, name)
        self.kind = kind_of(self.type, self.checks)
        if not self.kind:
            raise TypeError(f"{cls.__name__}.{name} cannot be edited by a FieldEditor")
        self.label = label if label is not None else name.replace("_", " ")
        self.show_help = show_help
        self.value = value
        self.error = ""
        self._ctl: Widget | None = None
        self._msg: Static | None = None
        self._state: Label | None = None
        if narrow:
            self.add_class("-narrow")

    # -- composition -------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(classes="fe-row"):
            yield Label(Text(self.label), classes="fe-label")
            yield from self._control()
        self._msg = Static(Text(self.help), classes="fe-msg" + ("" if self._help_visible() else " -hidden"))
        yield self._msg
        if self.error:
            self.set_error(self.error)

    def _control(self) -> Iterable[Widget]:
        tooltip = Text(self.help) if self.help else None
        if self.kind == "bool":
            switch = Switch(bool(self.value), classes="fe-control")
            switch.tooltip = tooltip
            self._ctl = switch
            self._state = Label(self._state_text(bool(self.value)), classes="fe-state")
            yield switch
            yield self._state
        elif self.kind == "choice":
            choices = self._choices()
            select: Select[Any] = Select(
                [(str(c), c) for c in choices],
                value=self.value if self.value in choices else choices[0],
                allow_blank=False,
                compact=True,
                classes="fe-control",
            )
            select.tooltip = tooltip
            self._ctl = select
            yield select
        elif self.kind == "multi":
            chosen = list(self.value or [])
            selection: SelectionList[Any] = SelectionList(
                *[(str(c), c, c in chosen) for c in self.checks["choices"]],
                compact=True,
                classes="fe-control",
            )
            selection.tooltip = tooltip
            self._ctl = selection
            yield selection
        else:
            placeholder = "(required)" if self.required else ""
            # "-valid" up front: Input's first validation then changes no class (a restyle
            # per field at start-up otherwise); a value that fails still turns "-invalid"
            kind = PathInput if self.checks.get("path") else Input
            extra = {"folders_only": self.checks["path"] == "folder"} if kind is PathInput else {}
            text_input = kind(format_value(self.value), placeholder=placeholder, compact=True,
                              classes="fe-control -valid", select_on_focus=True,
                              validators=[_FieldValidator(self)], validate_on=["changed", "submitted"], **extra)
            text_input.tooltip = tooltip
            self._ctl = text_input
            yield text_input

    def _choices(self) -> list[Any]:
        if typing.get_origin(self.type) is typing.Literal:
            return list(typing.get_args(self.type))
        return list(self.checks["choices"])

    @staticmethod
    def _state_text(on: bool) -> str:
        return "on" if on else "off"

    @property
    def control(self) -> Widget:
        """The focusable widget that edits the value."""
        if self._ctl is None:
            raise LookupError("the editor has not been composed yet")
        return self._ctl

    # -- reading -----------------------------------------------------------

    def parsed(self) -> tuple[bool, Any]:
        """``(True, value)`` for what the control holds now, or ``(False, message)``."""
        control = self._ctl
        if control is None:
            return True, self.value
        if isinstance(control, Switch):
            return True, control.value
        if isinstance(control, Select):
            return True, control.value
        if isinstance(control, SelectionList):
            return True, self._ordered(control.selected)
        assert isinstance(control, Input)
        try:
            value = parse_text(control.value, self.type, self.checks, self.required)
        except ValueError as e:
            return False, str(e)
        if self.checks.get("path") and isinstance(value, str) and control.value != format_value(self.value):
            # typed here: relative to where tuidl was started, not to the preset's folder
            value = typed_path(value)
        return True, value

    def _ordered(self, selected: list[Any]) -> list[Any]:
        before = [v for v in (self.value or []) if v in selected]
        return before + [v for v in self.checks["choices"] if v in selected and v not in before]

    # -- showing -----------------------------------------------------------

    # ``-has-focus`` rather than ``:focus-within`` (see PaneDeck): the label lights up
    # and only this field is restyled
    def on_descendant_focus(self, _event: Any) -> None:
        self.add_class("-has-focus")

    def on_descendant_blur(self, _event: Any) -> None:
        self.remove_class("-has-focus")

    def set_error(self, message: str) -> None:
        """Show ``message`` in red under the field (an empty message restores the help)."""
        self.error = message
        self.set_class(bool(message), "-invalid")
        msg = self._msg
        if msg is None:
            return
        if message:
            msg.update(Text("✗ " + message))
            msg.set_class(True, "-error")
            msg.set_class(False, "-hidden")
        else:
            msg.update(Text(self.help))
            msg.set_class(False, "-error")
            msg.set_class(not self._help_visible(), "-hidden")

    def show_note(self, text: str) -> None:
        """Show ``text`` (not an error) in the line under the field until the value
        changes."""
        msg = self._msg
        if msg is None:
            return
        msg.update(Text(text))
        msg.set_class(False, "-error")
        msg.set_class(False, "-hidden")

    def on_path_input_candidates(self, event: "PathInput.Candidates") -> None:
        event.stop()
        shown = event.names[:CANDIDATES_SHOWN]
        more = len(event.names) - len(shown)
        self.show_note("Tab: " + "  ".join(shown) + (f"  … (+{more})" if more else ""))

    def _help_visible(self) -> bool:
        # "focus": the form shows the focused field's help in one shared line instead,
        # so nothing moves under the mouse when focus changes.
        return bool(self.help) and self.show_help is True

    def set_value(self, value: Any) -> None:
        """Show ``value`` without posting :class:`Changed`; clears any error."""
        self.value = value
        control = self._ctl
        if control is not None:
            if isinstance(control, Switch):
                with control.prevent(Switch.Changed):
                    control.value = bool(value)
                if self._state is not None:
                    self._state.update(self._state_text(bool(value)))
            elif isinstance(control, Select):
                with control.prevent(Select.Changed):
                    if value in self._choices():
                        control.value = value
            elif isinstance(control, SelectionList):
                chosen = list(value or [])
                with control.prevent(SelectionList.SelectedChanged, SelectionList.SelectionToggled):
                    for choice in self.checks["choices"]:
                        if choice in chosen:
                            control.select(choice)
                        else:
                            control.deselect(choice)
            elif isinstance(control, Input):
                text = format_value(value)
                if control.value != text:
                    with control.prevent(Input.Changed):
                        control.value = text
        self.set_error("")

    def focus_control(self) -> None:
        self.control.focus()

    def action_leave(self) -> None:
        """Escape: drop what was typed but not applied, and leave the field for the
        pane's own place (the nearest ancestor's ``focus_default``), so the app's keys
        work again; with none, nothing keeps the focus."""
        self.set_value(self.value)
        node = self.parent
        while node is not None and not callable(getattr(node, "focus_default", None)):
            node = node.parent
        if node is not None:
            node.focus_default()
        else:
            self.screen.set_focus(None)

    # -- events ------------------------------------------------------------

    def _apply(self) -> None:
        ok, value = self.parsed()
        if not ok:
            self.set_error(value)
            return
        self.set_error("")
        if value == self.value and type(value) is type(self.value):
            return
        self.value = value
        self.post_message(self.Changed(self, self.path, value))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        ok, value = self.parsed()
        self.set_error("" if ok else value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply()

    def on_input_blurred(self, event: Input.Blurred) -> None:
        event.stop()
        if self.is_attached:
            self._apply()

    def on_switch_changed(self, event: Switch.Changed) -> None:
        event.stop()
        if self._state is not None:
            self._state.update(self._state_text(event.value))
        self._apply()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._apply()

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        self._apply()


class DataclassForm(Widget):
    """One :class:`FieldEditor` per field of a dataclass instance, with paths
    ``prefix.field``. Nested dataclasses, ``Any`` fields and lists are skipped unless
    named in ``fields`` (lists of plain values are shown when ``lists`` is true)."""

    DEFAULT_CSS = """
    DataclassForm {
        height: auto;
        layout: vertical;
    }
    DataclassForm > .df-empty {
        color: $text-muted;
        height: auto;
    }
    DataclassForm > .df-help {
        color: $text-muted;
        height: auto;
        min-height: 1;
    }
    """

    def __init__(
        self,
        obj: Any,
        prefix: str = "",
        *,
        fields: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        lists: bool = False,
        empty: str = "No parameters to set.",
        show_help: bool | str = True,
        narrow: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
            raise TypeError("DataclassForm needs a dataclass instance")
        self.obj = obj
        self.cls = type(obj)
        self._prefix = prefix
        self.only = list(fields) if fields is not None else None
        self.exclude = set(exclude)
        self.lists = lists
        self.empty = empty
        self.show_help = show_help
        self.narrow = narrow

    def field_names(self) -> list[str]:
        names = []
        for f in dataclasses.fields(self.cls):
            if not f.init or f.name in self.exclude:
                continue
            if self.only is not None:
                if f.name in self.only and kind_of(field_type(self.cls, f.name), checks_of(self.cls, f.name)):
                    names.append(f.name)
            elif editable(self.cls, f.name, self.lists):
                names.append(f.name)
        return names

    def compose(self) -> ComposeResult:
        names = self.field_names()
        if not names:
            yield Static(Text(self.empty), classes="df-empty")
        for name in names:
            yield FieldEditor(self.cls, name, getattr(self.obj, name), join(self._prefix, name),
                              show_help=self.show_help, narrow=self.narrow)
        if names and self.show_help == "focus":
            yield Static(self.HELP_HINT, classes="df-help")

    HELP_HINT = "Tab / Shift+Tab: next / previous field · Enter: apply"

    def on_descendant_focus(self, event: Any) -> None:
        if self.show_help != "focus":
            return
        node = getattr(event, "widget", None)
        while node is not None and node is not self and not isinstance(node, FieldEditor):
            node = node.parent
        helps = self.query_children(".df-help")
        if isinstance(node, FieldEditor) and helps:
            helps.first(Static).update(Text.assemble((node.label, "bold"), ": ", node.help or ""))

    def on_descendant_blur(self, event: Any) -> None:
        if self.show_help == "focus":
            helps = self.query_children(".df-help")
            if helps:
                helps.first(Static).update(self.HELP_HINT)

    @property
    def editors(self) -> list[FieldEditor]:
        return list(self.query_children(FieldEditor))

    @property
    def prefix(self) -> str:
        return self._prefix

    @prefix.setter
    def prefix(self, prefix: str) -> None:
        self._prefix = prefix
        for editor in self.editors:
            editor.path = join(prefix, editor.field_name)

    def editor(self, path: str) -> FieldEditor | None:
        for editor in self.editors:
            if editor.path == path:
                return editor
        return None

    def set_values(self, obj: Any) -> None:
        """Show the values of ``obj`` (same dataclass) without re-mounting; clears errors."""
        if type(obj) is not self.cls:
            raise TypeError(f"expected a {self.cls.__name__}, got {type(obj).__name__}")
        self.obj = obj
        for editor in self.editors:
            editor.set_value(getattr(obj, editor.field_name))

    def values(self) -> dict[str, Any]:
        """The valid values the editors hold now, by field name (bad ones left out)."""
        out = {}
        for editor in self.editors:
            ok, value = editor.parsed()
            if ok:
                out[editor.field_name] = value
        return out

    def show_errors(self, errors: dict[str, str]) -> list[str]:
        """Show ``{path: message}`` on the matching editors; return the paths shown."""
        shown, _ = show_problems(self.editors, [Problem(path, message) for path, message in errors.items()])
        return [editor.path for editor in self.editors if editor.path in shown]

    def clear_errors(self) -> None:
        for editor in self.editors:
            editor.set_error("")
