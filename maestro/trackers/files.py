"""The embedded tracker: one Markdown file per issue in a folder of the repository.

People edit these files by hand, so maestro writes them through ruamel.yaml's round-trip
mode (comments and key order survive), atomically, under a folder lock. The front matter
holds ``title``, ``state``, ``labels``, ``blocked_by``, ``priority``, ``created_at`` and a
``comments`` list; the Markdown body is the description.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from maestro.config.validation import short_repr
from maestro.errors import (
    InputError,
    IssueFileError,
    IssueStateChanged,
    TrackerError,
    UnknownIssueError,
)
from maestro.fsutil import write_atomic
from maestro.ids import check_identifier, utc_now
from maestro.model import Comment, Issue
from maestro.statenames import same_state, state_key, state_keys
from maestro.trackers.frontmatter import decode as _decode
from maestro.trackers.frontmatter import read_front_matter, round_trip_mapping, yaml_problem
from maestro.trackers.frontmatter import split as _split
from maestro.trackers.frontmatter_splice import snapshot, splice
from maestro.trackers.guarded_write import look, replace_unless_changed
from maestro.trackers.normalise import normalise_labels
from maestro.trackers.parse_cache import cache_for, read_bytes

LOCK_NAME = ".maestro-tracker.lock"
#: Read-modify-write rounds an edit may take when a person keeps changing the file meanwhile.
EDIT_ATTEMPTS = 20
_T = TypeVar("_T")
#: the comments of the files asked for, with the bytes they were read from
_COMMENTS: dict[Path, tuple[bytes, tuple[Comment, ...]]] = {}


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _dump(data: Any) -> str:
    """``data`` as the tracker writes YAML."""
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def edited(path: Path, text: str, change: Callable[[CommentedMap], _T]) -> tuple[str, _T]:
    """``text`` (an issue file's content; ``path`` names it in errors) with ``change``
    applied to its front matter (round-trip: comments and key order survive), and what
    ``change`` answered. Pure: nothing is read or written.

    The simple shape without comments or blank lines is loaded without ruamel.yaml's
    loader (:func:`round_trip_mapping`: the same document, a tenth of the CPU) and
    written back by re-emitting only the keys ``change`` touched
    (:mod:`maestro.trackers.frontmatter_splice`); everything else is dumped whole."""
    front, body = _split(path, text)
    quick = round_trip_mapping(front)
    if isinstance(quick, CommentedMap):
        before = snapshot(quick)
        result = change(quick)
        new_front = splice(front, before, quick, _dump)
        if new_front is None:
            new_front = _dump(quick)
        return f"---\n{new_front}---\n{body}", result
    data = _load_round_trip(path, front)
    result = change(data)
    return f"---\n{_dump(data)}---\n{body}", result


def _load_round_trip(path: Path, front: str) -> CommentedMap:
    """The front matter through ruamel.yaml's round-trip loader."""
    try:
        data = _yaml().load(front)
    except YAMLError as exc:
        raise IssueFileError(
            f"{path}: front matter: invalid YAML: {yaml_problem(exc)}") from None
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise IssueFileError(f"{path}: front matter: expected a mapping of keys")
    return data


def comment_entry(number: int, author: str, at: str, body: str) -> CommentedMap:
    """One item of the ``comments`` list as the tracker writes it: ``id``, ``author``,
    ``at`` (ISO 8601) and ``body`` (a literal block where that reads back the same)."""
    entry = CommentedMap()
    entry["id"] = number
    entry["author"] = author
    entry["at"] = at
    entry["body"] = _comment_body(body)
    return entry


class FilesTracker:
    """Issues as ``<folder>/<IDENTIFIER>.md`` files."""

    name = "files"

    def __init__(self, folder: Path, issue_prefix: str = "MAE",
                 cache_dir: Path | None = None) -> None:
        """``cache_dir`` (the service's state root, never the repository): where the
        parses of the folder are kept between processes; None keeps them in memory only."""
        self.folder = folder
        self.issue_prefix = issue_prefix
        self._cache = cache_for(folder, cache_dir)
        self._lock = FileLock(str(folder / LOCK_NAME), timeout=30)
        #: Files the last read could not use, each named with what is wrong with it.
        self.problems: list[str] = []

    # -- reading ---------------------------------------------------------------------------

    def _names(self) -> list[str]:
        """The issue files' names (``*.md``, not hidden), sorted."""
        try:
            found = os.listdir(self.folder)
        except OSError:  # absent or unreadable: no issues, as with Path.glob
            return []
        return sorted(name for name in found if name.endswith(".md") and name[0] != ".")

    def _paths(self) -> list[Path]:
        return [self.folder / name for name in self._names()]

    def _path(self, identifier: str) -> Path:
        return self.folder / f"{check_identifier(identifier)}.md"

    def _parse(self, path: Path, raw: bytes) -> Issue:
        """One issue from the file's bytes, through the fast reader (reads need no
        round trip)."""
        front, body = _split(path, _decode(path, raw))
        return self._issue(path, read_front_matter(path, front), body)

    def _issue(self, path: Path, data: Mapping[str, Any], body: str) -> Issue:
        identifier = path.stem
        try:
            check_identifier(identifier)
        except InputError as exc:
            raise IssueFileError(f"{path}: {exc}") from None
        title = data.get("title")
        state = data.get("state")
        if not isinstance(title, str) or not title.strip():
            raise IssueFileError(f"{path}: title: expected a non-empty string")
        if not isinstance(state, str) or not state.strip():
            raise IssueFileError(f"{path}: state: expected a state name such as 'Todo'")
        labels = _string_list(path, data, "labels")
        blocked_by = _string_list(path, data, "blocked_by")
        priority = data.get("priority")
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
            raise IssueFileError(
                f"{path}: priority: expected an integer (got {short_repr(priority)})")
        return Issue(
            id=identifier,
            identifier=identifier,
            title=title.strip(),
            state=state.strip(),
            description=body.strip(),
            labels=normalise_labels(labels),
            blocked_by=tuple(blocked_by),
            priority=priority,
            created_at=_as_datetime(path, data.get("created_at")),
            url=f"issues/{path.name}",
        )

    def _load(self, path: Path) -> Issue:
        """Parse one issue file, reusing the last parse while the file is unchanged
        (see :mod:`maestro.trackers.parse_cache`)."""
        return self._cache.load(path.name, self._parse)

    def _find(self, identifier: str) -> Issue | None:
        """The issue named ``identifier`` from its own file alone (``<ID>.md``), or None
        when the name is unusable, the file is absent or it cannot be read."""
        try:
            return self._load(self._path(identifier))
        except (InputError, TrackerError, FileNotFoundError, NotADirectoryError):
            return None

    def _all(self) -> dict[str, Issue]:
        """Every readable issue. A broken file is reported in ``problems`` and left out, so
        one typo in one issue does not stop the work on all the others."""
        issues: dict[str, Issue] = {}
        self.problems = []
        for name, result in self._cache.scan(self._names(), self._parse).items():
            if isinstance(result, TrackerError):
                self.problems.append(str(result))
            else:
                issues[name[:-3]] = result
        return issues

    def _with_blockers(self, issue: Issue, every: dict[str, Issue] | None = None) -> Issue:
        """``issue`` with the states of its blockers; without ``every``, each blocker is
        read from its own file (O(blockers), not O(issues))."""
        if not issue.blocked_by:
            return issue
        states = {}
        for ref in issue.blocked_by:
            blocker = every.get(ref) if every is not None else self._find(ref)
            if blocker is not None:
                states[ref] = blocker.state
        return issue.model_copy(update={"blocker_states": states})

    def candidates(self, states: Sequence[str]) -> list[Issue]:
        wanted = state_keys(states)
        every = self._all()
        return [
            self._with_blockers(issue, every)
            for issue in every.values()
            if state_key(issue.state) in wanted
        ]

    def fetch(self, identifiers: Sequence[str]) -> dict[str, Issue]:
        found = {i: self._find(i) for i in identifiers}
        return {i: self._with_blockers(issue) for i, issue in found.items() if issue}

    def get(self, identifier: str) -> Issue:
        path = self._path(identifier)
        try:
            if path.is_file():
                return self._with_blockers(self._load(path))
        except FileNotFoundError:
            pass
        raise UnknownIssueError(f"issue {short_repr(identifier)} not found in {self.folder}")

    def all_issues(self) -> list[Issue]:
        every = self._all()
        return [self._with_blockers(issue, every) for issue in every.values()]

    def comments(self, identifier: str) -> list[Comment]:
        path = self._path(identifier)
        if not path.is_file():
            raise UnknownIssueError(f"issue {short_repr(identifier)} not found in {self.folder}")
        content = read_bytes(path)
        seen = _COMMENTS.get(path)
        if seen is None or seen[0] != content:
            seen = _COMMENTS[path] = (content, tuple(self._comments(path, content)))
        return list(seen[1])

    def _comments(self, path: Path, content: bytes) -> list[Comment]:
        front, _ = _split(path, _decode(path, content))
        raw = read_front_matter(path, front).get("comments") or []
        if not isinstance(raw, list):
            raise IssueFileError(f"{path}: comments: expected a list")
        result = []
        for index, item in enumerate(raw):
            if not isinstance(item, dict) or not isinstance(item.get("body"), str):
                raise IssueFileError(f"{path}: comments[{index}]: expected a mapping with a body")
            result.append(
                Comment(
                    id=str(item.get("id", index + 1)),
                    body=str(item["body"]).removesuffix("\n"),
                    author=str(item.get("author", "")),
                    created_at=_as_datetime(path, item.get("at")),
                    own=True,  # the issue file is the operator's: its comments are trusted
                )
            )
        return result

    # -- writing ---------------------------------------------------------------------------

    def _edit(self, identifier: str, change: Callable[[CommentedMap], _T]) -> _T:
        """Apply ``change`` to the issue's front matter and write the file back.

        maestro's own writers take the lock; a person's edit (which does not) is detected
        before the rename (:mod:`maestro.trackers.guarded_write`) and the read-modify-write
        is redone on the new content, up to :data:`EDIT_ATTEMPTS` times."""
        path = self._path(identifier)
        with self._lock:
            for _ in range(EDIT_ATTEMPTS):
                try:
                    seen = look(path)
                    if seen is None:
                        continue  # changed while being read
                    text = _decode(path, seen.data)
                    new_text, result = edited(path, text, change)
                    if new_text == text:
                        return result
                    raw = new_text.encode()
                    if not replace_unless_changed(path, seen, raw):
                        continue  # someone edited it meanwhile: redo on their version
                except (FileNotFoundError, IsADirectoryError):
                    raise UnknownIssueError(
                        f"issue {short_repr(identifier)} not found in {self.folder}") from None
                # The next read reuses this parse once the file is confirmed to still hold
                # these bytes (read_at=0: never trusted on its stat alone).
                with suppress(OSError):  # gone already: the next read finds out
                    self._cache.remember(path.name, raw, self._parse,
                                         path.stat(), 0)
                return result
        raise TrackerError(f"{path}: the file kept changing while maestro edited it "
                           f"({EDIT_ATTEMPTS} attempts); nothing was written, try again")

    def transition(self, identifier: str, state: str,
                   unless: Callable[[str], bool] | None = None) -> bool:
        def change(data: CommentedMap) -> bool:
            current = str(data.get("state", ""))
            if unless is not None and unless(current):
                raise IssueStateChanged(f"issue {identifier} is {current}", current)
            if same_state(current, state):
                return False
            data["state"] = state
            return True
        return self._edit(identifier, change)

    def add_label(self, identifier: str, label: str) -> bool:
        def change(data: CommentedMap) -> bool:
            labels = data.get("labels")
            if not isinstance(labels, list):
                labels = CommentedSeq()
                data["labels"] = labels
            if any(same_state(str(x), label) for x in labels):
                return False
            labels.append(label)
            return True
        return self._edit(identifier, change)

    def remove_label(self, identifier: str, label: str) -> bool:
        def change(data: CommentedMap) -> bool:
            labels = data.get("labels")
            if not isinstance(labels, list):
                return False
            keep = [x for x in labels if not same_state(str(x), label)]
            if len(keep) == len(labels):
                return False
            labels[:] = keep
            return True
        return self._edit(identifier, change)

    def comment(self, identifier: str, body: str, author: str = "maestro") -> Comment:
        now = utc_now().isoformat(timespec="seconds")
        def change(data: CommentedMap) -> int:
            comments = data.get("comments")
            if not isinstance(comments, list):
                comments = CommentedSeq()
                data["comments"] = comments
            number = len(comments) + 1
            comments.append(comment_entry(number, author, now, body))
            return number
        number = self._edit(identifier, change)
        return Comment(id=str(number), body=body, author=author, created_at=_parse_iso(now),
                       own=True)

    def create(
        self,
        title: str,
        description: str = "",
        state: str = "Todo",
        labels: Sequence[str] = (),
        blocked_by: Sequence[str] = (),
        priority: int | None = None,
        identifier: str | None = None,
    ) -> Issue:
        if not title.strip() or "\n" in title:
            raise InputError("issue title: expected one non-empty line")
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if identifier is None:
                numbers = [
                    int(m.group(1))
                    for p in self._paths()
                    if (m := re.fullmatch(rf"{re.escape(self.issue_prefix)}-(\d+)", p.stem))
                ]
                identifier = f"{self.issue_prefix}-{max(numbers, default=0) + 1}"
            path = self._path(identifier)
            if path.exists():
                raise InputError(f"issue {short_repr(identifier)} already exists at {path}")
            data = CommentedMap()
            data["title"] = title.strip()
            data["state"] = state
            data["labels"] = CommentedSeq(labels)
            data["blocked_by"] = CommentedSeq(blocked_by)
            if priority is not None:
                data["priority"] = priority
            data["created_at"] = utc_now().isoformat(timespec="seconds")
            write_atomic(path, f"---\n{_dump(data)}---\n{description.strip()}\n")
        return self.get(identifier)

    def close(self) -> None:
        return None


#: What a YAML literal block (``|``) carries as it is: printable characters, tab and ``\n``.
#: No ``\r`` (read back as ``\n``), no NEL/LS/PS (line breaks to YAML), no control bytes.
_LITERAL_SAFE = re.compile("[\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe"
                           "\uff00-\ufffd\U00010000-\U0010ffff]*")


def _comment_body(body: str) -> str:
    """A comment body as written: a literal block when it reads back as the same text,
    else a plain string, which the emitter double-quotes with escapes (a literal block
    holding a NUL or a U+2028 was written, then refused on the next read)."""
    text = body.rstrip("\n") + "\n"
    return LiteralScalarString(text) if _LITERAL_SAFE.fullmatch(text) else text


def _string_list(path: Path, data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(x, str | int) for x in value):
        raise IssueFileError(f"{path}: {key}: expected a list of strings (got {short_repr(value)})")
    return [str(x) for x in value]


def _parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _as_datetime(path: Path, value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        return _parse_iso(str(value))
    except ValueError:
        raise IssueFileError(
            f"{path}: created_at: expected an ISO 8601 time (got {short_repr(value)})") from None
