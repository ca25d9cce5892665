"""The post-review lifecycle end to end on the local forge: real git, real lane processes,
the scripted agent, a person played by ``maestro review`` and the files tracker."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from maestro.lanes.record import comments
from tests.conftest import Sandbox

pytestmark = pytest.mark.slow

SCRIPT = """
steps:
  - write: {path: feature.txt, content: "feature\\n"}
  - commit: "add feature"
  - handoff: "feature added"
repair:
  - save_input: %(inputs)s
  - append: {path: feature.txt, content: "reviewed\\n"}
  - commit: "address review"
  - repair_complete: "review addressed"
"""

CONFLICT_SCRIPT = """
steps:
  - write: {path: feature.txt, content: "feature\\n"}
  - commit: "add feature"
  - handoff: "feature added"
repair:
  - save_input: %(inputs)s
  - run: "git fetch -q origin main && git merge -q origin/main; true"
  - write: {path: feature.txt, content: "feature\\nbase line\\n"}
  - commit: "merge main and resolve the conflict"
  - repair_complete: "merged the base"
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()


def ref(cwd: Path, name: str) -> str | None:
    proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", name], cwd=cwd,
                          capture_output=True, text=True, check=False)
    return proc.stdout.strip() or None


def handed_off(sandbox: Sandbox, identifier: str, script: str, tmp_path: Path) -> Path:
    """Run the lane to review_wait; returns the file the repair turn saves its input to."""
    inputs = tmp_path / f"{identifier}-repair-input.txt"
    sandbox.add_issue(identifier, script=script % {"inputs": str(inputs)})
    sandbox.lane(identifier)
    assert sandbox.outcome(identifier) == "waiting"
    assert sandbox.lane_file(identifier, "review.json")["classification"] == "review_wait"
    return inputs


def pull(sandbox: Sandbox, identifier: str) -> dict[str, object]:
    import json

    number = sandbox.lane_file(identifier, "pr.json")["number"]
    data = json.loads((sandbox.origin / "maestro-forge" / "pulls" / f"{number}.json").read_text())
    assert isinstance(data, dict)
    return data


def merges(sandbox: Sandbox) -> int:
    return sum(1 for s in sandbox.origin_log() if s.startswith("Merge pull request"))


def assert_lane_kept(sandbox: Sandbox, identifier: str) -> None:
    branch = f"maestro/{identifier.lower()}"
    assert (sandbox.repo / ".worktrees" / identifier).is_dir()
    assert ref(sandbox.origin, f"refs/heads/{branch}")
    assert ref(sandbox.repo, f"refs/heads/{branch}")
    assert sandbox.lane_file(identifier, "cleanup.json") is None


def test_changes_requested_then_repaired_then_approved_lands_and_cleans_up(
        sandbox: Sandbox, tmp_path: Path) -> None:
    inputs = handed_off(sandbox, "LC-1", SCRIPT, tmp_path)
    first_head = sandbox.lane_file("LC-1", "pr.json")["validated_head"]
    sandbox.maestro("review", "request-changes", "LC-1", "--comment", "say it was reviewed",
                    "--file", "feature.txt", "--line", "1", check=True)

    sandbox.lane("LC-1")
    review = sandbox.lane_file("LC-1", "review.json")
    record = sandbox.lane_file("LC-1", "pr.json")
    assert sandbox.outcome("LC-1") == "waiting"
    assert record["repair_rounds"] == 1 and record["validated_head"] != first_head
    assert review["signals"]["head"] == record["validated_head"]
    assert review["signals"]["unresolved_threads"] == 0  # outdated: the repair changed its file
    fed = inputs.read_text()
    assert "say it was reviewed" in fed and "feature.txt:1" in fed

    sandbox.approve("LC-1")
    assert sandbox.lane("LC-1").returncode == 0
    assert sandbox.outcome("LC-1") == "finished"
    assert sandbox.issue("LC-1").state == "Done"
    assert sandbox.origin_file("feature.txt") == "feature\nreviewed\n"
    assert merges(sandbox) == 1
    merge = sandbox.lane_file("LC-1", "merge.json")
    closeout = [b for b in comments.blocks(sandbox.comments("LC-1")) if b["kind"] == "closeout"]
    assert len(closeout) == 1 and closeout[0]["merge_commit"] == merge["commit"]
    assert sandbox.lane_file("LC-1", "cleanup.json")["reason"] == "delivered"
    assert not (sandbox.repo / ".worktrees" / "LC-1").exists()
    assert ref(sandbox.origin, "refs/heads/maestro/lc-1") is None
    assert ref(sandbox.repo, "refs/heads/maestro/lc-1") is None


