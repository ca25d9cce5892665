"""Atomic file writes: a reader, or a process killed mid-write, never sees half a file."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write to a temporary sibling, fsync it, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_json(path: Path, value: Any) -> None:
    write_atomic(path, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    """Return the parsed file, or ``None`` when it does not exist."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return json.loads(text)


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
