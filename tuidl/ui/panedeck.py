"""The dashboard's pane deck, kept: which panes there are (built from
:mod:`tuidl.ui.panes.registry`), mounting the ones kept back at start-up, showing one
(a pane key, a run opened) and handing the current preset to the panes that show it;
and, when a dialog closes, where the focus goes back to.

The deck's widget (tabs or grid) is :class:`tuidl.ui.widgets.deck.PaneDeck`; this is
what the app does with it.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, TabPane, TextArea

from tuidl.core.preset.preset import Preset
from tuidl.ui.panes.base import EventsPane, Focusable, PresetPane
from tuidl.ui.panes.registry import INFOS, PANES, PRESET_PANES
from tuidl.ui.widgets.deck import PaneDeck

if TYPE_CHECKING:
    from textual.app import App, ComposeResult


#: A pane asked for (its key) while it was still kept back is mounted at once; the others
#: kept back wait this long after it, so that it draws first: mounted one a frame meanwhile,
#: they (charts, forms: ~0.4 s of CPU each) put the Runs pane's first screen 4 s after
#: its key on this 2-core machine, against 0.1 s once they were all there.
HOLD_AFTER_KEY_S = 1.5


async def until_mounted(widget: Any, mounting: Any = None) -> None:
    """Wait for ``mounting`` (an AwaitMount, if any), then until ``widget`` is mounted."""
    if mounting is not None:
        await mounting
    while not widget.is_mounted:
        await asyncio.sleep(0.01)


class DeckKeeper:
    """The panes of one dashboard (``panes``, by key) and what is done with them."""

    def __init__(self, app: Any) -> None:
        self.app = app
        # Kept by key: events arrive many times a second and a DOM query for each batch
        # would cost more than the batch.
        self.panes: dict[str, Widget] = {cls.PANE.key: cls.create(app) for cls in PANES}
        self.deferred: list[str] = []
        self.composed_with: Preset | None = None
        self.shown = False  # a pane was shown (a pane key, a run followed): the start-up focus is moot
        self._heap_frozen = False  # gc.freeze(): see mount_deferred
        self._hold_until = 0.0  # the panes kept back wait until then (HOLD_AFTER_KEY_S)
        # a dialog or screen open: where the focus was before it ({screen: (under, widget, pane)})
        self.focus_before: dict[Screen, tuple[Screen, Widget | None, str | None]] = {}

    # -- composing and mounting ---------------------------------------------------------
    def compose(self, initial: str, defer: bool) -> ComposeResult:
        """The deck with its panes; with ``defer``, only the ``initial`` one: the others
        are mounted one a frame after the first (composing all five first made the
        dashboard appear ~0.6 s later)."""
        self.deferred = [i.key for i in INFOS if i.key != initial] if defer else []
        self.composed_with = self.app.preset
        with PaneDeck(id="panes", initial=initial, panes=INFOS):
            for n, info in enumerate(INFOS, 1):
                with TabPane(f"{info.title} [{n}]", id=info.key):
                    if info.key not in self.deferred:
                        yield self.panes[info.key]

    def titles(self) -> None:
        for n, info in enumerate(INFOS, 1):
            self.app.query_one(f"#{info.key}", TabPane).border_title = f"{info.title} [{n}]"

    def mount(self, key: str) -> Any:
        """Mount a pane kept back at start-up (now, if it still is)."""
        app = self.app
        if key in self.deferred and app.is_running:
            self.deferred.remove(key)
            widget = self.panes[key]
            done = app.query_one(f"#{key}", TabPane).mount(widget)

            async def catch_up() -> None:  # it shows the preset as it is now (edited meanwhile?)
                await until_mounted(widget, done)
                if app.preset is not self.composed_with and key in PRESET_PANES:
                    widget.load_preset(app.preset)  # type: ignore[attr-defined]

            app.call_later(catch_up)
            return done
        return None

    def mounted(self) -> bool:
        """Every pane is mounted (none is kept back any more)."""
        return not self.deferred and all(w.is_mounted for w in self.panes.values())

    def mount_deferred(self) -> None:
        # What start-up made (the modules, the panes' widgets: some 200,000 objects) lives as
        # long as the dashboard: out of the garbage collector's way, from the first frame on
        # and again after each pane kept back is mounted. Each full pass walked all of it (a
        # fifth of a second here): mounting the panes kept back set off several, as did
        # reading a run's history (tens of thousands of events). Given back at unmount.
        self._heap_frozen = True
        gc.freeze()
        if self.deferred:
            wait = self._hold_until - time.monotonic()
            if wait > 0:  # a pane asked for draws first
                self.app.set_timer(wait, self.mount_deferred)
                return
            self.mount(self.deferred[0])
            self.app.call_after_refresh(self.mount_deferred)

    def unfreeze(self) -> None:
        if self._heap_frozen:  # its widgets may be collected again (tests run many apps in one process)
            self._heap_frozen = False
            gc.unfreeze()

    def when_mounted(self, key: str, callback: Callable[..., Any], *args: Any) -> bool:
        """If the pane is kept back at start-up (or still mounting), mount it and run
        ``callback(*args)`` once it is: True. False when it is there already."""
        done = self.mount(key)
        widget = self.panes[key]
        if done is None and widget.is_mounted:
            return False

        async def when_mounted() -> None:
            await until_mounted(widget, done)
            callback(*args)

        self.app.call_later(when_mounted)
        return True

    # -- showing ------------------------------------------------------------------------
    def initial_focus(self) -> None:
        if not self.shown:  # a pane key typed before the first frame keeps its pane
            self.show(self.app.query_one(PaneDeck).active or "builder")

    def show(self, key: str) -> None:
        """The pane ``key`` shown, with the focus in it (its own place, else its first
        widget that is not a text field)."""
        self.shown = True
        if key in self.deferred:
            self._hold_until = time.monotonic() + HOLD_AFTER_KEY_S
        if self.when_mounted(key, self.show, key):
            return
        deck = self.app.query_one(PaneDeck)
        deck.active = key
        widget = self.panes.get(key)
        if isinstance(widget, Focusable):
            widget.focus_default()
            return
        # Not a text field: a letter typed right after the jump should reach the app.
        target = self.app.query_one(f"#{key}", TabPane)
        focusable = [w for w in target.query("*") if w.focusable and not isinstance(w, Input)]
        if focusable:
            focusable[0].focus()
        elif not deck.wide:
            deck.query_one("ContentTabs").focus()  # the tab strip (by its type's name: it is not exported)

    # -- the preset, the run's events ---------------------------------------------------
    def preset_panes(self) -> Iterator[tuple[str, PresetPane]]:
        """The mounted panes that show the preset (one kept back gets it when mounted)."""
        for key in PRESET_PANES:
            widget = self.panes[key]
            if widget.is_mounted:
                yield key, widget  # type: ignore[misc]

    def event_panes(self) -> Iterator[EventsPane]:
        for info in INFOS:
            if info.takes_events:
                yield self.panes[info.key]  # type: ignore[misc]

    # -- dialogs: where the focus goes when one closes ------------------------------------
    def note_focus(self, screen: Screen) -> None:
        """A dialog or screen opens: note where the focus was (and on which pane)."""
        under = self.app.screen
        self.focus_before[screen] = (under, under.focused, self.pane_of(under.focused))

    def closed(self, popped: Screen) -> None:
        before = self.focus_before.pop(popped, None)
        if before is not None:
            # after the dialog's answer was acted on (its callback runs first: it may edit
            # the preset, switch panes or open the next dialog)
            self.app.call_after_refresh(self.return_focus, *before)

    def pane_of(self, widget: Widget | None) -> str | None:
        """The pane (``builder``…) ``widget`` is in, if any."""
        node = widget
        while node is not None:
            if isinstance(node, TabPane) and node.id in self.panes:
                return node.id
            node = node.parent
        return None

    def return_focus(self, screen: Screen, widget: Widget | None, pane: str | None) -> None:
        """A dialog closed: the focus goes back where the user was, never into a text field.

        Textual gives the focus back to the widget that had it, but a dialog's answer can
        remove that widget (a form rebuilt for another dataset: Textual then focuses a
        neighbour, often another text field) and a field the user had finished with (the
        Enter that applied a data path, then the "fit the model?" question) would take the
        next keys (``3``, ``s``) as text. So: the widget that had the focus if it is still
        there and not a text field; else the pane's own place (its ``focus_default``, as
        Escape in a field does). Left alone when the answer put the focus elsewhere on
        purpose (another pane shown), or while another dialog is open."""
        app: App = self.app
        if not app.is_running or app.screen is not screen:
            return
        focused = screen.focused

        def typing(w: Widget | None) -> bool:
            return isinstance(w, (Input, TextArea))

        if focused is not None and focused is not widget and not typing(focused):
            return  # moved on purpose by the answer (e.g. a run opened in the Training pane)
        if focused is widget and widget is not None and not typing(widget):
            return  # Textual gave it back
        if (widget is not None and widget.is_attached and widget.focusable and widget.visible
                and not typing(widget)):
            widget.focus()
            return
        if screen is not app.screen_stack[0]:
            if typing(focused):
                screen.set_focus(None)
            return
        try:
            deck = app.query_one(PaneDeck)
        except NoMatches:  # the dashboard is closing
            return
        if pane is None or pane != deck.active:
            pane = deck.active
        if pane:
            self.show(pane)
        else:
            screen.set_focus(None)
