"""Dialogs for switching what the dashboard works on.

:class:`PresetPickerScreen` (``ctrl+o``, or "Open preset" in the command palette): the
built-in presets with their descriptions, and a path to a ``.toml`` file; it returns the
loaded :class:`~tuidl.core.preset.preset.Preset`, as ``tuidl NAME`` would open it. A bad name,
a missing file or a broken preset is shown in the dialog, in red; nothing is replaced.

:class:`FitModelScreen`: after the dataset changed, the model may no longer fit the
data. It lists what :func:`tuidl.core.model.fit.fit_to_data` would change (flatten first,
the last layer's outputs, the loss) and returns True to apply it.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tuidl.core.preset import preset as P
from tuidl.core.model.fit import Fitted
from tuidl.core.preset.schema import ConfigError
from tuidl.ui.screens.confirm import Choice, ConfirmationModal


def builtin_presets() -> list[tuple[str, str]]:
    """(name, description) of every built-in preset; a broken one says so."""
    out = []
    for name in P.builtin_names():
        try:
            description = P.load(name).description
        except Exception as e:  # noqa: BLE001 - a broken built-in is listed, not fatal
            description = f"(invalid: {e})"
        out.append((name, description))
    return out


class PresetPickerScreen(ModalScreen[P.Preset | None]):
    """Pick a built-in preset or type a path to a TOML file; returns the loaded preset,
    or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PresetPickerScreen {
        align: center middle;
    }
    PresetPickerScreen #picker-list {
        height: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    PresetPickerScreen #picker-list:focus {
        border: tall $accent;
    }
    PresetPickerScreen #picker-about {
        height: auto;
        max-height: 3;
        color: $text-muted;
        margin: 0 0 1 0;
    }
    PresetPickerScreen #picker-file {
        height: 1;
    }
    PresetPickerScreen #picker-file > Label {
        width: auto;
        padding: 0 1 0 0;
    }
    PresetPickerScreen #picker-path {
        width: 1fr;
    }
    PresetPickerScreen #picker-path:focus {
        background-tint: $accent 25%;
    }
    PresetPickerScreen #picker-error {
        color: $text-error;
        text-style: bold;
        height: auto;
    }
    """

    def __init__(self, current: str = "") -> None:
        super().__init__()
        self.current = current
        self.error = ""

    def compose(self) -> ComposeResult:
        presets = builtin_presets()
        width = max((len(name) for name, _ in presets), default=8)
        self.descriptions = dict(presets)
        with Vertical(id="picker-box", classes="dialog"):
            yield Label("Open a preset", classes="dialog-title")
            yield Static("↑/↓ choose · Enter opens (as `tuidl NAME`) · Tab: a file · Esc cancels",
                         classes="dialog-hint")
            yield OptionList(*[Option(Text.assemble((f"{name:<{width}}  ", "bold"), (description, "")), id=name)
                               for name, description in presets], id="picker-list")
            yield Static("", id="picker-about")
            with Horizontal(id="picker-file"):
                yield Label("or a file:")
                yield Input(placeholder="path to a preset, e.g. ./my.toml", id="picker-path", compact=True,
                            select_on_focus=False)
            yield Static("", id="picker-error")

    def on_mount(self) -> None:
        options = self.query_one("#picker-list", OptionList)
        try:
            options.highlighted = options.get_option_index(self.current)
        except Exception:  # noqa: BLE001 - not a built-in: the first one
            options.highlighted = 0 if options.option_count else None
        options.focus()

    @on(OptionList.OptionHighlighted, "#picker-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        name = event.option.id or ""
        self.query_one("#picker-about", Static).update(
            Text.assemble((name, "bold"), ": ", self.descriptions.get(name, "")))

    def show_error(self, message: str) -> None:
        self.error = message
        self.query_one("#picker-error", Static).update(Text("✗ " + message) if message else "")

    def open(self, name_or_path: str) -> P.Preset | None:
        """Load a preset; a problem is shown in the dialog (never raised)."""
        name_or_path = name_or_path.strip()
        if not name_or_path:
            self.show_error("type a preset name or a path to a .toml file")
            return None
        try:
            preset = P.load(name_or_path)
        except ConfigError as e:
            self.show_error(str(e))
            return None
        except Exception as e:  # noqa: BLE001 - a folder, no permission, a broken file: say so
            self.show_error(f"cannot open {name_or_path}: {type(e).__name__}: {e}")
            return None
        self.show_error("")
        return preset

    @on(OptionList.OptionSelected, "#picker-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        preset = self.open(event.option.id or "")
        if preset is not None:
            self.dismiss(preset)

    @on(Input.Submitted, "#picker-path")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        preset = self.open(event.value)
        if preset is not None:
            self.dismiss(preset)

    def action_cancel(self) -> None:
        self.dismiss(None)


class FitModelScreen(ConfirmationModal):
    """The model no longer fits the data: fit it (True) or keep it as it is (False)."""

    BINDINGS = [
        Binding("escape,n", "choose(1)", "Keep the model"),
        Binding("y,f", "choose(0)", "Fit the model"),
    ]

    def __init__(self, fitted: Fitted, dataset: str) -> None:
        changes = Text("\n").join(Text.assemble(("• ", "bold"), change) for change in fitted.changes)
        super().__init__(f"The model no longer fits {dataset}",
                         Text.assemble(("Fit it to the data, as TensorFlow Playground does?\n", "bold"), changes),
                         [Choice(Text("Fit the model [y]"), True, "fit-yes", "primary"),
                          Choice(Text("Keep it as it is [n]"), False, "fit-no")],
                         hint=Text(fitted.before), box_id="fit-box")
        self.fitted = fitted
        self.dataset = dataset


__all__ = ["PresetPickerScreen", "FitModelScreen", "builtin_presets"]