def test_issue_cancelled_before_merge_closes_the_pr_and_removes_the_lane(
        sandbox: Sandbox, tmp_path: Path) -> None:
    handed_off(sandbox, "LC-2", SCRIPT, tmp_path)
    main_before = ref(sandbox.origin, "refs/heads/main")
    sandbox.tracker.transition("LC-2", "Canceled")

    sandbox.lane("LC-2")
    assert sandbox.outcome("LC-2") == "terminated"
    assert sandbox.lane_file("LC-2", "review.json")["classification"] == "cancelled"
    assert pull(sandbox, "LC-2")["state"] == "closed"
    assert sandbox.lane_file("LC-2", "cleanup.json")["reason"] == "cancelled"
    assert not (sandbox.repo / ".worktrees" / "LC-2").exists()
    assert ref(sandbox.origin, "refs/heads/maestro/lc-2") is not None  # the closed PR's
    assert ref(sandbox.repo, "refs/heads/maestro/lc-2") is None
    assert ref(sandbox.origin, "refs/heads/main") == main_before
    assert sandbox.issue("LC-2").state == "Canceled"


def test_pr_closed_unmerged_stops_for_a_human_and_keeps_everything(
        sandbox: Sandbox, tmp_path: Path) -> None:
    handed_off(sandbox, "LC-3", SCRIPT, tmp_path)
    sandbox.maestro("review", "close", "LC-3", check=True)

    sandbox.lane("LC-3")
    assert sandbox.outcome("LC-3") == "needs_human"
    attention = sandbox.lane_file("LC-3", "attention.json")
    assert attention["error_class"] == "manual_intervention_required"
    assert "closed without merge" in attention["reason"]
    assert_lane_kept(sandbox, "LC-3")
    assert merges(sandbox) == 0


def test_a_base_that_conflicts_is_repaired_by_merging_it(sandbox: Sandbox,
                                                         tmp_path: Path) -> None:
    inputs = handed_off(sandbox, "LC-4", CONFLICT_SCRIPT, tmp_path)
    (sandbox.repo / "feature.txt").write_text("base line\n")
    git(sandbox.repo, "add", "feature.txt")
    git(sandbox.repo, "commit", "-q", "-m", "a conflicting change on main")
    git(sandbox.repo, "push", "-q", "origin", "main")

    sandbox.lane("LC-4")
    record = sandbox.lane_file("LC-4", "pr.json")
    assert record["repair_rounds"] == 1
    assert "merge conflict with main" in inputs.read_text()
    assert pull(sandbox, "LC-4")["mergeable"] is not False
    head = record["validated_head"]
    assert git(sandbox.origin, "merge-base", "--is-ancestor", "main", head) == ""

    sandbox.approve("LC-4")
    sandbox.lane("LC-4")
    assert sandbox.outcome("LC-4") == "finished"
    assert sandbox.origin_file("feature.txt") == "feature\nbase line\n"
    assert sandbox.issue("LC-4").state == "Done"


def test_feedback_beyond_the_repair_budget_stops_for_a_human(sandbox: Sandbox,
                                                              tmp_path: Path) -> None:
    sandbox.edit_workflow("max_turns = 10", "max_turns = 10\nmax_repair_rounds = 1")
    handed_off(sandbox, "LC-5", SCRIPT, tmp_path)
    sandbox.maestro("review", "request-changes", "LC-5", "--comment", "again", check=True)
    sandbox.lane("LC-5")
    assert sandbox.lane_file("LC-5", "pr.json")["repair_rounds"] == 1
    sandbox.maestro("review", "request-changes", "LC-5", "--comment", "and again", check=True)

    sandbox.lane("LC-5")
    assert sandbox.outcome("LC-5") == "needs_human"
    review = sandbox.lane_file("LC-5", "review.json")
    assert review["classification"] == "manual_intervention_required"
    assert "budget 1" in review["reason"]
    assert sandbox.lane_file("LC-5", "pr.json")["repair_rounds"] == 1
    assert_lane_kept(sandbox, "LC-5")


