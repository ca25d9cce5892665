"""The pull-request side of the fake GitHub, for the forge adapter, backed by real git.

    world = ForgeWorld(origin_path, "acme/widgets")     # a GitHubWorld with a bare repo
    with github_forge_server(world) as server:           # a LoopbackServer; server.url
        ...
    world.review(1, "CHANGES_REQUESTED", "please fix", path="a.py", line=3)

This extends :mod:`fakes.github_server` (issues, labels, the number space, the root and the
type resolver) the way that module invites: subclasses of its world, PR node, repository
node and root. Branch heads, mergeability and merges come from the bare repository that
``git push`` writes to, so what the forge pushes with git and what it reads over GraphQL
agree, exactly as on GitHub. Merges are real (``git merge-tree`` + ``commit-tree`` + a
compare-and-swap ``update-ref``). Only the fields the forge reads are implemented; anything
else is an execution error recorded in ``service.unexpected``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fakes.github_server import (
    TOKEN,
    ActorNode,
    CommentNode,
    CommentRec,
    GitHubRoot,
    GitHubWorld,
    PullRequestNode,
    PullRequestRec,
    Repo,
    RepositoryNode,
    _node_id,
    github_service,
    page,
)
from fakes.graphql_service import GraphQLService, ServiceError, connection
from fakes.loopback import LoopbackServer, Reply, Request

__all__ = ["TOKEN", "ForgeWorld", "github_forge_server", "github_forge_service"]


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {"GIT_AUTHOR_NAME": "github", "GIT_AUTHOR_EMAIL": "noreply@github.invalid",
           "GIT_COMMITTER_NAME": "github", "GIT_COMMITTER_EMAIL": "noreply@github.invalid",
           "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(repo)}
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          check=check, env=env)


@dataclass
class ReviewRec:
    author: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    body: str
    commit: str
    submitted_at: datetime


@dataclass
class ThreadRec:
    id: str
    path: str
    line: int | None
    comments: list[tuple[str, str]]
    resolved: bool = False
    commit: str = ""  # the head the thread was written on


@dataclass
class CheckRec:
    name: str
    status: str  # COMPLETED | IN_PROGRESS | QUEUED
    conclusion: str | None
    required: bool
    summary: str = ""
    #: the Actions job's log (served by the REST API); None: not an Actions check run
    log: str | None = None
    job: int = 0


@dataclass
class ForgePullRec(PullRequestRec):
    draft: bool = False
    #: opened from a fork's branch (its head lives in another repository)
    cross_repository: bool = False
    last_head: str = ""
    merge_commit: str | None = None
    reviews: list[ReviewRec] = field(default_factory=list)
    threads: list[ThreadRec] = field(default_factory=list)
    #: bodies of the conversation comments posted on the PR (``addComment``)
    comments: list[str] = field(default_factory=list)
    #: every conversation comment, maestro's and people's, oldest first
    conversation: list[CommentRec] = field(default_factory=list)


class ForgeWorld(GitHubWorld):
    """A one-repository ``GitHubWorld`` whose git data lives in the bare repo ``origin``."""

    def __init__(self, origin: Path, repository: str = "acme/widgets",
                 required_approvals: int = 1) -> None:
        super().__init__(repository)
        self.origin = origin
        self.required_approvals = required_approvals
        self.checks: dict[str, list[CheckRec]] = {}  # commit oid → check runs on it
        self.mergeable_override: str | None = None
        #: check names branch protection requires on the head before a merge is allowed
        self.required_checks: set[str] = set()
        self.merge_state_override: str | None = None
        #: messages the next merge attempts are refused with, one per attempt
        self.merge_failures: list[str] = []
        #: called with the PR number when a merge is refused that way (a concurrent change)
        self.on_merge_failure: Callable[[int], None] | None = None
        self.merges: list[tuple[int, str, str]] = []  # (number, method, merge commit)
        self._jobs = 0
        #: the Authorization header each read of log storage came with ("" when none)
        self.log_reads: list[str] = []
        self.deleted_refs: list[str] = []

    @property
    def pulls(self) -> dict[int, PullRequestRec]:
        return self.default.pulls

    def pull(self, number: int) -> ForgePullRec:
        rec = self.default.pulls[number]
        assert isinstance(rec, ForgePullRec), f"#{number} was not opened through the forge"
        return rec

    # -- git -------------------------------------------------------------------------------

    def ref_head(self, branch: str) -> str | None:
        proc = _git(self.origin, "rev-parse", "--verify", "--quiet",
                    f"refs/heads/{branch}^{{commit}}", check=False)
        return proc.stdout.strip() or None

    def head_of(self, rec: ForgePullRec) -> str:
        """An open PR follows its branch; a closed or merged one keeps its last head."""
        if rec.state == "OPEN":
            head = self.ref_head(rec.head_ref)
            if head:
                rec.last_head = head
        return rec.last_head

    def mergeable(self, rec: ForgePullRec) -> str:
        if self.mergeable_override:
            return self.mergeable_override
        base = self.ref_head(rec.base_ref)
        if rec.state != "OPEN" or base is None:
            return "UNKNOWN"
        proc = _git(self.origin, "merge-tree", "--write-tree", "--no-messages", base,
                    self.head_of(rec), check=False)
        return "MERGEABLE" if proc.returncode == 0 else "CONFLICTING"

    # -- what people and CI do (test helpers) ------------------------------------------------

    def review(self, number: int, state: str, body: str = "", author: str = "reviewer",
               path: str = "", line: int | None = None) -> None:
        rec = self.pull(number)
        rec.reviews.append(ReviewRec(author, state, body, self.head_of(rec), datetime.now(UTC)))
        if path:
            rec.threads.append(ThreadRec(_node_id("PRRT"), path, line, [(author, body)],
                                         commit=self.head_of(rec)))

    def check(self, number: int, name: str, conclusion: str | None = "SUCCESS",
              required: bool = True, summary: str = "", log: str | None = None) -> None:
        """A check run on the PR's current head; ``conclusion=None`` means still running;
        ``log``: it is an Actions job with this log (``GET …/actions/jobs/{id}/logs``)."""
        head = self.head_of(self.pull(number))
        runs = [c for c in self.checks.get(head, []) if c.name != name]
        self._jobs += 1
        runs.append(CheckRec(name, "COMPLETED" if conclusion else "IN_PROGRESS", conclusion,
                             required, summary, log, 7000 + self._jobs))
        self.checks[head] = runs

    def job_log(self, job: int) -> str | None:
        for runs in self.checks.values():
            for run in runs:
                if run.job == job:
                    return run.log
        return None

    def comment(self, number: int, body: str, author: str = "reviewer") -> None:
        """A person's conversation comment on the PR (not inline), written now."""
        self.pull(number).conversation.append(
            CommentRec(_node_id("IC"), body, author, datetime.now(UTC)))

    def close(self, number: int) -> None:
        rec = self.pull(number)
        self.head_of(rec)
        rec.state = "CLOSED"


