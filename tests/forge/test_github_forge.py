"""The GitHub forge against the loopback fake GitHub (real sockets, real git)."""

from __future__ import annotations

import base64
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fakes.github_forge import TOKEN, ForgeWorld
from fakes.loopback import LoopbackServer
from forge.conftest import REPOSITORY, Remote, make_client, sh

from maestro.errors import ForgeError
from maestro.forges.github import BLOCKED_CHECK, GitHubForge, auth_config
from maestro.model import CheckState, PullState, ReviewVerdict
from maestro.trackers.http import Secret

BRANCH = "maestro/abc-1"


def lane_commit(remote: Remote, content: str = "feature\n") -> str:
    """A commit on the lane branch in the clone (the forge pushes it)."""
    sh(remote.clone, "checkout", "--quiet", "-B", BRANCH, "main")
    return remote.commit("feature.txt", content, "add feature")


def opened(forge: GitHubForge, remote: Remote) -> tuple[int, str]:
    head = lane_commit(remote)
    forge.push(remote.clone, BRANCH)
    pr = forge.open_pr(BRANCH, "main", "Add feature", "body")
    return pr.number, head


def approved(forge: GitHubForge, remote: Remote, world: ForgeWorld) -> tuple[int, str]:
    number, head = opened(forge, remote)
    world.review(number, "APPROVED", "ship it")
    return number, head


def test_push_publishes_head_to_the_lane_branch(forge: GitHubForge, remote: Remote) -> None:
    head = lane_commit(remote)
    assert forge.push(remote.clone, BRANCH) == head
    assert remote.head(f"refs/heads/{BRANCH}") == head


def test_open_pr_creates_a_non_draft_pr_for_the_branch(forge: GitHubForge, remote: Remote,
                                                       world: ForgeWorld) -> None:
    number, head = opened(forge, remote)
    pr = forge.find_pr(BRANCH)
    assert pr is not None and pr.number == number
    assert (pr.branch, pr.base, pr.head, pr.draft, pr.state) == (BRANCH, "main", head, False,
                                                                 PullState.OPEN)
    assert world.pull(number).draft is False


def test_open_pr_twice_returns_the_same_pr(forge: GitHubForge, remote: Remote,
                                           world: ForgeWorld) -> None:
    number, _ = opened(forge, remote)
    again = forge.open_pr(BRANCH, "main", "Add feature", "body")
    assert again.number == number
    assert len(world.pulls) == 1


def test_a_forks_pr_from_a_branch_of_the_lanes_name_is_never_the_lanes(
        forge: GitHubForge, remote: Remote, world: ForgeWorld) -> None:
    """Anyone may open a PR from a fork whose branch is named ``maestro/abc-1``; it is not
    the lane's, neither to find nor to reuse when the lane opens its own."""
    number, _ = opened(forge, remote)
    world.pull(number).cross_repository = True  # as if a fork had opened it
    assert forge.find_pr(BRANCH) is None
    own = forge.open_pr(BRANCH, "main", "Add feature", "body")
    assert own.number != number and forge.find_pr(BRANCH) == own


def open_branch(forge: GitHubForge, remote: Remote, branch: str) -> int:
    sh(remote.clone, "checkout", "--quiet", "-B", branch, "main")
    remote.commit(f"{branch.replace('/', '-')}.txt", "x\n", f"change on {branch}")
    forge.push(remote.clone, branch)
    return forge.open_pr(branch, "main", branch, "").number


def test_open_prs_lists_the_open_prs_of_lane_branches_newest_first(
        forge: GitHubForge, remote: Remote, world: ForgeWorld) -> None:
    first = open_branch(forge, remote, "maestro/abc-1")
    open_branch(forge, remote, "feature/other")
    second = open_branch(forge, remote, "maestro/abc-2")
    closed = open_branch(forge, remote, "maestro/abc-3")
    forge.close_pr(closed)
    forked = open_branch(forge, remote, "maestro/abc-4")
    world.pull(forked).cross_repository = True  # as if a fork had opened it
    assert [pr.number for pr in forge.open_prs("maestro/")] == [second, first]


