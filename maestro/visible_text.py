"""Text others wrote, with its control characters shown rather than obeyed.

A terminal obeys the control characters in what it prints (an ESC starts a sequence that
clears the screen, sets the window title or writes the clipboard; a carriage return
overwrites the line; bidirectional overrides reorder it), and a tracker comment keeps them
for whoever reads it in one. Text an agent, a PR's code or a tracker user wrote passes
through :func:`visible` before maestro prints or posts it
(:mod:`maestro.operator.terminal_text` for the terminal, :mod:`maestro.lanes.record.comments`
for maestro's own tracker comments).
"""

from __future__ import annotations

import re

_C0 = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_OTHER = re.compile("[\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    return "\u2421" if code == 0x7F else chr(0x2400 + code)  # ␡, or ␀ ... ␟


def visible(text: str) -> str:
    """``text`` with every terminal control character but tab and newline shown, not
    obeyed: C0 controls as their Unicode control pictures (``\\x1b`` -> ``␛``), C1
    controls and bidirectional marks and overrides as U+FFFD. Same length."""
    return _OTHER.sub("\ufffd", _C0.sub(_picture, text))
