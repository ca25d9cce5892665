"""A handoff must carry a change: a lane branch with no commit beyond the base is not
handed to review, neither through the agent's ``lane_open_pr`` nor through the handoff phase."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.slow


def doit(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doit", *args], cwd=sandbox.repo,
                          capture_output=True, text=True, timeout=120)


def test_an_agent_handing_off_nothing_fails_the_attempt_and_opens_no_pr(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("HC-1", script="steps:\n  - handoff: \"all done\"\n")
    sandbox.lane("HC-1")
    assert sandbox.issue("HC-1").state != "In Review"
    assert not list(sandbox.origin.glob("maestro-forge/pulls/*.json"))
    result = sandbox.lane_file("HC-1", "result.json")
    assert result["disposition"] == "failed"
    assert "no commit beyond origin/main" in result["reason"]


def test_the_handoff_phase_refuses_a_branch_without_a_commit(sandbox: Sandbox) -> None:
    sandbox.add_issue("HC-2")
    for phase in ("claim", "prepare", "agent"):
        assert doit(sandbox, f"{phase}:HC-2").returncode == 0
    worktree = sandbox.repo / ".worktrees" / "HC-2"
    # The work vanished after the agent (a person reset the branch): nothing to review.
    subprocess.run(["git", "reset", "-q", "--hard", "origin/main"], cwd=worktree, check=True)
    assert doit(sandbox, "validate:HC-2").returncode == 0
    doit(sandbox, "handoff:HC-2")
    assert sandbox.lane_file("HC-2", "pr.json") is None
    result = sandbox.lane_file("HC-2", "result.json")
    assert result["error_class"] == "no_change"
    assert "has no commit beyond origin/main" in result["reason"]
    assert sandbox.issue("HC-2").state == "In Progress"
