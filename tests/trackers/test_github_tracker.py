"""The GitHub Issues adapter against a loopback GitHub that executes the published schema."""

from __future__ import annotations

import pytest
from fakes.github_server import GitHubWorld
from fakes.loopback import LoopbackServer

from maestro.config.workflow import TrackerPolicy
from maestro.errors import IssueStateChanged, LabelMissingError, TrackerError, UnknownIssueError
from maestro.trackers.base import Tracker
from maestro.trackers.eligibility import ineligible_reason
from maestro.trackers.github import GitHubIssuesTracker


def operations(server: LoopbackServer) -> list[str | None]:
    return [r.operation for r in server.requests]


def test_the_adapter_implements_the_tracker_protocol(github: GitHubIssuesTracker) -> None:
    assert isinstance(github, Tracker)


@pytest.mark.parametrize(
    ("labels", "state", "reason", "expected"),
    [
        (["status:todo"], "OPEN", None, "Todo"),
        (["bug", "status:in-review"], "OPEN", None, "In Review"),
        (["bug"], "OPEN", None, "Backlog"),
        ([], "CLOSED", "COMPLETED", "Done"),
        (["status:in-progress"], "CLOSED", "NOT_PLANNED", "Canceled"),
        ([], "CLOSED", "DUPLICATE", "Duplicate"),
        ([], "CLOSED", None, "Done"),
    ],
)
def test_workflow_state_comes_from_state_labels_and_open_or_closed(
        github: GitHubIssuesTracker, github_world: GitHubWorld, labels: list[str], state: str,
        reason: str | None, expected: str) -> None:
    github_world.add_issue("task", labels=labels, state=state, state_reason=reason)
    assert github.get("GH-1").state == expected


