"""Times as a person reads them: "3 min ago", "2 h 5 min". Pure functions, UTC in."""

from __future__ import annotations

from datetime import datetime


def parse_time(value: object) -> datetime | None:
    """An ISO timestamp from a lane file, or ``None`` when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def duration(seconds: float | None) -> str:
    """``5`` -> ``"5 s"``, ``185`` -> ``"3 min 5 s"``, ``7500`` -> ``"2 h 5 min"``,
    ``200000`` -> ``"2 d 7 h"``; ``None`` -> ``""``."""
    if seconds is None:
        return ""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs and minutes < 10 else f"{minutes} min"
    return f"{secs} s"


def ago(value: object, now: datetime) -> str:
    """``"just now"``, ``"40 s ago"``, ``"3 min ago"``, ``"2 h ago"``, ``"3 d ago"``;
    ``""`` for no time; a time ahead of ``now`` (clock skew) reads ``"just now"``."""
    moment = parse_time(value)
    if moment is None:
        return ""
    seconds = (now - moment).total_seconds()
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"
