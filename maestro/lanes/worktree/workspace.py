"""Lane workspaces: linked git worktrees under the workspace root, one branch per issue.

The identifier is checked before it becomes a path, and the resolved worktree must sit
directly inside the workspace root, so no identifier or symlink can make maestro write
elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from maestro.containment.git_ceiling import stop_at
from maestro.errors import WorkspaceError
from maestro.git import auto_maintenance, head_of, remove_ref, rev_parse
from maestro.ids import check_identifier
from maestro.lanes.worktree.worktree_health import clear_stale_locks, discard, heal


@dataclass(frozen=True)
class Workspace:
    repo_root: Path
    path: Path
    branch: str

    @property
    def relative_path(self) -> str:
        try:
            return str(self.path.relative_to(self.repo_root))
        except ValueError:
            return self.path.name

    def head(self) -> str:
        return head_of(self.path)


def worktree_path(workspace_root: Path, identifier: str) -> Path:
    """The lane's folder; refuses anything that would land outside ``workspace_root``."""
    check_identifier(identifier)
    root = workspace_root.resolve()
    stop_at(workspace_root)  # maestro's git in this worktree never walks up out of it
    candidate = root / identifier
    if candidate.is_symlink():
        raise WorkspaceError(
            f"{candidate}: is a symlink; a lane worktree must be a real folder inside {root}"
        )
    if candidate.resolve().parent != root:
        raise WorkspaceError(f"issue {identifier!r} would place its worktree outside {root}")
    return candidate


def ensure_worktree(
    repo_root: Path, workspace_root: Path, identifier: str, branch: str, base_ref: str,
    report: Callable[[str], None] | None = None, base_commit: str | None = None,
    branch_exists: bool | None = None,
) -> tuple[Workspace, str]:
    """Create, reuse or heal the lane's worktree on ``branch``; returns it and the base commit.

    An existing worktree is reused only when it is whole (``worktree_health``): a folder a
    killed ``git worktree add`` left half-created is removed and added again, so no agent
    ever works in a checkout that is missing files. A new branch starts at ``base_ref``;
    ``report`` hears each repair in words. ``base_commit``: what ``base_ref`` names, when
    the caller has just read it (else it is read here); ``branch_exists``: whether the
    local ``branch`` exists, likewise (:func:`~maestro.lanes.worktree.worktree_health.heal`)."""
    path = worktree_path(workspace_root, identifier)
    base = base_commit or rev_parse(repo_root, base_ref)
    if base is None:
        raise WorkspaceError(f"base {base_ref!r} does not name a commit in {repo_root}")
    workspace_root.mkdir(parents=True, exist_ok=True)
    heal(repo_root, path, branch, lambda: (base_ref, base), branch_exists=branch_exists,
         report=report)
    return Workspace(repo_root, path, branch), base


def remove_worktree(repo_root: Path, path: Path, branch: str) -> None:
    """Remove the worktree and its local branch; absent pieces are fine (idempotent).

    What a dead process left is pruned, not retried: git's lock of a killed ``worktree add``
    is lifted, a half-removed folder is deleted, a registration without a folder pruned,
    and the lane's own ref and index lock files a killed git left are removed (every caller
    holds the lane's lease, so no live git of this lane can own them)."""
    clear_stale_locks(repo_root, path, branch)
    discard(repo_root, path)
    remove_ref(repo_root, f"refs/heads/{branch}", "branch", "-D", branch)
    # maestro's fetches run with git's auto-maintenance off (maestro.git); a finished lane
    # is where the repository gets it, once.
    auto_maintenance(repo_root)
