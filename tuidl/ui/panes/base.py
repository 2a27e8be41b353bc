"""What a pane of the dashboard is: :class:`PaneInfo` (what the dashboard knows of it)
and the :class:`Pane` protocol. The registry of panes is :mod:`tuidl.ui.panes.registry`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from textual.widget import Widget

    from tuidl.core.preset.preset import Preset
    from tuidl.core.run.runview import Applied


@dataclass(frozen=True)
class PaneInfo:
    """What the dashboard knows of a pane.

    ``key``: its name (the TabPane's id, ``show_pane('key')``; the widget's id is
    ``key-pane``). ``title``: its tab and border title; ``short``: shorter tab titles,
    longest first, for narrow terminals. ``label``: its key's label in the footer.
    ``takes_preset``: it shows (and may edit) the current preset (``load_preset``).
    ``takes_events``: it is handed what the run's RunView took of each batch of events
    (``take``). ``rows``: how many rows of the wide grid it spans."""

    key: str
    title: str
    label: str
    short: tuple[str, ...] = ()
    takes_preset: bool = False
    takes_events: bool = False
    rows: int = 1

    @property
    def widget_id(self) -> str:
        return f"{self.key}-pane"

    def tab_title(self, level: int) -> str:
        """The tab title at a level of shortening (0: the full title)."""
        titles = (self.title, *self.short)
        return titles[min(level, len(titles) - 1)]


class Pane(Protocol):
    """A pane of the dashboard: a widget class with a :class:`PaneInfo` that builds
    itself from the app's options (the app itself: ``preset``, ``runs_root``…)."""

    PANE: ClassVar[PaneInfo]

    @classmethod
    def create(cls, app: Any) -> Widget: ...


@runtime_checkable
class PresetPane(Protocol):
    """A pane with ``takes_preset``: shows the current preset."""

    def load_preset(self, preset: Preset) -> None: ...


@runtime_checkable
class EventsPane(Protocol):
    """A pane with ``takes_events``: shows what the run's RunView took."""

    def take(self, applied: Applied, more: bool = False) -> None: ...


@runtime_checkable
class Focusable(Protocol):
    """A pane with a place of its own for the focus (a pane key, Escape in a field)."""

    def focus_default(self) -> None: ...
