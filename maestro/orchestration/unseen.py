"""Lanes of maestro's that the tick cannot see from its lane folders.

The tick reads the lanes it has folders for, plus the issues in the startable states. A
lane whose folder is gone (``rm -rf .maestro/lanes/ID``, a state root restored from an
older backup, a fresh CI runner) while its issue is In Progress or In Review is in
neither, and would wait forever while its PR goes stale. So the tick also lists the issues
in those two states (in the same tracker query as the startable ones) and asks, for each
without a lane folder here, whether maestro ran it: its ``start`` comment block is on the
issue (the same sign ``maestro.lanes.record.rebuild`` rebuilds the lane from). A person's
own In Review issue carries none, and is asked about again only when its state changes or
after :data:`RECHECK_S`; at most :data:`CHECKS_PER_TICK` issues are asked about per tick, so
a tracker full of people's reviews costs a bounded number of calls. One issue whose
comments cannot be read is left for the next tick; it never stops the rest.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from maestro.errors import TrackerError
from maestro.lanes.record import comments
from maestro.model import Issue
from maestro.trackers import Tracker

#: Seconds before an issue found without a run of maestro's is asked about again.
RECHECK_S = 600.0
#: Issues asked about per tick, at most (the rest wait for the next tick).
CHECKS_PER_TICK = 20


def ran_by_maestro(found: Iterable[dict[str, object]]) -> bool:
    """Pure: comment blocks of an issue show a run of maestro's (a ``start`` block)."""
    return any(block.get("kind") == "start" for block in found)


class UnseenLanes:
    """Remembers, per process, which issues were found not to be maestro's."""

    def __init__(self) -> None:
        #: identifier -> (its state then, monotonic seconds when asked)
        self._not_ours: dict[str, tuple[str, float]] = {}

    def find(self, tracker: Tracker, issues: Iterable[Issue], lanes: Iterable[str],
             now: float | None = None) -> tuple[Issue, ...]:
        """Those of ``issues`` with no lane folder (``lanes``: the identifiers that have
        one) that carry a run of maestro's."""
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
                blocks = comments.blocks(tracker.comments(issue.identifier))
            except TrackerError:
                continue
            if ran_by_maestro(blocks):
                found.append(issue)
                self._not_ours.pop(issue.identifier, None)
            else:
                self._not_ours[issue.identifier] = (issue.state, now)
        return tuple(found)

    def _known_not_ours(self, issue: Issue, now: float) -> bool:
        seen = self._not_ours.get(issue.identifier)
        return seen is not None and seen[0] == issue.state and now - seen[1] < RECHECK_S
