"""The process's counters: rate-limit headers read, histograms bucketed, and dispatch
latency joined from the loop's sighting and the lane's agent start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from maestro.fsutil import write_json
from maestro.observability.telemetry import (
    Histogram,
    RateLimit,
    Telemetry,
    rate_limits_from_headers,
)
from maestro.orchestration.dispatch_latency import settle

T0 = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(("headers", "expected"), [
    ({"x-ratelimit-remaining": "4990", "x-ratelimit-limit": "5000",
      "x-ratelimit-reset": "1800000000", "x-ratelimit-resource": "graphql"},
     {"graphql": RateLimit(4990, 5000, 1_800_000_000)}),
    ({"x-ratelimit-requests-remaining": "1499", "x-ratelimit-requests-limit": "1500",
      "x-ratelimit-requests-reset": "1800000000000",
      "x-ratelimit-complexity-remaining": "249000"},
     {"requests": RateLimit(1499, 1500, 1_800_000_000),
      "complexity": RateLimit(249000, None, None)}),
    ({"x-ratelimit-remaining": "many"}, {}),
    ({}, {}),
])
def test_rate_limit_headroom_is_read_from_github_and_linear_headers(
        headers: dict[str, str], expected: dict[str, RateLimit]) -> None:
    assert rate_limits_from_headers(headers) == expected


def test_a_histogram_is_cumulative_with_an_infinite_bucket() -> None:
    values = Histogram((1.0, 5.0))
    for seconds in (0.5, 1.0, 3.0, 60.0):
        values.observe(seconds)
    assert values.cumulative() == [("1.0", 2), ("5.0", 3), ("+Inf", 4)]
    assert (values.count, values.total) == (4, 64.5)


def test_requests_are_counted_by_service_and_status() -> None:
    recorder = Telemetry()
    recorder.record_response("linear", 200, {"x-ratelimit-requests-remaining": "10"})
    recorder.record_response("linear", 200)
    recorder.record_response("linear", None)
    seen = recorder.snapshot()
    assert seen.requests == {("linear", "200"): 2, ("linear", "error"): 1}
    assert seen.rate_limits[("linear", "requests")].remaining == 10


def start_agent(lanes_root: Path, issue: str, at: datetime) -> None:
    write_json(lanes_root / issue / "activity.json", {"session_started_at": at.isoformat()})


def test_dispatch_latency_runs_from_the_first_sighting_to_the_agent_start(
        tmp_path: Path) -> None:
    recorder = Telemetry()
    recorder.saw_eligible(["A-1"], T0)
    recorder.saw_eligible(["A-1"], T0 + timedelta(seconds=60))  # seen again: same clock
    assert settle(tmp_path, recorder) == 0
    start_agent(tmp_path, "A-1", T0 + timedelta(seconds=90))
    assert settle(tmp_path, recorder) == 1
    assert settle(tmp_path, recorder) == 0  # observed once
    seen = recorder.snapshot()
    assert (seen.dispatch_latency.count, seen.dispatch_latency.total) == (1, 90.0)
    assert seen.waiting_for_agent == 0


def test_an_agent_start_older_than_the_sighting_is_an_earlier_session(tmp_path: Path) -> None:
    recorder = Telemetry()
    start_agent(tmp_path, "A-1", T0 - timedelta(hours=1))
    recorder.saw_eligible(["A-1"], T0)
    assert settle(tmp_path, recorder) == 0
    assert recorder.snapshot().waiting_for_agent == 1


def test_issues_whose_agent_never_starts_are_forgotten_after_a_day() -> None:
    recorder = Telemetry()
    recorder.saw_eligible(["A-1"], T0)
    recorder.saw_eligible(["B-2"], T0 + timedelta(hours=25))
    assert set(recorder.waiting_for_agent()) == {"B-2"}


def test_past_the_table_limit_the_oldest_sightings_go_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("maestro.observability.telemetry.PENDING_MAX", 3)
    recorder = Telemetry()
    recorder.saw_eligible(["NEW-1"], T0 + timedelta(minutes=5))
    recorder.saw_eligible(["OLD-1", "OLD-2", "OLD-3", "OLD-4"], T0)
    # at equal times the first sighted goes first, as one removal at a time did
    assert set(recorder.waiting_for_agent()) == {"NEW-1", "OLD-3", "OLD-4"}
