"""Times and links as a person reads them in a terminal: "3 min ago", "#12".

The snapshot keeps ISO timestamps and full URLs (machines read those); the text views
turn them into the short forms below so a table fits 80 columns.
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["ago", "short_pr"]

_PR_NUMBER = re.compile(r"/pulls?/(\d+)/?$")


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


def short_pr(url: str | None) -> str:
    """``#12`` for a PR URL that ends in its number (GitHub, the local forge), else the
    URL as it is."""
    if not url:
        return ""
    found = _PR_NUMBER.search(url)
    return f"#{found.group(1)}" if found else url
