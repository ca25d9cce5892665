"""Retiring a stopped lane's worktree: removed only when nothing in it exists nowhere else.

A lane that ends without a merge (a person's cancel, in maestro or in the tracker; an issue
moved to a terminal state) loses its worktree and its local branch (SPEC-NOTES §4), except
for work found nowhere else: uncommitted files, commits no branch of the remote holds, a
sandboxed session's objects not yet imported (:mod:`maestro.lanes.worktree.unpushed`). Every
path that ends such a lane goes through :func:`retire`, so the rule holds whichever noticed
the stop first: ``maestro cancel``, the lane's guard, or the poll loop (before, only the
cancel kept work; the guard and the loop deleted it).
"""

from __future__ import annotations

from dataclasses import dataclass

from maestro.containment.object_import import ObjectImportError, import_objects
from maestro.errors import WorkspaceError
from maestro.git import git, rev_parse
from maestro.ids import iso_now, utc_now
from maestro.lanes.context import LaneContext
from maestro.lanes.record.state import LaneState
from maestro.lanes.validation import litter
from maestro.lanes.worktree import hooks
from maestro.lanes.worktree.unpushed import kept_for_a_person, unpushed_branch, unpushed_work
from maestro.lanes.worktree.workspace import remove_worktree
from maestro.lanes.worktree.worktree_health import linked_here, set_aside

__all__ = ["KEPT", "LaneWork", "lane_work", "record_stop", "retire", "retire_cancelled",
           "set_aside_kept"]

#: What :func:`set_aside_kept` puts between a worktree's name and the time it moved it.
KEPT = ".kept-"


@dataclass(frozen=True)
class LaneWork:
    """What only the lane holds, in words: ``worktree`` (its folder's unpushed work) or,
    when the folder is gone, ``branch`` (the local branch's commits no remote branch has)."""

    worktree: str | None = None
    branch: str | None = None

    def kept(self, branch_name: str) -> str | None:
        """``cleanup.json``'s ``worktree_kept``: what stays for a person, or None."""
        if self.worktree:
            return self.worktree
        return f"the branch {branch_name}: {self.branch}" if self.branch else None


def lane_work(ctx: LaneContext) -> LaneWork:
    """Look at the worktree (and at the branch when the folder is gone). A sandboxed
    session's objects not yet imported are taken into the shared store first, also from
    the registration a deleted folder left: otherwise the branch's commits look like none
    and its removal would lose them (breaker 24 F5). Objects git refuses keep everything.
    Every caller runs after the lane's sessions ended, so the store is emptied once taken
    (``settle``), as before each phase; so does any validation, and the agent's files a
    killed one parked (:mod:`maestro.lanes.validation.litter`) are put back first."""
    remote = ctx.workflow.policy.forge.remote
    try:
        import_objects(ctx.config.repo_root, ctx.worktree, ctx.branch, settle=True)
    except ObjectImportError as exc:
        return LaneWork(worktree=f"a sandboxed session's objects git refused ({exc})")
    if ctx.worktree.is_dir():
        # The agent's files a killed validation left parked beside the worktrees go home
        # first, so they count as the uncommitted files they are (breaker 27 F5).
        litter.sweep_lane(ctx.state, ctx.worktree)
    found = unpushed_work(ctx.worktree, remote)
    if found or ctx.worktree.exists():
        return LaneWork(worktree=found)
    return LaneWork(branch=unpushed_branch(ctx.config.repo_root, ctx.branch, remote))


def retire(ctx: LaneContext, work: LaneWork) -> str | None:
    """Keep what ``work`` names, or remove the worktree and the local branch (the
    workflow's ``before_remove`` hook first, as every removal). Returns what was done, in
    words, or None when there was nothing to remove. The remote branch is never deleted
    here: it is what a closed PR shows."""
    if work.worktree:
        return f"kept the worktree {ctx.workspace_relpath} ({work.worktree})"
    if work.branch:
        return f"kept the branch {ctx.branch} ({work.branch})"
    if not (ctx.worktree.exists() or rev_parse(ctx.config.repo_root,
                                               f"refs/heads/{ctx.branch}")):
        return None
    if ctx.worktree.is_dir():
        hooks.before_remove(ctx)
    remove_worktree(ctx.config.repo_root, ctx.worktree, ctx.branch)
    return "removed the worktree"


def record_stop(state: LaneState, reason: str, detail: str, kept: str | None) -> None:
    """``cleanup.json`` of a lane that ended by a stop (``reason``: ``cancelled`` or
    ``terminated``, :data:`maestro.lanes.record.archive.STOPPED`): why, and what was kept
    for a person (``worktree_kept``, which ``maestro status`` lists, and ``cleaned_at``)."""
    state.write("cleanup.json", {"reason": reason, "detail": detail, "worktree_kept": kept,
                                 "cleaned_at": iso_now()})


def retire_cancelled(ctx: LaneContext, detail: str) -> str:
    """:func:`retire` the worktree of a lane a person's cancel in the tracker stopped, and
    record it (``cleanup.json``: ``reason: cancelled``, ``detail``, ``worktree_kept``).
    Returns ``"; <what was kept>"`` for the halt's reason, or "" when nothing was kept."""
    work = lane_work(ctx)
    retired = retire(ctx, work)
    kept = work.kept(ctx.branch)
    record_stop(ctx.state, "cancelled", detail, kept)
    return f"; {retired}" if kept and retired else ""


def set_aside_kept(ctx: LaneContext) -> str | None:
    """Move the work a stop kept for a person out of the next lane's way, before the lane
    folder is archived for a fresh start (``maestro retry``, ``maestro lane --reset``):
    the branch becomes ``<branch>-kept-<stamp>`` and the worktree folder
    ``<worktree>.kept-<stamp>``, so the new lane starts from the base on a fresh branch
    instead of taking up, and publishing, the cancelled run's commits and files (breaker 24
    F3). Returns where the work now is, in words, or None when nothing was kept."""
    if not kept_for_a_person(ctx.state.read("cleanup.json")):
        return None
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
    repo, moved = ctx.config.repo_root, []
    # The worktree first: git may refuse to move it, and then nothing has moved (the branch
    # renamed before a refusal stranded the lane: breaker 31 F2).
    if ctx.worktree.exists():
        target = ctx.worktree.with_name(f"{ctx.worktree.name}{KEPT}{stamp}")
        try:
            git(repo, "worktree", "move", str(ctx.worktree), str(target))
        except WorkspaceError:
            if linked_here(ctx.worktree, repo) is not None:
                raise  # git reads it as the lane's and refuses (a submodule): that stands
            # A folder git no longer reads as this lane's worktree (its .git gone, a
            # repository of its own, or pointed elsewhere): moved as it is; its
            # registration, if any, is left to the next add's prune.
            target = set_aside(ctx.worktree) or target
        shown = target.relative_to(repo) if target.is_relative_to(repo) else target
        moved.append(f"the worktree {shown}")
    if rev_parse(repo, f"refs/heads/{ctx.branch}") is not None:
        kept_branch = f"{ctx.branch}-kept-{stamp}"
        git(repo, "branch", "-m", ctx.branch, kept_branch)
        moved.insert(0, f"the branch {kept_branch}")
    return " and ".join(moved) or None
