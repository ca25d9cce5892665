"""Plain domain types shared by every layer.

Nothing here performs I/O; trackers, forges and lanes exchange these values so that each
adapter can be swapped without the others noticing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from maestro.statenames import state_key


class Comment(BaseModel):
    """A tracker comment; ``id`` is whatever the tracker uses to name it."""

    model_config = ConfigDict(frozen=True)

    id: str
    body: str
    author: str = ""
    created_at: datetime | None = None
    #: Written by the identity maestro acts as on this tracker and never edited since
    #: (GitHub: the comment's ``viewerDidAuthor`` and no ``lastEditedAt``; Linear: the API
    #: key's user, ``viewer``, and no ``editedAt``), or, on the files tracker, by whoever
    #: may edit the issue file (an operator). Only such comments hold
    #: maestro's records (``maestro:state`` blocks): another tracker user's comment can
    #: quote or forge one, never be one (docs/spec/security.md).
    own: bool = False
    #: The hidden mark maestro put on the comment it posted (``maestro:write``,
    #: :mod:`maestro.trackers.write_mark`), kept out of ``body``; "" for others'.
    write_mark: str = ""


class Issue(BaseModel):
    """A work item as maestro needs it, whatever tracker it came from."""

    model_config = ConfigDict(frozen=True)

    id: str
    identifier: str
    title: str
    state: str
    description: str = ""
    labels: tuple[str, ...] = ()
    blocked_by: tuple[str, ...] = ()
    blocker_states: dict[str, str] = Field(default_factory=dict)
    priority: int | None = None
    created_at: datetime | None = None
    url: str = ""

    def has_label(self, label: str) -> bool:
        wanted = state_key(label)
        return any(state_key(existing) == wanted for existing in self.labels)


class ReviewVerdict(StrEnum):
    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    COMMENTED = "COMMENTED"


class Review(BaseModel):
    """One submitted review; ``commit`` is the head it was written against."""

    author: str
    verdict: ReviewVerdict
    body: str = ""
    commit: str = ""
    submitted_at: datetime | None = None


class ReviewThread(BaseModel):
    """An inline discussion; an open thread (neither resolved nor outdated) is actionable
    feedback. Only the forge or a person settles a thread: ``resolved`` by a person, or
    ``outdated`` because the lines it was written on changed. maestro never resolves one."""

    path: str = ""
    line: int | None = None
    body: str = ""
    resolved: bool = False
    outdated: bool = False
    #: the head the thread was written against (local forge; empty when unknown)
    commit: str = ""

    @property
    def is_open(self) -> bool:
        return not (self.resolved or self.outdated)


class CheckState(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"


class Check(BaseModel):
    """A check run or commit status on the PR head. ``required``: branch protection (or
    maestro's policy when nothing is protected) makes it block the merge; ``details_url``:
    where its output lives (an Actions job, a status's target), for the forge to read."""

    name: str
    state: CheckState
    summary: str = ""
    required: bool = True
    details_url: str = ""


#: The check the embedded forge reports when it could not set up its checkout (the
#: workflow's ``after_create`` hook failed there): the operator's to fix, never the agent's.
SETUP_CHECK_NAME = "check setup: the workflow's after_create hook"


class PullState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class PullRequest(BaseModel):
    """The forge's view of a lane's PR, refreshed each tick."""

    number: int
    url: str
    branch: str
    base: str
    head: str
    state: PullState = PullState.OPEN
    draft: bool = False
    title: str = ""
    body: str = ""
    reviews: list[Review] = Field(default_factory=list)
    threads: list[ReviewThread] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    #: conversation comments on the PR (not inline), oldest first
    comments: list[Comment] = Field(default_factory=list)
    mergeable: bool | None = None
    conflict: str = ""
    merge_commit: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)


class Disposition(StrEnum):
    """What one agent attempt ended with (SPEC-NOTES §2)."""

    REVIEW_HANDOFF = "review_handoff"
    MANUAL_ATTENTION = "manual_attention"
    REVIEW_REPAIR = "review_repair"
    FAILED = "failed"


class Classification(StrEnum):
    """Post-review lane classes (SPEC-NOTES §5)."""

    REVIEW_WAIT = "review_wait"
    REVIEW_REPAIR = "review_repair"
    READY_TO_LAND = "ready_to_land"
    MANUAL_INTERVENTION_REQUIRED = "manual_intervention_required"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class LaneOutcome(StrEnum):
    """How a lane process ended; written to ``outcome.json`` for the loop and for CI."""

    FINISHED = "finished"
    WAITING = "waiting"
    RETRY = "retry"
    NEEDS_HUMAN = "needs_human"
    TERMINATED = "terminated"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"
