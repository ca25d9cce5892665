"""A service whose pagination never ends (finding 7) stops the read with a clear error.

The loopback server answers every page of the list queries with ``hasNextPage: true``:
either the same cursor each time (a looping service) or a new one each time (an endless
one, stopped by the page cap). Each read ends with a ``TrackerError`` naming the operation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from fakes.loopback import LoopbackServer, Reply, Request

from maestro.errors import TrackerError
from maestro.orchestration.orchestrator import Orchestrator
from maestro.trackers import paging
from maestro.trackers.files import FilesTracker
from maestro.trackers.github import GitHubIssuesTracker
from maestro.trackers.http import GraphQLClient, Secret, client_for
from maestro.trackers.linear import LinearTracker
from maestro.trackers.paging import PageWalk
from tests.conftest import Sandbox


def make_client(service: str, url: str, secret: str, scheme: str) -> GraphQLClient:
    return client_for(service, url, Secret(secret), scheme, 5.0, 1, 0.0)

Cursor = Callable[[], str]
Serve = Callable[[Callable[[Request], Reply]], LoopbackServer]


def _same() -> Cursor:
    return lambda: "c1"


def _fresh() -> Cursor:
    counter = itertools.count()
    return lambda: f"c{next(counter)}"


def _endless(shape: Callable[[dict[str, object]], dict[str, object]],
             cursor: Cursor) -> Callable[[Request], Reply]:
    def handler(request: Request) -> Reply:
        page = {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": cursor()}}
        return Reply(body={"data": shape(page)})
    return handler


def _linear_issues(page: dict[str, object]) -> dict[str, object]:
    return {"issues": page}


def _github_issues(page: dict[str, object]) -> dict[str, object]:
    return {"repository": {"issues": page}}


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[LoopbackServer] = []

    def start(handler: Callable[[Request], Reply]) -> LoopbackServer:
        server = LoopbackServer(handler)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_linear_candidates_stop_when_the_cursor_repeats(serve: Serve) -> None:
    server = serve(_endless(_linear_issues, _same()))
    tracker = LinearTracker(make_client("linear", server.url, "k", ""), "proj", page_size=50)
    with pytest.raises(TrackerError, match=r"MaestroCandidates.*'c1' again"):
        tracker.candidates(["Todo"])
    assert len(server.requests) == 2


def test_github_candidates_stop_when_the_cursor_repeats(serve: Serve) -> None:
    server = serve(_endless(_github_issues, _same()))
    tracker = GitHubIssuesTracker(make_client("github", server.url, "t", "bearer"),
                                  "acme/widgets", issue_prefix="GH",
                                  state_labels={"Todo": "status:todo"})
    with pytest.raises(TrackerError, match=r"MaestroIssues.*again"):
        tracker.candidates(["Todo"])
    assert len(server.requests) == 2


def test_a_read_with_ever_new_cursors_stops_at_the_page_cap(
        serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "MAX_PAGES", 5)
    server = serve(_endless(_linear_issues, _fresh()))
    tracker = LinearTracker(make_client("linear", server.url, "k", ""), "proj", page_size=50)
    with pytest.raises(TrackerError, match="more than 5 pages"):
        tracker.candidates(["Todo"])
    assert len(server.requests) == 5


WALKS = {
    "last page": ([(False, None)], [None]),
    "two pages": ([(True, "a"), (False, None)], ["a", None]),
    "next page without a cursor": ([(True, None)], ["hasNextPage without an endCursor"]),
    "cursor repeated": ([(True, "a"), (True, "b"), (True, "a")],
                        ["a", "b", "cursor 'a' again after 3 page"]),
    "cap reached": ([(True, "a"), (True, "b"), (True, "c")], ["a", "b", "more than 3 pages"]),
}


@pytest.mark.parametrize("case", sorted(WALKS))
def test_a_page_walk_follows_new_cursors_and_refuses_endless_ones(case: str) -> None:
    pages, expected = WALKS[case]
    walk = PageWalk("svc", "Op", max_pages=3)
    for (has_next, cursor), want in zip(pages, expected, strict=True):
        if want is None or want in {"a", "b"}:
            assert walk.next(has_next, cursor) == want
        else:
            with pytest.raises(TrackerError, match=rf"svc: Op: .*{want}"):
                walk.next(has_next, cursor)


def test_a_failed_tracker_read_skips_the_tick_not_the_daemon(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []

    def endless(self: FilesTracker, states: object) -> list[object]:
        reads.append(1)
        PageWalk("files", "Candidates", max_pages=1).next(True, "c")
        return []

    monkeypatch.setattr(FilesTracker, "candidates", endless)
    Orchestrator(sandbox.config).daemon(0.01, max_ticks=2)
    assert len(reads) >= 2  # the second tick ran: the first one's error did not end the daemon
    warnings = (sandbox.config.state_root / "warnings.log").read_text()
    assert "tick skipped, the tracker read failed: files: Candidates: more than 1 pages" in warnings
