"""One lane folder as status reads it: the files' facts apart from what is live.

A lane's entry in the snapshot (docs/spec/status.md) mixes two kinds of fact: what its
files say (claim, outcome, review, tokens, checkpoint, ...) and what is true only now
(whether a process holds the lane, how long its agent has been quiet). :func:`read_lane`
gathers the first kind into a :class:`LaneRead`, which a cache may keep while the folder
does not change (:mod:`maestro.operator.snapshot_cache`); :func:`lane_entry` adds the
second kind for one moment. ``lane_entry(read_lane(state), state.is_leased_elsewhere(),
now)`` is the lane's snapshot entry.

A finished lane is read from its completion marker alone: the lane's last write
(:func:`seal_finished`, after its final outcome) keeps its read in ``cleanup.json`` under
``"status"``. The seal holds while nothing in the folder was created, replaced or removed
after it, i.e. while the folder's modification time is not later than the marker's change
time (a rename sets both from the same clock). A later write (a person's retry, a lease
taken again) voids it and the folder is read in full, as before; so does a marker copied
to another folder (the seal names its lane).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from maestro.fsutil import read_jsonl
from maestro.ids import utc_now
from maestro.lanes.budgets import tokens as token_ledger
from maestro.lanes.budgets.budget import BUDGET_FILE  # not budget_watch: that one imports asyncio
from maestro.lanes.record.comments import checkpoints
from maestro.lanes.record.state import PHASE_TARGETS, LaneState
from maestro.model import Comment

__all__ = ["LaneRead", "lane_entry", "latest_checkpoint", "read_lane", "resting_phase",
           "seal_finished", "sealed_read"]

MARKER = "cleanup.json"
#: The review entry of a lane handed off (``pr.json``) that no review look has classified.
NOT_YET_REVIEWED = "handed off; not looked at by a review yet"
#: The key of the read kept in the marker, and the version of its shape.
SEAL_KEY = "status"
SEAL_VERSION = 1


def resting_phase(state: LaneState) -> str:
    """The first phase whose target is missing: where the lane stands."""
    for phase, target in PHASE_TARGETS.items():
        if not state.exists(target):
            return phase
    return "finished"


def latest_checkpoint(state: LaneState) -> dict[str, Any] | None:
    """The newest ``maestro-checkpoint`` block the agent posted (skill ``execution-state``).

    Read from the lane's own record of ``issue_comment`` calls (``tools.jsonl`` of the current
    attempt, of repair rounds and of archived attempts), so status needs no tracker access.
    """
    found: tuple[str, dict[str, Any]] | None = None
    for record in sorted(state.dir.glob("**/*tools.jsonl")):
        for entry in read_jsonl(record):
            if not (entry.get("ok") and entry.get("tool") == "issue_comment"):
                continue
            body = str((entry.get("args") or {}).get("body", ""))
            blocks = checkpoints([Comment(id="", body=body)])
            at = str(entry.get("at") or "")
            if blocks and (found is None or at >= found[0]):
                found = (at, {**blocks[-1], "posted_at": at or None})
    return found[1] if found else None


@dataclass(frozen=True)
class LaneRead:
    """What one lane's files say, read at one moment; equal reads compare equal.

    ``entry``: the snapshot entry's fields that depend on neither the lease nor the clock;
    ``phase``: where the lane stands when no process holds it; ``activity`` and ``claim``:
    ``activity.json`` and ``lease.json`` (the live phase, the heartbeat, rate limits, the
    running row); ``sessions``: ``sessions.json``'s list (agent time); ``budget``:
    ``budget.json`` (the ceiling the lane's last session resolved)."""

    identifier: str
    entry: dict[str, Any]
    phase: str
    activity: dict[str, Any] = field(default_factory=dict)
    claim: dict[str, Any] = field(default_factory=dict)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    budget: dict[str, Any] = field(default_factory=dict)
    last_event: datetime | None = None


def _stamp(value: Any) -> datetime | None:
    """``last_event_at`` as a time; ``None`` when absent or not ISO 8601. A value that is
    not a string, or a time without zone, raises ``TypeError`` as the live reading would:
    the lane is then reported unreadable, as before the cache."""
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    _ = utc_now() - stamp
    return stamp


def read_lane(state: LaneState, *, sealed: bool = True) -> LaneRead:
    """Every file status needs from one lane folder (``OSError``/``ValueError`` and kin
    propagate: the caller turns a damaged lane into a warning); a finished lane's sealed
    read when it still holds (``sealed=False``: always the files)."""
    if sealed:
        found = sealed_read(state)
        if found is not None:
            return found
    claim = state.read("lease.json") or {}
    activity = state.read("activity.json") or {}
    outcome = state.read("outcome.json") or {}
    review = state.read("review.json") or {}
    pr = state.read("pr.json") or {}
    attention = state.read("attention.json")
    workspace = state.read("workspace.json") or {}
    result = state.read("result.json") or {}
    last_at = activity.get("last_event_at")
    last_event = _stamp(last_at)
    cleanup = state.read("cleanup.json")
    phase = "finished" if cleanup is not None else resting_phase(state)
    kept = (cleanup or {}).get("worktree_kept") or None
    if phase != "finished" and outcome.get("phase") and str(outcome.get("at") or "") >= str(
            activity.get("last_event_at") or ""):
        # A lane that stopped (waiting for review, needing a human) stands where it halted;
        # the first missing target would name the phase after it.
        phase = str(outcome["phase"])
    entry = {
        "issue": state.identifier,
        "issue_id": claim.get("issue_id", state.identifier),
        "title": claim.get("title"),
        "issue_url": claim.get("url") or None,
        "run_id": claim.get("run_id"),
        "attempt": claim.get("attempt"),
        "outcome": outcome.get("outcome"),
        "wait_reason": outcome.get("wait_reason") or (
            outcome.get("reason") if outcome.get("outcome") == "waiting" else None),
        "reason": outcome.get("reason"),
        "thread_id": activity.get("thread_id") or result.get("thread_id"),
        "branch": workspace.get("branch"),
        "workspace_path": workspace.get("path"),
        "last_activity_at": last_at,
        "last_event_type": activity.get("last_event_type"),
        "last_event_at": last_at,
        "event_count": activity.get("event_count", 0),
        # Every session of the lane (agent phase of each attempt, each repair round):
        # the total never goes down (maestro/lanes/budgets/tokens.py).
        "tokens": token_ledger.lane_total(state),
        "token_sessions": token_ledger.sessions(state),
        "refused_calls": [str(c) for c in (result.get("signals") or {}).get("refused") or []],
        "pr_url": pr.get("url"),
        "review": {"classification": review.get("classification"),
                   "reason": review.get("reason"),
                   "signals": review.get("signals")} if review else (
            # Handed off, stopped before its first review look (breaker 20, F5): in review.
            {"classification": None, "reason": NOT_YET_REVIEWED, "signals": None}
            if pr else None),
        "needs_human": attention,
        "checkpoint": latest_checkpoint(state),
        # What a stop kept for a person (cleanup.json), and when: maestro/operator/kept_work.py
        "worktree_kept": kept,
        "kept_at": (cleanup or {}).get("cleaned_at") if kept else None,
    }
    sessions = (state.read("sessions.json") or {}).get("sessions") or []
    return LaneRead(identifier=state.identifier, entry=entry, phase=phase, activity=activity,
                    claim=claim, sessions=[s for s in sessions if isinstance(s, dict)],
                    budget=state.read(BUDGET_FILE) or {}, last_event=last_event)


def lane_entry(read: LaneRead, leased: bool, now: datetime) -> dict[str, Any]:
    """The lane's snapshot entry at ``now``: a new dict (callers add ``retry``, ``budget``)."""
    activity = read.activity
    idle = None
    if leased and read.last_event is not None:
        idle = round((now - read.last_event).total_seconds(), 1)
    return {**read.entry,
            "phase": activity.get("phase") if leased else read.phase,
            "running": leased,
            "waiting_on": (activity.get("waiting_on") or None) if leased else None,
            "idle_seconds": idle}


def sealed_read(state: LaneState) -> LaneRead | None:
    """The read kept in a finished lane's marker, if the folder has not moved since it was
    written (see the module doc); ``None`` otherwise. Reads the marker and nothing else."""
    try:
        folder = os.stat(state.dir)
        marker = os.stat(state.path(MARKER))
    except OSError:
        return None
    if folder.st_mtime_ns > marker.st_ctime_ns:
        return None
    record = state.read(MARKER) or {}
    seal = record.get(SEAL_KEY)
    if not isinstance(seal, dict) or seal.get("version") != SEAL_VERSION:
        return None
    entry = seal.get("entry")
    if not isinstance(entry, dict) or entry.get("issue") != state.identifier:
        return None
    activity, claim, budget = (seal.get(name) for name in ("activity", "claim", "budget"))
    sessions = seal.get("sessions")
    if not (isinstance(activity, dict) and isinstance(claim, dict)
            and isinstance(budget, dict) and isinstance(sessions, list)):
        return None
    try:
        last_event = _stamp(entry.get("last_activity_at"))
    except TypeError:
        return None
    # A seal written before the entry held them: the marker itself says (breaker 27 F7).
    kept = record.get("worktree_kept") or None
    entry = {"worktree_kept": kept, "kept_at": record.get("cleaned_at") if kept else None,
             **entry}
    return LaneRead(identifier=state.identifier, entry=entry, phase="finished",
                    activity=activity, claim=claim, sessions=sessions, budget=budget,
                    last_event=last_event)


def seal_finished(state: LaneState) -> None:
    """Keep the lane's read in its completion marker; call it as a finished lane's last
    write (nothing when the lane has no marker). A lane file status cannot read leaves
    the marker as it is: status then reads the folder, and says what is damaged, as
    before; finishing the lane never fails for it (``OSError`` on writing propagates)."""
    record = state.read(MARKER)
    if record is None:
        return
    try:
        read = read_lane(state, sealed=False)
    except (ValueError, TypeError, AttributeError, KeyError):
        return
    state.write(MARKER, {**record, SEAL_KEY: {
        "version": SEAL_VERSION, "entry": read.entry, "activity": read.activity,
        "claim": read.claim, "sessions": read.sessions, "budget": read.budget}})
