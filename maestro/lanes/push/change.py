"""Does the lane branch carry a change? A review handoff needs at least one commit.

A branch with no commit beyond the base would open an empty PR and move the issue to
review with nothing to review. Both doors to review check this: the agent's ``lane_open_pr``
tool (refused, the agent may still commit) and the handoff phase (the attempt fails).
"""

from __future__ import annotations

from maestro.git import git, rev_parse, run_git
from maestro.lanes.context import LaneContext


def base_ref(ctx: LaneContext) -> str:
    """The remote-tracking base branch when known (``prepare`` fetched it), else the local
    one: what a PR of the lane branch would be compared with."""
    forge = ctx.workflow.policy.forge
    remote = f"refs/remotes/{forge.remote}/{forge.base_branch}"
    return remote if rev_parse(ctx.worktree, remote) else forge.base_branch


def no_change_reason(ctx: LaneContext) -> str | None:
    """Why the lane branch is no review handoff (no commit beyond the base), or ``None``.

    The count is tried against the remote-tracking base first: when git counts, that ref
    names a commit, which is what :func:`base_ref` would have looked up in a process of
    its own. Only when git refuses is the base chosen as :func:`base_ref` does (and
    counted again, failing with git's words if it still cannot)."""
    forge = ctx.workflow.policy.forge
    base = f"refs/remotes/{forge.remote}/{forge.base_branch}"
    proc = run_git(ctx.worktree, ["rev-list", "--count", f"{base}..HEAD"])
    if proc.returncode == 0:
        count = int(proc.stdout.strip() or 0)
    else:
        base = base_ref(ctx)
        count = int(git(ctx.worktree, "rev-list", "--count", f"{base}..HEAD") or 0)
    if count:
        return None
    short = base.removeprefix("refs/remotes/")
    return (f"the lane branch {ctx.branch} has no commit beyond {short}: there is nothing to "
            "review (a handoff must carry a change; commit the work first)")
