"""What a lane remembers between repair rounds, in its state folder.

* ``repairs/NN-given.json``: the feedback round ``NN`` was given (``key`` and ``path`` per
  item) and the head it started from, ``{"round": int, "from_head": sha, "given":
  [[key, path], ...]}``; with the head that round pushed (``pr.json`` ``validated_head``)
  it gives the next round its :class:`~maestro.lanes.repair.repair_input.PreviousRound`.
* ``thread.json``: the agent thread the lane's last session ran on, ``{"thread_id": str,
  "phase": "agent" | "repair", "at": iso}``, so the next repair round resumes it (the
  agent phase's thread is in ``result.json`` until a repair round writes this file).
* ``pr.json`` ``pushed_at`` (written by the repair push) or ``handed_off_at``: the last
  push, after which PR comments and reviews are new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from maestro.git import git
from maestro.ids import iso_now
from maestro.lanes.context import LaneContext
from maestro.lanes.repair.feedback import FeedbackItem
from maestro.lanes.repair.repair_input import PreviousRound

__all__ = ["lane_thread", "last_push", "previous_round", "remember_given", "remember_thread"]


def _given_name(round_no: int) -> str:
    return f"repairs/{round_no:02d}-given.json"


def remember_given(ctx: LaneContext, round_no: int, from_head: str,
                   items: Sequence[FeedbackItem]) -> None:
    ctx.state.write(_given_name(round_no), {
        "round": round_no, "from_head": from_head,
        "given": [[item.key, item.path] for item in items]})


def previous_round(ctx: LaneContext, round_no: int, pushed_head: str) -> PreviousRound | None:
    """The facts of round ``round_no - 1``, which pushed ``pushed_head``; None for the
    first round or when that round's record is missing (a lane rebuilt elsewhere)."""
    record = ctx.state.read(_given_name(round_no - 1)) if round_no > 1 else None
    if not record:
        return None
    start = str(record.get("from_head", ""))
    commits: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    if start and pushed_head and start != pushed_head:
        span = f"{start}..{pushed_head}"
        log = git(ctx.worktree, "log", "--reverse", "--format=%h %s", span, check=False)
        commits = tuple(line for line in log.splitlines() if line.strip())
        diff = git(ctx.worktree, "diff", "--name-only", start, pushed_head, check=False)
        files = tuple(line for line in diff.splitlines() if line.strip())
    given = tuple((str(pair[0]), str(pair[1])) for pair in record.get("given", [])
                  if isinstance(pair, list) and len(pair) == 2)
    return PreviousRound(round_no - 1, commits, files, given)


def last_push(record: dict[str, Any]) -> datetime | None:
    """When maestro last pushed the lane branch (the handoff or a repair round)."""
    raw = record.get("pushed_at") or record.get("handed_off_at")
    try:
        return datetime.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def lane_thread(ctx: LaneContext) -> str:
    """The agent thread of the lane's last session ("" when none is known)."""
    remembered = ctx.state.read("thread.json") or ctx.state.read("result.json") or {}
    return str(remembered.get("thread_id") or "")


def remember_thread(ctx: LaneContext, thread_id: str, phase: str) -> None:
    if thread_id:
        ctx.state.write("thread.json", {"thread_id": thread_id, "phase": phase,
                                        "at": iso_now()})
