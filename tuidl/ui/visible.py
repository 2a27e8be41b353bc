"""Is a widget on screen, is the app closing? Panes that are hidden (another tab, a modal on top) keep
their data up to date but skip drawing it: every text update of a hidden widget would
otherwise make Textual lay out the whole screen again. They draw when shown."""

from __future__ import annotations

from textual.widget import Widget


def shown(widget: Widget) -> bool:
    """True when ``widget`` is mounted, laid out on the screen, and that screen is the
    active one."""
    try:
        return widget.is_mounted and widget.is_on_screen and widget.screen is widget.app.screen
    except Exception:  # noqa: BLE001 - not attached to an app (yet, or any more)
        return False


def closing(widget: Widget) -> bool:
    """True once the app is shutting down: a pane mounted late (see
    ``TuidlApp._mount_pane``) may get its mount event while the app takes the screen
    down, its children already gone; it has nothing to set up then."""
    try:
        return not widget.app.is_running
    except Exception:  # noqa: BLE001 - no app any more
        return True