# -- resolvers ---------------------------------------------------------------------------------


class CheckRunNode:
    typename = "CheckRun"

    def __init__(self, rec: CheckRec) -> None:
        self._rec = rec
        self.id = f"CR_{rec.name}"
        self.name, self.status, self.conclusion = rec.name, rec.status, rec.conclusion
        self.title, self.summary, self.text = rec.name, rec.summary, None
        self.detailsUrl = (f"https://github.com/acme/widgets/actions/runs/42/job/{rec.job}"
                           if rec.log is not None else "https://ci.example.invalid/run/1")

    def isRequired(self, info: Any, pullRequestNumber: int | None = None,
                   pullRequestId: str | None = None) -> bool:
        if pullRequestNumber is None and pullRequestId is None:
            raise ServiceError("isRequired needs pullRequestId or pullRequestNumber")
        return self._rec.required


class ForgePullNode(PullRequestNode):
    def __init__(self, world: ForgeWorld, repo: Repo, rec: ForgePullRec) -> None:
        super().__init__(repo, rec)
        self._world, self._forge_rec = world, rec
        self.isDraft = rec.draft
        self.isCrossRepository = rec.cross_repository
        self.headRefOid = world.head_of(rec)
        self.mergeCommit = {"oid": rec.merge_commit} if rec.merge_commit else None

    @property
    def mergeable(self) -> str:
        return self._world.mergeable(self._forge_rec)

    @property
    def mergeStateStatus(self) -> str:
        """CLEAN, DIRTY (conflicts) or BLOCKED (review or a required check missing)."""
        world, rec = self._world, self._forge_rec
        if world.merge_state_override:
            return world.merge_state_override
        if rec.state != "OPEN":
            return "UNKNOWN"
        if self.mergeable == "CONFLICTING":
            return "DIRTY"
        runs = {r.name: r for r in world.checks.get(self.headRefOid, [])}
        green = all(name in runs and runs[name].conclusion == "SUCCESS"
                    for name in world.required_checks)
        if self.reviewDecision != "APPROVED" or not green:
            return "BLOCKED"
        return "CLEAN"

    @property
    def reviewDecision(self) -> str:
        latest: dict[str, str] = {}
        for review in self._forge_rec.reviews:
            if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[review.author] = review.state
        if "CHANGES_REQUESTED" in latest.values():
            return "CHANGES_REQUESTED"
        approvals = sum(1 for s in latest.values() if s == "APPROVED")
        return "APPROVED" if approvals >= self._world.required_approvals else "REVIEW_REQUIRED"

    def reviews(self, info: Any, first: int | None = None, last: int | None = None,
                **_: Any) -> dict[str, Any]:
        nodes = [{"id": f"PRR_{i}", "author": ActorNode(r.author), "state": r.state,
                  "body": r.body, "submittedAt": r.submitted_at.isoformat(),
                  "commit": {"oid": r.commit}} for i, r in enumerate(self._forge_rec.reviews)]
        return page(nodes, first, None, last)

    def comments(self, info: Any, first: int | None = None, last: int | None = None,
                 **_: Any) -> dict[str, Any]:
        return page([CommentNode(c) for c in self._forge_rec.conversation], first, None, last)

    def _outdated(self, thread: ThreadRec) -> bool:
        """Like GitHub: the head changed the thread's file since it was written (the fake
        works per file, not per diff hunk)."""
        head = self._world.head_of(self._forge_rec)
        if not thread.commit or thread.commit == head:
            return False
        return _git(self._world.origin, "diff", "--quiet", thread.commit, head, "--",
                    thread.path, check=False).returncode == 1

    def reviewThreads(self, info: Any, first: int | None = None, **_: Any) -> dict[str, Any]:
        nodes = [{"id": t.id, "isResolved": t.resolved, "isOutdated": self._outdated(t),
                  "path": t.path,
                  "line": t.line, "originalLine": t.line,
                  "comments": connection([{"author": ActorNode(a), "body": b}
                                          for a, b in t.comments], None, None, 100, 100)}
                 for t in self._forge_rec.threads]
        return connection(nodes, first, None, 100, 100)

    @property
    def statusCheckRollup(self) -> dict[str, Any] | None:
        runs = self._world.checks.get(self.headRefOid)
        if not runs:
            return None
        states = {"PENDING" if r.status != "COMPLETED" else
                  "SUCCESS" if r.conclusion in ("SUCCESS", "NEUTRAL", "SKIPPED") else "FAILURE"
                  for r in runs}
        state = ("FAILURE" if "FAILURE" in states else
                 "PENDING" if "PENDING" in states else "SUCCESS")
        nodes = [CheckRunNode(r) for r in runs]
        return {"id": f"SCR_{self.headRefOid}", "state": state,
                "contexts": lambda info, first=None, **_: connection(nodes, first, None,
                                                                     100, 100)}


