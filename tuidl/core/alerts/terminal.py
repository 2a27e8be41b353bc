"""An alert as terminal escape sequences: the bell, the window title (OSC 2) and a desktop
notification (OSC 9, which iTerm2, WezTerm, kitty, Windows Terminal and others show, and
OSC 777 ``notify``, which VTE terminals, foot, Ghostty, rxvt and others show). They travel
over SSH like any output, so they reach the laptop in front of the user.

Inside tmux (``$TMUX`` set) the notifications are wrapped for tmux's passthrough (tmux
3.3+ with ``set -g allow-passthrough on``); tmux reads OSC 2 itself (the pane title).

Pure functions: :func:`sequences` returns the text to write; the dashboard writes it
(:mod:`tuidl.ui.alerting`)."""

from __future__ import annotations

import os
import re

__all__ = ["bell", "notification", "sequences", "title", "tmux_wrap", "PUSH_TITLE", "POP_TITLE"]

BEL = "\a"
ESC = "\x1b"
PUSH_TITLE = "\x1b[22;0t"  # xterm's title stack: the title as it was, kept (restored at exit)
POP_TITLE = "\x1b[23;0t"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def clean(text: str, limit: int = 200) -> str:
    """One line with no control characters (they would end the sequence early)."""
    return _CONTROL.sub(" ", str(text)).strip()[:limit]


def bell() -> str:
    return BEL


def title(text: str) -> str:
    """OSC 2: the window title."""
    return f"{ESC}]2;{clean(text)}{BEL}"


def tmux_wrap(seq: str) -> str:
    """``seq`` through tmux's passthrough: DCS ``tmux;`` with every ESC doubled."""
    return f"{ESC}Ptmux;" + seq.replace(ESC, ESC + ESC) + f"{ESC}\\"


def notification(heading: str, body: str = "", tmux: bool | None = None) -> str:
    """OSC 9 and OSC 777 for one desktop notification (a terminal shows the one it
    knows; the other is ignored). OSC 777's fields are split on ``;``, so they lose theirs."""
    heading, body = clean(heading), clean(body, 400)
    osc9 = f"{ESC}]9;{heading}: {body}{BEL}" if body else f"{ESC}]9;{heading}{BEL}"
    osc777 = f"{ESC}]777;notify;{heading.replace(';', ',')};{body.replace(';', ',')}{BEL}"
    if tmux is None:
        tmux = bool(os.environ.get("TMUX"))
    return "".join(tmux_wrap(s) for s in (osc9, osc777)) if tmux else osc9 + osc777


def sequences(heading: str, body: str = "", *, ring: bool = True, window_title: str | None = None,
              desktop: bool = True, tmux: bool | None = None) -> str:
    """Everything one alert writes: the bell, a title, a notification, as chosen."""
    out = []
    if window_title is not None:
        out.append(title(window_title))
    if desktop:
        out.append(notification(heading, body, tmux))
    if ring:
        out.append(BEL)
    return "".join(out)
