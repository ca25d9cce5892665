"""The server's snapshot, kept between requests and re-read only where the disk changed.

``GET /api/v1/state`` used to read every file of every lane and encode the document anew
on each request (36 requests/s with 50 lanes, and the daemon's tick slowed down five times
while it was polled: the server shares the daemon's interpreter). One
:class:`StatusCache` per server keeps, between requests:

- each lane's :class:`~maestro.lanes.record.lane_read.LaneRead`, with the ``stat`` of its
  folder (and of its ``tools.jsonl`` unless the lane has finished) taken *before* the read;
- the state root's facts (retry queue, last tick, pause) with the ``stat`` of the state
  root, and the budget inputs with the ``stat`` of WORKFLOW.md, its last good copy and the
  archive folder;
- the lanes folder's listing, with the ``stat`` of the folder taken before the scan, and
  the workspace root's folder names (kept work) with its ``stat``;
- the last document, and its JSON bytes (compact, split around ``generated_at``).

A request costs one ``stat`` of the lanes folder and one or two per lane when nothing
moved. Why that is enough to see every change maestro makes (no stale snapshot):

- a lane folder created, removed or renamed changes the lanes folder's modification and
  change times, so its listing holds while they do; a folder holding a symbolic link is
  scanned again on every request (the link's target may go without the folder changing).

- maestro writes lane and state files by atomic rename (:func:`maestro.fsutil.write_atomic`)
  and creates, archives and removes them by name: each changes the folder's own
  modification and change times. The only files maestro appends to that status reads are
  ``tools.jsonl`` (``stat``-ed for every unfinished lane) and the files of a lane whose
  process is alive, which is re-read on every request while it is held.
- a lane that becomes held is seen, because taking the lease writes ``holder.json``; a held
  lane whose process dies (no file changes) is seen, because a held lane is re-read (its
  lock probed) on every request.
- a file rewritten in place (same inode, the folder untouched: ``cat > outcome.json`` by a
  person) is not among maestro's writes and is not seen until the lane folder changes;
  edit lane files through maestro's commands (``maestro retry``, ``cancel``), which write
  by rename.
- timestamps are coarse (a clock tick; seconds on some filesystems): a folder modified
  less than :data:`RACY_S` before it was ``stat``-ed is read again on the next request too,
  so a second write in the same tick as the first is never missed.

A re-read that finds what the cache holds keeps the cached object, so the document (and
its bytes) are rebuilt only when something it says changed, or when its clock-dependent
fields move: ``generated_at`` each second (patched into the cached bytes when nothing else
depends on the clock), ``idle_seconds`` and agent time while a lane runs or a session is
open. Nothing is trusted that the plain reading would not trust: the cache only decides
*when* to read, never *what* a file says.

:meth:`StatusCache.quick_state_body` is the same look for a caller on the server's event
loop: it answers when the look costs ``stat`` calls alone and declines (``None``) when a
file must be read, a document built, or another look holds the lock.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maestro.config.service import ServiceConfig
from maestro.fsutil import RACY_S, StatIdentity, settled, stat_or_none
from maestro.lanes.context import LAST_GOOD
from maestro.lanes.record.archive import ARCHIVE
from maestro.lanes.record.lane_read import LaneRead, read_lane
from maestro.lanes.record.listing import LaneListing, folder_scan, list_lanes, listing_of
from maestro.lanes.record.state import LaneState
from maestro.operator.budget_status import BudgetInputs, budget_inputs
from maestro.operator.kept_work import folder_names
from maestro.operator.presenter import state_payload
from maestro.operator.status import (
    LANE_ERRORS,
    StateFacts,
    assemble,
    read_state_facts,
    unreadable,
)

__all__ = ["RACY_S", "Snapshot", "StatusCache", "encode_json"]

Stat = StatIdentity | None


def encode_json(value: Any) -> bytes:
    """The API's JSON encoding (indented, sorted keys), as bytes with a final newline."""
    return (json.dumps(value, indent=2, sort_keys=True, default=str) + "\n").encode()


_COMPACT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def compact_around(value: dict[str, Any], key: str) -> tuple[bytes, bytes]:
    """``value`` as compact JSON (sorted keys, final newline), split where the top-level
    ``key``'s value goes: ``head + json(value[key]) + tail`` is the whole document.

    Each top-level member is encoded on its own, so the split point is known, not searched
    for (a lane's text may hold any string). Compact because the state document is large
    (156 KB against 230 KB indented for 50 lanes) and polled: every byte is copied by the
    server and parsed by the client on each request."""
    members = [f"{_COMPACT.encode(name)}:" + ("" if name == key else _COMPACT.encode(item))
               for name, item in sorted(value.items())]
    split = sorted(value).index(key)
    head = "{" + ",".join(members[:split + 1])
    tail = "".join("," + member for member in members[split + 1:]) + "}\n"
    return head.encode(), tail.encode()