class ForgeRepositoryNode(RepositoryNode):
    def __init__(self, world: ForgeWorld, repo: Repo) -> None:
        super().__init__(repo)
        self._world = world

    def pullRequest(self, info: Any, number: int) -> ForgePullNode:
        rec = self._repo.pulls.get(number)
        if not isinstance(rec, ForgePullRec):
            raise self._not_found("a PullRequest", number)
        return ForgePullNode(self._world, self._repo, rec)

    def pullRequests(self, info: Any, headRefName: str | None = None,
                     states: list[str] | None = None, first: int | None = None,
                     after: str | None = None, orderBy: dict[str, Any] | None = None,
                     **_: Any) -> dict[str, Any]:
        recs = [p for p in self._repo.pulls.values() if isinstance(p, ForgePullRec)
                and (headRefName is None or p.head_ref == headRefName)
                and (not states or p.state in states)]
        recs.sort(key=lambda p: p.created_at,
                  reverse=bool(orderBy and orderBy.get("direction") == "DESC"))
        return page([ForgePullNode(self._world, self._repo, p) for p in recs], first, after)

    def ref(self, info: Any, qualifiedName: str) -> dict[str, Any] | None:
        name = qualifiedName.removeprefix("refs/heads/")
        if self._world.ref_head(name) is None:
            return None
        return {"id": f"REF_{name}", "name": name, "prefix": "refs/heads/"}


