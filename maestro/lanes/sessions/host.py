"""The lane side of the tool bridge: what the agent's tools may do, bound to one issue."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from maestro.agents.tools import HaltSession, StopSession, ToolRefused
from maestro.errors import TrackerError
from maestro.git import head_of
from maestro.lanes.confinement.lane_objects import take_lane_objects
from maestro.lanes.confinement.tamper import ControlFiles
from maestro.lanes.context import LaneContext
from maestro.lanes.guard import LaneGuard, Stop
from maestro.lanes.outcomes import Halt
from maestro.lanes.push.change import no_change_reason
from maestro.lanes.push.prcheck import refuse_control_changes, refuse_unvalidated
from maestro.lanes.push.provenance import refuse_unless_made_by_sessions
from maestro.lanes.push.push_guard import push_lane
from maestro.lanes.record.moves import move
from maestro.lanes.sessions.state_policy import is_forbidden_state, reserved_label
from maestro.model import Issue, PullState
from maestro.statenames import same_state

#: Per run, the ids of same-text comments seen before each agent comment was posted.
COMMENT_INTENTS = "comment-intents.json"


class LaneToolHost:
    def __init__(self, ctx: LaneContext, run_id: str, attempt: int,
                 repair: bool = False, control: ControlFiles | None = None) -> None:
        self.ctx = ctx
        self.stage: Literal["work", "review"] = "review" if repair else "work"
        #: The agent added the needs-attention label itself: not a person's stop.
        self.attention_added = False
        #: The control files as the session found them; checked again before a push.
        self.control = control
        self.run_id = run_id
        self.attempt = attempt
        tracker = ctx.workflow.policy.tracker
        self.identifier = ctx.identifier
        self.success_state = tracker.success_state
        self.needs_attention_label = tracker.needs_attention_label
        #: The number of the PR ``lane_open_pr`` opened or moved in this session.
        self.opened_pr: int | None = None

    def look_again(self) -> Issue:
        """Before each side effect (and each further turn): the issue as it is now, or
        :class:`StopSession` when a person cancelled, relabelled, moved or removed it
        (maestro/lanes/guard.py)."""
        if self.ctx.state.lost():
            raise StopSession("the lane folder was deleted or replaced while the session ran "
                              "(a person removed it, restored a backup, or cancelled the "
                              "lane); maestro stops this session")
        guard = LaneGuard(self.ctx, self.stage)
        decision = guard.check(own_attention=self.attention_added)
        issue = guard.issue()
        if isinstance(decision, Stop):
            raise StopSession(f"{decision.reason}; maestro stops this lane")
        assert issue is not None  # a gone issue is a stop
        return issue

    def resolve_state(self, state: str) -> str | None:
        """The configured spelling of ``state``, or None (maestro/statenames.py)."""
        return self.ctx.workflow.policy.tracker.named_state(state)

    def is_forbidden_state(self, state: str) -> bool:
        return is_forbidden_state(self.ctx.workflow.policy.tracker, state)

    def reserved_label(self, label: str) -> str | None:
        return reserved_label(self.ctx.workflow.policy, label)

    def post_comment(self, body: str) -> str:
        """Post once per run: a comment the crashed previous process already posted (but
        could not record) is found and reused instead of being posted again.

        Clocks are not trusted for this (a stepped clock, or a tracker whose clock differs
        from ours, made a time comparison post twice): before posting, the ids of comments
        with the same text are written down for this run; a comment with that text whose id
        is not among them can only be the one this run posted."""
        self.look_again()
        text = body.strip()
        key = hashlib.sha256(text.encode()).hexdigest()[:16]
        intents = self.ctx.state.read(COMMENT_INTENTS) or {}
        known = intents.get(self.run_id, {}).get(key)
        same = [c.id for c in self.ctx.tracker.comments(self.identifier)
                if c.body.strip() == text]
        if known is not None:
            ours = [cid for cid in same if cid not in known]
            if ours:
                return ours[0]
        else:
            intents.setdefault(self.run_id, {})[key] = same
            self.ctx.state.write(COMMENT_INTENTS, intents)
        return self.ctx.tracker.comment(self.identifier, body).id

    def transition(self, state: str) -> bool:
        self.look_again()
        return move(self.ctx, state)

    def add_label(self, label: str) -> bool:
        self.look_again()
        try:
            changed = self.ctx.tracker.add_label(self.identifier, label)
        except TrackerError:
            # Applied, then answered with an error (breaker 25 F3): the label on the issue
            # is the agent's, or the guard would take the agent's own request for help
            # for a person's stop. Not there: the call failed.
            if not self.ctx.tracker.get(self.identifier).has_label(label):
                raise
            changed = True
        if same_state(label, self.needs_attention_label):
            self.attention_added = True
        return changed

    def open_pr(self, title: str, body: str) -> str:
        """Push the lane branch and open (or move) its PR; the checks before the push may
        send the lane to a person, which ends the session (:class:`HaltSession`)."""
        try:
            return self._open_pr(title, body)
        except Halt as halt:
            raise HaltSession(halt.reason) from None

    def _open_pr(self, title: str, body: str) -> str:
        self.look_again()
        refuse_control_changes(self.control)
        take_lane_objects(self.ctx, settle=False)  # the session is still running
        empty = no_change_reason(self.ctx)
        if empty:
            raise ToolRefused(empty)
        forge_policy = self.ctx.workflow.policy.forge
        head = head_of(self.ctx.worktree)
        refuse_unless_made_by_sessions(self.ctx, head, "lane_open_pr")
        validated = refuse_unvalidated(self.ctx, self.control)
        if validated != head:  # HEAD moved between the provenance look and validation
            raise ToolRefused(f"the lane's HEAD moved from {head[:12]} to {validated[:12]} "
                              "while it was checked; nothing was pushed: call lane_open_pr "
                              "again once nothing commits in the background")
        self.look_again()  # validation takes time: a person may have decided meanwhile
        push_lane(self.ctx, self.ctx.worktree, "lane_open_pr", head=validated)
        pr = self.ctx.forge.open_pr(self.ctx.branch, forge_policy.base_branch, title, body)
        self.opened_pr = pr.number
        return pr.url

    def pr_url(self) -> str | None:
        """The URL of the lane's open PR, or None. A list of PRs by branch can lag the
        create it follows (a read replica behind the write): the handoff then refused the
        PR the agent had just opened, and the attempt was spent (breaker 23 F4). So the PR
        this session opened is read by its number when the list does not show it."""
        pr = self.ctx.forge.find_pr(self.ctx.branch)
        opened = self.opened_pr
        if opened is not None and (pr is None or pr.number < opened):
            pr = self.ctx.forge.refresh([opened]).get(opened, pr)
        return pr.url if pr is not None and pr.state == PullState.OPEN else None

    def forbidden_paths(self) -> list[str]:
        return [str(self.ctx.config.repo_root), str(self.ctx.worktree), str(Path.home())]
