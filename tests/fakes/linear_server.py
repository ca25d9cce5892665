"""A fake Linear: an in-memory workspace served over loopback in the real schema's shapes.

    world = LinearWorld(project_slug="maestro-abc")
    world.add_issue("Fix it", state="Todo", labels=["bug"])
    with linear_server(world) as server:   # a LoopbackServer; server.url
        ...

Only the fields and filters maestro uses are implemented; anything else fails loudly (an
execution error recorded in ``service.unexpected``) rather than answering wrongly.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fakes.graphql_service import GraphQLService, ServiceError, connection
from fakes.loopback import LoopbackServer
from fakes.schemas import load_schema

API_KEY = "lin_api_fake_0123456789abcdef"
#: The API key's user: every comment maestro writes is theirs.
VIEWER = "maestro-bot"
MAX_FIRST = 250
DEFAULT_FIRST = 50
DEFAULT_STATES = (
    ("Backlog", "backlog"), ("Todo", "unstarted"), ("In Progress", "started"),
    ("In Review", "started"), ("Done", "completed"), ("Canceled", "canceled"),
    ("Duplicate", "canceled"),
)


def _id() -> str:
    return str(uuid.uuid4())


@dataclass
class Team:
    id: str
    key: str
    name: str


@dataclass
class State:
    id: str
    name: str
    type: str
    team_id: str


@dataclass
class Label:
    id: str
    name: str
    team_id: str | None


@dataclass
class CommentRec:
    id: str
    body: str
    created_at: datetime
    user: str | None
    edited_at: datetime | None = None


@dataclass
class IssueRec:
    id: str
    team_id: str
    number: int
    title: str
    description: str | None
    priority: int
    created_at: datetime
    state_id: str
    project_id: str | None
    label_ids: list[str] = field(default_factory=list)
    comments: list[CommentRec] = field(default_factory=list)


@dataclass
class Relation:
    id: str
    type: str
    issue_id: str  # the source: it ``type``s the related issue (A blocks B)
    related_id: str


class LinearWorld:
    """Teams, states, labels, one project (plus others) and their issues."""

    def __init__(self, project_slug: str = "maestro-0a1b2c", team_key: str = "ENG") -> None:
        self.teams: dict[str, Team] = {}
        self.states: dict[str, State] = {}
        self.labels: dict[str, Label] = {}
        self.projects: dict[str, str] = {}  # id -> slugId
        self.issues: dict[str, IssueRec] = {}
        self.relations: list[Relation] = []
        self._clock = itertools.count()
        self.team = self.add_team(team_key)
        self.project_id = self.add_project(project_slug)

    # -- building --------------------------------------------------------------------------

    def add_team(self, key: str) -> Team:
        team = Team(_id(), key, f"Team {key}")
        self.teams[team.id] = team
        for name, kind in DEFAULT_STATES:
            state = State(_id(), name, kind, team.id)
            self.states[state.id] = state
        return team

    def add_project(self, slug: str) -> str:
        project_id = _id()
        self.projects[project_id] = slug
        return project_id

    def add_label(self, name: str, team: Team | None = None) -> Label:
        label = Label(_id(), name, team.id if team else None)
        self.labels[label.id] = label
        return label

    def state_id(self, team: Team, name: str) -> str:
        for state in self.states.values():
            if state.team_id == team.id and state.name == name:
                return state.id
        raise KeyError(name)

    def add_issue(self, title: str = "An issue", state: str = "Todo", *,
                  labels: Sequence[str] = (), priority: int = 0, description: str | None = "",
                  team: Team | None = None, project: str | None = "default") -> IssueRec:
        team = team or self.team
        number = 1 + sum(1 for i in self.issues.values() if i.team_id == team.id)
        label_ids = []
        for name in labels:
            found = [x for x in self.labels.values() if x.name == name]
            label_ids.append((found[0] if found else self.add_label(name, team)).id)
        project_id = self.project_id if project == "default" else (
            None if project is None else self.add_project(project))
        rec = IssueRec(
            id=_id(), team_id=team.id, number=number, title=title, description=description,
            priority=priority,
            created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=next(self._clock)),
            state_id=self.state_id(team, state), project_id=project_id, label_ids=label_ids,
        )
        self.issues[rec.id] = rec
        return rec

    def add_comment(self, identifier: str, body: str, user: str) -> CommentRec:
        """A comment another Linear user wrote (maestro's own come through the API)."""
        comment = CommentRec(_id(), body, datetime.now(UTC), user)
        self.by_identifier(identifier).comments.append(comment)
        return comment

    def block(self, blocker: IssueRec, blocked: IssueRec, kind: str = "blocks") -> None:
        self.relations.append(Relation(_id(), kind, blocker.id, blocked.id))

    def identifier(self, rec: IssueRec) -> str:
        return f"{self.teams[rec.team_id].key}-{rec.number}"

    def by_identifier(self, identifier: str) -> IssueRec:
        for rec in self.issues.values():
            if self.identifier(rec) == identifier or rec.id == identifier:
                return rec
        raise ServiceError("Entity not found: Issue", extensions={"code": "INVALID_INPUT"})

    def state_of(self, identifier: str) -> str:
        return self.states[self.by_identifier(identifier).state_id].name

    def labels_of(self, identifier: str) -> list[str]:
        return [self.labels[x].name for x in self.by_identifier(identifier).label_ids]


# -- resolvers (one class per GraphQL type) -----------------------------------------------


def _page(items: list[Any], first: int | None, after: str | None) -> dict[str, Any]:
    return connection(items, first, after, MAX_FIRST, DEFAULT_FIRST)


class StateNode:
    def __init__(self, world: LinearWorld, rec: State) -> None:
        self.id, self.name, self.type = rec.id, rec.name, rec.type
        self.team = TeamNode(world.teams[rec.team_id])


class TeamNode:
    def __init__(self, rec: Team) -> None:
        self.id, self.key, self.name = rec.id, rec.key, rec.name


class LabelNode:
    def __init__(self, world: LinearWorld, rec: Label) -> None:
        self.id, self.name = rec.id, rec.name
        self.team = TeamNode(world.teams[rec.team_id]) if rec.team_id else None


class UserNode:
    def __init__(self, name: str) -> None:
        self.id, self.name, self.displayName = name, name, name


class CommentNode:
    def __init__(self, rec: CommentRec) -> None:
        self.id, self.body = rec.id, rec.body
        self.createdAt = rec.created_at.isoformat()
        self.user = UserNode(rec.user) if rec.user else None
        self.editedAt = rec.edited_at.isoformat() if rec.edited_at else None


class RelationNode:
    def __init__(self, world: LinearWorld, rec: Relation) -> None:
        self._world, self.id, self.type = world, rec.id, rec.type
        self._rec = rec

    @property
    def issue(self) -> IssueNode:
        return IssueNode(self._world, self._world.issues[self._rec.issue_id])

    @property
    def relatedIssue(self) -> IssueNode:
        return IssueNode(self._world, self._world.issues[self._rec.related_id])


class IssueNode:
    def __init__(self, world: LinearWorld, rec: IssueRec) -> None:
        self._world, self._rec = world, rec
        self.id, self.number, self.title = rec.id, rec.number, rec.title
        self.identifier = world.identifier(rec)
        self.description, self.priority = rec.description, rec.priority
        self.createdAt = rec.created_at.isoformat()
        self.url = f"https://linear.app/fake/issue/{self.identifier.lower()}"

    @property
    def state(self) -> StateNode:
        return StateNode(self._world, self._world.states[self._rec.state_id])

    @property
    def team(self) -> TeamNode:
        return TeamNode(self._world.teams[self._rec.team_id])

    def labels(self, info: Any, first: int | None = None, after: str | None = None,
               **_: Any) -> dict[str, Any]:
        nodes = [LabelNode(self._world, self._world.labels[x]) for x in self._rec.label_ids]
        return _page(nodes, first, after)

    def inverseRelations(self, info: Any, first: int | None = None, after: str | None = None,
                         **_: Any) -> dict[str, Any]:
        nodes = [RelationNode(self._world, r) for r in self._world.relations
                 if r.related_id == self._rec.id]
        return _page(nodes, first, after)

    def relations(self, info: Any, first: int | None = None, after: str | None = None,
                  **_: Any) -> dict[str, Any]:
        nodes = [RelationNode(self._world, r) for r in self._world.relations
                 if r.issue_id == self._rec.id]
        return _page(nodes, first, after)

    def comments(self, info: Any, first: int | None = None, after: str | None = None,
                 **_: Any) -> dict[str, Any]:
        return _page([CommentNode(c) for c in self._rec.comments], first, after)


def _compare(value: Any, comparator: dict[str, Any]) -> bool:
    for op, expected in comparator.items():
        if op == "eq" and value != expected:
            return False
        if op == "neq" and value == expected:
            return False
        if op == "in" and value not in expected:
            return False
        if op == "nin" and value in expected:
            return False
        if op == "eqIgnoreCase" and str(value).casefold() != str(expected).casefold():
            return False
        if op not in {"eq", "neq", "in", "nin", "eqIgnoreCase"}:
            raise NotImplementedError(f"fake Linear: comparator {op!r}")
    return True


class LinearRoot:
    """Query and Mutation fields in one root object."""

    def __init__(self, world: LinearWorld) -> None:
        self.world = world

    def viewer(self, info: Any) -> UserNode:
        """The API key's user: the author of every comment maestro writes."""
        return UserNode(VIEWER)

    # -- filters ---------------------------------------------------------------------------

    def _match(self, rec: IssueRec, where: dict[str, Any]) -> bool:
        w = self.world
        for key, sub in where.items():
            if key == "and":
                ok = all(self._match(rec, part) for part in sub)
            elif key == "or":
                ok = any(self._match(rec, part) for part in sub)
            elif key == "project":
                slug = w.projects.get(rec.project_id or "")
                ok = rec.project_id is not None and all(
                    _compare(slug if k == "slugId" else rec.project_id, v)
                    for k, v in sub.items())
            elif key == "state":
                state = w.states[rec.state_id]
                ok = all(_compare(getattr(state, k), v) for k, v in sub.items())
            elif key == "team":
                team = w.teams[rec.team_id]
                ok = all(_compare(getattr(team, k), v) for k, v in sub.items())
            elif key == "number":
                ok = _compare(rec.number, sub)
            elif key == "id":
                ok = _compare(rec.id, sub) or _compare(w.identifier(rec), sub)
            else:
                raise NotImplementedError(f"fake Linear: IssueFilter.{key}")
            if not ok:
                return False
        return True

    # -- Query -----------------------------------------------------------------------------

    def issues(self, info: Any, filter: dict[str, Any] | None = None, first: int | None = None,
               after: str | None = None, **_: Any) -> dict[str, Any]:
        found = [r for r in self.world.issues.values() if self._match(r, filter or {})]
        found.sort(key=lambda r: r.created_at)
        return _page([IssueNode(self.world, r) for r in found], first, after)

    def issue(self, info: Any, id: str) -> IssueNode:
        return IssueNode(self.world, self.world.by_identifier(id))

    def workflowStates(self, info: Any, filter: dict[str, Any] | None = None,
                       first: int | None = None, after: str | None = None,
                       **_: Any) -> dict[str, Any]:
        found = list(self.world.states.values())
        team_filter = (filter or {}).get("team", {})
        for key, comparator in team_filter.items():
            found = [s for s in found
                     if _compare(getattr(self.world.teams[s.team_id], key), comparator)]
        return _page([StateNode(self.world, s) for s in found], first, after)

    def issueLabels(self, info: Any, filter: dict[str, Any] | None = None,
                    first: int | None = None, after: str | None = None,
                    **_: Any) -> dict[str, Any]:
        found = list(self.world.labels.values())
        for key, comparator in (filter or {}).items():
            if key != "name":
                raise NotImplementedError(f"fake Linear: IssueLabelFilter.{key}")
            found = [x for x in found if _compare(x.name, comparator)]
        return _page([LabelNode(self.world, x) for x in found], first, after)

    # -- Mutation --------------------------------------------------------------------------

    def _payload(self, rec: IssueRec) -> dict[str, Any]:
        return {"success": True, "lastSyncId": 1.0, "issue": IssueNode(self.world, rec)}

    def issueUpdate(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        rec = self.world.by_identifier(id)
        for key, value in input.items():
            if key == "stateId":
                if value not in self.world.states:
                    raise ServiceError("Entity not found: WorkflowState",
                                       extensions={"code": "INVALID_INPUT"})
                rec.state_id = value
            else:
                raise NotImplementedError(f"fake Linear: IssueUpdateInput.{key}")
        return self._payload(rec)

    def issueAddLabel(self, info: Any, id: str, labelId: str) -> dict[str, Any]:
        rec = self.world.by_identifier(id)
        if labelId not in self.world.labels:
            raise ServiceError("Entity not found: IssueLabel", extensions={"code": "INVALID_INPUT"})
        if labelId not in rec.label_ids:
            rec.label_ids.append(labelId)
        return self._payload(rec)

    def issueRemoveLabel(self, info: Any, id: str, labelId: str) -> dict[str, Any]:
        rec = self.world.by_identifier(id)
        if labelId in rec.label_ids:
            rec.label_ids.remove(labelId)
        return self._payload(rec)

    def commentCreate(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        rec = self.world.by_identifier(input["issueId"])
        comment = CommentRec(_id(), input.get("body") or "",
                             datetime.now(UTC), VIEWER)
        rec.comments.append(comment)
        return {"success": True, "lastSyncId": 1.0, "comment": CommentNode(comment)}


def linear_service(world: LinearWorld, api_key: str = API_KEY) -> GraphQLService:
    """A handler answering like Linear (which sends errors with HTTP 400 when it rejects)."""
    return GraphQLService(load_schema("linear"), LinearRoot(world), token_header=api_key,
                          error_status=400)


@contextmanager
def linear_server(world: LinearWorld, api_key: str = API_KEY) -> Iterator[LoopbackServer]:
    service = linear_service(world, api_key)
    server = LoopbackServer(service)
    with server.running():
        yield server
