"""Retry delays as Symphony defines them (its SPEC.md §8.4): 1 s after a clean exit that
needs another session, else ``min(10 s × 2^(attempt − 1), max_retry_backoff_ms)``."""

from __future__ import annotations

import pytest

from maestro.config.workflow import ExecutionPolicy
from maestro.orchestration.retries import backoff_seconds


@pytest.mark.parametrize(("attempt", "kind", "cap_ms", "seconds"), [
    (1, "continuation", 300_000, 1.0),
    (5, "continuation", 300_000, 1.0),
    (1, "failure", 300_000, 10.0),
    (2, "failure", 300_000, 20.0),
    (3, "failure", 300_000, 40.0),
    (6, "failure", 300_000, 300.0),
    (4, "failure", 30_000, 30.0),
])
def test_retry_delay_follows_the_reference_formula(attempt: int, kind: str, cap_ms: int,
                                                   seconds: float) -> None:
    assert backoff_seconds(attempt, kind, cap_ms) == seconds


def test_the_backoff_cap_defaults_to_five_minutes() -> None:
    assert ExecutionPolicy().max_retry_backoff_ms == 300_000
