"""A person moves the issue out of review while a repair round runs: the repair is not
pushed, and the lane ends with a person, told why, instead of being started every tick for
ever (breaker 20, F2)."""

from __future__ import annotations

import json

import pytest

from maestro.forges.local import LocalForge
from maestro.model import PullState
from tests.conftest import Sandbox
from tests.lanes.repair_round import in_repair_round

pytestmark = pytest.mark.slow

REPAIR = """
repair:
  - sleep: 3
  - append: {path: feature.txt, content: "reviewed\\n"}
  - commit: "address review"
  - repair_complete: "review addressed"
"""


def moved_during_repair(sandbox: Sandbox, identifier: str, state: str) -> None:
    lane = in_repair_round(sandbox, identifier, REPAIR)
    sandbox.tracker.transition(identifier, state)
    lane.communicate(timeout=120)


def dispatched(sandbox: Sandbox, identifier: str) -> list[str]:
    plan = json.loads(sandbox.maestro("run", "--once", "--json", check=True).stdout)
    return [d["reason"] for d in plan["dispatch"] if d["issue"] == identifier]


def test_a_repair_of_an_issue_moved_away_is_not_pushed(sandbox: Sandbox) -> None:
    moved_during_repair(sandbox, "RM-1", "Todo")
    assert sandbox.origin_file("feature.txt", ref="maestro/rm-1") == "feature\n"


def test_the_loop_stops_starting_a_lane_whose_issue_left_review_during_a_repair(
        sandbox: Sandbox) -> None:
    moved_during_repair(sandbox, "RM-2", "Todo")
    starts = [dispatched(sandbox, "RM-2") for _ in range(3)]
    assert starts[1:] == [[], []]
    assert sandbox.outcome("RM-2") == "needs_human"


def test_a_person_is_told_the_issue_left_review_during_the_repair(sandbox: Sandbox) -> None:
    moved_during_repair(sandbox, "RM-3", "Todo")
    dispatched(sandbox, "RM-3")
    reason = (sandbox.lane_file("RM-3", "attention.json") or {}).get("reason", "")
    assert "left the review state (now Todo)" in reason


def test_the_stop_keeps_the_pr_open_with_its_review(sandbox: Sandbox) -> None:
    moved_during_repair(sandbox, "RM-4", "Backlog")
    pr = LocalForge(sandbox.repo, "origin").find_pr("maestro/rm-4")
    assert pr is not None and pr.state == PullState.OPEN


def test_the_state_a_person_moved_the_issue_to_stays(sandbox: Sandbox) -> None:
    moved_during_repair(sandbox, "RM-5", "Backlog")
    dispatched(sandbox, "RM-5")
    issue = sandbox.issue("RM-5")
    assert issue.state == "Backlog"
    assert issue.has_label("maestro:needs-attention")
