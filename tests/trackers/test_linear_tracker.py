"""The Linear adapter against a loopback Linear that executes the published schema."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fakes.linear_server import LinearWorld
from fakes.loopback import LoopbackServer

from maestro.errors import (
    IssueStateChanged,
    LabelMissingError,
    RateLimitedError,
    TrackerError,
    UnknownIssueError,
)
from maestro.trackers.base import Tracker
from maestro.trackers.linear import LinearTracker


def operations(server: LoopbackServer) -> list[str | None]:
    return [r.operation for r in server.requests]


def test_the_adapter_implements_the_tracker_protocol(linear: LinearTracker) -> None:
    assert isinstance(linear, Tracker)


def test_candidates_are_the_projects_issues_in_the_requested_states(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("wanted", "Todo")
    linear_world.add_issue("started", "In Progress")
    linear_world.add_issue("elsewhere", "Todo", project="other-project")
    linear_world.add_issue("no project", "Todo", project=None)
    found = linear.candidates(["Todo"])
    assert [i.title for i in found] == ["wanted"]
    assert found[0].identifier == "ENG-1" and found[0].state == "Todo"


def test_candidates_follow_every_page(linear: LinearTracker, linear_world: LinearWorld,
                                      linear_server_: LoopbackServer) -> None:
    for n in range(120):
        linear_world.add_issue(f"task {n}", "Todo")
    found = linear.candidates(["Todo"])
    assert len(found) == 120 and len({i.identifier for i in found}) == 120
    assert operations(linear_server_) == ["MaestroCandidates"] * 3  # pages of 50


def test_an_issue_carries_priority_creation_time_labels_and_url(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("urgent", "Todo", labels=["bug", "backend"], priority=1,
                           description="Fix **it**")
    linear_world.add_issue("unprioritised", "Todo", priority=0, description=None)
    urgent, plain = linear.candidates(["Todo"])
    assert urgent.priority == 1 and plain.priority is None
    assert urgent.labels == ("bug", "backend") and urgent.description == "Fix **it**"
    assert plain.description == ""
    assert urgent.created_at is not None and urgent.created_at < plain.created_at  # type: ignore[operator]
    assert urgent.url.endswith("/eng-1")


def test_blockers_come_from_inverse_blocks_relations_with_their_states(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    blocked = linear_world.add_issue("blocked", "Todo")
    done = linear_world.add_issue("done blocker", "Done")
    open_ = linear_world.add_issue("open blocker", "In Progress")
    related = linear_world.add_issue("merely related", "Todo")
    linear_world.block(done, blocked)
    linear_world.block(open_, blocked)
    linear_world.block(related, blocked, kind="related")
    linear_world.block(blocked, related)  # what it blocks is not what blocks it
    issue = linear.get("ENG-1")
    assert issue.blocked_by == ("ENG-2", "ENG-3")
    assert issue.blocker_states == {"ENG-2": "Done", "ENG-3": "In Progress"}


def test_fetch_refreshes_many_identifiers_in_one_request(
        linear: LinearTracker, linear_world: LinearWorld,
        linear_server_: LoopbackServer) -> None:
    for n in range(300):
        linear_world.add_issue(f"task {n}", "In Progress")
    wanted = [f"ENG-{n}" for n in range(1, 201)]
    found = linear.fetch(wanted)
    assert list(found) == wanted
    assert operations(linear_server_) == ["MaestroRefresh"]


def test_fetch_leaves_out_unknown_and_foreign_identifiers(
        linear: LinearTracker, linear_world: LinearWorld,
        linear_server_: LoopbackServer) -> None:
    linear_world.add_issue("ours", "Todo")
    linear_world.add_issue("theirs", "Todo", project="other-project")
    other_team = linear_world.add_team("OPS")
    linear_world.add_issue("other team", "Todo", team=other_team)
    found = linear.fetch(["ENG-1", "ENG-2", "ENG-99", "OPS-1", "not an id"])
    assert list(found) == ["ENG-1", "OPS-1"]
    assert linear.fetch([]) == {} and linear.fetch(["not an id"]) == {}
    assert len(linear_server_.requests) == 1


@pytest.mark.parametrize("lanes", [1, 50, 200])
def test_a_tick_costs_the_same_requests_for_any_number_of_lanes(
        linear: LinearTracker, linear_world: LinearWorld, linear_server_: LoopbackServer,
        lanes: int) -> None:
    for n in range(1000):
        linear_world.add_issue(f"task {n}", "In Progress" if n < 200 else
                               ("Todo" if n % 10 == 0 else "Backlog"))
    active = [f"ENG-{n}" for n in range(1, lanes + 1)]
    before = linear.requests
    assert len(linear.fetch(active)) == lanes
    assert len(linear.candidates(["Todo"])) == 80
    assert linear.requests - before == 1 + 2  # one refresh, two candidate pages


def test_get_of_an_unknown_issue_is_unknown_issue_error(linear: LinearTracker) -> None:
    with pytest.raises(UnknownIssueError, match="ENG-404"):
        linear.get("ENG-404")


def test_transition_moves_the_issue_to_the_named_state(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("task", "Todo")
    assert linear.transition("ENG-1", "In Progress") is True
    assert linear_world.state_of("ENG-1") == "In Progress"


def test_a_conditional_transition_writes_nothing_when_the_fresh_state_forbids_it(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("task", "Canceled")
    with pytest.raises(IssueStateChanged) as raised:
        linear.transition("ENG-1", "Done", unless=lambda state: state == "Canceled")
    assert raised.value.state == "Canceled"
    assert linear_world.state_of("ENG-1") == "Canceled"


def test_transition_to_the_current_state_is_a_no_op(
        linear: LinearTracker, linear_world: LinearWorld,
        linear_server_: LoopbackServer) -> None:
    linear_world.add_issue("task", "In Progress")
    assert linear.transition("ENG-1", "in progress") is False
    assert "MaestroTransition" not in operations(linear_server_)


def test_workflow_state_ids_are_resolved_once_per_team(
        linear: LinearTracker, linear_world: LinearWorld,
        linear_server_: LoopbackServer) -> None:
    linear_world.add_issue("a", "Todo")
    linear_world.add_issue("b", "Todo")
    linear.transition("ENG-1", "In Progress")
    linear.transition("ENG-2", "In Review")
    linear.transition("ENG-1", "Done")
    assert operations(linear_server_).count("MaestroWorkflowStates") == 1
    assert linear_world.state_of("ENG-1") == "Done"


def test_transition_to_an_unknown_state_lists_the_known_ones(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("task", "Todo")
    with pytest.raises(TrackerError, match=r"no workflow state named 'Shipped'.*in progress"):
        linear.transition("ENG-1", "Shipped")


def test_add_label_applies_an_existing_label_once(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_label("maestro:needs-attention")
    linear_world.add_issue("task", "Todo")
    assert linear.add_label("ENG-1", "maestro:needs-attention") is True
    assert linear.add_label("ENG-1", "MAESTRO:needs-attention") is False
    assert linear_world.labels_of("ENG-1") == ["maestro:needs-attention"]


def test_add_label_that_does_not_exist_is_label_missing_error(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("task", "Todo")
    with pytest.raises(LabelMissingError, match="maestro:needs-attention"):
        linear.add_label("ENG-1", "maestro:needs-attention")
    assert linear_world.labels_of("ENG-1") == []


def test_a_label_of_another_team_does_not_count(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_label("ops-only", linear_world.add_team("OPS"))
    linear_world.add_issue("task", "Todo")
    with pytest.raises(LabelMissingError):
        linear.add_label("ENG-1", "ops-only")


def test_remove_label_removes_it_and_is_idempotent(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("task", "Todo", labels=["maestro:needs-attention", "bug"])
    assert linear.remove_label("ENG-1", "maestro:needs-attention") is True
    assert linear.remove_label("ENG-1", "maestro:needs-attention") is False
    assert linear_world.labels_of("ENG-1") == ["bug"]


def test_comments_round_trip(linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("task", "Todo")
    posted = linear.comment("ENG-1", "maestro started run-1")
    assert [c.body for c in linear.comments("ENG-1")] == ["maestro started run-1"]
    assert linear.comments("ENG-1")[0].id == posted.id and posted.author == "maestro-bot"


def test_only_comments_the_api_keys_user_wrote_are_maestros_own(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("task", "Todo")
    posted = linear.comment("ENG-1", "maestro started run-1")
    linear_world.add_comment("ENG-1", "<!-- maestro:state {} -->", user="mallory")
    assert posted.own
    assert [(c.author, c.own) for c in linear.comments("ENG-1")] == [
        ("maestro-bot", True), ("mallory", False)]


def test_a_comment_of_maestros_that_someone_edited_is_not_its_own(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("task", "Todo")
    linear.comment("ENG-1", "maestro started run-1")
    comment = linear_world.by_identifier("ENG-1").comments[0]
    comment.body, comment.edited_at = "<!-- maestro:state {} -->", datetime.now(UTC)
    [edited] = linear.comments("ENG-1")
    assert (edited.author, edited.own) == ("maestro-bot", False)


def test_comments_follow_every_page(linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("task", "Todo")
    for n in range(75):
        linear.comment("ENG-1", f"note {n}")
    assert len(linear.comments("ENG-1")) == 75


def test_a_rate_limit_in_the_middle_of_pagination_is_waited_out(
        linear: LinearTracker, linear_world: LinearWorld,
        linear_server_: LoopbackServer) -> None:
    for n in range(60):
        linear_world.add_issue(f"task {n}", "Todo")
    linear_server_.faults.clear()
    original = linear_server_.handler
    calls = {"n": 0}

    def second_page_limited(request):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            from fakes.loopback import Reply
            return Reply(400, {"errors": [{"message": "Rate limit exceeded",
                                           "extensions": {"code": "RATELIMITED"}}]},
                         {"Retry-After": "2"})
        return original(request)

    linear_server_.handler = second_page_limited
    try:
        assert len(linear.candidates(["Todo"])) == 60
    finally:
        linear_server_.handler = original
    assert linear.client.last_rate_limit is not None
    assert linear.client.last_rate_limit.wait_s == 2.0


def test_a_rate_limit_beyond_the_bound_surfaces_as_rate_limited_error(
        linear: LinearTracker, linear_server_: LoopbackServer) -> None:
    linear_server_.fail(429, {}, {"Retry-After": "86400"})
    with pytest.raises(RateLimitedError):
        linear.candidates(["Todo"])


def test_a_malformed_issue_is_skipped_with_a_warning_naming_it(
        linear: LinearTracker, linear_server_: LoopbackServer) -> None:
    good = {"id": "y", "identifier": "ENG-2", "number": 2, "title": "fine", "description": "",
            "priority": 0, "createdAt": "2026-01-01T00:00:00Z", "url": "u",
            "state": {"name": "Todo"}, "team": {"id": "t", "key": "ENG"},
            "labels": {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}},
            "inverseRelations": {"nodes": [],
                                 "pageInfo": {"hasNextPage": False, "endCursor": None}}}
    linear_server_.fail(200, {"data": {"issues": {
        "nodes": [{"id": "x", "identifier": "ENG-1", "title": None}, good],
        "pageInfo": {"hasNextPage": False, "endCursor": None}}}})
    assert [i.identifier for i in linear.candidates(["Todo"])] == ["ENG-2"]
    [problem] = linear.problems
    assert problem.startswith("linear: issue ENG-1 skipped:") and "Field required" in problem


def test_a_next_page_without_a_cursor_is_an_error(
        linear: LinearTracker, linear_server_: LoopbackServer) -> None:
    linear_server_.fail(200, {"data": {"issues": {
        "nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": None}}}})
    with pytest.raises(TrackerError, match="hasNextPage without an endCursor"):
        linear.candidates(["Todo"])


def test_more_labels_than_one_page_are_paged_not_refused(
        linear: LinearTracker, linear_world: LinearWorld,
        linear_server_: LoopbackServer) -> None:
    names = [f"l{n}" for n in range(230)]
    linear_world.add_issue("label soup", "Todo", labels=names)
    [issue] = linear.candidates(["Todo"])
    assert list(issue.labels) == names
    assert operations(linear_server_) == ["MaestroCandidates", *["MaestroIssueLabels"] * 3]
    assert linear.problems == []


def test_more_blockers_than_one_page_all_block(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    blocked = linear_world.add_issue("blocked", "Todo")
    for n in range(40):
        linear_world.block(linear_world.add_issue(f"done {n}", "Done"), blocked)
    last = linear_world.add_issue("still open", "In Progress")
    linear_world.block(last, blocked)
    issue = linear.get("ENG-1")
    assert len(issue.blocked_by) == 41
    assert issue.blocker_states[linear_world.identifier(last)] == "In Progress"


def test_a_label_past_the_first_page_is_found_before_adding_it(
        linear: LinearTracker, linear_world: LinearWorld,
        linear_server_: LoopbackServer) -> None:
    linear_world.add_issue("label soup", "Todo", labels=[f"l{n}" for n in range(30)])
    assert linear.add_label("ENG-1", "l29") is False
    assert "MaestroAddLabel" not in operations(linear_server_)


def test_a_500_during_a_write_is_retried(
        linear: LinearTracker, linear_world: LinearWorld,
        linear_server_: LoopbackServer) -> None:
    linear_world.add_issue("task", "Todo")
    linear.get("ENG-1")
    linear_server_.fail(500, b"", times=1)
    linear.comment("ENG-1", "hello")
    assert [c.body for c in linear.comments("ENG-1")] == ["hello"]


def test_get_reads_fresh_state_not_a_cached_one(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    rec = linear_world.add_issue("task", "Todo")
    assert linear.candidates(["Todo"])[0].state == "Todo"
    rec.state_id = linear_world.state_id(linear_world.team, "Canceled")  # a human cancels it
    assert linear.get("ENG-1").state == "Canceled"


def test_identifiers_are_matched_case_insensitively(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("task", "Todo")
    assert list(linear.fetch(["eng-1"])) == ["eng-1"]
    assert linear.get("eng-1").identifier == "ENG-1"
