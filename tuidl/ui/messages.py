"""Messages that panes post to the app. Panes never reach into core state: they get
typed values (a Preset, event dicts) and post these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from textual.message import Message

from tuidl.core.preset.preset import Preset


@dataclass
class PresetEdited(Message):
    """A pane changed the preset. ``preset`` is the whole new, validated preset."""

    preset: Preset
    origin: str = ""  # which pane: "builder", "dataset", "training"


@dataclass
class RunEvents(Message):
    """A batch of events read from the current run's events.jsonl."""

    run_id: str
    events: list[dict[str, Any]]
    taken: Callable[[], None] | None = None
    """Called by the receiver once it has handled the batch (the follower holds back
    further batches until then, so a fast replay never piles up in the queue)."""
    more: bool = False
    """More events follow at once (the follower is still reading the run's history, a
    replay's or an attached run's): a reader may leave what it draws for the last batch."""
