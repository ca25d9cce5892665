"""The unattended answer to an ACP agent's permission request (``permission_choice``)."""

from __future__ import annotations

import pytest

from maestro.agents.acp import permission_choice

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
