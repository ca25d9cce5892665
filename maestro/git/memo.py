"""git's answers about commits named by hash only, kept for the life of the process.

A commit hash fixes its whole history and tree, so ``git log A --not B``, ``git merge-base
A B``, ``git rev-list A --not B``, ``git diff --name-only A B`` and ``git ls-tree -r A``
give the same answer for as long as A and B are the same hashes, and git reads the history
as the commits say: a ``shallow`` file or ``info/grafts`` in the git dir (which the agent
can write) cuts or rewires it, so their identity is part of every key (replace refs are off
for maestro's git, ``GIT_NO_REPLACE_OBJECTS``). A lane asks some of them more than once (the
provenance guard runs at ``lane_open_pr`` and again at handoff, on the same head and base;
the worktree check lists ``HEAD``'s files at prepare and again as each session starts),
and each answer is a git process. :func:`git_fixed` keeps them.

What is kept, and why that is exact:

* only calls whose every argument after the subcommand is a full hash or one of the
  options in :data:`SAFE_OPTIONS`: a ref name (``HEAD``, a branch), which can move, and an
  option that names refs or reads the clock (``--all``, ``--since``) are always asked
  again;
* only successful answers, per repository (its resolved path): a failure (an object not
  there yet) is asked again next time;
* nothing is written to disk, so nothing another process wrote is ever believed.

git runs through :func:`maestro.git.run_git` as every maestro git call does (hooks off, the
repository's program-naming config disarmed).
"""

from __future__ import annotations

import os
from pathlib import Path

from maestro.errors import WorkspaceError
from maestro.fsutil import StatIdentity, stat_identity
from maestro.git import run_git
from maestro.git.dirs import git_dirs
from maestro.ids import FULL_HASH as _HASH

#: At most this many answers are kept (a long-lived process starts over beyond it).
LIMIT = 512

#: Options whose answer depends only on the commits named (no ref, no clock, no config).
SAFE_OPTIONS = frozenset({"--not", "--no-renames", "--name-only", "--reverse", "-r", "-z"})
SAFE_OPTION_PREFIXES = ("--format=", "--diff-filter=")

#: git-dir files that change how git reads a commit's history.
HISTORY_FILES = ("shallow", "info/grafts")

_Key = tuple[str, tuple[str, ...], tuple[StatIdentity | None, ...]]
_ANSWERS: dict[_Key, str] = {}


def fixed(args: tuple[str, ...]) -> bool:
    """Pure: whether ``git *args`` names commits by hash only, with options that read
    nothing else (so its answer cannot change while the history files are the same)."""
    return len(args) > 1 and all(
        _HASH.fullmatch(a) or a in SAFE_OPTIONS or a.startswith(SAFE_OPTION_PREFIXES)
        for a in args[1:])


def _history_identity(cwd: Path) -> tuple[StatIdentity | None, ...] | None:
    """The identity of the git dir's history files (None per absent file); None when the
    git dir cannot be found (then nothing is kept)."""
    dirs = git_dirs(cwd)
    if dirs is None:
        return None
    found: list[StatIdentity | None] = []
    for name in HISTORY_FILES:
        try:
            found.append(stat_identity(os.lstat(dirs.common / name)))
        except FileNotFoundError:
            found.append(None)
        except OSError:
            return None
    return tuple(found)


def git_fixed(cwd: Path, *args: str, check: bool = True) -> str:
    """:func:`maestro.git.git` (stripped stdout; a failure raises unless ``check`` is false,
    then ``""``), answered from this process's memory when :func:`fixed` holds and the same
    call succeeded before in the same repository."""
    history = _history_identity(cwd) if fixed(args) else None
    key = (os.path.realpath(cwd), args, history or ())
    if history is not None and key in _ANSWERS:
        return _ANSWERS[key]
    proc = run_git(cwd, args)
    if proc.returncode != 0:
        if not check:
            return ""
        raise WorkspaceError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")
    answer = proc.stdout.strip()
    if history is not None:
        if len(_ANSWERS) >= LIMIT:
            _ANSWERS.clear()
        _ANSWERS[key] = answer
    return answer


def forget() -> None:
    """Drop every kept answer (tests)."""
    _ANSWERS.clear()
