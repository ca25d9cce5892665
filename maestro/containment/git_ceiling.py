"""maestro's own git never looks above a lane's worktree for a repository.

git finds its repository by walking up from the directory it runs in until a ``.git``
appears. A lane's worktree holds a ``.git`` file; if a person, a crash or the agent removed
it, a maestro git call there (``status``, ``ls-files --others`` before deleting what the
agent left, ``rev-parse HEAD`` before a push) walked up into the operator's own checkout
and read or changed that instead. The agent's git is stopped by ``GIT_CEILING_DIRECTORIES``
in its environment (:func:`maestro.lanes.sessions.agent_run.agent_env`); this does the same for
maestro's: every process that names a lane's worktree (:func:`maestro.lanes.worktree.workspace.
worktree_path`) registers the workspace root with :func:`stop_at`, and
:func:`ceiling_for` gives it as the ceiling of any git call run below it
(:func:`maestro.containment.gitguard.git_env`), so git looks in the worktree itself and
fails there instead of walking up. Calls in the repository root (even a sub-folder of a
larger repository) are not below a workspace root and are unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

_ROOTS: set[str] = set()


def stop_at(workspace_root: Path) -> None:
    """Never let maestro's git walk up into ``workspace_root`` from below it (absolute and
    resolved forms both, as callers pass either)."""
    _ROOTS.add(os.path.abspath(workspace_root))
    _ROOTS.add(os.path.realpath(workspace_root))


def ceiling_for(cwd: Path) -> str | None:
    """The workspace root ``cwd`` lies below (git's ceiling for a call there), or None."""
    path = os.path.abspath(cwd)
    for root in _ROOTS:
        if path.startswith(root + os.sep) or (root == os.sep and path != root):
            return root
    return None
