"""The unattended answer to an ACP agent's permission request (``permission_choice``)."""

from __future__ import annotations

import pytest
from acp.schema import Usage

from maestro.agents.acp import error_text, permission_choice, turn_counts

OFFERED = [("allow", "allow_once"), ("always", "allow_always"), ("reject", "reject_once")]


@pytest.mark.parametrize(("title", "kind", "options", "chosen"), [
    ("mcp__maestro__issue_comment", "other", OFFERED, "allow"),
    ("git commit -m x", "execute", OFFERED, "allow"),
    ("Edit notes.md", "edit", OFFERED, "allow"),
    ("Read README.md", "read", OFFERED, "allow"),
    ("https://example.com", "fetch", OFFERED, "reject"),
    ("Switch to bypassPermissions", "switch_mode", OFFERED, "reject"),
    ("mcp__other__send", "other", OFFERED, "reject"),
    ("mcp__maestro__lane_open_pr", "other", [("always", "allow_always")], "always"),
    ("curl x", "fetch", [("allow", "allow_once")], None),
])
def test_permission_choice(title: str, kind: str, options: list[tuple[str, str]],
                           chosen: str | None) -> None:
    assert permission_choice(title, kind, options)[0] == chosen


def test_a_refusal_says_why() -> None:
    assert permission_choice("curl x", "fetch", OFFERED)[1] == (
        "kind fetch refused by the unattended policy")


@pytest.mark.parametrize(("data", "said"), [
    ({"details": "Claude Code process exited with code 1"},
     "Internal error (Claude Code process exited with code 1)"),
    (None, "Internal error"),
    ({"why": "x", "hint": "y"}, "Internal error ({'why': 'x', 'hint': 'y'})"),
])
def test_an_agents_rpc_error_keeps_the_cause_it_gave(data: object, said: str) -> None:
    from acp import RequestError

    assert error_text(RequestError(-32603, "Internal error", data)) == said


@pytest.mark.parametrize(("usage", "context", "expected"), [
    (Usage(input_tokens=900, output_tokens=100, total_tokens=1000), 500,
     {"inputTokens": 900, "outputTokens": 100, "totalTokens": 1000}),
    # a response forged into the adapter's stdout with 1 token keeps the context seen
    (Usage(input_tokens=1, output_tokens=0, total_tokens=1), 20_000,
     {"inputTokens": 20_000, "outputTokens": 0, "totalTokens": 20_000}),
    (None, 20_000, {"inputTokens": 20_000, "totalTokens": 20_000}),  # killed mid-turn
    (None, 0, {}),
])
def test_an_acp_turn_counts_its_usage_never_below_the_context_it_reported(
        usage: Usage | None, context: int, expected: dict[str, int]) -> None:
    assert turn_counts(usage, context) == expected
