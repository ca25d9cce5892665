"""A session's own token counts from thread totals (new, resumed and replayed threads)."""

from __future__ import annotations

from typing import Any

import pytest

from maestro.agents.turn_usage import MAX_FIGURE, capped_growth
from maestro.agents.usage import SessionUsage


def report(total: int, last: int) -> dict[str, Any]:
    return {"total": {"totalTokens": total}, "last": {"totalTokens": last}}


@pytest.mark.parametrize(("name", "before_open", "reports", "counted"), [
    ("a new thread counts its totals", [], [report(120, 120), report(240, 120)], 240),
    ("a resumed thread's replayed total is history", [report(600, 120)],
     [report(720, 120), report(1080, 120)], 480),
    ("without a replay, the first report's total minus its last is history", [],
     [report(720, 120), report(840, 120)], 240),
    ("per-session totals stay as they are", [], [report(150, 150), report(300, 150)], 300),
])
def test_a_session_counts_only_its_own_tokens(name: str, before_open: list[dict[str, Any]],
                                              reports: list[dict[str, Any]],
                                              counted: int) -> None:
    usage = SessionUsage()
    for item in before_open:
        assert usage.update(item) == {}
    usage.open = True
    figures: dict[str, int] = {}
    for item in reports:
        figures = usage.update(item)
    assert figures == {"totalTokens": counted}


@pytest.mark.parametrize("replay_after_open", [False, True])
def test_the_total_the_lane_saw_last_is_the_baseline_whenever_the_replay_comes(
        replay_after_open: bool) -> None:
    usage = SessionUsage({"totalTokens": 600})
    if not replay_after_open:
        usage.update(report(600, 120))
    usage.open = True
    if replay_after_open:  # codex's replay raced the resume answer
        usage.update(report(600, 120))
    assert usage.update(report(1080, 120)) == {"totalTokens": 480}


def test_a_failed_resume_counts_the_new_threads_totals_as_they_are() -> None:
    usage = SessionUsage({"totalTokens": 600})
    usage.new_thread()
    usage.open = True
    usage.update(report(120, 120))
    assert usage.update(report(240, 120)) == {"totalTokens": 240}


def test_a_negative_or_non_integer_total_counts_nothing() -> None:
    usage = SessionUsage()
    usage.open = True
    assert usage.update({"total": {"totalTokens": -900, "inputTokens": "9"}}) == {
        "totalTokens": 0, "inputTokens": 0}
    assert usage.update({"total": ["not", "a", "mapping"]}) == {}


def test_a_running_total_grows_at_most_one_requests_worth_per_report() -> None:
    before = {"totalTokens": 50_000}
    assert capped_growth(before, {"totalTokens": 999_999_999_999_999}) == {
        "totalTokens": 50_000 + MAX_FIGURE}
    assert capped_growth(before, {"totalTokens": 80_000}) == {"totalTokens": 80_000}