def test_killed_between_merge_and_closeout_resumes_into_closeout_without_a_second_merge(
        sandbox: Sandbox, tmp_path: Path) -> None:
    handed_off(sandbox, "LC-6", SCRIPT, tmp_path)
    sandbox.approve("LC-6")
    env = {"MAESTRO_FAULT_KILL": "land:after", "MAESTRO_FAULT_ONCE": str(tmp_path / "fired")}

    killed = sandbox.lane("LC-6", env=env)
    assert killed.returncode == -9
    assert sandbox.lane_file("LC-6", "merge.json") is None
    assert pull(sandbox, "LC-6")["state"] == "merged"
    merged_main = ref(sandbox.origin, "refs/heads/main")

    sandbox.lane("LC-6", env=env)
    assert sandbox.outcome("LC-6") == "finished"
    assert merges(sandbox) == 1
    assert ref(sandbox.origin, "refs/heads/main") == merged_main
    assert sandbox.lane_file("LC-6", "merge.json")["commit"] == merged_main
    assert sandbox.issue("LC-6").state == "Done"


def test_a_head_pushed_outside_maestro_stops_for_a_human(sandbox: Sandbox,
                                                         tmp_path: Path) -> None:
    handed_off(sandbox, "LC-7", SCRIPT, tmp_path)
    branch = "refs/heads/maestro/lc-7"
    head = git(sandbox.origin, "rev-parse", branch)
    foreign = git(sandbox.origin, "commit-tree", f"{head}^{{tree}}", "-p", head, "-m",
                  "pushed by someone else")
    git(sandbox.origin, "update-ref", branch, foreign, head)
    sandbox.approve("LC-7")

    sandbox.lane("LC-7")
    assert sandbox.outcome("LC-7") == "needs_human"
    review = sandbox.lane_file("LC-7", "review.json")
    assert review["classification"] == "manual_intervention_required"
    assert "not the validated head" in review["reason"]
    assert review["signals"]["head"] == foreign
    assert merges(sandbox) == 0
    assert_lane_kept(sandbox, "LC-7")


@pytest.mark.parametrize(("decided", "said"), [("Canceled", "moved to Canceled"),
                                               ("Todo", "moved back to Todo")])
def test_a_persons_move_that_lands_after_the_merge_is_not_overwritten_by_closeout(
        sandbox: Sandbox, tmp_path: Path, decided: str, said: str) -> None:
    handed_off(sandbox, "LC-8", SCRIPT, tmp_path)
    sandbox.approve("LC-8")
    env = {"MAESTRO_FAULT_KILL": "closeout:before",
           "MAESTRO_FAULT_ONCE": str(tmp_path / "fired")}
    assert sandbox.lane("LC-8", env=env).returncode == -9  # merged, not yet closed out
    sandbox.maestro("issue", "move", "LC-8", decided, check=True)  # a person, meanwhile

    sandbox.lane("LC-8", env=env)
    assert sandbox.outcome("LC-8") == "needs_human"
    assert sandbox.issue("LC-8").state == decided
    assert "maestro:needs-attention" in sandbox.issue("LC-8").labels
    assert said in sandbox.lane_file("LC-8", "attention.json")["reason"]
    assert sandbox.lane_file("LC-8", "closeout.json") is None
    assert merges(sandbox) == 1


def test_a_retry_after_a_persons_push_never_drops_their_commit(sandbox: Sandbox,
                                                             tmp_path: Path) -> None:
    from maestro.operator import actions

    handed_off(sandbox, "LC-9", SCRIPT, tmp_path)
    sandbox.approve("LC-9")
    branch = "refs/heads/maestro/lc-9"
    head = git(sandbox.origin, "rev-parse", branch)
    theirs = git(sandbox.origin, "commit-tree", f"{head}^{{tree}}", "-p", head, "-m",
                 "a reviewer's fix-up, pushed by hand")
    git(sandbox.origin, "update-ref", branch, theirs, head)
    sandbox.lane("LC-9")
    assert sandbox.outcome("LC-9") == "needs_human"  # not the validated head
    actions.retry(sandbox.config, "LC-9")  # what the runbook says; the lane starts afresh

    sandbox.lane("LC-9")
    assert sandbox.outcome("LC-9") == "needs_human"
    assert sandbox.lane_file("LC-9", "attention.json")["error_class"] == "foreign_remote_head"
    assert ref(sandbox.origin, branch) == theirs  # the person's commit is still there
    assert merges(sandbox) == 0
