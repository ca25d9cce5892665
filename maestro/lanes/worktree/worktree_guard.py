"""The lane-level guard around every session: a whole worktree in, a provenance record out.

``worktree_health`` knows git; this module knows the lane: where a lost lane branch can be
found again (the newest recorded session head, the remote lane branch, the PR head, and —
only while no session has committed anything — the base commit), what to journal, and how
each agent or repair session is recorded for ``provenance``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from maestro.errors import MaestroError
from maestro.git import git_ok, rev_parse
from maestro.lanes.confinement.lane_objects import take_lane_objects
from maestro.lanes.context import LaneContext
from maestro.lanes.push import provenance
from maestro.lanes.validation import litter
from maestro.lanes.worktree import fresh_worktree
from maestro.lanes.worktree.start_point import starts_over
from maestro.lanes.worktree.worktree_health import choose_start, heal, tracked_missing


class AncestorTest:
    """``is_ancestor(a, b)`` with git, for :func:`worktree_health.choose_start`."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo

    def __call__(self, ancestor: str, descendant: str) -> bool:
        return git_ok(self.repo, "merge-base", "--is-ancestor", ancestor, descendant)


def branch_sources(ctx: LaneContext) -> list[tuple[str, str]]:
    """Commits the lane branch may be restored at, most trusted first (``(label, sha)``)."""
    repo = ctx.config.repo_root
    forge = ctx.workflow.policy.forge
    found: list[tuple[str, str]] = []
    lane_ref = f"refs/remotes/{forge.remote}/{ctx.branch}"
    fetched = ctx.forge.fetch(f"+refs/heads/{ctx.branch}:{lane_ref}")
    # A lane a retry started over after a cancel, before its first push landed: the stopped
    # run's branch, PR and sessions are not where its work is (breaker 28 F4).
    fresh = starts_over(ctx, lane_ref)
    records = provenance.own_records(ctx) if fresh else provenance.all_records(ctx)
    for record in reversed(records):
        head = record.get("end_head") or record.get("start_head")
        if head and rev_parse(repo, str(head)):
            found.append(("the last recorded session head", str(head)))
            break
    if fetched and not fresh:
        remote_head = rev_parse(repo, lane_ref)
        if remote_head:
            found.append((f"{forge.remote}/{ctx.branch}", remote_head))
    try:
        pr = None if fresh else ctx.forge.find_pr(ctx.branch)
    except MaestroError:
        pr = None
    if pr is not None and pr.head:
        if rev_parse(repo, pr.head) is None:
            ctx.forge.fetch(pr.head)
        if rev_parse(repo, pr.head):
            found.append((f"the head of PR #{pr.number}", pr.head))
    committed = any(r.get("end_head") and r.get("end_head") != r.get("start_head")
                    for r in records)
    base = str((ctx.state.read("workspace.json") or {}).get("base_commit") or "")
    if not found and not committed and base and rev_parse(repo, base):
        found.append(("the base commit", base))
    return found


def heal_lane_worktree(ctx: LaneContext) -> Path:
    """Verify the lane's worktree and heal it (see ``worktree_health``); journal each repair.
    Raises ``WorkspaceError`` when it cannot be made whole."""
    repo = ctx.config.repo_root

    def start() -> tuple[str, str] | None:
        return choose_start(branch_sources(ctx), AncestorTest(repo))

    ctx.config.workspace_root.mkdir(parents=True, exist_ok=True)
    recorded = ctx.state.read("workspace.json")
    made_here = (isinstance(recorded, dict)
                 and recorded.get("path") == ctx.workspace_relpath)
    heal(repo, ctx.worktree, ctx.branch, start,
         report=lambda step: ctx.state.journal("worktree_healed", step=step),
         made_here=made_here)
    return ctx.worktree


@contextmanager
def recorded_session(ctx: LaneContext, phase: str, run_id: str) -> Iterator[None]:
    """Heal the worktree (unless prepare has just made it and nothing touched it since:
    :mod:`~maestro.lanes.worktree.fresh_worktree`), then record the session's start and end heads in
    ``sessions.json`` (the end also when the session raised; the end is the lane branch's
    commit, :func:`branch_head`)."""
    head = fresh_worktree.untouched(ctx.worktree)
    worktree = ctx.worktree if head else heal_lane_worktree(ctx)
    litter.sweep_lane(ctx.state, worktree)
    head = head or rev_parse(worktree, "HEAD")
    missing, _ = tracked_missing(worktree, head)  # HEAD's file list by its hash: kept
    provenance.begin_session(ctx, phase, run_id, head, missing)
    try:
        yield
    finally:
        try:
            take_lane_objects(ctx)  # the session's commits, hashed into the shared store
        finally:
            provenance.end_session(ctx, branch_head(ctx))


def branch_head(ctx: LaneContext) -> str | None:
    """The lane branch's commit, read in the repository maestro works from. Never the
    worktree's ``HEAD``: a worktree removed mid-session (and its folder made again by the
    agent's next write) has no ``.git`` of its own, and git asked there walks up to the
    operator's repository and answers with *its* ``HEAD`` — recorded as the session's end,
    that credited the session with a stranger's commit and none of its own."""
    return rev_parse(ctx.config.repo_root, f"refs/heads/{ctx.branch}")


def adopt_remote_branch(ctx: LaneContext, head: str) -> None:
    """Prepare took the lane branch from the remote: with no local record of this lane (a
    fresh runner), what maestro pushed there before is trusted as the lane's own work."""
    if not provenance.has_records(ctx):
        provenance.trust_head(ctx, "adopted", head, "the remote lane branch, at prepare")
