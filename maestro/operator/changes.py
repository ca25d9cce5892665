"""A change counter over the lane folders, shared by every live page of one server.

Live pages must hear about a lane event within a second without each client re-reading
every lane file. One :class:`LaneWatcher` per server stats the folders (one ``scandir``
per lane: names, sizes and modification times, no file contents) at most once per
``interval_s``, however many clients ask, and bumps ``version`` when anything moved. A
client remembers the version it last saw and asks which lanes changed since.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from maestro.config.service import ServiceConfig

#: Seconds between two looks at the folders; also the latency of a live page.
INTERVAL_S = 0.5
#: Changes remembered per version, for clients that fall behind (older: "everything").
HISTORY = 256
STATE_KEY = "*"  # the pseudo-lane for files of the state root (last tick, retry queue)

Fingerprint = dict[str, tuple[int, int, int, int]]


def _folder(path: Path) -> tuple[int, int, int, int]:
    """(entries, total size, newest mtime in ns, sum of inode numbers) of a folder's top
    level; zeros if gone. Lane files are replaced by rename (a new inode), so a rewrite
    within the clock's granularity and of the same size still changes the sum."""
    count = size = newest = inodes = 0
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                count += 1
                size += info.st_size if entry.is_file(follow_symlinks=False) else 0
                newest = max(newest, info.st_mtime_ns)
                inodes += entry.inode()
    except OSError:
        pass
    return count, size, newest, inodes


def fingerprint(config: ServiceConfig) -> Fingerprint:
    """One entry per lane folder, plus :data:`STATE_KEY` for the state root itself."""
    found: Fingerprint = {STATE_KEY: _folder(config.state_root)}
    try:
        with os.scandir(config.lanes_root) as lanes:
            for lane in lanes:
                if lane.is_dir(follow_symlinks=False) and not lane.name.startswith("."):
                    found[lane.name] = _folder(Path(lane.path))
    except OSError:
        pass
    return found


def changed_keys(before: Fingerprint, after: Fingerprint) -> set[str]:
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


class LaneWatcher:
    """``poll()`` -> the current version; ``changed_since(v)`` -> lanes changed after v."""

    def __init__(self, config: ServiceConfig, interval_s: float = INTERVAL_S) -> None:
        self.config = config
        self.interval_s = interval_s
        self.version = 0
        self.looks = 0  # how many times the folders were read: the cost, for tests
        self._lock = threading.Lock()
        self._polled = float("-inf")
        self._print: Fingerprint | None = None
        self._history: dict[int, set[str]] = {}

    def poll(self) -> int:
        with self._lock:
            now = time.monotonic()
            if now - self._polled < self.interval_s:
                return self.version
            self._polled = now
            self.looks += 1
            current = fingerprint(self.config)
            if self._print is not None and current != self._print:
                self.version += 1
                self._history[self.version] = changed_keys(self._print, current)
                self._history.pop(self.version - HISTORY, None)
            self._print = current
            return self.version

    def changed_since(self, version: int) -> set[str] | None:
        """The keys changed in versions after ``version``; ``None`` when too old to know."""
        with self._lock:
            if version < self.version - HISTORY + 1:
                return None
            found: set[str] = set()
            for newer in range(version + 1, self.version + 1):
                found |= self._history.get(newer, set())
            return found
