"""The poll loop backs off a lane whose runs keep ending ``skipped`` for the same reason.

A lane the planner dispatches and the lane run then skips (the planner and the lane read
the world differently: e.g. a merged lane whose state files were damaged looks "in review,
delivered" to the planner, and "issue is Done" to its claim) would otherwise run every
tick forever. ``outcome.json`` counts identical endings (``repeats``,
:mod:`maestro.lanes.record.outcome_streak`); from the :data:`FREE_REPEATS`-th in a row the lane
waits :func:`wait_seconds` after its last run, doubling up to :data:`MAX_WAIT_S`, and the
plan says why in words a person can act on. Any other ending resets the count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from maestro.lanes.record.outcome_streak import recorded_repeats
from maestro.model import LaneOutcome

__all__ = ["FREE_REPEATS", "MAX_WAIT_S", "SkipStreak", "backing_off", "streak_of",
           "wait_seconds"]

#: Identical skipped runs in a row that are planned again at once.
FREE_REPEATS = 1
#: The wait after the first run beyond :data:`FREE_REPEATS`; it doubles with each one more.
FIRST_WAIT_S = 60.0
MAX_WAIT_S = 1800.0


@dataclass(frozen=True)
class SkipStreak:
    """``count`` runs in a row ended skipped with ``reason``; the last at ``at`` (UTC)."""

    count: int = 0
    reason: str = ""
    at: datetime | None = None


def streak_of(record: Mapping[str, Any]) -> SkipStreak:
    """Pure: the streak an ``outcome.json`` record says (none unless it is ``skipped``)."""
    if record.get("outcome") != LaneOutcome.SKIPPED.value:
        return SkipStreak()
    try:
        at: datetime | None = datetime.fromisoformat(str(record.get("at")))
    except ValueError:
        at = None
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return SkipStreak(recorded_repeats(record), str(record.get("reason", "")), at)


def wait_seconds(count: int) -> float:
    """Pure: 0 up to :data:`FREE_REPEATS`, then 60 s, 120 s, … up to :data:`MAX_WAIT_S`."""
    if count <= FREE_REPEATS:
        return 0.0
    return min(FIRST_WAIT_S * 2.0 ** (count - FREE_REPEATS - 1), MAX_WAIT_S)


def backing_off(streak: SkipStreak, now: datetime) -> str:
    """Pure: why the lane is not planned now ("" when it may be)."""
    wait = wait_seconds(streak.count)
    if not wait or streak.at is None:
        return ""
    due = streak.at + timedelta(seconds=wait)
    if now >= due:
        return ""
    return (f"backing off: its last {streak.count} runs ended skipped ({streak.reason}); "
            f"next try after {due.strftime('%Y-%m-%d %H:%M:%S')} UTC; a person should look "
            "at the lane (`maestro status`, `maestro logs ID`)")