def test_open_prs_reads_every_page(forge: GitHubForge, remote: Remote,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import maestro.forges.github as github

    monkeypatch.setattr(github, "OPEN_QUERY", github.OPEN_QUERY.replace("first: 100",
                                                                         "first: 1"))
    numbers = [open_branch(forge, remote, f"maestro/page-{index}") for index in range(3)]
    assert [pr.number for pr in forge.open_prs("maestro/")] == numbers[::-1]


def test_find_pr_without_a_pr_is_none(forge: GitHubForge) -> None:
    assert forge.find_pr(BRANCH) is None


def test_refresh_reads_every_pr_in_one_request(forge: GitHubForge, remote: Remote,
                                               server: LoopbackServer) -> None:
    numbers = []
    for index in range(3):
        branch = f"maestro/many-{index}"
        sh(remote.clone, "checkout", "--quiet", "-B", branch, "main")
        remote.commit(f"f{index}.txt", "x\n", f"change {index}")
        forge.push(remote.clone, branch)
        numbers.append(forge.open_pr(branch, "main", f"change {index}", "").number)
    before = forge.requests
    found = forge.refresh(numbers)
    assert forge.requests - before == 1
    assert sorted(found) == numbers


def test_refresh_leaves_out_numbers_that_are_no_pr(forge: GitHubForge, remote: Remote) -> None:
    number, _ = opened(forge, remote)
    assert list(forge.refresh([number, 999])) == [number]


def test_refresh_maps_reviews_threads_checks_and_mergeability(
        forge: GitHubForge, remote: Remote, world: ForgeWorld) -> None:
    number, head = opened(forge, remote)
    world.review(number, "CHANGES_REQUESTED", "rename it", author="ana", path="feature.txt",
                 line=1)
    world.review(number, "APPROVED", "fine by me", author="bo")
    world.check(number, "ci/test", "FAILURE", summary="1 failed")
    world.check(number, "ci/lint", None)
    world.check(number, "ci/optional", "FAILURE", required=False)
    pr = forge.refresh([number])[number]
    assert [(r.author, r.verdict, r.commit) for r in pr.reviews] == [
        ("ana", ReviewVerdict.CHANGES_REQUESTED, head), ("bo", ReviewVerdict.APPROVED, head)]
    assert [(t.path, t.line, t.resolved) for t in pr.threads] == [("feature.txt", 1, False)]
    assert "rename it" in pr.threads[0].body
    checks = {c.name: (c.state, c.required) for c in pr.checks if c.name != BLOCKED_CHECK}
    assert checks == {"ci/test": (CheckState.FAILURE, True), "ci/lint": (CheckState.PENDING, True),
                      "ci/optional": (CheckState.FAILURE, False)}
    assert pr.mergeable is True
    assert pr.extra["review_decision"] == "CHANGES_REQUESTED"


def test_checks_count_as_required_when_the_repository_marks_none(
        forge: GitHubForge, remote: Remote, world: ForgeWorld) -> None:
    number, _ = opened(forge, remote)
    world.check(number, "ci/test", "FAILURE", required=False)
    pr = forge.refresh([number])[number]
    assert [(c.name, c.state, c.required) for c in pr.checks
            if c.name != BLOCKED_CHECK] == [("ci/test", CheckState.FAILURE, True)]


def test_a_base_with_a_conflicting_commit_makes_the_pr_unmergeable(
        forge: GitHubForge, remote: Remote) -> None:
    number, _ = opened(forge, remote)
    sh(remote.clone, "checkout", "--quiet", "main")
    remote.commit("feature.txt", "something else\n", "conflicting change")
    sh(remote.clone, "push", "--quiet", "origin", "main")
    pr = forge.refresh([number])[number]
    assert pr.mergeable is False
    assert "conflict" in pr.conflict


def test_merge_merges_the_expected_head_once(forge: GitHubForge, remote: Remote,
                                             world: ForgeWorld) -> None:
    number, head = approved(forge, remote, world)
    commit = forge.merge(number, head, "merge")
    assert remote.head("refs/heads/main") == commit
    assert sh(remote.origin, "rev-parse", f"{commit}^2") == head
    assert forge.merge(number, head, "merge") == commit
    assert len(world.merges) == 1
    assert forge.refresh([number])[number].state == PullState.MERGED


def test_merge_refuses_a_head_that_was_not_validated(forge: GitHubForge, remote: Remote,
                                                     world: ForgeWorld) -> None:
    number, head = approved(forge, remote, world)
    remote.commit("feature.txt", "sneaky\n", "unvalidated")
    forge.push(remote.clone, BRANCH)
    with pytest.raises(ForgeError, match="not validated"):
        forge.merge(number, head, "merge")
    assert world.merges == []


def test_merge_uses_the_configured_method(forge: GitHubForge, remote: Remote,
                                          world: ForgeWorld) -> None:
    number, head = approved(forge, remote, world)
    commit = forge.merge(number, head, "squash")
    assert world.merges == [(number, "SQUASH", commit)]
    assert sh(remote.origin, "rev-list", "--parents", "-n1", commit).count(" ") == 1


def test_merge_of_a_closed_pr_is_an_error(forge: GitHubForge, remote: Remote,
                                          world: ForgeWorld) -> None:
    number, head = opened(forge, remote)
    world.close(number)
    with pytest.raises(ForgeError, match="closed"):
        forge.merge(number, head, "merge")


def test_close_pr_closes_once(forge: GitHubForge, remote: Remote, world: ForgeWorld,
                              server: LoopbackServer) -> None:
    number, _ = opened(forge, remote)
    forge.close_pr(number)
    forge.close_pr(number)
    assert world.pull(number).state == "CLOSED"
    closes = [r for r in server.requests if r.operation == "MaestroForgeClose"]
    assert len(closes) == 1


def test_close_pr_posts_its_reason_once_before_closing(forge: GitHubForge, remote: Remote,
                                                      world: ForgeWorld) -> None:
    number, _ = opened(forge, remote)
    forge.close_pr(number, comment="the issue was cancelled")
    forge.close_pr(number, comment="the issue was cancelled")
    assert world.pull(number).state == "CLOSED"
    [comment] = world.pull(number).comments
    assert comment.startswith("the issue was cancelled")


def test_a_close_whose_answers_were_lost_comments_once_and_closes(
        forge: GitHubForge, remote: Remote, world: ForgeWorld, server: LoopbackServer) -> None:
    number, _ = opened(forge, remote)
    server.lose_answer(502, operation="MaestroForgeComment")
    server.lose_answer(502, operation="MaestroForgeClose")
    forge.close_pr(number, comment="the issue was cancelled")
    assert world.pull(number).state == "CLOSED"
    assert len(world.pull(number).comments) == 1


def test_a_pr_whose_creation_answer_was_lost_is_opened_once(
        forge: GitHubForge, remote: Remote, world: ForgeWorld, server: LoopbackServer) -> None:
    lane_commit(remote)
    forge.push(remote.clone, BRANCH)
    server.lose_answer(502, operation="MaestroForgeCreate")
    pr = forge.open_pr(BRANCH, "main", "Add feature", "body")
    assert [p.number for p in forge.open_prs("maestro/")] == [pr.number]
    assert len([r for r in server.requests if r.operation == "MaestroForgeCreate"]) == 1


def test_a_branch_deletion_whose_answer_was_lost_is_done(
        forge: GitHubForge, remote: Remote, world: ForgeWorld, server: LoopbackServer) -> None:
    opened(forge, remote)
    server.lose_answer(502, operation="MaestroForgeDeleteRef")
    forge.delete_branch(BRANCH)
    assert remote.head(f"refs/heads/{BRANCH}") is None


def test_resolve_threads_resolves_all_in_one_mutation(forge: GitHubForge, remote: Remote,
                                                      world: ForgeWorld,
                                                      server: LoopbackServer) -> None:
    number, _ = opened(forge, remote)
    world.review(number, "CHANGES_REQUESTED", "one", path="feature.txt", line=1)
    world.review(number, "COMMENTED", "two", path="README.md", line=1)
    forge.resolve_threads(number)
    assert all(t.resolved for t in world.pull(number).threads)
    assert len([r for r in server.requests if r.operation == "MaestroForgeResolve"]) == 1


def test_delete_branch_removes_the_ref_and_is_idempotent(forge: GitHubForge, remote: Remote,
                                                         world: ForgeWorld) -> None:
    opened(forge, remote)
    forge.delete_branch(BRANCH)
    forge.delete_branch(BRANCH)
    assert remote.head(f"refs/heads/{BRANCH}") is None
    assert world.deleted_refs == [BRANCH]


def test_service_failures_become_forge_errors(forge: GitHubForge,
                                              server: LoopbackServer) -> None:
    server.fail(502, times=5)
    with pytest.raises(ForgeError, match="HTTP 502"):
        forge.refresh([1])


def test_a_bad_token_is_a_forge_error_without_the_token(server: LoopbackServer,
                                                        remote: Remote) -> None:
    adapter = GitHubForge(make_client(server.url, token="wrong-token"), REPOSITORY,
                          remote.clone, "origin")
    with pytest.raises(ForgeError) as caught:
        adapter.find_pr(BRANCH)
    assert "wrong-token" not in str(caught.value)


# -- the token on the git side -----------------------------------------------------------------


class _GitHttp(BaseHTTPRequestHandler):
    """Records the Authorization header git sends, then refuses (HTTP 403)."""

    seen: list[str] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization", ""))
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def git_http() -> Iterator[str]:
    _GitHttp.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _GitHttp)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    yield f"http://{host!s}:{port}/acme/widgets.git"
    httpd.shutdown()
    httpd.server_close()


