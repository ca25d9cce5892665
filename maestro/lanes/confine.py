"""How the lane confines what runs the agent's code: the sandbox prefix for its argv.

One decision for the agent and the validation commands alike: with ``[agent] sandbox =
"bubblewrap"`` both run behind :func:`~maestro.containment.sandbox.bubblewrap_prefix` with this
lane's control files (:func:`maestro.lanes.tamper.control_roots`) and the operator's files
(:func:`operator_files`) read-only, over the layers of :func:`sandbox_layers` (the
repository root, other lanes' worktrees, a local ``origin`` and maestro's own code
read-only; the git dir and this lane's worktree writable); otherwise unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

from maestro.containment.sandbox import Layer, bubblewrap_prefix
from maestro.errors import WorkspaceError
from maestro.git import git, local_url_path
from maestro.git.dirs import git_dirs
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
    """The folder a remote's URL names when it is a path on this machine
    (:func:`maestro.git.local_url_path`); None for a network URL or no such remote."""
    url = git(repo_root, "remote", "get-url", remote, check=False).strip()
    folder = local_url_path(repo_root, url)
    return folder.resolve() if folder is not None and folder.is_dir() else None


def maestros_own_code() -> list[Path]:
    """What maestro's own processes import or run, outside the repository: the Python
    installation and environment (a ``.pth`` file there runs in every interpreter), the
    user's site-packages when it exists, and maestro's package folder (an editable install's
    checkout may be a folder the agent needs, such as the home folder)."""
    import site

    import maestro

    found = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
             Path(maestro.__file__).resolve().parent}  # the package, never its parent folder
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        found.add(Path(user_site))
    return sorted(path.resolve() for path in found)


def sandbox_layers(ctx: LaneContext) -> list[Layer]:
    """The binds under the control files, in order: read-only, what belongs to the operator,
    to other lanes, to the server side or to maestro itself (the repository root with its
    ``dodo.py`` and config, every lane's worktree, a local ``origin``, maestro's code);
    then writable again, what the lane's work needs (the repository's git dir, for objects
    and refs, and this lane's worktree); then read-only again, the other lanes' worktree
    admin folders (their ``HEAD`` and index) inside that git dir, this lane's own writable."""
    config = ctx.config
    read_only = [config.repo_root.resolve(), config.workspace_root.resolve(),
                 *maestros_own_code()]
    origin = local_remote_folder(config.repo_root, ctx.workflow.policy.forge.remote)
    if origin is not None:
        read_only.append(origin)
    layers: list[Layer] = [("ro", path) for path in read_only]
    dirs = git_dirs(ctx.worktree)
    if dirs is None:
        raise WorkspaceError(f"{ctx.worktree}: git finds no repository there")
    layers += [("rw", dirs.common), ("rw", ctx.worktree)]
    if dirs.git_dir != dirs.common:
        layers += [("ro", dirs.common / "worktrees"), ("rw", dirs.git_dir)]
    return layers


def sandbox_prefix(ctx: LaneContext) -> list[str]:
    """``[]`` without a sandbox; raises ``ConfigError`` when bwrap is asked for but absent."""
    if ctx.config.agent.sandbox != "bubblewrap":
        return []
    return bubblewrap_prefix([*control_roots(ctx.worktree), *operator_files(ctx)],
                             layers=sandbox_layers(ctx))
