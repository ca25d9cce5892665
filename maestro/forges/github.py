"""GitHub as the forge: branches pushed with git, pull requests read and merged over GraphQL.

Why it is shaped like this:

* **One request per tick.** ``refresh`` reads every lane's PR in a single GraphQL query
  (one alias per PR number): state, head, reviews with the commit each was written against,
  review threads, the status-check rollup with each context's *required* flag, and
  mergeability. A poll tick therefore costs one request whatever the number of lanes.
* **The classifier never learns about GitHub.** Everything is mapped onto maestro's
  :class:`~maestro.model.PullRequest`, so :func:`maestro.lanes.repair.classify.classify` is the same
  pure function for the local forge and for GitHub.
* **The token never touches disk, argv or logs.** GraphQL calls carry it in the
  ``Authorization`` header (the shared transport in :mod:`maestro.trackers.http`); ``git
  push`` receives it only through the environment of that one git process, as an
  ``http.extraHeader`` set with ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``
  (git ≥ 2.31), which git neither stores nor echoes. Git's own error text is passed
  through :func:`_scrub` anyway before it becomes an error message.
* **Every write is idempotent.** ``open_pr`` finds before it creates; ``merge`` treats an
  already merged PR as success and is guarded by ``expectedHeadOid`` so a head that was not
  validated is never merged; closing a closed PR and deleting a deleted branch are no-ops.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from maestro.errors import ConfigError, ForeignHeadError, ForgeError, TrackerError
from maestro.forges.github_logs import DEFAULT_API, JobLogReader, job_id, rest_base
from maestro.git import git, git_env, git_ok, head_of, listed_head
from maestro.model import (
    Check,
    CheckState,
    Comment,
    PullRequest,
    PullState,
    Review,
    ReviewThread,
    ReviewVerdict,
)
from maestro.trackers.http import (
    GraphQLClient,
    GraphQLErrorItem,
    Secret,
    WriteKind,
    github_graphql_client,
    write_once,
)
from maestro.trackers.write_mark import marked, split

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig
    from maestro.config.workflow import Workflow

SERVICE = "github forge"
#: Page sizes of the nested connections read per PR; GitHub allows at most 100.
REVIEWS_LAST = 100
THREADS_FIRST = 100
THREAD_COMMENTS_FIRST = 20
CONTEXTS_FIRST = 100
#: The PR's newest conversation comments read per refresh (older ones predate the last push).
COMMENTS_LAST = 30
CHECK_SUMMARY_CHARS = 4000
#: The pending check that stands for ``mergeStateStatus: BLOCKED``.
BLOCKED_CHECK = "github: merge blocked by branch protection (required reviews or checks)"

# -- GraphQL documents ----------------------------------------------------------------------
# Every document below is checked against the published schema by tests/forge/.

PR_CORE = """
  id number url title body state isDraft headRefName baseRefName headRefOid
  mergeable reviewDecision mergeCommit { oid }
"""


def pr_selection(number: int) -> str:
    """The fields ``refresh`` reads for one PR; ``isRequired`` needs the PR's number."""
    return f"""{{{PR_CORE}
  mergeStateStatus
  reviews(last: {REVIEWS_LAST}) {{
    nodes {{ author {{ login }} state body submittedAt commit {{ oid }} }}
  }}
  reviewThreads(first: {THREADS_FIRST}) {{
    nodes {{
      id isResolved isOutdated path line originalLine
      comments(first: {THREAD_COMMENTS_FIRST}) {{ nodes {{ author {{ login }} body }} }}
    }}
    pageInfo {{ hasNextPage }}
  }}
  comments(last: {COMMENTS_LAST}) {{
    nodes {{ id author {{ login }} body createdAt }}
  }}
  statusCheckRollup {{
    state
    contexts(first: {CONTEXTS_FIRST}) {{
      nodes {{
        __typename
        ... on CheckRun {{
          name status conclusion title summary text detailsUrl
          isRequired(pullRequestNumber: {number})
        }}
        ... on StatusContext {{
          context state description targetUrl
          isRequired(pullRequestNumber: {number})
        }}
      }}
    }}
  }}
}}"""


