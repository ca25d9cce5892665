"""Validation sees the commit's files, and leaves no new untracked files behind.

maestro runs the workflow's validation commands in the lane worktree. Two kinds of
untracked file matter there:

- **the agent's own**, not yet committed (a helper it forgot to ``git add``, its test
  runs' ``__pycache__``): the commands would read them, the pushed commit would not carry
  them, and a forge's clean checkout would then fail where validation passed (breaker 11,
  H2). So they are moved aside into the lane folder (``validation-aside/``) while the
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
validation). A set-aside file whose place was taken meanwhile stays in the lane folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from maestro.fsutil import read_json, write_json
from maestro.git import git

#: The lane file naming the untracked files a running validation found before it started.
RECORD = "validation-litter.json"
#: The lane folder holding the agent's untracked files while the commands run.
ASIDE = "validation-aside"


def untracked(worktree: Path) -> set[str]:
    """Untracked, not ignored files of ``worktree`` (paths relative to it)."""
    out = git(worktree, "ls-files", "-z", "--others", "--exclude-standard", check=False)
    return {path for path in out.split("\0") if path}


def remove_new(worktree: Path, before: set[str]) -> list[str]:
    """Remove the untracked files not in ``before`` and the folders they leave empty."""
    removed = sorted(untracked(worktree) - before)
    for relative in removed:
        path = worktree / relative
        try:
            path.unlink()
        except OSError:
            continue
        _prune_empty(path.parent, worktree)
    return removed


def _prune_empty(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents up to (not including) ``root`` while empty."""
    top = root.resolve()
    while folder.resolve() != top and top in folder.resolve().parents:
        try:
            os.rmdir(folder)  # only if empty
        except OSError:
            return
        folder = folder.parent


def set_aside(worktree: Path, paths: Iterable[str], aside: Path) -> set[str]:
    """Move the untracked ``paths`` (relative to ``worktree``) into ``aside``, keeping
    their relative places; returns those that could not be moved (they stay seen)."""
    stuck: set[str] = set()
    for relative in paths:
        source, target = worktree / relative, aside / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)
        except OSError:
            stuck.add(relative)
            continue
        _prune_empty(source.parent, worktree)
    return stuck


def put_back(aside: Path, worktree: Path) -> list[str]:
    """Move every file under ``aside`` back to its place in ``worktree``, unless that place
    is taken (then it stays in ``aside``); returns the paths left in ``aside``."""
    if not aside.is_dir():
        return []
    kept: list[str] = []
    for folder, dirs, files in os.walk(aside):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            source = Path(folder) / name
            relative = source.relative_to(aside)
            target = worktree / relative
            try:
                if os.path.lexists(target):
                    kept.append(str(relative))
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(source, target)
            except OSError:
                kept.append(str(relative))
    if not kept:
        shutil.rmtree(aside, ignore_errors=True)
    else:
        for folder, _, _ in sorted(os.walk(aside), reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only the emptied ones
    return sorted(kept)


def sweep(worktree: Path, record: Path) -> list[str]:
    """Remove what a validation run killed before its clean-up left (per ``record``), put
    the files it set aside (:data:`ASIDE`, beside ``record``) back, then drop the record;
    nothing when no run was interrupted. Returns the removed paths."""
    data = read_json(record)
    if not isinstance(data, dict) or not worktree.is_dir():
        record.unlink(missing_ok=True)
        return []
    before = data.get("before")
    removed = remove_new(worktree, {str(p) for p in before} if isinstance(before, list)
                         else set())
    put_back(record.with_name(ASIDE), worktree)
    record.unlink(missing_ok=True)
    return removed


@contextmanager
def commit_only(worktree: Path, record: Path) -> Iterator[frozenset[str]]:
    """Run the block with the worktree's untracked files moved aside (:data:`ASIDE`, beside
    ``record``); then remove
    the untracked files the block created and put the moved ones back. The files found are
    kept in ``record`` while it runs, for :func:`sweep`. The block is given the files it
    still sees besides the commit's (those that could not be moved)."""
    sweep(worktree, record)
    aside = record.with_name(ASIDE)
    before = untracked(worktree)
    write_json(record, {"before": sorted(before)})
    stuck = set_aside(worktree, sorted(before), aside)
    try:
        yield frozenset(stuck)
    finally:
        remove_new(worktree, stuck)
        put_back(aside, worktree)
        record.unlink(missing_ok=True)