def test_candidates_are_open_issues_carrying_the_state_label(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("ready", labels=["status:todo"])
    github_world.add_issue("unlabelled")
    github_world.add_issue("closed but labelled", labels=["status:todo"], state="CLOSED",
                           state_reason="COMPLETED")
    github_world.add_issue("started", labels=["status:in-progress"])
    found = github.candidates(["Todo"])
    assert [(i.identifier, i.title, i.state) for i in found] == [("GH-1", "ready", "Todo")]


def test_pull_requests_are_never_work_items(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_pull_request("a PR labelled like an issue", labels=["status:todo"])
    github_world.add_issue("an issue", labels=["status:todo"])
    assert [i.identifier for i in github.candidates(["Todo"])] == ["GH-2"]
    assert github.fetch(["GH-1", "GH-2"]).keys() == {"GH-2"}
    with pytest.raises(UnknownIssueError):
        github.get("GH-1")


def test_candidates_follow_every_page(github: GitHubIssuesTracker, github_world: GitHubWorld,
                                      github_server_: LoopbackServer) -> None:
    for n in range(130):
        github_world.add_issue(f"task {n}", labels=["status:todo"])
    github.page_size = 50
    assert len(github.candidates(["Todo"])) == 130
    assert operations(github_server_) == ["MaestroIssues"] * 3


def test_the_unlabelled_state_can_be_a_candidate_state(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("triage me")
    github_world.add_issue("ready", labels=["status:todo"])
    assert [i.title for i in github.candidates(["Backlog"])] == ["triage me"]


def test_an_unmapped_candidate_state_is_a_configuration_error(
        github: GitHubIssuesTracker) -> None:
    with pytest.raises(TrackerError, match=r"state 'Shipped' has no mapping.*state_labels"):
        github.candidates(["Shipped"])


def test_fetch_refreshes_many_issues_in_one_request(
        github: GitHubIssuesTracker, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    for n in range(250):
        github_world.add_issue(f"task {n}", labels=["status:in-progress"])
    wanted = [f"GH-{n}" for n in range(1, 201)]
    found = github.fetch(wanted)
    assert list(found) == wanted
    assert operations(github_server_) == ["MaestroRefresh"]


def test_fetch_leaves_out_unknown_numbers_and_foreign_identifiers(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("one", labels=["status:todo"])
    assert list(github.fetch(["GH-1", "GH-77", "ENG-1", "nonsense"])) == ["GH-1"]


@pytest.mark.parametrize("lanes", [1, 50, 200])
def test_a_tick_costs_the_same_requests_for_any_number_of_lanes(
        github: GitHubIssuesTracker, github_world: GitHubWorld, lanes: int) -> None:
    for n in range(600):
        github_world.add_issue(f"task {n}", labels=["status:in-progress"] if n < 200 else
                               (["status:todo"] if n % 10 == 0 else []))
    before = github.requests
    assert len(github.fetch([f"GH-{n}" for n in range(1, lanes + 1)])) == lanes
    assert len(github.candidates(["Todo"])) == 40
    assert github.requests - before == 2


def test_blockers_are_read_from_the_body_with_their_states(
        github: GitHubIssuesTracker, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    github_world.add_issue("done", state="CLOSED", state_reason="COMPLETED")
    github_world.add_issue("busy", labels=["status:in-progress"])
    github_world.add_issue("waits", labels=["status:todo"],
                           body="Some text.\n\nBlocked by #1 and #2\nSee also #99 elsewhere.")
    (issue,) = github.candidates(["Todo"])
    assert issue.blocked_by == ("GH-1", "GH-2")
    assert issue.blocker_states == {"GH-1": "Done", "GH-2": "In Progress"}
    assert operations(github_server_) == ["MaestroIssues", "MaestroRefresh"]


def test_a_blocker_that_does_not_exist_blocks_with_a_warning(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("waits", labels=["status:todo"], body="blocked by #42")
    issue = github.get("GH-1")
    assert issue.blocked_by == ("GH-42",) and issue.blocker_states == {}
    assert github.problems == ["github: issue GH-1: blocker GH-42 cannot be resolved here; "
                               "it blocks until it is removed from the body"]
    assert ineligible_reason(issue, TrackerPolicy()) == "blocked by GH-42"


@pytest.mark.parametrize("reference", [
    "#1", "acme/widgets#1", "ACME/Widgets#1", "https://github.com/acme/widgets/issues/1"])
def test_every_form_of_a_same_repository_blocker_blocks(
        github: GitHubIssuesTracker, github_world: GitHubWorld, reference: str) -> None:
    github_world.add_issue("busy", labels=["status:in-progress"])
    github_world.add_issue("waits", labels=["status:todo"], body=f"Blocked by {reference}")
    (issue,) = github.candidates(["Todo"])
    assert issue.blocked_by == ("GH-1",)
    assert issue.blocker_states == {"GH-1": "In Progress"}
    assert ineligible_reason(issue, TrackerPolicy()) == "blocked by GH-1"
    assert github.problems == []


@pytest.mark.parametrize("reference", [
    "other/repo#3", "https://github.com/other/repo/issues/3"])
def test_a_blocker_in_another_repository_blocks_with_a_warning(
        github: GitHubIssuesTracker, github_world: GitHubWorld, reference: str) -> None:
    github_world.add_issue("waits", labels=["status:todo"], body=f"blocked-by: {reference}")
    (issue,) = github.candidates(["Todo"])
    assert issue.blocked_by == ("other/repo#3",)
    assert ineligible_reason(issue, TrackerPolicy()) == "blocked by other/repo#3"
    assert [p.split(": ")[1] for p in github.problems] == ["issue GH-1"]


def test_references_outside_blocked_by_lines_do_not_block(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("waits", labels=["status:todo"],
                           body="See #7 and other/repo#8.\nFixes abc#9")
    (issue,) = github.candidates(["Todo"])
    assert issue.blocked_by == ()


def test_transition_swaps_the_state_label(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("task", labels=["bug", "status:todo"])
    assert github.transition("GH-1", "In Progress") is True
    assert github_world.labels_of(1) == ["bug", "status:in-progress"]
    assert github.get("GH-1").state == "In Progress"


def test_a_conditional_transition_writes_nothing_when_the_fresh_state_forbids_it(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("task", labels=["status:todo"])
    with pytest.raises(IssueStateChanged) as raised:
        github.transition("GH-1", "Done", unless=lambda state: state == "Todo")
    assert raised.value.state == "Todo"
    assert github_world.labels_of(1) == ["status:todo"]


def test_transition_to_the_current_state_is_a_no_op(
        github: GitHubIssuesTracker, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    github_world.add_issue("task", labels=["status:in-progress"])
    assert github.transition("GH-1", "in progress") is False
    assert operations(github_server_) == ["MaestroRefresh"]


def test_transition_to_a_terminal_state_closes_with_the_mapped_reason(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("task", labels=["status:in-review"])
    assert github.transition("GH-1", "Canceled") is True
    issue = github_world.issue(1)
    assert (issue.state, issue.state_reason) == ("CLOSED", "NOT_PLANNED")
    assert github_world.labels_of(1) == []
    assert github.get("GH-1").state == "Canceled"


def test_transition_out_of_a_closed_state_reopens(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("task", state="CLOSED", state_reason="COMPLETED")
    assert github.transition("GH-1", "Todo") is True
    assert github_world.issue(1).state == "OPEN"
    assert github.get("GH-1").state == "Todo"


def test_transition_to_an_unmapped_state_is_an_error(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("task", labels=["status:todo"])
    with pytest.raises(TrackerError, match="'Shipped' has no mapping"):
        github.transition("GH-1", "Shipped")
    assert github_world.labels_of(1) == ["status:todo"]


def test_transition_to_a_state_whose_label_is_missing_is_label_missing_error(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github.state_labels["QA"] = "status:qa"
    github_world.add_issue("task", labels=["status:todo"])
    with pytest.raises(LabelMissingError, match="status:qa"):
        github.transition("GH-1", "QA")
    assert github_world.labels_of(1) == ["status:todo"]


def test_add_label_applies_an_existing_label_once(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("task")
    assert github.add_label("GH-1", "maestro:needs-attention") is True
    assert github.add_label("GH-1", "maestro:needs-attention") is False
    assert github_world.labels_of(1) == ["maestro:needs-attention"]


def test_add_label_that_does_not_exist_is_label_missing_error(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("task")
    with pytest.raises(LabelMissingError, match="'no-such-label' does not exist"):
        github.add_label("GH-1", "no-such-label")


def test_remove_label_removes_it_and_is_idempotent(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("task", labels=["maestro:needs-attention", "bug"])
    assert github.remove_label("GH-1", "maestro:needs-attention") is True
    assert github.remove_label("GH-1", "maestro:needs-attention") is False
    assert github_world.labels_of(1) == ["bug"]


def test_comments_round_trip(github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("task")
    posted = github.comment("GH-1", "maestro started run-1")
    notes = github.comments("GH-1")
    assert [(c.id, c.body) for c in notes] == [(posted.id, "maestro started run-1")]
    assert posted.author == "maestro-bot"


def test_only_comments_the_tokens_user_wrote_are_maestros_own(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("task")
    github_world.add_comment(1, "<!-- maestro:state {} -->", author="mallory")
    posted = github.comment("GH-1", "maestro started run-1")
    assert posted.own
    assert [(c.author, c.own) for c in github.comments("GH-1")] == [
        ("mallory", False), ("maestro-bot", True)]


def test_a_comment_of_maestros_that_someone_edited_is_not_its_own(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    """Breaker 18, F2: the author stays when a repository writer edits a comment; maestro
    never edits its own, so an edited one holds someone else's words."""
    github_world.add_issue("task")
    github.comment("GH-1", "maestro started run-1")
    github_world.edit_comment(github_world.issue(1).comments[0], "<!-- maestro:state {} -->")
    [edited] = github.comments("GH-1")
    assert (edited.author, edited.own) == ("maestro-bot", False)


def test_comments_of_an_unknown_issue_is_unknown_issue_error(
        github: GitHubIssuesTracker) -> None:
    with pytest.raises(UnknownIssueError, match="GH-5"):
        github.comments("GH-5")


def test_an_unknown_repository_is_a_clear_error(github: GitHubIssuesTracker) -> None:
    elsewhere = GitHubIssuesTracker(github.client, "acme/missing", issue_prefix="GH",
                                    state_labels=github.state_labels)
    with pytest.raises(TrackerError, match="acme/missing"):
        elsewhere.fetch(["GH-1"])


def test_a_malformed_issue_is_skipped_with_a_warning_naming_it(
        github: GitHubIssuesTracker, github_server_: LoopbackServer) -> None:
    github_server_.fail(200, {"data": {"repository": {"n1": {"__typename": "Issue",
                                                             "number": "one"}}}})
    assert github.fetch(["GH-1"]) == {}
    [problem] = github.problems
    assert problem.startswith("github: issue #one skipped: github: MaestroRefresh: "
                              "unexpected response shape")


def test_a_secondary_rate_limit_is_waited_out(
        github: GitHubIssuesTracker, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    github_world.add_issue("task", labels=["status:todo"])
    github_server_.fail(403, {"message": "You have exceeded a secondary rate limit."},
                        {"Retry-After": "60"})
    assert [i.identifier for i in github.candidates(["Todo"])] == ["GH-1"]
    assert github.client.last_rate_limit is not None
    assert github.client.last_rate_limit.wait_s == 60.0


def test_transition_to_the_unlabelled_state_drops_the_state_labels(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_issue("task", labels=["status:todo", "bug"])
    assert github.transition("GH-1", "Backlog") is True
    assert github_world.labels_of(1) == ["bug"]


def test_a_transition_refused_at_its_first_write_leaves_the_issue_as_it_was(
        github: GitHubIssuesTracker, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    github_world.add_issue("task", labels=["status:todo"])
    github_server_.fail(401, {"message": "Bad credentials"}, operation="MaestroAddLabels")
    with pytest.raises(TrackerError, match="MaestroAddLabels: HTTP 401"):
        github.transition("GH-1", "In Progress")
    assert github_world.labels_of(1) == ["status:todo"]
    assert github.transition("GH-1", "In Progress") is True
    assert github_world.labels_of(1) == ["status:in-progress"]


def test_a_transition_cut_after_its_first_write_is_never_startable_and_resumes(
        github: GitHubIssuesTracker, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    """Never unlabelled (a person's Backlog, breaker 23 F3), never startable new work."""
    github_world.add_issue("task", labels=["status:todo"])
    github_server_.fail(401, {"message": "Bad credentials"}, operation="MaestroRemoveLabels")
    with pytest.raises(TrackerError, match="MaestroRemoveLabels: HTTP 401"):
        github.transition("GH-1", "In Progress")
    assert github.get("GH-1").state == "In Progress"
    assert github.transition("GH-1", "In Progress") is False  # already there: cleaned up
    assert github_world.labels_of(1) == ["status:in-progress"]


def test_a_close_cut_before_its_labels_went_is_closed(
        github: GitHubIssuesTracker, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    github_world.add_issue("task", labels=["status:in-review"])
    github_server_.fail(401, {"message": "Bad credentials"}, operation="MaestroRemoveLabels")
    with pytest.raises(TrackerError):
        github.transition("GH-1", "Done")
    assert github.get("GH-1").state == "Done"
    github.transition("GH-1", "Done")
    assert github_world.labels_of(1) == []


def test_a_pull_request_number_is_not_an_issue_to_comment_on(
        github: GitHubIssuesTracker, github_world: GitHubWorld) -> None:
    github_world.add_pull_request("a PR")
    with pytest.raises(UnknownIssueError):
        github.comment("GH-1", "hello")
    with pytest.raises(UnknownIssueError):
        github.comments("GH-1")


STATES = ["Backlog", "Todo", "In Progress", "In Review", "Done", "Canceled", "Duplicate"]


@pytest.mark.parametrize("start", STATES)
def test_every_mapped_state_is_reachable_from_every_other_and_reads_back(
        github: GitHubIssuesTracker, github_world: GitHubWorld, start: str) -> None:
    github_world.add_issue("task")
    github.transition("GH-1", start)
    for target in STATES:
        github.transition("GH-1", target)
        assert github.get("GH-1").state == target, (start, target)
        assert github.transition("GH-1", target) is False
