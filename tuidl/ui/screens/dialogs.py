"""The app's own small dialogs: where to save the preset (ctrl+s), and what to do with a
training run on quit."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


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


class QuitScreen(ModalScreen[str | None]):
    """A run is training: stop it, leave it running, or stay. Returns "stop", "leave"
    or None."""

    DEFAULT_CSS = """
    QuitScreen {
        align: center middle;
    }
    """

    BINDINGS = [
        Binding("escape", "choose('')", "Cancel"),
        Binding("s", "choose('stop')", "Stop the run"),
        Binding("l", "choose('leave')", "Leave it running"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-box", classes="dialog"):
            yield Label("A run is still training", classes="dialog-title")
            yield Static(Text.assemble(
                ("Run ", ""), (self.run_id, "bold"), (" keeps training after the dashboard closes, unless you "
                                                      "stop it. Reattach later with ", ""),
                (f"tuidl attach {self.run_id}", "bold"), (".", "")), classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text("Stop run & quit [s]"), id="quit-stop", variant="error")
                yield Button(Text("Leave it running [l]"), id="quit-leave", variant="primary")
                yield Button("Cancel", id="quit-cancel")

    def on_mount(self) -> None:
        self.query_one("#quit-leave", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss({"quit-stop": "stop", "quit-leave": "leave"}.get(event.button.id or ""))

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice or None)
