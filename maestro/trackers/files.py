"""The embedded tracker: one Markdown file per issue in a folder of the repository.

People edit these files by hand, so maestro writes them through ruamel.yaml's round-trip
mode (comments and key order survive), atomically, under a folder lock. The front matter
holds ``title``, ``state``, ``labels``, ``blocked_by``, ``priority``, ``created_at`` and a
``comments`` list; the Markdown body is the description.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from maestro.config.validation import short_repr
from maestro.errors import InputError, TrackerError, UnknownIssueError
from maestro.fsutil import write_atomic
from maestro.ids import check_identifier, utc_now
from maestro.model import Comment, Issue
from maestro.trackers.normalise import normalise_labels

_FENCE = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?", re.DOTALL | re.MULTILINE)
LOCK_NAME = ".maestro-tracker.lock"
_PARSED: dict[Path, tuple[tuple[int, int, int], Issue | TrackerError]] = {}


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


class FilesTracker:
    """Issues as ``<folder>/<IDENTIFIER>.md`` files."""

    name = "files"

    def __init__(self, folder: Path, issue_prefix: str = "MAE") -> None:
        self.folder = folder
        self.issue_prefix = issue_prefix
        self._lock = FileLock(str(folder / LOCK_NAME), timeout=30)
        #: Files the last read could not use, each named with what is wrong with it.
        self.problems: list[str] = []

    # -- reading ---------------------------------------------------------------------------

    def _paths(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.md") if not p.name.startswith("."))

    def _path(self, identifier: str) -> Path:
        return self.folder / f"{check_identifier(identifier)}.md"

    def _read(self, path: Path) -> tuple[CommentedMap, str]:
        try:
            # utf-8-sig: an editor's "UTF-8 with BOM" is read like plain UTF-8.
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise TrackerError(f"{path}: expected UTF-8 Markdown, found binary data") from None
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise TrackerError(f"{path}: cannot read: {exc.strerror or exc}") from None
        match = _FENCE.match(text)
        if not match:
            raise TrackerError(
                f"{path}: expected YAML front matter between '---' lines at the top of the file"
            )
        try:
            data = _yaml().load(match.group(1))
        except YAMLError as exc:
            raise TrackerError(f"{path}: front matter: invalid YAML: {exc}") from None
        if data is None:
            data = CommentedMap()
        if not isinstance(data, CommentedMap):
            raise TrackerError(f"{path}: front matter: expected a mapping of keys")
        return data, text[match.end() :]

    def _issue(self, path: Path, data: CommentedMap, body: str) -> Issue:
        identifier = path.stem
        try:
            check_identifier(identifier)
        except InputError as exc:
            raise TrackerError(f"{path}: {exc}") from None
        title = data.get("title")
        state = data.get("state")
        if not isinstance(title, str) or not title.strip():
            raise TrackerError(f"{path}: title: expected a non-empty string")
        if not isinstance(state, str) or not state.strip():
            raise TrackerError(f"{path}: state: expected a state name such as 'Todo'")
        labels = _string_list(path, data, "labels")
        blocked_by = _string_list(path, data, "blocked_by")
        priority = data.get("priority")
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
            raise TrackerError(
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
        """Parse one issue file, reusing the last parse while the file is unchanged (a tick
        over thousands of issues then reads only what people edited)."""
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        cached = _PARSED.get(path)
        if cached is not None and cached[0] == key:
            result = cached[1]
        else:
            try:
                data, body = self._read(path)
                result = self._issue(path, data, body)
            except TrackerError as exc:
                result = exc
            _PARSED[path] = (key, result)
        if isinstance(result, TrackerError):
            raise result
        return result

    def _all(self) -> dict[str, Issue]:
        """Every readable issue. A broken file is reported in ``problems`` and left out, so
        one typo in one issue does not stop the work on all the others."""
        issues: dict[str, Issue] = {}
        self.problems = []
        for path in self._paths():
            try:
                issues[path.stem] = self._load(path)
            except FileNotFoundError:
                continue
            except TrackerError as exc:
                self.problems.append(str(exc))
        return issues

    def _with_blockers(self, issue: Issue, every: dict[str, Issue]) -> Issue:
        if not issue.blocked_by:
            return issue
        states = {ref: every[ref].state for ref in issue.blocked_by if ref in every}
        return issue.model_copy(update={"blocker_states": states})

    def candidates(self, states: Sequence[str]) -> list[Issue]:
        wanted = {s.casefold() for s in states}
        every = self._all()
        return [
            self._with_blockers(issue, every)
            for issue in every.values()
            if issue.state.casefold() in wanted
        ]

    def fetch(self, identifiers: Sequence[str]) -> dict[str, Issue]:
        every = self._all()
        return {i: self._with_blockers(every[i], every) for i in identifiers if i in every}

    def get(self, identifier: str) -> Issue:
        path = self._path(identifier)
        if not path.is_file():
            raise UnknownIssueError(f"issue {identifier!r} not found in {self.folder}")
        issue = self._load(path)
        if issue.blocked_by:
            return self._with_blockers(issue, self._all())
        return issue

    def all_issues(self) -> list[Issue]:
        every = self._all()
        return [self._with_blockers(issue, every) for issue in every.values()]

    def comments(self, identifier: str) -> list[Comment]:
        path = self._path(identifier)
        if not path.is_file():
            raise UnknownIssueError(f"issue {identifier!r} not found in {self.folder}")
        data, _ = self._read(path)
        raw = data.get("comments") or []
        if not isinstance(raw, list):
            raise TrackerError(f"{path}: comments: expected a list")
        result = []
        for index, item in enumerate(raw):
            if not isinstance(item, dict) or not isinstance(item.get("body"), str):
                raise TrackerError(f"{path}: comments[{index}]: expected a mapping with a body")
            result.append(
                Comment(
                    id=str(item.get("id", index + 1)),
                    body=str(item["body"]).removesuffix("\n"),
                    author=str(item.get("author", "")),
                    created_at=_as_datetime(path, item.get("at")),
                )
            )
        return result

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def _editing(self, identifier: str) -> Iterator[CommentedMap]:
        path = self._path(identifier)
        with self._lock:
            if not path.is_file():
                raise UnknownIssueError(f"issue {identifier!r} not found in {self.folder}")
            data, body = self._read(path)
            text = path.read_text(encoding="utf-8")
            yield data
            out = io.StringIO()
            _yaml().dump(data, out)
            new_text = f"---\n{out.getvalue()}---\n{body}"
            if new_text != text:
                write_atomic(path, new_text)

    def transition(self, identifier: str, state: str) -> bool:
        with self._editing(identifier) as data:
            if str(data.get("state", "")).casefold() == state.casefold():
                return False
            data["state"] = state
            return True

    def add_label(self, identifier: str, label: str) -> bool:
        with self._editing(identifier) as data:
            labels = data.get("labels")
            if not isinstance(labels, list):
                labels = CommentedSeq()
                data["labels"] = labels
            if any(str(x).casefold() == label.casefold() for x in labels):
                return False
            labels.append(label)
            return True

    def remove_label(self, identifier: str, label: str) -> bool:
        with self._editing(identifier) as data:
            labels = data.get("labels")
            if not isinstance(labels, list):
                return False
            keep = [x for x in labels if str(x).casefold() != label.casefold()]
            if len(keep) == len(labels):
                return False
            labels[:] = keep
            return True

    def comment(self, identifier: str, body: str, author: str = "maestro") -> Comment:
        now = utc_now().isoformat(timespec="seconds")
        with self._editing(identifier) as data:
            comments = data.get("comments")
            if not isinstance(comments, list):
                comments = CommentedSeq()
                data["comments"] = comments
            number = len(comments) + 1
            entry = CommentedMap()
            entry["id"] = number
            entry["author"] = author
            entry["at"] = now
            entry["body"] = LiteralScalarString(body.rstrip("\n") + "\n")
            comments.append(entry)
        return Comment(id=str(number), body=body, author=author, created_at=_parse_iso(now))

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
                raise InputError(f"issue {identifier!r} already exists at {path}")
            data = CommentedMap()
            data["title"] = title.strip()
            data["state"] = state
            data["labels"] = CommentedSeq(labels)
            data["blocked_by"] = CommentedSeq(blocked_by)
            if priority is not None:
                data["priority"] = priority
            data["created_at"] = utc_now().isoformat(timespec="seconds")
            out = io.StringIO()
            _yaml().dump(data, out)
            write_atomic(path, f"---\n{out.getvalue()}---\n{description.strip()}\n")
        return self.get(identifier)

    def close(self) -> None:
        return None


def _string_list(path: Path, data: CommentedMap, key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(x, str | int) for x in value):
        raise TrackerError(f"{path}: {key}: expected a list of strings (got {short_repr(value)})")
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
        raise TrackerError(
            f"{path}: created_at: expected an ISO 8601 time (got {short_repr(value)})") from None
