"""A write whose answer was lost is confirmed by a read before it is sent again.

GitHub and Linear carry out a mutation whose HTTP answer a proxy (502), a reset connection
or a client timeout then loses. A comment or a new PR sent again is made twice (breaker 23),
so such a write (``write="once"``) is never repeated on a guess: the adapter looks for what
it wrote first. Writes a repeat cannot double (labels, states) are retried as before, and a
mutation must say which kind it is.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.github_server import GitHubWorld
from fakes.linear_server import LinearWorld
from fakes.loopback import LoopbackServer, Reply, Request

from maestro.trackers.github import GitHubIssuesTracker
from maestro.trackers.http import (
    GraphQLClient,
    RetryPolicy,
    Secret,
    WriteUnconfirmed,
    client_for,
)
from maestro.trackers.linear import LinearTracker

FAST = RetryPolicy(attempts=3, time_scale=0.001)
#: An issue's comment list answered before it shows the comment just written.
LAGGING_COMMENTS = {"data": {"repository": {"issue": {"comments": {
    "nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}}}}
WRITE = "mutation MaestroWrite { write { ok } }"


def ok(request: Request) -> Reply:
    return Reply(200, {"data": {"write": {"ok": True}}})


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(ok).running() as running:
        yield running


def client(server: LoopbackServer) -> GraphQLClient:
    made = client_for("github", server.url, Secret("t"), "bearer", 0.5, 3, 60)
    made.retry = FAST
    return made


def test_a_once_write_whose_answer_was_lost_is_not_sent_again(server: LoopbackServer) -> None:
    server.lose_answer(502)
    c = client(server)
    with pytest.raises(WriteUnconfirmed, match="may have been carried out"):
        c.execute("MaestroWrite", WRITE, write="once")
    assert c.requests == 1


def test_a_once_write_refused_before_it_was_carried_out_is_retried(
        server: LoopbackServer) -> None:
    server.fail(429, b"", headers={"Retry-After": "0"})
    c = client(server)
    assert c.execute("MaestroWrite", WRITE, write="once") == {"write": {"ok": True}}
    assert c.requests == 2


def test_an_idempotent_write_is_retried_after_a_lost_answer(server: LoopbackServer) -> None:
    server.lose_answer(502)
    c = client(server)
    assert c.execute("MaestroWrite", WRITE, write="idempotent") == {"write": {"ok": True}}
    assert c.requests == 2


def test_a_mutation_must_say_how_it_may_be_repeated(server: LoopbackServer) -> None:
    with pytest.raises(ValueError, match="must say how it may be repeated"):
        client(server).execute("MaestroWrite", WRITE)


def test_a_github_comment_whose_answer_was_lost_is_posted_once(
        github: GitHubIssuesTracker, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    number = github_world.add_issue("Fix it", labels=["status:todo"]).number
    github_server_.lose_answer(502, operation="MaestroComment")
    posted = github.comment(f"GH-{number}", "run started")
    bodies = [c.body for c in github_world.issue(number).comments]
    assert len(bodies) == 1 and bodies[0].startswith("run started")
    assert (posted.body, posted.write_mark) == ("run started", bodies[0].split("\n\n")[-1])


def test_a_linear_comment_whose_answer_was_lost_is_posted_once(
        linear: LinearTracker, linear_world: LinearWorld,
        linear_server_: LoopbackServer) -> None:
    identifier = linear_world.identifier(linear_world.add_issue("Fix it"))
    linear_server_.lose_answer(502, operation="MaestroComment")
    linear.comment(identifier, "run started")
    assert [c.body.startswith("run started") for c in linear.comments(identifier)] == [True]


def test_a_lost_comment_a_lagging_list_does_not_show_yet_is_posted_once(
        github: GitHubIssuesTracker, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    """Breaker 24 F6: the look right after the lost answer read a list that lagged the
    write (a read replica), found nothing, and the comment was posted twice."""
    number = github_world.add_issue("Fix it", labels=["status:todo"]).number
    github_server_.lose_answer(502, operation="MaestroComment")
    github_server_.fail(200, LAGGING_COMMENTS, operation="MaestroComments")
    github.comment(f"GH-{number}", "run started")
    assert len(github_world.issue(number).comments) == 1


def test_a_comment_that_was_not_carried_out_is_sent_again(
        github: GitHubIssuesTracker, github_world: GitHubWorld,
        github_server_: LoopbackServer) -> None:
    number = github_world.add_issue("Fix it", labels=["status:todo"]).number
    github_server_.fail(502, operation="MaestroComment")
    github.comment(f"GH-{number}", "run started")
    assert len(github_world.issue(number).comments) == 1


@pytest.mark.parametrize("lagging", [False, True], ids=["list up to date", "list lagging"])
def test_a_comment_refused_in_words_after_it_was_posted_is_not_an_error(
        github: GitHubIssuesTracker, github_world: GitHubWorld,
        github_server_: LoopbackServer, lagging: bool) -> None:
    """GitHub's INTERNAL "something went wrong" can follow a write it did (breaker 25),
    and the comment list read next can lag the write (breaker 26 L3)."""
    number = github_world.add_issue("Fix it", labels=["status:todo"]).number
    github_server_.lose_answer(200, operation="MaestroComment", body={
        "data": None, "errors": [{"message": "Something went wrong", "type": "INTERNAL"}]})
    if lagging:
        github_server_.fail(200, LAGGING_COMMENTS, operation="MaestroComments")
    github.comment(f"GH-{number}", "run started")
    assert len(github_world.issue(number).comments) == 1
