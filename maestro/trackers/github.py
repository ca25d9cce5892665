"""GitHub Issues as the issue source (GraphQL over httpx).

GitHub issues are only open or closed, so workflow states are carried by labels: an open
issue with the label mapped to a state (``tracker.state_labels``, e.g. ``status:todo`` →
``Todo``) is in that state, an open issue with none is in ``tracker.unlabeled_state``
(``Backlog`` by default, so an unlabelled issue is never picked up by accident), and a
closed issue is in the state ``tracker.closed_states`` maps its close reason to
(``COMPLETED`` → ``Done``, ``NOT_PLANNED`` → ``Canceled``, ``DUPLICATE`` → ``Duplicate``).

Identifiers are ``<issue_prefix>-<number>`` so they are valid lane names. Pull requests
share the issue number space but are never work items: the refresh asks for
``issueOrPullRequest`` and drops anything that is not an ``Issue``. Blockers are written in
the issue body as ``Blocked by #12, owner/repo#15, https://github.com/owner/repo/issues/16``;
their states are read in the same batch, and one that cannot be resolved (another
repository, a missing number) blocks with a warning. GitHub's native issue dependencies
are not in the GraphQL schema maestro is checked against (``../shared/schemas``), so the
body is the only source.

Every read is one GraphQL query for any number of issues (aliases), so a poll tick costs the
same number of requests whatever the number of lanes. GraphQL has every write maestro needs
(labels, close/reopen, comments), so no REST call is made.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, WrapValidator

from maestro.config.validation import short_repr
from maestro.errors import (
    ConfigError,
    IssueStateChanged,
    LabelMissingError,
    TrackerError,
    UnknownIssueError,
)
from maestro.model import Comment, Issue
from maestro.statenames import same_state, state_key, state_keys
from maestro.trackers.http import (
    ClientMetrics,
    GraphQLClient,
    GraphQLErrorItem,
    github_graphql_client,
    parse,
    parse_or_skip,
    write_once,
)
from maestro.trackers.normalise import dropping_bad_items, normalise_labels, or_default
from maestro.trackers.paging import PageWalk
from maestro.trackers.write_mark import marked, split

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig
    from maestro.config.workflow import Workflow

SERVICE = "github"
LABELS_FIRST = 100
MAX_PAGE = 100

DEFAULT_CLOSED_STATES = {"COMPLETED": "Done", "NOT_PLANNED": "Canceled", "DUPLICATE": "Duplicate"}

ISSUE_FRAGMENT = f"""
fragment MaestroIssue on Issue {{
  id
  number
  title
  body
  state
  stateReason(enableDuplicate: true)
  createdAt
  url
  labels(first: {LABELS_FIRST}) {{ nodes {{ id name }} pageInfo {{ hasNextPage }} }}
}}
"""

CANDIDATES_QUERY = (
    """
