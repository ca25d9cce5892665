"""A lane handed off (``pr.json``) that stopped before its first review look is shown in
review, not as a kept worktree alone (breaker 20, F5)."""

from __future__ import annotations

from pathlib import Path

from maestro.config.service import ServiceConfig
from maestro.lanes.record.lane_read import NOT_YET_REVIEWED
from maestro.lanes.record.state import LaneState
from maestro.operator.status import snapshot


def handed_off(tmp_path: Path, identifier: str = "HO-1") -> ServiceConfig:
    config = ServiceConfig().resolved(tmp_path)
    state = LaneState(config.lanes_root, identifier)
    state.write("lease.json", {"run_id": "run-20261201T000000Z-abc123", "attempt": 1,
                               "issue": identifier})
    state.write("workspace.json", {"path": f".worktrees/{identifier}",
                                   "branch": f"maestro/{identifier.lower()}"})
    state.write("pr.json", {"forge": "local", "number": 1, "url": "local://origin/pulls/1",
                            "branch": f"maestro/{identifier.lower()}", "base": "main",
                            "validated_head": "0" * 40})
    return config


def test_a_lane_stopped_between_its_handoff_and_its_first_review_is_in_review(
        tmp_path: Path) -> None:
    doc = snapshot(handed_off(tmp_path))
    assert [lane["issue"] for lane in doc["in_review"]] == ["HO-1"]
    assert doc["in_review"][0]["review"] == {"classification": None,
                                             "reason": NOT_YET_REVIEWED, "signals": None}


def test_a_lane_without_a_pr_record_has_no_review_entry(tmp_path: Path) -> None:
    config = handed_off(tmp_path)
    LaneState(config.lanes_root, "HO-1").remove("pr.json")
    doc = snapshot(config)
    assert doc["in_review"] == [] and doc["lanes"][0]["review"] is None
