"""The local forge's check runs the PR's code: under ``[agent] sandbox = "bubblewrap"`` it runs
in the same sandbox as the agent's own commands.

The check runs code the agent committed (its tests) in a throw-away checkout
(:mod:`.checktree`), in the lane process and in the daemon's review refresh, before any
person approved the PR. Outside a sandbox that code could do what the agent itself cannot:
push to a local ``origin``, rewrite the operator's repository, workflow, config or lane
records. So when the operator asked for the sandbox, every check command runs behind
:func:`~maestro.containment.sandbox.bubblewrap_prefix` with what the lane's sandbox keeps
read-only (:mod:`maestro.containment.operator_view`: the repository root and its git dir,
every lane's worktree, a local ``origin``, maestro's own code, the operator's files), plus
the folder of every check (:func:`~maestro.forges.checktree.checks_root`), read-only too;
only the check's own tree is writable. The environment is the same allow list as without
the sandbox (``LocalForge``'s ``_check_env``).
There is no separate switch: the check is confined exactly when the agent is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from maestro.containment.agent_homes import (
    behaviour_paths,
    homes_env,
    lane_state_binds,
    lane_state_folder,
    mount_points,
)
from maestro.containment.operator_view import operator_files, read_only_folders
from maestro.containment.sandbox import Layer, bubblewrap_prefix
from maestro.git.dirs import git_dirs

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig
    from maestro.config.workflow import Workflow


class CheckSandbox:
    """The sandbox of one repository's checks; the paths are read when a check runs (the
    forge is made every tick, a check runs once per head)."""

    def __init__(self, config: ServiceConfig, workflow: Workflow) -> None:
        self.config = config
        self.workflow = workflow

    def layers(self, tree: Path) -> list[Layer]:
        """Read-only: the lane sandbox's folders, the repository's common git dir (wherever
        it is), the folder of every check and this check's own (its index, its owner lock);
        writable: ``tree``, the checkout the commands run in."""
        folders = read_only_folders(self.config, self.workflow)
        dirs = git_dirs(self.config.repo_root)
        if dirs is not None:
            folders.append(dirs.common)
        own = tree.parent
        folders.append(own.parent)  # every check folder, those made later too
        env = homes_env(self.config.agent.env_passthrough)
        # as the lane's sandbox (agent_homes): the agents' shell snapshots, which every
        # running session sources, are the check's own, never the user's
        snapshots = lane_state_binds(env, lane_state_folder(own, "check"))
        return [*(("rw", home) for home in mount_points(env)),
                *(("rw", source, target) for source, target in snapshots),
                *(("ro", path) for path in folders), ("ro", own), ("rw", tree)]

    def prefix(self, tree: Path) -> list[str]:
        """The argv prefix for one check command in ``tree``; ``ConfigError`` without bwrap."""
        homes = behaviour_paths(homes_env(self.config.agent.env_passthrough))
        return bubblewrap_prefix([*operator_files(self.config, self.workflow), *homes],
                                 layers=self.layers(tree))


def check_sandbox(config: ServiceConfig, workflow: Workflow) -> CheckSandbox | None:
    """The checks' sandbox when the agent's is bubblewrap, else None (checks run as before)."""
    return CheckSandbox(config, workflow) if config.agent.sandbox == "bubblewrap" else None