def test_push_sends_the_token_only_as_an_http_header(server: LoopbackServer, remote: Remote,
                                                     git_http: str) -> None:
    sh(remote.clone, "remote", "add", "github", git_http)
    adapter = GitHubForge(make_client(server.url), REPOSITORY, remote.clone, "github",
                          token=Secret(TOKEN))
    lane_commit(remote)
    with pytest.raises(ForgeError) as caught:
        adapter.push(remote.clone, BRANCH)
    expected = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert f"Basic {expected}" in _GitHttp.seen
    assert TOKEN not in str(caught.value) and expected not in str(caught.value)
    config = (remote.clone / ".git" / "config").read_text()
    assert TOKEN not in config and expected not in config


def test_fetch_sends_the_token_as_an_http_header_not_through_git_config(
        server: LoopbackServer, remote: Remote, git_http: str) -> None:
    """A private repository must be fetchable with maestro's git config isolation on (no
    user credential helper): the token goes as the push's does, from memory."""
    sh(remote.clone, "remote", "add", "github", git_http)
    adapter = GitHubForge(make_client(server.url), REPOSITORY, remote.clone, "github",
                          token=Secret(TOKEN))
    assert adapter.fetch("main") is False  # the loopback server refuses after recording
    expected = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert f"Basic {expected}" in _GitHttp.seen
    config = (remote.clone / ".git" / "config").read_text()
    assert TOKEN not in config and expected not in config


