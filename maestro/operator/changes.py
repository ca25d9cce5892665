"""A change counter over the lane folders, shared by every live page of one server.

Live pages must hear about a lane event within a second without each client re-reading
every lane file. One :class:`LaneWatcher` per server stats the folders (one ``scandir``
per lane: names, sizes and modification times, no file contents) at most once per
``interval_s``, however many clients ask, and bumps ``version`` when anything moved. A
client remembers the version it last saw and asks which lanes changed since.

Finished lanes pile up over months and never change again in the normal course, yet a
look scanned each of them (about 140 ms of CPU over 1 000 finished lanes here, twice a
second while a page was open). A lane found finished (``cleanup.json`` among its entries)
is therefore looked at again by two ``stat`` calls, of its folder and of its
``journal.jsonl``, while both are settled (:func:`~maestro.fsutil.settled`) and the same:
maestro writes lane files by rename and creates, archives and removes them by name
(each changes the folder's own times), and the journal is the one file it appends to
in place after a lane has finished (an operator's command on it). Any change of either is
a new scan, as is a lane reset or archived (its folder renamed).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from maestro.config.service import ServiceConfig
from maestro.fsutil import StatIdentity, settled, stat_or_none

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


#: The file of a finished lane maestro may still append to (an operator's command on it).
JOURNAL = "journal.jsonl"
#: The marker of a finished lane.
FINISHED = "cleanup.json"


@dataclass(frozen=True)
class SeenLane:
    """What the last look found in one lane folder: its print, whether the lane had
    finished, and the ``stat`` of the folder and its journal taken before the scan."""

    print: tuple[int, int, int, int]
    finished: bool
    stats: tuple[StatIdentity | None, StatIdentity | None]
    settled: bool


def still_holds(seen: SeenLane | None,
                stats: tuple[StatIdentity | None, StatIdentity | None]) -> bool:
    """Pure: whether a lane's print from the last look holds without a scan: the lane had
    finished, its folder and journal stats were settled then, and they are the same now
    (an absent folder never holds)."""
    return (seen is not None and seen.finished and seen.settled
            and stats[0] is not None and seen.stats == stats)


def _lane(path: str, seen: SeenLane | None) -> SeenLane:
    taken = time.time_ns()
    stats = (stat_or_none(path), stat_or_none(os.path.join(path, JOURNAL)))
    if seen is not None and still_holds(seen, stats):
        return seen
    folder_print = _folder(Path(path))
    finished = os.path.exists(os.path.join(path, FINISHED))
    return SeenLane(folder_print, finished, stats, settled(stats, taken))


def fingerprint(config: ServiceConfig,
                seen: dict[str, SeenLane] | None = None) -> Fingerprint:
    """One entry per lane folder, plus :data:`STATE_KEY` for the state root itself.
    ``seen`` (the last look's lanes, updated in place) lets a finished lane that did not
    move be taken from it by two ``stat`` calls (see the module)."""
    found: Fingerprint = {STATE_KEY: _folder(config.state_root)}
    memory = seen if seen is not None else {}
    names: set[str] = set()
    try:
        with os.scandir(config.lanes_root) as lanes:
            for lane in lanes:
                if lane.is_dir(follow_symlinks=False) and not lane.name.startswith("."):
                    names.add(lane.name)
                    memory[lane.name] = _lane(lane.path, memory.get(lane.name))
                    found[lane.name] = memory[lane.name].print
    except OSError:
        pass
    for gone in memory.keys() - names:
        del memory[gone]
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
        self._seen: dict[str, SeenLane] = {}

    def poll(self) -> int:
        with self._lock:
            now = time.monotonic()
            if now - self._polled < self.interval_s:
                return self.version
            self._polled = now
            self.looks += 1
            current = fingerprint(self.config, self._seen)
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
