"""What an earlier session of this lane left in the worktree, told to the next session.

A lane killed mid-session (SIGKILL, OOM, a reboot) resumes with a fresh agent session that
starts from the first prompt. Without a word about the worktree, an agent redoes the work
whose commits are already on the lane branch (the chaos series saw a README line appended
twice). So when a work session starts and the lane branch has commits beyond the base, or
the worktree has uncommitted changes, the first prompt ends with :func:`resume_note`.
A repair session gets the note only when the session before it was killed (its record in
``sessions.json`` is still open): every repair builds on earlier commits, and only the
killed session's own ones (``start_head..HEAD``) are the work it must not redo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from maestro.git import git
from maestro.lanes.context import LaneContext
from maestro.lanes.push.provenance import all_records, base_commit
from maestro.lanes.worktree import fresh_worktree

#: The phrase the note starts with; the scripted agent looks for it (docs/spec/scripted-agent.md).
MARKER = "a previous session of this lane was interrupted"
#: How many commits the note lists by name.
LIST_LIMIT = 20


@dataclass(frozen=True)
class PriorWork:
    """``commits``: (short sha, subject) of ``base..HEAD``, oldest first; ``dirty``: the
    worktree has uncommitted changes (tracked or untracked)."""

    commits: tuple[tuple[str, str], ...] = ()
    dirty: bool = False


def resume_note(prior: PriorWork) -> str:
    """The note for the first prompt ("" when the worktree holds no earlier work). Pure."""
    if not prior.commits and not prior.dirty:
        return ""
    lines = [f"Note: {MARKER}, or did not finish. Its work is already in this worktree."]
    if prior.commits:
        lines.append(f"Its commits are on the lane branch ({len(prior.commits)}, oldest first):")
        lines += [f"- {sha} {subject}" for sha, subject in prior.commits[:LIST_LIMIT]]
        if len(prior.commits) > LIST_LIMIT:
            lines.append(f"- … and {len(prior.commits) - LIST_LIMIT} more (git log)")
    if prior.dirty:
        lines.append("The worktree also has uncommitted changes (see git status).")
    lines.append("Build on this work; do not redo it. Check the files before changing them.")
    return "\n".join(lines)


def prior_work(worktree: Path, base: str) -> PriorWork:
    """The commits of ``HEAD`` not on ``base``, and whether ``worktree`` is dirty."""
    log = git(worktree, "log", "--reverse", "--format=%h %s", "HEAD", "--not", base, check=False)
    commits = tuple((sha, subject) for sha, _, subject in
                    (line.partition(" ") for line in log.splitlines() if line.strip()))
    dirty = bool(git(worktree, "status", "--porcelain", check=False))
    return PriorWork(commits, dirty)


def resume_note_for(ctx: LaneContext) -> str:
    """:func:`resume_note` for this lane's worktree against its base branch; "" without
    asking git for a worktree prepare has just made at the base commit, untouched since
    (:mod:`maestro.lanes.worktree.fresh_worktree`)."""
    if fresh_worktree.untouched(ctx.worktree, keep=True):
        return ""
    base = base_commit(ctx)
    if base is None or not ctx.worktree.is_dir():
        return ""
    return resume_note(prior_work(ctx.worktree, base))


def killed_session_note(ctx: LaneContext) -> str:
    """:func:`resume_note` for the commits (and uncommitted changes) of the lane's last
    session if it was killed (its record has a ``start_head`` and no ``end_head``), else ""."""
    records = all_records(ctx)
    last = records[-1] if records else {}
    start = last.get("start_head")
    if not isinstance(start, str) or last.get("end_head") is not None:
        return ""
    if not ctx.worktree.is_dir():
        return ""
    return resume_note(prior_work(ctx.worktree, start))
