"""What the PR tool checks before anything leaves the machine.

``lane_open_pr`` pushes the lane branch with maestro's forge credentials. Before it does:
the repository's control files must be as the session found them (a changed push URL or
hook must never meet the token), and the workflow's validation commands must pass on the
lane HEAD. A refusal is the tool's answer, so the agent can fix the code in the same session.
"""

from __future__ import annotations

from maestro.agents.tools import ToolRefused
from maestro.lanes.confinement.tamper import ControlFiles
from maestro.lanes.context import LaneContext
from maestro.lanes.validation.gate import validate_head


def refuse_control_changes(control: ControlFiles | None) -> None:
    """Raise :class:`ToolRefused` when the control files differ from the session's
    before-image. The PR tool asks first, before any git runs in the worktree: a worktree
    whose ``.git`` vanished would have git answer for the operator's repository instead."""
    if control is not None:
        changed = control.changed()
        if changed:
            raise ToolRefused(control.refusal(changed))


def refuse_unvalidated(ctx: LaneContext, control: ControlFiles | None) -> str:
    """Raise :class:`ToolRefused` naming what is wrong; when the push may go, return the
    commit validated: the one to push, whatever the lane's ``HEAD`` has become since (a
    process the agent left running may commit while the commands run)."""
    refuse_control_changes(control)
    checked = validate_head(ctx)
    ctx.state.journal("pr_validation", head=checked.head, passed=checked.passed,
                      cached=checked.cached)
    if checked.dirty:  # the result does not stand for a checkout of the commit
        raise ToolRefused(f"{checked.unfaithful()}; then call lane_open_pr again; nothing "
                          "was pushed")
    if not checked.passed:
        raise ToolRefused("validation failed on the lane HEAD, nothing was pushed: "
                          + checked.failure())
    # Validation ran code the agent wrote: it may have changed the control files itself.
    refuse_control_changes(control)
    return checked.head
