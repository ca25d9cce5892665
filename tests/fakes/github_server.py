"""A fake GitHub: repositories with issues, pull requests and labels, served over loopback
in the shapes of the published GraphQL schema.

    world = GitHubWorld("acme/widgets")
    world.add_label("status:todo")
    world.add_issue("Fix it", labels=["status:todo"])
    with github_server(world) as server:   # a LoopbackServer; server.url ends in /graphql
        ...

Issues and pull requests share one number space, as on GitHub. The pull-request side is
minimal (enough to prove PRs are never work items); the forge adapter extends
``PullRequestRec`` / ``PullRequestNode`` and adds its fields and mutations to ``GitHubRoot``
(subclass it and pass the subclass to ``github_service``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fakes.graphql_service import GraphQLService, ServiceError, connection
from fakes.loopback import LoopbackServer
from fakes.schemas import load_schema

TOKEN = "ghp_fake0123456789abcdefABCDEF"
#: The token's user: every comment maestro writes is theirs.
VIEWER = "maestro-bot"
MAX_FIRST = 100
_ids = itertools.count(1)


def _node_id(kind: str) -> str:
    return f"{kind}_{next(_ids):08d}"


@dataclass
class LabelRec:
    id: str
    name: str


@dataclass
class CommentRec:
    id: str
    body: str
    author: str
    created_at: datetime
    edited_at: datetime | None = None


@dataclass
class IssueRec:
    id: str
    number: int
    title: str
    body: str
    created_at: datetime
    state: str = "OPEN"  # OPEN | CLOSED
    state_reason: str | None = None  # COMPLETED | NOT_PLANNED | DUPLICATE | REOPENED
    label_ids: list[str] = field(default_factory=list)
    comments: list[CommentRec] = field(default_factory=list)


@dataclass
class PullRequestRec:
    id: str
    number: int
    title: str
    body: str
    created_at: datetime
    head_ref: str = "feature"
    base_ref: str = "main"
    state: str = "OPEN"  # OPEN | CLOSED | MERGED
    label_ids: list[str] = field(default_factory=list)


@dataclass
class Repo:
    id: str
    owner: str
    name: str
    labels: dict[str, LabelRec] = field(default_factory=dict)
    issues: dict[int, IssueRec] = field(default_factory=dict)
    pulls: dict[int, PullRequestRec] = field(default_factory=dict)
    next_number: int = 1


class GitHubWorld:
    """Repositories by ``owner/name``; the first one is the default for helpers."""

    def __init__(self, *repositories: str) -> None:
        self.repos: dict[str, Repo] = {}
        self._clock = itertools.count()
        for full in repositories or ("acme/widgets",):
            owner, name = full.split("/")
            self.repos[full.lower()] = Repo(_node_id("R"), owner, name)
        self.default = next(iter(self.repos.values()))

    def _repo(self, repo: Repo | None) -> Repo:
        return repo or self.default

    def _now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=next(self._clock))

    def add_label(self, name: str, repo: Repo | None = None) -> LabelRec:
        repo = self._repo(repo)
        label = LabelRec(_node_id("LA"), name)
        repo.labels[label.id] = label
        return label

    def label_named(self, name: str, repo: Repo | None = None) -> LabelRec | None:
        for label in self._repo(repo).labels.values():
            if label.name.casefold() == name.casefold():
                return label
        return None

    def add_issue(self, title: str = "An issue", *, body: str = "", labels: Sequence[str] = (),
                  state: str = "OPEN", state_reason: str | None = None,
                  repo: Repo | None = None) -> IssueRec:
        repo = self._repo(repo)
        label_ids = [(self.label_named(n, repo) or self.add_label(n, repo)).id for n in labels]
        rec = IssueRec(_node_id("I"), repo.next_number, title, body, self._now(), state,
                       state_reason, label_ids)
        repo.issues[rec.number] = rec
        repo.next_number += 1
        return rec

    def add_comment(self, number: int, body: str, author: str) -> CommentRec:
        """A comment another GitHub user wrote (maestro's own come through the API)."""
        comment = CommentRec(_node_id("IC"), body, author, self._now())
        self.issue(number).comments.append(comment)
        return comment

    def edit_comment(self, comment: CommentRec, body: str) -> None:
        """Another user with write access edits a comment (its author stays)."""
        comment.body, comment.edited_at = body, self._now()

    def add_pull_request(self, title: str = "A change", *, body: str = "",
                         labels: Sequence[str] = (), head_ref: str = "feature",
                         repo: Repo | None = None) -> PullRequestRec:
        repo = self._repo(repo)
        label_ids = [(self.label_named(n, repo) or self.add_label(n, repo)).id for n in labels]
        rec = PullRequestRec(_node_id("PR"), repo.next_number, title, body, self._now(),
                             head_ref=head_ref, label_ids=label_ids)
        repo.pulls[rec.number] = rec
        repo.next_number += 1
        return rec

    def issue(self, number: int, repo: Repo | None = None) -> IssueRec:
        return self._repo(repo).issues[number]

    def labels_of(self, number: int, repo: Repo | None = None) -> list[str]:
        repo = self._repo(repo)
        return [repo.labels[x].name for x in repo.issues[number].label_ids]

    def find_node(self, node_id: str) -> tuple[Repo, IssueRec | PullRequestRec]:
        for repo in self.repos.values():
            records: list[IssueRec | PullRequestRec] = [*repo.issues.values(),
                                                        *repo.pulls.values()]
            for rec in records:
                if rec.id == node_id:
                    return repo, rec
        raise ServiceError(f"Could not resolve to a node with the global id of '{node_id}'",
                           type="NOT_FOUND")


# -- resolvers ----------------------------------------------------------------------------


def page(items: list[Any], first: int | None, after: str | None,
         last: int | None = None) -> dict[str, Any]:
    """A connection page as GitHub pages: ``first`` or ``last`` is required (``last``: the
    newest ``last`` items), at most :data:`MAX_FIRST` a page."""
    if first is None and last is None:
        raise ServiceError("You must provide a `first` or `last` value to properly paginate.",
                           type="MISSING_PAGINATION_BOUNDARIES")
    if last is not None:
        items = items[-last:]
    return connection(items, first, after, MAX_FIRST, MAX_FIRST)


class LabelNode:
    typename = "Label"

    def __init__(self, rec: LabelRec) -> None:
        self.id, self.name, self.color = rec.id, rec.name, "ededed"


class ActorNode:
    typename = "User"

    def __init__(self, login: str) -> None:
        self.login = login


class CommentNode:
    typename = "IssueComment"

    def __init__(self, rec: CommentRec) -> None:
        self.id, self.body = rec.id, rec.body
        self.createdAt = rec.created_at.isoformat()
        self.author = ActorNode(rec.author)
        self.viewerDidAuthor = rec.author == VIEWER
        self.lastEditedAt = rec.edited_at.isoformat() if rec.edited_at else None


class IssueNode:
    typename = "Issue"

    def __init__(self, repo: Repo, rec: IssueRec) -> None:
        self._repo, self._rec = repo, rec
        self.id, self.number, self.title, self.body = rec.id, rec.number, rec.title, rec.body
        self.state, self.closed = rec.state, rec.state == "CLOSED"
        self.createdAt = rec.created_at.isoformat()
        self.url = f"https://github.com/{repo.owner}/{repo.name}/issues/{rec.number}"

    def stateReason(self, info: Any, enableDuplicate: bool = False) -> str | None:
        reason = self._rec.state_reason
        if reason == "DUPLICATE" and not enableDuplicate:
            return "NOT_PLANNED"
        return reason

    def labels(self, info: Any, first: int | None = None, after: str | None = None,
               **_: Any) -> dict[str, Any]:
        return page([LabelNode(self._repo.labels[x]) for x in self._rec.label_ids],
                     first, after)

    def comments(self, info: Any, first: int | None = None, after: str | None = None,
                 **_: Any) -> dict[str, Any]:
        return page([CommentNode(c) for c in self._rec.comments], first, after)


class PullRequestNode:
    """The minimum of a PR; the forge adapter's tests add what they read."""

    typename = "PullRequest"

    def __init__(self, repo: Repo, rec: PullRequestRec) -> None:
        self._repo, self._rec = repo, rec
        self.id, self.number, self.title, self.body = rec.id, rec.number, rec.title, rec.body
        self.state, self.closed = rec.state, rec.state != "OPEN"
        self.merged = rec.state == "MERGED"
        self.headRefName, self.baseRefName = rec.head_ref, rec.base_ref
        self.createdAt = rec.created_at.isoformat()
        self.url = f"https://github.com/{repo.owner}/{repo.name}/pull/{rec.number}"

    def labels(self, info: Any, first: int | None = None, after: str | None = None,
               **_: Any) -> dict[str, Any]:
        return page([LabelNode(self._repo.labels[x]) for x in self._rec.label_ids],
                     first, after)


class RepositoryNode:
    typename = "Repository"

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        self.id, self.name = repo.id, repo.name
        self.nameWithOwner = f"{repo.owner}/{repo.name}"

    def _not_found(self, kind: str, number: int) -> ServiceError:
        return ServiceError(f"Could not resolve to {kind} with the number of {number}.",
                            type="NOT_FOUND")

    def issue(self, info: Any, number: int) -> IssueNode:
        if number not in self._repo.issues:
            raise self._not_found("an Issue", number)
        return IssueNode(self._repo, self._repo.issues[number])

    def pullRequest(self, info: Any, number: int) -> PullRequestNode:
        if number not in self._repo.pulls:
            raise self._not_found("a PullRequest", number)
        return PullRequestNode(self._repo, self._repo.pulls[number])

    def issueOrPullRequest(self, info: Any, number: int) -> IssueNode | PullRequestNode:
        if number in self._repo.issues:
            return IssueNode(self._repo, self._repo.issues[number])
        if number in self._repo.pulls:
            return PullRequestNode(self._repo, self._repo.pulls[number])
        raise self._not_found("an issue or pull request", number)

    def issues(self, info: Any, first: int | None = None, after: str | None = None,
               labels: list[str] | None = None, states: list[str] | None = None,
               orderBy: dict[str, str] | None = None, filterBy: dict[str, Any] | None = None,
               **_: Any) -> dict[str, Any]:
        if filterBy:
            raise NotImplementedError("fake GitHub: issues(filterBy:)")
        found = list(self._repo.issues.values())
        if states:
            found = [i for i in found if i.state in states]
        if labels:  # GitHub: an issue with any of the labels
            wanted = {n.casefold() for n in labels}
            found = [i for i in found
                     if any(self._repo.labels[x].name.casefold() in wanted for x in i.label_ids)]
        order = orderBy or {"field": "CREATED_AT", "direction": "ASC"}
        found.sort(key=lambda i: i.created_at, reverse=order.get("direction") == "DESC")
        return page([IssueNode(self._repo, i) for i in found], first, after)

    def label(self, info: Any, name: str) -> LabelNode | None:
        for rec in self._repo.labels.values():
            if rec.name.casefold() == name.casefold():
                return LabelNode(rec)
        return None

    def labels(self, info: Any, first: int | None = None, after: str | None = None,
               query: str | None = None, **_: Any) -> dict[str, Any]:
        found = [x for x in self._repo.labels.values()
                 if not query or query.casefold() in x.name.casefold()]
        return page([LabelNode(x) for x in found], first, after)


class GitHubRoot:
    """Query and Mutation fields in one root object; subclass to add the forge's."""

    def __init__(self, world: GitHubWorld) -> None:
        self.world = world

    def repository(self, info: Any, owner: str, name: str, **_: Any) -> RepositoryNode:
        repo = self.world.repos.get(f"{owner}/{name}".lower())
        if repo is None:
            raise ServiceError(f"Could not resolve to a Repository with the name "
                               f"'{owner}/{name}'.", type="NOT_FOUND")
        return RepositoryNode(repo)

    def node(self, info: Any, id: str) -> IssueNode | PullRequestNode:
        repo, rec = self.world.find_node(id)
        return IssueNode(repo, rec) if isinstance(rec, IssueRec) else PullRequestNode(repo, rec)

    # -- Mutation --------------------------------------------------------------------------

    def _labelable(self, node_id: str) -> tuple[Repo, IssueRec | PullRequestRec]:
        return self.world.find_node(node_id)

    def addLabelsToLabelable(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        repo, rec = self._labelable(input["labelableId"])
        for label_id in input["labelIds"]:
            if label_id not in repo.labels:
                raise ServiceError(f"Could not resolve to a node with the global id of "
                                   f"'{label_id}'", type="NOT_FOUND")
            if label_id not in rec.label_ids:
                rec.label_ids.append(label_id)
        return {"clientMutationId": input.get("clientMutationId")}

    def removeLabelsFromLabelable(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        _, rec = self._labelable(input["labelableId"])
        rec.label_ids[:] = [x for x in rec.label_ids if x not in input["labelIds"]]
        return {"clientMutationId": input.get("clientMutationId")}

    def _issue(self, node_id: str) -> tuple[Repo, IssueRec]:
        repo, rec = self.world.find_node(node_id)
        if not isinstance(rec, IssueRec):
            raise ServiceError("Could not resolve to an Issue", type="NOT_FOUND")
        return repo, rec

    def closeIssue(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        repo, rec = self._issue(input["issueId"])
        rec.state, rec.state_reason = "CLOSED", input.get("stateReason") or "COMPLETED"
        return {"issue": IssueNode(repo, rec), "clientMutationId": None}

    def reopenIssue(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        repo, rec = self._issue(input["issueId"])
        rec.state, rec.state_reason = "OPEN", "REOPENED"
        return {"issue": IssueNode(repo, rec), "clientMutationId": None}

    def addComment(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        repo, rec = self._issue(input["subjectId"])
        comment = CommentRec(_node_id("IC"), input["body"], VIEWER, self.world._now())
        rec.comments.append(comment)
        node = CommentNode(comment)
        return {"commentEdge": {"node": node, "cursor": str(len(rec.comments))},
                "subject": IssueNode(repo, rec), "clientMutationId": None}


def _type_of(value: Any, info: Any, abstract_type: Any) -> str:
    return str(value.typename)


def github_service(world: GitHubWorld, token: str = TOKEN,
                   root: GitHubRoot | None = None) -> GraphQLService:
    """A handler answering like api.github.com/graphql (errors come with HTTP 200)."""
    return GraphQLService(load_schema("github"), root or GitHubRoot(world),
                          token_header=f"bearer {token}", type_resolver=_type_of)


@contextmanager
def github_server(world: GitHubWorld, token: str = TOKEN,
                  root: GitHubRoot | None = None) -> Iterator[LoopbackServer]:
    server = LoopbackServer(github_service(world, token, root))
    with server.running():
        yield server
