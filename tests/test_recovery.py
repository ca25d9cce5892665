"""The daemon resumes every interrupted lane, whatever the tracker says (end to end).

Recovery is derived from the lane folder and the issue, not from "In Progress" alone: a
lane killed right after the move to In Review (before ``pr.json``) and a lane reset while
In Progress are picked up by a tick with nobody running ``maestro lane`` by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Sandbox


def tick(sandbox: Sandbox, **env: str) -> None:
    sandbox.maestro("run", "--once", "--json", check=True, env=env)


def killed_once(sandbox: Sandbox, point: str, tmp_path: Path) -> None:
    flag = tmp_path / "fired"
    tick(sandbox, MAESTRO_FAULT_KILL=point, MAESTRO_FAULT_ONCE=str(flag))
    assert flag.exists(), f"the fault {point} did not fire"


def test_lane_killed_after_the_move_to_in_review_is_resumed_by_a_tick(
        sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.add_issue("KR-1")
    killed_once(sandbox, "handoff:transitioned", tmp_path)
    assert sandbox.issue("KR-1").state == "In Review"
    assert sandbox.lane_file("KR-1", "pr.json") is None

    tick(sandbox)

    assert sandbox.lane_file("KR-1", "pr.json") is not None
    sandbox.approve("KR-1")
    tick(sandbox)
    assert sandbox.issue("KR-1").state == "Done"


def test_lane_reset_while_in_progress_is_resumed_by_a_tick(
        sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.add_issue("KR-2")
    killed_once(sandbox, "agent:started", tmp_path)
    assert sandbox.issue("KR-2").state == "In Progress"
    sandbox.maestro("lane", "KR-2", "--reset", check=True)

    tick(sandbox)

    assert sandbox.issue("KR-2").state == "In Review"


def test_lane_needing_a_human_is_not_resumed_by_a_tick(sandbox: Sandbox) -> None:
    sandbox.add_issue("KR-3", script="steps:\n  - attention: please look\n")
    tick(sandbox)
    assert sandbox.lane_file("KR-3", "attention.json") is not None
    sandbox.tracker.transition("KR-3", "In Progress")

    plan = json.loads(sandbox.maestro("run", "--once", "--dry-run", "--json", check=True).stdout)

    assert plan["dispatch"] == []


def test_lane_started_by_hand_holds_an_agent_slot(sandbox: Sandbox) -> None:
    from tests.test_leases import start_lane

    sandbox.edit_workflow("max_concurrent_agents = 2", "max_concurrent_agents = 1")
    sandbox.add_issue("KR-4", script="steps:\n  - sleep: 4\n  - handoff: nothing\n")
    sandbox.add_issue("KR-5")
    by_hand = start_lane(sandbox, "KR-4")
    try:
        plan = json.loads(sandbox.maestro("run", "--once", "--dry-run", "--json",
                                          check=True).stdout)
    finally:
        by_hand.communicate(timeout=120)

    assert plan["dispatch"] == []
    assert plan["skipped"] == [{"issue": "KR-5", "reason": "no free agent slot "
                                                           "(max_concurrent_agents=1)"}]


CRASH_ONCE = """
steps:
  - crash: {attempts: [1]}
  - write: {path: done.txt, content: "x\\n"}
  - commit: add
  - handoff: done
"""


def test_due_retries_never_start_more_lanes_than_the_limit(sandbox: Sandbox) -> None:
    sandbox.edit_workflow("max_concurrent_agents = 2", "max_concurrent_agents = 1")
    for identifier in ("KR-6", "KR-7"):
        sandbox.add_issue(identifier, script=CRASH_ONCE)
    tick(sandbox)
    tick(sandbox)
    queue = sandbox.repo / ".maestro" / "retries.json"
    entries = json.loads(queue.read_text())
    assert sorted(entries) == ["KR-6", "KR-7"]
    for entry in entries.values():
        entry["due_at"] = "2020-01-01T00:00:00+00:00"
    queue.write_text(json.dumps(entries))

    plan = json.loads(sandbox.maestro("run", "--once", "--dry-run", "--json",
                                      check=True).stdout)

    assert [item["issue"] for item in plan["dispatch"]] == ["KR-6"]
    assert [item["issue"] for item in plan["retries_waiting"]] == ["KR-7"]


def test_lane_killed_after_its_agent_asked_for_a_human_finishes_the_attention_path(
        sandbox: Sandbox, tmp_path: Path) -> None:
    """The agent's own label must not strand its lane (chaos series, seed 122)."""
    sandbox.add_issue("KR-6", script="steps:\n  - attention: please look\n")
    killed_once(sandbox, "agent:after", tmp_path)
    assert sandbox.issue("KR-6").has_label("maestro:needs-attention")
    assert sandbox.lane_file("KR-6", "attention.json") is None

    tick(sandbox)

    issue = sandbox.issue("KR-6")
    assert issue.state == "Todo" and issue.has_label("maestro:needs-attention")
    assert sandbox.lane_file("KR-6", "attention.json") is not None
