"""How the lane confines what runs the agent's code: the sandbox prefix for its argv.

One decision for the agent and the validation commands alike: with ``[agent] sandbox =
"bubblewrap"`` both run behind :func:`~maestro.containment.sandbox.bubblewrap_prefix` with this
lane's control files (:func:`maestro.lanes.tamper.control_roots`) and the operator's files
(:func:`operator_files`) read-only; otherwise unchanged.
"""

from __future__ import annotations

from pathlib import Path

from maestro.containment.sandbox import bubblewrap_prefix
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


def sandbox_prefix(ctx: LaneContext) -> list[str]:
    """``[]`` without a sandbox; raises ``ConfigError`` when bwrap is asked for but absent."""
    if ctx.config.agent.sandbox != "bubblewrap":
        return []
    return bubblewrap_prefix([*control_roots(ctx.worktree), *operator_files(ctx)])
