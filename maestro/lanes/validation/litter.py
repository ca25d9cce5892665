"""Validation leaves no new untracked files in the agent's worktree.

maestro runs the workflow's validation commands in the lane worktree. What they write
(``__pycache__/*.pyc``, coverage files, build output) is untracked; the next agent or
repair session that commits with ``git add -A`` then puts it on the lane branch, and from
there on ``main`` (the chaos series found ``__pycache__`` merged, and later lanes in merge
conflict over it). So the files a validation run adds are removed after it; untracked
files that were there before (the agent's own, not yet committed) are kept. Ignored files
(``.gitignore``) are left alone: the repository already keeps them out of commits.

A run killed mid-validation never reaches its clean-up, so the untracked files it found are
written to a record in the lane folder (``validation-litter.json``) first; the next session
or validation sweeps what such a run left (the chaos series found ``__pycache__`` merged
again after a kill inside ``lane_open_pr``'s validation).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from maestro.fsutil import read_json, write_json
from maestro.git import git

#: The lane file naming the untracked files a running validation found before it started.
RECORD = "validation-litter.json"


def untracked(worktree: Path) -> set[str]:
    """Untracked, not ignored files of ``worktree`` (paths relative to it)."""
    out = git(worktree, "ls-files", "-z", "--others", "--exclude-standard", check=False)
    return {path for path in out.split("\0") if path}


def remove_new(worktree: Path, before: set[str]) -> list[str]:
    """Remove the untracked files not in ``before`` and the folders they leave empty."""
    removed = sorted(untracked(worktree) - before)
    root = worktree.resolve()
    for relative in removed:
        path = worktree / relative
        try:
            path.unlink()
        except OSError:
            continue
        parent = path.parent
        while parent.resolve() != root and root in parent.resolve().parents:
            try:
                os.rmdir(parent)  # only if empty
            except OSError:
                break
            parent = parent.parent
    return removed


def sweep(worktree: Path, record: Path) -> list[str]:
    """Remove what a validation run killed before its clean-up left (per ``record``), then
    drop the record; nothing when no run was interrupted. Returns the removed paths."""
    data = read_json(record)
    if not isinstance(data, dict) or not worktree.is_dir():
        record.unlink(missing_ok=True)
        return []
    before = data.get("before")
    removed = remove_new(worktree, {str(p) for p in before} if isinstance(before, list)
                         else set())
    record.unlink(missing_ok=True)
    return removed


@contextmanager
def no_new_untracked(worktree: Path, record: Path) -> Iterator[frozenset[str]]:
    """Run the block, then remove the untracked files it created in ``worktree``; the
    files found before are kept in ``record`` while it runs, for :func:`sweep`, and given to
    the block (what the commands saw besides the commit's files)."""
    sweep(worktree, record)
    before = untracked(worktree)
    write_json(record, {"before": sorted(before)})
    try:
        yield frozenset(before)
    finally:
        remove_new(worktree, before)
        record.unlink(missing_ok=True)
