"""Validation leaves no new untracked files in the agent's worktree.

maestro runs the workflow's validation commands in the lane worktree. What they write
(``__pycache__/*.pyc``, coverage files, build output) is untracked; the next agent or
repair session that commits with ``git add -A`` then puts it on the lane branch, and from
there on ``main`` (the chaos series found ``__pycache__`` merged, and later lanes in merge
conflict over it). So the files a validation run adds are removed after it; untracked
files that were there before (the agent's own, not yet committed) are kept. Ignored files
(``.gitignore``) are left alone: the repository already keeps them out of commits.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from maestro.git import git


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


@contextmanager
def no_new_untracked(worktree: Path) -> Iterator[None]:
    """Run the block, then remove the untracked files it created in ``worktree``."""
    before = untracked(worktree)
    try:
        yield
    finally:
        remove_new(worktree, before)
