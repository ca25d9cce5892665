"""git's answers about commits named by hash only, kept for the life of the process.

A commit hash fixes its whole history and tree, so ``git log A --not B``, ``git merge-base
A B``, ``git rev-list A --not B`` and ``git diff --name-only A B`` give the same answer for
as long as A and B are the same hashes. A lane asks some of them more than once (the
provenance guard runs at ``lane_open_pr`` and again at handoff, on the same head and base),
and each answer is a git process. :func:`git_fixed` keeps them.

What is kept, and why that is exact:

* only calls whose every argument after the subcommand is an option (``-...``) or a full
  hash: a ref name (``HEAD``, a branch), which can move, is always asked again;
* only successful answers, per repository (its resolved path): a failure (an object not
  there yet) is asked again next time;
* nothing is written to disk, so nothing another process wrote is ever believed.

git runs through :func:`maestro.git.run_git` as every maestro git call does (hooks off, the
repository's program-naming config disarmed).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from maestro.errors import WorkspaceError
from maestro.git import run_git

#: A full SHA-1 or SHA-256 object name.
_HASH = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")

#: At most this many answers are kept (a long-lived process starts over beyond it).
LIMIT = 512

_ANSWERS: dict[tuple[str, tuple[str, ...]], str] = {}


def fixed(args: tuple[str, ...]) -> bool:
    """Pure: whether ``git *args`` names commits by hash only (so its answer cannot change)."""
    return len(args) > 1 and all(a.startswith("-") or _HASH.fullmatch(a) for a in args[1:])


def git_fixed(cwd: Path, *args: str, check: bool = True) -> str:
    """:func:`maestro.git.git` (stripped stdout; a failure raises unless ``check`` is false,
    then ``""``), answered from this process's memory when :func:`fixed` holds and the same
    call succeeded before in the same repository."""
    key = (os.path.realpath(cwd), args)
    if fixed(args) and key in _ANSWERS:
        return _ANSWERS[key]
    proc = run_git(cwd, args)
    if proc.returncode != 0:
        if not check:
            return ""
        raise WorkspaceError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")
    answer = proc.stdout.strip()
    if fixed(args):
        if len(_ANSWERS) >= LIMIT:
            _ANSWERS.clear()
        _ANSWERS[key] = answer
    return answer


def forget() -> None:
    """Drop every kept answer (tests)."""
    _ANSWERS.clear()
