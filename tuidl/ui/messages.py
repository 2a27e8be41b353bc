"""The messages the app receives from its panes and from its workers and threads: a
pane changed the preset, a batch of a run's events, the follower's end, a trainer
started or failed, runs read to compare, a preset's earlier runs found. Panes never
reach into core state: they get typed values (a Preset, event dicts) and post these.

Where a message lives: a message only one widget posts is nested in that widget's class,
as Textual's own are (``Button.Pressed``; here ``RunsPane.OpenRun``,
``RunControls.Control``, ``FieldEditor.Changed``); every other message is here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from textual.message import Message

from tuidl.core.preset.preset import Preset
from tuidl.core.run.rundir import RunDir
from tuidl.core.run.runview import RunView


@dataclass
class PresetEdited(Message):
    """A pane changed the preset. ``preset`` is the whole new, validated preset."""

    preset: Preset
    origin: str = ""  # which pane: "builder", "dataset", "training"


@dataclass
class RunEvents(Message):
    """A batch of events read from the current run's events.jsonl (runs of plain
    metrics events as :class:`tuidl.core.run.columns.MetricsColumns`: RunView takes them
    as the events themselves; :func:`tuidl.core.run.columns.count` counts them)."""

    run_id: str
    events: list[dict[str, Any]]
    taken: Callable[[], None] | None = None
    """Called by the receiver once it has handled the batch (the follower holds back
    further batches until then, so a fast replay never piles up in the queue)."""
    more: bool = False
    """More events follow at once (the follower is still reading the run's history, a
    replay's or an attached run's): a reader may leave what it draws for the last batch."""


@dataclass
class FollowEnded(Message):
    """The run ended (its trainer wrote ``run_ended``, or its process is gone), the
    replay is over, or the follower was stopped (``detached``). ``status`` is the run's
    status as far as it is known (``completed``, ``stopped``, ``diverged``, ``failed``,
    ``interrupted``, ...). A live follower keeps watching after it: a resumed run's
    events follow on."""

    run_id: str
    status: str
    message: str = ""
    replay: bool = False


@dataclass
class TrainerStarted(Message):
    """A thread worker started a trainer for ``run`` (``resumed``: it continues the
    run from its last checkpoint)."""

    run: RunDir
    resumed: bool = False


@dataclass
class TrainerFailed(Message):
    """A thread worker could not start a trainer: ``message`` says why."""

    message: str


@dataclass
class RunsRead(Message):
    """A thread worker read these runs' events, to compare them (``{label: RunView}``)."""

    views: dict[str, RunView]
    what: str = ""


@dataclass
class EarlierRunsFound(Message):
    """A thread worker found the earlier runs of the preset ``name``."""

    runs: list[RunDir]
    name: str
