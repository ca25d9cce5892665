"""What a sandbox binds read-only because it is the operator's or maestro's own.

Two sandboxes run code the agent wrote: the lane's (the agent, its validation commands and
hooks; :mod:`maestro.lanes.confinement.confine`) and the local forge's check
(:mod:`maestro.forges.check_sandbox`). Both must leave the same things alone: the files the
operator owns (maestro's config, the workflow, the state root with its lane records, the
files tracker's issues), the repository root and every lane's worktree, a local ``origin``,
and maestro's own code (its Python installation and environment: a ``.pth`` file there runs
in every maestro process). This module lists them once, from the configuration alone.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from maestro.containment.private_tmp import LANE_STATE, TOOL_RELAYS, private_folder
from maestro.git import git, local_url_path

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig
    from maestro.config.workflow import Workflow


def operator_files(config: ServiceConfig, workflow: Workflow) -> list[Path]:
    """The operator's own files and folders the agent's code must not rewrite for the next
    lane: the state root, ``WORKFLOW.md``, ``maestro.toml`` and the files tracker's issues."""
    paths = [config.state_root, config.workflow_path]
    if config.source is not None:
        paths.append(config.source)
    tracker = workflow.policy.tracker
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


def read_only_folders(config: ServiceConfig, workflow: Workflow) -> list[Path]:
    """The folders both sandboxes bind read-only first: the repository root (its
    ``dodo.py``, its git dir), the workspace root (every lane's worktree), maestro's own
    code, every lane's issue-tool relay (:mod:`~maestro.containment.private_tmp`) and a
    local ``origin``."""
    folders = [config.repo_root.resolve(), config.workspace_root.resolve(),
               *maestros_own_code(), private_folder(TOOL_RELAYS), private_folder(LANE_STATE)]
    origin = local_remote_folder(config.repo_root, workflow.policy.forge.remote)
    if origin is not None:
        folders.append(origin)
    return folders