class _NeedsReading(Exception):
    """A quick look found something to read (:meth:`StatusCache.quick_state_body`)."""


@dataclass(frozen=True)
class Snapshot:
    """One moment's snapshot: ``doc`` (docs/spec/status.md), the lane reads it was built
    from (by issue) and its ``now`` (whole seconds, UTC)."""

    doc: dict[str, Any]
    reads: dict[str, LaneRead]
    now: datetime


@dataclass
class _Lane:
    stats: tuple[Stat, ...]
    read: LaneRead
    leased: bool
    settled: bool


@dataclass
class _Document:
    key: tuple[Any, ...]
    snap: Snapshot
    #: Whether anything in it but ``generated_at`` depends on the clock: a lane is held
    #: (``idle_seconds``) or an agent session has no end (``seconds_running``).
    clocked: bool
    #: The state body around its ``generated_at`` value: ``(head, tail)``.
    body: tuple[bytes, bytes] | None = None


@dataclass(frozen=True)
class _Listing:
    """The lanes folder's listing with the folder's ``stat`` taken before the scan."""

    stat: Stat
    names: list[str]
    listing: LaneListing
    settled: bool


def _clocked(lanes: list[_Lane]) -> bool:
    return any(lane.leased or any(not s.get("ended_at") for s in lane.read.sessions)
               for lane in lanes)


