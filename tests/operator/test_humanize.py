"""Times and PR links as a person reads them (maestro/operator/humanize.py), by table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maestro.operator.humanize import ago, short_pr

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("seconds", "expected"), [
    (2, "just now"), (42, "42 s ago"), (3 * 60 + 5, "3 min ago"), (5 * 3600, "5 h ago"),
    (2 * 86_400 + 7, "2 d ago"), (-30, "in the future"),
])
def test_ago(seconds: int, expected: str) -> None:
    assert ago((NOW - timedelta(seconds=seconds)).isoformat(), NOW) == expected


def test_ago_of_nothing_is_empty_and_of_junk_is_the_junk() -> None:
    assert (ago(None, NOW), ago("yesterday", NOW)) == ("", "yesterday")


@pytest.mark.parametrize(("url", "expected"), [
    ("https://github.com/o/r/pull/12", "#12"), ("local://origin/pulls/3", "#3"),
    ("https://example.com/review", "https://example.com/review"), (None, ""),
])
def test_short_pr(url: str | None, expected: str) -> None:
    assert short_pr(url) == expected