class ForgeRoot(GitHubRoot):
    """``GitHubRoot`` plus the pull-request reads and mutations the forge uses."""

    world: ForgeWorld

    def __init__(self, world: ForgeWorld) -> None:
        super().__init__(world)

    def repository(self, info: Any, owner: str, name: str, **_: Any) -> ForgeRepositoryNode:
        node = super().repository(info, owner, name)
        return ForgeRepositoryNode(self.world, node._repo)

    def _pull(self, node_id: str) -> ForgePullRec:
        _, rec = self.world.find_node(node_id)
        if not isinstance(rec, ForgePullRec):
            raise ServiceError(f"Could not resolve to a PullRequest with the id {node_id}",
                               type="NOT_FOUND")
        return rec

    def _node(self, rec: ForgePullRec) -> ForgePullNode:
        return ForgePullNode(self.world, self.world.default, rec)

    def createPullRequest(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        world, repo = self.world, self.world.default
        if input["repositoryId"] != repo.id:
            raise ServiceError("Could not resolve to a Repository", type="NOT_FOUND")
        head, base = input["headRefName"], input["baseRefName"]
        if world.ref_head(head) is None:
            raise ServiceError(f"Head sha can't be blank; no branch {head}", type="UNPROCESSABLE")
        if world.ref_head(base) is None:
            raise ServiceError(f"Base ref must be a branch ({base})", type="UNPROCESSABLE")
        if any(p.head_ref == head and p.state == "OPEN" and not (
                isinstance(p, ForgePullRec) and p.cross_repository)
               for p in repo.pulls.values()):  # a fork's branch is another head
            raise ServiceError(f"A pull request already exists for {head}.",
                               type="UNPROCESSABLE")
        rec = ForgePullRec(_node_id("PR"), repo.next_number, input["title"],
                           input.get("body") or "", world._now(), head_ref=head,
                           base_ref=base, draft=bool(input.get("draft")))
        repo.pulls[rec.number] = rec
        repo.next_number += 1
        return {"pullRequest": self._node(rec)}

    def mergePullRequest(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        world = self.world
        rec = self._pull(input["pullRequestId"])
        if rec.state != "OPEN":
            raise ServiceError(f"Pull request is {rec.state.lower()}", type="UNPROCESSABLE")
        if world.merge_failures:
            message = world.merge_failures.pop(0)
            if world.on_merge_failure is not None:
                world.on_merge_failure(rec.number)
            raise ServiceError(message, type="UNPROCESSABLE")
        head = world.head_of(rec)
        expected = input.get("expectedHeadOid")
        if ForgePullNode(world, world.default, rec).mergeStateStatus == "BLOCKED":
            raise ServiceError("Pull request is not mergeable: protected branch rules are "
                               "not satisfied", type="UNPROCESSABLE")
        if expected and expected != head:
            raise ServiceError("Head branch was modified. Review and try the merge again.",
                               type="UNPROCESSABLE")
        base = str(world.ref_head(rec.base_ref))
        tree = _git(world.origin, "merge-tree", "--write-tree", "--no-messages", base, head,
                    check=False)
        if tree.returncode != 0:
            raise ServiceError("Pull Request is not mergeable", type="UNPROCESSABLE")
        method = input.get("mergeMethod") or "MERGE"
        parents = ["-p", base, "-p", head] if method == "MERGE" else ["-p", base]
        message = (f"Merge pull request #{rec.number} from {rec.head_ref}" if method == "MERGE"
                   else f"{rec.title} (#{rec.number})")
        commit = _git(world.origin, "commit-tree", tree.stdout.split()[0], *parents,
                      "-m", message).stdout.strip()
        _git(world.origin, "update-ref", f"refs/heads/{rec.base_ref}", commit, base)
        rec.state, rec.merge_commit = "MERGED", commit
        world.merges.append((rec.number, method, commit))
        return {"pullRequest": self._node(rec), "actor": ActorNode("maestro-bot")}

    def addComment(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        """A PR's conversation comment; an issue's comment goes to ``GitHubRoot``."""
        _, rec = self.world.find_node(input["subjectId"])
        if not isinstance(rec, ForgePullRec):
            return super().addComment(info, input)
        rec.comments.append(input["body"])
        rec.conversation.append(CommentRec(_node_id("IC"), input["body"], "maestro-bot",
                                           datetime.now(UTC)))
        return {"clientMutationId": input.get("clientMutationId")}

    def closePullRequest(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        rec = self._pull(input["pullRequestId"])
        if rec.state == "OPEN":
            self.world.close(rec.number)
        return {"pullRequest": self._node(rec)}

    def resolveReviewThread(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        for rec in self.world.default.pulls.values():
            for thread in getattr(rec, "threads", []):
                if thread.id == input["threadId"]:
                    thread.resolved = True
                    return {"thread": {"id": thread.id, "isResolved": True}}
        raise ServiceError("Could not resolve to a PullRequestReviewThread", type="NOT_FOUND")

    def deleteRef(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        name = str(input["refId"]).removeprefix("REF_")
        if self.world.ref_head(name) is None:
            raise ServiceError("Could not resolve to a Ref", type="NOT_FOUND")
        for rec in self.world.default.pulls.values():
            if isinstance(rec, ForgePullRec) and rec.head_ref == name:
                self.world.head_of(rec)
        _git(self.world.origin, "update-ref", "-d", f"refs/heads/{name}")
        self.world.deleted_refs.append(name)
        return {"clientMutationId": input.get("clientMutationId")}


def github_forge_service(world: ForgeWorld, token: str = TOKEN) -> GraphQLService:
    return github_service(world, token, root=ForgeRoot(world))


def github_rest(world: ForgeWorld, token: str = TOKEN) -> Callable[[Request], Reply]:
    """The REST side the forge reads: an Actions job's log, as GitHub serves it — the API
    (token required) redirects to storage that takes no token and must not get one."""
    api = f"/repos/{world.default.owner}/{world.default.name}/actions/jobs/"

    def handle(request: Request) -> Reply:
        path = request.path.split("?")[0]
        if path.startswith("/storage/job-"):
            world.log_reads.append(request.headers.get("authorization", ""))
            log = world.job_log(int(path.removeprefix("/storage/job-").removesuffix(".txt")))
            return Reply(200, log or "", {"Content-Type": "text/plain"})
        if not (path.startswith(api) and path.endswith("/logs")):
            return Reply(404, {"message": "Not Found"})
        if request.headers.get("authorization") != f"Bearer {token}":
            return Reply(401, {"message": "Bad credentials"})
        job = path.removeprefix(api).removesuffix("/logs")
        if not job.isdigit() or world.job_log(int(job)) is None:
            return Reply(404, {"message": "Not Found"})
        host = request.headers.get("host", "")
        # Another origin than the API's (``localhost`` vs ``127.0.0.1``), as on GitHub.
        storage = "http://" + host.replace("127.0.0.1", "localhost")
        return Reply(302, b"", {"Location": f"{storage}/storage/job-{job}.txt"})

    return handle


@contextmanager
def github_forge_server(world: ForgeWorld, token: str = TOKEN) -> Iterator[LoopbackServer]:
    server = LoopbackServer(github_forge_service(world, token), github_rest(world, token))
    with server.running():
        yield server
