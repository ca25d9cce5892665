"""Atomic file writes: a reader, or a process killed mid-write, never sees half a file."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple


class StatIdentity(NamedTuple):
    """A file's identity for caches keyed by stat. ctime cannot be set from user space, so
    any write, rename over or ``touch`` changes it; device and inode tell a replaced file
    from the one read. A tuple, so it compares equal to (and is written to JSON as) the
    plain ``(dev, ino, size, mtime_ns, ctime_ns)`` of earlier caches."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int


def stat_identity(info: os.stat_result) -> StatIdentity:
    """The :class:`StatIdentity` of a ``stat``/``lstat`` result."""
    return StatIdentity(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns,
                        info.st_ctime_ns)


#: Seconds within which a modification time is not trusted to be final: covers coarse
#: clocks and 1-2 s filesystem timestamps.
RACY_S = 2.0
_RACY_NS = int(RACY_S * 1e9)


def stat_or_none(path: Path | str) -> StatIdentity | None:
    """The :class:`StatIdentity` of ``path`` (followed), or ``None`` when absent or
    unreadable."""
    try:
        return stat_identity(os.stat(path))
    except OSError:
        return None


def settled(stats: Iterable[StatIdentity | None], taken_ns: int) -> bool:
    """Whether any later write must change each of ``stats`` (taken at wall-clock
    ``taken_ns`` or after): a write sets both the modification and the change time to the
    clock's now, so one of them older than :data:`RACY_S` before ``taken_ns`` is bound to
    move. A cache keyed by stat may trust only settled ones; an absent file (``None``) is."""
    return all(s is None or min(s.mtime_ns, s.ctime_ns) < taken_ns - _RACY_NS for s in stats)


def write_atomic(path: Path, data: str | bytes, durable: bool = True) -> None:
    """Write to a temporary sibling, fsync it, then rename over ``path``. ``durable=False``
    keeps the rename (readers see the old or the new bytes, never a part) but skips both
    fsyncs: for a file whose loss in a crash costs nothing (a wake-up request)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_via_temp(path, data.encode() if isinstance(data, str) else data, durable)


def replace_via_temp(path: Path, raw: bytes, durable: bool = True,
                     still_wanted: Callable[[], bool] | None = None) -> bool:
    """:func:`write_atomic`'s steps in an existing folder; ``still_wanted``, asked after
    the temporary file is written and right before the rename, can call the write off
    (the temporary file is removed, ``path`` untouched, False returned)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if still_wanted is not None and not still_wanted():
            os.unlink(tmp)
            return False
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        sync_folder(path.parent)
    return True


def sync_folder(folder: Path) -> None:
    """Make a rename into ``folder`` durable (fsync of the folder itself); a file system
    that cannot sync a folder is left as it is."""
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_json(path: Path, value: Any) -> None:
    write_atomic(path, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


#: Paths already reported as unreadable by this process (each is reported once).
_REPORTED: set[Path] = set()


def warn_once(path: Path, why: str, action: str = "treated as absent") -> None:
    """One warning line on stderr per unreadable path and process; ``action`` says what is
    done instead (a file that is not simply absent-when-damaged names its own)."""
    if path not in _REPORTED:
        _REPORTED.add(path)
        tail = "" if why.endswith("skipped") or not action else f"; {action}"
        print(f"maestro: warning: {path}: {why}{tail}", file=sys.stderr)


def parse_json(text: str | bytes) -> Any:
    """``json.loads``, for text others wrote (comments, an agent's lines, files the agent can
    reach): a document nested deeper than Python's recursion limit (a ``[[[…]]]`` of 30 000
    levels fits in a 60 KB comment) raises :class:`json.JSONDecodeError` like any other
    malformed text instead of ``RecursionError``, which no caller expects and which stopped
    ``maestro status`` and every claim of the lane."""
    try:
        return json.loads(text)
    except RecursionError:
        doc = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise json.JSONDecodeError("nested too deep", doc[:200], 0) from None


def json_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable JSON document, or None (absent files are fine)."""
    try:
        parse_json(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except json.JSONDecodeError as exc:
        return "empty" if not exc.doc.strip() else f"not JSON ({exc.msg} at line {exc.lineno})"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return None


def read_json(path: Path) -> Any:
    """Return the parsed file, or ``None`` when it does not exist or cannot be parsed.

    State files are written atomically, so an empty, truncated or binary one is damage
    from outside (a full disk, a person's editor, a copy): it is reported once, naming the
    path, and treated as absent, never as a traceback (docs/reliability.md)."""
    try:
        return parse_json(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, json.JSONDecodeError, IsADirectoryError, PermissionError):
        warn_once(path, json_problem(path) or "unreadable")
        return None


#: The most of one append-only record a reader takes (its newest part): journals rotate at
#: :data:`JOURNAL_MAX_BYTES`, so only a file grown from outside is ever cut.
RECORD_READ_MAX_BYTES = 16_000_000


def read_regular(path: Path, offset: int = 0, limit: int = RECORD_READ_MAX_BYTES) -> bytes:
    """At most ``limit`` bytes of ``path`` from ``offset`` (the newest ``limit`` when more
    are there), and only from a regular file: a lane file replaced by a FIFO, a device or a
    link to one (``/dev/zero``) would hang or exhaust a reader, so it reads as empty.
    Raises :class:`OSError` (``FileNotFoundError`` for an absent file)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return b""
        handle.seek(max(offset, info.st_size - limit))
        return handle.read(limit)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON-object lines of an append-only record; a torn last line, a line of garbage
    or bytes that are not UTF-8 are skipped (a journal is evidence, never a reason to stop).
    An absent or unreadable file, or one that is not a regular file, has no lines; of an
    oversized one the newest :data:`RECORD_READ_MAX_BYTES` are read."""
    try:
        text = read_regular(path).decode("utf-8", "replace")
    except OSError:
        return []
    return json_objects(text.splitlines())


def json_objects(texts: Iterable[str]) -> list[dict[str, Any]]:
    """Each text that parses as a JSON object, in order; anything else (garbage, a torn
    line, an array) is skipped: records written by maestro or an agent are evidence,
    never a reason to stop."""
    found = []
    for text in texts:
        try:
            value = parse_json(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


JOURNAL_MAX_BYTES = 4_000_000


class BoundedJournal:
    """An open JSON-lines file for hot paths (one line per protocol event) that rotates to
    ``<name>.1`` when full, so a chatty agent cannot fill the disk."""

    def __init__(self, path: Path, max_bytes: int = JOURNAL_MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("a")
        self._size = path.stat().st_size

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        if self._size + len(line) > self.max_bytes:
            self._handle.close()
            os.replace(self.path, self.path.with_name(self.path.name + ".1"))
            self._handle = self.path.open("a")
            self._size = 0
        self._handle.write(line)
        self._handle.flush()  # readers follow the journal live (``maestro logs --follow``)
        self._size += len(line)

    def close(self) -> None:
        self._handle.close()


def append_jsonl(path: Path, record: dict[str, Any], max_bytes: int = JOURNAL_MAX_BYTES) -> None:
    """Append one line; the journal is bounded by rotating to ``<name>.1`` when full."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size + len(line) > max_bytes:
            os.replace(path, path.with_name(path.name + ".1"))
    with path.open("a") as handle:
        handle.write(line)
