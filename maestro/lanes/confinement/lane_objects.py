"""When a sandboxed lane's objects are taken into the shared store, and what a refusal means.

Under ``[agent] sandbox = "bubblewrap"`` the lane's git writes into a private object store
(:mod:`maestro.containment.private_objects`) and maestro's own git sees the lane's commits
only once :func:`~maestro.containment.object_import.import_objects` has hashed them into the
shared store. That happens

* before every phase (so a lane killed after its session, before anything else, still finds
  its work: the resume imports it before the worktree is healed or a cancel looks at it);
* at the end of every agent or repair session, before its end head is recorded
  (:func:`maestro.lanes.worktree.worktree_guard.recorded_session`);
* in ``lane_open_pr``, mid-session, before the head is read, checked and pushed (the store
  is left as it is there: the session is still writing it).

Without the sandbox there is no store and none of this runs a process.

A refusal (an object whose content is not what its name says, or one that is gone) is
tampering with the lane's own store: the store is set aside inside the worktree's git dir
(:data:`REFUSED`, for a person to inspect; nothing of it entered the shared store under a
wrong name) and the lane stops for a person. Once released, the lane branch, which names a
commit the shared store lacks, is restored from the newest recorded head, as for any lost
branch (:mod:`maestro.lanes.worktree.worktree_health`).
"""

from __future__ import annotations

from maestro.containment import private_objects
from maestro.containment.object_import import Imported, ObjectImportError, import_objects
from maestro.errors import WorkspaceError
from maestro.ids import iso_now
from maestro.lanes.context import LaneContext
from maestro.lanes.outcomes import require_human

#: Where a refused private store is set aside, in the worktree's own git dir.
REFUSED = "maestro-objects-refused"


def take_lane_objects(ctx: LaneContext, *, settle: bool = True) -> Imported | None:
    """Import the lane's private objects (see the module docstring); ``settle``: no
    sandboxed process of the lane can be running. Raises ``Halt`` (needs a human) on a
    refusal."""
    try:
        worktree = ctx.worktree
    except WorkspaceError:
        return None  # the phase itself says what is wrong with the lane's folder
    git_dir = private_objects.lane_git_dir(ctx.config.repo_root, worktree)
    if git_dir is None or not private_objects.pending(private_objects.store_of(git_dir)):
        return None  # without the sandbox: filesystem reads only, as before
    try:
        imported = import_objects(ctx.config.repo_root, worktree, ctx.branch, settle=settle)
    except ObjectImportError as exc:
        kept = _set_aside(ctx) if settle else ""
        ctx.state.journal("objects_refused", reason=str(exc), kept=kept)
        require_human(ctx, "objects_refused", f"the lane's git objects were refused: {exc}"
                      + (f"; they are kept in {kept}" if kept else ""),
                      next_action="a person inspects the lane's private object store; "
                                  "remove the label to restore the lane branch from its "
                                  "last recorded head")
        raise  # require_human always raises; this keeps the type checker informed
    if imported is not None and imported.objects:
        ctx.state.journal("objects_imported", objects=imported.objects,
                          heads=list(imported.heads))
    return imported


def _set_aside(ctx: LaneContext) -> str:
    """Move the refused store out of the import's way (never into the shared store)."""
    git_dir = private_objects.lane_git_dir(ctx.config.repo_root, ctx.worktree)
    if git_dir is None:
        return ""
    target = git_dir / f"{REFUSED}-{iso_now().replace(':', '')}"
    try:
        private_objects.store_of(git_dir).rename(target)
    except OSError:
        return ""
    return str(target)
