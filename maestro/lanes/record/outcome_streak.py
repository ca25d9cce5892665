"""How many lane runs in a row ended the same way: ``outcome.json``'s ``repeats``.

A lane run that ends ``skipped`` for the same reason as the run before changed nothing; if
the poll loop keeps planning it, it runs again every tick, forever (a merged lane whose
state files were damaged did exactly that). The lane cannot know why it was planned, but
it can count: each halt record carries ``repeats`` (1 for the first run that ended this
way), and the planner backs off on it (:mod:`maestro.orchestration.skip_backoff`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["recorded_repeats", "repeats"]


def repeats(previous: Mapping[str, Any] | None, outcome: str, reason: str) -> int:
    """Pure: 1 + the previous record's count when it ended with the same ``outcome`` and
    ``reason``, else 1 (a record written before the count existed counts as one)."""
    if not previous or previous.get("outcome") != outcome or previous.get("reason") != reason:
        return 1
    return recorded_repeats(previous) + 1


def recorded_repeats(record: Mapping[str, Any]) -> int:
    """Pure: the record's ``repeats``; 1 when it has none or an unusable one."""
    count = record.get("repeats", 1)
    return count if isinstance(count, int) and count > 0 else 1
