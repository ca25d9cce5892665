"""A lane end to end with ``[forge] provider = "github"`` against the loopback fake GitHub.

The lane runs as a real ``maestro lane`` process: it pushes with git to a bare repository
standing in for GitHub's remote and talks GraphQL to the fake, which executes every
document against the published schema. The issue side is the files tracker.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fakes.github_forge import TOKEN, ForgeWorld
from fakes.graphql_service import GraphQLService
from fakes.loopback import LoopbackServer

from maestro.fsutil import read_jsonl
from tests.conftest import Sandbox
from tests.forge.conftest import lane

pytestmark = pytest.mark.slow

SCRIPT = """
steps:
  - write: {path: feature.txt, content: "feature\\n"}
  - commit: "add feature"
  - handoff: "feature added"
repair:
  - append: {path: feature.txt, content: "reviewed\\n"}
  - commit: "address review"
  - repair_complete: "review addressed"
"""


def files_with(root: Path, needle: str) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            found.append(path)
    return found


def test_a_lane_goes_from_handoff_through_repair_to_done_on_github(
        github_box: tuple[Sandbox, ForgeWorld, LoopbackServer]) -> None:
    box, world, server = github_box
    world.required_checks = {"ci"}
    box.add_issue("GHF-1", script=SCRIPT)

    assert lane(box, "GHF-1") == "waiting"
    record = box.lane_file("GHF-1", "pr.json")
    assert record["forge"] == "github" and record["number"] == 1
    pr = world.pull(1)
    assert (pr.head_ref, pr.draft, pr.state) == ("maestro/ghf-1", False, "OPEN")
    assert world.head_of(pr) == record["validated_head"]
    assert box.issue("GHF-1").state == "In Review"

    world.check(1, "ci", "SUCCESS")
    world.review(1, "CHANGES_REQUESTED", "say it was reviewed", path="feature.txt", line=1)
    assert lane(box, "GHF-1") == "waiting"
    record = box.lane_file("GHF-1", "pr.json")
    assert record["repair_rounds"] == 1
    assert world.head_of(pr) == record["validated_head"]
    assert not any(thread.resolved for thread in pr.threads)  # the reviewer's to resolve

    assert lane(box, "GHF-1") == "waiting"  # CI has not reported on the repaired head
    assert "blocked" in box.lane_file("GHF-1", "review.json")["reason"]

    world.check(1, "ci", "SUCCESS")
    world.review(1, "APPROVED", "thanks")
    assert lane(box, "GHF-1") == "finished"

    merge = box.lane_file("GHF-1", "merge.json")
    assert world.merges == [(1, "MERGE", merge["commit"])]
    assert pr.state == "MERGED"
    assert box.origin_file("feature.txt") == "feature\nreviewed\n"
    assert box.issue("GHF-1").state == "Done"
    assert world.deleted_refs == ["maestro/ghf-1"]
    assert not (box.repo / ".worktrees" / "GHF-1").exists()
    service = server.handler
    assert isinstance(service, GraphQLService)
    assert service.invalid == [] and service.unexpected == []
    assert files_with(box.root, TOKEN) == []


def test_a_github_lane_cancelled_before_merge_closes_its_pr(
        github_box: tuple[Sandbox, ForgeWorld, LoopbackServer]) -> None:
    box, world, _ = github_box
    box.add_issue("GHF-2", script=SCRIPT)
    assert lane(box, "GHF-2") == "waiting"
    box.tracker.transition("GHF-2", "Canceled")

    assert lane(box, "GHF-2") == "terminated"
    assert world.pull(1).state == "CLOSED"
    assert world.deleted_refs == []  # the closed PR still shows its branch, as every stop
    assert world.merges == []
    assert not (box.repo / ".worktrees" / "GHF-2").exists()


def test_a_retry_after_a_github_cancel_opens_a_new_pr_from_the_base(
        github_box: tuple[Sandbox, ForgeWorld, LoopbackServer]) -> None:
    """The retried lane started from the cancelled run's branch, and its new PR carried
    the commits the person had cancelled."""
    box, world, _ = github_box
    box.add_issue("GHF-3", script=SCRIPT)
    assert lane(box, "GHF-3") == "waiting"
    old = world.head_of(world.pull(1))
    box.tracker.transition("GHF-3", "Canceled")
    assert lane(box, "GHF-3") == "terminated"
    box.tracker.transition("GHF-3", "Todo")
    box.maestro("retry", "GHF-3", check=True)

    assert lane(box, "GHF-3") == "waiting"
    assert box.lane_file("GHF-3", "pr.json")["number"] == 2
    new = world.head_of(world.pull(2))
    history = subprocess.run(["git", "rev-list", new], cwd=box.origin, capture_output=True,
                             text=True, check=True).stdout.split()
    assert old not in history
    assert world.pull(1).state == "CLOSED"


def test_a_cancel_during_the_agent_phase_closes_the_github_pr_with_the_reason(
        github_box: tuple[Sandbox, ForgeWorld, LoopbackServer]) -> None:
    box, world, server = github_box
    cancel = "sed -i 's/^state: .*/state: Canceled/' ../../issues/GHF-9.md"
    box.add_issue("GHF-9", script=(
        "steps:\n  - write: {path: a.txt, content: \"a\\n\"}\n  - commit: a\n"
        f"  - open_pr: {{}}\n  - run: \"{cancel}\"\n  - comment: \"more\"\n"
        "  - handoff: done\n"))
    assert lane(box, "GHF-9") == "terminated"
    pr = world.pull(1)
    assert pr.state == "CLOSED"
    assert len(pr.comments) == 1 and "issue moved to Canceled" in pr.comments[0]
    assert box.issue("GHF-9").state == "Canceled"
    assert world.merges == []
    service = server.handler
    assert isinstance(service, GraphQLService)
    assert service.invalid == [] and service.unexpected == []


BASE_MOVED = "Base branch was modified. Review and try the merge again."


def ready_on_github(box: Sandbox, world: ForgeWorld, identifier: str) -> None:
    box.add_issue(identifier, script=SCRIPT)
    assert lane(box, identifier) == "waiting"
    world.review(1, "APPROVED", "ok")


def test_a_merge_refused_once_while_still_ready_is_tried_again(
        github_box: tuple[Sandbox, ForgeWorld, LoopbackServer]) -> None:
    box, world, _ = github_box
    ready_on_github(box, world, "GHF-3")
    world.merge_failures = [BASE_MOVED]
    assert lane(box, "GHF-3") == "finished"
    assert len(world.merges) == 1
    assert box.issue("GHF-3").state == "Done"


def test_a_merge_refused_twice_stops_for_a_human(
        github_box: tuple[Sandbox, ForgeWorld, LoopbackServer]) -> None:
    box, world, _ = github_box
    ready_on_github(box, world, "GHF-4")
    world.merge_failures = ["Merge commits are not allowed on this repository."] * 2
    assert lane(box, "GHF-4") == "needs_human"
    assert box.lane_file("GHF-4", "attention.json")["error_class"] == "merge_failed"
    assert world.merges == [] and world.pull(1).state == "OPEN"
    assert (box.repo / ".worktrees" / "GHF-4").is_dir()


def test_a_merge_refused_because_review_changed_goes_back_to_repair(
        github_box: tuple[Sandbox, ForgeWorld, LoopbackServer]) -> None:
    box, world, _ = github_box
    ready_on_github(box, world, "GHF-5")
    world.merge_failures = ["Pull request is not mergeable: changes were requested"]
    world.on_merge_failure = lambda number: world.review(number, "CHANGES_REQUESTED",
                                                         "one more thing")
    assert lane(box, "GHF-5") == "waiting"
    assert box.lane_file("GHF-5", "review.json")["classification"] == "review_repair"
    assert box.lane_file("GHF-5", "merge.json") is None

    assert lane(box, "GHF-5") == "waiting"  # the repair round ran; now awaiting a new review
    assert box.lane_file("GHF-5", "pr.json")["repair_rounds"] == 1
    world.review(1, "APPROVED", "now it is fine")
    assert lane(box, "GHF-5") == "finished"
    assert len(world.merges) == 1


CONFLICT_SCRIPT = """
steps:
  - write: {path: feature.txt, content: "feature\\n"}
  - commit: "add feature"
  - handoff: "feature added"
