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