class StatusCache:
    """The snapshot of one server's lane folders; thread-safe (one refresh at a time).

    ``snapshot(limit)`` -> :class:`Snapshot`; ``state_body(limit)`` -> the bytes of
    ``GET /api/v1/state``. ``reads`` counts lane folders read, for tests and benchmarks."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.reads = 0
        self._lock = threading.Lock()
        self._lanes: dict[str, _Lane] = {}
        self._facts: tuple[tuple[Stat, ...], bool, StateFacts] | None = None
        self._budgets: tuple[tuple[Stat, ...], bool, BudgetInputs] | None = None
        self._workspace: tuple[Stat, bool, tuple[str, ...]] | None = None
        self._doc: _Document | None = None
        self._listing: _Listing | None = None
        self._looked_ns = -1  # monotonic time the last look at the disk began
        self._quick = False  # set by quick_state_body: a look that must not read files

    def _reading(self) -> None:
        """Called before any file is read or any document built: a quick look stops here."""
        if self._quick:
            raise _NeedsReading

    # -- inputs ----------------------------------------------------------------------------

    def _lane(self, root: Path, prefix: str, identifier: str, taken: int,
              warnings: list[str]) -> _Lane | None:
        """One lane, re-read unless its stats say nothing moved (``taken``: the wall
        clock in ns before any of this look's ``stat`` calls)."""
        folder = prefix + identifier  # plain strings: this runs per lane and request
        known = self._lanes.get(identifier)
        top = stat_or_none(folder)
        if (known is not None and known.settled and not known.leased
                and known.stats[0] == top and known.read.phase == "finished"):
            return known  # a finished lane: its folder alone says whether it moved
        stats = (top, stat_or_none(folder + os.sep + "tools.jsonl"))
        if (known is not None and known.settled and not known.leased
                and known.stats == stats):
            return known
        self._reading()
        self.reads += 1
        try:
            state = LaneState(root, identifier)
            read = read_lane(state)
            leased = state.is_leased_elsewhere()
        except LANE_ERRORS as exc:
            self._lanes.pop(identifier, None)
            warnings.append(unreadable(root, identifier, exc))
            return None
        if known is not None and known.read == read:
            read = known.read  # same facts: the document built from them still holds
        lane = _Lane(stats, read, leased, settled(stats, taken))
        self._lanes[identifier] = lane
        return lane

    def _state_facts(self) -> StateFacts:
        taken = time.time_ns()
        stats = (stat_or_none(self.config.state_root),)
        if self._facts is not None and self._facts[1] and self._facts[0] == stats:
            return self._facts[2]
        self._reading()
        facts = read_state_facts(self.config)
        if self._facts is not None and self._facts[2] == facts:
            facts = self._facts[2]
        self._facts = (stats, settled(stats, taken), facts)
        return facts

    def _budget_inputs(self) -> BudgetInputs:
        taken = time.time_ns()
        root = self.config.state_root
        stats = (stat_or_none(self.config.workflow_path), stat_or_none(root / LAST_GOOD),
                 stat_or_none(root / ARCHIVE))
        if self._budgets is not None and self._budgets[1] and self._budgets[0] == stats:
            return self._budgets[2]
        self._reading()
        inputs = budget_inputs(self.config)
        if self._budgets is not None and self._budgets[2] == inputs:
            inputs = self._budgets[2]
        self._budgets = (stats, settled(stats, taken), inputs)
        return inputs

    def _workspace_names(self) -> tuple[str, ...]:
        """The workspace root's folder names (kept work, :mod:`.kept_work`), listed again
        when its own ``stat`` moved: a folder created, moved or removed in it changes it."""
        taken = time.time_ns()
        root = self.config.workspace_root
        top = stat_or_none(root)
        known = self._workspace
        if known is not None and known[1] and known[0] == top:
            return known[2]
        names = folder_names(root)
        if known is not None and known[2] == names:
            names = known[2]
        self._workspace = (top, settled((top,), taken), names)
        return names

    def _list(self, root: Path, taken: int) -> LaneListing:
        """:func:`list_lanes`, reused while the folder's own ``stat`` is settled and the
        same: a folder created, removed or renamed in it changes its modification time.
        A symbolic link among the entries may change what it points to without that, so
        a folder holding one is listed again each time."""
        top = stat_or_none(root)
        known = self._listing
        if known is not None and known.settled and known.stat == top:
            return known.listing
        try:
            names, links = folder_scan(root)
        except OSError:
            self._listing = None
            return list_lanes(root)
        listing = (known.listing if known is not None and known.names == names
                   else listing_of(root, names))
        self._listing = _Listing(top, names, listing,
                                 not links and settled((top,), taken))
        return listing

    # -- the document ----------------------------------------------------------------------

    def _current(self, limit: int) -> _Document:
        taken = time.time_ns()
        now = datetime.fromtimestamp(taken // 1_000_000_000, UTC)
        root = self.config.lanes_root
        prefix = str(root) + os.sep
        listing = self._list(root, taken)
        warnings = listing.warnings()
        lanes: list[_Lane] = []
        for identifier in listing.identifiers:
            lane = self._lane(root, prefix, identifier, taken, warnings)
            if lane is not None:
                lanes.append(lane)
        for gone in self._lanes.keys() - set(listing.identifiers):
            del self._lanes[gone]
        facts = self._state_facts()
        budgets = self._budget_inputs()
        workspace = self._workspace_names()
        key = (limit, now.date(), tuple(warnings), facts, budgets, workspace,
               tuple([(lane.read, lane.leased) for lane in lanes]))
        document = self._doc
        if (document is None or document.key != key
                or (document.clocked and document.snap.now != now)):
            self._reading()
            pairs = [(lane.read, lane.leased) for lane in lanes]
            doc = assemble(self.config, pairs, facts, now, limit, list(warnings), budgets,
                           workspace)
            document = _Document(key, Snapshot(doc, {r.identifier: r for r, _ in pairs}, now),
                                 _clocked(lanes))
            self._doc = document
        elif document.snap.now != now:
            # Nothing but the clock moved, and nothing in the document depends on it.
            snap = document.snap
            doc = {**snap.doc, "generated_at": now.isoformat(timespec="seconds")}
            document.snap = Snapshot(doc, snap.reads, now)
        return document

    def _fresh(self, limit: int, asked_ns: int) -> _Document:
        """The document of a look at the disk that began after ``asked_ns``: the caller's
        own, or that of a caller that went first while this one waited for the lock (every
        change made before this caller asked is in both). Concurrent requests thus share
        one look instead of queueing one each."""
        document = self._doc
        if document is not None and self._looked_ns >= asked_ns and document.key[0] == limit:
            return document
        started = time.monotonic_ns()
        document = self._current(limit)
        self._looked_ns = started  # only a look that completed can stand in for another
        return document

    def snapshot(self, limit: int = 20) -> Snapshot:
        """The snapshot as of now; every lane change before the call is in it."""
        asked = time.monotonic_ns()
        with self._lock:
            return self._fresh(limit, asked).snap

    def state_body(self, limit: int = 20) -> bytes:
        """``GET /api/v1/state`` (:func:`~maestro.operator.presenter.state_payload`) as
        compact JSON bytes, encoded once per document."""
        asked = time.monotonic_ns()
        with self._lock:
            return self._body(limit, asked)

    def quick_state_body(self, limit: int, asked_ns: int) -> bytes | None:
        """:meth:`state_body` when it costs ``stat`` calls alone, else ``None``: another
        caller holds the lock, or something changed and must be read (call
        :meth:`state_body` then, from a worker thread). For a caller on an event loop,
        which must not wait for the disk, and to whom a worker thread costs more than an
        unchanged answer (``bench/bench_state_api.py``). Never stale: it is the same look.

        ``asked_ns``: :func:`time.monotonic_ns` when the request was taken up; a look that
        began after it may answer it (:meth:`_fresh`)."""
        asked = asked_ns
        if not self._lock.acquire(blocking=False):
            return None
        try:
            self._quick = True
            return self._body(limit, asked)
        except _NeedsReading:
            return None
        finally:
            self._quick = False
            self._lock.release()

    def _body(self, limit: int, asked_ns: int) -> bytes:
        document = self._fresh(limit, asked_ns)
        snap = document.snap
        if document.body is None:
            self._reading()
            document.body = compact_around(
                state_payload(self.config, snap.doc, snap.reads, snap.now), "generated_at")
        head, tail = document.body
        return head + json.dumps(snap.doc["generated_at"]).encode() + tail
