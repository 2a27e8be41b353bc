"""The deck of panes: tabs on narrow terminals, every pane at once on wide ones."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.widgets import TabbedContent, TabPane, Tabs

from tuidl.ui.panes.base import PaneInfo

WIDE_AT = 140  # columns from which the panes sit side by side


class PaneDeck(TabbedContent):
    """The dashboard's panes (:mod:`tuidl.ui.panes.registry`): tabs on narrow terminals, a grid (every pane shown) on wide ones.

    In the grid the tab strip is hidden by the stylesheet and every pane is kept
    displayed, whichever is "active" (the one last focused).

    The pane that holds the focus has the class ``-has-focus`` (its border and
    heading light up). A class, not ``:focus-within``: Textual restyles the whole
    subtree of a ``:focus-within`` pane at every focus move, ~0.25 s for a pane full
    of fields; the class changes only when the focus moves to another pane."""

    def __init__(self, *args: Any, panes: tuple[PaneInfo, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wide = False
        self.infos = panes  # the panes it holds, in key order (tuidl.ui.panes.registry)

    def set_wide(self, wide: bool) -> None:
        self.wide = wide
        self.set_class(wide, "-grid")
        self._show_panes()
        if wide and self.is_mounted:  # every pane shown: none keeps a mark it kept while hidden
            self._mark_focus(self.screen.focused)

    def _show_panes(self) -> None:
        if not self.is_mounted:
            return
        for pane in self._tab_panes():
            if self.wide:
                pane.display = True
            else:
                pane.display = pane.id == self.active

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._mark_focus(event.widget)

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        # after the focus has settled: a move inside a pane blurs one widget, then
        # focuses the next (marking at the blur would restyle the pane twice)
        self.call_after_refresh(lambda: self._mark_focus(self.screen.focused))

    # TabbedContent shows the pane a focus message or the tab bar names, even when the
    # message is stale: the start-up focus on the builder (asked for at the first frame)
    # or the tab bar's start-up announcement of its first tab could land after a pane key
    # pressed as tuidl started, show the builder again and blur the pane the user chose.
    def on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        if self._holder(self.screen.focused) is not event.tab_pane:
            event.prevent_default()  # the focus has moved on since: a stale message

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tabs.parent is self and event.tabs.active != event.tab.id:
            event.prevent_default()  # the bar shows another tab since: a stale announcement

    def _holder(self, focused: object) -> TabPane | None:
        """The deck's pane that holds ``focused`` (None: none does)."""
        panes = self._tab_panes()
        return next((w for w in getattr(focused, "ancestors_with_self", ()) if w in panes), None)

    def _mark_focus(self, focused: object) -> None:
        holder = self._holder(focused)
        for pane in self._tab_panes():
            # As tabs, a hidden pane keeps its mark until it is shown again: a class change
            # restyles the pane's whole subtree (the Model builder's form: a tenth of a
            # second), for a pane no one sees, at each switch; shown, it is marked again.
            if self.wide or pane.id == self.active or pane is holder:
                pane.set_class(pane is holder, "-has-focus")

    def _tab_panes(self) -> list[TabPane]:
        """The deck's own panes (not a TabPane somewhere inside one)."""
        return list(self.query_children("ContentSwitcher").first().query_children(TabPane))

    def watch_active(self, active: str) -> None:
        # Runs after TabbedContent's own watcher (which shows only the active pane).
        if self.wide:
            self._show_panes()
        elif self.is_mounted:  # the pane shown is marked once the focus has settled (a tab clicked:
            # the focus stays on the tab bar, and the mark the pane kept while hidden goes)
            self.call_after_refresh(lambda: self._mark_focus(self.screen.focused))

    def on_resize(self) -> None:
        self.set_wide(self.app.size.width >= WIDE_AT)
        self.fit_tab_labels(self.app.size.width)

    def fit_tab_labels(self, width: int) -> None:
        """Shorter tab labels where the full ones would not fit on one line (80
        columns clipped "Runs [5" and scrolled to "odel builder")."""
        levels = max((len(info.short) for info in self.infos), default=0)
        for level in range(levels + 1):  # longest first: the first set that fits is used
            labels = [f"{info.tab_title(level)} [{n}]" for n, info in enumerate(self.infos, 1)]
            if sum(len(label) + 2 for label in labels) <= width:  # a tab pads its label by 1 each side
                break
        for info, label in zip(self.infos, labels):
            try:
                tab = self.get_tab(info.key)
            except Exception:  # noqa: BLE001 - not composed yet
                return
            if tab.label.plain != label:
                tab.label = label
