"""The keys a newcomer needs first, always on the bottom line.

Textual's :class:`~textual.widgets.Footer` lists the focused widget's keys first and the
app's last, so on an 80- or 120-column terminal the app's Start, Help and Quit fall off
its right end. :class:`EssentialKeys` sits left of the footer on the same line and
always shows them (and Pause / Stop while a run trains), whatever has focus.

A key that the focused widget would take as typing (a letter in a text field) is shown
dimmed, and the footer then shows ``esc`` to leave the field. Each key can be clicked.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

#: (key, how the key is shown, action, label, shown in these run states (None: always))
ESSENTIAL: tuple[tuple[str, str, str, str, tuple[str, ...] | None], ...] = (
    ("s", "s", "start", "Start", None),
    ("p", "p", "pause", "Pause", ("live", "paused")),
    ("x", "x", "stop", "Stop", ("live", "paused")),
    ("question_mark", "?", "help", "Help", None),
    ("q", "q", "quit", "Quit", None),
)


class KeyHint(Static):
    """One key and what it does; a click runs the app's action."""

    DEFAULT_CSS = """
    KeyHint {
        width: auto;
        height: 1;
        padding: 0 1 0 0;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    KeyHint:hover {
        background: $block-hover-background;
    }
    KeyHint.-off {
        color: $text-disabled;
    }
    """

    def __init__(self, key: str, display: str, action: str, label: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key
        self.display_key = display
        self.action = action
        self.label = label
        self.off = False
        self._paint()

    def set_label(self, label: str) -> None:
        if label != self.label:
            self.label = label
            self._paint()

    def set_off(self, off: bool) -> None:
        """Dimmed: the key would not reach the app now (a field takes it, or the action
        is not available)."""
        if off != self.off:
            self.off = off
            self.set_class(off, "-off")
            self._paint()

    def _paint(self) -> None:
        text = Text()
        text.append(f" {self.display_key} ", style="dim bold" if self.off else "bold reverse")
        text.append(f" {self.label}")
        self.update(text)

    async def on_click(self) -> None:
        await self.app.run_action(self.action)


class EssentialKeys(Horizontal):
    """Start, Help and Quit (and Pause / Stop while a run trains), left of the footer."""

    DEFAULT_CSS = """
    EssentialKeys {
        width: auto;
        height: 1;
        background: $footer-background;
        border-right: vkey $foreground 20%;
        padding: 0 0 0 1;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_state = "idle"
        self.hints = {action: KeyHint(key, display, action, label, id=f"key-{action}", classes="essential")
                      for key, display, action, label, _states in ESSENTIAL}

    def compose(self) -> ComposeResult:
        yield from self.hints.values()

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._show()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def set_run_state(self, state: str) -> None:
        """idle, launching, live, paused, ended or replay (as the Training pane)."""
        self.run_state = state
        self._show()

    def _bindings_changed(self, _screen: Any) -> None:
        self._show()

    def _show(self) -> None:
        if not self.is_mounted:
            return
        try:
            active = self.screen.active_bindings  # what a key does now, with focus taken into account
        except Exception:  # noqa: BLE001 - never let the hint line take the app down
            active = {}
        state = self.run_state
        for key, _display, action, _label, states in ESSENTIAL:
            hint = self.hints[action]
            hint.display = states is None or state in states
            if action == "pause":
                hint.set_label("Resume" if state == "paused" else "Pause")
            training = state in ("launching", "live", "paused")
            binding = active.get(key)
            reaches_app = binding is not None and binding.binding.action == action and binding.enabled
            hint.set_off(not reaches_app or (action == "start" and training))


__all__ = ["EssentialKeys", "KeyHint", "ESSENTIAL"]
