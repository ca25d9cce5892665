"""Times and links as a person reads them: "3 min ago", "2 h 5 min", "#12". Pure.

The snapshot keeps ISO timestamps and full URLs (machines read those); the text views and
the dashboard turn them into these short forms.
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["ago", "duration", "parse_time", "short_pr"]

_PR_NUMBER = re.compile(r"/pulls?/(\d+)/?$")


def parse_time(value: object) -> datetime | None:
    """An ISO timestamp from a lane file, or ``None`` when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def ago(at: str | None, now: datetime) -> str:
    """``at`` (ISO 8601 with a zone) relative to ``now``: "just now", "42 s ago",
    "3 min ago", "5 h ago", "2 d ago"; "" when absent, ``at`` itself when unreadable."""
    if not at:
        return ""
    try:
        seconds = (now - datetime.fromisoformat(at)).total_seconds()
    except (TypeError, ValueError):
        return str(at)
    if seconds < 0:
        return "in the future"
    if seconds < 5:
        return "just now"
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


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


def short_pr(url: str | None) -> str:
    """``#12`` for a PR URL that ends in its number (GitHub, the local forge), else the
    URL as it is."""
    if not url:
        return ""
    found = _PR_NUMBER.search(url)
    return f"#{found.group(1)}" if found else url
