"""Lanes of maestro's that the tick cannot see from its lane folders.

The tick reads the lanes it has folders for, plus the issues in the startable states. A
lane whose folder is gone (``rm -rf .maestro/lanes/ID``, a state root restored from an
older backup, a fresh CI runner) while its issue is In Progress or In Review is in
neither, and would wait forever while its PR goes stale. So the tick also lists the issues
in those two states (in the same tracker query as the startable ones) and asks, for each
without a lane folder here, whether maestro ran it. Two signs, both needed:

- maestro's ``start`` comment block is on the issue (the sign
  ``maestro.lanes.record.rebuild`` rebuilds the lane from). Anyone who may comment can
  write one (breaker 13 had maestro adopt a person's In Review issue and run an agent on it
  with a forged block), so it is not enough alone;
- the forge has a PR from the lane's branch of this repository (a fork's PR never counts:
  ``GitHubForge.find_pr``): only maestro, or someone who may push to the repository,
  makes that branch. A lane whose folder vanished before its first push is therefore not
  adopted (``maestro lane ID`` still rebuilds it).

An issue found without both is asked about again only when its state changes or after
:data:`RECHECK_S`; at most :data:`CHECKS_PER_TICK` issues are asked about per tick, so a
tracker full of people's reviews costs a bounded number of calls. One issue whose comments
or PR cannot be read is left for the next tick; it never stops the rest.

A lane with no folder here whose issue a person moved to a cancelled state (terminal, not
the completed state) is in no list the tick reads, and its PR stayed open for ever. So the
tick also asks the forge, at most every :data:`RECHECK_S`, for the open PRs of lane
branches (:meth:`~maestro.forges.base.Forge.open_prs`, one request); a PR whose issue has
no lane folder here and was not among the listed issues is looked up: cancelled, with
maestro's ``start`` block on it, it is adopted like the others, and its lane process closes
the PR (:mod:`maestro.lanes.record.rebuild`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from maestro.errors import ForgeError, MaestroError, TrackerError
from maestro.forges import Forge, make_forge
from maestro.ids import branch_name, check_identifier
from maestro.lanes.record import comments
from maestro.lanes.record.rebuild import well_formed_start
from maestro.model import Issue, PullRequest, PullState
from maestro.statenames import same_state
from maestro.trackers import Tracker

if TYPE_CHECKING:
    from maestro.config.service import ServiceConfig
    from maestro.config.workflow import TrackerPolicy, Workflow

#: Seconds before an issue found without a run of maestro's is asked about again.
RECHECK_S = 600.0
#: Issues asked about per tick, at most (the rest wait for the next tick).
CHECKS_PER_TICK = 20


def ran_by_maestro(found: Iterable[dict[str, Any]]) -> bool:
    """Pure: comment blocks of an issue show a run of maestro's (a well-formed ``start``
    block: :func:`~maestro.lanes.record.rebuild.well_formed_start`)."""
    return any(well_formed_start(block) for block in found)


def lane_identifiers(pulls: Iterable[PullRequest], prefix: str) -> list[str]:
    """Pure: the issue identifiers lane branches name (``<prefix><identifier, lower-cased>``,
    :func:`~maestro.ids.branch_name`), upper-cased back, once each, in order; a branch
    that names no identifier is passed over."""
    found: list[str] = []
    for pull in pulls:
        if not pull.branch.startswith(prefix):
            continue
        identifier = pull.branch[len(prefix):].upper()
        try:
            check_identifier(identifier)
        except MaestroError:
            continue
        if identifier not in found:
            found.append(identifier)
    return found


class UnseenLanes:
    """Remembers, per process, which issues were found not to be maestro's."""

    def __init__(self) -> None:
        #: identifier -> (its state then, monotonic seconds when asked)
        self._not_ours: dict[str, tuple[str, float]] = {}
        #: monotonic seconds when the forge's open lane PRs were last asked for
        self._prs_asked: float | None = None

    def find(self, tracker: Tracker, issues: Iterable[Issue], lanes: Iterable[str],
             has_pr: Callable[[Issue], bool], now: float | None = None
             ) -> tuple[Issue, ...]:
        """Those of ``issues`` with no lane folder (``lanes``: the identifiers that have
        one) that carry a run of maestro's and whose lane branch has a PR (``has_pr``)."""
        now = time.monotonic() if now is None else now
        have = set(lanes)
        found: list[Issue] = []
        asked = 0
        for issue in issues:
            if issue.identifier in have or self._known_not_ours(issue, now):
                continue
            if asked >= CHECKS_PER_TICK:
                break
            asked += 1
            try:
                ours = (ran_by_maestro(comments.blocks(tracker.comments(issue.identifier)))
                        and has_pr(issue))
            except (TrackerError, ForgeError):
                continue
            if ours:
                found.append(issue)
                self._not_ours.pop(issue.identifier, None)
            else:
                self._not_ours[issue.identifier] = (issue.state, now)
        return tuple(found)

    def find_cancelled(self, tracker: Tracker, open_prs: Callable[[], list[PullRequest]],
                       listed: Iterable[str], lanes: Iterable[str], prefix: str,
                       policy: TrackerPolicy, now: float | None = None) -> tuple[Issue, ...]:
        """Issues whose lane branch has an open PR (``open_prs``: the forge's, asked at most
        every :data:`RECHECK_S`), with no lane folder here (``lanes``) and not among the
        issues the tick listed (``listed``), that are in a cancelled state
        (:meth:`~maestro.config.workflow.TrackerPolicy.is_cancelled`) and carry a run of
        maestro's."""
        now = time.monotonic() if now is None else now
        if self._prs_asked is not None and now - self._prs_asked < RECHECK_S:
            return ()
        self._prs_asked = now
        try:
            pulls = open_prs()
        except (MaestroError, OSError):  # no answer, or no forge to ask: never the tick's end
            self._prs_asked = None  # asked again next tick
            return ()
        skip = set(lanes) | set(listed)
        found: list[Issue] = []
        asked = 0
        for identifier in lane_identifiers(pulls, prefix):
            if identifier in skip:
                continue
            if asked >= CHECKS_PER_TICK:
                self._prs_asked = None  # the rest next tick, not in 10 min (breaker 21)
                break
            asked += 1
            try:
                issue = tracker.get(identifier)
                if not policy.is_cancelled(issue.state):
                    continue
                if ran_by_maestro(comments.blocks(tracker.comments(identifier))):
                    found.append(issue)
            except MaestroError:  # unknown, unreadable: left for the next look
                continue
        return tuple(found)

    def _known_not_ours(self, issue: Issue, now: float) -> bool:
        seen = self._not_ours.get(issue.identifier)
        return seen is not None and seen[0] == issue.state and now - seen[1] < RECHECK_S


