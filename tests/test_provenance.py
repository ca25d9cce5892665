"""No merge carries a change no session made on purpose.

The rule is a table over :class:`LaneFacts`; the lanes below run it on real git: a foreign
commit and a lost file stop the lane at handoff with a comment naming them, while a repair
that merges the base branch into the lane branch lands."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from maestro.fsutil import read_json
from maestro.lanes.push.provenance import Commit, LaneFacts, SessionSpan, judge
from maestro.lanes.record import comments
from tests.conftest import Sandbox
from tests.test_phases import doit
from tests.test_scale_out import fresh_runner, run_doit

AGENT = SessionSpan("agent run-1", commits=frozenset({"a1", "a2"}),
                    deleted=frozenset({"old.txt"}))
REPAIR = SessionSpan("repair run-1.repair1", commits=frozenset({"m1"}))
BASELINE = LaneFacts(head="m1", commits=(Commit("a1"), Commit("a2"), Commit("m1")),
                     deleted=frozenset({"old.txt"}), sessions=(AGENT, REPAIR))


@pytest.mark.parametrize(("change", "foreign", "lost"), [
    ({}, [], []),
    ({"commits": (Commit("a1"), Commit("p1", "a person's fix"))}, ["p1"], []),
    ({"sessions": (AGENT,)}, ["m1"], []),
    ({"deleted": frozenset({"old.txt", "README.md"})}, [], ["README.md"]),
    ({"sessions": (dataclasses.replace(AGENT, missing_at_start=frozenset({"old.txt"})),
                   REPAIR)}, [], ["old.txt"]),
    ({"sessions": ()}, ["a1", "a2", "m1"], ["old.txt"]),
    ({"sessions": (), "recorded": False}, [], []),
    ({"sessions": (AGENT, REPAIR, SessionSpan("published", frozenset({"p1"}))),
      "commits": (Commit("a1"), Commit("p1"))}, [], []),
], ids=["sessions-made-everything", "a-commit-no-session-made", "an-unrecorded-session",
        "a-file-no-session-deleted", "a-deletion-of-a-file-missing-at-start",
        "records-lost-but-file-present", "a-lane-from-before-records", "a-published-head"])
def test_judge_finds_foreign_commits_and_lost_files(change: dict[str, object],
                                                    foreign: list[str],
                                                    lost: list[str]) -> None:
    verdict = judge(dataclasses.replace(BASELINE, **change))  # type: ignore[arg-type]
    assert [c.sha for c in verdict.foreign] == foreign
    assert list(verdict.lost) == lost


def test_the_refusal_names_each_commit_and_file() -> None:
    verdict = judge(dataclasses.replace(
        BASELINE, commits=(Commit("p" * 40, "sneak in"),), deleted=frozenset({"README.md"})))
    reason = verdict.reason("h" * 40)
    assert "pppppppppppp 'sneak in'" in reason
    assert "README.md" in reason
    assert verdict.error_class == "foreign_commits"


# -- on real lanes ----------------------------------------------------------------------------


def git(sandbox: Sandbox, identifier: str, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=p", "-c", "user.email=p@p", *args],
                          cwd=sandbox.repo / ".worktrees" / identifier, check=True,
                          capture_output=True, text=True).stdout.strip()


def run_to_validated(sandbox: Sandbox, identifier: str) -> None:
    for phase in ("claim", "prepare", "agent", "validate"):
        proc = doit(sandbox, f"{phase}:{identifier}")
        assert proc.returncode == 0, proc.stdout + proc.stderr


def failure_comment(sandbox: Sandbox, identifier: str) -> str:
    notes = [n.body for n in sandbox.comments(identifier)
             if (comments.block_of(n) or {}).get("kind") == "failure"]
    assert len(notes) == 1, notes
    return notes[0]


def commit_after_validation(sandbox: Sandbox, identifier: str) -> str:
    """A person commits in the worktree after validation (and the record says validated, so
    only provenance can stop the handoff); returns the commit."""
    run_to_validated(sandbox, identifier)
    (sandbox.repo / ".worktrees" / identifier / "extra.txt").write_text("not the agent's\n")
    git(sandbox, identifier, "add", "extra.txt")
    git(sandbox, identifier, "commit", "-qm", "a person's commit")
    sneaked = git(sandbox, identifier, "rev-parse", "HEAD")
    validation = sandbox.lane_file(identifier, "validation.json")
    validation["head"] = sneaked
    (sandbox.repo / ".maestro" / "lanes" / identifier / "validation.json").write_text(
        json.dumps(validation))
    return sneaked


def test_a_commit_no_session_made_stops_the_handoff_and_is_named(sandbox: Sandbox) -> None:
    sandbox.add_issue("PV-1")
    sneaked = commit_after_validation(sandbox, "PV-1")
    doit(sandbox, "handoff:PV-1")
    assert sandbox.outcome("PV-1") == "needs_human"
    note = failure_comment(sandbox, "PV-1")
    assert sneaked[:12] in note and "a person's commit" in note
    assert "maestro:needs-attention" in sandbox.issue("PV-1").labels
    assert sandbox.lane_file("PV-1", "pr.json") is None
    assert sandbox.origin_file("extra.txt", "maestro/pv-1") is None


def test_an_agent_that_moves_its_branch_onto_a_persons_commits_did_not_make_them(
        sandbox: Sandbox) -> None:
    """``git reset --hard`` to a person's local branch (never pushed) made none of its
    commits: they are foreign, and nothing is pushed."""
    subprocess.run(["git", "-c", "user.name=p", "-c", "user.email=p@p", "commit", "-q",
                    "--allow-empty", "-m", "person: private wip (never pushed)"],
                   cwd=sandbox.repo, check=True)
    private = subprocess.run(["git", "rev-parse", "HEAD"], cwd=sandbox.repo, check=True,
                             capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "branch", "wip-private", private], cwd=sandbox.repo, check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "HEAD~1"], cwd=sandbox.repo, check=True)
    sandbox.add_issue("PV-9", script="""