def test_fetch_brings_the_remote_lane_branch(forge: GitHubForge, remote: Remote) -> None:
    head = lane_commit(remote)
    forge.push(remote.clone, BRANCH)
    assert forge.fetch(f"+refs/heads/{BRANCH}:refs/remotes/checked/{BRANCH}") is True
    assert sh(remote.clone, "rev-parse", f"refs/remotes/checked/{BRANCH}").strip() == head


def test_auth_config_is_one_header_entry_for_the_push_origin() -> None:
    pairs = auth_config(Secret("s3cret"), url="https://github.com/acme/widgets.git")
    assert [k for k, _ in pairs] == ["http.https://github.com/.extraHeader"]
    assert pairs[0][1].startswith("Authorization: Basic ")


def test_auth_config_scopes_the_header_to_the_push_host_and_port() -> None:
    pairs = auth_config(Secret("s3cret"), url="http://127.0.0.1:8080/a/b.git")
    assert pairs[0][0] == "http.http://127.0.0.1:8080/.extraHeader"


@pytest.mark.parametrize("url", ["", "/srv/git/widgets.git", "git@github.com:acme/widgets.git",
                                 "ssh://git@github.com/acme/widgets.git"])
def test_auth_config_gives_no_header_to_a_remote_that_is_not_http(url: str) -> None:
    assert auth_config(Secret("s3cret"), url=url) == []


def test_auth_config_without_a_token_adds_no_header() -> None:
    assert auth_config(None, url="https://github.com/acme/widgets.git") == []


def test_git_push_argv_never_holds_the_token(forge: GitHubForge, remote: Remote,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    real_run = subprocess.run

    def spy(args: Any, *a: Any, **kw: Any) -> Any:
        seen.append(list(args))
        return real_run(args, *a, **kw)

    monkeypatch.setattr("maestro.forges.github.subprocess.run", spy)
    lane_commit(remote)
    forge.push(remote.clone, BRANCH)
    assert seen and all(TOKEN not in " ".join(argv) for argv in seen)


def test_a_merge_blocked_by_branch_protection_reads_as_a_pending_check(
        forge: GitHubForge, remote: Remote, world: ForgeWorld) -> None:
    world.required_checks = {"ci/test"}
    number, _ = approved(forge, remote, world)
    pr = forge.refresh([number])[number]
    assert pr.extra["merge_state_status"] == "BLOCKED"
    assert [(c.name, c.state) for c in pr.checks] == [(BLOCKED_CHECK, CheckState.PENDING)]
    world.check(number, "ci/test", "SUCCESS")
    pr = forge.refresh([number])[number]
    assert pr.extra["merge_state_status"] == "CLEAN"
    assert [(c.name, c.state) for c in pr.checks] == [("ci/test", CheckState.SUCCESS)]


def test_a_branch_behind_a_strict_base_reads_as_a_conflict(forge: GitHubForge, remote: Remote,
                                                           world: ForgeWorld) -> None:
    number, _ = approved(forge, remote, world)
    world.merge_state_override = "BEHIND"
    pr = forge.refresh([number])[number]
    assert pr.mergeable is False and "behind main" in pr.conflict
