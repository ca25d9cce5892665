"""Validation sees the commit's files, and leaves no new untracked files behind.

maestro runs the workflow's validation commands in the lane worktree. Two kinds of
untracked file matter there:

- **the agent's own**, not yet committed (a helper it forgot to ``git add``, its test
  runs' ``__pycache__``): the commands would read them, the pushed commit would not carry
  them, and a forge's clean checkout would then fail where validation passed (breaker 11,
  H2). So they are moved aside (``<workspace_root>/.maestro-aside/<ID>/``) while the
  commands run and put back after: validation tests the commit, plus the ignored files
  (dependencies live there), and an agent that forgot a file sees validation fail as the
  forge would;
- **the commands' own** (``__pycache__/*.pyc``, coverage files, build output): the next
  agent or repair session that commits with ``git add -A`` would put them on the lane
  branch, and from there on ``main`` (the chaos series found ``__pycache__`` merged, and
  later lanes in merge conflict over it). So every untracked file the run leaves is
  removed. Ignored files (``.gitignore``) are left alone: the repository already keeps
  them out of commits.

A run killed mid-validation never reaches its clean-up, so the untracked files it found
are written to a record in the lane folder (``validation-litter.json``) first; the next
session or validation removes what such a run left and puts the set-aside files back (the
chaos series found ``__pycache__`` merged again after a kill inside ``lane_open_pr``'s
validation). A set-aside file whose place was taken meanwhile stays in the set-aside folder.

The agent's processes may still run while this happens (``lane_open_pr`` validates mid-
session), so every path is taken from git's ``-z`` output exactly
(:func:`maestro.git.worktree_paths.untracked`) and reached beneath the worktree one
folder at a time without following a symbolic link (:mod:`maestro.containment.beneath`): a
folder swapped for a link to the repository root between the listing and the removal
makes the removal fail, never reach outside.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from maestro.containment.beneath import entries_beneath, move_beneath, remove_beneath
from maestro.fsutil import read_json, write_json
from maestro.git import worktree_paths
from maestro.lanes.record.state import LaneState

#: The lane file naming the untracked files a running validation found before it started.
RECORD = "validation-litter.json"
#: Where the agent's untracked files wait while the commands run: beside the worktrees
#: (``<workspace_root>/.maestro-aside/<ID>``), on the worktree's own file system so that
#: moving is a rename, and read-only in every sandbox (the workspace root is).
ASIDE = ".maestro-aside"


def aside_of(worktree: Path) -> Path:
    """The set-aside folder of the lane whose worktree is ``worktree``."""
    return worktree.parent / ASIDE / worktree.name


def untracked(worktree: Path) -> set[str]:
    """Untracked, not ignored paths of ``worktree`` (relative; a wholly untracked folder is
    one entry ending in ``/``)."""
    return set(worktree_paths.untracked(worktree))


def remove_new(worktree: Path, before: set[str]) -> list[str]:
    """Remove the untracked paths not in ``before``; returns them."""
    removed = sorted(untracked(worktree) - before)
    for relative in removed:
        remove_beneath(worktree, relative)
    return removed


def set_aside(worktree: Path, paths: list[str], aside: Path) -> set[str]:
    """Move the untracked ``paths`` (relative to ``worktree``) into ``aside`` at the same
    relative places; returns those that could not be moved (they stay seen)."""
    return {relative for relative in paths if not move_beneath(worktree, relative, aside)}


def put_back(aside: Path, worktree: Path, paths: list[str]) -> list[str]:
    """Move ``paths`` from ``aside`` back to their places in ``worktree``, unless a place is
    taken (then it stays in ``aside``); returns the paths left in ``aside``. ``aside`` is
    removed once nothing is left in it."""
    kept = [relative for relative in paths
            if not move_beneath(aside, relative, worktree) and
            os.path.lexists(aside / relative.rstrip("/"))]  # a dangling link is kept too
    if not kept and aside.is_dir():
        remove_beneath(aside.parent, aside.name + "/")
    return kept


def sweep(worktree: Path, record: Path) -> list[str]:
    """Remove what a validation run killed before its clean-up left (per ``record``), put
    the files it set aside (:func:`aside_of`) back, then drop the record;
    nothing when no run was interrupted. Returns the removed paths."""
    data = read_json(record)
    if not isinstance(data, dict) or not worktree.is_dir():
        record.unlink(missing_ok=True)
        if worktree.is_dir():  # the record went with a reset lane folder (breaker 13)
            put_back(aside_of(worktree), worktree, entries_beneath(aside_of(worktree)))
        return []
    listed = data.get("before")
    before = {str(p) for p in listed} if isinstance(listed, list) else set()
    removed = remove_new(worktree, before)
    put_back(aside_of(worktree), worktree, sorted(before))
    record.unlink(missing_ok=True)
    return removed


def sweep_lane(state: LaneState, worktree: Path) -> list[str]:
    """:func:`sweep` with the lane's own record, naming what it removed in the lane journal
    (``validation_litter_swept``, the first twenty paths). Returns the removed paths."""
    swept = sweep(worktree, state.path(RECORD))
    if swept:
        state.journal("validation_litter_swept", files=swept[:20])
    return swept


@contextmanager
def commit_only(worktree: Path, record: Path) -> Iterator[frozenset[str]]:
    """Run the block with the worktree's untracked paths moved aside (:func:`aside_of`);
    then remove the untracked paths the block created and put the moved ones
    back. The paths found are kept in ``record`` while it runs, for :func:`sweep`. The
    block is given the paths it still sees besides the commit's (those that could not be
    moved)."""
    sweep(worktree, record)
    aside = aside_of(worktree)
    before = sorted(untracked(worktree))
    write_json(record, {"before": before})
    stuck = set_aside(worktree, before, aside)
    try:
        yield frozenset(stuck)
    finally:
        remove_new(worktree, stuck)
        put_back(aside, worktree, [p for p in before if p not in stuck])
        record.unlink(missing_ok=True)
