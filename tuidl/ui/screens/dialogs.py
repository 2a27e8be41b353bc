"""The app's own small dialogs: where to save the preset (ctrl+s), and what to do with a
training run on quit (a :class:`~tuidl.ui.screens.confirm.ConfirmationModal`)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tuidl.ui.screens.confirm import Choice, ConfirmationModal


class SavePresetScreen(ModalScreen[str | None]):
    """Asks where to save the preset; returns the path typed, or None."""

    DEFAULT_CSS = """
    SavePresetScreen {
        align: center middle;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default: str) -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="save-box", classes="dialog"):
            yield Label("Save the preset as TOML", classes="dialog-title")
            yield Input(self.default, id="save-path", select_on_focus=False)
            yield Static("Enter saves, escape cancels. The file is overwritten if it exists.",
                         classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="save-ok", variant="primary")
                yield Button("Cancel", id="save-cancel")

    def on_mount(self) -> None:
        self.query_one("#save-path", Input).focus()

    @on(Input.Submitted, "#save-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    @on(Button.Pressed, "#save-ok")
    def _ok(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self.query_one("#save-path", Input).value.strip() or None)

    @on(Button.Pressed, "#save-cancel")
    def _cancel_button(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class QuitScreen(ConfirmationModal):
    """A run is training: stop it, leave it running, or stay. Returns "stop", "leave"
    or None."""

    BINDINGS = [
        Binding("escape", "choose(2)", "Cancel"),
        Binding("s", "choose(0)", "Stop the run"),
        Binding("l", "choose(1)", "Leave it running"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__("A run is still training", Text.assemble(
            ("Run ", ""), (run_id, "bold"), (" keeps training after the dashboard closes, unless you "
                                             "stop it. Reattach later with ", ""),
            (f"tuidl attach {run_id}", "bold"), (".", "")),
            [Choice(Text("Stop run & quit [s]"), "stop", "quit-stop", "error"),
             Choice(Text("Leave it running [l]"), "leave", "quit-leave", "primary"),
             Choice("Cancel", None, "quit-cancel")], focus=1, box_id="quit-box")
        self.run_id = run_id
