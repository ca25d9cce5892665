"""Every failed run is counted, bounded and says why (DESIGN trust rule 5).

A phase may fail by raising anything: git's ``WorkspaceError``, a tracker error, a template
``ConfigError``, an ``OSError`` from a full disk. Before this module such a failure halted
the lane as "retry" without counting it, so a lane whose prepare always failed retried
forever at attempt 1.

Now each failure of a phase after the claim is counted in ``phase-failures.json`` (per
phase, consecutive: a phase that succeeds clears its count), the run halts as a retry
naming the cause, and the retry resumes *that phase* — it does not start the agent again,
so a tracker outage or a full disk after the agent's work repeats nothing. When a phase has
failed ``max_attempts`` times in a row the attention path runs (label, failure comment with
the real cause, back to the failure state). The agent's own failed runs are counted as
attempts by :func:`~maestro.lanes.outcomes.fail_attempt`, as before.
"""

from __future__ import annotations

import contextlib
from typing import Any

from maestro.errors import LaneLeasedError, MaestroError, RateLimitedError
from maestro.lanes.context import LaneContext
from maestro.lanes.outcomes import Halt, require_human
from maestro.model import LaneOutcome

PHASE_FAILURES = "phase-failures.json"
#: Phases before the claim exists, or that do not own an attempt: a failure there is retried
#: without counting (there is no run yet to count it against).
UNCOUNTED_PHASES = frozenset({"claim"})


def real_cause(reason: str, failed_calls: list[str]) -> str:
    """The verdict's reason plus the tool calls that failed, so a comment never says only
    "issue_review_handoff was not called" when ``lane_open_pr`` failed before it."""
    if not failed_calls:
        return reason
    calls = "; ".join(dict.fromkeys(failed_calls))  # keep order, drop repeats
    return f"{reason}; failed tool call: {calls}"


def error_class_of(exc: BaseException) -> str:
    """The failure's class name, as state, status and the retry queue have always shown it
    (``WorkspaceError``, ``TrackerError``, ``OSError``...)."""
    return type(exc).__name__


def describe(exc: BaseException) -> str:
    """The failure in its own words (git's stderr is already inside a ``WorkspaceError``)."""
    if isinstance(exc, MaestroError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _counted(ctx: LaneContext, phase: str, exc: BaseException) -> bool:
    if phase in UNCOUNTED_PHASES or isinstance(exc, LaneLeasedError | RateLimitedError):
        return False
    return isinstance(ctx.state.read("lease.json"), dict)


def count_failure(ctx: LaneContext, phase: str, exc: BaseException) -> Halt:
    """The :class:`Halt` a phase failure ends the run with, after counting it.

    Never raises: if counting itself fails (the tracker is down while the attention path
    runs, the disk is full), the run still halts as a retry with both causes named."""
    error_class, reason = error_class_of(exc), describe(exc)
    fallback = Halt(LaneOutcome.RETRY, f"{error_class}: {reason}", failed=True,
                    error_class=error_class)
    if not _counted(ctx, phase, exc):
        return fallback
    try:
        _count_phase_failure(ctx, phase, error_class, reason)
    except Halt as halt:
        return halt
    except Exception as second:
        return Halt(LaneOutcome.RETRY, f"{error_class}: {reason} (and recording the failure "
                    f"failed: {describe(second)})", failed=True, error_class=error_class)
    return fallback


def _count_phase_failure(ctx: LaneContext, phase: str, error_class: str,
                         reason: str) -> None:
    counts: dict[str, Any] = ctx.state.read(PHASE_FAILURES) or {}
    count = int(counts.get(phase, 0)) + 1
    counts[phase] = count
    ctx.state.write(PHASE_FAILURES, counts)
    budget = ctx.workflow.policy.execution.max_attempts
    if count >= budget:
        require_human(ctx, error_class, f"{phase} failed {count} times in a row: {reason}")
    raise Halt(LaneOutcome.RETRY, f"{error_class}: {phase} failed ({count} of {budget}): "
               f"{reason}", failed=True, error_class=error_class, retry_kind="failure")


def phase_succeeded(ctx: LaneContext, phase: str) -> None:
    """Clear the phase's failure count (best effort: only a full disk refuses)."""
    counts = ctx.state.read(PHASE_FAILURES)
    if isinstance(counts, dict) and phase in counts:
        counts.pop(phase)
        with contextlib.suppress(OSError):
            ctx.state.write(PHASE_FAILURES, counts)