steps:
  - run: "git reset -q --hard wip-private"
  - handoff: done
""")
    sandbox.lane("PV-9")
    assert sandbox.outcome("PV-9") == "needs_human"
    note = failure_comment(sandbox, "PV-9")
    assert "foreign_commits" in note and private[:12] in note
    pushed = subprocess.run(["git", "merge-base", "--is-ancestor", private, "maestro/pv-9"],
                            cwd=sandbox.origin, capture_output=True)
    assert pushed.returncode != 0  # the lane branch on origin does not carry it


def test_a_person_who_releases_the_lane_after_a_refusal_accepts_the_branch(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("PV-6")
    commit_after_validation(sandbox, "PV-6")
    doit(sandbox, "handoff:PV-6")
    assert sandbox.outcome("PV-6") == "needs_human"
    sandbox.tracker.remove_label("PV-6", "maestro:needs-attention")
    sandbox.lane("PV-6")
    assert sandbox.issue("PV-6").state == "In Review"
    assert sandbox.origin_file("extra.txt", "maestro/pv-6") == "not the agent's\n"


def test_a_file_the_lane_lost_without_a_session_deleting_it_stops_the_handoff(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("PV-2")
    run_to_validated(sandbox, "PV-2")
    git(sandbox, "PV-2", "rm", "-q", "README.md")
    git(sandbox, "PV-2", "commit", "-qm", "tidy")
    validation = sandbox.lane_file("PV-2", "validation.json")
    validation["head"] = git(sandbox, "PV-2", "rev-parse", "HEAD")
    (sandbox.repo / ".maestro" / "lanes" / "PV-2" / "validation.json").write_text(
        json.dumps(validation))
    doit(sandbox, "handoff:PV-2")
    note = failure_comment(sandbox, "PV-2")
    assert "lost 1 file(s) no session deleted: README.md" in note
    assert sandbox.origin_file("README.md", "main") is not None


def test_a_deletion_the_agent_committed_is_its_own_and_hands_off(sandbox: Sandbox) -> None:
    sandbox.add_issue("PV-3", script="""
steps:
  - run: "git rm -q README.md"
  - commit: "drop the readme on purpose"
  - handoff: "readme removed"
""")
    sandbox.lane("PV-3")
    assert sandbox.issue("PV-3").state == "In Review"
    assert sandbox.origin_file("README.md", "maestro/pv-3") is None


def test_a_repair_that_merges_the_base_branch_lands(sandbox: Sandbox) -> None:
    sandbox.add_issue("PV-4", script="""
steps:
  - write: {path: feature.txt, content: "feature\\n"}
  - commit: "feature"
  - handoff: "feature"
repair:
  - run: "git fetch -q origin main && git merge -q --no-edit origin/main"
  - repair_complete: "merged main"
