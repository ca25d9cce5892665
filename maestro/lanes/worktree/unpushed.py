"""Work in a lane's worktree that exists nowhere else: what a cancel must not delete.

A cancelled lane's worktree is removed (SPEC-NOTES §4) only when everything in it is also
somewhere else: committed and on the remote. Uncommitted or untracked files, and commits no
remote-tracking branch of the lane's remote contains, would be lost with the folder, so an
operator's cancel keeps the worktree and says why.
"""

from __future__ import annotations

from pathlib import Path

from maestro.containment import private_objects
from maestro.containment.private_objects import own_git_dir, store_of
from maestro.git import git, rev_parse, run_git
from maestro.lanes.worktree.worktree_health import beside_git

__all__ = ["kept_for_a_person", "unpushed_branch", "unpushed_work"]


def kept_for_a_person(cleanup: object) -> bool:
    """Whether a lane's ``cleanup.json`` record says its worktree was kept (a cancel that
    found unpushed work told the operator so): no automatic sweep may remove it then."""
    return isinstance(cleanup, dict) and bool(cleanup.get("worktree_kept"))


def unpushed_work(worktree: Path, remote: str) -> str | None:
    """What in ``worktree`` is on no branch of ``remote``, in words, or None (nothing, or
    no worktree at all). The remote-tracking refs are taken as they are (no fetch): a ref
    that is behind only makes the answer more careful."""
    if not (worktree / ".git").exists():
        return _unreadable(worktree)
    # A sandboxed session's objects not yet taken into the shared store (object_import):
    # maestro's git does not see its commits, so only this says they exist.
    pending = (git_dir := own_git_dir(worktree)) is not None and private_objects.pending(
        store_of(git_dir))
    if rev_parse(worktree, "HEAD") is None:
        return "a sandboxed session's commits not yet imported" if pending else _unreadable(
            worktree)
    found = []
    if pending:
        found.append("a sandboxed session's commits not yet imported")
    status = run_git(worktree, ["status", "--porcelain"])
    if status.returncode != 0:
        return _unreadable(worktree)
    changed = [line for line in status.stdout.splitlines() if line.strip()]
    if changed:
        found.append(f"{len(changed)} uncommitted file{'s' * (len(changed) != 1)}")
    ahead = git(worktree, "rev-list", "--count", "HEAD", "--not", f"--remotes={remote}",
                check=False)
    if ahead.isdigit() and int(ahead) > 0:
        count = int(ahead)
        found.append(f"{count} commit{'s' * (count != 1)} not on {remote}")
    return ", ".join(found) or None


def _unreadable(worktree: Path) -> str | None:
    """Words for a folder git cannot read as a worktree (its ``.git`` file, its registration
    in ``.git/worktrees/`` or its ``HEAD`` is gone) that holds anything besides ``.git``;
    None when it holds nothing else (or is absent). Git cannot say what in it is
    uncommitted, so all of it counts: deleting it lost the agent's and a person's files
    (breaker 26 H1)."""
    try:
        files = beside_git(worktree)
    except OSError:
        return None
    if not files:
        return None
    return (f"{len(files)} entr{'ies' if len(files) != 1 else 'y'} in a folder git cannot "
            "read as a worktree (its .git or its registration is gone)")


def unpushed_branch(repo: Path, branch: str, remote: str) -> str | None:
    """The commits of the local ``branch`` that no branch of ``remote`` holds, in words, or
    None (none, or no such branch). Asked when the lane's worktree folder is gone: the branch
    is then the only name of those commits, and removing it would leave them dangling."""
    if rev_parse(repo, f"refs/heads/{branch}") is None:
        return None
    ahead = git(repo, "rev-list", "--count", f"refs/heads/{branch}", "--not",
                f"--remotes={remote}", check=False)
    if not ahead.isdigit():  # git cannot walk the branch (a missing object): keep it
        return "commits git cannot count (an object is missing)"
    if int(ahead) > 0:
        count = int(ahead)
        return f"{count} commit{'s' * (count != 1)} not on {remote}"
    return None
