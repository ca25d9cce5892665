"""Which issues a webhook delivery is about: a pure reading of the event's payload.

A delivery is *relevant* when it can change what a tick decides: an issue opened, edited,
labelled, moved or commented on; a pull request, its reviews, review threads or checks.
Everything else (stars, pushes to other branches, project boards…) is ignored. A relevant
delivery names the lanes it touches when the payload says enough to know them:

- GitHub issues are ``<issue_prefix>-<number>`` when the tracker is GitHub Issues;
- a pull request, a review or a check names the lane whose branch it is (lane branches are
  ``<branch_prefix><identifier in lower case>``) or whose recorded PR number it has;
- a Linear issue or comment carries the issue's identifier (``ENG-12``).

A relevant delivery that names nothing (a new issue of another tracker, a PR of a branch
that is no lane) still makes a tick: the tick re-reads everything, so it can only be right.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from maestro.errors import InputError
from maestro.ids import branch_name, check_identifier

#: GitHub events (``X-GitHub-Event``) that can change a tick's decisions.
GITHUB_EVENTS = frozenset({
    "issues", "issue_comment", "pull_request", "pull_request_review",
    "pull_request_review_comment", "pull_request_review_thread", "check_run", "check_suite",
    "status",
})
#: Linear payload ``type`` values that can change a tick's decisions.
LINEAR_TYPES = frozenset({"Issue", "Comment"})


@dataclass(frozen=True)
class Naming:
    """What maps a payload to lane names: the tracker's issue prefix (GitHub Issues only),
    the lane branch prefix, the lanes on disk and the PR number each one recorded."""

    branch_prefix: str = "maestro/"
    github_issue_prefix: str | None = None
    lanes: frozenset[str] = frozenset()
    lane_by_pr: Mapping[int, str] = field(default_factory=dict)

    def lane_for_branch(self, branch: object) -> str | None:
        if not isinstance(branch, str) or not branch.startswith(self.branch_prefix):
            return None
        return next((lane for lane in sorted(self.lanes)
                     if branch_name(lane, self.branch_prefix) == branch), None)


@dataclass(frozen=True)
class Affected:
    """``relevant``: the delivery should make a tick; ``what``: ``event.action`` for logs."""

    relevant: bool
    what: str
    issues: tuple[str, ...] = ()


def _at(value: Any, *path: str) -> Any:
    """``value[path[0]][path[1]]…``, or ``None`` where the shape is not that."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _usable(name: str) -> bool:
    try:
        check_identifier(name)
    except InputError:
        return False
    return True


def _unique(names: Iterable[str | None]) -> tuple[str, ...]:
    """The names in order, once each; a name that could not be a lane is dropped (a
    payload is outside input, even a signed one)."""
    return tuple(dict.fromkeys(name for name in names if name and _usable(name)))


def github_affected(event: str, payload: Any, naming: Naming) -> Affected:
    """The lanes a GitHub delivery of ``event`` touches (see the module doc)."""
    action = _at(payload, "action")
    what = f"{event}.{action}" if isinstance(action, str) else event
    if event not in GITHUB_EVENTS:
        return Affected(False, what)
    names: list[str | None] = []
    issue = _at(payload, "issue")
    if isinstance(issue, Mapping):
        number = issue.get("number")
        if isinstance(number, int) and not isinstance(number, bool):
            if issue.get("pull_request") is not None:  # a comment on a pull request
                names.append(naming.lane_by_pr.get(number))
            elif naming.github_issue_prefix:
                names.append(f"{naming.github_issue_prefix}-{number}")
    pulls = [_at(payload, "pull_request"), *(_at(payload, "check_suite", "pull_requests") or []),
             *(_at(payload, "check_run", "pull_requests") or [])]
    for pull in pulls:
        number = _at(pull, "number")
        if isinstance(number, int):
            names.append(naming.lane_by_pr.get(number))
        names.append(naming.lane_for_branch(_at(pull, "head", "ref")))
    names.append(naming.lane_for_branch(_at(payload, "check_suite", "head_branch")))
    names.append(naming.lane_for_branch(_at(payload, "check_run", "check_suite", "head_branch")))
    for branch in _at(payload, "branches") or []:  # a commit status names its branches
        names.append(naming.lane_for_branch(_at(branch, "name")))
    return Affected(True, what, _unique(names))


def linear_affected(payload: Any) -> Affected:
    """The issue a Linear delivery touches (see the module doc)."""
    kind, action = _at(payload, "type"), _at(payload, "action")
    what = f"{kind}.{action}" if isinstance(action, str) else str(kind)
    if kind not in LINEAR_TYPES:
        return Affected(False, what)
    identifier = (_at(payload, "data", "identifier") if kind == "Issue"
                  else _at(payload, "data", "issue", "identifier"))
    return Affected(True, what, _unique([identifier if isinstance(identifier, str) else None]))
