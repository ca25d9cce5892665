"""What every adapter hands the scheduler (Symphony SPEC.md §11.3): labels trimmed and
lowercased, and unusable optional metadata as null or empty instead of a lost record."""

from __future__ import annotations

from typing import Any

from fakes.linear_server import LinearWorld
from fakes.loopback import LoopbackServer

from maestro.trackers.github import GitHubIssuesTracker
from maestro.trackers.linear import LinearTracker
from maestro.trackers.normalise import normalise_labels


def test_labels_are_trimmed_lowercased_without_blanks_or_duplicates() -> None:
    assert normalise_labels([" Bug ", "bug", "", "  ", "Needs-Review"]) == ("bug",
                                                                           "needs-review")


def test_linear_labels_reach_the_scheduler_lowercased(
        linear: LinearTracker, linear_world: LinearWorld) -> None:
    linear_world.add_issue("mixed", "Todo", labels=["Backend", " BUG "])
    [issue] = linear.candidates(["Todo"])
    assert issue.labels == ("backend", "bug")


def linear_node(**odd: Any) -> dict[str, Any]:
    page = {"hasNextPage": False, "endCursor": None}
    node = {"id": "y", "identifier": "ENG-2", "number": 2, "title": "fine", "description": "",
            "priority": 1, "createdAt": "2026-01-01T00:00:00Z", "url": "u",
            "state": {"name": "Todo"}, "team": {"id": "t", "key": "ENG"},
            "labels": {"nodes": [{"id": "l", "name": "Keep"}], "pageInfo": page},
            "inverseRelations": {"nodes": [], "pageInfo": page}}
    return {**node, **odd}


def serve_linear(server: LoopbackServer, node: dict[str, Any]) -> None:
    server.fail(200, {"data": {"issues": {
        "nodes": [node], "pageInfo": {"hasNextPage": False, "endCursor": None}}}})


def test_linear_unusable_optional_metadata_becomes_null(
        linear: LinearTracker, linear_server_: LoopbackServer) -> None:
    serve_linear(linear_server_, linear_node(priority="urgent", createdAt="yesterday",
                                             url=None, description=7))
    [issue] = linear.candidates(["Todo"])
    assert (issue.priority, issue.created_at, issue.url, issue.description) == (
        None, None, "", "")
    assert linear.problems == []


def test_a_linear_label_without_a_name_is_dropped_not_the_issue(
        linear: LinearTracker, linear_server_: LoopbackServer) -> None:
    labels = {"nodes": [{"id": "l1"}, {"id": "l2", "name": "Keep"}],
              "pageInfo": {"hasNextPage": False, "endCursor": None}}
    serve_linear(linear_server_, linear_node(labels=labels))
    [issue] = linear.candidates(["Todo"])
    assert issue.labels == ("keep",)


def test_a_linear_issue_without_its_required_title_is_still_malformed(
        linear: LinearTracker, linear_server_: LoopbackServer) -> None:
    serve_linear(linear_server_, linear_node(title=None))
    assert linear.candidates(["Todo"]) == []
    assert linear.problems and "ENG-2 skipped" in linear.problems[0]


def test_github_unusable_optional_metadata_becomes_null(
        github: GitHubIssuesTracker, github_server_: LoopbackServer) -> None:
    node = {"__typename": "Issue", "id": "I1", "number": 1, "title": "t", "body": None,
            "state": "OPEN", "createdAt": "soon", "url": None,
            "labels": {"nodes": [{"id": "a", "name": "Status:Todo"}, {"id": "b"}],
                       "pageInfo": {"hasNextPage": False}}}
    github_server_.fail(200, {"data": {"repository": {"n1": node}}})
    issue = github.fetch(["GH-1"])["GH-1"]
    assert (issue.description, issue.created_at, issue.url) == ("", None, "")
    assert issue.labels == ("status:todo",) and issue.state == "Todo"


def test_linear_empty_state_and_id_lists_ask_nothing(
        linear: LinearTracker, linear_server_: LoopbackServer) -> None:
    assert (linear.candidates([]), linear.fetch([])) == ([], {})
    assert linear_server_.requests == []


def test_github_empty_state_and_id_lists_ask_nothing(
        github: GitHubIssuesTracker, github_server_: LoopbackServer) -> None:
    assert (github.candidates([]), github.fetch([])) == ([], {})
    assert github_server_.requests == []
