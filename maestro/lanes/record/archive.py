"""Archived lane folders: ``<state_root>/archive/<ID>-run-<run id>``.

:func:`maestro.lanes.outcomes.reset_lane` moves a lane folder there when a person releases
a lane or resets it; what the issue's earlier lanes did still counts: their sessions for
provenance, their pushes for the push guard, their tokens for the issue's budget.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from maestro.fsutil import read_json
from maestro.lanes.record.state import PUSHED

ARCHIVE = "archive"
_RUN = "-run-"


def issue_of(name: str) -> str | None:
    """The issue an archived folder's name belongs to (``DEMO-1-run-…`` -> ``DEMO-1``)."""
    issue, marker, _ = name.rpartition(_RUN)
    return issue if marker else None


#: The time in an archived folder's name: ``YYYYmmddTHHMMSS``, then microseconds in the
#: names this version gives (``…-run-20261202T013000123456Z-9f2c1a``), none in older ones.
_STAMP = re.compile(r"(\d{8}T\d{6})(\d{6})?(?=Z|-|$)")
_FORMAT = "%Y%m%dT%H%M%S%f"


def _order(folder: Path) -> tuple[str, str, str]:
    """Sort key: the name's time to the microsecond (an older name's seconds count as its
    first microsecond), then the name."""
    tail = folder.name.rpartition(_RUN)[2]
    found = _STAMP.match(tail)
    if found is None:
        return ("", "", folder.name)
    return (found[1], found[2] or "000000", folder.name)


def new_folder(state_root: Path, identifier: str) -> Path:
    """A new archive folder's path for ``identifier`` (not created), named to sort after
    every archived folder of the issue: its time to the microsecond, and one microsecond
    after the newest when the clock says otherwise. :func:`heads_since_stop` reads the
    runs in this order, and two archives in one second (a script resetting twice) sorted
    by their random suffix put a stop after the run that followed it (breaker 29)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    folders = lane_folders(state_root, identifier)
    if folders:
        seconds, micros, _ = _order(folders[-1])
        try:  # a folder someone else named: not a time, or the last one there is
            newest = datetime.strptime(seconds + micros, _FORMAT)
            now = max(now, newest + timedelta(microseconds=1))
        except (ValueError, OverflowError):
            pass
    name = f"{identifier}{_RUN}{now.strftime(_FORMAT)}Z-{secrets.token_hex(3)}"
    return state_root / ARCHIVE / name


def lane_folders(state_root: Path, identifier: str) -> list[Path]:
    """The archived lane folders of ``identifier``, oldest first (by the time in their
    names, :func:`new_folder`); folders only, never through a symbolic link."""
    archive = state_root / ARCHIVE
    try:
        entries = list(os.scandir(archive))
    except OSError:
        return []
    found = []
    for entry in entries:
        try:
            if issue_of(entry.name) == identifier and entry.is_dir(follow_symlinks=False):
                found.append(archive / entry.name)
        except OSError:
            continue
    return sorted(found, key=_order)


#: ``cleanup.json`` reasons of a lane that ended without a merge because it was stopped:
#: a person's cancel (in maestro or the tracker) or the issue moved to a terminal state.
STOPPED = frozenset({"cancelled", "terminated"})


def heads_in(folder: Path) -> set[str]:
    """The heads one lane folder says maestro pushed or was about to push (``pushed.json``
    is written before each push; ``pr.json``'s validated, repair and pending heads)."""
    record = read_json(folder / "pr.json")
    record = record if isinstance(record, dict) else {}
    pending = record.get("pending_repair")
    pending = pending if isinstance(pending, dict) else {}
    pushed = read_json(folder / PUSHED)
    pushed = pushed if isinstance(pushed, dict) else {}
    heads = {str(record.get("validated_head") or ""), str(pending.get("head") or ""),
             *map(str, record.get("repair_heads") or []), *map(str, pushed.get("heads") or [])}
    heads.discard("")
    return heads


def heads_since_stop(state_root: Path, identifier: str) -> set[str] | None:
    """When the issue's archived lanes, read newest first, reach a run that ended by a stop
    (:data:`STOPPED`): the heads the runs archived after it pushed (or were about to);
    None when no archived run ended so. A ``maestro retry`` (or ``lane --reset``) after a
    cancel starts the issue over from the base unless the remote branch is at one of these
    or at the current lane's own (``maestro.lanes.worktree.start_point.starts_over``): a
    second reset before the first push does not bring the stopped run's branch back
    (breaker 28 F3), nor does a first push that never landed (breaker 29 F1)."""
    since: set[str] = set()
    for folder in reversed(lane_folders(state_root, identifier)):
        record = read_json(folder / "cleanup.json")
        if isinstance(record, dict) and record.get("reason") in STOPPED:
            return since
        since |= heads_in(folder)
    return None
