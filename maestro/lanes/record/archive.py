"""Archived lane folders: ``<state_root>/archive/<ID>-run-<run id>``.

:func:`maestro.lanes.outcomes.reset_lane` moves a lane folder there when a person releases
a lane or resets it; what the issue's earlier lanes did still counts: their sessions for
provenance, their pushes for the push guard, their tokens for the issue's budget.
"""

from __future__ import annotations

import os
from pathlib import Path

from maestro.fsutil import read_json

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
    """Whether the issue's newest archived lane ended by a stop (:data:`STOPPED`): a
    ``maestro retry`` (or ``lane --reset``) after a cancel, whose new lane must start over
    from the base instead of resuming the stopped run's remote branch."""
    folders = lane_folders(state_root, identifier)
    if not folders:
        return False
    record = read_json(folders[-1] / "cleanup.json")
    return isinstance(record, dict) and record.get("reason") in STOPPED
