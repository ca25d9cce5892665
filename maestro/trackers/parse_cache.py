"""Parses of issue files, remembered while the file is unchanged: in process and on disk.

A tick over thousands of issue files must not parse them all again, and neither must the
first tick of a fresh process. An entry is keyed by the file's stat (size, mtime_ns,
ctime_ns, inode, device): any write through a rename changes the inode, any write in place
changes ctime, and ``os.utime`` cannot set ctime back.

Timestamps are coarse (a few ms on ext4, a second or two on some network and FAT file
systems), so a file changed twice within one tick could keep its stat. As git does for its
index ("racily clean" entries), an entry whose file changed less than ``RACY_NS`` before it
was read keeps the bytes it was parsed from and is confirmed by content until it settles;
only settled entries are written to disk.

The cache on disk (one JSON file per issue folder, under the service's state root, never in
the repository the agent writes; one flat row per file, see
:mod:`maestro.trackers.issue_rows`) is an optimisation only: a missing, unreadable, corrupt or
foreign file is ignored and rebuilt, a failed write is ignored, and every entry is checked
against the file's stat before use. Writes are atomic renames, so concurrent processes only
ever replace one whole cache with another whole cache. It is JSON, not pickle or marshal:
the state root may sit inside the repository's folder (``.maestro/``), where an agent
without a sandbox could write, and ``json.loads`` yields only strings, numbers and lists
whoever wrote the file, while unpickling runs code and marshal is documented as unsafe on
crafted data.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from maestro.errors import TrackerError
from maestro.fsutil import StatIdentity, stat_identity
from maestro.model import Issue
from maestro.trackers.issue_rows import from_row, to_row

#: Files changed less than this many ns before being read are confirmed by content.
RACY_NS = 2_000_000_000
#: Bumped whenever the entry shape changes (old caches are then ignored).
FORMAT = 2
#: The modules that turn a file's bytes into an ``Issue``: a cache written by other code
#: (an upgrade, a branch switch) is ignored, since its parses may differ.
PARSER_MODULES = ("maestro.trackers.files", "maestro.trackers.frontmatter",
                  "maestro.trackers.normalise", "maestro.trackers.parse_cache",
                  "maestro.trackers.issue_rows",
                  "maestro.model", "maestro.ids", "maestro.config.validation")

StatKey = StatIdentity
Parse = Callable[[Path, bytes], Issue]


def stat_key(st: os.stat_result) -> StatKey:
    return stat_identity(st)


def settled(st: os.stat_result, read_at_ns: int) -> bool:
    """True when any later change must show in the stat: the file's last change is older
    than the moment it was read by more than a timestamp tick."""
    return max(st.st_mtime_ns, st.st_ctime_ns) < read_at_ns - RACY_NS


@dataclass(slots=True)
class Entry:
    key: StatKey
    result: Issue | TrackerError
    #: the bytes ``result`` was parsed from, kept only while the entry is not settled
    raw: bytes | None = None


def read_bytes(path: Path) -> bytes:
    """The file's bytes; ``FileNotFoundError`` passes, other OS errors become a
    ``TrackerError`` that names the file."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise TrackerError(f"{path}: cannot read: {exc.strerror or exc}") from None


