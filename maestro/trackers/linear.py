"""Linear as the issue source (GraphQL over httpx).

The project is chosen by its ``slugId`` (the suffix of the project URL). Reads are batched:
candidates come page by page for the requested states, and a refresh of any number of lanes
is one query (up to ``refresh_batch_size`` identifiers) that filters by team key and issue
number, so a poll tick costs the same number of requests for one lane or two hundred.

Blockers are the issues on the other end of *inverse* ``blocks`` relations (relation.issue
blocks this issue), with their current state names, so eligibility can require every
blocker to be terminal. Writes resolve names to ids once (workflow states per team, labels
per team or workspace) and cache them; ids never change, names are re-resolved per process.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, FiniteFloat, WrapValidator

from maestro.config.validation import short_repr
from maestro.errors import (
    ConfigError,
    IssueStateChanged,
    LabelMissingError,
    TrackerError,
    UnknownIssueError,
)
from maestro.model import Comment, Issue
from maestro.statenames import same_state, state_key
from maestro.trackers.http import (
    ClientMetrics,
    GraphQLClient,
    client_for,
    parse,
    parse_or_skip,
    secret_from_env,
    write_once,
)
from maestro.trackers.normalise import dropping_bad_items, normalise_labels, or_default
from maestro.trackers.paging import PageWalk
from maestro.trackers.write_mark import marked, split

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig
    from maestro.config.workflow import Workflow

SERVICE = "linear"
NESTED_FIRST = 25
#: Page size when an issue's labels or relations go past the first nested page.
NESTED_PAGE = 100

ISSUE_FRAGMENT = f"""
fragment MaestroIssue on Issue {{
  id
  identifier
  number
  title
  description
  priority
  createdAt
  url
  state {{ name }}
  team {{ id key }}
  labels(first: {NESTED_FIRST}) {{ nodes {{ id name }} pageInfo {{ hasNextPage endCursor }} }}
  inverseRelations(first: {NESTED_FIRST}) {{
    nodes {{ type issue {{ identifier state {{ name }} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

# An issue with more labels or relations than one nested page: the rest, page by page.
ISSUE_LABELS_QUERY = """
query MaestroIssueLabels($id: String!, $first: Int!, $after: String) {
  issue(id: $id) {
    labels(first: $first, after: $after) {
      nodes { id name }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

ISSUE_RELATIONS_QUERY = """
query MaestroIssueRelations($id: String!, $first: Int!, $after: String) {
  issue(id: $id) {
    inverseRelations(first: $first, after: $after) {
      nodes { type issue { identifier state { name } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

CANDIDATES_QUERY = (
    """
query MaestroCandidates($slug: String!, $states: [String!]!, $first: Int!, $after: String) {
  issues(
    filter: {project: {slugId: {eq: $slug}}, state: {name: {in: $states}}}
    first: $first
    after: $after
  ) {
    nodes { ...MaestroIssue }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + ISSUE_FRAGMENT
)

REFRESH_QUERY = (
    """
query MaestroRefresh($filter: IssueFilter!, $first: Int!, $after: String) {
  issues(filter: $filter, first: $first, after: $after) {
    nodes { ...MaestroIssue }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + ISSUE_FRAGMENT
)

COMMENTS_QUERY = """
query MaestroComments($id: String!, $first: Int!, $after: String) {
  viewer { id }
  issue(id: $id) {
    comments(first: $first, after: $after) {
      nodes { id body createdAt editedAt user { id name } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

STATES_QUERY = """
query MaestroWorkflowStates($teamId: ID!) {
  workflowStates(filter: {team: {id: {eq: $teamId}}}, first: 250) {
    nodes { id name type }
  }
}
"""

LABELS_QUERY = """
query MaestroLabels($name: String!) {
  issueLabels(filter: {name: {eqIgnoreCase: $name}}, first: 50) {
    nodes { id name team { id } }
  }
}
"""

UPDATE_STATE_MUTATION = """
mutation MaestroTransition($id: String!, $stateId: String!) {
  issueUpdate(id: $id, input: {stateId: $stateId}) { success }
}
"""

COMMENT_MUTATION = """
mutation MaestroComment($issueId: String!, $body: String!) {
  commentCreate(input: {issueId: $issueId, body: $body}) {
    success
    comment { id body createdAt user { name } }
  }
}
"""

ADD_LABEL_MUTATION = """
mutation MaestroAddLabel($id: String!, $labelId: String!) {
  issueAddLabel(id: $id, labelId: $labelId) { success }
}
"""

REMOVE_LABEL_MUTATION = """
mutation MaestroRemoveLabel($id: String!, $labelId: String!) {
  issueRemoveLabel(id: $id, labelId: $labelId) { success }
}
"""

#: Every document this adapter can send; the contract tests validate each one.
DOCUMENTS = {
    "MaestroCandidates": CANDIDATES_QUERY,
    "MaestroRefresh": REFRESH_QUERY,
    "MaestroComments": COMMENTS_QUERY,
    "MaestroIssueLabels": ISSUE_LABELS_QUERY,
    "MaestroIssueRelations": ISSUE_RELATIONS_QUERY,
    "MaestroWorkflowStates": STATES_QUERY,
    "MaestroLabels": LABELS_QUERY,
    "MaestroTransition": UPDATE_STATE_MUTATION,
    "MaestroComment": COMMENT_MUTATION,
    "MaestroAddLabel": ADD_LABEL_MUTATION,
    "MaestroRemoveLabel": REMOVE_LABEL_MUTATION,
}

_IDENTIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)-(\d+)$")


# -- the shapes read from responses -------------------------------------------------------


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Named(_M):
    name: str


class _PageInfo(_M):
    hasNextPage: bool
    endCursor: str | None = None


class _Label(_M):
    id: str
    name: str


class _Labels(_M):
    nodes: Annotated[list[_Label], WrapValidator(dropping_bad_items)]
    pageInfo: _PageInfo


def _no_labels() -> _Labels:
    return _Labels(nodes=[], pageInfo=_PageInfo(hasNextPage=False))


class _RelatedIssue(_M):
    identifier: str
    state: _Named


class _Relation(_M):
    type: str
    issue: _RelatedIssue


class _Relations(_M):
    nodes: list[_Relation]
    pageInfo: _PageInfo


class _Team(_M):
    id: str
    key: str


class _Issue(_M):
    id: str
    identifier: str
    number: float
    title: str
    # Optional metadata: an unusable value becomes None or empty (trackers/normalise.py).
    description: Annotated[str | None, WrapValidator(or_default(lambda: None))] = None
    priority: Annotated[FiniteFloat | None, WrapValidator(or_default(lambda: None))] = None
    createdAt: Annotated[datetime | None, WrapValidator(or_default(lambda: None))] = None
    url: Annotated[str, WrapValidator(or_default(str))] = ""
    state: _Named
    team: _Team
    labels: Annotated[_Labels, WrapValidator(or_default(_no_labels))] = _no_labels()
    inverseRelations: _Relations


class _IssuePage(_M):
    #: Validated one by one (:meth:`LinearTracker._pages`): one odd issue is skipped.
    nodes: list[dict[str, Any]]
    pageInfo: _PageInfo


class _IssueLabels(_M):
    labels: _Labels


class _IssueLabelsData(_M):
    issue: _IssueLabels


class _IssueRelations(_M):
    inverseRelations: _Relations


class _IssueRelationsData(_M):
    issue: _IssueRelations


class _IssuesData(_M):
    issues: _IssuePage


class _User(_M):
    name: str
    id: str = ""


class _Viewer(_M):
    id: str


class _Comment(_M):
    id: str
    body: str
    createdAt: datetime
    user: _User | None = None
    editedAt: datetime | None = None


class _CommentPage(_M):
    nodes: list[_Comment]
    pageInfo: _PageInfo


class _IssueComments(_M):
    comments: _CommentPage


class _CommentsData(_M):
    viewer: _Viewer
    issue: _IssueComments


class _State(_M):
    id: str
    name: str
    type: str


class _States(_M):
    nodes: list[_State]


class _StatesData(_M):
    workflowStates: _States


class _TeamRef(_M):
    id: str


class _LabelRef(_M):
    id: str
    name: str
    team: _TeamRef | None = None


class _LabelRefs(_M):
    nodes: list[_LabelRef]


class _LabelsData(_M):
    issueLabels: _LabelRefs


class _Success(_M):
    success: bool


class _TransitionData(_M):
    issueUpdate: _Success


class _AddLabelData(_M):
    issueAddLabel: _Success


class _RemoveLabelData(_M):
    issueRemoveLabel: _Success


class _CommentPayload(_M):
    success: bool
    comment: _Comment


class _CommentCreateData(_M):
    commentCreate: _CommentPayload


# -- the adapter --------------------------------------------------------------------------


class LinearTracker(ClientMetrics):
    """The ``Tracker`` protocol over Linear's GraphQL API."""

    name = "linear"

    def __init__(
        self,
        client: GraphQLClient,
        project_slug: str,
        page_size: int = 50,
        refresh_batch_size: int = 250,
    ) -> None:
        if not project_slug:
            raise ConfigError("tracker.project_slug: required for provider 'linear'")
        self.client = client
        self.project_slug = project_slug
        self.page_size = page_size
        self.refresh_batch_size = refresh_batch_size
        self._states: dict[str, dict[str, str]] = {}
        self._labels: dict[tuple[str, str], str] = {}
        self._raw: dict[str, _Issue] = {}
        #: Issues the last candidate read skipped, each named with what is wrong with it.
        self.problems: list[str] = []

    # -- reading ---------------------------------------------------------------------------

    def candidates(self, states: Sequence[str]) -> list[Issue]:
        self.problems = []
        if not states:
            return []
        variables: dict[str, Any] = {
            "slug": self.project_slug,
            "states": list(states),
            "first": self.page_size,
        }
        return [self._issue(raw) for raw in self._pages("MaestroCandidates", CANDIDATES_QUERY,
                                                        variables)]

    def fetch(self, identifiers: Sequence[str]) -> dict[str, Issue]:
        wanted = list(dict.fromkeys(identifiers))
        found: dict[str, Issue] = {}
        for start in range(0, len(wanted), self.refresh_batch_size):
            chunk = wanted[start : start + self.refresh_batch_size]
            scope = self._refresh_filter(chunk)
            if scope is None:
                continue
            asked = {identifier.upper(): identifier for identifier in chunk}
            variables = {"filter": scope, "first": min(len(chunk), 250)}
            for raw in self._pages("MaestroRefresh", REFRESH_QUERY, variables):
                if raw.identifier.upper() in asked:
                    found[asked[raw.identifier.upper()]] = self._issue(raw)
        return {i: found[i] for i in wanted if i in found}

    def get(self, identifier: str) -> Issue:
        """Always read fresh: phases call this to re-check eligibility before acting."""
        return self._issue(self._raw_issue(identifier, refresh=True))

    def comments(self, identifier: str) -> list[Comment]:
        issue_id = self._raw_issue(identifier).id
        result: list[Comment] = []
        after: str | None = None
        walk = PageWalk(SERVICE, "MaestroComments")
        while True:
            data = self.client.execute(
                "MaestroComments", COMMENTS_QUERY,
                {"id": issue_id, "first": self.page_size, "after": after},
            )
            parsed = parse(_CommentsData, data, SERVICE, "MaestroComments")
            page = parsed.issue.comments
            # maestro never edits its comments: an edited one is someone else's words now
            result.extend(_comment(c, own=c.user is not None and c.user.id == parsed.viewer.id
                                   and c.editedAt is None)
                          for c in page.nodes)
            after = walk.next(page.pageInfo.hasNextPage, page.pageInfo.endCursor)
            if after is None:
                break
        result.sort(key=lambda c: (c.created_at is None, c.created_at))
        return result

    # -- writing ---------------------------------------------------------------------------

    def transition(self, identifier: str, state: str,
                   unless: Callable[[str], bool] | None = None) -> bool:
        raw = self._raw_issue(identifier, refresh=True)
        if unless is not None and unless(raw.state.name):
            raise IssueStateChanged(f"issue {identifier} is {raw.state.name}", raw.state.name)
        if same_state(raw.state.name, state):
            return False
        state_id = self._state_id(raw.team, state)
        data = self.client.execute(
            "MaestroTransition", UPDATE_STATE_MUTATION, {"id": raw.id, "stateId": state_id},
            write="idempotent"
        )
        self._require(parse(_TransitionData, data, SERVICE, "MaestroTransition").issueUpdate,
                      "MaestroTransition", identifier)
        self._raw.pop(identifier.upper(), None)
        return True

    def comment(self, identifier: str, body: str) -> Comment:
        issue_id = self._raw_issue(identifier).id
        text, mark = marked(body)

        def send() -> Comment:
            data = self.client.execute("MaestroComment", COMMENT_MUTATION,
                                       {"issueId": issue_id, "body": text}, write="once")
            payload = parse(_CommentCreateData, data, SERVICE, "MaestroComment").commentCreate
            self._require(payload, "MaestroComment", identifier)
            return _comment(payload.comment, own=True)

        def find() -> Comment | None:
            return next((c for c in self.comments(identifier)
                         if c.own and c.write_mark == mark), None)

        return write_once(send, find, self.client.retry)

    def add_label(self, identifier: str, label: str) -> bool:
        raw = self._raw_issue(identifier, refresh=True)
        if any(same_state(existing.name, label)
               for existing in self._all_labels(raw)):
            return False
        label_id = self._label_id(raw.team, label)
        data = self.client.execute(
            "MaestroAddLabel", ADD_LABEL_MUTATION, {"id": raw.id, "labelId": label_id},
            write="idempotent"
        )
        self._require(parse(_AddLabelData, data, SERVICE, "MaestroAddLabel").issueAddLabel,
                      "MaestroAddLabel", identifier)
        self._raw.pop(identifier.upper(), None)
        return True

    def remove_label(self, identifier: str, label: str) -> bool:
        raw = self._raw_issue(identifier, refresh=True)
        present = [x for x in self._all_labels(raw) if same_state(x.name, label)]
        if not present:
            return False
        data = self.client.execute(
            "MaestroRemoveLabel", REMOVE_LABEL_MUTATION,
            {"id": raw.id, "labelId": present[0].id}, write="idempotent"
        )
        self._require(
            parse(_RemoveLabelData, data, SERVICE, "MaestroRemoveLabel").issueRemoveLabel,
            "MaestroRemoveLabel", identifier,
        )
        self._raw.pop(identifier.upper(), None)
        return True

    def close(self) -> None:
        self.client.close()

    # -- helpers ---------------------------------------------------------------------------

    def _pages(self, operation: str, document: str, variables: dict[str, Any]) -> list[_Issue]:
        """Every page of an ``issues`` connection; a page without a cursor is an error."""
        result: list[_Issue] = []
        after: str | None = None
        walk = PageWalk(SERVICE, operation)
        while True:
            data = self.client.execute(operation, document, {**variables, "after": after})
            page = parse(_IssuesData, data, SERVICE, operation).issues
            for node in page.nodes:
                raw = self._parse_issue(node, operation)
                if raw is None:
                    continue
                self._raw[raw.identifier.upper()] = raw
                result.append(raw)
            after = walk.next(page.pageInfo.hasNextPage, page.pageInfo.endCursor)
            if after is None:
                return result

    def _refresh_filter(self, identifiers: Iterable[str]) -> dict[str, Any] | None:
        """Project scope plus (team key, numbers) groups: identifiers need no id lookup."""
        numbers: dict[str, list[int]] = defaultdict(list)
        for identifier in identifiers:
            match = _IDENTIFIER.match(identifier)
            if match is None:
                continue
            numbers[match.group(1).upper()].append(int(match.group(2)))
        groups = [
            {"team": {"key": {"eq": key}}, "number": {"in": nums}}
            for key, nums in sorted(numbers.items())
        ]
        if not groups:
            return None  # nothing that looks like a Linear identifier: nothing to ask
        return {"project": {"slugId": {"eq": self.project_slug}}, "or": groups}

    def _raw_issue(self, identifier: str, refresh: bool = False) -> _Issue:
        key = identifier.upper()
        stale = refresh or key not in self._raw
        if stale and identifier not in self.fetch([identifier]):
            raise UnknownIssueError(
                f"linear: issue {short_repr(identifier)} not found in project {self.project_slug!r}"
            )
        return self._raw[key]

    def _state_id(self, team: _Team, state: str) -> str:
        if team.id not in self._states:
            data = self.client.execute("MaestroWorkflowStates", STATES_QUERY, {"teamId": team.id})
            nodes = parse(_StatesData, data, SERVICE, "MaestroWorkflowStates").workflowStates.nodes
            self._states[team.id] = {state_key(node.name): node.id for node in nodes}
        states = self._states[team.id]
        if state_key(state) not in states:
            known = ", ".join(sorted(states)) or "none"
            raise TrackerError(
                f"linear: team {team.key} has no workflow state named {state!r} "
                f"(known, case-insensitive: {known})"
            )
        return states[state_key(state)]

    def check_label(self, label: str, identifier: str | None = None) -> None:
        """Raise :class:`LabelMissingError` unless ``label`` exists for the team of issue
        ``identifier`` or the workspace (``maestro doctor``); labels belong to teams, so
        without an issue there is nothing to check against."""
        if identifier is not None:
            self._label_id(self._raw_issue(identifier).team, label)

    def _label_id(self, team: _Team, label: str) -> str:
        key = (team.id, state_key(label))
        if key not in self._labels:
            data = self.client.execute("MaestroLabels", LABELS_QUERY, {"name": label})
            nodes = parse(_LabelsData, data, SERVICE, "MaestroLabels").issueLabels.nodes
            usable = [n for n in nodes if same_state(n.name, label)
                      and (n.team is None or n.team.id == team.id)]
            # A team label wins over a workspace label of the same name.
            usable.sort(key=lambda n: n.team is None)
            if not usable:
                raise LabelMissingError(
                    f"linear: label {label!r} does not exist for team {team.key} or the "
                    "workspace; create it in Linear"
                )
            self._labels[key] = usable[0].id
        return self._labels[key]

    def _parse_issue(self, node: dict[str, Any], operation: str) -> _Issue | None:
        """One issue of a page, or None (with a warning naming it) when its payload does
        not have the shape maestro reads: one odd issue never stops a tick."""
        name = node.get("identifier") if isinstance(node, dict) else None
        return parse_or_skip(_Issue, node, SERVICE, operation, name or "(no identifier)",
                             self.problems)

    def _all_labels(self, raw: _Issue) -> list[_Label]:
        """Every label of the issue: the first nested page, then the rest, page by page."""
        return self._rest_of(raw.id, raw.labels, "MaestroIssueLabels", ISSUE_LABELS_QUERY,
                             lambda data: parse(_IssueLabelsData, data, SERVICE,
                                                "MaestroIssueLabels").issue.labels)

    def _all_relations(self, raw: _Issue) -> list[_Relation]:
        """Every inverse relation of the issue, paged like :meth:`_all_labels`."""
        return self._rest_of(raw.id, raw.inverseRelations, "MaestroIssueRelations",
                             ISSUE_RELATIONS_QUERY,
                             lambda data: parse(_IssueRelationsData, data, SERVICE,
                                                "MaestroIssueRelations").issue.inverseRelations)

    def _rest_of(self, issue_id: str, first: Any, operation: str, query: str,
                 connection: Callable[[Any], Any]) -> list[Any]:
        """The nodes of one nested connection of an issue (``first``: the page the issue
        query returned; ``connection``: parses a follow-up page's response and picks the
        connection), fetching ``NESTED_PAGE`` nodes a request until ``hasNextPage`` is false."""
        nodes = list(first.nodes)
        walk = PageWalk(SERVICE, operation)
        after = walk.next(first.pageInfo.hasNextPage, first.pageInfo.endCursor)
        while after is not None:
            data = self.client.execute(operation, query, {
                "id": issue_id, "first": NESTED_PAGE, "after": after})
            more = connection(data)
            nodes.extend(more.nodes)
            after = walk.next(more.pageInfo.hasNextPage, more.pageInfo.endCursor)
        return nodes

    def _issue(self, raw: _Issue) -> Issue:
        blockers = {
            rel.issue.identifier: rel.issue.state.name
            for rel in self._all_relations(raw)
            if rel.type == "blocks"
        }
        priority = int(raw.priority) if raw.priority is not None else 0
        return Issue(
            id=raw.id,
            identifier=raw.identifier,
            title=raw.title,
            state=raw.state.name,
            description=raw.description or "",
            labels=normalise_labels(label.name for label in self._all_labels(raw)),
            blocked_by=tuple(blockers),
            blocker_states=blockers,
            priority=priority if priority > 0 else None,
            created_at=raw.createdAt,
            url=raw.url,
        )

    @staticmethod
    def _require(payload: _Success | _CommentPayload, operation: str, identifier: str) -> None:
        if not payload.success:
            raise TrackerError(f"linear: {operation}: Linear reported failure for {identifier}")


def _comment(raw: _Comment, own: bool) -> Comment:
    """``own``: the API key's user wrote it (the comments query asks for ``viewer``)."""
    body, mark = split(raw.body)
    return Comment(
        id=raw.id, body=body, write_mark=mark, author=raw.user.name if raw.user else "",
        created_at=raw.createdAt, own=own,
    )


def from_config(config: ServiceConfig, workflow: Workflow) -> LinearTracker:
    """The tracker ``maestro.toml`` ``[tracker]`` and ``WORKFLOW.md`` describe."""
    service = config.tracker
    policy = workflow.policy.tracker
    if not policy.project_slug:
        raise ConfigError(
            f"{workflow.source}: tracker.project_slug: required for provider 'linear' "
            "(the slugId at the end of the Linear project URL)"
        )
    secret = secret_from_env(service.api_key_env_var, "Linear API key", "tracker.api_key_env_var")
    client = client_for(SERVICE, service.endpoint, secret, "", service.timeout_s,
                        service.max_attempts, service.max_rate_limit_wait_s)
    return LinearTracker(client, policy.project_slug, service.page_size,
                         service.refresh_batch_size)
