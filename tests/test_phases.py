"""Each phase runs alone as its own doit task and leaves its target in the lane folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import Sandbox


def doit(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doit", *args], cwd=sandbox.repo,
                          capture_output=True, text=True, timeout=120)


def test_each_phase_runs_alone_and_writes_its_target(sandbox: Sandbox) -> None:
    sandbox.add_issue("PH-1")
    lane = sandbox.repo / ".maestro" / "lanes" / "PH-1"
    assert doit(sandbox, "claim:PH-1").returncode == 0
    lease = sandbox.lane_file("PH-1", "lease.json")
    assert lease["attempt"] == 1 and lease["run_id"].startswith("run-")
    assert not (lane / "workspace.json").exists()

    assert doit(sandbox, "prepare:PH-1").returncode == 0
    workspace = sandbox.lane_file("PH-1", "workspace.json")
    assert workspace["path"] == ".worktrees/PH-1"
    assert workspace["branch"] == "maestro/ph-1"
    assert (sandbox.repo / ".worktrees" / "PH-1" / ".git").exists()

    assert doit(sandbox, "agent:PH-1").returncode == 0
    result = sandbox.lane_file("PH-1", "result.json")
    assert result["disposition"] == "review_handoff"
    assert sandbox.issue("PH-1").state == "In Progress"

    assert doit(sandbox, "validate:PH-1").returncode == 0
    validation = sandbox.lane_file("PH-1", "validation.json")
    assert validation["passed"] is True
    assert validation["commands"][0]["exit_code"] == 0

    assert doit(sandbox, "handoff:PH-1").returncode == 0
    record = sandbox.lane_file("PH-1", "pr.json")
    assert record["validated_head"] == validation["head"]
    assert sandbox.issue("PH-1").state == "In Review"

    assert doit(sandbox, "review:PH-1").returncode == 0
    assert sandbox.lane_file("PH-1", "review.json")["classification"] == "review_wait"
    assert not (lane / "merge.json").exists()

    sandbox.approve("PH-1")
    assert doit(sandbox, "review:PH-1").returncode == 0
    assert sandbox.lane_file("PH-1", "review.json")["classification"] == "ready_to_land"

    assert doit(sandbox, "land:PH-1").returncode == 0
    assert sandbox.lane_file("PH-1", "merge.json")["method"] == "merge"
    assert doit(sandbox, "closeout:PH-1").returncode == 0
    assert sandbox.issue("PH-1").state == "Done"
    assert doit(sandbox, "cleanup:PH-1").returncode == 0
    assert not (sandbox.repo / ".worktrees" / "PH-1").exists()
    assert sandbox.origin_file("notes/PH-1.md") is not None


def test_a_finished_lane_is_a_no_op(sandbox: Sandbox) -> None:
    sandbox.add_issue("PH-2")
    sandbox.lane("PH-2")
    sandbox.approve("PH-2")
    assert sandbox.lane("PH-2").returncode == 0
    journal = (sandbox.repo / ".maestro" / "lanes" / "PH-2" / "journal.jsonl").read_text()
    again = sandbox.lane("PH-2")
    assert again.returncode == 0
    assert "finished" in again.stdout
    after = (sandbox.repo / ".maestro" / "lanes" / "PH-2" / "journal.jsonl").read_text()
    assert after == journal, "a finished lane must not run any phase again"


def test_doit_list_shows_the_phases(sandbox: Sandbox) -> None:
    listing = doit(sandbox, "list").stdout
    for phase in ("claim", "prepare", "agent", "validate", "handoff", "review", "land",
                  "closeout", "cleanup", "lane"):
        assert phase in listing
    assert "refresh the issue, check eligibility" in listing


def test_squash_merge_is_configurable(sandbox: Sandbox) -> None:
    sandbox.edit_workflow('merge_method = "merge"', 'merge_method = "squash"')
    sandbox.add_issue("PH-3")
    sandbox.lane("PH-3")
    sandbox.approve("PH-3")
    sandbox.lane("PH-3")
    assert sandbox.outcome("PH-3") == "finished"
    assert sandbox.origin_log()[0] == "PH-3: Task PH-3 (#1)"


def test_blocked_issue_waits_for_its_blocker(sandbox: Sandbox) -> None:
    sandbox.add_issue("PH-4")
    sandbox.add_issue("PH-5", blocked_by=["PH-4"])
    proc = sandbox.lane("PH-5")
    assert proc.returncode == 0
    assert sandbox.outcome("PH-5") == "skipped"
    assert "blocked by PH-4" in sandbox.lane_file("PH-5", "outcome.json")["reason"]


def test_in_progress_issues_are_never_new_work(sandbox: Sandbox) -> None:
    sandbox.add_issue("PH-6", state="In Progress")
    sandbox.lane("PH-6")
    assert sandbox.outcome("PH-6") == "skipped"
    assert not (sandbox.repo / ".worktrees" / "PH-6").exists()


def test_maestro_init_makes_doit_lane_work_in_any_repository(tmp_path: Path) -> None:
    origin, repo = tmp_path / "origin.git", tmp_path / "work"
    for args in (["init", "-q", "--bare", "-b", "main", str(origin)],
                 ["init", "-q", "-b", "main", str(repo)]):
        subprocess.run(["git", *args], check=True)
    (repo / "app.txt").write_text("app\n")
    init = subprocess.run([sys.executable, "-m", "maestro", "init", "--prefix", "APP"], cwd=repo,
                          capture_output=True, text=True, check=True)
    assert "wrote WORKFLOW.md" in init.stdout
    for args in (["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm",
                                 "init"], ["remote", "add", "origin", str(origin)],
                 ["push", "-q", "origin", "main"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    subprocess.run([sys.executable, "-m", "maestro", "issue", "new", "--title", "Do a thing"],
                   cwd=repo, check=True, capture_output=True)
    proc = subprocess.run([sys.executable, "-m", "doit", "lane:APP-1"], cwd=repo,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "waiting for review" in proc.stderr
    assert ".maestro/" in (repo / ".gitignore").read_text()


def test_the_agent_cannot_push_itself(sandbox: Sandbox) -> None:
    sandbox.add_issue("PH-7", script="""
steps:
  - write: {path: a.txt, content: "a\\n"}
  - commit: "a"
  - run: "git push origin HEAD:refs/heads/sneaky > pushed.log 2>&1; echo $? >> pushed.log"
  - handoff: "a"
""")
    sandbox.lane("PH-7")
    assert sandbox.lane_file("PH-7", "result.json")["disposition"] == "review_handoff"
    refs = subprocess.run(["git", "branch", "--list"], cwd=sandbox.origin, capture_output=True,
                          text=True, check=True).stdout
    assert "sneaky" not in refs
    assert "maestro/ph-7" in refs, "maestro itself still pushes the lane branch"
