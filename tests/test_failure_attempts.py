"""Every failed run is an attempt; faults no retry can fix are found before the claim; the
attention path names the real cause (DESIGN trust rule 5)."""

from __future__ import annotations

import subprocess

from maestro.lanes.failures import error_class_of, real_cause
from tests.conftest import Sandbox

ATTENTION = "maestro:needs-attention"


def failure_comments(sandbox: Sandbox, identifier: str) -> list[str]:
    return [c.body for c in sandbox.comments(identifier) if "needs a human" in c.body]


def test_a_prepare_failure_counts_until_the_attention_path(sandbox: Sandbox) -> None:
    sandbox.add_issue("FA-1")
    # A person's folder where the worktree belongs: never removed, so prepare fails the
    # same way every run.
    (sandbox.repo / ".worktrees" / "FA-1").mkdir(parents=True)
    (sandbox.repo / ".worktrees" / "FA-1" / "notes.txt").write_text("mine\n")
    outcomes = []
    for _ in range(3):
        proc = sandbox.lane("FA-1")
        assert "Traceback" not in proc.stderr
        outcomes.append(sandbox.outcome("FA-1"))
    assert outcomes == ["retry", "retry", "needs_human"]
    issue = sandbox.issue("FA-1")
    assert issue.has_label(ATTENTION) and issue.state == "Todo"
    [comment] = failure_comments(sandbox, "FA-1")
    assert "prepare failed 3 times in a row" in comment
    assert "is not a worktree of this repository" in comment  # maestro's own words


def test_a_phase_that_recovers_clears_its_failure_count(sandbox: Sandbox) -> None:
    sandbox.add_issue("FA-6")
    blocker = sandbox.repo / ".worktrees" / "FA-6"
    blocker.mkdir(parents=True)
    (blocker / "notes.txt").write_text("mine\n")
    sandbox.lane("FA-6")
    assert sandbox.lane_file("FA-6", "phase-failures.json") == {"prepare": 1}
    (blocker / "notes.txt").unlink()
    blocker.rmdir()
    sandbox.lane("FA-6")
    assert sandbox.lane_file("FA-6", "phase-failures.json") == {}
    assert sandbox.issue("FA-6").state == "In Review"


def test_a_missing_base_branch_takes_the_attention_path_before_any_agent_runs(
        sandbox: Sandbox) -> None:
    sandbox.edit_workflow('base_branch = "main"', 'base_branch = "trunk"')
    sandbox.add_issue("FA-2")
    proc = sandbox.lane("FA-2")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert sandbox.issue("FA-2").has_label(ATTENTION)
    [comment] = failure_comments(sandbox, "FA-2")
    assert "'trunk' does not exist on git remote 'origin'" in comment
    assert "preflight_failed" in comment
    assert not (sandbox.repo / ".worktrees" / "FA-2").exists()
    assert not (sandbox.repo / ".maestro" / "lanes" / "FA-2" / "turns").exists()


def test_an_unreachable_origin_is_reported_with_gits_words(sandbox: Sandbox) -> None:
    subprocess.run(["git", "remote", "set-url", "origin", "/nonexistent/origin.git"],
                   cwd=sandbox.repo, check=True)
    sandbox.add_issue("FA-3")
    sandbox.lane("FA-3")
    [comment] = failure_comments(sandbox, "FA-3")
    assert "git remote 'origin' cannot be read" in comment
    assert "does not appear to be a git repository" in comment


def test_a_missing_agent_command_is_reported_before_the_claim(sandbox: Sandbox) -> None:
    path = sandbox.repo / "maestro.toml"
    path.write_text(path.read_text().replace('command = "python -m maestro.agents.scripted"',
                                             'command = "no-such-agent-cli app-server"'))
    sandbox.add_issue("FA-4")
    sandbox.lane("FA-4")
    [comment] = failure_comments(sandbox, "FA-4")
    assert "agent command 'no-such-agent-cli' was not found on PATH" in comment


def test_a_template_error_is_reported_before_the_claim(sandbox: Sandbox) -> None:
    # Valid for the file (refused names fail the load: tests/test_prompt_template.py), but
    # not for this issue, which has no blocker to index.
    sandbox.edit_workflow("Keep the change small",
                          "Keep {{ issue.blocked_by[0].identifier }} small")
    sandbox.add_issue("FA-5")
    sandbox.lane("FA-5")
    [comment] = failure_comments(sandbox, "FA-5")
    assert "WORKFLOW.md: line 22: template: index out of range" in comment
    assert sandbox.issue("FA-5").state == "Todo"


def test_an_invalid_verdict_names_the_tool_call_that_failed() -> None:
    cause = real_cause("issue_review_handoff was not called",
                       ["lane_open_pr: failed: push rejected: fatal: no such remote",
                        "lane_open_pr: failed: push rejected: fatal: no such remote"])
    assert cause == ("issue_review_handoff was not called; failed tool call: "
                     "lane_open_pr: failed: push rejected: fatal: no such remote")
    assert real_cause("no turn ran", []) == "no turn ran"


def test_error_classes_are_the_class_names_of_the_failure() -> None:
    from maestro.errors import WorkspaceError

    assert error_class_of(WorkspaceError("x")) == "WorkspaceError"
    assert error_class_of(OSError(28, "No space left on device")) == "OSError"


def test_status_and_the_retry_show_the_tool_call_that_failed(sandbox: Sandbox) -> None:
    hook = sandbox.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'refused by the origin policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    sandbox.add_issue("FA-7")
    sandbox.lane("FA-7")
    outcome = sandbox.lane_file("FA-7", "outcome.json")
    assert outcome["outcome"] == "retry"
    assert "failed tool call: lane_open_pr" in outcome["reason"]
    assert "refused by the origin policy" in outcome["reason"]
    status = sandbox.maestro("status", "--json", check=True).stdout
    assert "refused by the origin policy" in status
