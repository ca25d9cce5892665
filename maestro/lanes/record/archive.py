"""Archived lane folders: ``<state_root>/archive/<ID>-run-<run id>``.

:func:`maestro.lanes.outcomes.reset_lane` moves a lane folder there when a person releases
a lane or resets it; what the issue's earlier lanes did still counts: their sessions for
provenance, their pushes for the push guard, their tokens for the issue's budget.
"""

from __future__ import annotations

import os
from pathlib import Path

from maestro.fsutil import read_json
from maestro.lanes.record.state import PUSHED

ARCHIVE = "archive"
_RUN = "-run-"


def issue_of(name: str) -> str | None:
    """The issue an archived folder's name belongs to (``DEMO-1-run-…`` -> ``DEMO-1``)."""
    issue, marker, _ = name.rpartition(_RUN)
    return issue if marker else None


def lane_folders(state_root: Path, identifier: str) -> list[Path]:
    """The archived lane folders of ``identifier``, oldest run first (run ids sort by
    time); folders only, never through a symbolic link."""
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
    return sorted(found)


#: ``cleanup.json`` reasons of a lane that ended without a merge because it was stopped:
#: a person's cancel (in maestro or the tracker) or the issue moved to a terminal state.
STOPPED = frozenset({"cancelled", "terminated"})


def last_run_stopped(state_root: Path, identifier: str) -> bool:
    """Whether the issue's archived lanes end, newest first, in a run that ended by a stop
    (:data:`STOPPED`) with no later run that pushed: a ``maestro retry`` (or ``lane
    --reset``) after a cancel, whose new lane must start over from the base instead of
    resuming the stopped run's remote branch. Runs archived after the stop that never
    pushed (a second reset, a retry of a lane stopped at its claim) do not end it
    (breaker 28 F3); a later run that pushed does: its branch is its own work."""
    for folder in reversed(lane_folders(state_root, identifier)):
        record = read_json(folder / "cleanup.json")
        if isinstance(record, dict) and record.get("reason") in STOPPED:
            return True
        if _pushed(folder):
            return False
    return False


def _pushed(folder: Path) -> bool:
    """Whether the archived lane pushed anything (``pushed.json``'s heads, or a PR)."""
    pushed = read_json(folder / PUSHED)
    return bool((isinstance(pushed, dict) and pushed.get("heads"))
                or os.path.lexists(folder / "pr.json"))
