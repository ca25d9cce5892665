"""A worktree prepare created in this process at the base commit, untouched since.

Before the agent starts, the agent phase asks what an earlier session left in the
worktree (:func:`maestro.lanes.sessions.prior_work.resume_note_for`: the remote base, ``git log
HEAD --not BASE``, ``git status``: five git processes), and the session start checks the
worktree is whole (``git worktree list``, the branch and ``HEAD``, ``HEAD``'s files:
:func:`maestro.lanes.worktree.worktree_guard.recorded_session`), both moments after prepare made
the worktree: ``git worktree add`` registered it on the lane branch and ``git reset --hard``
checked out every file, both in this process and both successful (a kill between them
leaves no record: the next process looks in full). For a worktree prepare has just created
(the folder did not exist) on a lane branch at the base commit, both answers are known: no
commits beyond the base, a checkout that ``git reset --hard`` made in an empty folder has
no changes, and git's view of it is what those two commands made. This module keeps that
fact, in this process's memory only, from prepare to the session start, under these
conditions:

* no code but maestro's own ran in between: any workflow hook (``after_create`` runs right
  after the worktree is made) forgets every record (:func:`forget`), and the session
  start uses the record up: the agent that follows is foreign code;
* nothing changed what the record describes: the lane branch still names the base commit
  (read from its ref file, :mod:`maestro.forges.ref_files`), and the worktree folder, its
  ``.git`` file and its git dir's ``HEAD`` and ``index`` keep their stat identity (inode,
  size, mtime, ctime), so a checkout, commit, reset or a top-level file added or removed
  by anyone shows; anything unreadable means "not fresh", and the full look runs.

The files of ``HEAD`` missing on disk are still looked for at the session start (no git
process: the list is kept by commit, :mod:`maestro.git.memo`), and the control files are
fingerprinted as before.

The record never says more than "the worktree prepare made": it is never written to disk,
so nothing the agent or another process wrote can be read as one. One difference from the
full look, on purpose: a checkout git itself calls changed the moment it is made (committed
files that break the repository's own line-ending rules) is not announced to the agent as
an earlier session's uncommitted work, which it is not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from maestro.forges.ref_files import read_branch
from maestro.fsutil import StatIdentity, stat_identity
from maestro.git.dirs import git_dirs

Signature = tuple[StatIdentity | None, ...]


@dataclass(frozen=True)
class _Fresh:
    branch: str
    base: str
    common: Path
    signature: Signature


_RECORDS: dict[str, _Fresh] = {}


def _identity(path: Path) -> StatIdentity | None:
    try:
        return stat_identity(os.lstat(path))
    except OSError:
        return None


def _signature(worktree: Path) -> tuple[Path, Signature] | None:
    """``(common git dir, identities)`` of what a change to the worktree's checkout or
    branch would touch; None when the git dirs cannot be found."""
    dirs = git_dirs(worktree)
    if dirs is None:
        return None
    found = (_identity(worktree), _identity(worktree / ".git"),
             _identity(dirs.absolute / "HEAD"), _identity(dirs.absolute / "index"))
    return (dirs.common, found) if None not in found else None


def created(worktree: Path, branch: str, base: str) -> None:
    """Prepare made ``worktree`` just now (the folder did not exist) and git made it whole;
    kept only when its ``branch`` names ``base`` (a branch with commits of its own is a
    resumed lane: it gets the full look)."""
    seen = _signature(worktree)
    if seen is None or read_branch(seen[0], f"refs/heads/{branch}") != base:
        _RECORDS.pop(str(worktree), None)
        return
    _RECORDS[str(worktree)] = _Fresh(branch, base, seen[0], seen[1])


def untouched(worktree: Path, keep: bool = False) -> str | None:
    """The commit ``HEAD`` names if ``worktree`` is still exactly as prepare made it (see
    the module), else None. The record is used up by the question unless ``keep`` (the
    prior-work note keeps it for the session start, which uses it up)."""
    record = _RECORDS.get(str(worktree)) if keep else _RECORDS.pop(str(worktree), None)
    if record is None:
        return None
    seen = _signature(worktree)
    if (seen is not None and seen == (record.common, record.signature)
            and read_branch(record.common, f"refs/heads/{record.branch}") == record.base):
        return record.base
    _RECORDS.pop(str(worktree), None)
    return None


def forget() -> None:
    """Foreign code ran (a workflow hook): no record is trusted any more."""
    _RECORDS.clear()
