"""kill -9 before, in the middle of and after each phase's side effect, then run again.

``tests/test_resume.py`` kills at the 15 points it was written with; these rows add the
points that complete the matrix (the "before" of each phase with an external side effect,
and the "middle" of the agent's tool calls, the local forge's merge and the cleanup). Every
row must reach exactly the end state of the uninterrupted run, with the same sequence of
effective tracker writes (no transition, label or comment twice), one PR, one push per
commit and one merge.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.faults.matrix import RESUMED, FaultBox, Row, deliver, row, signature
from tests.test_resume import assert_delivered_once

KILLS = [
    row("prepare", "kill -9 before the worktree (`prepare:before`)", RESUMED),
    row("agent", "kill -9 before the In Progress transition (`agent:before`)", RESUMED),
    row("agent", "kill -9 after a comment, before its tool record (`tool:issue_comment`)",
        RESUMED),
    row("agent", "kill -9 after lane_open_pr pushed, before its record (`tool:lane_open_pr`)",
        RESUMED),
    row("handoff", "kill -9 before the push (`handoff:before`)", RESUMED),
    row("land", "kill -9 before the merge (`land:before`)", RESUMED),
    row("land", "kill -9 after the base moved, before the PR record (`land:merged`)",
        RESUMED),
    row("closeout", "kill -9 before the Done transition (`closeout:before`)", RESUMED),
    row("cleanup", "kill -9 before any removal (`cleanup:before`)", RESUMED),
    row("cleanup", "kill -9 between worktree and branch removal (`cleanup:worktree-removed`)",
        RESUMED),
]


def point_of(matrix_row: Row) -> str:
    return matrix_row.fault.split("`")[1]


def test_the_uninterrupted_lane_is_the_reference(uninterrupted: dict[str, Any]) -> None:
    assert uninterrupted["state"] == "Done"
    assert [e for e, _ in uninterrupted["effects"]].count("transition") == 3
    assert uninterrupted["merges"] == 1 and uninterrupted["prs"] == ["merged"]
    assert uninterrupted["pushes_of_one_commit"] == 1


@pytest.mark.parametrize("matrix_row", KILLS)
def test_killed_lane_reaches_the_uninterrupted_end_state(
        faultbox: FaultBox, uninterrupted: dict[str, Any], matrix_row: Row) -> None:
    faultbox.env["MAESTRO_FAULT_KILL"] = point_of(matrix_row)
    codes = deliver(faultbox, "RES-1")
    assert faultbox.flag.exists(), "the fault point was never reached"
    assert -9 in codes
    assert_delivered_once(faultbox, "RES-1")  # type: ignore[arg-type]
    assert signature(faultbox, "RES-1") == uninterrupted
    branches = subprocess.run(["git", "branch", "--list", "maestro/*"], cwd=faultbox.repo,
                              capture_output=True, text=True, check=True).stdout
    assert branches.strip() == ""
