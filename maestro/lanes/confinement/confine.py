"""How the lane confines what runs the agent's code: the sandbox prefix for its argv.

One decision for the agent, the validation commands and the workspace hooks alike: with
``[agent] sandbox = "bubblewrap"`` each runs behind
:func:`~maestro.containment.sandbox.bubblewrap_prefix` with this lane's control files
(:func:`maestro.lanes.confinement.tamper.control_roots`) and the operator's files
(:func:`~maestro.containment.operator_view.operator_files`) read-only, over the layers of
:func:`sandbox_layers`; otherwise unchanged.
"""

from __future__ import annotations

from pathlib import Path

from maestro.containment.agent_homes import (
    behaviour_paths,
    homes_env,
    lane_state_binds,
    lane_state_folder,
    mount_points,
)
from maestro.containment.git_view import lane_git_layers
from maestro.containment.operator_view import operator_files, read_only_folders
from maestro.containment.sandbox import Layer, bubblewrap_prefix
from maestro.errors import WorkspaceError
from maestro.forges.checktree import checks_root
from maestro.git.dirs import git_dirs
from maestro.lanes.confinement.tamper import control_roots
from maestro.lanes.context import LaneContext


def sandbox_layers(ctx: LaneContext) -> list[Layer]:
    """The binds under the control files, in order: the home folder and the agent
    programs' homes over themselves (writable, but mount points, so that no agent can
    rename one away and put its own in its place:
    :mod:`~maestro.containment.agent_homes`), and this lane's own agent state where the
    programs share a folder across lanes
    (:func:`~maestro.containment.agent_homes.lane_state_binds`); read-only, what belongs
    to the operator, to other lanes, to the server side or to maestro itself
    (:func:`~maestro.containment.operator_view.read_only_folders`); writable again, this
    lane's worktree; then the repository's common git dir read-only but for what this
    lane's commits write (:func:`~maestro.containment.git_view.lane_git_layers`)."""
    env = homes_env(ctx.config.agent.env_passthrough)
    layers: list[Layer] = [("rw", home) for home in mount_points(env)]
    layers += [("rw", source, target) for source, target in lane_state_binds(
        env, lane_state_folder(ctx.state.dir, ctx.identifier))]
    layers += [("ro", path) for path in read_only_folders(ctx.config, ctx.workflow)]
    layers.append(("ro", checks_root()))  # the local forge's checks of other lanes' PRs
    dirs = git_dirs(ctx.worktree)
    if dirs is None:
        raise WorkspaceError(f"{ctx.worktree}: git finds no repository there")
    layers.append(("rw", ctx.worktree))
    return layers + lane_git_layers(dirs.common, dirs.git_dir, ctx.branch)


def sandbox_roots(ctx: LaneContext) -> list[Path]:
    """What is bound read-only over every layer: the control files, the operator's, and
    what in the agent programs' homes makes every later agent run a program
    (:func:`~maestro.containment.agent_homes.behaviour_paths`)."""
    return [*control_roots(ctx.worktree), *operator_files(ctx.config, ctx.workflow),
            *behaviour_paths(homes_env(ctx.config.agent.env_passthrough))]


def sandbox_prefix(ctx: LaneContext) -> list[str]:
    """``[]`` without a sandbox; raises ``ConfigError`` when bwrap is asked for but absent."""
    if ctx.config.agent.sandbox != "bubblewrap":
        return []
    return bubblewrap_prefix(sandbox_roots(ctx), layers=sandbox_layers(ctx))
