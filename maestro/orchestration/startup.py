"""Startup sweep of terminal issues' workspaces (Symphony SPEC.md §8.6).

When the loop starts, every issue in a terminal state that still has a lane worktree loses
that worktree, so workspaces of issues finished or cancelled while no loop ran do not pile
up. Only the folder goes: the lane branch keeps every commit the agent made, and the lane
folder keeps its records. A worktree holding work found nowhere else (uncommitted files, a
sandboxed session's objects not yet imported, commits on no remote branch) stays, as a
cancel keeps it. A lane a live process holds, one in review (its own closeout or cancel
path cleans up), or one whose worktree a cancel kept for its unpushed work is left alone
(:func:`~maestro.lanes.worktree.unpushed.kept_for_a_person`). A tracker that cannot be
read is a warning, never a failed start.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from maestro.config.service import ServiceConfig
from maestro.config.workflow import Workflow
from maestro.errors import MaestroError
from maestro.ids import iso_now
from maestro.lanes.record.state import LaneState
from maestro.lanes.validation import litter
from maestro.lanes.worktree.unpushed import kept_for_a_person, unpushed_work
from maestro.lanes.worktree.workspace import worktree_path
from maestro.lanes.worktree.worktree_health import discard
from maestro.model import LaneOutcome
from maestro.observability import logs
from maestro.orchestration.planning import LaneView
from maestro.trackers import make_tracker

__all__ = ["sweep_terminal_workspaces"]


def sweep_terminal_workspaces(config: ServiceConfig, workflow: Workflow,
                              lanes: Mapping[str, LaneView]) -> list[str]:
    """Remove the worktrees of terminal issues; returns the identifiers swept."""
    terminal_states = workflow.policy.tracker.terminal_states
    remote = workflow.policy.forge.remote
    try:
        tracker = make_tracker(config, workflow)
        try:
            terminal = tracker.candidates(terminal_states)
        finally:
            tracker.close()
    except MaestroError as exc:
        logs.event(config, "startup_cleanup_failed", f"startup cleanup skipped: {exc}",
                   level=logging.WARNING)
        return []
    swept = []
    for issue in terminal:
        view = lanes.get(issue.identifier)
        if view is not None and (view.leased or (view.in_review and not view.finished)):
            continue
        try:
            path = worktree_path(config.workspace_root, issue.identifier)
        except MaestroError:
            continue  # an identifier maestro never makes a worktree for
        if not path.exists():
            continue
        state = LaneState(config.lanes_root, issue.identifier)
        if kept_for_a_person(state.read("cleanup.json")):
            continue  # a cancel kept it for its unpushed work, and said so
        # The agent's files a killed validation parked go home first (breaker 27 F5).
        litter.sweep(path, state.path(litter.RECORD))
        if (held := unpushed_work(path, remote)) is not None:
            # Uncommitted files, or a sandboxed session's objects, live in the folder
            # alone: the sweep is housekeeping and loses nothing (as a cancel keeps it).
            logs.event(config, "startup_cleanup_kept", f"workspace kept: issue is "
                       f"{issue.state}, and the worktree holds {held}",
                       issue=issue.identifier, tracker_state=issue.state)
            _record_kept(state, issue.state, held)
            continue
        discard(config.repo_root, path)
        swept.append(issue.identifier)
        logs.event(config, "startup_cleanup", f"workspace removed: issue is {issue.state}",
                   issue=issue.identifier, tracker_state=issue.state)
    return swept


def _record_kept(state: LaneState, issue_state: str, held: str) -> None:
    """Say what the sweep kept where ``maestro status`` and the next retry look
    (``cleanup.json``'s ``worktree_kept``; the lane ends ``terminated``, as the poll loop's
    reconcile ends it): a worktree kept with no record, after a lane reset or on a fresh
    state root, was listed nowhere (breaker 27 F6). A lane another process holds, or one
    that already ended, is left as it is."""
    try:
        state.acquire()
    except MaestroError:
        return
    try:
        if state.read("cleanup.json") is not None:
            return
        reason = f"issue is {issue_state}; the start-up sweep kept its worktree"
        from maestro.lanes.worktree.retire import record_stop  # rare: not at start-up

        record_stop(state, "terminated", reason, held)
        state.write("outcome.json", {"outcome": LaneOutcome.TERMINATED.value,
                                     "phase": "startup", "reason": reason, "at": iso_now()})
        state.journal("startup_cleanup_kept", worktree_kept=held, state=issue_state)
    finally:
        state.release()