class LanePrs:
    """Whether the forge has a PR from an issue's lane branch; the forge is made on the
    first question only (most ticks ask none) and closed by :meth:`close`."""

    def __init__(self, config: ServiceConfig, workflow: Workflow) -> None:
        self.config, self.workflow = config, workflow
        self._forge: Forge | None = None

    def has_pr(self, issue: Issue) -> bool:
        """The issue's lane branch has a PR: any for an issue In Review (a merged one is
        closed out), an open one for an issue In Progress (one whose PR was merged and that
        a person moved back is a person's to restart: breaker 13, F10)."""
        if self._forge is None:
            self._forge = make_forge(self.config, self.workflow)
        branch = branch_name(issue.identifier, self.workflow.policy.forge.branch_prefix)
        pr = self._forge.find_pr(branch)
        if pr is None:
            return False
        in_review = same_state(issue.state, self.workflow.policy.tracker.success_state)
        return in_review or pr.state == PullState.OPEN

    def open_prs(self) -> list[PullRequest]:
        """The forge's open PRs of lane branches (one request)."""
        if self._forge is None:
            self._forge = make_forge(self.config, self.workflow)
        return self._forge.open_prs(self.workflow.policy.forge.branch_prefix)

    def close(self) -> None:
        if self._forge is not None:
            self._forge.close()
