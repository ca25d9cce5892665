"""How the lane confines what runs the agent's code: the sandbox prefix for its argv.

One decision for the agent and the validation commands alike: with ``[agent] sandbox =
"bubblewrap"`` both run behind :func:`maestro.sandbox.bubblewrap_prefix` with this lane's
control files (:func:`maestro.lanes.tamper.control_roots`) read-only; otherwise unchanged.
"""

from __future__ import annotations

from maestro.lanes.context import LaneContext
from maestro.lanes.tamper import control_roots
from maestro.sandbox import bubblewrap_prefix


def sandbox_prefix(ctx: LaneContext) -> list[str]:
    """``[]`` without a sandbox; raises ``ConfigError`` when bwrap is asked for but absent."""
    if ctx.config.agent.sandbox != "bubblewrap":
        return []
    return bubblewrap_prefix(control_roots(ctx.worktree))
