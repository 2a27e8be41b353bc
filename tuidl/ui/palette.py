"""The colours that mean something across the dashboard, in one place.

Train is cyan and validation is orange (ANSI colour 3, which most terminal themes draw
orange-yellow) in every chart, legend, progress line, table and pane; the learning rate
is green and the test split magenta. Runs laid over the charts for comparison take the
:data:`OVERLAYS` in turn, none of them a colour that already means a split.

Colours are xterm-256 indexes (0–15 follow the terminal's own theme): plotext takes the
number, Rich and Textual the :func:`style` string, so a chart's line and the text that
names it are the same colour.
"""

from __future__ import annotations

__all__ = ["TRAIN", "VAL", "TEST", "LR", "OVERLAYS", "NAMES", "SPLITS", "style"]

TRAIN = 6
VAL = 3
TEST = 5
LR = 2
OVERLAYS = (13, 9, 12, 10, 14, 11, 177, 203, 75, 245)
"""Compared runs: bright magenta, red, blue, green, cyan, yellow, then 256-colour tints."""

SPLITS = {"train": TRAIN, "val": VAL, "validation": VAL, "test": TEST}

NAMES = {
    "black": 0, "red": 1, "green": 2, "orange": 3, "yellow": 3, "blue": 4, "magenta": 5, "purple": 5,
    "violet": 5, "cyan": 6, "white": 7, "gray": 8, "grey": 8, "red+": 9, "green+": 10, "orange+": 11,
    "yellow+": 11, "blue+": 12, "magenta+": 13, "cyan+": 14, "gray+": 245, "grey+": 245,
}
"""Colour names as plotext and the older code spell them → indexes."""


def style(color: int, *, bold: bool = False) -> str:
    """The Rich style string for a palette colour."""
    return f"{'bold ' if bold else ''}color({int(color)})"
