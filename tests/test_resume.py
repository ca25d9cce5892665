"""A lane killed with SIGKILL anywhere resumes to the same end state with no repeated
side effect: one PR, one start comment per run, one completion, one merge, issue Done."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from maestro.lanes.record import comments
from tests.conftest import Sandbox

FAULT_POINTS = [
    "claim:before", "prepare:after", "agent:started", "agent:after", "validate:after",
    "handoff:pushed", "handoff:commented", "handoff:transitioned", "handoff:after",
    "repair:agent-done",
    "repair:pushed", "repair:recorded", "land:after", "closeout:transitioned",
    "closeout:after", "cleanup:after",
]

SCRIPT = """
steps:
  - write: {path: feature.txt, content: "feature\\n"}
  - commit: "add feature"
  - comment: "working on it"
  - handoff: "feature added"
repair:
  - append: {path: feature.txt, content: "reviewed\\n"}
  - commit: "address review"
  - repair_complete: "review addressed"
"""


def drive_to_end(sandbox: Sandbox, identifier: str, env: dict[str, str],
                 request_changes: bool) -> list[int]:
    """Run the lane repeatedly, playing the reviewer, until it finishes."""
    codes = []
    asked = False
    for _ in range(12):
        proc = sandbox.lane(identifier, env=env)
        codes.append(proc.returncode)
        outcome = sandbox.outcome(identifier)
        if outcome == "finished":
            return codes
        if proc.returncode == -9:
            continue  # killed: the outcome file is the previous run's; just run again
        if outcome == "waiting":
            record = sandbox.lane_file(identifier, "pr.json")
            if request_changes and not asked:
                sandbox.maestro("review", "request-changes", identifier, "--comment",
                                "please mark it reviewed", check=True)
                asked = True
            elif (sandbox.lane_file(identifier, "review.json") or {}).get(
                    "signals", {}).get("approvals", 0) == 0 or record["repair_rounds"]:
                sandbox.approve(identifier)
    raise AssertionError(f"lane never finished: {codes} {sandbox.outcome(identifier)}")


def assert_delivered_once(sandbox: Sandbox, identifier: str) -> None:
    issue = sandbox.issue(identifier)
    assert issue.state == "Done"
    notes = sandbox.comments(identifier)
    kinds = Counter((b["kind"], b["run_id"]) for b in comments.blocks(notes))
    assert all(count == 1 for count in kinds.values()), kinds
    assert sum(1 for k, _ in kinds if k == "start") == 1
    assert sum(1 for k, _ in kinds if k == "completion") == 1
    assert sum(1 for k, _ in kinds if k == "closeout") == 1
    plain = [n.body for n in notes if comments.block_of(n) is None]
    assert plain.count("working on it") == 1
    pulls = list((sandbox.origin / "maestro-forge" / "pulls").glob("*.json"))
    assert len(pulls) == 1
    assert json.loads(pulls[0].read_text())["state"] == "merged"
    assert sum(1 for s in sandbox.origin_log() if s.startswith("Merge pull request")) == 1
    assert sandbox.origin_file("feature.txt") == "feature\nreviewed\n"
    assert not (sandbox.repo / ".worktrees" / identifier).exists()


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_lane_killed_at_a_fault_point_resumes_without_repeating(
        sandbox: Sandbox, tmp_path: Path, point: str) -> None:
    sandbox.add_issue("RES-1", script=SCRIPT)
    env = {"MAESTRO_FAULT_KILL": point, "MAESTRO_FAULT_ONCE": str(tmp_path / "fired")}
    codes = drive_to_end(sandbox, "RES-1", env, request_changes=True)
    assert (tmp_path / "fired").exists(), f"fault point {point} was never reached"
    assert -9 in codes
    assert_delivered_once(sandbox, "RES-1")


def test_lane_killed_while_the_agent_runs_resumes_without_repeating(sandbox: Sandbox) -> None:
    sandbox.add_issue("RES-2", script="""
steps:
  - write: {path: feature.txt, content: "feature\\n"}
  - commit: "add feature"
  - comment: "working on it"
  - sleep: 30
  - handoff: "feature added"
""")
    lane = subprocess.Popen([sys.executable, "-m", "maestro", "lane", "RES-2", "--quiet"],
                            cwd=sandbox.repo)
    journal = sandbox.repo / ".maestro" / "lanes" / "RES-2" / "tools.jsonl"
    for _ in range(300):
        if journal.exists() and "issue_comment" in journal.read_text():
            break
        subprocess.run(["sleep", "0.1"], check=True)
    lane.kill()
    lane.wait()
    sandbox.edit_workflow("[execution]", "[execution]\n# resumed")
    script_file = sandbox.repo / "issues" / "RES-2.md"
    script_file.write_text(script_file.read_text().replace("  - sleep: 30\n", ""))
    drive_to_end(sandbox, "RES-2", {}, request_changes=False)
    notes = [n.body for n in sandbox.comments("RES-2")]
    assert notes.count("working on it") == 1
    assert sandbox.issue("RES-2").state == "Done"


def test_a_repair_whose_head_moved_before_its_push_stops_and_pushes_nothing(
        sandbox: Sandbox) -> None:
    """A commit that lands in the worktree between the repair's validation and its push
    (here by hand, while the lane was down) is never published: the lane stops first.
    The validated head's own provenance is fine; only the look at HEAD catches it."""
    sandbox.add_issue("RS-9", script=SCRIPT)
    assert sandbox.lane("RS-9").returncode in (0, 1)  # to review
    sandbox.maestro("review", "request-changes", "RS-9", "--comment", "mark it", check=True)
    killed = sandbox.lane("RS-9", env={"MAESTRO_FAULT_KILL": "repair:validated"})
    assert killed.returncode == -9
    worktree = sandbox.repo / ".worktrees" / "RS-9"
    (worktree / "late.txt").write_text("late\n")
    subprocess.run(["git", "add", "late.txt"], cwd=worktree, check=True)
    subprocess.run(["git", "-c", "user.name=p", "-c", "user.email=p@p", "commit", "-qm",
                    "late"], cwd=worktree, check=True)
    sandbox.lane("RS-9")
    assert sandbox.outcome("RS-9") == "needs_human"
    assert sandbox.lane_file("RS-9", "outcome.json")["error_class"] == "head_moved"
    assert sandbox.origin_file("late.txt", "maestro/rs-9") is None