repair:
  - run: "git fetch -q origin main && git merge -q origin/main; true"
  - write: {path: feature.txt, content: "feature\\nbase line\\n"}
  - commit: "merge main and resolve the conflict"
  - repair_complete: "merged the base"
"""


def test_a_conflicting_base_on_github_is_a_repair_round(
        github_box: tuple[Sandbox, ForgeWorld, LoopbackServer]) -> None:
    box, world, _ = github_box
    box.add_issue("GHF-6", script=CONFLICT_SCRIPT)
    assert lane(box, "GHF-6") == "waiting"
    (box.repo / "feature.txt").write_text("base line\n")
    for args in (["add", "feature.txt"], ["commit", "-q", "-m", "conflicting change on main"],
                 ["push", "-q", "origin", "main"]):
        subprocess.run(["git", *args], cwd=box.repo, check=True, capture_output=True)

    assert lane(box, "GHF-6") == "waiting"
    assert box.lane_file("GHF-6", "pr.json")["repair_rounds"] == 1
    assert world.mergeable(world.pull(1)) == "MERGEABLE"
    world.review(1, "APPROVED", "ok")
    assert lane(box, "GHF-6") == "finished"
    assert box.origin_file("feature.txt") == "feature\nbase line\n"
    assert len(world.merges) == 1


def test_a_repair_round_the_forge_failed_is_retried_and_told_its_work_is_there(
        github_box: tuple[Sandbox, ForgeWorld, LoopbackServer]) -> None:
    """Breaker 25 F2: a forge outage inside the agent's issue_review_repair_complete sent
    the lane to a person, saying the agent never called it."""
    box, world, server = github_box
    config = box.repo / "maestro.toml"
    config.write_text(config.read_text() + "\n[tracker]\nmax_attempts = 2\n")
    box.add_issue("GHF-9", script=SCRIPT)
    assert lane(box, "GHF-9") == "waiting"
    world.review(1, "CHANGES_REQUESTED", "say it was reviewed", path="feature.txt", line=1)
    server.fail(503, b"down", times=2, operation="MaestroForgeFind")

    assert lane(box, "GHF-9") == "retry"
    assert box.issue("GHF-9").state == "In Review"
    assert "MaestroForgeFind: HTTP 503" in box.lane_file("GHF-9", "outcome.json")["reason"]
    assert box.lane_file("GHF-9", "repair-unconfirmed.json")["round"] == 1

    assert lane(box, "GHF-9") == "waiting"
    assert box.lane_file("GHF-9", "pr.json")["repair_rounds"] == 1
    assert box.lane_file("GHF-9", "repair-unconfirmed.json") is None
    journal = read_jsonl(box.repo / ".maestro" / "lanes" / "GHF-9" / "journal.jsonl")
    starts = [e for e in journal if e.get("event") == "repair_started"]
    assert [e["unconfirmed_before"] for e in starts] == [False, True]  # the agent was told


def test_a_pr_list_that_lags_the_pr_just_opened_does_not_refuse_the_handoff(
        github_box: tuple[Sandbox, ForgeWorld, LoopbackServer]) -> None:
    """Breaker 23 F4 and 26 M2: the list of PRs by branch answered without the PR the
    agent had just opened (a read replica behind the write); the handoff tool refused it
    ("no PR yet"), then the handoff phase ("pr_missing"), and the attempt was spent."""
    box, world, server = github_box
    box.add_issue("GHF-8", script=SCRIPT)
    lagging = {"data": {"repository": {"pullRequests": {"nodes": []}}}}
    # open_pr's own look, the handoff tool's, the handoff phase's, and one more
    server.fail(200, lagging, times=4, operation="MaestroForgeFind")

    assert lane(box, "GHF-8") == "waiting"
    assert [answer["ok"] for answer in box.tool_answers("GHF-8", "issue_review_handoff")
            ] == [True]
    assert len(world.pulls) == 1
    assert (box.lane_file("GHF-8", "lease.json") or {}).get("attempt") == 1
