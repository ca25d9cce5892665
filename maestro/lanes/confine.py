"""How the lane confines what runs the agent's code: the sandbox prefix for its argv.

One decision for the agent and the validation commands alike: with ``[agent] sandbox =
"bubblewrap"`` both run behind :func:`~maestro.containment.sandbox.bubblewrap_prefix` with this
lane's control files (:func:`maestro.lanes.tamper.control_roots`), the operator's files
(:func:`operator_files`), other lanes' worktrees and a local ``origin``
(:func:`foreign_folders`) read-only; otherwise unchanged.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from maestro.containment.sandbox import bubblewrap_prefix
from maestro.git import git
from maestro.lanes.context import LaneContext
from maestro.lanes.tamper import control_roots


def operator_files(ctx: LaneContext) -> list[Path]:
    """What the operator owns outside the worktree and the agent must not rewrite for the
    next lane: maestro's config, the workflow, the state root (lane records, the validation
    cache) and the files tracker's issues."""
    config = ctx.config
    paths = [config.state_root, config.workflow_path]
    if config.source is not None:
        paths.append(config.source)
    tracker = ctx.workflow.policy.tracker
    if tracker.provider == "files":
        paths.append(config.repo_root / tracker.path)
    return paths


def local_remote_folder(repo_root: Path, remote: str) -> Path | None:
    """The folder a remote's URL names when it is a path on this machine (``/srv/x.git``,
    ``../x.git``, ``file:///srv/x.git``); None for a network URL or no such remote."""
    url = git(repo_root, "remote", "get-url", remote, check=False).strip()
    if url.startswith("file://"):
        url = urlparse(url).path
    elif not url or "://" in url or (":" in url.split("/", 1)[0] and not url.startswith("/")):
        return None
    folder = Path(url) if Path(url).is_absolute() else (repo_root / url)
    return folder.resolve() if folder.is_dir() else None


def foreign_folders(ctx: LaneContext) -> list[Path]:
    """What belongs to other lanes or to the server side: the workspace root (every lane's
    worktree; this lane's is made writable again) unless the repository itself lies inside
    it, and the forge remote's folder when it is local (so ``git push /path/to/origin``
    fails at the write: the agent never pushes, see docs/spec/security.md)."""
    config = ctx.config
    repo = config.repo_root.resolve()
    found: list[Path] = []
    workspaces = config.workspace_root.resolve()
    if not repo.is_relative_to(workspaces):
        found.append(workspaces)
    origin = local_remote_folder(config.repo_root, ctx.workflow.policy.forge.remote)
    if origin is not None and not repo.is_relative_to(origin):
        found.append(origin)
    return found


def sandbox_prefix(ctx: LaneContext) -> list[str]:
    """``[]`` without a sandbox; raises ``ConfigError`` when bwrap is asked for but absent."""
    if ctx.config.agent.sandbox != "bubblewrap":
        return []
    return bubblewrap_prefix([*control_roots(ctx.worktree), *operator_files(ctx)],
                             foreign=foreign_folders(ctx), own=[ctx.worktree])
