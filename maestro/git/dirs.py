"""Where a folder's git directories are, asked once per process while its ``.git`` is the same.

The git dir and common dir of the repository root and of a lane worktree are read on every
phase (the worktree health check, the lock clean-up, the control-file fingerprint), and each
answer costs a git process. They depend only on the folder's ``.git`` entry (a directory, or
a file naming the worktree's administrative folder) and that folder's ``commondir`` file, so
the answer is kept per process under the identity of those (inode, size, mtime, ctime, and
the pointer file's content): a worktree removed and added again, or a ``.git`` file the agent
repoints, changes the key and git is asked again. Nothing here is read from a file git did
not write for itself, and a failed answer is never kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from maestro.fsutil import StatIdentity, stat_identity
from maestro.git import run_git

Identity = StatIdentity | None


@dataclass(frozen=True)
class GitDirs:
    """Absolute paths: ``common`` (the repository's shared git dir), ``git_dir`` (this
    folder's own, as ``--path-format=absolute --git-dir`` prints it) and ``absolute`` (the
    same, canonicalised, as ``--absolute-git-dir`` prints it)."""

    common: Path
    git_dir: Path
    absolute: Path


_MEMO: dict[tuple[str, Identity, bytes, Identity], GitDirs] = {}


@dataclass
class _Hold:
    """The folder :func:`held` holds (resolved) and its answer once asked."""

    folder: str
    dirs: GitDirs | None = None


_HELD: ContextVar[_Hold | None] = ContextVar("held_git_dirs", default=None)


@contextmanager
def held(folder: Path) -> Iterator[None]:
    """Inside the block, :func:`git_dirs` of ``folder`` is asked (or taken from the memo)
    once and then given as it was, whatever ``folder/.git``'s times do meanwhile.

    For a block that runs only maestro's own git in a repository (the worktree health
    check's healing): git's own writes there (``worktree add`` making ``worktrees/``, a
    ref lock) change the git dir's mtime and ctime, which the process memo is keyed on,
    but never where the git dirs are. The held answer is also remembered under the
    folder's identity as each ask finds it, so a later ask after the block finds it while
    nothing changed since. Other folders (a worktree the block removes and adds again) are
    asked as always; the hold ends with the block."""
    token = _HELD.set(_Hold(str(folder.resolve())))
    try:
        yield
    finally:
        _HELD.reset(token)


def _identity(path: Path) -> Identity:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return stat_identity(st)


def _key(folder: Path) -> tuple[str, Identity, bytes, Identity]:
    """What git's answer for ``folder`` depends on, read from the disk (a few syscalls)."""
    dotgit = folder / ".git"
    ident = _identity(dotgit)
    content = b""
    admin = dotgit
    if dotgit.is_file():
        try:
            content = dotgit.read_bytes()[:4096]
        except OSError:
            content = b"?"
        target = content.decode(errors="replace").removeprefix("gitdir:").strip()
        admin = Path(target) if Path(target).is_absolute() else folder / target
    return (str(folder.resolve()), ident, content, _identity(admin / "commondir"))


def git_dirs(folder: Path) -> GitDirs | None:
    """The git directories of ``folder`` (a repository root or a linked worktree), or None
    when git finds no repository there (never remembered)."""
    key = _key(folder)
    hold = _HELD.get()
    if hold is not None and hold.folder != key[0]:
        hold = None
    if hold is not None and hold.dirs is not None:
        _MEMO[key] = hold.dirs  # true of the folder as it is now, for later asks
        return hold.dirs
    hit = _MEMO.get(key)
    if hit is not None:
        if hold is not None:
            hold.dirs = hit
        return hit
    proc = run_git(folder, ["rev-parse", "--path-format=absolute", "--git-common-dir",
                            "--git-dir", "--absolute-git-dir"])
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != 3:
        return None
    found = GitDirs(Path(lines[0]), Path(lines[1]), Path(lines[2]))
    _MEMO[key] = found
    if hold is not None:
        hold.dirs = found
    return found


def forget() -> None:
    """Drop every remembered answer (tests; never needed for correctness)."""
    _MEMO.clear()
