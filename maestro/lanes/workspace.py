"""Lane workspaces: linked git worktrees under the workspace root, one branch per issue.

The identifier is checked before it becomes a path, and the resolved worktree must sit
directly inside the workspace root, so no identifier or symlink can make maestro write
elsewhere.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from maestro.errors import WorkspaceError
from maestro.git import git, git_ok, rev_parse
from maestro.ids import check_identifier


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
        return git(self.path, "rev-parse", "HEAD")


def worktree_path(workspace_root: Path, identifier: str) -> Path:
    """The lane's folder; refuses anything that would land outside ``workspace_root``."""
    check_identifier(identifier)
    root = workspace_root.resolve()
    candidate = root / identifier
    if candidate.is_symlink():
        raise WorkspaceError(
            f"{candidate}: is a symlink; a lane worktree must be a real folder inside {root}"
        )
    if candidate.resolve().parent != root:
        raise WorkspaceError(f"issue {identifier!r} would place its worktree outside {root}")
    return candidate


def ensure_worktree(
    repo_root: Path, workspace_root: Path, identifier: str, branch: str, base_ref: str
) -> tuple[Workspace, str]:
    """Create (or reuse) the lane's worktree on ``branch``; returns it and the base commit."""
    path = worktree_path(workspace_root, identifier)
    base = rev_parse(repo_root, base_ref)
    if base is None:
        raise WorkspaceError(f"base {base_ref!r} does not name a commit in {repo_root}")
    if path.exists():
        current = git(path, "rev-parse", "--abbrev-ref", "HEAD", check=False)
        if current == branch:
            return Workspace(repo_root, path, branch), base
        raise WorkspaceError(
            f"{path}: exists but is not the worktree of branch {branch!r} (found {current!r}); "
            "move it away or run `maestro lane reset`"
        )
    workspace_root.mkdir(parents=True, exist_ok=True)
    git(repo_root, "worktree", "prune")
    if rev_parse(repo_root, f"refs/heads/{branch}"):
        git(repo_root, "worktree", "add", str(path), branch)
    else:
        git(repo_root, "worktree", "add", "-b", branch, str(path), base)
    return Workspace(repo_root, path, branch), base


def remove_worktree(repo_root: Path, path: Path, branch: str) -> None:
    """Remove the worktree and its local branch; absent pieces are fine (idempotent)."""
    if path.exists() and not git_ok(repo_root, "worktree", "remove", "--force", str(path)):
        shutil.rmtree(path, ignore_errors=True)
    git_ok(repo_root, "worktree", "prune")
    if rev_parse(repo_root, f"refs/heads/{branch}"):
        git(repo_root, "branch", "-D", branch)
