"""kill -9 before, in the middle of and after each phase's side effect, then run again.

``tests/test_resume.py`` kills at the 15 points it was written with; these rows add the
points that complete the matrix (the "before" of each phase with an external side effect,
and the "middle" of the agent's tool calls, the local forge's merge and the cleanup). Every
row must reach exactly the end state of the uninterrupted run, with the same sequence of
effective tracker writes (no transition, label or comment twice), one PR, one push per
commit and one merge.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.faults.conftest import RESUMED, FaultBox, Row, row
from tests.test_resume import SCRIPT, assert_delivered_once, drive_to_end

PUSH_LOG = "maestro-pushes.log"


def install_push_log(origin: Path) -> None:
    """A post-receive hook in the bare origin that records every ref update it accepts."""
    hook = origin / "hooks" / "post-receive"
    hook.write_text(f"#!/bin/sh\ncat >> {PUSH_LOG}\n")
    hook.chmod(0o755)


def pushes(origin: Path) -> list[str]:
    log = origin / PUSH_LOG
    return log.read_text().splitlines() if log.exists() else []


def signature(box: FaultBox, identifier: str) -> dict[str, Any]:
    """Everything the world can observe of a delivered lane, minus run ids and times."""
    issue = box.issue(identifier)
    pulls = sorted((box.origin / "maestro-forge" / "pulls").glob("*.json"))
    pushed_commits = [line.split()[1] for line in pushes(box.origin)]
    return {
        "state": issue.state,
        "labels": sorted(issue.labels),
        "effects": [(e["effect"], e["args"]) for e in box.effects()],
        "prs": [json.loads(p.read_text())["state"] for p in pulls],
        "merges": sum(1 for s in box.origin_log() if s.startswith("Merge pull request")),
        "feature": box.origin_file("feature.txt"),
        "pushes_of_one_commit": max(
            (pushed_commits.count(c) for c in pushed_commits), default=0),
    }


def deliver(box: FaultBox, identifier: str) -> list[int]:
    install_push_log(box.origin)
    box.add_issue(identifier, script=SCRIPT)
    return drive_to_end(box, identifier, {}, request_changes=True)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The reference: the same lane, with a review round, run without any fault."""
    tmp = tmp_path_factory.mktemp("uninterrupted")
    sandbox = Sandbox(tmp / "sandbox")
    for path in (sandbox.repo / "issues").glob("DEMO-*.md"):
        path.unlink()
    box = FaultBox(sandbox, tmp)
    deliver(box, "RES-1")
    return signature(box, "RES-1")


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
