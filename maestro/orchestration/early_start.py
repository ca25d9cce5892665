"""New work starts before the tick refreshes the pull requests in review.

A tick's facts end with one forge refresh of every PR in review (the local forge: the
origin's URL, one ``cat-file`` for the heads and one for the bases, a record per PR, a
``merge-tree`` for a new head; GitHub: one GraphQL request), and only then did the tick
plan and start lanes: an issue the daemon was just told about waited for every review.

The new work a tick starts does not depend on that refresh (:func:`first_starts` plans
without it and keeps only those starts):

* :func:`~maestro.orchestration.planning.advance_reviews` handles every parked lane in
  review whether its PR was refreshed or not (a start or a wait either way), so the lanes
  :func:`~maestro.orchestration.planning.new_work` finds handled are the same;
* its starts run no agent (``Dispatch.agent`` is false), so the agent slots new work
  counts are the same; and no other step reads the refresh.

Only issues with no lane folder at all start early: nothing else in the plan (a
reconcile, a retry, a recovery, a review) can concern them, so starting them before the
plan's other actions changes no decision. The tick then refreshes the reviews, plans
with them as before, and starts what is left; its plan (and log) is the same as if all
had started after the refresh.
"""

from __future__ import annotations

from dataclasses import replace

from maestro.orchestration.planning import TickFacts, plan_tick


def first_starts(facts: TickFacts) -> list[str]:
    """The issues the tick's plan starts as new work that have no lane folder, in plan
    order; ``facts`` may lack the review refresh (``reviews`` is ignored). Pure."""
    plan = plan_tick(replace(facts, reviews=None))
    return [item.issue for item in plan.dispatches
            if item.reason == "new work" and item.issue not in facts.lanes]
