"""A one-line gauge (``label ██████░░░░ text``), coloured by level: the System pane's
cards and the remote hosts' cards draw their figures with it."""

from __future__ import annotations

from textual.content import Content

BAR = 20  # gauge width in cells


def _level(frac: float | None, warn: float = 0.7, high: float = 0.9) -> str:
    if frac is None:
        return "$text-muted"
    return "$error" if frac >= high else "$warning" if frac >= warn else "$success"


def gauge(label: str, frac: float | None, text: str, width: int = BAR) -> Content:
    """``label ██████░░░░ text``; an unknown fraction is an empty grey bar."""
    if frac is None:
        fill = 0
    else:
        fill = int(round(max(0.0, min(1.0, frac)) * width))
    return Content.assemble(
        (f"{label:<5}", "bold"),
        ("█" * fill, _level(frac)),
        ("░" * (width - fill), "$text-muted"),
        " ",
        text,
    )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"
