"""Where prepare starts the lane branch, with as few git processes as the answers allow.

The rules are prepare's own: the base branch is fetched unless origin's head, read by the
claim's ``ls-remote`` a moment ago, is already what the remote-tracking ref holds; the
branch starts from that ref (the local base branch when the ref is missing), or from
origin's lane branch when a runner pushed one and there is no local lane branch (but not
when a person's retry started the issue over after a cancel: :func:`starts_over`). What
changed is only how often git is asked: the remote-tracking ref and the local lane branch
are read in ONE process (``cat-file --batch-check``) instead of three ``rev-parse`` runs
for the ref (skip test, choice, worktree) and one for the branch, and the commit found
(and whether the lane branch exists) is handed to the worktree step instead of being read
again. Nothing runs between those
reads but maestro's own code in this process (no hook, no agent: ``after_create`` runs
later, and every session start checks the worktree itself), and a fetch re-reads the ref.
"""

from __future__ import annotations

from dataclasses import dataclass

from maestro.git import rev_parse, rev_parse_many
from maestro.lanes.context import LaneContext
from maestro.lanes.record import archive
from maestro.lanes.worktree import remote_heads


@dataclass(frozen=True)
class StartPoint:
    """``ref``: what the lane branch starts from; ``commit``: what ``ref`` named when read
    (None: not read yet, the worktree step resolves it); ``lane_ref``: origin's lane branch
    as a remote-tracking ref (``ref == lane_ref`` when the work resumes from it)."""

    ref: str
    commit: str | None
    lane_ref: str
    #: Whether the local lane branch existed when read with ``ref`` (None: not read).
    lane_branch_exists: bool | None = None

    @property
    def from_remote_lane(self) -> bool:
        return self.ref == self.lane_ref


def start_point(ctx: LaneContext) -> StartPoint:
    """Fetch what must be fetched and say where the lane branch starts (see the module)."""
    forge = ctx.workflow.policy.forge
    repo = ctx.config.repo_root
    remote_ref = f"refs/remotes/{forge.remote}/{forge.base_branch}"
    local_lane = f"refs/heads/{ctx.branch}"
    lane_ref = f"refs/remotes/{forge.remote}/{ctx.branch}"
    heads = rev_parse_many(repo, [remote_ref, local_lane])
    known = remote_heads.take(repo, forge.remote, forge.base_branch)
    if known is None or heads[remote_ref] != known:
        ctx.forge.fetch(forge.base_branch)
        heads[remote_ref] = rev_parse(repo, remote_ref)
    has_lane = heads[local_lane] is not None
    point = (StartPoint(remote_ref, heads[remote_ref], lane_ref, has_lane)
             if heads[remote_ref] else StartPoint(forge.base_branch, None, lane_ref, has_lane))
    # A lane branch already on the remote (another runner pushed it) is where work resumes,
    # unless it is what a stopped run left behind (its PR closed) and this lane, started
    # over by a person's retry, has pushed nothing yet: its first push replaces it.
    absent = remote_heads.take_absent(repo, forge.remote, ctx.branch)
    if heads[local_lane] is None and not absent and ctx.forge.fetch(
            f"+refs/heads/{ctx.branch}:{lane_ref}") and not starts_over(ctx, lane_ref):
        point = StartPoint(lane_ref, None, lane_ref, has_lane)
    return point


def starts_over(ctx: LaneContext, lane_ref: str) -> bool:
    """Whether the lane starts from the base whatever its remote branch (``lane_ref``, just
    fetched) holds: the issue's last lane ended by a stop (a cancel) and was archived by
    ``maestro retry`` or ``lane --reset``, and the remote branch is at no head a run since
    pushed, this one's included (:func:`~maestro.lanes.record.archive.heads_since_stop`):
    it is the stopped run's, whose commits stay reachable from its closed PR."""
    since = archive.heads_since_stop(ctx.config.state_root, ctx.identifier)
    if since is None:
        return False
    head = rev_parse(ctx.config.repo_root, lane_ref)
    return head is None or head not in since | archive.heads_in(ctx.state.dir)