query MaestroIssues($owner: String!, $name: String!, $labels: [String!], $states: [IssueState!],
                    $first: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    issues(labels: $labels, states: $states, first: $first, after: $after,
           orderBy: {field: CREATED_AT, direction: ASC}) {
      nodes { ...MaestroIssue }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
    + ISSUE_FRAGMENT
)

COMMENTS_QUERY = """
query MaestroComments($owner: String!, $name: String!, $number: Int!, $first: Int!,
                      $after: String) {
  repository(owner: $owner, name: $name) {
    issue(number: $number) {
      comments(first: $first, after: $after) {
        nodes { id body createdAt author { login } viewerDidAuthor lastEditedAt }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""

LABEL_QUERY = """
query MaestroLabel($owner: String!, $name: String!, $label: String!) {
  repository(owner: $owner, name: $name) { label(name: $label) { id name } }
}
"""

ADD_LABELS_MUTATION = """
mutation MaestroAddLabels($id: ID!, $labelIds: [ID!]!) {
  addLabelsToLabelable(input: {labelableId: $id, labelIds: $labelIds}) { clientMutationId }
}
"""

REMOVE_LABELS_MUTATION = """
mutation MaestroRemoveLabels($id: ID!, $labelIds: [ID!]!) {
  removeLabelsFromLabelable(input: {labelableId: $id, labelIds: $labelIds}) { clientMutationId }
}
"""

CLOSE_MUTATION = """
mutation MaestroClose($id: ID!, $reason: IssueClosedStateReason) {
  closeIssue(input: {issueId: $id, stateReason: $reason}) { issue { state } }
}
"""

REOPEN_MUTATION = """
mutation MaestroReopen($id: ID!) {
  reopenIssue(input: {issueId: $id}) { issue { state } }
}
"""

COMMENT_MUTATION = """
mutation MaestroComment($id: ID!, $body: String!) {
  addComment(input: {subjectId: $id, body: $body}) {
    commentEdge { node { id body createdAt author { login } } }
  }
}
"""


def refresh_query(numbers: Sequence[int]) -> str:
    """One query for many issue numbers, one alias each (``n<number>``)."""
    fields = "\n".join(
        f"    n{int(n)}: issueOrPullRequest(number: {int(n)}) {{ __typename ...MaestroIssue }}"
        for n in numbers
    )
    return (
        "query MaestroRefresh($owner: String!, $name: String!) {\n"
        "  repository(owner: $owner, name: $name) {\n"
        f"{fields}\n"
        "  }\n"
        "}\n" + ISSUE_FRAGMENT
    )


#: Every fixed document this adapter can send (the refresh is built by ``refresh_query``).
DOCUMENTS = {
    "MaestroIssues": CANDIDATES_QUERY,
    "MaestroComments": COMMENTS_QUERY,
    "MaestroLabel": LABEL_QUERY,
    "MaestroAddLabels": ADD_LABELS_MUTATION,
    "MaestroRemoveLabels": REMOVE_LABELS_MUTATION,
    "MaestroClose": CLOSE_MUTATION,
    "MaestroReopen": REOPEN_MUTATION,
    "MaestroComment": COMMENT_MUTATION,
}

_BLOCKED_LINE = re.compile(r"(?im)^.*\bblocked[ -]by\b(.*)$")
#: ``#12``, ``owner/repo#12`` and ``https://github.com/owner/repo/issues/12``.
_ISSUE_REF = re.compile(
    r"https?://github\.com/(?P<url_owner>[\w.-]+)/(?P<url_repo>[\w.-]+)/issues/(?P<url_n>\d+)"
    r"|(?<![\w/#.-])(?:(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+))?#(?P<n>\d+)\b")


# -- the shapes read from responses -------------------------------------------------------


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Label(_M):
    id: str
    name: str


class _PartialPage(_M):
    hasNextPage: bool


class _PageInfo(_M):
    hasNextPage: bool
    endCursor: str | None = None


class _Labels(_M):
    nodes: Annotated[list[_Label], WrapValidator(dropping_bad_items)]
    pageInfo: _PartialPage


class _Issue(_M):
    id: str
    number: int
    title: str
    # Optional metadata: an unusable value becomes None or empty (trackers/normalise.py).
    body: Annotated[str, WrapValidator(or_default(str))] = ""
    state: str
    stateReason: str | None = None
    createdAt: Annotated[datetime | None, WrapValidator(or_default(lambda: None))] = None
    url: Annotated[str, WrapValidator(or_default(str))] = ""
    labels: Annotated[_Labels | None, WrapValidator(or_default(lambda: None))] = None


class _IssuePage(_M):
    #: Validated one by one (:meth:`GitHubIssuesTracker._list`): one odd issue is skipped.
    nodes: list[dict[str, Any]]
    pageInfo: _PageInfo


class _RepoIssues(_M):
    issues: _IssuePage


class _IssuesData(_M):
    repository: _RepoIssues


class _Author(_M):
    login: str


class _Comment(_M):
    id: str
    body: str
    createdAt: datetime
    author: _Author | None = None
    viewerDidAuthor: bool = False
    lastEditedAt: datetime | None = None


class _CommentPage(_M):
    nodes: list[_Comment]
    pageInfo: _PageInfo


class _IssueComments(_M):
    comments: _CommentPage


class _RepoIssue(_M):
    issue: _IssueComments | None


class _CommentsData(_M):
    repository: _RepoIssue


class _RepoLabel(_M):
    label: _Label | None


class _LabelData(_M):
    repository: _RepoLabel


class _CommentNode(_M):
    node: _Comment


class _AddCommentPayload(_M):
    commentEdge: _CommentNode


class _AddCommentData(_M):
    addComment: _AddCommentPayload


class _StateOnly(_M):
    state: str


class _IssueState(_M):
    issue: _StateOnly


class _CloseData(_M):
    closeIssue: _IssueState


class _ReopenData(_M):
    reopenIssue: _IssueState


class _Mutated(_M):
    clientMutationId: str | None = None


class _AddLabelsData(_M):
    addLabelsToLabelable: _Mutated | None


class _RemoveLabelsData(_M):
    removeLabelsFromLabelable: _Mutated | None


# -- the adapter --------------------------------------------------------------------------


class GitHubIssuesTracker(ClientMetrics):
    """The ``Tracker`` protocol over GitHub Issues of one repository."""

    name = "github"

    def __init__(
        self,
        client: GraphQLClient,
        repository: str,
        issue_prefix: str = "GH",
        state_labels: Mapping[str, str] | None = None,
        unlabeled_state: str = "Backlog",
        closed_states: Mapping[str, str] | None = None,
        page_size: int = 100,
        refresh_batch_size: int = 250,
        startable_states: Sequence[str] = ("Todo",),
    ) -> None:
        owner, _, repo = repository.partition("/")
        if not owner or not repo:
            raise ConfigError(
                "tracker.repository: expected 'owner/name' for provider 'github' "
                f"(got {repository!r})"
            )
        self.client = client
        self.owner, self.repo = owner, repo
        self.issue_prefix = issue_prefix
        self.state_labels = dict(state_labels or {})
        self.unlabeled_state = unlabeled_state
        closed = closed_states or DEFAULT_CLOSED_STATES
        self.closed_states = {reason.upper(): state for reason, state in closed.items()}
        self.page_size = min(page_size, MAX_PAGE)
        self.refresh_batch_size = refresh_batch_size
        self._status_labels = state_keys(self.state_labels.values())
        self._startable = state_keys(startable_states)
        self._label_ids: dict[str, str] = {}
        self._node_ids: dict[int, str] = {}
        #: Issues skipped and blockers that could not be resolved by the last read, each
        #: named with what is wrong (the poll loop warns about each once).
        self.problems: list[str] = []

    @property
    def _repo_vars(self) -> dict[str, str]:
        return {"owner": self.owner, "name": self.repo}

    # -- identifiers and states ------------------------------------------------------------

    def identifier(self, number: int) -> str:
        return f"{self.issue_prefix}-{number}"

    def number(self, identifier: str) -> int | None:
        prefix, sep, digits = identifier.rpartition("-")
        if sep and prefix.casefold() == self.issue_prefix.casefold() and digits.isdigit():
            return int(digits)
        bare = identifier.removeprefix("#")
        return int(bare) if bare.isdigit() else None

    def _number(self, identifier: str) -> int:
        number = self.number(identifier)
        if number is None:
            raise UnknownIssueError(
                f"github: {short_repr(identifier)} is not an issue of {self.owner}/{self.repo}; "
                f"expected {self.issue_prefix}-<number>"
            )
        return number

    def state_of(self, raw: _Issue) -> str:
        if raw.state == "CLOSED":
            reason = (raw.stateReason or "COMPLETED").upper()
            return self.closed_states.get(reason, self.closed_states.get("COMPLETED", "Done"))
        names = state_keys(label.name for label in _labels(raw))
        found = [state for state, label in self.state_labels.items()
                 if state_key(label) in names]
        # Several status labels: a move in flight (the new label is added before the old
        # one goes) or a person's slip. A state a lane holds wins over a startable one, so
        # such an issue is never new work; then the first in ``state_labels`` order.
        held = [state for state in found if state_key(state) not in self._startable]
        return (held or found or [self.unlabeled_state])[0]

    def _label_for(self, state: str) -> str | None:
        for name, label in self.state_labels.items():
            if same_state(name, state):
                return label
        return None

    def _close_reason(self, state: str) -> str | None:
        for reason, name in self.closed_states.items():
            if same_state(name, state):
                return reason
        return None

    # -- reading ---------------------------------------------------------------------------

    def candidates(self, states: Sequence[str]) -> list[Issue]:
        self.problems = []
        raws: dict[int, _Issue] = {}
        for state in dict.fromkeys(states):
            label = self._label_for(state)
            if label is not None:
                found = self._list(labels=[label], states=["OPEN"])
            elif same_state(state, self.unlabeled_state):
                found = self._list(labels=None, states=["OPEN"])
            elif self._close_reason(state) is not None:
                found = self._list(labels=None, states=["CLOSED"])
            else:
                raise TrackerError(
                    f"github: state {state!r} has no mapping; add it to tracker.state_labels "
                    "or tracker.closed_states in WORKFLOW.md"
                )
            wanted = state_key(state)
            for raw in found:
                if state_key(self.state_of(raw)) == wanted:
                    raws[raw.number] = raw
        return self._issues(list(raws.values()))

    def fetch(self, identifiers: Sequence[str]) -> dict[str, Issue]:
        numbers: dict[int, str] = {}
        for identifier in dict.fromkeys(identifiers):
            number = self.number(identifier)
            if number is not None:
                numbers[number] = identifier
        raws = self._by_number(list(numbers))
        issues = self._issues(list(raws.values()))
        by_number = {self.number(i.identifier): i for i in issues}
        return {numbers[n]: by_number[n] for n in numbers if n in by_number}

    def get(self, identifier: str) -> Issue:
        number = self._number(identifier)
        found = self.fetch([self.identifier(number)])
        if not found:
            raise UnknownIssueError(
                f"github: issue {short_repr(identifier)} not found in {self.owner}/{self.repo}"
            )
        return next(iter(found.values()))

    def comments(self, identifier: str) -> list[Comment]:
        number = self._number(identifier)
        result: list[Comment] = []
        after: str | None = None
        walk = PageWalk(SERVICE, "MaestroComments")
        while True:
            data = self.client.execute(
                "MaestroComments", COMMENTS_QUERY,
                {**self._repo_vars, "number": number, "first": self.page_size, "after": after},
                tolerate=_not_found,
            )
            issue = parse(_CommentsData, data, SERVICE, "MaestroComments").repository.issue
            if issue is None:
                raise UnknownIssueError(
                    f"github: issue {short_repr(identifier)} not found in {self.owner}/{self.repo}"
                )
            page = issue.comments
            result.extend(_comment(c) for c in page.nodes)
            after = walk.next(page.pageInfo.hasNextPage, page.pageInfo.endCursor)
            if after is None:
                return result

    # -- writing ---------------------------------------------------------------------------

    def transition(self, identifier: str, state: str,
                   unless: Callable[[str], bool] | None = None) -> bool:
        """Move the issue by its labels and open/closed state; returns whether its state
        changed. Each write comes in the order that keeps a cut move readable: an open
        state's label is added before the old ones are removed (a cut leaves both, the old
        state readable and the new label on it: never an unlabelled issue, which reads as
        a person's ``Backlog``, breaker 24), and a closed state closes before the labels
        go. Running the transition again finishes it: the stale labels of a state already
        reached are removed."""
        raw = self._one(identifier)
        current = self.state_of(raw)
        if unless is not None and unless(current):
            raise IssueStateChanged(f"issue {identifier} is {current}", current)
        target_label = self._label_for(state)
        reason = self._close_reason(state)
        if target_label is None and reason is None and (
            not same_state(state, self.unlabeled_state)
        ):
            raise TrackerError(
                f"github: state {state!r} has no mapping; add it to tracker.state_labels or "
                "tracker.closed_states in WORKFLOW.md"
            )
        labels = _labels(raw)
        stale = [label.id for label in labels
                 if state_key(label.name) in self._status_labels
                 and (target_label is None or not same_state(label.name, target_label))]
        moved = not same_state(current, state)
        if reason is not None:
            if moved:
                if raw.state == "CLOSED":  # closed for another reason
                    self._reopen(raw.id)
                data = self.client.execute("MaestroClose", CLOSE_MUTATION,
                                           {"id": raw.id, "reason": reason},
                                           write="idempotent")
                parse(_CloseData, data, SERVICE, "MaestroClose")
            if stale:
                self._mutate_labels("MaestroRemoveLabels", raw.id, stale)
            return moved
        if raw.state == "CLOSED":
            self._reopen(raw.id)
        if target_label is not None and not any(same_state(x.name, target_label)
                                                for x in labels):
            self._mutate_labels("MaestroAddLabels", raw.id, [self._label_id(target_label)])
        if stale:
            self._mutate_labels("MaestroRemoveLabels", raw.id, stale)
        return moved

    def comment(self, identifier: str, body: str) -> Comment:
        node_id = self._node_id(identifier)
        text, mark = marked(body)

        def send() -> Comment:
            data = self.client.execute("MaestroComment", COMMENT_MUTATION,
                                       {"id": node_id, "body": text}, write="once")
            return _comment(parse(_AddCommentData, data, SERVICE, "MaestroComment")
                            .addComment.commentEdge.node, own=True)

        def find() -> Comment | None:
            return next((c for c in self.comments(identifier)
                         if c.own and c.write_mark == mark), None)

        return write_once(send, find, self.client.retry)

    def add_label(self, identifier: str, label: str) -> bool:
        raw = self._one(identifier)
        if any(same_state(x.name, label) for x in _labels(raw)):
            return False
        self._mutate_labels("MaestroAddLabels", raw.id, [self._label_id(label)])
        return True

    def remove_label(self, identifier: str, label: str) -> bool:
        raw = self._one(identifier)
        present = [x.id for x in _labels(raw) if same_state(x.name, label)]
        if not present:
            return False
        self._mutate_labels("MaestroRemoveLabels", raw.id, present)
        return True

    def close(self) -> None:
        self.client.close()

    # -- helpers ---------------------------------------------------------------------------

    def _list(self, labels: list[str] | None, states: list[str]) -> list[_Issue]:
        result: list[_Issue] = []
        after: str | None = None
        walk = PageWalk(SERVICE, "MaestroIssues")
        while True:
            data = self.client.execute(
                "MaestroIssues", CANDIDATES_QUERY,
                {**self._repo_vars, "labels": labels, "states": states,
                 "first": self.page_size, "after": after},
            )
            page = parse(_IssuesData, data, SERVICE, "MaestroIssues").repository.issues
            for node in page.nodes:
                raw = self._parse_issue(node, "MaestroIssues")
                if raw is not None:
                    result.append(raw)
            after = walk.next(page.pageInfo.hasNextPage, page.pageInfo.endCursor)
            if after is None:
                return result

    def _by_number(self, numbers: list[int]) -> dict[int, _Issue]:
        """Issues by number in batches; missing numbers and pull requests are left out."""
        found: dict[int, _Issue] = {}
        for start in range(0, len(numbers), self.refresh_batch_size):
            chunk = numbers[start : start + self.refresh_batch_size]
            data = self.client.execute(
                "MaestroRefresh", refresh_query(chunk), self._repo_vars, tolerate=_not_found
            )
            repository = data.get("repository")
            if not isinstance(repository, dict):
                raise TrackerError(
                    f"github: MaestroRefresh: repository {self.owner}/{self.repo} not found or "
                    "not visible to the token"
                )
            for number in chunk:
                raw = repository.get(f"n{number}")
                if raw is None or _typename(raw) != "Issue":
                    continue
                issue = self._parse_issue(raw, "MaestroRefresh")
                if issue is None:
                    continue
                self._node_ids[issue.number] = issue.id
                found[issue.number] = issue
        return found

    def _parse_issue(self, node: Any, operation: str) -> _Issue | None:
        """One issue of a response, or None (named in ``problems``) when its payload does
        not have the shape maestro reads: one odd issue never stops a tick."""
        number = node.get("number") if isinstance(node, dict) else None
        return parse_or_skip(_Issue, node, SERVICE, operation, f"#{number or '?'}",
                             self.problems)

    def _issues(self, raws: list[_Issue]) -> list[Issue]:
        """Domain issues with blocker states; unknown blockers are read in one more query.

        Blockers fail closed: a reference to another repository, or to a number that is
        not an issue here, blocks (it has no state, so it is never terminal) and is named
        in ``problems``."""
        known = {raw.number: raw for raw in raws}
        refs = {raw.number: blocker_refs(raw.body, self.owner, self.repo) for raw in raws}
        missing = sorted({n for ns, _ in refs.values() for n in ns} - set(known))
        if missing:
            known.update(self._by_number(missing))
        result = []
        for raw in raws:
            if raw.labels is not None and raw.labels.pageInfo.hasNextPage:
                self.problems.append(
                    f"github: issue #{raw.number} skipped: it has more than {LABELS_FIRST} "
                    "labels and maestro will not guess about the rest")
                continue
            numbers, foreign = refs[raw.number]
            blockers = {
                self.identifier(n): self.state_of(known[n]) for n in numbers if n in known
            }
            for unresolved in [self.identifier(n) for n in numbers if n not in known] + foreign:
                self.problems.append(
                    f"github: issue {self.identifier(raw.number)}: blocker {unresolved} "
                    "cannot be resolved here; it blocks until it is removed from the body")
            blocked_by = tuple([self.identifier(n) for n in numbers] + foreign)
            result.append(
                Issue(
                    id=raw.id,
                    identifier=self.identifier(raw.number),
                    title=raw.title,
                    state=self.state_of(raw),
                    description=raw.body,
                    labels=normalise_labels(label.name for label in _labels(raw)),
                    blocked_by=blocked_by,
                    blocker_states=blockers,
                    priority=_priority(raw),
                    created_at=raw.createdAt,
                    url=raw.url,
                )
            )
        return result

    def _one(self, identifier: str) -> _Issue:
        number = self._number(identifier)
        found = self._by_number([number])
        if number not in found:
            raise UnknownIssueError(
                f"github: issue {short_repr(identifier)} not found in {self.owner}/{self.repo}"
            )
        return found[number]

    def _node_id(self, identifier: str) -> str:
        number = self._number(identifier)
        if number not in self._node_ids:
            self._one(identifier)
        return self._node_ids[number]

    def check_label(self, label: str, identifier: str | None = None) -> None:
        """Raise :class:`LabelMissingError` unless ``label`` exists (``maestro doctor``)."""
        self._label_id(label)

    def _label_id(self, label: str) -> str:
        key = state_key(label)
        if key not in self._label_ids:
            data = self.client.execute("MaestroLabel", LABEL_QUERY,
                                       {**self._repo_vars, "label": label}, tolerate=_not_found)
            found = parse(_LabelData, data, SERVICE, "MaestroLabel").repository.label
            if found is None:
                raise LabelMissingError(
                    f"github: label {label!r} does not exist in {self.owner}/{self.repo}; "
                    "create it in the repository"
                )
            self._label_ids[key] = found.id
        return self._label_ids[key]

    def _mutate_labels(self, operation: str, node_id: str, label_ids: list[str]) -> None:
        adding = operation == "MaestroAddLabels"
        document = ADD_LABELS_MUTATION if adding else REMOVE_LABELS_MUTATION
        model: type[BaseModel] = _AddLabelsData if adding else _RemoveLabelsData
        data = self.client.execute(operation, document, {"id": node_id, "labelIds": label_ids},
                                   write="idempotent")
        parse(model, data, SERVICE, operation)

    def _reopen(self, node_id: str) -> None:
        data = self.client.execute("MaestroReopen", REOPEN_MUTATION, {"id": node_id},
                                   write="idempotent")
        parse(_ReopenData, data, SERVICE, "MaestroReopen")


def _labels(raw: _Issue) -> list[_Label]:
    return list(raw.labels.nodes) if raw.labels is not None else []


def _priority(raw: _Issue) -> int | None:
    """GitHub has no priority field; a ``priority:<n>`` label (1 = most urgent) stands in."""
    for label in _labels(raw):
        name = state_key(label.name)
        if name.startswith("priority:") and name[9:].strip().isdigit():
            return int(name[9:].strip())
    return None


def blocker_refs(body: str, owner: str, repo: str) -> tuple[list[int], list[str]]:
    """The blockers named on ``Blocked by`` lines of an issue body: numbers of issues in
    ``owner/repo`` (``#12``, ``owner/repo#12``, ``https://github.com/owner/repo/issues/12``)
    and references to other repositories (``other/repo#3``), each once, in order."""
    numbers: list[int] = []
    foreign: list[str] = []
    here = (owner.casefold(), repo.casefold())
    for line in _BLOCKED_LINE.finditer(body or ""):
        for match in _ISSUE_REF.finditer(line.group(1)):
            ref_owner = match.group("url_owner") or match.group("owner")
            ref_repo = match.group("url_repo") or match.group("repo")
            number = int(match.group("url_n") or match.group("n"))
            if ref_owner is None or (ref_owner.casefold(), str(ref_repo).casefold()) == here:
                numbers.append(number)
            else:
                foreign.append(f"{ref_owner}/{ref_repo}#{number}")
    return list(dict.fromkeys(numbers)), list(dict.fromkeys(foreign))


def _typename(raw: Any) -> str:
    if not isinstance(raw, dict) or not isinstance(raw.get("__typename"), str):
        raise TrackerError("github: MaestroRefresh: unexpected response shape: no __typename")
    return str(raw["__typename"])


def _not_found(error: GraphQLErrorItem) -> bool:
    """GitHub answers an unknown number with ``null`` plus a ``NOT_FOUND`` error."""
    return error.code.upper() == "NOT_FOUND"


def _comment(raw: _Comment, own: bool | None = None) -> Comment:
    """``own``: known by the caller (maestro just wrote it); else GitHub's
    ``viewerDidAuthor`` (the token's user, or the app's bot, wrote it) of a comment never
    edited (``lastEditedAt``): maestro never edits its comments, while anyone who may
    write to the repository can edit them, and the author stays (breaker 18, F2)."""
    body, mark = split(raw.body)
    return Comment(id=raw.id, body=body, write_mark=mark,
                   author=raw.author.login if raw.author else "", created_at=raw.createdAt,
                   own=(raw.viewerDidAuthor and raw.lastEditedAt is None) if own is None
                   else own)


def from_config(config: ServiceConfig, workflow: Workflow) -> GitHubIssuesTracker:
    """The tracker ``maestro.toml`` ``[github]``/``[tracker]`` and ``WORKFLOW.md`` describe."""
    policy = workflow.policy.tracker
    repository = policy.repository or config.github.repository
    if not repository:
        raise ConfigError(
            f"{workflow.source}: tracker.repository: required for provider 'github' "
            "('owner/name'; or set [github] repository in maestro.toml)"
        )
    client, _ = github_graphql_client(config, SERVICE)
    return GitHubIssuesTracker(
        client,
        repository,
        issue_prefix=policy.issue_prefix,
        state_labels=policy.state_labels,
        unlabeled_state=policy.unlabeled_state,
        closed_states=policy.closed_states,
        page_size=config.tracker.page_size,
        refresh_batch_size=config.tracker.refresh_batch_size,
        startable_states=policy.startable_states,
    )
