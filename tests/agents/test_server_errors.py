"""The agent server's own words (``error`` notification, ``codexErrorInfo``) reach the failure
reason and the journal."""

from __future__ import annotations

from typing import Any

import pytest

from maestro.agents.server_errors import ServerErrors, describe, error_info

from .helpers import configure_service, read_jsonl

INFO_CASES = [
    ("usageLimitExceeded", "usageLimitExceeded"),
    ({"httpConnectionFailed": {"httpStatusCode": 502}}, "httpConnectionFailed(502)"),
    ({"responseStreamDisconnected": {"httpStatusCode": None}}, "responseStreamDisconnected"),
    (None, ""),
]


@pytest.mark.parametrize(("info", "expected"), INFO_CASES)
def test_codex_error_info_becomes_one_token(info: Any, expected: str) -> None:
    assert error_info(info) == expected


def test_a_turn_error_names_message_info_and_details() -> None:
    assert describe({"message": "quota", "codexErrorInfo": "usageLimitExceeded",
                     "additionalDetails": "try later"}) == (
        "quota [codexErrorInfo: usageLimitExceeded] (try later)")


def test_the_last_final_notification_adds_what_the_turn_error_lacks() -> None:
    errors = ServerErrors()
    errors.note({"error": {"message": "stream dropped"}, "willRetry": True})
    errors.note({"error": {"message": "upstream 502",
                           "codexErrorInfo": {"httpConnectionFailed": {"httpStatusCode": 502}}}})
    assert errors.reason({"message": "turn failed"}) == (
        "turn failed; server error: upstream 502 [codexErrorInfo: httpConnectionFailed(502)]")


def test_a_failed_turn_reason_carries_codex_error_info(sandbox: Any) -> None:
    configure_service(sandbox.repo)
    sandbox.add_issue("SE-1", script="""
        steps:
          - fail_turn: {message: "You've hit your usage limit", codexErrorInfo: usageLimitExceeded,
                        additionalDetails: "resets at 12:00"}
        """)
    sandbox.lane("SE-1")
    reason = sandbox.lane_file("SE-1", "result.json")["reason"]
    assert "usage limit" in reason and "usageLimitExceeded" in reason
    assert "resets at 12:00" in reason
    journal = read_jsonl(sandbox.repo / ".maestro" / "lanes" / "SE-1" / "journal.jsonl")
    assert any(e.get("event") == "agent_error" and "usageLimitExceeded" in e.get("error", "")
               for e in journal)
