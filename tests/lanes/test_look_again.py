"""A person's decision made while a lane runs wins (maestro/lanes/guard.py): the lane looks at
the issue again before each outward side effect and stops, closing any PR it opened.

The person acts from inside the agent's script (a ``run`` step edits the issue file), so the
change lands exactly between two of the agent's steps, with no timing involved.
"""

from __future__ import annotations

import json

import pytest

from maestro.forges.local import LocalForge
from maestro.model import PullState
from tests.conftest import Sandbox

pytestmark = pytest.mark.slow


def cancel_step(identifier: str) -> str:
    """A script step by which "a person" moves the issue to Canceled mid-session."""
    return f"  - run: \"sed -i 's/^state: .*/state: Canceled/' ../../issues/{identifier}.md\"\n"


def pulls(box: Sandbox) -> list[dict[str, object]]:
    folder = box.origin / "maestro-forge" / "pulls"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def test_a_cancel_during_the_agent_phase_opens_no_pr(sandbox: Sandbox) -> None:
    sandbox.add_issue("LA-1", script=(
        "steps:\n  - write: {path: a.txt, content: \"a\\n\"}\n" + cancel_step("LA-1")
        + "  - commit: a\n  - handoff: done\n"))
    sandbox.lane("LA-1")
    assert sandbox.outcome("LA-1") == "terminated"
    assert sandbox.issue("LA-1").state == "Canceled"
    assert pulls(sandbox) == []
    cleanup = sandbox.lane_file("LA-1", "cleanup.json")
    assert cleanup["reason"] == "cancelled"
    assert "not on origin" in cleanup["worktree_kept"]  # the agent's commit is nowhere else


def test_a_tool_call_after_a_cancel_closes_the_pr_already_opened(sandbox: Sandbox) -> None:
    sandbox.add_issue("LA-2", script=(
        "steps:\n  - write: {path: a.txt, content: \"a\\n\"}\n  - commit: a\n  - open_pr: {}\n"
        + cancel_step("LA-2") + "  - comment: \"still working\"\n  - handoff: done\n"))
    sandbox.lane("LA-2")
    assert sandbox.outcome("LA-2") == "terminated"
    assert sandbox.issue("LA-2").state == "Canceled"
    [pr] = pulls(sandbox)
    assert pr["state"] == PullState.CLOSED.value
    assert "issue moved to Canceled" in pr["extra"]["comments"][0]["body"]  # type: ignore[index]
    assert not any("still working" in c.body for c in sandbox.comments("LA-2"))


def test_a_cancel_after_the_agent_handed_off_stops_the_handoff(sandbox: Sandbox) -> None:
    sandbox.add_issue("LA-3", script=(
        "steps:\n  - write: {path: a.txt, content: \"a\\n\"}\n  - commit: a\n  - open_pr: {}\n"
        + cancel_step("LA-3") + "  - handoff: done\n"))
    sandbox.lane("LA-3")
    assert sandbox.outcome("LA-3") == "terminated"
    assert sandbox.issue("LA-3").state == "Canceled"
    assert [pr["state"] for pr in pulls(sandbox)] == ["closed"]
    assert not any("ready for review" in c.body for c in sandbox.comments("LA-3"))


def test_a_needs_attention_label_added_in_review_stops_the_lane_before_the_merge(
        sandbox: Sandbox) -> None:
    sandbox.add_issue("LA-4")
    sandbox.lane("LA-4")
    assert sandbox.outcome("LA-4") == "waiting"
    sandbox.approve("LA-4")
    sandbox.tracker.add_label("LA-4", "maestro:needs-attention")
    sandbox.lane("LA-4")
    assert sandbox.outcome("LA-4") == "terminated"
    assert "before merging" in str(sandbox.lane_file("LA-4", "outcome.json")["reason"])
    assert sandbox.origin_file("notes/LA-4.md") is None
    forge = LocalForge(sandbox.repo, "origin")
    found = forge.find_pr("maestro/la-4")
    assert found is not None and found.state == PullState.CLOSED
    assert sandbox.issue("LA-4").state == "In Review"  # the person's call, left as it is


def test_the_agent_asking_for_a_human_itself_is_not_stopped(sandbox: Sandbox) -> None:
    sandbox.add_issue("LA-5", script="steps:\n  - attention: \"the spec is unclear\"\n")
    sandbox.lane("LA-5")
    assert sandbox.outcome("LA-5") == "needs_human"
    assert any("the spec is unclear" in c.body for c in sandbox.comments("LA-5"))


def test_the_attention_path_never_undoes_a_persons_cancel(sandbox: Sandbox) -> None:
    sandbox.add_issue("LA-6")
    sandbox.lane("LA-6")
    record = sandbox.lane_file("LA-6", "pr.json")
    LocalForge(sandbox.repo, "origin").merge(record["number"], record["validated_head"], "merge")
    sandbox.tracker.transition("LA-6", "Canceled")  # merged, yet cancelled: a person decides
    sandbox.lane("LA-6")
    assert sandbox.outcome("LA-6") == "needs_human"
    issue = sandbox.issue("LA-6")
    assert issue.state == "Canceled"
    assert "maestro:needs-attention" in issue.labels