def refresh_query(numbers: Sequence[int]) -> str:
    """One query for every PR in ``numbers``: alias ``pr<N>`` per number."""
    aliases = "\n".join(f"    pr{n}: pullRequest(number: {n}) {pr_selection(n)}"
                        for n in numbers)
    return ("query MaestroForgeRefresh($owner: String!, $name: String!) {\n"
            "  repository(owner: $owner, name: $name) {\n" + aliases + "\n  }\n}\n")


FIND_QUERY = """
query MaestroForgeFind($owner: String!, $name: String!, $branch: String!) {
  repository(owner: $owner, name: $name) {
    pullRequests(headRefName: $branch, first: 20, orderBy: {field: CREATED_AT, direction: DESC}) {
      nodes {""" + PR_CORE + """  isCrossRepository
      }
    }
  }
}
"""

OPEN_QUERY = """
query MaestroForgeOpen($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(states: [OPEN], first: 100, after: $after,
                 orderBy: {field: CREATED_AT, direction: DESC}) {
      nodes {""" + PR_CORE + """  isCrossRepository
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
#: Pages of :data:`OPEN_QUERY` read at most (100 open PRs each, newest first).
OPEN_PAGES = 5

PR_QUERY = """
query MaestroForgePull($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {""" + PR_CORE + """
      reviewThreads(first: 100) { nodes { id isResolved } }
    }
  }
}
"""

REPOSITORY_QUERY = """
query MaestroForgeRepository($owner: String!, $name: String!, $ref: String!) {
  repository(owner: $owner, name: $name) { id ref(qualifiedName: $ref) { id } }
}
"""

CREATE_MUTATION = """
mutation MaestroForgeCreate($input: CreatePullRequestInput!) {
  createPullRequest(input: $input) { pullRequest {""" + PR_CORE + """} }
}
"""

MERGE_MUTATION = """
mutation MaestroForgeMerge($input: MergePullRequestInput!) {
  mergePullRequest(input: $input) { pullRequest { state mergeCommit { oid } } }
}
"""

CLOSE_MUTATION = """
mutation MaestroForgeClose($input: ClosePullRequestInput!) {
  closePullRequest(input: $input) { pullRequest { state } }
}
"""

PR_COMMENT_MUTATION = """
mutation MaestroForgeComment($id: ID!, $body: String!) {
  addComment(input: {subjectId: $id, body: $body}) { clientMutationId }
}
"""

DELETE_REF_MUTATION = """
mutation MaestroForgeDeleteRef($input: DeleteRefInput!) {
  deleteRef(input: $input) { clientMutationId }
}
"""


def resolve_mutation(count: int) -> str:
    """Resolve ``count`` threads in one request (alias ``t<i>``, variable ``$t<i>``)."""
    params = ", ".join(f"$t{i}: ID!" for i in range(count))
    fields = "\n".join(f"  t{i}: resolveReviewThread(input: {{threadId: $t{i}}}) "
                       "{ thread { id isResolved } }" for i in range(count))
    return f"mutation MaestroForgeResolve({params}) {{\n{fields}\n}}\n"


# -- response shapes ------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Oid(_Model):
    oid: str


class _Login(_Model):
    login: str = ""


class _ReviewNode(_Model):
    author: _Login | None = None
    state: str
    body: str = ""
    submittedAt: datetime | None = None
    commit: _Oid | None = None


class _Reviews(_Model):
    nodes: list[_ReviewNode | None] = Field(default_factory=list)


class _ThreadComment(_Model):
    author: _Login | None = None
    body: str = ""


class _ThreadComments(_Model):
    nodes: list[_ThreadComment | None] = Field(default_factory=list)


class _ThreadNode(_Model):
    id: str
    isResolved: bool
    isOutdated: bool = False
    path: str = ""
    line: int | None = None
    originalLine: int | None = None
    comments: _ThreadComments = Field(default_factory=_ThreadComments)


class _Comment(_Model):
    id: str = ""
    author: _Login | None = None
    body: str = ""
    createdAt: datetime | None = None


class _Comments(_Model):
    nodes: list[_Comment | None] = Field(default_factory=list)


class _HasNext(_Model):
    hasNextPage: bool = False


class _Threads(_Model):
    nodes: list[_ThreadNode | None] = Field(default_factory=list)
    pageInfo: _HasNext = Field(default_factory=_HasNext)


class _Context(_Model):
    typename: str = Field(alias="__typename")
    name: str | None = None
    status: str | None = None
    conclusion: str | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    detailsUrl: str | None = None
    context: str | None = None
    state: str | None = None
    description: str | None = None
    targetUrl: str | None = None
    isRequired: bool = False


class _Contexts(_Model):
    nodes: list[_Context | None] = Field(default_factory=list)


class _Rollup(_Model):
    state: str
    contexts: _Contexts = Field(default_factory=_Contexts)


class _Pull(_Model):
    id: str
    number: int
    url: str
    title: str = ""
    body: str = ""
    state: str
    isDraft: bool = False
    headRefName: str
    baseRefName: str
    headRefOid: str
    #: A PR from a fork: its head branch lives in another repository, whatever it is named.
    isCrossRepository: bool = False
    mergeable: str = "UNKNOWN"
    mergeStateStatus: str | None = None
    reviewDecision: str | None = None
    mergeCommit: _Oid | None = None
    reviews: _Reviews | None = None
    reviewThreads: _Threads | None = None
    comments: _Comments | None = None
    statusCheckRollup: _Rollup | None = None


class _Ref(_Model):
    id: str


class _Repository(_Model):
    id: str
    ref: _Ref | None = None


_VERDICTS = {"APPROVED": ReviewVerdict.APPROVED,
             "CHANGES_REQUESTED": ReviewVerdict.CHANGES_REQUESTED,
             "COMMENTED": ReviewVerdict.COMMENTED}
_CHECK_GREEN = {"SUCCESS", "NEUTRAL", "SKIPPED"}
_STATUS_PENDING = {"PENDING", "EXPECTED"}


def _check_of(node: _Context) -> Check:
    """A check run or commit status as a maestro ``Check``."""
    if node.typename == "CheckRun":
        if node.status != "COMPLETED":
            state = CheckState.PENDING
        elif (node.conclusion or "") in _CHECK_GREEN:
            state = CheckState.SUCCESS
        else:
            state = CheckState.FAILURE
        parts = [node.title or "", node.summary or "", node.text or ""]
        summary = "\n".join(p for p in parts if p)
        return Check(name=node.name or "check", state=state,
                     summary=summary[-CHECK_SUMMARY_CHARS:], required=node.isRequired,
                     details_url=node.detailsUrl or "")
    raw = node.state or ""
    state = (CheckState.SUCCESS if raw == "SUCCESS" else
             CheckState.PENDING if raw in _STATUS_PENDING else CheckState.FAILURE)
    # A commit status carries no log: its description and target are all there is.
    parts = [node.description or "", f"details: {node.targetUrl}" if node.targetUrl else ""]
    return Check(name=node.context or "status", state=state,
                 summary="\n".join(p for p in parts if p)[-CHECK_SUMMARY_CHARS:],
                 required=node.isRequired, details_url=node.targetUrl or "")


def to_pull_request(raw: _Pull) -> PullRequest:
    """Map GitHub's PR onto maestro's model (the classifier's only input)."""
    reviews = [
        Review(author=node.author.login if node.author else "ghost",
               verdict=_VERDICTS[node.state], body=node.body,
               commit=node.commit.oid if node.commit else "",
               submitted_at=node.submittedAt)
        for node in (raw.reviews.nodes if raw.reviews else [])
        if node is not None and node.state in _VERDICTS
    ]
    threads: list[ReviewThread] = []
    for thread in (raw.reviewThreads.nodes if raw.reviewThreads else []):
        if thread is None:
            continue
        words = [f"{c.author.login if c.author else 'ghost'}: {c.body}"
                 for c in thread.comments.nodes if c is not None]
        threads.append(ReviewThread(path=thread.path, line=thread.line or thread.originalLine,
                                    body="\n".join(words), resolved=thread.isResolved,
                                    outdated=thread.isOutdated))
    if raw.reviewThreads and raw.reviewThreads.pageInfo.hasNextPage:
        # More threads than one page: never let the unread ones look resolved.
        threads.append(ReviewThread(body=f"more than {THREADS_FIRST} review threads; "
                                    "read the rest on GitHub", resolved=False))
    contexts = [c for c in (raw.statusCheckRollup.contexts.nodes
                            if raw.statusCheckRollup else []) if c is not None]
    checks = [_check_of(c) for c in contexts]
    if checks and not any(c.required for c in checks):
        # No branch protection marks anything required: every check counts, so maestro
        # never merges a red build just because the repository forgot to protect main.
        checks = [c.model_copy(update={"required": True}) for c in checks]
    mergeable = {"MERGEABLE": True, "CONFLICTING": False}.get(raw.mergeable)
    conflict = (f"merge conflict with {raw.baseRefName}" if raw.mergeable == "CONFLICTING"
                else "")
    if raw.state == "OPEN" and raw.mergeStateStatus == "BEHIND":
        # Branch protection wants the branch up to date: the agent merges the base, as for
        # a conflict.
        mergeable = False
        conflict = (f"the branch is behind {raw.baseRefName} and the repository requires it "
                    "to be up to date")
    if raw.state == "OPEN" and raw.mergeStateStatus == "BLOCKED":
        # GitHub itself would refuse the merge (a required check has not even started yet,
        # or a required review is missing). Waiting is the only right answer, so this is a
        # pending required check; actionable feedback still wins in the classifier.
        checks.append(Check(name=BLOCKED_CHECK, state=CheckState.PENDING, required=True,
                            summary="mergeStateStatus is BLOCKED"))
    state = {"OPEN": PullState.OPEN, "MERGED": PullState.MERGED}.get(raw.state,
                                                                    PullState.CLOSED)
    comments = [Comment(id=c.id, body=body, write_mark=mark,
                        author=c.author.login if c.author else "ghost", created_at=c.createdAt)
                for c in (raw.comments.nodes if raw.comments else []) if c is not None
                for body, mark in [split(c.body)]]
    return PullRequest(
        number=raw.number, url=raw.url, branch=raw.headRefName, base=raw.baseRefName,
        head=raw.headRefOid, state=state, draft=raw.isDraft, title=raw.title, body=raw.body,
        reviews=reviews, threads=threads, checks=checks, comments=comments,
        mergeable=mergeable,
        conflict=conflict, merge_commit=raw.mergeCommit.oid if raw.mergeCommit else "",
        extra={"node_id": raw.id, "review_decision": raw.reviewDecision,
               "merge_state_status": raw.mergeStateStatus,
               "rollup_state": raw.statusCheckRollup.state if raw.statusCheckRollup else None},
    )


def auth_config(token: Secret | None, url: str = "") -> list[tuple[str, str]]:
    """The config of one ``git push``: the token as an HTTP header, in memory only.

    The header is scoped to the push URL's ``scheme://host[:port]/`` (``http.<url>.
    extraHeader``), so a remote on another host never sees the token; a non-HTTP remote
    (ssh, a local path) gets no header at all. Returned as pairs for
    :func:`maestro.containment.gitguard.git_env`, which passes them as command-line-scope config."""
    parts = urlsplit(url)
    if token is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return []
    origin = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    basic = base64.b64encode(f"x-access-token:{token.reveal()}".encode()).decode()
    return [(f"http.{origin}/.extraHeader", f"Authorization: Basic {basic}")]


def _not_found(error: GraphQLErrorItem) -> bool:
    return error.code.upper() == "NOT_FOUND" and bool(error.path) and len(error.path or []) >= 2


def _basic(token: Secret) -> str:
    """The token as git's ``Authorization: Basic`` value carries it (see ``auth_config``)."""
    return base64.b64encode(f"x-access-token:{token.reveal()}".encode()).decode()


def _scrub(text: str, token: Secret | None) -> str:
    if token is None or not token.reveal():
        return text
    return text.replace(token.reveal(), "***").replace(_basic(token), "***")


class GitHubForge:
    """The ``Forge`` protocol over one GitHub repository."""

    name = "github"

    def __init__(self, client: GraphQLClient, repository: str, repo_root: Path,
                 remote: str, token: Secret | None = None, api_url: str = "") -> None:
        owner, _, repo = repository.partition("/")
        if not owner or not repo:
            raise ConfigError(f"github.repository: expected 'owner/name' (got {repository!r})")
        self.client = client
        self.owner, self.repo = owner, repo
        self.repo_root = repo_root
        self.remote = remote
        self._token = token
        self._repository_id: str | None = None
        #: the REST API root (job logs); by default the GraphQL endpoint's parent
        self.api_url = api_url or rest_base(DEFAULT_API, client.url)
        self._logs: JobLogReader | None = None

    def __repr__(self) -> str:
        return f"GitHubForge({self.owner}/{self.repo}, remote={self.remote!r})"

    @property
    def requests(self) -> int:
        return self.client.requests

    def _call(self, operation: str, document: str, variables: dict[str, Any],
              write: WriteKind | None = None) -> dict[str, Any]:
        try:
            return self.client.execute(operation, document, variables, write=write)
        except TrackerError as exc:
            raise ForgeError(str(exc)) from None

    def _vars(self, **extra: Any) -> dict[str, Any]:
        return {"owner": self.owner, "name": self.repo, **extra}

    def _repository(self, data: dict[str, Any], operation: str) -> dict[str, Any]:
        repo = data.get("repository")
        if not isinstance(repo, dict):
            raise ForgeError(f"github: {operation}: repository {self.owner}/{self.repo} not "
                             "found or not visible to this token")
        return repo

    @staticmethod
    def _pull(raw: Any, operation: str) -> _Pull:
        try:
            return _Pull.model_validate(raw)
        except ValueError as exc:
            raise ForgeError(f"github: {operation}: unexpected pull request shape: "
                             f"{str(exc).splitlines()[0]}") from None

    # -- git -------------------------------------------------------------------------------

    def push(self, worktree: Path, branch: str, head: str | None = None,
             replaceable: Collection[str] = ()) -> str:
        """Push HEAD to the lane branch; returns the pushed commit. ``head``: HEAD as the
        caller has just read it (None: read here). A fast-forward is pushed as it is; any
        other push replaces only a head maestro pushed before (``replaceable``), and only
        while it is still that head (``--force-with-lease``): see the protocol."""
        head = head or head_of(worktree)
        # From the repository root, where git resolves a relative remote URL; the worktree
        # shares its objects, so HEAD's commit is pushed by name.
        url = git(self.repo_root, "remote", "get-url", "--push", self.remote, check=False)
        env = git_env(self.repo_root, auth_config(self._token, url or self.remote))
        target = f"{head}:refs/heads/{branch}"
        refused = self._git_push(env, target)
        if refused is None:
            return head  # new, unchanged, or a fast-forward
        theirs = self._remote_head(env, branch)
        contained = theirs is None or theirs == head or git_ok(
            self.repo_root, "merge-base", "--is-ancestor", theirs, head)
        if contained:  # not a question of dropping commits: the push failed as such
            raise ForgeError(f"push of {branch} to {self.remote} was rejected: {refused}")
        assert theirs is not None
        if theirs not in replaceable:
            raise ForeignHeadError(
                f"{self.remote}'s {branch} is at {theirs[:12]}, which maestro did not "
                f"push and {head[:12]} does not contain; pushing would drop it", theirs)
        refused = self._git_push(env, target, f"--force-with-lease=refs/heads/{branch}:{theirs}")
        if refused is not None:
            raise ForgeError(f"push of {branch} to {self.remote} was rejected: {refused}")
        return head

    def _git_push(self, env: dict[str, str], target: str, *options: str) -> str | None:
        """Run one ``git push``; None when it landed, else git's words (token scrubbed)."""
        proc = subprocess.run(
            ["git", "push", "--quiet", *options, self.remote, target],
            cwd=self.repo_root, capture_output=True, text=True, errors="replace",
            env=env, check=False, stdin=subprocess.DEVNULL)
        if proc.returncode == 0:
            return None
        return _scrub((proc.stderr or proc.stdout).strip(), self._token)

    def _remote_head(self, env: dict[str, str], branch: str) -> str | None:
        """The remote's head of ``branch`` now (``git ls-remote``), None when it has none."""
        proc = subprocess.run(
            ["git", "ls-remote", self.remote, f"refs/heads/{branch}"],
            cwd=self.repo_root, capture_output=True, text=True, errors="replace",
            env=env, check=False, stdin=subprocess.DEVNULL)
        return listed_head(proc.stdout, branch) if proc.returncode == 0 else None

    def fetch(self, *refspecs: str) -> bool:
        url = git(self.repo_root, "remote", "get-url", self.remote, check=False)
        proc = subprocess.run(
            ["git", "fetch", "--quiet", self.remote, *refspecs],
            cwd=self.repo_root, capture_output=True, text=True, errors="replace",
            env=git_env(self.repo_root, auth_config(self._token, url or self.remote)),
            check=False, stdin=subprocess.DEVNULL)
        return proc.returncode == 0

    # -- pull requests ---------------------------------------------------------------------

    def _find(self, branch: str) -> list[_Pull]:
        data = self._call("MaestroForgeFind", FIND_QUERY, self._vars(branch=branch))
        nodes = (self._repository(data, "MaestroForgeFind").get("pullRequests") or {}).get(
            "nodes") or []
        return [self._pull(n, "MaestroForgeFind") for n in nodes if n is not None]

    def open_prs(self, prefix: str) -> list[PullRequest]:
        """The open PRs from this repository's branches named ``prefix...``, newest first,
        over at most :data:`OPEN_PAGES` pages of the repository's open PRs (GraphQL
        ``pullRequests(states: [OPEN])`` cannot filter by a branch prefix)."""
        found: list[PullRequest] = []
        after: str | None = None
        for _ in range(OPEN_PAGES):
            data = self._call("MaestroForgeOpen", OPEN_QUERY, self._vars(after=after))
            pulls = self._repository(data, "MaestroForgeOpen").get("pullRequests") or {}
            for node in pulls.get("nodes") or []:
                if node is None:
                    continue
                pull = self._pull(node, "MaestroForgeOpen")
                if pull.headRefName.startswith(prefix) and not pull.isCrossRepository:
                    found.append(to_pull_request(pull))
            page = pulls.get("pageInfo") or {}
            after = page.get("endCursor")
            if not page.get("hasNextPage") or not isinstance(after, str):
                break
        return found

    def find_pr(self, branch: str) -> PullRequest | None:
        """The newest PR from ``branch`` of this repository; a fork's PR whose branch has
        the same name is never the lane's."""
        pulls = [p for p in self._find(branch)
                 if p.headRefName == branch and not p.isCrossRepository]
        if not pulls:
            return None
        newest = max(pulls, key=lambda p: p.number)
        return to_pull_request(newest)

    def _repository_node(self, ref: str = "refs/heads/_") -> _Repository:
        data = self._call("MaestroForgeRepository", REPOSITORY_QUERY, self._vars(ref=ref))
        try:
            return _Repository.model_validate(self._repository(data, "MaestroForgeRepository"))
        except ValueError:
            raise ForgeError("github: MaestroForgeRepository: unexpected response shape") from None

    def open_pr(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        """Find the lane's open PR, or open one (never a draft)."""
        open_ones = [p for p in self._find(branch) if p.headRefName == branch
                     and p.state == "OPEN" and not p.isCrossRepository]
        if open_ones:
            return to_pull_request(max(open_ones, key=lambda p: p.number))
        if self._repository_id is None:
            self._repository_id = self._repository_node().id
        request = {"repositoryId": self._repository_id, "baseRefName": base,
                   "headRefName": branch, "title": title or branch, "body": body,
                   "draft": False}
        try:
            data = self.client.execute("MaestroForgeCreate", CREATE_MUTATION,
                                       {"input": request}, write="once")
        except TrackerError as exc:
            # Another process may have opened it between our find and our create, or
            # this very create landed and its answer was lost.
            again = [p for p in self._find(branch) if p.headRefName == branch
                     and p.state == "OPEN" and not p.isCrossRepository]
            if again:
                return to_pull_request(max(again, key=lambda p: p.number))
            raise ForgeError(str(exc)) from None
        raw = ((data.get("createPullRequest") or {}).get("pullRequest"))
        return to_pull_request(self._pull(raw, "MaestroForgeCreate"))

    def refresh(self, numbers: Sequence[int]) -> dict[int, PullRequest]:
        """Every PR in ``numbers`` in one GraphQL request; unknown numbers are left out."""
        wanted = sorted({int(n) for n in numbers})
        if not wanted:
            return {}
        try:
            # A number that names no PR comes back as null plus a NOT_FOUND error for its
            # alias; the other PRs are still good, so that error alone does not fail the tick.
            data = self.client.execute("MaestroForgeRefresh", refresh_query(wanted),
                                       self._vars(), tolerate=_not_found)
        except TrackerError as exc:
            raise ForgeError(str(exc)) from None
        repo = self._repository(data, "MaestroForgeRefresh")
        result: dict[int, PullRequest] = {}
        for number in wanted:
            raw = repo.get(f"pr{number}")
            if raw is not None:
                result[number] = to_pull_request(self._pull(raw, "MaestroForgeRefresh"))
        return result

    def _get(self, number: int, operation: str) -> tuple[_Pull, list[str]]:
        """The PR's core fields and the ids of its unresolved review threads."""
        data = self._call("MaestroForgePull", PR_QUERY, self._vars(number=number))
        raw = self._repository(data, "MaestroForgePull").get("pullRequest")
        if raw is None:
            raise ForgeError(f"github: {operation}: pull request #{number} does not exist in "
                             f"{self.owner}/{self.repo}")
        threads = [t["id"] for t in ((raw.get("reviewThreads") or {}).get("nodes") or [])
                   if t is not None and not t.get("isResolved")]
        return self._pull(raw, operation), threads

    def merge(self, number: int, expected_head: str, method: str) -> str:
        """Merge with ``method`` only if the head is still ``expected_head``.

        An already merged PR is success; after a failed call the PR is read again, so a
        merge that landed but whose answer was lost is success too."""
        if method not in ("merge", "squash", "rebase"):
            raise ForgeError(f"unknown merge method {method!r}; expected merge, squash or rebase")
        pull, _ = self._get(number, "merge")
        if pull.state == "MERGED":
            return pull.mergeCommit.oid if pull.mergeCommit else ""
        if pull.state != "OPEN":
            raise ForgeError(f"pull request #{number} is {pull.state.lower()}; cannot merge it")
        if pull.headRefOid != expected_head:
            raise ForgeError(f"pull request #{number}: head is {pull.headRefOid}, expected "
                             f"{expected_head}; refusing to merge a head that was not validated")
        request = {"pullRequestId": pull.id, "expectedHeadOid": expected_head,
                   "mergeMethod": method.upper()}
        try:
            data = self.client.execute("MaestroForgeMerge", MERGE_MUTATION, {"input": request},
                                       write="once")
        except TrackerError as exc:
            again, _ = self._get(number, "merge")
            if again.state == "MERGED" and again.mergeCommit is not None:
                return again.mergeCommit.oid
            raise ForgeError(f"pull request #{number} was not merged: {exc}") from None
        merged = (data.get("mergePullRequest") or {}).get("pullRequest") or {}
        commit = (merged.get("mergeCommit") or {}).get("oid")
        if merged.get("state") != "MERGED" or not commit:
            raise ForgeError(f"pull request #{number}: the merge was accepted but the PR is "
                             f"{merged.get('state')!r} without a merge commit")
        return str(commit)

    def delete_branch(self, branch: str) -> None:
        """Delete the branch on GitHub; one already gone is success, also when it is this
        very call whose answer was lost (breaker 23: the repeat's ``NOT_FOUND`` failed a
        merged lane's cleanup)."""
        ref = f"refs/heads/{branch}"
        node = self._repository_node(ref)
        if node.ref is None:
            return
        try:
            self.client.execute("MaestroForgeDeleteRef", DELETE_REF_MUTATION,
                                {"input": {"refId": node.ref.id}}, write="once")
        except TrackerError as exc:
            if self._repository_node(ref).ref is not None:
                raise ForgeError(str(exc)) from None

    def close_pr(self, number: int, comment: str = "") -> None:
        """Close the PR with ``comment`` first; each write is confirmed by a read when its
        answer is lost, so neither is made twice."""
        pull, _ = self._get(number, "close")
        if pull.state != "OPEN":
            return
        if comment:
            text, mark = marked(comment)

            def send() -> bool:
                self.client.execute("MaestroForgeComment", PR_COMMENT_MUTATION,
                                    {"id": pull.id, "body": text}, write="once")
                return True

            def find() -> bool | None:
                found = self.refresh([number]).get(number)
                return True if found is not None and any(
                    c.write_mark == mark for c in found.comments) else None

            try:
                write_once(send, find, self.client.retry)
            except TrackerError as exc:
                raise ForgeError(str(exc)) from None
        try:
            self.client.execute("MaestroForgeClose", CLOSE_MUTATION,
                                {"input": {"pullRequestId": pull.id}}, write="once")
        except TrackerError as exc:
            again, _ = self._get(number, "close")
            if again.state == "OPEN":
                raise ForgeError(str(exc)) from None

    def resolve_threads(self, number: int) -> None:
        """Resolve every unresolved review thread of the PR in one mutation."""
        _, threads = self._get(number, "resolve threads")
        if not threads:
            return
        variables = {f"t{i}": thread for i, thread in enumerate(threads)}
        self._call("MaestroForgeResolve", resolve_mutation(len(threads)), variables,
                   write="idempotent")

    def failing_check_logs(self, pr: PullRequest) -> dict[str, str]:
        """The failing tail of each failing Actions check run's job log, by check name,
        read through the REST API with maestro's token and redacted (:mod:`.github_logs`).
        Checks of other apps and commit statuses have no log: they are left out."""
        if self._token is None:
            return {}
        logs: dict[str, str] = {}
        for check in pr.checks:
            job = job_id(check.details_url)
            if check.state != CheckState.FAILURE or job is None:
                continue
            if self._logs is None:
                self._logs = JobLogReader(self.api_url, f"{self.owner}/{self.repo}",
                                          self._token.reveal())
            logs[check.name] = self._logs.failing_tail(job, [_basic(self._token)])
        return logs

    def close(self) -> None:
        self.client.close()
        if self._logs is not None:
            self._logs.close()


def from_config(config: ServiceConfig, workflow: Workflow) -> GitHubForge:
    """The forge ``[github]`` in ``maestro.toml`` and ``[forge]`` in ``WORKFLOW.md`` describe."""
    repository = config.github.repository or workflow.policy.tracker.repository
    if not repository:
        raise ConfigError(
            f"{config.source or 'maestro.toml'}: github.repository: required for forge "
            "provider 'github' ('owner/name')"
        )
    client, secret = github_graphql_client(config, SERVICE)
    return GitHubForge(client, repository, config.repo_root, workflow.policy.forge.remote,
                       token=secret,
                       api_url=rest_base(config.github.api_url, config.github.graphql_url))
