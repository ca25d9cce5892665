"""A lane's phases as time segments, read from its journal, and drawn as inline SVG.

A segment is work in a phase (``claim`` … ``cleanup``), a wait (for review, for a retry),
a repair round, a person's turn (needs a human) or the phase running now. Segments come
from ``claimed``, ``phase_done``, ``halt`` and ``repair_started`` journal entries in order;
everything else in the journal is ignored. :func:`segments` is pure; :func:`svg` returns
markup whose only text is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any, Literal

from maestro.operator.humanize import duration, parse_time

Kind = Literal["work", "wait", "repair", "human", "running"]
COLOURS: dict[str, str] = {"work": "#2e7d32", "wait": "#b0b0b0", "repair": "#b26a00",
                           "human": "#c62828", "running": "#1565c0"}


@dataclass(frozen=True)
class Segment:
    label: str
    kind: Kind
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())


def segments(journal: list[dict[str, Any]], now: datetime, running_phase: str | None = None,
             needs_human: bool = False) -> list[Segment]:
    """The lane's segments, oldest first. ``running_phase``: the phase a live process is
    in (an open segment to ``now``); ``needs_human``: the lane waits on a person (open)."""
    found: list[Segment] = []
    cursor: datetime | None = None
    waiting: str | None = None  # label of the wait that began at ``cursor``
    repair: str | None = None

    def close(label: str, kind: Kind, at: datetime) -> None:
        if cursor is not None and at >= cursor:
            found.append(Segment(label, kind, cursor, at))

    for entry in journal:
        at = parse_time(entry.get("at"))
        event = entry.get("event")
        if at is None or event not in ("claimed", "phase_done", "halt", "repair_started"):
            continue
        if waiting is not None:
            close(waiting, "wait", at)
            cursor, waiting = at, None
        if event == "claimed":
            if cursor is not None and found:
                close("waiting to retry", "wait", at)
            cursor = at
        elif event == "phase_done":
            close(str(entry.get("phase")), "work", at)
            cursor = at
        elif event == "repair_started":
            cursor, repair = at, f"repair {entry.get('round', '')}".strip()
        elif event == "halt":
            phase = str(entry.get("phase") or "")
            close(repair or phase, "repair" if repair else "work", at)
            cursor, repair = at, None
            outcome = entry.get("outcome")
            if outcome == "waiting":
                waiting = f"waiting: {phase}"
            elif outcome in ("failed", "retrying"):
                waiting = "waiting to retry"
            elif outcome == "needs_human":
                waiting = None
    if running_phase:
        close(repair or running_phase, "running", now)
    elif needs_human:
        close("needs a human", "human", now)
    elif waiting is not None:
        close(waiting, "wait", now)
    return found


def svg(found: list[Segment], width: int = 960, height: int = 34) -> str:
    """One bar: a rectangle per segment, widths proportional to time (2 px at least),
    each with a ``<title>`` tooltip naming phase and duration."""
    if not found:
        return ""
    total = sum(s.seconds for s in found) or 1.0
    x = 0.0
    parts = [f'<svg class="timeline" role="img" aria-label="phase timeline" '
             f'viewBox="0 0 {width} {height}" width="100%" height="{height}" '
             f'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">']
    for index, segment in enumerate(found):
        w = max(2.0, width * segment.seconds / total)
        if index == len(found) - 1:
            w = max(2.0, width - x)
        tip = escape(f"{segment.label}: {duration(segment.seconds)}")
        parts.append(f'<rect x="{x:.1f}" y="4" width="{w:.1f}" height="{height - 8}" '
                     f'fill="{COLOURS[segment.kind]}" stroke="#fff" stroke-width="1" '
                     f'data-label="{escape(segment.label)}"><title>{tip}</title></rect>')
        x = min(float(width), x + w)
    parts.append("</svg>")
    return "".join(parts)
