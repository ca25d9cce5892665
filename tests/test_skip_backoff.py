"""A lane whose runs keep ending skipped for the same reason is counted
(``outcome.json``'s ``repeats``) and backed off, doubling up to a cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from maestro.lanes.record.outcome_streak import repeats
from maestro.orchestration.skip_backoff import (
    MAX_WAIT_S,
    SkipStreak,
    backing_off,
    streak_of,
    wait_seconds,
)

SKIP = {"outcome": "skipped", "reason": "issue is Done (terminal)"}


@pytest.mark.parametrize(("previous", "outcome", "reason", "count"), [
    (None, "skipped", "issue is Done (terminal)", 1),
    (SKIP, "skipped", "issue is Done (terminal)", 2),
    ({**SKIP, "repeats": 4}, "skipped", "issue is Done (terminal)", 5),
    ({**SKIP, "repeats": 4}, "skipped", "another reason", 1),
    ({**SKIP, "repeats": 4}, "waiting", "issue is Done (terminal)", 1),
    ({**SKIP, "repeats": "x"}, "skipped", "issue is Done (terminal)", 2),
])
def test_identical_endings_are_counted_and_any_other_resets(
        previous: dict[str, Any] | None, outcome: str, reason: str, count: int) -> None:
    assert repeats(previous, outcome, reason) == count


def test_the_wait_doubles_from_the_second_skip_up_to_the_cap() -> None:
    assert [wait_seconds(n) for n in (1, 2, 3, 4)] == [0.0, 60.0, 120.0, 240.0]
    assert wait_seconds(40) == MAX_WAIT_S


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_only_a_skipped_record_makes_a_streak() -> None:
    at = (NOW - timedelta(seconds=5)).isoformat()
    assert streak_of({**SKIP, "repeats": 3, "at": at}) == SkipStreak(
        3, SKIP["reason"], NOW - timedelta(seconds=5))
    assert streak_of({"outcome": "waiting", "repeats": 3, "at": at}) == SkipStreak()


def test_a_streak_without_a_readable_time_never_holds_a_lane() -> None:
    assert backing_off(streak_of({**SKIP, "repeats": 9, "at": "yesterday"}), NOW) == ""
