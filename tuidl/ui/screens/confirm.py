"""One confirmation dialog for the whole app (like Posting's ``ConfirmationModal``): a
title, a text, an optional hint, and a row of buttons, each a :class:`Choice` whose value
the dialog returns. A dialog of its own (delete a run? fit the model? a run still
trains: stop it?) is a subclass that says what to ask and binds its keys to the choices
(``choose(i)``: the ``i``-th button's value)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


@dataclass(frozen=True)
class Choice:
    """A button of the dialog: its label (with its key, ``"Delete [y]"``), the value the
    dialog returns for it, its id and its variant."""

    label: RenderableType
    value: Any
    id: str
    variant: str = "default"


class ConfirmationModal(ModalScreen[Any]):
    """Ask, and return the value of the choice taken (a button, or a key bound to
    ``choose(i)``)."""

    DEFAULT_CSS = """
    ConfirmationModal {
        align: center middle;
    }
    """

    def __init__(self, title: str, text: RenderableType, choices: list[Choice], *, hint: RenderableType = None,
                 focus: int = 0, box_id: str | None = None) -> None:
        super().__init__()
        self.question = title
        self.body = text
        self.hint = hint
        self.choices = choices
        self.focus_choice = focus
        self.box_id = box_id

    def compose(self) -> ComposeResult:
        with Vertical(id=self.box_id, classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            if self.hint is not None:
                yield Static(self.hint, classes="dialog-hint")
            yield Static(self.body, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                for choice in self.choices:
                    yield Button(choice.label, id=choice.id, variant=choice.variant)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.query_one(f"#{self.choices[self.focus_choice].id}", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(next((c.value for c in self.choices if c.id == event.button.id), None))

    def action_choose(self, index: int) -> None:
        self.dismiss(self.choices[index].value)
