"""The dashboard's panes, in one registry: a pane is one module plus one entry in
:data:`PANES`.

Each pane class declares what the dashboard needs to know about it in a
:class:`PaneInfo` (its key, title, key label and shorter tab titles, whether it shows
the preset and whether it takes the run's events) and builds itself from the dashboard's
options (:meth:`Pane.create`). The app composes, binds the keys ``1``-``5``, lays out the
grid, hands the preset and the run's events on, and lists the palette's "Show …"
commands by walking :data:`PANES`; nothing else names the panes one by one.
"""

from __future__ import annotations

from tuidl.ui.panes.base import Pane, PaneInfo
from tuidl.ui.panes.builder import ModelBuilderPane
from tuidl.ui.panes.dataset import DatasetPane
from tuidl.ui.panes.runs import RunsPane
from tuidl.ui.panes.system import SystemPane
from tuidl.ui.panes.training import TrainingPane

# The panes in key order (1-5); the wide grid fills two columns in this order.
PANES: tuple[type[Pane], ...] = (ModelBuilderPane, DatasetPane, TrainingPane, SystemPane, RunsPane)  # type: ignore[assignment]
INFOS: tuple[PaneInfo, ...] = tuple(p.PANE for p in PANES)
PRESET_PANES: tuple[str, ...] = tuple(i.key for i in INFOS if i.takes_preset)
EVENT_PANES: tuple[str, ...] = tuple(i.key for i in INFOS if i.takes_events)


def grid_css() -> str:
    """The wide grid's layout: two columns, a pane spanning ``rows`` rows where it asks to."""
    cells = sum(i.rows for i in INFOS)
    css = ["Screen PaneDeck.-grid > ContentSwitcher {", f"    grid-size: 2 {(cells + 1) // 2};",
           "    grid-rows: 4fr 3fr 3fr;", "}"]
    for info in INFOS:
        if info.rows > 1:
            css += [f"Screen PaneDeck.-grid > ContentSwitcher > TabPane#{info.key} {{",
                    f"    row-span: {info.rows};", "}"]
    return "\n".join(css)
