"""Who sent a delivery: GitHub's and Linear's HMAC-SHA256 signatures, and Linear's clock."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from maestro.operator.webhooks.signatures import (
    github_refusal,
    linear_refusal,
    linear_staleness,
)

SECRET = b"It's a Secret to Everybody"
BODY = b"Hello, World!"
# The example of GitHub's "Validating webhook deliveries" page: this secret and body.
GITHUB_EXAMPLE = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def sign(body: bytes, secret: bytes = SECRET) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def test_the_digest_matches_githubs_published_example() -> None:
    assert sign(BODY) == GITHUB_EXAMPLE
    assert github_refusal(SECRET, BODY, f"sha256={GITHUB_EXAMPLE}") is None


@pytest.mark.parametrize(("header", "reason"), [
    (None, "no X-Hub-Signature-256 header"),
    ("", "no X-Hub-Signature-256 header"),
    (GITHUB_EXAMPLE, "is not 'sha256=<hex>'"),
    (f"sha1={GITHUB_EXAMPLE}", "is not 'sha256=<hex>'"),
    ("sha256=abc", "malformed signature"),
    (f"sha256={sign(BODY, b'another secret')}", "does not match"),
    (f"sha256={sign(BODY + b' ')}", "does not match"),
])
def test_github_refuses_a_missing_or_forged_signature(header: str | None, reason: str) -> None:
    refusal = github_refusal(SECRET, BODY, header)
    assert refusal is not None and reason in refusal


@pytest.mark.parametrize(("header", "reason"), [
    (sign(BODY), None),
    (sign(BODY).upper(), None),
    (None, "no Linear-Signature header"),
    ("", "no Linear-Signature header"),
    (f"sha256={sign(BODY)}", "malformed signature"),
    (sign(BODY, b"another secret"), "does not match"),
])
def test_linear_accepts_only_its_own_hex_signature(header: str | None,
                                                   reason: str | None) -> None:
    refusal = linear_refusal(SECRET, BODY, header)
    assert (refusal is None) if reason is None else (refusal is not None and reason in refusal)


NOW_S = 1_800_000_000.0


@pytest.mark.parametrize(("signed_at", "fresh"), [
    (int(NOW_S * 1000), True),
    (int((NOW_S - 59) * 1000), True),
    (str(int((NOW_S - 30) * 1000)), True),  # the Linear-Timestamp header is a string
    (int((NOW_S - 61) * 1000), False),      # a replay a minute later
    (int((NOW_S + 120) * 1000), False),     # from the future
    (None, False),
    ("yesterday", False),
    (True, False),
    (float("nan"), False),                  # a signed NaN cannot be judged fresh
    (float("inf"), False),
])
def test_a_linear_delivery_is_fresh_only_within_the_window(signed_at: object,
                                                           fresh: bool) -> None:
    assert (linear_staleness(signed_at, NOW_S, 60.0) is None) is fresh


def test_a_stale_linear_delivery_says_how_long_ago_it_was_signed() -> None:
    said = linear_staleness(int((NOW_S - 3600) * 1000), NOW_S, 60.0)
    assert said is not None and "signed 3600 s ago" in said
