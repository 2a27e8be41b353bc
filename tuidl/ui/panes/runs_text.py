"""The Runs pane's two lines of text: the hint above the list (how many runs, sweeps, queued,
live and marked; the keys) and the detail under it (what the row under the cursor is and what
can be done with it)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from tuidl.core.run.runlist import RunRow, SweepGroup
from tuidl.core.sweep.queue import Entry


def hint_text(rows: list[RunRow], all_rows: list[RunRow], root: Path, *, filtered: bool, sweeps: int,
              shape: str, queued: int, marked: int) -> Text:
    """The hint for a listing: ``rows`` shown of ``all_rows`` (``filtered``: a filter chose
    them), ``sweeps`` sweeps and ``queued`` entries listed, laid out as ``shape`` says
    (:meth:`~tuidl.ui.panes.runs_shape.Shape.described`), ``marked`` runs marked."""
    if not all_rows:
        return Text.assemble(("No runs yet in ", "dim"), (str(root), "bold"),
                             (". Start one with s (or tuidl train PRESET).", "dim"))
    live = [r for r in rows if r.live]
    text = Text(no_wrap=True, overflow="ellipsis")
    if filtered:
        text.append(f"{len(rows)} of {len(all_rows)} runs match", style="bold")
        text.append(" · esc clears", style="dim")
    else:
        text.append(f"{len(rows)} run{'s' if len(rows) != 1 else ''}")
    if sweeps:
        text.append(f" ({sweeps} sweep{'s' if sweeps != 1 else ''})", style="cyan")
    if shape:
        text.append(f" · {shape}", style="cyan")
    if queued:
        text.append(" · ")
        text.append(f"{queued} queued", style="bold yellow")
    if live:
        text.append(" · ")
        text.append(f"{len(live)} live", style="bold green")
        text.append(": enter attaches", style="")
    if marked:
        text.append(" · ")
        text.append(f"{marked} marked", style="bold magenta")
        text.append(": v compares them")
    elif not filtered:
        text.append(" · space marks · D compares · / filter · S sort · g group · a columns", style="dim")
    return text


def detail_text(item: object) -> Text | str:
    """The detail line of a listed row: a queued entry, a sweep or a run ("" for anything
    else: a group's row, none)."""
    if isinstance(item, Entry):
        what = f"a run of {item.name}" if item.kind == "run" else f"sweep {item.name}"
        return Text.assemble((f"queue {item.id}", "bold"), f" · {what} waits for a free GPU or CPU "
                             "slot (tuidl queue list) · d takes it out of the queue",
                             no_wrap=True, overflow="ellipsis", style="dim")
    if isinstance(item, SweepGroup):
        counts = ", ".join(f"{n} {s}" for s, n in sorted(item.counts().items()))
        return Text.assemble((f"sweep {item.id}", "bold"), f" · {len(item.trials)} trials ({counts})",
                             " · enter opens the sweep: trials ranked, best, importances, curves",
                             no_wrap=True, overflow="ellipsis", style="dim")
    if not isinstance(item, RunRow):
        return ""
    row = item
    text = Text(no_wrap=True, overflow="ellipsis", style="dim")
    if not row.live:  # the id in full: the table's Run column is cut off at 80 columns
        text.append(row.id, style="bold")
        text.append(" · ")
    if row.host:  # a remote run's copy (tuidl --remote)
        text.append(f"on {row.host}", style="bold cyan")
        text.append(" · ")
    if row.live:
        if not row.host:  # (`tuidl attach` here would not find a remote one)
            text.append(f"tuidl attach {row.id}", style="bold")
            text.append(" · ")
        text.append("enter attaches here")
    elif row.logged is not None:
        text.append(f"logged run ({row.logged.source}): enter replays it · v compares it · e exports it")
    elif row.resumable:
        text.append(f"{row.status}: u resumes it from its last checkpoint", style="yellow")
    elif row.status == "completed":
        text.append("enter replays it · v compares it · r runs its preset again")
    if row.message:
        text.append(f" · {row.message}")
    note = row.status_data.get("note")
    if note:
        text.append(f" · note: {note}", style="italic")
    return text
