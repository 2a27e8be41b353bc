"""The dashboard's preset, resolved once: :func:`resolved` checks a preset against its
data (:func:`tuidl.core.preset.preset.resolve`) the first time it is asked and keeps the
answer for that preset object. Every edit makes a new Preset, so the Training pane's
"cannot start yet" line, the Model builder's loss and Start (which hands the resolved
form to :func:`tuidl.core.run.launch.start`) share one resolution per edit, where each
resolved it again before. Only a preset that resolved is kept: one that did not is
checked again when asked (a data file fixed on disk meanwhile is seen)."""

from __future__ import annotations

from collections import OrderedDict

from tuidl.core.preset.preset import Preset, Resolved, resolve

KEEP = 8  # the last presets resolved (the current one, and a few the panes may still show)
_done: OrderedDict[int, Resolved] = OrderedDict()  # id(preset) -> its resolution (which holds the preset)


def resolved(preset: Preset) -> Resolved:
    """``preset`` resolved (raises as :func:`resolve` does)."""
    found = _done.get(id(preset))
    if found is not None and found.preset is preset:
        _done.move_to_end(id(preset))
        return found
    result = resolve(preset)
    _done[id(preset)] = result
    while len(_done) > KEEP:
        _done.popitem(last=False)
    return result