""")
    sandbox.lane("PV-4")
    assert sandbox.issue("PV-4").state == "In Review"
    other = sandbox.root / "other"
    subprocess.run(["git", "clone", "-q", str(sandbox.origin), str(other)], check=True)
    (other / "upstream.txt").write_text("from main\n")
    for args in (["add", "-A"], ["commit", "-qm", "upstream change"],
                 ["push", "-q", "origin", "main"]):
        subprocess.run(["git", "-c", "user.name=o", "-c", "user.email=o@o", *args], cwd=other,
                       check=True)
    sandbox.maestro("review", "request-changes", "PV-4", "--comment", "merge main", check=True)
    sandbox.lane("PV-4")
    assert sandbox.lane_file("PV-4", "pr.json")["repair_rounds"] == 1
    sandbox.approve("PV-4")
    sandbox.lane("PV-4")
    assert sandbox.outcome("PV-4") == "finished", sandbox.lane_file("PV-4", "outcome.json")
    assert sandbox.origin_file("upstream.txt") == "from main\n"
    assert sandbox.origin_file("feature.txt") == "feature\n"


def test_lane_open_pr_refuses_to_push_a_commit_no_session_made(sandbox: Sandbox) -> None:
    sandbox.add_issue("PV-5")
    for phase in ("claim", "prepare"):
        assert doit(sandbox, f"{phase}:PV-5").returncode == 0
    (sandbox.repo / ".worktrees" / "PV-5" / "extra.txt").write_text("not the agent's\n")
    git(sandbox, "PV-5", "add", "extra.txt")
    git(sandbox, "PV-5", "commit", "-qm", "committed before the agent started")
    sneaked = git(sandbox, "PV-5", "rev-parse", "HEAD")
    sandbox.lane("PV-5")
    sandbox.lane("PV-5")
    assert sandbox.outcome("PV-5") == "needs_human"
    note = failure_comment(sandbox, "PV-5")
    assert "lane_open_pr refused" in note and sneaked[:12] in note
    assert sandbox.origin_file("extra.txt", "maestro/pv-5") is None


def test_a_lane_rebuilt_on_a_fresh_runner_trusts_the_head_its_comments_published(
        sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.add_issue("PV-7", script="""
steps:
  - write: {path: feature.txt, content: "feature\\n"}
  - commit: "feature"
  - handoff: "feature"
repair:
  - append: {path: feature.txt, content: "reviewed\\n"}
  - commit: "address review"
  - repair_complete: "addressed"
""")
    sandbox.lane("PV-7")
    sandbox.maestro("review", "request-changes", "PV-7", "--comment", "more", check=True)
    runner = fresh_runner(sandbox, tmp_path / "runner")
    assert run_doit(runner, "PV-7", None) == 0
    records = read_json(runner / ".maestro" / "lanes" / "PV-7" / "sessions.json")["sessions"]
    assert [r["phase"] for r in records] == ["published", "repair"]
    sandbox.approve("PV-7")
    assert run_doit(runner, "PV-7", None) == 0
    assert sandbox.issue("PV-7").state == "Done"
    assert sandbox.origin_file("feature.txt") == "feature\nreviewed\n"


def test_a_commit_made_in_the_background_during_validation_is_never_pushed(
        sandbox: Sandbox) -> None:
    """lane_open_pr pushes the commit it validated: a commit a process the agent left
    running makes while the commands run is refused, not published unvalidated."""
    sandbox.edit_workflow('validation_commands = ["python3 -m unittest -q test_hello"]',
                          'validation_commands = ["sleep 2", '
                          '"python3 -m unittest -q test_hello"]')
    sandbox.add_issue("PV-11", script="""
steps:
  - write: {path: notes.txt, content: "work\\n"}
  - commit: work
  - run: "(sleep 1; echo late > late.txt; git add late.txt; git commit -qm late) >/dev/null 2>&1 &"
  - open_pr: {title: "PV-11", body: "b"}
  - sleep: 2
""")
    sandbox.lane("PV-11")
    journal = (sandbox.repo / ".maestro/lanes/PV-11/journal.jsonl").read_text()
    [validated] = [json.loads(line)["head"] for line in journal.splitlines()
                   if '"pr_validation"' in line]
    pushed = subprocess.run(["git", "rev-parse", "maestro/pv-11"], cwd=sandbox.origin,
                            capture_output=True, text=True).stdout.strip()
    assert pushed == validated  # the commit the commands ran on, not the late one
    late = subprocess.run(["git", "log", "--format=%s", "-1", "maestro/pv-11"],
                          cwd=sandbox.repo, capture_output=True, text=True).stdout.strip()
    assert late == "late"  # the background commit did land on the local branch meanwhile
