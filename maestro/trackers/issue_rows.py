"""A files-tracker issue as a flat JSON row, and back without pydantic's validation.

The parse cache on disk (:mod:`maestro.trackers.parse_cache`) holds one row per issue file;
the first tick of a fresh process turns thousands of rows back into :class:`Issue` objects.
Two costs dominated that tick: decoding a JSON object with named keys per issue (twice the
bytes, a dict per issue) and ``Issue.model_validate`` per issue. A row is a list in a fixed
order, with the fields the file name already gives (``id``, ``identifier``, ``url``) left
out::

    [name, dev, ino, size, mtime_ns, ctime_ns,                     # the file and its stat
     title, state, description, labels, blocked_by, priority, created_at]   # an issue
    [name, dev, ino, size, mtime_ns, ctime_ns, error]              # a file that is broken

:func:`from_row` builds the ``Issue`` the way ``Issue.model_construct`` does (its
``__dict__`` and fields-set directly), after checking every value's exact type, so a
damaged or hand-made row raises ``ValueError`` (the cache file is then ignored) and can
never yield an ``Issue`` whose fields have another type than validation gives. Why that
is safe: a row holds only JSON data (strings, integers, lists), read with ``json.loads``,
which never runs code, whoever wrote the file; and its values are checked to be what the
parser could give for that file name (a valid identifier, non-empty stripped title and
state, normalised labels), so a hand-made row says nothing the issue file itself could not,
and the agent could edit that just as well (without the sandbox).
:func:`trusted_construction_works` checks once per process that this construction still
equals validation (a pydantic upgrade that changed its internals turns the fast path off).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from maestro.errors import InputError, TrackerError
from maestro.fsutil import StatIdentity
from maestro.ids import check_identifier
from maestro.model import Issue
from maestro.trackers.normalise import normalise_labels

__all__ = ["ERROR_ROW", "ISSUE_ROW", "from_row", "to_row", "trusted_construction_works"]

#: Lengths of the two row shapes.
ISSUE_ROW = 13
ERROR_ROW = 7
#: The fields a parse sets (``FilesTracker._issue`` leaves ``blocker_states`` default).
_UNSET = frozenset({"blocker_states"})
_FIELDS_SET = frozenset(Issue.model_fields) - _UNSET
_new = object.__new__
_set = object.__setattr__


def to_row(name: str, key: StatIdentity, result: Issue | TrackerError) -> list[Any] | None:
    """The row of ``result``, the parse of the file ``name`` whose stat was ``key``; None
    for an issue a row cannot restore exactly (not what the files tracker parses)."""
    if isinstance(result, TrackerError):
        return [name, *key, str(result)]
    stem = name[:-3]
    if (result.id != stem or result.identifier != stem or result.url != f"issues/{name}"
            or result.blocker_states or result.model_fields_set != _FIELDS_SET):
        return None
    created = result.created_at
    return [name, *key, result.title, result.state, result.description, list(result.labels),
            list(result.blocked_by), result.priority,
            None if created is None else created.isoformat()]


def from_row(row: Any) -> tuple[str, StatIdentity, Issue | TrackerError]:
    """``(file name, stat key, parse)`` of a row; ``ValueError`` for anything that is not
    exactly a row :func:`to_row` writes."""
    if type(row) is not list or len(row) not in (ISSUE_ROW, ERROR_ROW):
        raise ValueError("expected a row list")
    name, dev, ino, size, mtime, ctime = row[0], row[1], row[2], row[3], row[4], row[5]
    if not (type(name) is str and name.endswith(".md") and type(dev) is int
            and type(ino) is int and type(size) is int and type(mtime) is int
            and type(ctime) is int):
        raise ValueError("bad file name or stat")
    key = StatIdentity(dev, ino, size, mtime, ctime)
    if len(row) == ERROR_ROW:
        if type(row[6]) is not str:
            raise ValueError(f"{name}: bad error")
        return name, key, TrackerError(row[6])
    title, state, description, labels, blocked_by, priority, created = row[6:]
    if not (type(title) is str and type(state) is str and type(description) is str
            and type(labels) is list and type(blocked_by) is list
            and (priority is None or type(priority) is int)
            and (created is None or type(created) is str)):
        raise ValueError(f"{name}: bad field")
    for text in labels:
        if type(text) is not str:
            raise ValueError(f"{name}: bad label")
    for text in blocked_by:
        if type(text) is not str:
            raise ValueError(f"{name}: bad blocker")
    stamp = None if created is None else datetime.fromisoformat(created)
    if stamp is not None and stamp.tzinfo is None:
        raise ValueError(f"{name}: created_at without a time zone")  # never parsed so
    stem = name[:-3]
    _as_the_parser_gives(name, stem, title, state, description, labels)
    return name, key, trusted_issue({
        "id": stem, "identifier": stem, "title": title, "state": state,
        "description": description, "labels": tuple(labels) if labels else (),
        "blocked_by": tuple(blocked_by) if blocked_by else (), "blocker_states": {},
        "priority": priority,
        "created_at": stamp, "url": f"issues/{name}"})


def _as_the_parser_gives(name: str, stem: str, title: str, state: str, description: str,
                         labels: list[str]) -> None:
    """``ValueError`` unless the values are what ``FilesTracker._issue`` could have produced
    (a valid identifier for the file name, non-empty stripped title and state, a stripped
    body, normalised labels): a hand-made row never carries what no issue file parses to."""
    try:
        check_identifier(stem)
    except InputError:
        raise ValueError(f"{name}: not an issue identifier") from None
    if not (title and title == title.strip() and state and state == state.strip()
            and description == description.strip()
            and tuple(labels) == normalise_labels(labels)):
        raise ValueError(f"{name}: not what an issue file parses to")


def trusted_issue(fields: dict[str, Any]) -> Issue:
    """An ``Issue`` from every one of its fields, already of the types validation gives,
    without validating (what ``model_construct`` does, minus its per-field Python loop)."""
    if not trusted_construction_works():
        return Issue.model_validate({k: v for k, v in fields.items() if k not in _UNSET})
    return _construct(fields)


def _construct(fields: dict[str, Any]) -> Issue:
    issue = _new(Issue)
    _set(issue, "__dict__", fields)
    _set(issue, "__pydantic_fields_set__", set(_FIELDS_SET))
    _set(issue, "__pydantic_extra__", None)
    _set(issue, "__pydantic_private__", None)
    return issue


@lru_cache(maxsize=1)
def trusted_construction_works() -> bool:
    """Whether an ``Issue`` built field by field behaves as a validated one (equal, same
    fields set, same dump, copies alike); checked once per process."""
    fields: dict[str, Any] = {
        "id": "A-1", "identifier": "A-1", "title": "t", "state": "Todo", "description": "",
        "labels": ("x",), "blocked_by": ("A-2",), "blocker_states": {}, "priority": 1,
        "created_at": datetime.fromisoformat("2026-01-02T03:04:05+00:00"),
        "url": "issues/A-1.md"}
    validated = Issue.model_validate({k: v for k, v in fields.items() if k not in _UNSET})
    issue = _construct(dict(fields))
    update = {"blocker_states": {"A-2": "Done"}}
    try:
        return (issue == validated and issue.model_fields_set == validated.model_fields_set
                and issue.model_dump() == validated.model_dump()
                and issue.model_copy(update=update) == validated.model_copy(update=update))
    except Exception:  # any surprise means: validate instead
        return False
