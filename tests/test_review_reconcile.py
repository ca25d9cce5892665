"""The tick's reconcile covers lanes waiting in review: a person's decision wins.

A person who adds ``maestro:needs-attention`` to an approved lane holds it (never merged
while the label stays); one who cancels the issue sends the lane down its cancel path (PR
closed, lane terminated), never to a merge.
"""

from __future__ import annotations

import json

from tests.conftest import Sandbox

ATTENTION = "maestro:needs-attention"


def tick(sandbox: Sandbox) -> dict[str, object]:
    out = sandbox.maestro("run", "--once", "--json", check=True).stdout
    return dict(json.loads(out))


def pr_states(sandbox: Sandbox) -> list[str]:
    folder = sandbox.origin / "maestro-forge" / "pulls"
    return [json.loads(path.read_text())["state"] for path in sorted(folder.glob("*.json"))]


def in_review(sandbox: Sandbox, identifier: str) -> None:
    sandbox.add_issue(identifier)
    tick(sandbox)
    assert sandbox.issue(identifier).state == "In Review"


def test_approved_lane_with_the_attention_label_is_held_not_merged(sandbox: Sandbox) -> None:
    in_review(sandbox, "RR-1")
    sandbox.approve("RR-1")
    sandbox.tracker.add_label("RR-1", ATTENTION)

    plan = tick(sandbox)

    assert plan["dispatch"] == []
    assert "held" in str(plan["waiting"])
    assert sandbox.issue("RR-1").state == "In Review"
    assert pr_states(sandbox) == ["open"]


def test_lane_in_review_whose_issue_is_cancelled_is_closed_not_merged(
        sandbox: Sandbox) -> None:
    in_review(sandbox, "RR-2")
    sandbox.approve("RR-2")
    sandbox.tracker.transition("RR-2", "Canceled")

    tick(sandbox)

    assert pr_states(sandbox) == ["closed"]
    assert sandbox.outcome("RR-2") == "terminated"
    assert sandbox.issue("RR-2").state == "Canceled"