class ParseCache:
    """The parses of one issue folder, by file name; see the module docstring for when
    they are reused. Paths are built only to parse (a tick over thousands of unchanged
    files pays one ``stat`` each and no ``pathlib``)."""

    def __init__(self, folder: Path, disk: Path | None) -> None:
        self.folder = folder
        self.disk = disk
        self.entries: dict[str, Entry] = {}
        self._prefix = os.path.join(folder, "")
        self._disk_read = False
        self._dirty = False
        #: the daemon's operator threads read issues while its tick scans the folder
        self._lock = threading.RLock()
        #: how many files this process parsed (tests and benchmarks count them)
        self.parses = 0

    def load(self, name: str, parse: Parse) -> Issue:
        """The issue in the file ``name``, parsed again only when the file changed. Raises
        ``FileNotFoundError`` for a missing file and the parse's ``TrackerError``."""
        with self._lock:
            entry = self._fresh(name, parse, time.time_ns())
        if isinstance(entry.result, TrackerError):
            raise entry.result
        return entry.result

    def _fresh(self, name: str, parse: Parse, read_at: int,
               st: os.stat_result | None = None) -> Entry:
        """The entry for ``name``; ``read_at`` (ns) was taken before the file's stat
        ``st`` (taken here when not given)."""
        if st is None:
            st = os.stat(self._prefix + name)
        key = stat_key(st)
        entry = self.entries.get(name)
        if entry is not None and entry.key == key and entry.raw is None:
            return entry
        try:
            raw = read_bytes(self.folder / name)
        except TrackerError as exc:
            return self._store(name, Entry(key, exc), settled(st, read_at))
        if entry is not None and entry.key == key and entry.raw == raw:
            if settled(st, read_at):
                entry.raw = None
                self._dirty = True
            return entry
        return self.remember(name, raw, parse, st, read_at)

    def remember(self, name: str, raw: bytes, parse: Parse, st: os.stat_result,
                 read_at: int) -> Entry:
        """Parse ``raw``, which was read from the file ``name`` after ``st`` was taken at
        ``read_at``, and keep the result (also used after maestro's own writes)."""
        with self._lock:
            self.parses += 1
            try:
                result: Issue | TrackerError = parse(self.folder / name, raw)
            except TrackerError as exc:
                result = exc
            return self._store(name, Entry(stat_key(st), result, raw), settled(st, read_at))

    def _store(self, name: str, entry: Entry, is_settled: bool) -> Entry:
        if is_settled:
            entry.raw = None
        elif entry.raw is None:
            # unsettled and nothing to confirm it by: use once, keep nothing
            self.entries.pop(name, None)
            return entry
        self.entries[name] = entry
        self._dirty = True
        return entry

    def forget(self, name: str) -> None:
        if self.entries.pop(name, None) is not None:
            self._dirty = True

    # -- a whole folder ----------------------------------------------------------------------

    def scan(self, names: Iterable[str], parse: Parse) -> dict[str, Issue | TrackerError]:
        """Every file of a folder listing; entries of files no longer listed drop out, and
        the cache on disk is brought up to date when anything changed."""
        with self._lock:
            if not self._disk_read:
                self._disk_read = True
                self._read_disk()
            read_at = time.time_ns()
            results: dict[str, Issue | TrackerError] = {}
            entries, prefix = self.entries, self._prefix
            for name in names:
                try:
                    st = os.stat(prefix + name)
                except (FileNotFoundError, NotADirectoryError):
                    continue
                # the common case inline (thousands of unchanged files): see _fresh
                entry = entries.get(name)
                if entry is None or entry.raw is not None or entry.key != stat_key(st):
                    try:
                        entry = self._fresh(name, parse, read_at, st)
                    except (FileNotFoundError, NotADirectoryError):
                        continue
                results[name] = entry.result
            for gone in self.entries.keys() - results.keys():
                self.forget(gone)
            if self._dirty:
                self._dirty = False
                self._write_disk()
            return results

    def _read_disk(self) -> None:
        if self.disk is None:
            return
        try:
            document = json.loads(self.disk.read_bytes())
            entries = _decode(document, self.disk, self.folder)
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return  # absent or damaged: rebuilt by this scan
        for name, entry in entries.items():
            self.entries.setdefault(name, entry)

    def _write_disk(self) -> None:
        if self.disk is None:
            return
        rows = [row for name, entry in sorted(self.entries.items()) if entry.raw is None
                and (row := to_row(name, entry.key, entry.result)) is not None]
        document = {"format": FORMAT, "folder": str(self.folder), "code": code_fingerprint(),
                    "rows": rows}
        with contextlib.suppress(OSError):
            self.disk.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.disk.parent, prefix=f".{self.disk.name}.",
                                       suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(json.dumps(document, separators=(",", ":")))
                os.replace(tmp, self.disk)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise


def _decode(document: Any, disk: Path, folder: Path) -> dict[str, Entry]:
    """The entries of a cache document; anything unexpected raises (the caller then
    ignores the whole file)."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{disk}: not a format {FORMAT} cache")
    if document.get("folder") != str(folder):
        raise ValueError(f"{disk}: the cache of another folder")
    if document.get("code") != code_fingerprint():
        raise ValueError(f"{disk}: written by other parsing code")
    rows = document.get("rows")
    if not isinstance(rows, list):
        raise ValueError(f"{disk}: rows: expected a list")
    entries: dict[str, Entry] = {}
    for row in rows:
        name, key, result = from_row(row)
        entries[name] = Entry(key, result)
    return entries


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of the source of :data:`PARSER_MODULES` as loaded in this process."""
    digest = hashlib.sha256()
    for name in PARSER_MODULES:
        module = sys.modules.get(name) or importlib.import_module(name)
        source = getattr(module, "__file__", None)
        digest.update(name.encode())
        with contextlib.suppress(OSError, TypeError):
            digest.update(Path(source).read_bytes())  # type: ignore[arg-type]
    return digest.hexdigest()[:16]


_CACHES: dict[Path, ParseCache] = {}


def cache_for(folder: Path, cache_dir: Path | None) -> ParseCache:
    """The process's cache for ``folder``; with ``cache_dir``, kept on disk there too."""
    disk = None
    if cache_dir is not None:
        digest = hashlib.sha256(str(folder.absolute()).encode()).hexdigest()[:16]
        disk = cache_dir / f"files-tracker-{digest}.json"
    cache = _CACHES.get(folder)
    if cache is None or (disk is not None and cache.disk not in (None, disk)):
        cache = _CACHES[folder] = ParseCache(folder, disk)
    elif disk is not None and cache.disk is None:
        cache.disk, cache._disk_read = disk, False  # a tracker that may keep it on disk
    return cache


def forget_all() -> None:
    """Drop every in-process cache: the next read behaves as in a fresh process."""
    _CACHES.clear()
