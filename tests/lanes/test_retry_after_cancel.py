"""``maestro retry`` after a cancel starts the issue over from the base, on a fresh branch.

A cancelled lane's remote branch stays with its closed PR (nothing is deleted on a stop).
The retried lane found that branch on the remote and resumed from it, as a lane does on a
fresh runner, so its new PR carried the cancelled run's commits: the work the person had
just cancelled, put up for merge again (recovery.md promised "a new lane on a new branch").
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import Sandbox

pytestmark = pytest.mark.slow


def origin_git(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=box.origin, capture_output=True, text=True,
                          check=False)


def remote_head(box: Sandbox, branch: str) -> str:
    return origin_git(box, "rev-parse", f"refs/heads/{branch}").stdout.strip()


def cancelled_in_review(box: Sandbox, identifier: str) -> str:
    """A lane handed off (PR open), then cancelled in the tracker; its PR's head."""
    box.add_issue(identifier)
    box.lane(identifier)
    assert box.outcome(identifier) == "waiting"
    head = remote_head(box, f"maestro/{identifier.lower()}")
    box.tracker.transition(identifier, "Canceled")
    box.lane(identifier)
    assert box.outcome(identifier) == "terminated"
    return head


def test_a_retry_after_a_cancel_starts_from_the_base_not_the_cancelled_runs_branch(
        sandbox: Sandbox) -> None:
    old = cancelled_in_review(sandbox, "RC-1")
    sandbox.tracker.transition("RC-1", "Todo")
    sandbox.maestro("retry", "RC-1", check=True)
    sandbox.lane("RC-1")
    assert sandbox.outcome("RC-1") == "waiting"
    new = remote_head(sandbox, "maestro/rc-1")
    assert new != old
    assert origin_git(sandbox, "merge-base", "--is-ancestor", old, new).returncode == 1
    pr = sandbox.lane_file("RC-1", "pr.json")
    assert pr["validated_head"] == new and not pr["url"].endswith("/1")


def test_the_cancelled_runs_commits_stay_reachable_from_its_closed_pr(sandbox: Sandbox) -> None:
    old = cancelled_in_review(sandbox, "RC-2")
    sandbox.tracker.transition("RC-2", "Todo")
    sandbox.maestro("retry", "RC-2", check=True)
    sandbox.lane("RC-2")
    assert origin_git(sandbox, "rev-parse", "refs/pull/1/head").stdout.strip() == old


def test_a_retry_of_a_lane_stopped_for_a_person_resumes_its_open_prs_branch(
        sandbox: Sandbox) -> None:
    """Only a cancelled (or terminated) run is started over: a reset lane whose PR is
    still open goes on from its branch, as before."""
    sandbox.add_issue("RC-3")
    sandbox.lane("RC-3")
    old = remote_head(sandbox, "maestro/rc-3")
    sandbox.maestro("lane", "RC-3", "--reset", check=True)
    sandbox.lane("RC-3")
    assert sandbox.outcome("RC-3") == "waiting"
    new = remote_head(sandbox, "maestro/rc-3")
    assert origin_git(sandbox, "merge-base", "--is-ancestor", old, new).returncode == 0


def test_a_second_reset_before_the_first_push_still_starts_over(sandbox: Sandbox) -> None:
    """Breaker 28 F3: only the newest archived run was asked, so a second archive (a reset
    right after the retry) brought the cancelled commits back."""
    old = cancelled_in_review(sandbox, "RC-4")
    sandbox.tracker.transition("RC-4", "Todo")
    sandbox.maestro("retry", "RC-4", check=True)
    sandbox.maestro("lane", "RC-4", "--reset", check=True)
    sandbox.lane("RC-4")
    assert sandbox.outcome("RC-4") == "waiting"
    new = remote_head(sandbox, "maestro/rc-4")
    assert origin_git(sandbox, "merge-base", "--is-ancestor", old, new).returncode == 1


def test_a_lost_branch_of_a_lane_started_over_is_never_restored_at_the_cancelled_run(
        sandbox: Sandbox) -> None:
    """Breaker 28 F4: the healing restored a lost lane branch at the newest of origin's
    lane branch and the PR's head, which were the cancelled run's."""
    from maestro.lanes.context import LaneContext
    from maestro.lanes.worktree.worktree_guard import branch_sources

    cancelled_in_review(sandbox, "RC-5")
    sandbox.tracker.transition("RC-5", "Todo")
    sandbox.maestro("retry", "RC-5", check=True)
    ctx = LaneContext(sandbox.config, "RC-5")
    try:
        assert branch_sources(ctx) == []
    finally:
        ctx.close()
